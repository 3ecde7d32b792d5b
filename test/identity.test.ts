/**
 * Identity of hosts, records and times on real logs and exports (issue 12 cases 1-4 and 6): every record's Computer
 * is read (no invented host), a renamed machine is one host, a short name and its FQDN in one export are one host,
 * locations cite EventRecordID, spans come from the events' own times, and an empty log is in the inventory.
 * The renamed-machine and short-name cases are built from real logs by rewriting `Computer` (CRCs recomputed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coverage, scan } from '../src/scan.js';
import { observeEvtx } from '../src/sources/formats/evtx.js';
import { crc32 } from '../src/evtx/bytes.js';
import { renameComputerInFirstChunks } from './support/fleet.js';
import { writeZip } from './support/zip-writer.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';
import { NoteSink } from '../src/sources/notes.js';
import { scratchDir } from './support/tmp.js';

const cli = join(repoRoot(), 'dist/src/cli/main.js');
const SYSMON = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const NXLOG = join(repoRoot(), 'test/fixtures/exports/otrf-covenant-activescript.nxlog.jsonl');
const PIPESHELL = evtxSample('hayabusa-sample-evtx/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx');
const POWERLURK = evtxSample('hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx');

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const NATIVE_SYSMON = evtxSample('evtx/sysmon.evtx');

/** A real Sysmon log (358 records in 9 chunks, EventRecordIDs 1742..2099, all DESKTOP-2KGM189) whose first 4 chunks name the machine's setup name. */
function renamedLog(dir: string): string {
  const f = join(dir, 'Microsoft-Windows-Sysmon%4Operational.evtx');
  writeFileSync(f, renameComputerInFirstChunks(readFileSync(NATIVE_SYSMON), 'DESKTOP-2KGM189', 'WIN-7Q3LK0S9ABC', 4));
  return f;
}

test('a log whose machine was renamed: both names are one host, linked because the record ids continue; no third host', { skip: skipReason }, async () => {
  const dir = scratchDir('rename');
  const f = renamedLog(dir);
  const sink = new NoteSink();
  const r = observeEvtx(f, sink);
  const notes = sink.list();
  // the sample's own damage notes (dirty header, unused slots), nothing about hosts
  const originalSink = new NoteSink();
  observeEvtx(NATIVE_SYSMON, originalSink);
  const originalNotes = originalSink.list();
  assert.deepEqual(notes.map((n) => n.message), originalNotes.map((n) => n.message));
  const items = r.items.map((i) => [i.host, i.records]).sort();
  assert.equal(items.length, 2);
  assert.equal(items[0]![0], 'DESKTOP-2KGM189');
  assert.equal(items[1]![0], 'WIN-7Q3LK0S9ABC');
  assert.equal(Number(items[0]![1]) + Number(items[1]![1]), 358);
  assert.equal(r.hostLinks?.length, 1);
  const link = r.hostLinks![0]!;
  assert.deepEqual(link.names, ['WIN-7Q3LK0S9ABC', 'DESKTOP-2KGM189']);
  assert.match(link.why, /^one log renamed its computer \(Microsoft-Windows-Sysmon\/Operational: record #(\d+) names WIN-7Q3LK0S9ABC, the next record #\d+ names DESKTOP-2KGM189\)$/);

  const s = await scan([f], { threads: 1 });
  assert.deepEqual(s.hosts, ['DESKTOP-2KGM189']);
  assert.deepEqual(s.hostAliases, [{ host: 'DESKTOP-2KGM189', aliases: [{ name: 'WIN-7Q3LK0S9ABC', why: link.why }] }]);
  // the whole file is one log of one host: 358 records, ids 1742..2099 without a gap, starting after #1
  const c = await coverage([f], { threads: 1 });
  assert.deepEqual(c.hosts.map((h) => h.host), ['DESKTOP-2KGM189']);
  assert.equal(c.hosts[0]!.logs.length, 1);
  assert.equal(c.hosts[0]!.logs[0]!.records, 358);
  assert.equal(c.hosts[0]!.logs[0]!.oldestRecordId, 1742);

  // --no-host-merge keeps the two names apart; --host-alias forces a link and names the host
  const apart = await scan([f], { threads: 1, hostMerge: false });
  assert.deepEqual(apart.hosts, ['DESKTOP-2KGM189', 'WIN-7Q3LK0S9ABC']);
  assert.equal(apart.hostAliases, undefined);
  const forced = await scan([f], { threads: 1, hostMerge: false, hostAliases: { 'WIN-7Q3LK0S9ABC': 'lab-pc', 'DESKTOP-2KGM189': 'lab-pc' } });
  assert.deepEqual(forced.hosts, ['lab-pc']);
  const cliRun = run('scan', f, '-f', 'json', '-q', '--host-alias', 'WIN-7Q3LK0S9ABC=lab-pc', '--host-alias', 'DESKTOP-2KGM189=lab-pc', '--no-host-merge');
  assert.deepEqual(JSON.parse(cliRun.out).hosts, ['lab-pc']);
  assert.match(run('scan', f, '-q', '--host-alias', 'nonsense').err, /NAME=CANONICAL/);
});

test('two machines merged into one file are not linked: their record ids do not continue each other (PipeShell server and client)', { skip: skipReason }, async () => {
  const sink = new NoteSink();
  const r = observeEvtx(PIPESHELL, sink);
  const notes = sink.list();
  // 30 allocated records: 5 of fs01, 25 of jump01; the 25 slack copies of allocated records are not counted again
  assert.deepEqual(r.items.map((i) => [i.host, i.records]).sort(), [['fs01.offsec.lan', 5], ['jump01.offsec.lan', 25]]);
  assert.deepEqual(r.hostLinks, []);
  assert.deepEqual(notes, []);
  const s = await scan([PIPESHELL], { threads: 1 });
  assert.deepEqual(s.hosts, ['fs01.offsec.lan', 'jump01.offsec.lan']);
  assert.equal(s.evidence.reduce((n, e) => n + e.records, 0), 30);
});

test('spans are the events\' own times (TimeCreated), not the record headers\' written times (PowerLurk)', { skip: skipReason }, async () => {
  const s = await scan([POWERLURK], { threads: 1 });
  const e = s.evidence.find((x) => x.host === 'fs01.offsec.lan');
  assert.ok(e);
  // the header times say 14:12:14-14:12:15 (and one zeroed 1601 time); every event happened at 14:12:46
  assert.equal(e.first, '2021-06-10T14:12:46.0418290Z');
  assert.equal(e.last, '2021-06-10T14:12:46.2142513Z');
});

test('locations cite the EventRecordID Event Viewer, Hayabusa and Chainsaw show, with the renumbered header number second', async () => {
  const s = await scan([SYSMON], { threads: 1 });
  const locs = s.findings.flatMap((f) => f.observations.map((o) => o.location));
  assert.ok(locs.includes('record 16111 (header #4, offset 11672)'), locs.join('\n'));
  assert.ok(locs.every((l) => /^record 161\d\d \(header #\d+, offset \d+\)$/.test(l)), locs.join('\n'));
  const timeline = run('scan', SYSMON, '-f', 'timeline', '-q').out;
  assert.match(timeline, /"record 16111 \(header #4, offset 11672\)"/);
});

test('nxlog writes a short name for one channel and the FQDN for the others: one host, one finding, linked and said why', async () => {
  const dir = scratchDir('shortname');
  const lines = readFileSync(NXLOG, 'utf8').split('\n').filter(Boolean);
  const short = lines.map((l) => (/"Channel":"Microsoft-Windows-Sysmon\/Operational"/.test(l) ? l.replace(/"Hostname":"WORKSTATION6\.theshire\.local"/, '"Hostname":"WORKSTATION6"') : l));
  assert.ok(short.some((l) => l.includes('"Hostname":"WORKSTATION6"')));
  const f = join(dir, 'covenant.nxlog.jsonl');
  writeFileSync(f, short.join('\n') + '\n');
  const original = await scan([NXLOG], { threads: 1 });
  const s = await scan([f], { threads: 1 });
  assert.deepEqual(s.hosts, ['WORKSTATION6.theshire.local']);
  assert.deepEqual(s.hostAliases, [{ host: 'WORKSTATION6.theshire.local', aliases: [{ name: 'WORKSTATION6', why: 'short name of WORKSTATION6.theshire.local in the same evidence file' }] }]);
  assert.equal(s.findings.length, original.findings.length);
  assert.deepEqual(
    s.findings.map((x) => [x.host, x.status, x.consumer?.name, [...new Set(x.observations.map((o) => o.source))].sort()]),
    original.findings.map((x) => [x.host, x.status, x.consumer?.name, [...new Set(x.observations.map((o) => o.source))].sort()]),
  );
  // the same two names in two unrelated files are not linked by a guess
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  mkdirSync(a);
  mkdirSync(b);
  writeFileSync(join(a, 'sysmon.jsonl'), short.filter((l) => l.includes('"Hostname":"WORKSTATION6"')).join('\n') + '\n');
  writeFileSync(join(b, 'other.jsonl'), short.filter((l) => !l.includes('"Hostname":"WORKSTATION6"')).join('\n') + '\n');
  const apart = await scan([a, b], { threads: 1 });
  assert.deepEqual(apart.hosts, ['WORKSTATION6', 'WORKSTATION6.theshire.local']);
  assert.equal(apart.hostAliases, undefined);
});

/** A real EVTX file header with no chunk: what Windows leaves of a log that holds no record (CRC recomputed). */
function emptyEvtx(): Buffer {
  const head = Buffer.from(readFileSync(SYSMON).subarray(0, 4096));
  head.writeBigUInt64LE(0n, 8); // first chunk
  head.writeBigUInt64LE(0n, 16); // last chunk
  head.writeBigUInt64LE(1n, 24); // next record id
  head.writeUInt16LE(0, 42); // chunk count
  head.writeUInt32LE(crc32(head, 0, 120) >>> 0, 124);
  return head;
}

test('an empty log is in the inventory and coverage ("present, 0 records") under the host of its collection', async () => {
  const dir = scratchDir('empty');
  const logs = join(dir, 'HOST01', 'C', 'Windows', 'System32', 'winevt', 'Logs');
  mkdirSync(logs, { recursive: true });
  writeFileSync(join(logs, 'Microsoft-Windows-Sysmon%4Operational.evtx'), readFileSync(SYSMON));
  writeFileSync(join(logs, 'Windows PowerShell.evtx'), emptyEvtx());
  const s = await scan([dir], { threads: 1 });
  const empty = s.evidence.find((e) => e.file.endsWith('Windows PowerShell.evtx'));
  assert.ok(empty, JSON.stringify(s.evidence));
  assert.equal(empty.host, 'IEWIN7');
  assert.equal(empty.records, 0);
  assert.equal(empty.detail, 'present, 0 records (Windows PowerShell, named by its file name)');
  assert.deepEqual(s.hosts, ['IEWIN7']);
  const c = await coverage([dir], { threads: 1 });
  const ps = c.hosts[0]!.logs.find((l) => l.channel === 'Windows PowerShell');
  assert.ok(ps, JSON.stringify(c.hosts[0]!.logs));
  assert.equal(ps.records, 0);
  assert.equal(c.hosts[0]!.powershell.present, true);

  // alone, outside any collection, it names no machine: one note says so, and no host is made up from its folder
  const lone = scratchDir('lone');
  writeFileSync(join(lone, 'Windows PowerShell.evtx'), emptyEvtx());
  const l = await scan([lone], { threads: 1 });
  assert.equal(l.evidence.length, 1);
  assert.ok(l.notes.some((n) => /name no machine/.test(n.message)), JSON.stringify(l.notes));
});

test('a Velociraptor collection: the client (NAME (C.id)) and the Computer its logs name are one host, with the link said', async () => {
  const dir = scratchDir('client');
  const zip = join(dir, 'Collection-iewin7.zip');
  writeZip(zip, [
    { name: 'client_info.json', data: JSON.stringify({ client_id: 'C.1111aaaa2222bbbb', hostname: 'IEWIN7', fqdn: 'iewin7.lab.example' }) },
    { name: 'uploads/auto/C%3A/Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%254Operational.evtx', data: readFileSync(SYSMON) },
    // a log of another machine collected from this client (forwarded events): attributed to the collection, never called its name
    { name: 'uploads/auto/C%3A/Windows/System32/winevt/Logs/ForwardedEvents.evtx', data: readFileSync(join(repoRoot(), 'test/fixtures/evtx/issue_38.evtx')) },
  ]);
  const s = await scan([zip], { threads: 1 });
  assert.deepEqual(s.hosts, ['iewin7.lab.example (C.1111aaaa2222bbbb)']);
  assert.deepEqual(s.hostAliases, [{ host: 'iewin7.lab.example (C.1111aaaa2222bbbb)', aliases: [{ name: 'IEWIN7', why: 'the logs of the Velociraptor collection of iewin7.lab.example (C.1111aaaa2222bbbb) name it IEWIN7' }] }]);
  assert.ok(s.findings.length > 0 && s.findings.every((f) => f.host === 'iewin7.lab.example (C.1111aaaa2222bbbb)'));
});

test('--host-alias: chains are followed, a name given two names and --host with an alias are usage errors, an alias no evidence names is said', { skip: skipReason }, async () => {
  const dir = evtxSample('EVTX-ATTACK-SAMPLES');
  const chained = await scan([dir], { threads: 1, hostAliases: { 'PC04.example.corp': 'IEWIN7', IEWIN7: 'MSEDGEWIN10' } });
  assert.ok(chained.hosts.includes('MSEDGEWIN10') && !chained.hosts.includes('IEWIN7') && !chained.hosts.includes('PC04.example.corp'), chained.hosts.join(', '));
  assert.deepEqual(chained.hostAliases?.find((a) => a.host === 'MSEDGEWIN10')?.aliases.map((a) => a.name), ['IEWIN7', 'PC04.example.corp']);
  const unseen = await scan([dir], { threads: 1, hostAliases: { NOSUCH: 'IEWIN7' } });
  assert.equal(unseen.hostAliases, undefined);
  assert.ok(unseen.notes.some((n) => n.code === 'assumption' && /--host-alias NOSUCH=IEWIN7: no evidence read names a machine NOSUCH/.test(n.message)));
  const two = run('scan', dir, '-q', '--host-alias', 'A=B', '--host-alias', 'A=C');
  assert.equal(two.code, 2);
  assert.match(two.err, /A is given two names: B and C/);
  const withHost = run('scan', dir, '-q', '--host', 'X', '--host-alias', 'A=B');
  assert.equal(withHost.code, 2);
  assert.match(withHost.err, /cannot be used with option '--host/);
});

test('a rename is linked only inside a native EVTX: touching record ids of two machines in an export are not a rename', async () => {
  // the real nxlog export of WORKSTATION6 (WMI-Activity ids 421-423) plus one record of another machine whose id is 424
  const lines = readFileSync(NXLOG, 'utf8').split('\n').filter(Boolean);
  const wmi = lines.filter((l) => /"Channel":"Microsoft-Windows-WMI-Activity\/Operational"/.test(l));
  const ids = wmi.map((l) => Number(/"RecordNumber":(\d+)/.exec(l)![1]));
  const next = Math.max(...ids) + 1;
  const other = wmi[0]!.replace(/"Hostname":"[^"]*"/, '"Hostname":"MORDORDC.theshire.local"').replace(/"RecordNumber":\d+/, `"RecordNumber":${next}`);
  const dir = scratchDir('wec');
  const f = join(dir, 'wec.nxlog.jsonl');
  writeFileSync(f, [...lines, other].join('\n') + '\n');
  const s = await scan([f], { threads: 1 });
  assert.deepEqual(s.hosts, ['MORDORDC.theshire.local', 'WORKSTATION6.theshire.local']);
  assert.equal(s.hostAliases, undefined);
  assert.ok(s.findings.some((x) => x.host === 'WORKSTATION6.theshire.local' && x.severity === 'critical'));
});

test('a folder merely named windows is no host collection: two datasets under atomic/windows are not linked', async () => {
  const lines = readFileSync(NXLOG, 'utf8').split('\n').filter(Boolean);
  const root = scratchDir('ds');
  mkdirSync(join(root, 'atomic', 'windows', 'caseA'), { recursive: true });
  mkdirSync(join(root, 'atomic', 'windows', 'caseB'), { recursive: true });
  writeFileSync(join(root, 'atomic', 'windows', 'caseA', 'a.nxlog.jsonl'), lines.join('\n') + '\n');
  writeFileSync(join(root, 'atomic', 'windows', 'caseB', 'b.nxlog.jsonl'), lines.map((l) => l.replace('"Hostname":"WORKSTATION6.theshire.local"', '"Hostname":"WORKSTATION6"')).join('\n') + '\n');
  const s = await scan([root], { threads: 1 });
  assert.deepEqual(s.hosts, ['WORKSTATION6', 'WORKSTATION6.theshire.local']);
  assert.equal(s.hostAliases, undefined);
});

test('the same log given twice (its folder and the file) is read once', async () => {
  const dir = scratchDir('twice');
  const f = join(dir, 'Microsoft-Windows-Sysmon%4Operational.evtx');
  writeFileSync(f, readFileSync(SYSMON));
  const s = await scan([dir, f, f], { threads: 1 });
  assert.equal(s.evidence.length, 1);
  assert.equal(s.evidence[0]!.records, 17);
  const c = await coverage([dir, f], { threads: 1 });
  assert.equal(c.hosts[0]!.logs[0]!.records, 17);
});

test('real renames whose clock went back are linked (ids continue); a renamed log with a damaged chunk invents no host', { skip: skipReason }, async () => {
  const bools = await scan([evtxSample('evtx/sample-with-irregular-bool-values.evtx')], { threads: 1 });
  assert.deepEqual(bools.hosts, ['DESKTOP-0QT8017']);
  assert.match(bools.hostAliases?.[0]?.aliases[0]?.why ?? '', /^one log renamed its computer \(.*record #9 names WIN-LL0C19JS506, the next record #10 names DESKTOP-0QT8017\)$/);
  // security.evtx: 37L4247F27-25 renamed WIN-03DLIIOFRRA; chunk 5's signature broken, so its records are carved
  const sec = Buffer.from(readFileSync(evtxSample('evtx/security.evtx')));
  sec.write('XXXXXXXX', 4096 + 5 * 65536, 'latin1');
  const dir = scratchDir('gap');
  const f = join(dir, 'Security.evtx');
  writeFileSync(f, sec);
  const s = await scan([f], { threads: 1 });
  assert.deepEqual(s.hosts, ['WIN-03DLIIOFRRA']);
  assert.ok(!s.notes.some((n) => n.code === 'host-unknown'), JSON.stringify(s.notes));
});
