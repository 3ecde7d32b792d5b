#!/usr/bin/env node
/**
 * Writes artifacts/Custom.Windows.Persistence.WMIScope.yaml from the built source (dist/src/collector/velociraptor.js):
 * the Velociraptor client artifact with the PowerShell collector embedded byte for byte. Run it through
 * `npm run make-artifacts` (which builds first) whenever src/collector/powershell.ts or velociraptor.ts changes;
 * test/velociraptor-artifact.test.ts fails until the committed file is the generator's output.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { velociraptorClientArtifact, VELOCIRAPTOR_CLIENT_ARTIFACT } = await import(path.join(root, 'dist/src/collector/velociraptor.js'));
const out = path.join(root, 'artifacts', `${VELOCIRAPTOR_CLIENT_ARTIFACT}.yaml`);
writeFileSync(out, velociraptorClientArtifact());
console.log(`make-artifacts: wrote ${path.relative(root, out)}`);
