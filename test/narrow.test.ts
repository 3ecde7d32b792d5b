/**
 * Narrowing a report without re-running the scan: `parseTimeBound` (ISO-8601 and relative times, a date alone as a
 * whole day, zones, bad values), `narrowFindings` (a time window keeps undated findings and names them, host globs
 * match a host's other names, what was hidden is counted), and `scan --since/--until/--only-host` end to end on a
 * real Sysmon sample (dated) beside the committed autorunsc fixture (undated).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding, Observation, ScanResult, Severity } from '../src/model/types.js';
import { hostMatcher, narrowFindings, parseTimeBound } from '../src/report/select.js';
import { formatReport } from '../src/report/index.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';

const NOW = new Date('2026-12-07T12:00:00Z');

test('parseTimeBound: relative times count back from now', () => {
  assert.equal(parseTimeBound('30d', NOW), '2026-11-07T12:00:00.0000000Z');
  assert.equal(parseTimeBound('12h', NOW), '2026-12-07T00:00:00.0000000Z');
  assert.equal(parseTimeBound('90m', NOW), '2026-12-07T10:30:00.0000000Z');
  assert.equal(parseTimeBound('45s', NOW), '2026-12-07T11:59:15.0000000Z');
  assert.equal(parseTimeBound('2w', NOW), '2026-11-23T12:00:00.0000000Z');
  assert.equal(parseTimeBound(' 7D ', NOW), '2026-11-30T12:00:00.0000000Z', 'case and spaces do not matter');
  // a relative time is an instant: `end` does not stretch it
  assert.equal(parseTimeBound('1d', NOW, true), '2026-12-06T12:00:00.0000000Z');
});

test('parseTimeBound: a date alone is its first instant, or as an end its last (the whole day)', () => {
  assert.equal(parseTimeBound('2026-11-01', NOW), '2026-11-01T00:00:00.0000000Z');
  assert.equal(parseTimeBound('2026-11-01', NOW, true), '2026-11-01T23:59:59.9999999Z');
  assert.equal(parseTimeBound('2024-02-29', NOW, true), '2024-02-29T23:59:59.9999999Z', 'a leap day exists');
  // a time of day is exact, also as an end
  assert.equal(parseTimeBound('2026-11-01T08:00', NOW, true), '2026-11-01T08:00:00.0000000Z');
});

test('parseTimeBound: zones are honoured, no zone is UTC, more than milliseconds is cut', () => {
  assert.equal(parseTimeBound('2026-11-01T08:00:00Z', NOW), '2026-11-01T08:00:00.0000000Z');
  assert.equal(parseTimeBound('2026-11-01T08:00:00', NOW), '2026-11-01T08:00:00.0000000Z');
  assert.equal(parseTimeBound('2026-11-01T08:00+02:00', NOW), '2026-11-01T06:00:00.0000000Z');
  assert.equal(parseTimeBound('2026-11-01T08:00-0530', NOW), '2026-11-01T13:30:00.0000000Z');
  assert.equal(parseTimeBound('2026-11-01 08:00:00.1234567Z', NOW), '2026-11-01T08:00:00.1230000Z', 'a space for T, 7 digits cut to 3');
});

test('parseTimeBound: what is not a time is a RangeError naming it (the CLI turns it into a usage error)', () => {
  for (const bad of ['', 'yesterday', '30x', '-5d', 'd', '2026-13-01', '2026-02-30', '2025-02-29', '2026-11-01T25:00', '11/01/2026', '2026-11-01T08:00 UTC']) {
    assert.throws(() => parseTimeBound(bad, NOW), (e: unknown) => e instanceof RangeError && e.message.includes(`"${bad}"`), bad);
  }
});

// ------------------------------------------------------------------------------------------ narrowFindings

function finding(id: string, host: string, severity: Severity, times: Array<string | null>): Finding {
  const observations = times.map(
    (time): Observation => ({ host, source: 'sysmon', action: 'created', part: 'consumer', namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: id, time, user: null, file: 'x.evtx', location: 'record 1', properties: {}, meta: {} }),
  );
  const dated = times.filter((t): t is string => t !== null).sort();
  return {
    id, host, namespace: 'ROOT\\subscription', status: 'active', severity, score: 0, filter: null, consumer: null, binding: null, summary: id, reasons: [], decoded: [],
    observations, firstSeen: dated[0] ?? null, lastSeen: dated.at(-1) ?? null, who: [], allowlisted: null, coverage: [],
  };
}

function result(findings: Finding[]): ScanResult {
  return {
    tool: { name: 'wmiscope', version: 'test' },
    scannedAt: '2026-12-07T12:00:00.0000000Z',
    hosts: [...new Set(findings.map((f) => f.host))],
    hostAliases: [{ host: 'FILESERVER', aliases: [{ name: 'fs01.offsec.lan', why: 'test' }] }],
    evidence: [],
    notes: [],
    findings,
  };
}

const R = result([
  finding('old', 'WKS-01', 'high', ['2021-06-09T19:29:58.2240000Z']),
  finding('spans', 'WKS-02', 'critical', ['2021-01-01T00:00:00.0000000Z', '2026-11-15T08:00:00.0000000Z']),
  finding('late', 'fileserver', 'medium', ['2026-11-30T23:59:59.9990000Z']),
  finding('undated', 'WKS-01', 'low', [null, null]),
]);

test('narrowFindings: a time window keeps findings with any activity in it and every undated one, and names the undated', () => {
  const s = narrowFindings(R, { since: '2026-11-01T00:00:00.000Z', until: '2026-11-30T23:59:59.999Z' });
  assert.deepEqual(s.findings.map((f) => f.id), ['spans', 'late', 'undated'], 'ranked by severity');
  assert.equal(s.narrowed, true);
  assert.deepEqual(s.hidden, {
    narrowedBy: { since: '2026-11-01T00:00:00.000Z', until: '2026-11-30T23:59:59.999Z' },
    total: 1, bySeverity: { critical: 0, high: 1, medium: 0, low: 0, info: 0 }, otherHosts: 0, outsideWindow: 1, belowMinSeverity: 0, undated: ['undated'],
  });
  // the bounds are inclusive: a window of one instant keeps the finding at it
  assert.deepEqual(narrowFindings(R, { since: '2021-06-09T19:29:58.224Z', until: '2021-06-09T19:29:58.224Z' }).findings.map((f) => f.id), ['old', 'undated']);
  // an undated finding hidden by another rule is not listed as kept-undated
  assert.deepEqual(narrowFindings(R, { since: '2026-11-01T00:00:00.000Z', minSeverity: 'medium' }).hidden.undated, []);
});

test('narrowFindings: --until with a date alone keeps the last 100 ns tick of that day and nothing of the next', () => {
  const day = { since: parseTimeBound('2026-11-30', NOW), until: parseTimeBound('2026-11-30', NOW, true) };
  const edge = result([finding('last-tick', 'WKS-01', 'high', ['2026-11-30T23:59:59.9999999Z']), finding('next-day', 'WKS-01', 'high', ['2026-12-01T00:00:00.0000000Z'])]);
  assert.deepEqual(narrowFindings(edge, day).findings.map((f) => f.id), ['last-tick']);
});

test('narrowFindings: host globs are case-insensitive and match a host\'s other names; attribution is unchanged', () => {
  const s = narrowFindings(R, { onlyHost: ['FS01*'] });
  assert.deepEqual(s.findings.map((f) => [f.id, f.host]), [['late', 'fileserver']], 'fs01.offsec.lan is an alias of FILESERVER');
  assert.equal(s.hidden.otherHosts, 3);
  assert.deepEqual(s.hidden.bySeverity, { critical: 1, high: 1, medium: 0, low: 1, info: 0 });
  assert.deepEqual(narrowFindings(R, { onlyHost: ['wks-0?'] }).findings.map((f) => f.id), ['spans', 'old', 'undated']);
  assert.deepEqual(narrowFindings(R, { onlyHost: ['WKS-02', 'file*'] }).findings.map((f) => f.id), ['spans', 'late'], 'repeatable: any pattern');
  // a pattern is a glob, not a regular expression
  assert.deepEqual(narrowFindings(R, { onlyHost: ['WKS.01'] }).findings, []);
  assert.deepEqual(narrowFindings(R, { onlyHost: ['WKS-0[12]'] }).findings, []);
});

test('narrowFindings: each hidden finding is counted once, under the first rule that hid it; no narrowing says nothing', () => {
  const s = narrowFindings(R, { onlyHost: ['WKS-*'], since: '2026-01-01', minSeverity: 'critical' });
  assert.deepEqual([s.hidden.otherHosts, s.hidden.outsideWindow, s.hidden.belowMinSeverity, s.hidden.total], [1, 1, 1, 3]);
  assert.deepEqual(s.findings.map((f) => f.id), ['spans']);
  const none = narrowFindings(R, { minSeverity: 'info' });
  assert.equal(none.narrowed, false, 'info is the default: no narrowing');
  assert.equal(none.findings.length, 4);
  // JSON says what was hidden only when something narrowed the view
  assert.equal((JSON.parse(formatReport(R, 'json')) as ScanResult).hidden, undefined);
  assert.equal((JSON.parse(formatReport(R, 'json', { until: '2025-01-01T00:00:00.000Z' })) as ScanResult).hidden?.outsideWindow, 1);
});

// ------------------------------------------------------------------------------------------ the command line

const cli = join(repoRoot(), 'dist/src/cli/main.js');
const POWERLURK = evtxSample('hayabusa-sample-evtx/ID19-20-WMI registration via PowerLurk.evtx');
const AUTORUNS = join(repoRoot(), 'test/fixtures/autoruns/IEWIN7.autorunsc.csv');
const powerlurkSkip = skipReason || (existsSync(POWERLURK) ? false : `${POWERLURK} not found`);

function scanJson(...args: string[]): { code: number; json: ScanResult; err: string } {
  const r = spawnSync(process.execPath, [cli, 'scan', '-q', '-f', 'json', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, json: JSON.parse(r.stdout || '{}') as ScanResult, err: r.stderr };
}

test('scan --since/--until on a real Sysmon log: the window hides the dated finding and keeps the undated autoruns one', { skip: powerlurkSkip }, () => {
  const all = scanJson(POWERLURK, AUTORUNS);
  const hosts = all.json.findings.map((f) => [f.host, f.severity, f.firstSeen]);
  assert.deepEqual(hosts, [['fs01.offsec.lan', 'high', '2021-06-09T19:29:58.2240000Z'], ['unknown', 'medium', null]]);
  assert.equal(all.json.hidden, undefined);

  const late = scanJson('--since', '2022-01-01', POWERLURK, AUTORUNS);
  assert.deepEqual(late.json.findings.map((f) => f.host), ['unknown']);
  const undatedId = all.json.findings[1]!.id;
  assert.deepEqual(late.json.hidden, {
    narrowedBy: { since: '2022-01-01T00:00:00.0000000Z' },
    total: 1, bySeverity: { critical: 0, high: 1, medium: 0, low: 0, info: 0 }, otherHosts: 0, outsideWindow: 1, belowMinSeverity: 0, undated: [undatedId],
  });
  // a date alone as --until keeps that whole day: the finding at 19:29 on 2021-06-09 stays
  const day = scanJson('--since', '2021-06-09', '--until', '2021-06-09', POWERLURK, AUTORUNS);
  assert.equal(day.json.findings.length, 2);
  assert.deepEqual(day.json.hidden?.narrowedBy, { since: '2021-06-09T00:00:00.0000000Z', until: '2021-06-09T23:59:59.9999999Z' });
  const before = scanJson('--until', '2021-06-09T19:29:58+00:00', POWERLURK, AUTORUNS);
  assert.deepEqual(before.json.findings.map((f) => f.host), ['unknown'], 'the first observation is 0.224 s after the bound');
  // the other formats get the same narrowing: the CSV has one row
  const csv = spawnSync(process.execPath, [cli, 'scan', '-q', '-f', 'csv', '--since', '30d', POWERLURK, AUTORUNS], { encoding: 'utf8' });
  assert.equal(csv.stdout.trim().split('\r\n').length, 2, 'header and the undated finding');
  const timeline = (...a: string[]): string => spawnSync(process.execPath, [cli, 'scan', '-q', '-f', 'timeline', ...a, POWERLURK, AUTORUNS], { encoding: 'utf8' }).stdout;
  assert.ok(timeline().split('\n').filter(Boolean).length >= 3, 'the dated finding\'s observations');
  assert.equal(timeline('--since', '2022-01-01'), '', 'its finding hidden, the undated one has no timeline event');
});

test('scan --only-host matches a host alias; the finding keeps its canonical host', { skip: powerlurkSkip }, () => {
  const r = scanJson('--host-alias', 'fs01.offsec.lan=FILESERVER', '--only-host', 'FS01*', POWERLURK, AUTORUNS);
  assert.deepEqual(r.json.findings.map((f) => f.host), ['FILESERVER']);
  assert.deepEqual(r.json.hidden?.narrowedBy, { onlyHost: ['FS01*'] });
  assert.equal(r.json.hidden?.otherHosts, 1);
  assert.deepEqual(r.json.hosts, ['FILESERVER', 'unknown'], 'the scan still covers every host');
  const two = scanJson('--only-host', 'nomatch', '--only-host', 'UNKNOWN', POWERLURK, AUTORUNS);
  assert.deepEqual(two.json.findings.map((f) => f.host), ['unknown'], 'repeatable, case-insensitive');
  // a pattern that matches no host is said on stderr (a typo would look like a clean report), not with -q
  const loud = spawnSync(process.execPath, [cli, 'scan', '-f', 'json', '--only-host', 'fs02*', '--only-host', 'unknown', POWERLURK, AUTORUNS], { encoding: 'utf8' });
  assert.match(loud.stderr, /^wmiscope: --only-host fs02\* matches no host of the evidence \(fs01\.offsec\.lan, unknown\)$/m);
  assert.doesNotMatch(loud.stderr, /--only-host unknown/);
  assert.doesNotMatch(two.err, /matches no host/);
});

test('scan -f json --min-severity high on a real sample says what it hid', { skip: powerlurkSkip }, () => {
  const r = scanJson('--min-severity', 'high', POWERLURK, AUTORUNS);
  assert.deepEqual(r.json.findings.map((f) => f.severity), ['high']);
  assert.deepEqual(r.json.hidden, {
    narrowedBy: { minSeverity: 'high' },
    total: 1, bySeverity: { critical: 0, high: 0, medium: 1, low: 0, info: 0 }, otherHosts: 0, outsideWindow: 0, belowMinSeverity: 1, undated: [],
  });
});

test('scan: a bad --since/--until/--only-host is a usage error (exit 2) with one hint line, before anything is read', () => {
  for (const args of [['--since', 'yesterday'], ['--until', '2026-02-30'], ['--only-host', ' '], ['--since', '1d', '--until', '2d']]) {
    const r = spawnSync(process.execPath, [cli, 'scan', ...args, AUTORUNS], { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, /^error: /);
    assert.equal(lines[1], '(run wmiscope scan --help for usage)');
  }
});

test('hostMatcher: no pattern passes every host; globs match the host or any of its names', () => {
  const aliases = [{ host: 'FILESERVER', aliases: [{ name: 'fs01.offsec.lan', why: 'test' }] }];
  assert.equal(hostMatcher(undefined, aliases)('anything'), true);
  assert.equal(hostMatcher([], aliases)('anything'), true);
  const m = hostMatcher(['FS01.*'], aliases);
  assert.deepEqual(['FILESERVER', 'fileserver', 'fs01', 'FS01.offsec.lan', 'other'].map(m), [true, true, false, true, false]);
});

test('coverage --only-host shows the matching hosts (aliases included) and says how many it hid', { skip: powerlurkSkip }, () => {
  const r = spawnSync(process.execPath, [cli, 'coverage', '-f', 'json', '--host-alias', 'fs01.offsec.lan=FILESERVER', '--only-host', 'fs01*', POWERLURK, AUTORUNS], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { hosts: Array<{ host: string }>; hidden?: { onlyHost: string[]; hosts: number } };
  assert.deepEqual(j.hosts.map((h) => h.host), ['FILESERVER']);
  assert.deepEqual(j.hidden, { onlyHost: ['fs01*'], hosts: 1 });
  assert.match(r.stderr, /wmiscope: --only-host fs01\*: 1 of 2 host\(s\) shown, 1 hidden\n/);
  const all = spawnSync(process.execPath, [cli, 'coverage', '-f', 'json', POWERLURK, AUTORUNS], { encoding: 'utf8' });
  const every = JSON.parse(all.stdout) as { hosts: Array<{ host: string }>; hidden?: unknown };
  assert.equal(every.hosts.length, 2);
  assert.equal(every.hidden, undefined);
});
