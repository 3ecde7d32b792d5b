/**
 * One time format everywhere (issue 14): ISO-8601 UTC with exactly seven fractional digits and `Z`, whatever
 * precision the evidence gave (Sysmon `UtcTime` 3 digits, EVTX `SystemTime` 7, `evtxexport` and string SystemTimes
 * 9), in every report; and a finding's observations in time order, undated last.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { canonicalTime, compareTimes, isCanonicalTime, timeFromMs } from '../src/model/time.js';
import { formatReport, parseTimeBound, REPORT_FORMATS } from '../src/report/index.js';
import type { ScanResult } from '../src/model/types.js';
import { evtxSample, repoRoot, samplesDir, skipReason } from './support/samples.js';

const FIX = join(repoRoot(), 'test/fixtures');
const SYSMON_EVTX = join(FIX, 'evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const EVTXEXPORT_XML = join(FIX, 'exports/sysmon-bot.evtxexport.xml');
const ECS = join(FIX, 'exports/sysmon-bot.ecs.ndjson');
const AUTORUNS = join(FIX, 'autoruns/IEWIN7.autorunsc.csv');
const POWERLURK = evtxSample('hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx');
const WIN10_REPO = join(samplesDir(), 'cim/dissect-cim-win10');

/** Every ISO-8601 UTC time written in a report's text, with the number of fractional digits it has. */
function timesIn(text: string): { time: string; digits: number }[] {
  return [...text.matchAll(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?Z/g)].map((m) => ({ time: m[0], digits: m[1]?.length ?? 0 }));
}

/** Every report format writes every time with seven fractional digits (and writes at least one). */
function assertSevenEverywhere(r: ScanResult): void {
  for (const format of REPORT_FORMATS) {
    const times = timesIn(formatReport(r, format, { width: 200 }));
    if (format !== 'timeline' || r.findings.some((f) => f.observations.some((o) => o.time))) assert.ok(times.length > 0, `${format}: no time written`);
    const bad = times.filter((t) => t.digits !== 7);
    assert.deepEqual(bad, [], `${format}: times not in the one form`);
  }
  assert.ok(isCanonicalTime(r.scannedAt), r.scannedAt);
}

test('canonicalTime: padded, cut (never rounded), zones to UTC, texts that are no time kept as given', () => {
  // Sysmon UtcTime (milliseconds, no zone, a space) and Date#toISOString (milliseconds)
  assert.equal(canonicalTime('2019-05-11 17:58:39.746'), '2019-05-11T17:58:39.7460000Z');
  assert.equal(canonicalTime('2019-05-11T17:58:39.746Z'), '2019-05-11T17:58:39.7460000Z');
  // EVTX SystemTime: unchanged (the same string)
  const evtx = '2019-05-11T17:57:49.9031596Z';
  assert.equal(canonicalTime(evtx), evtx);
  // evtxexport / WEC nanoseconds: cut, not rounded (…9999999 stays in its second)
  assert.equal(canonicalTime('2019-05-11T17:57:49.903159600Z'), '2019-05-11T17:57:49.9031596Z');
  assert.equal(canonicalTime('2019-12-31T23:59:59.999999999Z'), '2019-12-31T23:59:59.9999999Z');
  // no fraction, zones, ` UTC`
  assert.equal(canonicalTime('2026-07-02T02:05:27Z'), '2026-07-02T02:05:27.0000000Z');
  assert.equal(canonicalTime('2026-07-02 02:05:27 UTC'), '2026-07-02T02:05:27.0000000Z');
  assert.equal(canonicalTime('2026-07-02T04:05:27.1234567+02:00'), '2026-07-02T02:05:27.1234567Z');
  assert.equal(canonicalTime('2026-01-01T00:30:00.5-0100'), '2026-01-01T01:30:00.5000000Z');
  assert.equal(canonicalTime('2026-01-01T00:30:00+05:30'), '2025-12-31T19:00:00.0000000Z');
  assert.equal(canonicalTime('2019-12-05 04:47:34 -0500'), '2019-12-05T09:47:34.0000000Z');
  // nothing, or no time: as given (trimmed), so what the evidence said is not lost
  assert.equal(canonicalTime(null), null);
  assert.equal(canonicalTime(undefined), null);
  assert.equal(canonicalTime('  '), null);
  assert.equal(canonicalTime('not a time'), 'not a time');
  assert.equal(canonicalTime(' 2019-13-45 99:99:99 '), '2019-13-45 99:99:99');
  assert.equal(canonicalTime('x'.repeat(10_000)), 'x'.repeat(10_000));
  // shaped like a time but no real instant: as given, and not taken for a canonical time
  for (const bad of ['2019-02-29T00:00:00Z', '2019-04-31 10:00:00', '2019-05-11T24:00:00Z', '2019-05-11T23:60:00+01:00', '2019-13-45T99:99:99.0000000Z']) {
    assert.equal(canonicalTime(bad), bad);
    assert.equal(isCanonicalTime(canonicalTime(bad)), false, bad);
  }
  assert.equal(canonicalTime('2020-02-29T12:00:00Z'), '2020-02-29T12:00:00.0000000Z');
  assert.equal(canonicalTime('2000-02-29 00:00:00'), '2000-02-29T00:00:00.0000000Z');
  // a FILETIME read from a damaged repository record (cim/records.ts filetimeToIso writes `invalid…`) stays as given
  assert.equal(canonicalTime('invalid.0000000Z'), 'invalid.0000000Z');
  assert.equal(canonicalTime('5/11/2019 5:58:23 PM'), '5/11/2019 5:58:23 PM'); // no zone, and not ISO: not guessed
  assert.equal(canonicalTime('Sat, 11 May 2019 17:58:23 GMT'), '2019-05-11T17:58:23.0000000Z');
  assert.equal(canonicalTime('2019-05-11T17:58Z'), '2019-05-11T17:58:00.0000000Z');
  assert.equal(timeFromMs(Date.UTC(2026, 10, 1, 8, 0, 0, 123)), '2026-11-01T08:00:00.1230000Z');
  assert.equal(timeFromMs(Number.NaN), null);
  assert.equal(parseTimeBound('2026-11-01', new Date(0), true), '2026-11-01T23:59:59.9999999Z');
  assert.equal(parseTimeBound('30d', new Date(Date.UTC(2026, 10, 1)), false), '2026-10-02T00:00:00.0000000Z');
});

test('compareTimes: earliest first, texts that are no time after, undated last; a stable sort keeps ties in place', () => {
  const items = [
    { id: 'a', time: null },
    { id: 'b', time: '2019-05-11T17:58:55.0900000Z' },
    { id: 'c', time: 'garbled' },
    { id: 'd', time: '2019-05-11T17:58:23.3400000Z' },
    { id: 'e', time: null },
    { id: 'f', time: '2019-05-11T17:58:23.3400000Z' },
  ];
  assert.deepEqual(items.sort((x, y) => compareTimes(x.time, y.time)).map((x) => x.id), ['d', 'f', 'b', 'c', 'a', 'e']);
});

test('Sysmon UtcTime (3 digits) and EVTX SystemTime (7) of a real log: seven digits in every report; observations in time order', async () => {
  const r = await scan([SYSMON_EVTX], { threads: 1 });
  const f = r.findings.find((x) => x.consumer?.name === 'BotConsumer23');
  assert.ok(f);
  // Sysmon 19 record 16115: UtcTime `2019-05-11 17:58:39.746`; Sysmon 1 record 16116: SystemTime `…17:58:50.0906596Z`
  const at = (rid: number): string | null | undefined => f.observations.find((o) => o.location.startsWith(`record ${rid} `))?.time;
  assert.equal(at(16115), '2019-05-11T17:58:39.7460000Z');
  assert.equal(at(16116), '2019-05-11T17:58:50.0906596Z');
  assert.equal(f.firstSeen, '2019-05-11T17:58:23.3400000Z');
  assert.equal(f.lastSeen, '2019-05-11T17:58:55.0900000Z');
  assert.deepEqual([r.evidence[0]!.first, r.evidence[0]!.last], ['2019-05-11T17:57:49.9031596Z', '2019-05-11T17:58:55.1531596Z']);
  // the process start (attached by its command line after the Sysmon WMI events) takes its place in time
  assert.deepEqual(
    f.observations.map((o) => o.location.split(' ')[1]),
    ['16111', '16112', '16115', '16116', '16120', '16121', '16123'],
  );
  assertSevenEverywhere(r);
});

test('evtxexport XML (9-digit SystemTime) and a Winlogbeat export (3-digit @timestamp) of the same log: the same seven-digit times', async () => {
  const xml = await scan([EVTXEXPORT_XML], { threads: 1 });
  // `<TimeCreated SystemTime="2019-05-11T17:57:49.903159600Z"/>`: cut to the FILETIME's 100 ns, as the EVTX itself says
  assert.deepEqual([xml.evidence[0]!.first, xml.evidence[0]!.last], ['2019-05-11T17:57:49.9031596Z', '2019-05-11T17:58:55.1531596Z']);
  const perChannel = xml.coverage!.flatMap((c) => c.logs);
  assert.ok(perChannel.length > 0);
  for (const l of perChannel) assert.ok(isCanonicalTime(l.first) && isCanonicalTime(l.last), `${l.first} ${l.last}`);
  assertSevenEverywhere(xml);
  const ecs = await scan([ECS], { threads: 1 });
  assert.ok(ecs.evidence[0]!.first && isCanonicalTime(ecs.evidence[0]!.first), String(ecs.evidence[0]!.first));
  assertSevenEverywhere(ecs);
  // the subscription's own times (Sysmon UtcTime) agree across the three forms of the same log
  const firstSeen = (r: ScanResult): (string | null)[] => r.findings.map((f) => f.firstSeen);
  const evtx = await scan([SYSMON_EVTX], { threads: 1 });
  assert.deepEqual(firstSeen(xml), firstSeen(evtx));
  assert.deepEqual(firstSeen(ecs), firstSeen(evtx));
});

test('undated observations (an autorunsc row) come after the dated ones of the same finding', async () => {
  // the Autoruns file is given first, so its row is read first: the order is the finding's, not the input's
  const r = await scan([AUTORUNS, SYSMON_EVTX], { threads: 1, host: 'IEWIN7' });
  const f = r.findings.find((x) => x.consumer?.name === 'BotConsumer23');
  assert.ok(f);
  const sources = f.observations.map((o) => o.source);
  assert.equal(sources[sources.length - 1], 'autoruns');
  assert.equal(f.observations[f.observations.length - 1]!.time, null);
  const dated = f.observations.filter((o) => o.time !== null).map((o) => o.time!);
  assert.deepEqual(dated, [...dated].sort());
  assert.ok(dated.length >= 7);
});

test('a string SystemTime with 9 digits inside an EVTX (PowerLurk) and a repository (FILETIMEs, file times): seven digits', { skip: skipReason }, async () => {
  const lurk = await scan([POWERLURK], { threads: 1 });
  const times = lurk.findings.flatMap((f) => f.observations.map((o) => o.time)).filter((t) => t !== null);
  assert.ok(times.length > 0);
  for (const t of times) assert.ok(isCanonicalTime(t), String(t));
  assertSevenEverywhere(lurk);
  const repo = await scan([WIN10_REPO], { threads: 1 });
  const rc = repo.coverage!.flatMap((c) => c.repositories);
  assert.ok(rc.length > 0);
  for (const x of rc) for (const t of [x.objectsFirst, x.objectsLast, x.filesModifiedFirst, x.filesModifiedLast]) assert.ok(t === null || isCanonicalTime(t), String(t));
  assertSevenEverywhere(repo);
});
