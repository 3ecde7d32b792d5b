/**
 * Scratch folders for tests: made under the system's temporary folder with a `wmiscope-test-` prefix (so a leftover
 * is known to come from a test, not from the tool) and removed when the test process exits, whatever happened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A new scratch folder, removed at exit (callers may remove it sooner). */
export function scratchDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `wmiscope-test-${tag}-`));
  made.push(d);
  return d;
}
