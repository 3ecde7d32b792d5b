/**
 * The command line end to end: `wmiscope evtx dump` and `wmiscope evtx info` on committed fixtures (always)
 * and on the shared samples (skipped with a message when absent); the exit codes of every command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';
import { crc32 } from '../src/evtx/bytes.js';
import { EvtxReader } from '../src/evtx/index.js';

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
  assert.equal(only.code, 2, 'nothing readable');
  assert.match(only.err, /junk\.evtx: not an EVTX file/);
  const mixed = run('evtx', 'dump', junk, WMI);
  assert.equal(mixed.code, 0);
  assert.equal(lines(mixed.out).length, 17);
  const missing = run('evtx', 'dump', join(dir, 'nope.evtx'));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nope\.evtx: no such file or folder/);
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

/** The committed WMI fixture with one more chunk slot: "ElfChnk", no records, its record numbers and ids all ones (u64 max). */
function withUnusedChunk(dir: string): string {
  const chunk = Buffer.alloc(65536);
  chunk.write('ElfChnk\0', 0, 'latin1');
  for (const at of [8, 16, 24, 32]) chunk.writeBigUInt64LE(0xffffffffffffffffn, at);
  chunk.writeUInt32LE(128, 40);
  chunk.writeUInt32LE(0, 44);
  chunk.writeUInt32LE(512, 48);
  chunk.writeUInt32LE(crc32(chunk, 512, 512) >>> 0, 52);
  chunk.writeUInt32LE(crc32(chunk, 128, 512, crc32(chunk, 0, 120)) >>> 0, 124);
  const file = join(dir, 'unused-chunk.evtx');
  writeFileSync(file, Buffer.concat([readFileSync(WMI), chunk]));
  return file;
}

test('info: 64-bit chunk fields print exactly (a chunk with no records holds u64 max), in text, JSON and the library', () => {
  const file = withUnusedChunk(mkdtempSync(join(tmpdir(), 'wmiscope-')));
  const t = run('evtx', 'info', file);
  assert.equal(t.code, 0);
  assert.match(t.out, /\n +1 +69632 +ok +18446744073709551615-18446744073709551615 +ok\/ok +0 +0\n/);
  assert.ok(!t.out.includes('18446744073709552000'));
  const json = run('evtx', 'info', '-f', 'json', file).out;
  // exact integers in the JSON text (a JS number cannot hold them, so the text is checked, not JSON.parse)
  assert.equal((json.match(/"(first|last)Record(Number|Id)": 18446744073709551615,?\n/g) ?? []).length, 4);
  assert.match(json, /"nextRecordId": 18,\n/);
  const j = JSON.parse(json) as { chunks: Array<{ status: string; records: number; firstRecordId: number }> };
  assert.deepEqual(j.chunks.map((c) => [c.status, c.records]), [['ok', 17], ['ok', 0]]);
  assert.equal(j.chunks[0]!.firstRecordId, 1);
  const reader = EvtxReader.open(file);
  try {
    const chunks = reader.chunks();
    assert.equal(chunks[1]!.lastRecordId, 0xffffffffffffffffn);
    assert.equal(chunks[0]!.lastRecordId, 17n);
    assert.equal(reader.header.nextRecordId, 18n);
  } finally {
    reader.close();
  }
});

test('info takes many files and folders: one block each, a JSON array, an unreadable file an error line and the others read on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-'));
  mkdirSync(join(dir, 'logs', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'logs', 'deeper', 'renamed.dat'), readFileSync(fixture('issue_38.evtx')));
  writeFileSync(join(dir, 'logs', 'notes.txt'), 'not an event log');
  writeFileSync(join(dir, 'logs', 'fake.evtx'), 'not an event log either'.repeat(200));
  writeFileSync(join(dir, 'logs', 'empty.evtx'), '');
  const junk = join(dir, 'junk.evtx');
  writeFileSync(junk, 'not an event log at all'.repeat(300));
  const t = run('evtx', 'info', WMI, join(dir, 'logs'), junk);
  assert.equal(t.code, 0);
  // the folder: the EVTX file recognized by content, whatever its name; files that are not EVTX are left out
  assert.deepEqual([...t.out.matchAll(/^file: +(.*)$/gm)].map((m) => m[1]), [WMI, join(dir, 'logs', 'deeper', 'renamed.dat')]);
  assert.match(t.err, /junk\.evtx: not an EVTX file/);
  assert.match(t.err, /empty\.evtx: warning \(empty-file\): empty file \(0 bytes\)/, 'a 0-byte file in a folder is said, not dropped');
  assert.match(t.err, /wmiscope: 2 of 3 EVTX file\(s\) read\n$/);
  const j = JSON.parse(run('evtx', 'info', '-f', 'json', '-q', WMI, fixture('issue_38.evtx')).out) as Array<{ file: string; records: number }>;
  assert.deepEqual(j.map((x) => x.records), [17, 1]);
  // a folder alone is an array too, even of one file
  const one = JSON.parse(run('evtx', 'info', '-f', 'json', join(dir, 'logs')).out) as unknown;
  assert.ok(Array.isArray(one) && one.length === 1);
  // nothing readable: exit 2
  const none = run('evtx', 'info', junk, join(dir, 'logs', 'notes.txt'));
  assert.equal(none.code, 2);
  const empty = mkdtempSync(join(tmpdir(), 'wmiscope-'));
  const nothing = run('evtx', 'info', empty);
  assert.equal(nothing.code, 2);
  assert.match(nothing.err, /no EVTX file in /);
});

test('info on every shared EVTX sample folder at once: one block per file, all read', { skip: skipReason }, () => {
  const t = run('evtx', 'info', '--no-recovered', join(evtxSample(''), 'python-evtx'), join(evtxSample(''), 'hayabusa-sample-evtx'));
  assert.equal(t.code, 0);
  assert.equal([...t.out.matchAll(/^file: /gm)].length, 11);
  assert.match(t.err, /11 of 11 EVTX file\(s\) read/);
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

// ---- exit codes: one scheme for every command (README "Exit codes") ------------------------------------------

/** Inputs for the exit-code matrix, made once: an empty folder, a 0-byte .evtx, a text file, a missing path. */
function exitInputs(): { dir: string; empty: string; zero: string; zeroDir: string; text: string; missing: string; noDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-exit-'));
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const zeroDir = join(dir, 'zero');
  mkdirSync(zeroDir);
  const zero = join(zeroDir, 'Windows PowerShell.evtx');
  writeFileSync(zero, '');
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'case notes, not evidence\n');
  return { dir, empty, zero, zeroDir, text, missing: join(dir, 'typo', 'Sysmon.evtx'), noDir: join(dir, 'no-such-dir', 'report.out') };
}

/** Every command that reads a given path, quiet where it has -q. */
const READERS: Array<{ name: string; args: (p: string) => string[]; quiet: boolean }> = [
  { name: 'scan', args: (p) => ['scan', '-q', '-j', '1', '-f', 'json', p], quiet: true },
  { name: 'coverage', args: (p) => ['coverage', '-q', '-f', 'json', p], quiet: true },
  { name: 'evtx dump', args: (p) => ['evtx', 'dump', '-q', p], quiet: true },
  { name: 'evtx info', args: (p) => ['evtx', 'info', p], quiet: false },
  { name: 'cim namespaces', args: (p) => ['cim', 'namespaces', '-q', p], quiet: true },
  { name: 'cim subscriptions', args: (p) => ['cim', 'subscriptions', '-q', p], quiet: true },
  { name: 'sysmon audit', args: (p) => ['sysmon', 'audit', p], quiet: false },
  { name: 'sysmon config --merge', args: (p) => ['sysmon', 'config', '--merge', p], quiet: false },
];

test('exit 2 for every command: a given path missing (said on stderr, also with -q), an empty folder, a 0-byte .evtx, a non-evidence file only', (t) => {
  const x = exitInputs();
  t.after(() => rmSync(x.dir, { recursive: true, force: true }));
  for (const c of READERS) {
    const missing = run(...c.args(x.missing));
    assert.equal(missing.code, 2, `${c.name}: missing path`);
    assert.ok(missing.err.includes(`wmiscope: error: ${x.missing}: no such file or folder`), `${c.name}: missing path on stderr${c.quiet ? ' under -q' : ''}: ${missing.err}`);
    assert.equal(missing.out, '', `${c.name}: nothing read, nothing written`);
    for (const [what, p] of [['empty folder', x.empty], ['0-byte .evtx', x.zero], ['non-evidence file', x.text]] as const) {
      const r = run(...c.args(p));
      assert.equal(r.code, 2, `${c.name}: ${what}`);
      assert.match(r.err, /^wmiscope: error: /m, `${c.name}: ${what}: the reason is on stderr${c.quiet ? ' under -q' : ''}`);
    }
  }
});

test('exit 2: scan and coverage say why nothing was readable, also with -q; a 0-byte file is one note', (t) => {
  const x = exitInputs();
  t.after(() => rmSync(x.dir, { recursive: true, force: true }));
  for (const cmd of ['scan', 'coverage']) {
    const empty = run(cmd, '-q', '-f', 'json', x.empty);
    assert.equal(empty.code, 2);
    assert.equal(empty.err, 'wmiscope: error: nothing readable: no evidence recognized in the given path(s): no files found\n');
    const zero = run(cmd, '-q', '-f', 'json', x.zeroDir);
    assert.equal(zero.code, 2);
    assert.equal(zero.err, `wmiscope: error: nothing readable in the given path(s): ${x.zero}: empty file (0 bytes)\n`);
    // the report is still written: it says what was looked at
    const report = JSON.parse(zero.out) as { evidence: unknown[]; notes: Array<{ file: string; level: string; message: string }> };
    assert.deepEqual(report.evidence, []);
    assert.deepEqual(report.notes, [{ file: x.zero, level: 'warning', code: 'empty-file', message: 'empty file (0 bytes)' }]);
    // without -q the note is printed as a note, then the error line
    const loud = run(cmd, '-f', 'json', x.zeroDir);
    assert.equal(loud.code, 2);
    // (scan groups it as the table does, one line per file; coverage prints each note)
    assert.match(loud.err, cmd === 'scan' ? /^wmiscope: warning  .*Windows PowerShell\.evtx  empty-file: empty file \(0 bytes\)\n.*nothing readable/s : /: warning \(empty-file\): empty file \(0 bytes\)\n.*nothing readable/s);
    const text = run(cmd, '-q', '-f', 'json', x.text);
    assert.match(text.err, /nothing readable: .*notes\.txt: not evidence/);
  }
  // a 0-byte file beside real evidence is a note; the evidence is read
  const zeroAndWmi = join(x.dir, 'mixed');
  mkdirSync(zeroAndWmi);
  writeFileSync(join(zeroAndWmi, 'Empty.evtx'), '');
  writeFileSync(join(zeroAndWmi, 'Application.evtx'), readFileSync(fixture('Application_no_crc32.evtx')));
  const mixed = run('scan', '-j', '1', '-f', 'json', zeroAndWmi);
  assert.equal(mixed.code, 0);
  assert.match(mixed.err, /^wmiscope: warning  \S*\/mixed\/Empty\.evtx  empty-file: empty file \(0 bytes\)$/m);
  assert.equal((JSON.parse(mixed.out) as { evidence: unknown[] }).evidence.length, 1);
});

test('exit 2: a missing path beside readable ones fails before anything is read (a typo never passes silently)', (t) => {
  const x = exitInputs();
  t.after(() => rmSync(x.dir, { recursive: true, force: true }));
  for (const args of [
    ['scan', '-q', '-f', 'json', WMI, x.missing],
    ['coverage', '-q', '-f', 'json', x.missing, WMI],
    ['evtx', 'dump', '-q', WMI, x.missing],
    ['sysmon', 'audit', resolve(repoRoot(), 'test/fixtures/sysmon/no-wmi.xml'), x.missing],
  ]) {
    const r = run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.out, '', `${args.join(' ')}: no report from part of the input`);
    assert.equal(r.err, `wmiscope: error: ${x.missing}: no such file or folder\n`);
  }
});

test('exit 2: an unusable output path (folder missing, a folder) is refused before any evidence is read', (t) => {
  const x = exitInputs();
  t.after(() => rmSync(x.dir, { recursive: true, force: true }));
  const writers: Array<{ name: string; args: (o: string) => string[] }> = [
    // not quiet, and an input that would give a note: the only stderr line is the output error
    { name: 'scan', args: (o) => ['scan', '-o', o, x.zeroDir] },
    { name: 'coverage', args: (o) => ['coverage', '-o', o, x.zeroDir] },
    { name: 'evtx dump', args: (o) => ['evtx', 'dump', '-o', o, WMI] },
    { name: 'sysmon audit', args: (o) => ['sysmon', 'audit', '-o', o, resolve(repoRoot(), 'test/fixtures/sysmon/no-wmi.xml')] },
    { name: 'sysmon config', args: (o) => ['sysmon', 'config', '-o', o] },
    { name: 'collector powershell', args: (o) => ['collector', 'powershell', '-o', o] },
  ];
  for (const w of writers) {
    const noDir = run(...w.args(x.noDir));
    assert.equal(noDir.code, 2, `${w.name}: missing folder`);
    assert.equal(noDir.err, `wmiscope: error: output ${x.noDir}: folder ${join(x.dir, 'no-such-dir')} does not exist\n`, w.name);
    assert.equal(noDir.out, '');
    assert.equal(existsSync(join(x.dir, 'no-such-dir')), false);
    const isDir = run(...w.args(x.empty));
    assert.equal(isDir.code, 2, `${w.name}: a folder`);
    assert.equal(isDir.err, `wmiscope: error: output ${x.empty}: is a folder\n`, w.name);
  }
});

test('exit 0 on a clean read for every command; scan exits 1 on findings at or above --fail-on', (t) => {
  const x = exitInputs();
  t.after(() => rmSync(x.dir, { recursive: true, force: true }));
  const clean = fixture('Application_no_crc32.evtx');
  const scanClean = run('scan', '-q', '-j', '1', '-f', 'json', clean);
  assert.equal(scanClean.code, 0, scanClean.err);
  assert.deepEqual((JSON.parse(scanClean.out) as { findings: unknown[] }).findings, []);
  // readable and a file that is not evidence: read, the other file is a note
  assert.equal(run('scan', '-q', '-j', '1', '-f', 'json', clean, x.text).code, 0);
  const findings = run('scan', '-q', '-j', '1', '-f', 'json', WMI);
  assert.equal(findings.code, 1, 'a critical finding, --fail-on high (default)');
  assert.ok((JSON.parse(findings.out) as { findings: Array<{ severity: string }> }).findings.some((f) => f.severity === 'critical'));
  assert.equal(run('scan', '-q', '-j', '1', '-f', 'json', '--fail-on', 'never', WMI).code, 0);
  assert.equal(run('scan', '-q', '-j', '1', '-f', 'json', '--fail-on', 'critical', WMI).code, 1);
  // a high finding (the same subscription listed live, without the process start it ran): under --fail-on critical, exit 0
  const listed = resolve(repoRoot(), 'test/fixtures/velociraptor/bot.PermanentWMIEvents.json');
  assert.equal(run('scan', '-q', '-j', '1', '-f', 'json', '--fail-on', 'critical', listed).code, 0);
  assert.equal(run('scan', '-q', '-j', '1', '-f', 'json', '--fail-on', 'high', listed).code, 1);
  const out = join(x.dir, 'report.json');
  assert.equal(run('scan', '-q', '-j', '1', '-o', out, WMI).code, 1);
  assert.ok(readFileSync(out, 'utf8').includes('BotConsumer23'));
  assert.equal(run('coverage', '-q', '-f', 'json', WMI).code, 0);
  assert.equal(run('coverage', '-q', '-o', join(x.dir, 'cov.json'), WMI).code, 0);
  assert.equal(run('evtx', 'dump', '-q', WMI).code, 0);
  assert.equal(run('evtx', 'dump', '-q', '-o', join(x.dir, 'd.jsonl'), WMI).code, 0);
  assert.equal(run('evtx', 'info', WMI).code, 0);
  assert.equal(run('sysmon', 'audit', '-o', join(x.dir, 'audit.txt'), resolve(repoRoot(), 'test/fixtures/sysmon/no-wmi.xml')).code, 0);
  assert.equal(run('sysmon', 'config', '--merge', resolve(repoRoot(), 'test/fixtures/sysmon/no-wmi.xml')).code, 0);
  assert.equal(run('collector', 'powershell', '-o', join(x.dir, 'c.ps1')).code, 0);
});

test('exit 0 on a clean read: cim commands on the real Windows 10 repository', { skip: existsSync(resolve(repoRoot(), '../shared/samples/cim/dissect-cim-win10')) ? false : 'CIM samples not found (expected ../shared/samples next to the repo)' }, () => {
  const repo = resolve(repoRoot(), '../shared/samples/cim/dissect-cim-win10');
  assert.equal(run('cim', 'namespaces', '-q', '-f', 'json', repo).code, 0);
  assert.equal(run('cim', 'subscriptions', '-q', '-f', 'json', repo).code, 0);
});

test('--help of every command documents the exit codes', () => {
  for (const args of [[], ['scan'], ['coverage'], ['evtx', 'dump'], ['evtx', 'info'], ['cim', 'namespaces'], ['sysmon', 'audit'], ['sysmon', 'config'], ['collector', 'powershell']]) {
    const h = run(...args, '--help');
    assert.equal(h.code, 0);
    assert.match(h.out, /Exit codes \(the same for every command\):\n {2}0 .*\n(?: {5}.*\n)* {2}1 {2}scan: findings at or above --fail-on; diff: new or changed\n {5}subscriptions at or above --fail-on, or rescored ones that rose to it\n {2}2 {2}nothing readable, a given path missing/, args.join(' '));
  }
});

test('a usage error prints the error and one hint line naming the command\'s help, not the whole help, for every command', () => {
  const commands = [[], ['scan'], ['coverage'], ['evtx'], ['evtx', 'dump'], ['evtx', 'info'], ['cim'], ['cim', 'namespaces'], ['cim', 'subscriptions'], ['cim', 'classes'], ['cim', 'instances'], ['collector'], ['sysmon'], ['sysmon', 'audit'], ['sysmon', 'config']];
  for (const c of commands) {
    const r = run(...c, '--no-such-option', WMI);
    assert.equal(r.code, 2, c.join(' '));
    assert.equal(r.out, '');
    // (a required option missing is found first by some commands: also one error line)
    const [first, hint, ...more] = r.err.trim().split('\n');
    assert.match(first!, /^error: (unknown option '--no-such-option'|required option '.*' not specified)$/, c.join(' '));
    assert.equal(hint, `(run ${['wmiscope', ...c].join(' ')} --help for usage)`);
    assert.deepEqual(more, [], c.join(' '));
  }
  // a bad value says what was wrong, then the hint
  const bad = run('evtx', 'dump', '-f', 'csv', WMI);
  assert.deepEqual(bad.err.trim().split('\n'), ["error: option '-f, --format <format>' argument 'csv' is invalid. Allowed choices are jsonl, json, xml.", '(run wmiscope evtx dump --help for usage)']);
  const unknown = run('scna', WMI);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^error: unknown command 'scna'\n\(Did you mean scan\?\)\n\(run wmiscope --help for usage\)\n$/);
});
