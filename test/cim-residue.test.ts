/**
 * Residue: subscription objects that survive outside the live repository. The real Win10 sample has none
 * (cim-format.md §12); copies of it get real records of that sample placed where deleted data survives —
 * an unmapped (free-list) OBJECTS.DATA page and the unused tail of a mapped page — and must be found there,
 * decoded with the live layouts, and not confused with the live objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CimRepository, PAGE_SIZE, parseMapping, parseToc } from '../src/cim/index.js';
import { repoRoot } from './support/samples.js';

const sample = resolve(repoRoot(), '../shared/samples/cim/dissect-cim-win10');
const skip = existsSync(sample) ? false : `CIM samples not found at ${sample} (expected ../shared/samples next to the repo)`;

function copySample(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-residue-'));
  for (const f of readdirSync(sample)) writeFileSync(join(dir, f.replace(/\.gz$/, '')), gunzipSync(readFileSync(join(sample, f))));
  return dir;
}

test('the real Win10 sample holds no subscription residue', { skip }, () => {
  // 0 residual objects before and after the fix (none of any relation): its 196 unmapped pages, slack and
  // 223 stale index keys (cim-format.md §3, §10) hold no subscription instance
  assert.deepEqual(CimRepository.open(sample).residue(), []);
});

test('Win10 sample: stale index keys and the mapping files that still hold their records', { skip }, () => {
  const repo = CimRepository.open(sample);
  const stale = repo.staleKeys();
  // 223 keys of older states (cim-format.md §3: "223 of them absent from the live index"), 217 with a record location
  assert.equal(stale.length, 223);
  const withLocation = stale.filter((k) => k.location !== null);
  assert.equal(withLocation.length, 217);
  const held = (k: (typeof stale)[0]): string => (k.record === null ? 'gone' : `${k.record.mapping}${k.record.live ? ' (live record)' : ''}`);
  const counts: Record<string, number> = {};
  for (const k of withLocation) counts[held(k)] = (counts[held(k)] ?? 0) + 1;
  // measured: 24 records only the older MAPPING3.MAP still maps (the current map alone, all the reader used before,
  // does not hold them: "record gone"),
  // 16 the live index also points to, 32 in mapped pages under no live key, 145 no mapping file holds
  assert.deepEqual(counts, { 'MAPPING3.MAP': 24, 'MAPPING2.MAP (live record)': 16, 'MAPPING2.MAP': 32, gone: 145 });
  // cross-check: those 24 are exactly the keys the MAPPING3.MAP state has and the current state lacks (12
  // instances, each under a CI_/IL_ and a KI_/I_ key), found independently by walking that state's B-tree
  const now = new Set(repo.keys());
  const lost = CimRepository.open(sample, { mapping: 'MAPPING3.MAP' })
    .keys()
    .filter((k) => !now.has(k));
  assert.deepEqual(
    withLocation
      .filter((k) => k.record?.mapping === 'MAPPING3.MAP')
      .map((k) => k.key)
      .sort(),
    [...lost].sort(),
  );
});

/**
 * Residue planted in a copy of the real sample: the live filter byte for byte in a free page, the live binding in
 * the slack of a mapped page, the filter with another query (an older version) and with another name (a deleted
 * filter), and bare reference strings. Counts by relation, measured on this planted copy:
 *   before the fix (commit ea551dc): 7 residual objects, all reported as residue of deleted objects — the two
 *     byte-identical copies and the two modified filters as `high` confidence, the three reference strings `low`;
 *   after: 3 copy-of-live (the filter, the binding, the reference string the live binding holds),
 *     1 older-version-of-live (Query changed), 3 no-live-object (the renamed filter, the two ghost strings).
 * The live objects they are compared with are the oracle's SCM trio (cim-oracle/README.md, agreed values).
 */
test('residue planted in the real sample: placed, decoded, and told apart from the live objects it copies', { skip }, (t) => {
  const dir = copySample();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const live = CimRepository.open(dir).subscriptions();
  const map = parseMapping(readFileSync(join(dir, 'MAPPING2.MAP')), 'MAPPING2.MAP').objects;
  const data = Buffer.from(readFileSync(join(dir, 'OBJECTS.DATA')));
  const bytesOf = (page: number, recordId: number): Buffer => {
    const phys = map.pages[page]!;
    const e = parseToc(data, phys * PAGE_SIZE).find((x) => x.recordId === recordId)!;
    return Buffer.from(data.subarray(phys * PAGE_SIZE + e.offset, phys * PAGE_SIZE + e.offset + e.size));
  };
  const filter = bytesOf(live.filters[0]!.location.page, live.filters[0]!.location.recordId);
  const freePages = map.free.filter((p) => ![...map.pages].includes(p));
  // 3. traces: bare object-path strings of a deleted binding, single-byte and UTF-16, in another free page, and the
  // live binding's own filter reference
  const free2 = freePages[1]!;
  Buffer.from('xx CommandLineEventConsumer.Name="Ghost \\"one\\""\0', 'latin1').copy(data, free2 * PAGE_SIZE + 40);
  Buffer.from('__EventFilter.Name="GhostFilter"', 'utf16le').copy(data, free2 * PAGE_SIZE + 400);
  Buffer.from('__EventFilter.Name="SCM Event Log Filter"\0', 'latin1').copy(data, free2 * PAGE_SIZE + 800);
  const binding = bytesOf(live.bindings[0]!.location.page, live.bindings[0]!.location.recordId);
  // 1. the filter in a free-list page (a page the current map does not use)
  const free = freePages[0]!;
  const freeAt = free * PAGE_SIZE + 256;
  filter.copy(data, freeAt);
  // 4. the filter with another query of the same length (an older version), and with another name (deleted)
  const edit = (from: string, to: string): Buffer => {
    const b = Buffer.from(filter);
    const at = b.indexOf(Buffer.from(from, 'latin1'));
    assert.ok(at > 0 && from.length === to.length);
    Buffer.from(to, 'latin1').copy(b, at);
    return b;
  };
  const olderAt = freePages[2]! * PAGE_SIZE + 256;
  edit('MSFT_SCMEventLogEvent', 'MSFT_SCMEventLogEvenX').copy(data, olderAt);
  const renamedAt = freePages[3]! * PAGE_SIZE + 256;
  edit('SCM Event Log Filter', 'SCM Event Log FiltXr').copy(data, renamedAt);
  // 2. the binding in the unused tail of a mapped page, after its last record
  let slackAt = -1;
  for (let l = 0; l < map.pages.length && slackAt < 0; l++) {
    const phys = map.pages[l]!;
    if (phys < 0) continue;
    const toc = parseToc(data, phys * PAGE_SIZE);
    if (!toc.length) continue;
    const end = Math.max(...toc.map((e) => e.offset + e.size));
    if (end + 64 + binding.length < PAGE_SIZE && toc.every((e) => e.offset + e.size <= PAGE_SIZE)) slackAt = phys * PAGE_SIZE + end + 64;
  }
  assert.ok(slackAt > 0);
  binding.copy(data, slackAt);
  writeFileSync(join(dir, 'OBJECTS.DATA'), data);

  const repo = CimRepository.open(dir);
  // the live view is unchanged
  const now = repo.subscriptions();
  assert.deepEqual([now.filters.length, now.consumers.length, now.bindings.length], [1, 1, 1]);
  const all = repo.residue();
  const byRelation = (r: string): number => all.filter((x) => x.relation === r).length;
  assert.deepEqual([all.length, byRelation('copy-of-live'), byRelation('older-version-of-live'), byRelation('no-live-object')], [7, 3, 1, 3]);
  const traces = all.filter((r) => r.confidence === 'low');
  assert.deepEqual(
    traces.map((r) => [r.source, r.kind, r.className, r.values['Name'], r.offset - free2 * PAGE_SIZE, r.relation]),
    [
      ['unmapped-page', 'consumer', 'CommandLineEventConsumer', 'Ghost "one"', 43, 'no-live-object'],
      ['unmapped-page', 'filter', '__EventFilter', 'GhostFilter', 400, 'no-live-object'],
      ['unmapped-page', 'filter', '__EventFilter', 'SCM Event Log Filter', 800, 'copy-of-live'],
    ],
  );
  assert.deepEqual(traces[2]!.live.map((l) => l.key), [now.bindings[0]!.location.key]);
  const res = all.filter((r) => r.confidence !== 'low');
  assert.deepEqual(
    res.map((r) => [r.source, r.kind, r.className, r.offset, r.confidence, r.relation]),
    [
      ['unmapped-page', 'filter', '__EventFilter', freeAt, 'high', 'copy-of-live'],
      ['page-slack', 'binding', '__FilterToConsumerBinding', slackAt, 'high', 'copy-of-live'],
      ['unmapped-page', 'filter', '__EventFilter', olderAt, 'high', 'older-version-of-live'],
      ['unmapped-page', 'filter', '__EventFilter', renamedAt, 'high', 'no-live-object'],
    ].sort((a, b) => (a[3] as number) - (b[3] as number)),
  );
  const f = res.find((r) => r.offset === freeAt)!;
  assert.deepEqual([f.values['Name'], f.values['Query'], f.creatorSid, f.logicalPage], ['SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent', 'S-1-5-32-544', null]);
  assert.deepEqual(f.live, [{ key: now.filters[0]!.location.key, namespace: 'ROOT\\subscription', namespaceHash: now.filters[0]!.namespaceHash, className: '__EventFilter', identicalBytes: true }]);
  const b = res.find((r) => r.kind === 'binding')!;
  assert.deepEqual([b.values['Filter'], b.values['DeliverSynchronously'], b.live.map((l) => [l.key, l.identicalBytes])], ['__EventFilter.Name="SCM Event Log Filter"', false, [[now.bindings[0]!.location.key, true]]]);
  assert.ok(b.logicalPage !== null);
  const older = res.find((r) => r.offset === olderAt)!;
  assert.deepEqual([older.values['Query'], older.changed], ['select * from MSFT_SCMEventLogEvenX', ['Query']]);
  const renamed = res.find((r) => r.offset === renamedAt)!;
  assert.deepEqual([renamed.values['Name'], renamed.live, renamed.changed], ['SCM Event Log FiltXr', [], null]);
});

test('a gzip bomb in place of a repository file is refused, not inflated', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-bomb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'INDEX.BTR'), Buffer.alloc(PAGE_SIZE));
  writeFileSync(join(dir, 'MAPPING1.MAP'), gzipSync(Buffer.alloc(300 << 20), { level: 9 }));
  assert.throws(() => CimRepository.open(dir), /no readable MAPPING\*\.MAP file \(MAPPING1\.MAP: .*larger than/);
});
