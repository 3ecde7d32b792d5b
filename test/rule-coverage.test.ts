/**
 * Every built-in rule fires on evidence, and every reason id a scan gives is a rule of the table, listed in the
 * README. Real scans (`scan()`) of the committed fixtures (test/fixtures), of evidence written at test time from
 * the public examples of test/support/rule-fixtures.ts (test/support/rule-coverage-fixtures.ts: a WMI-Activity log
 * of a 12-host fleet and a WMI repository), and of the shared samples when they are present.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { RULES } from '../src/analysis/rules/index.js';
import { scan } from '../src/scan.js';
import { buildWannaMineRepository, writeFleetLog } from './support/rule-coverage-fixtures.js';
import { hasSamples, repoRoot, samplesDir } from './support/samples.js';
import { scratchDir } from './support/tmp.js';

/** Reason ids fired, each with the scans that fired it. */
async function firedBy(label: string, paths: string[], out: Map<string, Set<string>>, opts: Parameters<typeof scan>[1] = {}): Promise<void> {
  const result = await scan(paths, { threads: 1, ...opts });
  for (const f of result.findings) for (const r of f.reasons) (out.get(r.id) ?? out.set(r.id, new Set()).get(r.id)!).add(label);
}

describe('rule coverage', () => {
  const fixtures = new Map<string, Set<string>>();
  const samples = new Map<string, Set<string>>();
  before(async () => {
    await firedBy('test/fixtures', [path.join(repoRoot(), 'test/fixtures')], fixtures);
    const fleet = scratchDir('rule-coverage-fleet');
    writeFleetLog(fleet);
    await firedBy('WMI-Activity fleet log', [fleet], fixtures);
    const repo = scratchDir('rule-coverage-repository');
    buildWannaMineRepository(repo);
    await firedBy('WannaMine repository', [repo], fixtures, { host: 'VICTIM' });
    if (hasSamples()) await firedBy('../shared/samples', [samplesDir()], samples);
  });

  it('every rule of the table fires on a fixture (committed, or written at test time)', () => {
    const missing = RULES.map((r) => r.id).filter((id) => !fixtures.has(id));
    assert.deepEqual(missing, [], `rules no fixture fires: ${missing.join(', ')}`);
  });

  it('every reason id fired (fixtures, and the shared samples when present) is a rule of the table and listed in the README', (t) => {
    if (!hasSamples()) t.diagnostic(`no samples at ${samplesDir()}: fixtures only`);
    const table = new Set<string>(RULES.map((r) => r.id));
    const readme = readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
    for (const [id, where] of [...fixtures, ...samples]) {
      assert.ok(table.has(id), `${id} (fired by ${[...where].join(', ')}) is not in the rule table`);
      assert.ok(readme.includes(`\`${id}\``), `${id} is not in the README`);
    }
    for (const { id } of RULES) assert.ok(readme.includes(`\`${id}\``), `${id} is not in the README`);
  });
});
