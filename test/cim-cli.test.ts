/**
 * `wmiscope cim …` end to end on the real Windows 10 repository sample (gzip'd files read as they are).
 * Skips with a message when ../shared/samples is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './support/samples.js';
import { escapeText } from '../src/model/text.js';
import { scratchDir } from './support/tmp.js';

const cli = join(repoRoot(), 'dist/src/cli/main.js');
const cimSamples = resolve(repoRoot(), '../shared/samples/cim');
const skip = existsSync(cimSamples) ? false : `CIM samples not found at ${cimSamples} (expected ../shared/samples next to the repo)`;

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const jsonl = <T>(s: string): T[] =>
  s
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

test('cim subscriptions: the SCM trio, bindings linked to filter and consumer by key (folder above the repository)', { skip }, () => {
  const r = run('cim', 'subscriptions', cimSamples);
  assert.equal(r.code, 0);
  const objs = jsonl<{ kind: string; className: string; namespace: string; values: Record<string, unknown>; filter?: string; consumer?: string; location: { key: string } }>(r.out);
  assert.deepEqual(
    objs.map((o) => [o.kind, o.namespace, o.className]),
    [
      ['filter', 'ROOT\\subscription', '__EventFilter'],
      ['consumer', 'ROOT\\subscription', 'NTEventLogEventConsumer'],
      ['binding', 'ROOT\\subscription', '__FilterToConsumerBinding'],
    ],
  );
  const [f, c, b] = objs as [(typeof objs)[0], (typeof objs)[0], (typeof objs)[0]];
  assert.equal(b.filter, f.location.key);
  assert.equal(b.consumer, c.location.key);
  assert.equal(f.values['Query'], 'select * from MSFT_SCMEventLogEvent');
  const table = run('cim', 'subscriptions', '-f', 'table', cimSamples);
  assert.match(table.out, /^kind +status +namespace +class +name +creator +time +detail$/m);
  assert.match(table.out, /consumer +active +ROOT\\subscription +NTEventLogEventConsumer +SCM Event Log Consumer +S-1-5-32-544/);
});

test('cim namespaces: 93 rows, the orphan named by a guess', { skip }, () => {
  const rows = jsonl<{ name: string; namedBy: string; classes: number }>(run('cim', 'namespaces', join(cimSamples, 'dissect-cim-win10')).out);
  assert.equal(rows.length, 93);
  assert.deepEqual(
    rows.filter((r) => r.namedBy === 'guess').map((r) => r.name),
    ['ROOT\\Microsoft\\Windows\\EventTracingManagement\\ms_409'],
  );
});

test('cim classes and instances: namespace given as root/subscription, any case', { skip }, () => {
  const classes = jsonl<{ name: string; chain: string[] }>(run('cim', 'classes', '-n', 'root/SUBSCRIPTION', join(cimSamples, 'dissect-cim-win10')).out);
  assert.deepEqual(
    classes.map((c) => c.name),
    ['ActiveScriptEventConsumer', 'CommandLineEventConsumer', 'LogFileEventConsumer', 'NTEventLogEventConsumer', 'SMTPEventConsumer'],
  );
  const inst = jsonl<{ className: string; properties: Array<{ name: string; value: unknown; source: string }> }>(
    run('cim', 'instances', '-n', 'ROOT\\subscription', '-c', 'NTEventLogEventConsumer', join(cimSamples, 'dissect-cim-win10')).out,
  );
  assert.equal(inst.length, 1);
  assert.deepEqual(inst[0]!.properties.find((p) => p.name === 'InsertionStringTemplates'), { name: 'InsertionStringTemplates', type: 'string[]', value: [''], source: 'default' });
  const all = jsonl(run('cim', 'instances', '-n', 'root', join(cimSamples, 'dissect-cim-win10')).out);
  assert.equal(all.length, 29);
});

test('cim: a folder without a repository is one clear error, exit 2', () => {
  const dir = scratchDir('cim');
  const r = run('cim', 'subscriptions', dir);
  assert.equal(r.code, 2);
  assert.match(r.err, /no WMI repository found/);
  assert.equal(run('cim', 'namespaces', join(dir, 'missing')).code, 2);
});

test('table output escapes control characters from evidence', () => {
  assert.equal(escapeText('evil\u001b[2Jname\r\n'), 'evil\\x1b[2Jname\\r\\n');
});

test('cim --mapping takes the mapping file by name (any case, .gz or not) or by its path, absolute or relative; another repository\'s file is refused', { skip }, () => {
  const dir = join(cimSamples, 'dissect-cim-win10');
  const byName = run('cim', 'namespaces', '--mapping', 'MAPPING2.MAP', dir);
  assert.equal(byName.code, 0);
  assert.ok(byName.out.length > 0);
  for (const given of [join(dir, 'MAPPING2.MAP.gz'), 'mapping2.map.gz', resolve(dir, '..', 'dissect-cim-win10', 'MAPPING2.MAP.gz')]) {
    const r = run('cim', 'namespaces', '--mapping', given, dir);
    assert.equal(r.code, 0, `${given}: ${r.err}`);
    assert.equal(r.out, byName.out, given);
  }
  const relative = spawnSync(process.execPath, [cli, 'cim', 'namespaces', '--mapping', join('dissect-cim-win10', 'MAPPING2.MAP.gz'), 'dissect-cim-win10'], { encoding: 'utf8', cwd: cimSamples });
  assert.equal(relative.status, 0, relative.stderr);
  assert.equal(relative.stdout, byName.out);
  const other = join(cimSamples, 'flare-wmi-win7-wmikatz', 'MAPPING2.MAP');
  const refused = run('cim', 'namespaces', '--mapping', other, dir);
  assert.equal(refused.code, 2);
  assert.equal(refused.err, `wmiscope: error: ${other}: not a mapping file of the repository in ${dir} (a mapping file is read with the OBJECTS.DATA and INDEX.BTR it describes)\n`);
  const missing = run('cim', 'namespaces', '--mapping', 'MAPPING7.MAP', dir);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /mapping file MAPPING7\.MAP not found \(readable: MAPPING1\.MAP, MAPPING2\.MAP, MAPPING3\.MAP\)/);
});
