/**
 * `wmiscope coverage` and the coverage facts `scan` uses for "missed by": sources present per host, record spans,
 * roll-over, repository spans, blind spots. Fixtures in test/fixtures/evtx always; the shared samples when present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coverage, scan } from '../src/scan.js';
import { crc32 } from '../src/evtx/bytes.js';
import type { HostCoverage } from '../src/model/types.js';
import { evtxSample, repoRoot, samplesDir, skipReason } from './support/samples.js';
import { standardFixtures } from './support/cim-builder.js';
import { scratchDir } from './support/tmp.js';

const cli = join(repoRoot(), 'dist/src/cli/main.js');
const fixture = (name: string): string => join(repoRoot(), 'test/fixtures/evtx', name);
const SYSMON = fixture('sysmon_20_21_1_CommandLineEventConsumer.evtx');
const WIN10 = join(samplesDir(), 'cim/dissect-cim-win10');

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const host = (hs: HostCoverage[], name: string): HostCoverage => {
  const h = hs.find((x) => x.host.toLowerCase() === name.toLowerCase());
  assert.ok(h, `host ${name} in ${hs.map((x) => x.host).join(', ')}`);
  return h;
};

test('coverage of the bundled Sysmon log: 19/20/21 present, span from its records, never "complete since #1" (a renumbered excerpt), blind spots in words', async () => {
  const r = await coverage([SYSMON], { threads: 1 });
  assert.equal(r.hosts.length, 1);
  const h = r.hosts[0]!;
  assert.equal(h.host, 'IEWIN7');
  assert.deepEqual(h.sysmon, { present: true, wmiEventIds: [19, 20, 21] });
  assert.deepEqual(h.processCreation, { security4688: false, sysmon1: true });
  assert.equal(h.logs.length, 1);
  const l = h.logs[0]!;
  assert.equal(l.source, 'sysmon');
  assert.equal(l.channel, 'Microsoft-Windows-Sysmon/Operational');
  assert.equal(l.format, 'evtx');
  assert.equal(l.first, '2019-05-11T17:57:49.9031596Z');
  assert.equal(l.last, '2019-05-11T17:58:55.1531596Z');
  // record headers 1..17, EventRecordIDs 16108..16124: an exported excerpt, never "complete since #1" (the old
  // "holds the log from its first record (#1)" was false)
  assert.deepEqual([l.oldestRecordId, l.newestRecordId, l.completeness], [16108, 16124, 'excerpt']);
  assert.equal(l.completenessWhy, 'excerpt or filtered export (record headers renumbered while EventRecordIDs run #16108–#16124)');
  assert.equal(h.blindSpots.length, 5);
  assert.match(h.blindSpots[0]!, /^Sysmon sees only root\\subscription and only CommandLine and ActiveScript consumers/);
  assert.equal(h.blindSpots[1], 'The Sysmon log spanning 2019-05-11T17:57:49.9031596Z – 2019-05-11T17:58:55.1531596Z is an excerpt or filtered export (record headers renumbered while EventRecordIDs run #16108–#16124): a record missing from it proves nothing.');
  assert.match(h.blindSpots[2]!, /^No WMI-Activity\/Operational log: no 5861/);
  assert.match(h.blindSpots[3]!, /^No PowerShell log: subscriptions made from PowerShell/);
  assert.match(h.blindSpots[4]!, /^No WMI repository and no live listing/);
});

test('roll-over: a native log starting after record #1 rolled over (oldest #426); a header marked full says so', async () => {
  // Application_no_crc32.evtx: native records #426..#442 (record headers = EventRecordIDs)
  const app = (await coverage([fixture('Application_no_crc32.evtx')], { threads: 1 })).hosts[0]!;
  assert.deepEqual([app.logs[0]!.oldestRecordId, app.logs[0]!.newestRecordId, app.logs[0]!.records], [426, 442, 17]);
  assert.equal(app.logs[0]!.completeness, 'rolled-over');
  assert.equal(app.logs[0]!.completenessWhy, 'rolled over (oldest #426): records before it are gone, the log wrapped or was cleared');
  // the same file with the file header's "full" flag (0x2) set and the header CRC32 recomputed
  const dir = scratchDir('cov');
  const full = join(dir, 'Application-full.evtx');
  const b = Buffer.from(readFileSync(fixture('Application_no_crc32.evtx')));
  b.writeUInt32LE(b.readUInt32LE(120) | 2, 120);
  b.writeUInt32LE(crc32(b, 0, 120) >>> 0, 124);
  writeFileSync(full, b);
  const h = (await coverage([full], { threads: 1 })).hosts[0]!;
  assert.equal(h.logs[0]!.completeness, 'rolled-over');
  assert.match(h.logs[0]!.completenessWhy, /^rolled over \(oldest #426\): the EVTX file header marks the log full/);
});

test('coverage on the samples: per-host sources, a Sysmon log without WMI events, WMI-Activity without 5861, exports', { skip: skipReason }, async () => {
  const r = await coverage([evtxSample('evtx/sysmon.evtx'), evtxSample('sigma'), evtxSample('hayabusa-sample-evtx')], { threads: 1 });
  // evtx/sysmon.evtx: Sysmon event 1 only, from record #1742
  const d = host(r.hosts, 'DESKTOP-2KGM189');
  assert.deepEqual(d.sysmon, { present: true, wmiEventIds: [] });
  assert.equal(d.logs[0]!.oldestRecordId, 1742);
  // 358 native records from #1742: rolled over (was "likely")
  assert.deepEqual([d.logs[0]!.records, d.logs[0]!.newestRecordId, d.logs[0]!.completeness], [358, 2099, 'rolled-over']);
  assert.ok(d.blindSpots.some((b) => b.startsWith('The Sysmon log holds no WMI events (19/20/21) in 2017-12-26T13:10:29.1368792Z – ') && b.includes('wmiscope sysmon audit')));
  assert.ok(d.blindSpots.some((b) => b.startsWith('The Sysmon log covers only 2017-12-26T13:10:29.1368792Z')));
  // the Sigma test log: WMI-Activity 5858 only (no 5861), as EVTX and as its JSON export
  const s = host(r.hosts, 'swachchhanda');
  assert.deepEqual(s.wmiActivity, { present: true, ids: [5858] });
  assert.ok(s.blindSpots.some((b) => b.startsWith('The WMI-Activity log holds no 5861 in 2026-07-02T02:05:27')));
  assert.equal(s.exports.length, 1);
  const exp = s.logs.find((l) => l.format === 'export')!;
  assert.equal(exp.oldestRecordId, 5314);
  // an export whose ids start after #1 without a gap: rolled over or cut by the export cannot be told
  assert.equal(exp.completeness, 'unknown');
  // PowerLurk host: Sysmon 19/20 and PowerShell 800/4103/4104 from the Hayabusa samples
  const f = host(r.hosts, 'fs01.offsec.lan');
  assert.deepEqual(f.sysmon.wmiEventIds, [19, 20]);
  assert.equal(f.powershell.present, true);
  assert.deepEqual(f.powershell.ids, [800, 4103, 4104]);
  assert.ok(!f.blindSpots.some((b) => b.startsWith('No PowerShell log')));
});

test('repository span and "missed by": a subscription older than the WMI-Activity log is said to predate it', { skip: skipReason }, async () => {
  const dir = scratchDir('cov');
  const wa = join(dir, 'WMI-Activity.evtx');
  copyFileSync(evtxSample('sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx'), wa);
  const r = await scan([wa, WIN10], { host: 'H1', threads: 1 });
  const c = host(r.coverage ?? [], 'H1');
  assert.equal(c.repositories.length, 1);
  assert.equal(c.repositories[0]!.objectsFirst, '2021-06-05T12:14:02.9528062Z');
  assert.match(c.repositories[0]!.filesModifiedLast ?? '', /^\d{4}-\d\d-\d\dT/);
  assert.ok(c.blindSpots.includes('No Sysmon log: no record (19/20/21) of subscriptions being created, modified or deleted in root\\subscription.'));
  // the SCM subscription dates from 2021 in the repository; the WMI-Activity log begins in 2026
  const scm = r.findings.find((x) => x.consumer?.name === 'SCM Event Log Consumer')!;
  const wmiAct = scm.coverage.find((e) => e.source === 'WMI-Activity (5857-5861)')!;
  assert.equal(wmiAct.saw, false);
  assert.equal(wmiAct.reason, 'it dates from 2021-06-05T12:14:02.9528062Z; it predates the log (oldest record 2026-07-02T02:05:27.4385576Z)');
  // the repository is in root\\subscription with an NTEventLog consumer: Sysmon could never have logged it
  assert.equal(scm.coverage.find((e) => e.source === 'Sysmon (19/20/21)')!.reason, 'no Sysmon log supplied; Sysmon would not log this anyway: it logs only CommandLine and ActiveScript consumers; this is NTEventLogEventConsumer');
  // the JSON report carries the same coverage (schema-valid: checked in report tests)
  assert.deepEqual(r.coverage!.map((x) => x.host), ['H1']);
});

test('CLI: wmiscope coverage prints per host (text), JSON with -f json, exit 2 without evidence', () => {
  const t = run('coverage', '-f', 'text', '--width', '1000', SYSMON);
  assert.equal(t.code, 0);
  // not a terminal: 100 columns, long lines wrapped under their indentation
  const narrow = run('coverage', '-f', 'text', SYSMON).out.split('\n');
  assert.ok(narrow.every((l) => [...l].length <= 100), narrow.join('\n'));
  assert.ok(narrow.includes('      (record headers renumbered while EventRecordIDs run #16108–#16124)'), narrow.join('\n'));
  assert.match(t.out, /^Host IEWIN7\n {2}Sysmon log: {12}yes, WMI events 19, 20, 21\n/);
  assert.match(t.out, /Microsoft-Windows-Sysmon\/Operational \(evtx, 17 records #16108–#16124\) 2019-05-11T17:57:49\.9031596Z – 2019-05-11T17:58:55\.1531596Z; excerpt or filtered export/);
  assert.match(t.out, / {2}Blind spots:\n {4}- Sysmon sees only root\\subscription/);
  const j = run('coverage', '-f', 'json', SYSMON);
  assert.equal(j.code, 0);
  const parsed = JSON.parse(j.out) as { hosts: HostCoverage[] };
  assert.equal(parsed.hosts[0]!.host, 'IEWIN7');
  const dir = scratchDir('cov');
  writeFileSync(join(dir, 'notes.txt'), 'not evidence');
  assert.equal(run('coverage', '-q', dir).code, 2);
});

test('review cases: --host merges one file\'s logs per channel; a partial export does not make a complete log "rolled over"; non-ISO times are not spans', { skip: skipReason }, async () => {
  // the bench file holds many hosts' Sysmon records; forced onto one host it is one Sysmon row for the file
  const r = await coverage([evtxSample('bench/mixed-480chunks.evtx')], { host: 'X', threads: 1 });
  const h = host(r.hosts, 'X');
  assert.equal(h.logs.filter((l) => l.source === 'sysmon').length, 1);
  // one Sysmon EVTX from record #1 plus an nxlog export of part of it: the source did not lose records
  const both = await scan([SYSMON, join(repoRoot(), 'test/fixtures/exports/sysmon-bot.nxlog.jsonl'), join(repoRoot(), 'test/fixtures/collector/iewin7-botfilter-nested.json')], { threads: 1 });
  const reasons = both.findings.flatMap((f) => f.coverage.map((c) => c.reason ?? ''));
  assert.ok(!reasons.some((x) => /rolled over/.test(x)), reasons.join('\n'));
  const c = host(both.coverage ?? [], 'IEWIN7');
  assert.ok(!c.blindSpots.some((b) => /covers only/.test(b)));
  // an export line with a time that is not a time: counted, but it bounds nothing
  const dir = scratchDir('cov');
  const line = readFileSync(join(repoRoot(), 'test/fixtures/exports/sysmon-bot.nxlog.jsonl'), 'utf8').split('\n')[0]!;
  const o = JSON.parse(line) as Record<string, unknown>;
  for (const k of Object.keys(o)) if (/time/i.test(k) && typeof o[k] === 'string') o[k] = 'garbage';
  writeFileSync(join(dir, 'bad.nxlog.jsonl'), JSON.stringify(o) + '\n');
  const g = await coverage([join(dir, 'bad.nxlog.jsonl')], { threads: 1 });
  for (const l of g.hosts.flatMap((x) => x.logs)) {
    assert.ok(l.first === null || /^\d{4}-\d\d-\d\dT/.test(l.first));
    assert.ok(l.last === null || /^\d{4}-\d\d-\d\dT/.test(l.last));
  }
});

test('missed by, end to end: a repository with the real Sysmon log beside it; blind by design with and without the log, the log ends before it, orphan only from the repository', async () => {
  const root = scratchDir('cov');
  try {
    const sys32 = join(root, 'HOSTB', 'C', 'Windows', 'System32');
    mkdirSync(join(sys32, 'wbem', 'Repository'), { recursive: true });
    standardFixtures(join(sys32, 'wbem', 'Repository'));
    const alone = await scan([root], { threads: 1 });
    mkdirSync(join(sys32, 'winevt', 'Logs'), { recursive: true });
    copyFileSync(SYSMON, join(sys32, 'winevt', 'Logs', 'Microsoft-Windows-Sysmon%4Operational.evtx'));
    const withLog = await scan([root], { threads: 1 });
    const reason = (r: Awaited<ReturnType<typeof scan>>, consumer: string, source: string): string | null => {
      const f = r.findings.find((x) => x.consumer?.name === consumer);
      assert.ok(f, consumer);
      const e = f.coverage.find((c) => c.source === source);
      assert.ok(e, `${source} for ${consumer}: ${f.coverage.map((c) => c.source).join(', ')}`);
      return e.reason;
    };
    // custom namespace: said whether or not the Sysmon log was supplied
    assert.equal(reason(alone, 'LegitScript', 'Sysmon (19/20/21)'), 'no Sysmon log supplied; Sysmon would not log this anyway: it watches only root\\subscription; this is ROOT\\totallylegit');
    assert.equal(reason(withLog, 'LegitScript', 'Sysmon (19/20/21)'), 'Sysmon would not log this: it watches only root\\subscription; this is ROOT\\totallylegit');
    assert.match(reason(alone, 'LegitScript', 'Autoruns (WMI entries)')!, /^no Autoruns output supplied; Autoruns would not list this anyway: it queries only root\\subscription and root\\default/);
    // custom consumer class in root\\subscription
    assert.equal(reason(withLog, 'Updater', 'Sysmon (19/20/21)'), 'Sysmon would not log this: it logs only CommandLine and ActiveScript consumers; this is TotallyLegitConsumer');
    // carved residue written in 2021, the Sysmon log ends in 2019: the log ends before it (never "although covered")
    assert.match(reason(withLog, 'DeletedConsumer', 'Sysmon (19/20/21)')!, /^it dates from 2021-06-05T12:14:0\d\.\d+Z; the log ends before it \(last record 2019-05-11T17:58:55\.1531596Z\)$/);
    // the repository shows the consumer without a binding: orphan, and WMI-Activity (bindings only) could never log it
    const orphan = withLog.findings.find((x) => x.consumer?.name === 'OrphanLogger')!;
    assert.equal(orphan.status, 'orphan');
    assert.match(reason(withLog, 'OrphanLogger', 'WMI-Activity (5857-5861)')!, /WMI-Activity would not log this anyway: it logs only bound subscriptions; this has no binding$/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an empty log in a host collection (issue case 6): "present, 0 records", and no "No PowerShell log"; the scan\'s missed-by says so too', async () => {
  const root = scratchDir('cov');
  try {
    const logs = join(root, 'IEWIN7', 'C', 'Windows', 'System32', 'winevt', 'Logs');
    mkdirSync(logs, { recursive: true });
    copyFileSync(SYSMON, join(logs, 'Microsoft-Windows-Sysmon%4Operational.evtx'));
    // the Sysmon fixture's own file header with no chunk: a log that was collected and holds no record
    const b = Buffer.from(readFileSync(SYSMON).subarray(0, 4096));
    b.writeBigUInt64LE(0n, 8);
    b.writeBigUInt64LE(0n, 16);
    b.writeBigUInt64LE(1n, 24);
    b.writeUInt16LE(0, 42);
    b.writeUInt32LE(0, 120);
    b.writeUInt32LE(crc32(b, 0, 120) >>> 0, 124);
    writeFileSync(join(logs, 'Windows PowerShell.evtx'), b);
    const r = await scan([root], { threads: 1 });
    const h = host(r.coverage ?? [], 'IEWIN7');
    const ps = h.logs.find((l) => l.source === 'powershell')!;
    assert.deepEqual([ps.channel, ps.channelFrom, ps.records, ps.completenessWhy], ['Windows PowerShell', 'file-name', 0, 'present, 0 records']);
    assert.equal(h.powershell.present, true);
    assert.ok(!h.blindSpots.some((x) => x.startsWith('No PowerShell log')), h.blindSpots.join('\n'));
    assert.ok(h.blindSpots.includes('The PowerShell log was collected but holds no records (present, 0 records): it shows nothing.'));
    const bot = r.findings.find((f) => f.consumer?.name === 'BotConsumer23')!;
    assert.equal(bot.coverage.find((c) => c.source === 'PowerShell (800/4103/4104)')!.reason, 'the PowerShell log supplied holds no records (present, 0 records)');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
