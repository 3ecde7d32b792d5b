/**
 * Residue and the live repository, on repositories written by the test builder (needs nothing from ../shared):
 * an identical copy of a live object is an old copy, not a deletion; a copy with the live key and other values
 * is an older version (history of the live subscription); only what no live object explains is deleted; a stale
 * index key and the record an older mapping file still maps for it are one residual object, and "record gone"
 * is said only when no mapping file holds the record. The scan follows: copies are counted, older versions join
 * the live finding, deleted objects make findings of their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CimRepository } from '../src/cim/index.js';
import type { CimResidualObject } from '../src/cim/index.js';
import { scan } from '../src/scan.js';
import { buildRepository, standardConsumerClasses } from './support/cim-builder.js';
import type { BuildSpec, InstanceSpec, ResidueSpec } from './support/cim-builder.js';
import { repoRoot } from './support/samples.js';

const SUB = 'ROOT\\subscription';
const root = mkdtempSync(join(tmpdir(), 'wmiscope-relation-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `r${n++}`);

const filter: InstanceSpec = { namespace: SUB, className: '__EventFilter', values: { Name: 'WatchFilter', Query: "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'", QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' } };
const consumer: InstanceSpec = { namespace: SUB, className: 'CommandLineEventConsumer', values: { Name: 'WatchCmd', CommandLineTemplate: 'cmd.exe /c echo live' } };
const binding: InstanceSpec = { namespace: SUB, className: '__FilterToConsumerBinding', values: { Filter: '__EventFilter.Name="WatchFilter"', Consumer: 'CommandLineEventConsumer.Name="WatchCmd"' } };

const spec = (residue: ResidueSpec): BuildSpec => ({ namespaces: ['ROOT', SUB], classes: standardConsumerClasses(), instances: [filter, consumer, binding], residue, seed: 7 });

const rel = (r: CimResidualObject): string[] => [r.source, r.kind, String(r.values['Name'] ?? r.values['Filter'] ?? ''), r.relation];

test('identical copy → old copy, modified version → older version, unknown key → deleted', () => {
  const dir = fresh();
  buildRepository(
    dir,
    spec({
      freePages: [
        {
          records: [
            { label: 'byte-identical copy of the live consumer', instance: consumer },
            { label: 'the live filter written at another time, same values', instance: { ...filter, ts1: new Date('2020-01-02T03:04:05Z') } },
            { label: 'the consumer before it was modified', instance: { ...consumer, values: { ...consumer.values, CommandLineTemplate: 'powershell.exe -enc SQBFAFgA' } } },
            { label: 'a deleted consumer', instance: { ...consumer, values: { Name: 'GoneCmd', CommandLineTemplate: 'calc.exe' } } },
          ],
        },
      ],
    }),
  );
  const repo = CimRepository.open(dir);
  const res = repo.residue();
  assert.deepEqual(res.map(rel), [
    ['unmapped-page', 'consumer', 'WatchCmd', 'copy-of-live'],
    ['unmapped-page', 'filter', 'WatchFilter', 'copy-of-live'],
    ['unmapped-page', 'consumer', 'WatchCmd', 'older-version-of-live'],
    ['unmapped-page', 'consumer', 'GoneCmd', 'no-live-object'],
  ]);
  const live = repo.subscriptions();
  const [copy, sameValues, older, gone] = res as [CimResidualObject, CimResidualObject, CimResidualObject, CimResidualObject];
  assert.deepEqual(copy.live, [{ key: live.consumers[0]!.location.key, namespace: SUB, namespaceHash: repo.namespaceHash(SUB), className: 'CommandLineEventConsumer', identicalBytes: true }]);
  assert.deepEqual([copy.changed, sameValues.changed, sameValues.live.map((l) => [l.key, l.identicalBytes])], [[], [], [[live.filters[0]!.location.key, false]]]);
  assert.deepEqual([older.changed, older.live.map((l) => l.key)], [['CommandLineTemplate'], [live.consumers[0]!.location.key]]);
  assert.deepEqual([gone.live, gone.changed, gone.confidence], [[], null, 'high']);
});

test('scan: copies are counted and change nothing, the older version is history of the live subscription, the deleted consumer is residual', async () => {
  const dir = fresh();
  buildRepository(
    dir,
    spec({
      freePages: [
        {
          records: [
            { instance: consumer },
            { instance: binding },
            { instance: { ...consumer, values: { ...consumer.values, CommandLineTemplate: 'powershell.exe -enc SQBFAFgA', ExecutablePath: 'C:\\evil.exe' } } },
            { instance: { ...consumer, values: { Name: 'GoneCmd', CommandLineTemplate: 'calc.exe' } } },
          ],
        },
      ],
    }),
  );
  const result = await scan([dir], { host: 'HOSTR', threads: 1 });
  const watch = result.findings.filter((f) => f.consumer?.name === 'WatchCmd');
  assert.equal(watch.length, 1);
  const f = watch[0]!;
  assert.equal(f.status, 'active');
  // the live values, not the older version's (not even a property only the older version sets)
  assert.equal(f.consumer?.values['CommandLineTemplate'], 'cmd.exe /c echo live');
  assert.equal(f.consumer?.values['ExecutablePath'], undefined);
  const residue = f.observations.filter((o) => o.source === 'cim-residue');
  assert.deepEqual(
    residue.map((o) => [o.part, o.namespace, o.properties['CommandLineTemplate']]),
    [['consumer', SUB, 'powershell.exe -enc SQBFAFgA']],
  );
  assert.match(residue[0]!.location, /older version of the live object; differs in CommandLineTemplate/);
  const gone = result.findings.filter((x) => x.consumer?.name === 'GoneCmd');
  assert.deepEqual(
    gone.map((x) => [x.status, x.observations.map((o) => o.source)]),
    [['residual', ['cim-residue']]],
  );
  assert.match(gone[0]!.observations[0]!.location, /no live object has its key/);
  const item = result.evidence.find((e) => e.kind === 'cim')!;
  assert.match(item.detail, /, 2 old copies of live subscription objects in residue \(not deletions\)$/);
  assert.equal(result.findings.length, 2);
});

/** Build with the older mapping file's page at the logical page that holds the live filter (so it also holds old copies of live records). */
function withOlderMapping(records: NonNullable<ResidueSpec['olderMapping']>['records']): { dir: string; build: ReturnType<typeof buildRepository> } {
  const probe = buildRepository(fresh(), spec({ olderMapping: { records } }));
  const page = probe.instances.find((o) => o.className === '__EventFilter')!.record.page;
  const dir = fresh();
  return { dir, build: buildRepository(dir, spec({ olderMapping: { records, logicalPage: page } })) };
}

test('stale key + older mapping: one object with both provenances, linked to its namespace; copies of live records on that page are old copies', () => {
  const deleted: InstanceSpec = { namespace: SUB, className: '__FilterToConsumerBinding', values: { Filter: '__EventFilter.Name="OldFilter"', Consumer: 'CommandLineEventConsumer.Name="WatchCmd"' } };
  const { dir, build } = withOlderMapping([{ instance: deleted }]);
  const older = build.residue.find((x) => x.where === 'older-mapping')!;
  const res = CimRepository.open(dir).residue();
  const at = older.physicalPage * 8192 + older.offset;
  const linked = res.filter((r) => r.offset === at || r.provenance.some((p) => p.record?.offset === at));
  assert.equal(linked.length, 1, 'the stale key and the carved record are one object');
  const b = linked[0]!;
  assert.deepEqual([b.kind, b.values['Filter'], b.relation, b.namespace, b.key !== undefined && older.staleKeys!.includes(b.key)], ['binding', '__EventFilter.Name="OldFilter"', 'no-live-object', SUB, true]);
  assert.deepEqual(
    b.provenance.map((p) => [p.source, p.file, p.record?.mapping ?? null]),
    [
      ['unmapped-page', 'OBJECTS.DATA', null],
      ['stale-key', 'INDEX.BTR', 'MAPPING1.MAP'],
    ],
  );
  assert.ok(!b.notes.some((x) => /record is gone/.test(x)));
  // the older page version also holds the live filter as it was: an old copy, not a deletion
  const others = res.filter((r) => r !== b);
  assert.ok(others.length > 0 && others.every((r) => r.relation === 'copy-of-live'), JSON.stringify(others.map(rel)));
  assert.ok(others.some((r) => r.kind === 'filter' && r.values['Name'] === 'WatchFilter' && r.live[0]!.identicalBytes));
});

test('stale key of an older version of a live filter: linked, an older version; without the older mapping file the record is gone and only the key hash ties it to the live filter', () => {
  const before: InstanceSpec = { ...filter, values: { ...filter.values, Query: 'SELECT * FROM __TimerEvent' } };
  const { dir } = withOlderMapping([{ instance: before }]);
  const older = CimRepository.open(dir).residue().filter((r) => r.relation !== 'copy-of-live');
  assert.deepEqual(
    older.map((r) => [r.source, r.kind, r.values['Name'], r.relation, r.changed, r.namespace, r.provenance.map((p) => p.source)]),
    [['unmapped-page', 'filter', 'WatchFilter', 'older-version-of-live', ['Query'], SUB, ['unmapped-page', 'stale-key']]],
  );
  // remove the mapping file that still maps the record: the key's record is gone (said so), the carved copy stands alone
  unlinkSync(join(dir, 'MAPPING1.MAP'));
  const res = CimRepository.open(dir).residue().filter((r) => r.relation !== 'copy-of-live');
  const key = res.find((r) => r.source === 'stale-key')!;
  assert.deepEqual([key.relation, key.changed, key.values, key.provenance[0]!.record, key.confidence], ['older-version-of-live', null, {}, null, 'low']);
  assert.ok(key.notes.some((x) => /^its record is gone: no mapping file holds it/.test(x)));
  const carved = res.find((r) => r.source === 'unmapped-page')!;
  assert.deepEqual([carved.relation, carved.changed, carved.namespace, carved.provenance.length], ['older-version-of-live', ['Query'], null, 1]);
});

test('stale key of a deleted object whose record no mapping holds: record gone, deleted', () => {
  const deleted: InstanceSpec = { namespace: SUB, className: 'CommandLineEventConsumer', values: { Name: 'ErasedCmd', CommandLineTemplate: 'evil.exe' } };
  const { dir } = withOlderMapping([{ instance: deleted }]);
  unlinkSync(join(dir, 'MAPPING1.MAP'));
  const res = CimRepository.open(dir).residue().filter((r) => r.relation !== 'copy-of-live');
  assert.deepEqual(
    res.map((r) => [r.source, r.relation, r.namespace, r.confidence]).sort(),
    [
      ['stale-key', 'no-live-object', SUB, 'low'],
      ['unmapped-page', 'no-live-object', null, 'high'],
    ].sort(),
  );
});

test('a stale key whose location now holds a record with another key value is not linked to it (reused location)', () => {
  const deleted: InstanceSpec = { namespace: SUB, className: 'CommandLineEventConsumer', values: { Name: 'ErasedCmd', CommandLineTemplate: 'evil.exe' } };
  const { dir } = withOlderMapping([{ instance: deleted }]);
  const file = join(dir, 'OBJECTS.DATA');
  const data = readFileSync(file);
  const at = data.indexOf(Buffer.from('ErasedCmd\0', 'latin1'));
  assert.ok(at > 0 && data.indexOf(Buffer.from('ErasedCmd\0', 'latin1'), at + 1) < 0);
  Buffer.from('OtherName', 'latin1').copy(data, at);
  writeFileSync(file, data);
  const res = CimRepository.open(dir).residue().filter((r) => r.relation !== 'copy-of-live');
  assert.deepEqual(
    res.map((r) => [r.source, r.values['Name'] ?? null, r.provenance.length]).sort(),
    [
      ['stale-key', null, 1],
      ['unmapped-page', 'OtherName', 1],
    ].sort(),
  );
  const key = res.find((r) => r.source === 'stale-key')!;
  assert.ok(key.notes.some((x) => /record is gone: .*MAPPING1\.MAP: the record there has another key value/.test(x)), key.notes.join(' | '));
});

test('cim subscriptions --residual: status old-copy / older-version / deleted in the table, relation and provenance in JSON', () => {
  const dir = fresh();
  buildRepository(
    dir,
    spec({
      freePages: [{ records: [{ instance: consumer }, { instance: { ...consumer, values: { ...consumer.values, CommandLineTemplate: 'powershell.exe -enc SQBFAFgA' } } }, { instance: { ...consumer, values: { Name: 'GoneCmd', CommandLineTemplate: 'calc.exe' } } }] }],
    }),
  );
  const cli = join(repoRoot(), 'dist/src/cli/main.js');
  const run = (...args: string[]): string => spawnSync(process.execPath, [cli, 'cim', 'subscriptions', '--residual', '-q', ...args, dir], { encoding: 'utf8' }).stdout;
  const rows = run('-f', 'table')
    .split('\n')
    .filter((l) => /^consumer /.test(l))
    .map((l) => l.split(/ {2,}/).slice(0, 5));
  assert.deepEqual(rows, [
    ['consumer', 'active', 'ROOT\\subscription', 'CommandLineEventConsumer', 'WatchCmd'],
    ['consumer', 'old-copy', '(ROOT\\subscription)', 'CommandLineEventConsumer', 'WatchCmd'],
    ['consumer', 'older-version', '(ROOT\\subscription)', 'CommandLineEventConsumer', 'WatchCmd'],
    ['consumer', 'deleted', '?', 'CommandLineEventConsumer', 'GoneCmd'],
  ]);
  assert.match(run('-f', 'table'), /older-version .*\[high; differs in CommandLineTemplate\]/);
  const json = run('-f', 'jsonl')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { status: string; relation?: string; changed?: string[] | null; provenance?: unknown[] })
    .filter((o) => o.status === 'residual');
  assert.deepEqual(
    json.map((o) => [o.relation, o.changed, o.provenance?.length]),
    [
      ['copy-of-live', [], 1],
      ['older-version-of-live', ['CommandLineTemplate'], 1],
      ['no-live-object', null, 1],
    ],
  );
});
