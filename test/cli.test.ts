/**
 * The command line end to end: `wmiscope evtx dump` and `wmiscope evtx info` on committed fixtures (always)
 * and on the shared samples (skipped with a message when absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';

const cli = join(repoRoot(), 'dist/src/cli/main.js');
const fixture = (name: string): string => join(repoRoot(), 'test/fixtures/evtx', name);
const WMI = fixture('sysmon_20_21_1_CommandLineEventConsumer.evtx');

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

type Ev = { Event: { System: { EventID: number; Channel: string }; EventData: Record<string, unknown> }; wmiscope?: { recovered: boolean; offset: number } };
const lines = (s: string): Ev[] =>
  s
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);

test('dump: JSON lines for every record; --event-id keeps the WMI subscription events', () => {
  const all = run('evtx', 'dump', WMI);
  assert.equal(all.code, 0);
  assert.equal(lines(all.out).length, 17);
  assert.match(all.err, /17 record\(s\) from 1 of 1 file\(s\), 0 warning\(s\)/);
  const wmi = run('evtx', 'dump', '--event-id', '19,20', '-e', '21', WMI);
  const evs = lines(wmi.out);
  assert.deepEqual(
    evs.map((e) => e.Event.System.EventID),
    [20, 21, 19, 20, 19, 21],
  );
  assert.deepEqual(
    evs.map((e) => e.Event.EventData['Operation']),
    ['Created', 'Created', 'Created', 'Deleted', 'Deleted', 'Deleted'],
  );
  // Sysmon writes the value with a leading space, quotes and doubled backslashes; it is kept as stored
  assert.equal(evs[0]!.Event.EventData['Destination'], String.raw` "c:\\Windows\\System32\\cmd.exe"`);
});

test('dump: --format json is one JSON array, --format xml is well-formed XML', () => {
  const json = run('evtx', 'dump', '-f', 'json', '-e', '19', WMI);
  const arr = JSON.parse(json.out) as Ev[];
  assert.equal(arr.length, 2);
  assert.equal(arr[1]!.Event.EventData['Name'], ' "BotFilter82"');
  const none = run('evtx', 'dump', '-f', 'json', '-e', '4624', WMI);
  assert.deepEqual(JSON.parse(none.out), []);
  const xml = run('evtx', 'dump', '-f', 'xml', WMI);
  assert.equal(XMLValidator.validate(xml.out), true);
  assert.equal((xml.out.match(/<Event xmlns=/g) ?? []).length, 17);
  assert.match(xml.out, /<Data Name="Query">/);
});

test('dump: --channel and --provider filter case-insensitively; --meta adds file and offset', () => {
  const r = run('evtx', 'dump', '--channel', 'microsoft-windows-sysmon/operational', '--provider', 'MICROSOFT-WINDOWS-SYSMON', '--meta', WMI);
  const evs = lines(r.out);
  assert.equal(evs.length, 17);
  assert.ok(evs.every((e) => e.wmiscope && e.wmiscope.recovered === false && e.wmiscope.offset >= 4096 + 512));
  assert.equal(lines(run('evtx', 'dump', '--channel', 'Security', WMI).out).length, 0);
});

test('dump: a file that is not EVTX is one error line; other files are still read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-'));
  const junk = join(dir, 'junk.evtx');
  writeFileSync(junk, 'not an event log at all'.repeat(300));
  const only = run('evtx', 'dump', junk);
  assert.equal(only.code, 1);
  assert.match(only.err, /junk\.evtx: not an EVTX file/);
  const mixed = run('evtx', 'dump', junk, WMI);
  assert.equal(mixed.code, 0);
  assert.equal(lines(mixed.out).length, 17);
  const missing = run('evtx', 'dump', join(dir, 'nope.evtx'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /ENOENT/);
});

test('dump: damaged file gives warnings on stderr, records on stdout, exit 0', () => {
  const r = run('evtx', 'dump', fixture('Application_no_crc32.evtx'));
  assert.equal(r.code, 0);
  assert.equal(lines(r.out).length, 17);
  assert.match(r.err, /warning \[chunk-data-crc\]/);
  const q = run('evtx', 'dump', '-q', fixture('Application_no_crc32.evtx'));
  assert.equal(q.err, '');
});

test('dump: template-less records (no template instance) render', () => {
  const r = run('evtx', 'dump', fixture('MSExchange_Management_wec.evtx'));
  const evs = lines(r.out);
  assert.equal(evs.length, 1);
  assert.equal(evs[0]!.Event.System.Channel, 'MSExchange Management');
});

test('dump: --threads gives byte-identical output in the same order', { skip: skipReason }, () => {
  const file = evtxSample('evtx/security.evtx');
  const one = run('evtx', 'dump', '-q', file);
  const two = run('evtx', 'dump', '-q', '--threads', '2', file);
  assert.equal(lines(one.out).length, 2261);
  assert.equal(two.out, one.out);
  const xml1 = run('evtx', 'dump', '-q', '-f', 'xml', '--recovered', evtxSample('evtx/sample-with-zero-data-size-event.evtx'));
  const xml2 = run('evtx', 'dump', '-q', '-f', 'xml', '--recovered', '-t', '2', evtxSample('evtx/sample-with-zero-data-size-event.evtx'));
  assert.equal(xml2.out, xml1.out);
});

test('dump --recovered: carved records are flagged with their file offset', { skip: skipReason }, () => {
  const file = evtxSample('hayabusa-sample-evtx/ID4781-Computer account renamed without a trailing $ (CVE-2021-42278).evtx');
  const plain = lines(run('evtx', 'dump', '-e', '5858', file).out);
  assert.equal(plain.length, 0);
  const rec = lines(run('evtx', 'dump', '-q', '--recovered', '-e', '5858', file).out);
  assert.ok(rec.length >= 10);
  assert.ok(rec.every((e) => e.wmiscope?.recovered === true && e.wmiscope.offset > 4096));
  const first = rec.find((e) => e.wmiscope!.offset === 4096 + 0xea8)!;
  assert.equal(first.Event.System.EventID, 5858);
});

test('info: header, chunk table with status, counts and warnings', () => {
  const t = run('evtx', 'info', '--no-recovered', fixture('Application_no_crc32.evtx'));
  assert.equal(t.code, 0);
  assert.match(t.out, /records: +17 allocated, 0 recovered from slack, 0 unparsable/);
  // by default info also carves the slack: older records 394-425 sit behind the 17 allocated ones
  const withSlack = run('evtx', 'info', fixture('Application_no_crc32.evtx'));
  assert.match(withSlack.out, /records: +17 allocated, 20 recovered from slack, 14 unparsable/);
  assert.match(withSlack.out, /\[recovered-unparsable\] carved record 416 at file offset 30160/);
  assert.match(t.out, /header checksum: +0x[0-9a-f]{8} MISMATCH/);
  assert.match(t.out, /\[chunk-data-crc\]/);
  const j = JSON.parse(run('evtx', 'info', '--format', 'json', WMI).out) as {
    header: { chunkCount: number; majorVersion: number };
    records: number;
    chunks: Array<{ status: string; records?: number }>;
    warnings: unknown[];
  };
  assert.equal(j.records, 17);
  assert.equal(j.header.majorVersion, 3);
  assert.equal(j.chunks.length, 1);
  assert.deepEqual(j.chunks[0]!.status, 'ok');
  assert.equal(j.chunks[0]!.records, 17);
});

test('info on the sysmon sample: 17 slots, 9 chunks with records, 8 without a chunk signature', { skip: skipReason }, () => {
  const j = JSON.parse(run('evtx', 'info', '-f', 'json', evtxSample('evtx/sysmon.evtx')).out) as {
    header: { chunkCount: number; dirty: boolean };
    slots: number;
    records: number;
    chunks: Array<{ status: string }>;
  };
  assert.equal(j.header.chunkCount, 1);
  assert.equal(j.header.dirty, true);
  assert.equal(j.slots, 17);
  assert.equal(j.records, 358);
  assert.equal(j.chunks.filter((c) => c.status === 'ok').length, 9);
  assert.equal(j.chunks.filter((c) => c.status === 'bad-magic').length, 8);
});

test('--help describes the commands that exist; usage errors exit 2', () => {
  const h = run('evtx', 'dump', '--help');
  assert.equal(h.code, 0);
  for (const opt of ['--format', '--event-id', '--channel', '--provider', '--recovered', '--threads', '--meta', '--output']) assert.ok(h.out.includes(opt), opt);
  assert.equal(run('evtx', 'dump', '-e', 'abc', WMI).code, 2);
  assert.equal(run('evtx', 'dump', '-f', 'csv', WMI).code, 2);
  const top = run('--help');
  assert.match(top.out, /evtx/);
});

test('--output writes to a file', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'wmiscope-')), 'o.jsonl');
  const r = run('evtx', 'dump', '-q', '-o', out, WMI);
  assert.equal(r.code, 0);
  assert.equal(r.out, '');
  assert.equal(lines(readFileSync(out, 'utf8')).length, 17);
});
