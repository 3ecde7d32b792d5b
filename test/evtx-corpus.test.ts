/**
 * Exact expectations on the real sample corpus (../shared/samples/evtx), from
 * ../shared/reference/evtx-notes.md §3, §6 and Appendix A. Skips with a message when the samples are absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EvtxFormatError, EvtxReader, renderFileChunks } from '../src/evtx/index.js';
import type { EvtxReadOptions } from '../src/evtx/index.js';
import type { EvtxRecord } from '../src/evtx/reader.js';
import { evtxSample, skipReason } from './support/samples.js';

function readAll(rel: string, opts: EvtxReadOptions = {}): { records: EvtxRecord[]; reader: EvtxReader } {
  const reader = EvtxReader.open(evtxSample(rel));
  const records = [...reader.records(opts)];
  reader.close();
  return { records, reader };
}

function countIds(records: EvtxRecord[], ids: number[]): number[] {
  return ids.map((id) => records.filter((r) => r.eventId === id).length);
}

test('sysmon.evtx: header says 1 chunk, every slot is checked: 9 chunks, 358 records', { skip: skipReason }, () => {
  const { records, reader } = readAll('evtx/sysmon.evtx');
  assert.equal(reader.header.chunkCount, 1);
  assert.equal(records.length, 358);
  // record ids 1742..2099, consecutive across the 9 chunks
  assert.deepEqual(
    records.map((r) => r.recordId),
    Array.from({ length: 358 }, (_, i) => 1742 + i),
  );
  assert.equal(new Set(records.map((r) => r.chunk)).size, 9);
  // slots 9-16 hold non-chunk bytes: a warning each, nothing thrown
  assert.equal(reader.warnings.filter((w) => w.code === 'chunk-magic').length, 8);
});

test('security_bad_string_cache.evtx renders exactly the same 2,261 records as security.evtx', { skip: skipReason }, () => {
  const good = readAll('evtx/security.evtx').records;
  const bad = readAll('evtx/security_bad_string_cache.evtx');
  assert.equal(good.length, 2261);
  assert.equal(bad.records.length, 2261);
  for (let i = 0; i < good.length; i++) assert.equal(bad.records[i]!.toJsonString(), good[i]!.toJsonString(), `record ${good[i]!.recordId}`);
  // the damage is visible as a warning (the chunk header checksum no longer matches its corrupted string table)
  assert.ok(bad.reader.warnings.some((w) => w.code === 'chunk-header-crc'));
});

// evtx-notes §3: Sysmon 19/20/21 per file
const SYSMON_WMI: Array<[string, [number, number, number]]> = [
  ['EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx', [2, 2, 2]],
  ['EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx', [0, 1, 1]],
  ['hayabusa-sample-evtx/ID19-20-WMI registration via PowerLurk.evtx', [2, 1, 0]],
];
for (const [file, expected] of SYSMON_WMI) {
  test(`Sysmon 19/20/21 counts in ${file}: ${expected.join('/')}`, { skip: skipReason }, () => {
    const { records } = readAll(file);
    assert.deepEqual(countIds(records, [19, 20, 21]), expected);
    // pushdown returns the same records
    const hunted = readAll(file, { filter: { eventIds: [19, 20, 21] } }).records;
    assert.deepEqual(
      hunted.map((r) => r.recordId),
      records.filter((r) => [19, 20, 21].includes(r.eventId!)).map((r) => r.recordId),
    );
  });
}

function systemRecordId(r: EvtxRecord): unknown {
  return (r.toJSON()['Event'] as { System: Record<string, unknown> }).System['EventRecordID'];
}

test('Sysmon 20/21 values keep the leading space and quotes as stored (BotConsumer23, Win7)', { skip: skipReason }, () => {
  const { records } = readAll('EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx');
  // an exported log: the record headers are renumbered 1..17, System/EventRecordID keeps the original ids
  assert.deepEqual(
    records.map((r) => r.recordId),
    Array.from({ length: 17 }, (_, i) => i + 1),
  );
  const created = records.find((r) => systemRecordId(r) === 16111)!;
  const ed = (created.toJSON()['Event'] as { EventData: Record<string, unknown> }).EventData;
  assert.equal(ed['Operation'], 'Created');
  assert.equal(ed['Name'], ' "BotConsumer23"');
  assert.equal(ed['Type'], 'Command Line');
  const binding = records.find((r) => systemRecordId(r) === 16112)!;
  const bd = (binding.toJSON()['Event'] as { EventData: Record<string, unknown> }).EventData;
  assert.equal(bd['Consumer'], ' "CommandLineEventConsumer.Name=\\"BotConsumer23\\""');
  assert.equal(binding.channel, 'Microsoft-Windows-Sysmon/Operational');
  assert.equal(binding.provider, 'Microsoft-Windows-Sysmon');
});

test('template-less PowerShell records (0f 01 01 00 41) render fully: PowerLurk WMI registration', { skip: skipReason }, () => {
  const { records, reader } = readAll('hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx');
  assert.equal(records.length, 10);
  assert.equal(reader.warnings.filter((w) => w.code === 'record-parse').length, 0);
  assert.deepEqual(
    records.map((r) => r.eventId),
    [800, 800, 800, 800, 800, 800, 4103, 4104, 4103, 4103],
  );
  const text = records.map((r) => r.toJsonString()).join('\n');
  assert.match(text, /Set-WmiInstance -Namespace root\/subscription -Class __EventFilter/);
  assert.match(text, /Set-WmiInstance -Namespace root\/subscription -Class CommandLineEventConsumer/);
  assert.match(text, /Set-WmiInstance -Namespace root\/subscription -Class __FilterToConsumerBinding/);
  const first = records[0]!.toJSON()['Event'] as { System: Record<string, unknown> };
  assert.equal(first.System['Channel'], 'Windows PowerShell');
  assert.equal(first.System['Computer'], 'fs01.offsec.lan');
  assert.equal(records[0]!.recordId, 1);
  assert.equal(first.System['EventRecordID'], '28810'); // literal text in a template-less record
  // literal SystemTime text in the record, header time as FILETIME
  assert.equal((first.System['TimeCreated'] as { '#attributes': { SystemTime: string } })['#attributes'].SystemTime, '2021-06-10T14:12:46.041829000Z');
  // the filter sees template-less records too
  const only4104 = readAll('hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx', { filter: { eventIds: [4104] } }).records;
  assert.ok(only4104.length > 0 && only4104.every((r) => r.eventId === 4104));
  assert.ok(only4104.every((r) => r.channel === 'Microsoft-Windows-PowerShell/Operational'));
});

test('other template-less files: PipeShell 30 records, MSExchange WEC 1 record', { skip: skipReason }, () => {
  const pipe = readAll('hayabusa-sample-evtx/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx').records;
  assert.equal(pipe.length, 30);
  assert.deepEqual(countIds(pipe, [800, 4103, 4104]), [13, 12, 5]);
  const wec = readAll('evtx/MSExchange_Management_wec.evtx').records;
  assert.equal(wec.length, 1);
  assert.ok(wec[0]!.toJsonString().length > 500);
});

// The 10 WMI-Activity 5858 records libevtx recovers from slack of this Security log (evtx-notes §3).
const LIBEVTX_RECOVERED_5858 = [31046, 31057, 31058, 31059, 31060, 31063, 31072, 31077, 31081, 31082];

test('ID4781 file: 2 allocated Security records; WMI-Activity 5858 only in slack, opt-in and flagged', { skip: skipReason }, () => {
  const file = 'hayabusa-sample-evtx/ID4781-Computer account renamed without a trailing $ (CVE-2021-42278).evtx';
  const plain = readAll(file).records;
  assert.deepEqual(
    plain.map((r) => [r.recordId, r.eventId, r.recovered]),
    [
      [1, 4781, false],
      [2, 4781, false],
    ],
  );
  const withSlack = readAll(file, { recovered: true, filter: { eventIds: [5858] } }).records;
  assert.ok(withSlack.every((r) => r.recovered && r.offset > 4096 && r.channel === 'Microsoft-Windows-WMI-Activity/Operational'));
  // every record libevtx recovers is here, fully rendered (UserData values present, no warnings)
  for (const id of LIBEVTX_RECOVERED_5858) {
    const r = withSlack.find((x) => x.recordId === id);
    assert.ok(r, `recovered 5858 record ${id}`);
    assert.deepEqual(r.warnings, []);
    assert.match(r.toJsonString(), /"Operation_ClientFailure":\{"#attributes":\{"xmlns":"http:\/\/manifests.microsoft.com\/win\/2006\/windows\/WMI"\}/);
  }
  const r31046 = withSlack.find((x) => x.recordId === 31046)!;
  assert.equal(r31046.offset, 4096 + 0xea8);
  assert.match(r31046.toJsonString(), /"ResultCode":"0x80041032"/);
  assert.equal(r31046.timestamp, '2021-12-14T10:20:00.6207241Z');
  // further 5858s whose nested UserData template was overwritten: kept (System part is intact) and flagged
  const partial = withSlack.filter((x) => !LIBEVTX_RECOVERED_5858.includes(x.recordId));
  assert.equal(partial.length, 22);
  for (const x of partial) x.toJsonString();
  assert.ok(partial.every((x) => x.warnings.some((w) => /nested BinXML/.test(w))));
});

test('Sigma 5858 record: JSON matches the Rust evtx crate rendering except the 7-digit timestamp', { skip: skipReason }, () => {
  const { records } = readAll('sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx');
  assert.equal(records.length, 1);
  const expected = JSON.parse(readFileSync(evtxSample('sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.json'), 'utf8')) as {
    Event: { System: { TimeCreated: { '#attributes': { SystemTime: string } } } };
  };
  // the crate cuts FILETIME to microseconds; we keep all 7 digits (100 ns)
  assert.equal(expected.Event.System.TimeCreated['#attributes'].SystemTime, '2026-07-02T02:05:27.438557Z');
  expected.Event.System.TimeCreated['#attributes'].SystemTime = '2026-07-02T02:05:27.4385576Z';
  assert.deepEqual(records[0]!.toJSON(), expected);
  // the raw 100 ns value, computed independently from the calendar time
  const secs = BigInt(Date.UTC(2026, 6, 2, 2, 5, 27) / 1000) + 11644473600n;
  assert.equal(records[0]!.filetime, secs * 10000000n + 4385576n);
});

test('damage is a warning, never a throw: bad chunk magic, zeroed CRCs, zero-size record', { skip: skipReason }, () => {
  const noCrc = readAll('evtx/Application_no_crc32.evtx');
  assert.equal(noCrc.records.length, 17);
  assert.ok(noCrc.reader.warnings.some((w) => w.code === 'chunk-data-crc'));
  assert.ok(noCrc.reader.warnings.some((w) => w.code === 'header-crc'));

  const badMagic = readAll('evtx/sample_with_a_bad_chunk_magic.evtx');
  assert.deepEqual(
    badMagic.reader.warnings.filter((w) => w.code === 'chunk-magic').map((w) => w.chunk),
    [6, 10],
  );
  // records whose trailing size copy was zeroed are returned, with a warning on the record
  const damaged = badMagic.records.filter((r) => r.warnings.length > 0).map((r) => r.recordId);
  assert.deepEqual(damaged, [46741, 47640, 45933]);

  const zero = readAll('evtx/sample-with-zero-data-size-event.evtx');
  // a record with size 0 at chunk 0 offset 0x820: warned, and reading resumes at the next record
  assert.ok(zero.reader.warnings.some((w) => w.code === 'record-header' && w.chunk === 0));
  assert.equal(zero.records.length, 449);
});

test('a file that is not EVTX is one clear error', () => {
  assert.throws(() => EvtxReader.fromBuffer(Buffer.from('MZ this is not an event log'.padEnd(9000, '\0'))), EvtxFormatError);
  assert.throws(() => EvtxReader.fromBuffer(new Uint8Array(0)), /not an EVTX file/);
});

test('async iteration yields the same records as sync iteration', { skip: skipReason }, async () => {
  const reader = EvtxReader.open(evtxSample('evtx/Security_with_size_t.evtx'));
  const sync = [...reader.records()].map((r) => r.recordId);
  const asyncIds: number[] = [];
  for await (const r of reader.recordsAsync()) asyncIds.push(r.recordId);
  reader.close();
  assert.equal(sync.length, 636);
  assert.deepEqual(asyncIds, sync);
});

test('renderFileChunks: strings and encoded bytes give the same output, metadata included', { skip: skipReason }, async () => {
  const file = evtxSample('hayabusa-sample-evtx/ID4781-Computer account renamed without a trailing $ (CVE-2021-42278).evtx');
  const texts: string[] = [];
  let bytes = '';
  for await (const c of renderFileChunks(file, { threads: 1, format: 'jsonl', recovered: true, meta: true, file: 'x.evtx' })) texts.push(...c.texts);
  for await (const c of renderFileChunks(file, { threads: 1, format: 'jsonl', recovered: true, meta: true, file: 'x.evtx', encodeWith: '\n' }))
    if (c.bytes && c.count) bytes += (bytes ? '\n' : '') + Buffer.from(c.bytes).toString('utf8');
  assert.equal(texts.join('\n'), bytes);
  const first = JSON.parse(texts[0]!) as { wmiscope: { file: string; recovered: boolean; recordId: number } };
  assert.deepEqual([first.wmiscope.file, first.wmiscope.recovered, first.wmiscope.recordId], ['x.evtx', false, 1]);
  assert.equal(texts.length, 2 + 98);
});
