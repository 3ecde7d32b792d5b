/**
 * Coverage claims from the facts the readers give: each log file's completeness (complete since #1, rolled over,
 * excerpt, unknown) from its EventRecordID range, gaps and header; "missed by" only where the evidence can show
 * absence (a complete or rolled-over log whose span holds the time); blindness by design from the source table
 * whether or not the source's evidence was supplied; orphan only from whole state; the stacking denominator.
 * The `ChannelSummary` values are those of real files (EventRecordIDs and TimeCreated read from their records).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSubscriptions, coverage } from '../src/analysis/graph.js';
import { blindSpots, canShowSubscriptions, completeness, hostCoverage, hostSources } from '../src/analysis/hostcoverage.js';
import { stack } from '../src/analysis/stack.js';
import { formatCoverageText } from '../src/report/coverage.js';
import { SOURCES, SOURCE_KINDS, blindByDesign, coverageLabel } from '../src/model/sources.js';
import type { ChannelSummary, CoverageEntry, Finding, LogSummary, Observation } from '../src/model/types.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';

/** EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx: 17 records, headers 1..17, EventRecordIDs 16108..16124. */
const ATTACK_SYSMON: ChannelSummary = { channel: SYSMON, records: 17, first: '2019-05-11T17:57:49.9031596Z', last: '2019-05-11T17:58:55.1531596Z', eventIds: [1, 19, 20, 21], oldestRecordId: 16108, newestRecordId: 16124, distinctRecordIds: 17, renumbered: true };
/** EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx: headers 1..4, EventRecordIDs 7194, 7195, 7197, 7203. */
const WMIGHOST: ChannelSummary = { channel: SYSMON, records: 4, first: '2019-04-03T18:11:54.0983520Z', last: '2019-04-03T18:12:00.0168624Z', eventIds: [20, 21], oldestRecordId: 7194, newestRecordId: 7203, distinctRecordIds: 4, renumbered: true };
/** evtx/sysmon.evtx: 358 native records (headers = EventRecordIDs) from #1742. */
const NATIVE_SYSMON: ChannelSummary = { channel: SYSMON, records: 358, first: '2017-12-26T13:10:29.1368792Z', last: '2018-03-06T08:15:39.5760456Z', eventIds: [1], oldestRecordId: 1742, newestRecordId: 2099, distinctRecordIds: 358, renumbered: false };
/** test/fixtures/evtx/Application_no_crc32.evtx: 17 native records #426..#442. */
const APPLICATION: ChannelSummary = { channel: 'Application', records: 17, first: '2021-03-31T23:51:45.0187674Z', last: '2021-03-31T23:54:34.7048841Z', eventIds: [], oldestRecordId: 426, newestRecordId: 442, distinctRecordIds: 17, renumbered: false };
/** sigma/d4f1a2b3-….json: the export of one WMI-Activity record, EventRecordID 5314. */
const SIGMA_EXPORT: ChannelSummary = { channel: 'Microsoft-Windows-WMI-Activity/Operational', records: 1, first: '2026-07-02T02:05:27.438557Z', last: '2026-07-02T02:05:27.438557Z', eventIds: [5858], oldestRecordId: 5314, newestRecordId: 5314, distinctRecordIds: 1 };

const log = (host: string, kind: LogSummary['kind'], c: ChannelSummary, full = false, file = `${host}-${c.channel}.evtx`): LogSummary => ({ host, channels: [c.channel], eventIds: c.eventIds, file, kind, full, perChannel: [c] });

test('completeness of real files: renumbered excerpt, excerpt with gaps, native rolled over, an export that cannot tell', () => {
  assert.deepEqual(completeness('evtx', false, ATTACK_SYSMON), { completeness: 'excerpt', completenessWhy: 'excerpt or filtered export (record headers renumbered while EventRecordIDs run #16108–#16124)' });
  assert.deepEqual(completeness('evtx', false, WMIGHOST), { completeness: 'excerpt', completenessWhy: 'excerpt or filtered export (record headers renumbered while EventRecordIDs run #7194–#7203; 6 of the ids #7194–#7203 missing)' });
  // the same gaps in an export (no record headers to compare) still make an excerpt
  assert.equal(completeness('export', undefined, { ...WMIGHOST, renumbered: undefined }).completeness, 'excerpt');
  assert.deepEqual(completeness('evtx', false, NATIVE_SYSMON), { completeness: 'rolled-over', completenessWhy: 'rolled over (oldest #1742): records before it are gone, the log wrapped or was cleared' });
  assert.equal(completeness('evtx', false, APPLICATION).completenessWhy.startsWith('rolled over (oldest #426)'), true);
  // the header's log-full flag
  assert.match(completeness('evtx', true, NATIVE_SYSMON).completenessWhy, /^rolled over \(oldest #1742\): the EVTX file header marks the log full/);
  assert.deepEqual(completeness('export', undefined, SIGMA_EXPORT).completeness, 'unknown');
  // a native log from #1 without a gap
  assert.deepEqual(completeness('evtx', false, { ...NATIVE_SYSMON, oldestRecordId: 1, newestRecordId: 358 }), { completeness: 'complete', completenessWhy: 'complete since #1' });
  assert.equal(completeness('export', undefined, { ...SIGMA_EXPORT, oldestRecordId: 1, newestRecordId: 1 }).completeness, 'complete');
  // ids not counted, fewer records than the range: ids are missing
  assert.equal(completeness('export', undefined, { ...NATIVE_SYSMON, renumbered: undefined, distinctRecordIds: null, records: 300 }).completeness, 'excerpt');
  // ids not counted in an export: cannot tell
  assert.equal(completeness('export', undefined, { ...NATIVE_SYSMON, renumbered: undefined, distinctRecordIds: null }).completeness, 'unknown');
  // no ids, no records
  assert.deepEqual(completeness('evtx', false, { ...NATIVE_SYSMON, oldestRecordId: null, newestRecordId: null }), { completeness: 'unknown', completenessWhy: 'no record ids to tell' });
  assert.deepEqual(completeness('evtx', false, { channel: 'Windows PowerShell', channelFrom: 'file-name', records: 0, first: null, last: null, eventIds: [], oldestRecordId: null, newestRecordId: null }), { completeness: 'unknown', completenessWhy: 'present, 0 records' });
});

test('host coverage: the renumbered excerpt is not "from its first record"; an empty PowerShell log is present, not missing', () => {
  const empty: ChannelSummary = { channel: 'Windows PowerShell', channelFrom: 'file-name', records: 0, first: null, last: null, eventIds: [], oldestRecordId: null, newestRecordId: null };
  const [h] = hostCoverage(['IEWIN7'], [], [log('IEWIN7', 'evtx', ATTACK_SYSMON), log('IEWIN7', 'evtx', empty)], []);
  const s = h!.logs.find((l) => l.source === 'sysmon')!;
  assert.deepEqual([s.oldestRecordId, s.newestRecordId, s.completeness], [16108, 16124, 'excerpt']);
  const ps = h!.logs.find((l) => l.source === 'powershell')!;
  assert.deepEqual([ps.records, ps.channelFrom, ps.completenessWhy], [0, 'file-name', 'present, 0 records']);
  assert.equal(h!.powershell.present, true);
  assert.ok(!h!.blindSpots.some((b) => b.startsWith('No PowerShell log')), h!.blindSpots.join('\n'));
  assert.ok(h!.blindSpots.includes('The PowerShell log was collected but holds no records (present, 0 records): it shows nothing.'));
  const text = formatCoverageText([h!]);
  assert.match(text, /\n {4}Windows PowerShell \(from the file name\) \(evtx\): present, 0 records\n/);
  assert.match(text, /\n {4}Microsoft-Windows-Sysmon\/Operational \(evtx, 17 records #16108–#16124\) 2019-05-11T17:57:49\.9031596Z – 2019-05-11T17:58:55\.1531596Z; excerpt or filtered export \(record headers renumbered/);
  assert.ok(h!.blindSpots.includes('The Sysmon log spanning 2019-05-11T17:57:49.9031596Z – 2019-05-11T17:58:55.1531596Z is an excerpt or filtered export (record headers renumbered while EventRecordIDs run #16108–#16124): a record missing from it proves nothing.'));
  // the native rolled-over log: what span is left
  const [n] = hostCoverage(['D'], [], [log('D', 'evtx', NATIVE_SYSMON)], []);
  assert.ok(n!.blindSpots.includes('The Sysmon log covers only 2017-12-26T13:10:29.1368792Z – 2018-03-06T08:15:39.5760456Z (rolled over (oldest #1742): records before it are gone, the log wrapped or was cleared): anything earlier is missing from it.'));
  assert.equal(blindSpots(n!).length, n!.blindSpots.length);
});

const o = (x: Partial<Observation> & Pick<Observation, 'source' | 'action' | 'part'>): Observation => ({
  host: 'H',
  namespace: 'ROOT\\subscription',
  className: null,
  name: null,
  time: null,
  user: null,
  file: 'f',
  location: 'l',
  properties: {},
  meta: {},
  ...x,
});

/** A whole subscription as the repository holds it, its objects written at `time`. */
const repoSub = (time: string, namespace = 'ROOT\\subscription', consumerClass = 'CommandLineEventConsumer'): Observation[] => [
  o({ source: 'cim', action: 'present', part: 'filter', namespace, className: '__EventFilter', name: 'F', time, properties: { Name: 'F', Query: 'SELECT * FROM __InstanceModificationEvent' } }),
  o({ source: 'cim', action: 'present', part: 'consumer', namespace, className: consumerClass, name: 'C', time, properties: { Name: 'C', CommandLineTemplate: 'cmd.exe /c x' } }),
  o({ source: 'cim', action: 'present', part: 'binding', namespace, className: '__FilterToConsumerBinding', time, properties: { Filter: '__EventFilter.Name="F"', Consumer: `${consumerClass}.Name="C"` } }),
];

function entries(obs: Observation[], logs: LogSummary[], repository = true): CoverageEntry[] {
  const [h] = hostCoverage(['H'], [], logs, repository ? [{ host: 'H', file: 'Repository', objectsFirst: null, objectsLast: null, files: [] }] : []);
  const [d] = buildSubscriptions(obs, new Set(repository ? ['h'] : []));
  return coverage(d!, hostSources(h));
}
const entry = (es: CoverageEntry[], label: string): CoverageEntry => {
  const e = es.find((x) => x.source === label);
  assert.ok(e, `${label} in ${es.map((x) => x.source).join(', ')}`);
  return e;
};

test('coverage time: inside a rolled-over log\'s span = not logged although covered; after its end = the log ends before it; before = it predates the log', () => {
  const sysmon = [log('H', 'evtx', NATIVE_SYSMON)];
  // issue case 5: made 19 hours after the Sysmon log ended
  const after = entry(entries(repoSub('2018-03-07T03:15:39.0000000Z'), sysmon), 'Sysmon (19/20/21)');
  assert.deepEqual(after, { source: 'Sysmon (19/20/21)', saw: false, reason: 'it dates from 2018-03-07T03:15:39.0000000Z; the log ends before it (last record 2018-03-06T08:15:39.5760456Z)' });
  const inside = entry(entries(repoSub('2018-01-15T00:00:00Z'), sysmon), 'Sysmon (19/20/21)');
  assert.match(inside.reason!, /^not logged although the Sysmon log covers that time \(2018-01-15T00:00:00Z\): the log holds no WMI events \(19\/20\/21\) at all/);
  const before = entry(entries(repoSub('2017-06-01T00:00:00Z'), sysmon), 'Sysmon (19/20/21)');
  assert.equal(before.reason, 'it dates from 2017-06-01T00:00:00Z; it predates the log (oldest record 2017-12-26T13:10:29.1368792Z); the log rolled over (oldest #1742): records before it are gone, the log wrapped or was cleared');
});

test('claims of absence only where provable: inside an excerpt\'s span = not observable; an empty log; no time known', () => {
  const inside = entry(entries(repoSub('2019-05-11T17:58:00Z'), [log('H', 'evtx', ATTACK_SYSMON)]), 'Sysmon (19/20/21)');
  assert.equal(inside.reason, 'not observable in this evidence: the Sysmon log spans that time (2019-05-11T17:58:00Z) but is an excerpt or filtered export (record headers renumbered while EventRecordIDs run #16108–#16124): the record may be among those it leaves out');
  const unknown = entry(entries(repoSub('2026-07-02T02:05:27.438557Z'), [log('H', 'export', SIGMA_EXPORT)]), 'WMI-Activity (5857-5861)');
  assert.match(unknown.reason!, /^not observable in this evidence: the WMI-Activity\/Operational log spans that time \(2026-07-02T02:05:27\.438557Z\) but whether it holds every record of its span cannot be told/);
  const empty: ChannelSummary = { channel: SYSMON, channelFrom: 'file-name', records: 0, first: null, last: null, eventIds: [], oldestRecordId: null, newestRecordId: null };
  assert.equal(entry(entries(repoSub('2019-05-11T17:58:00Z'), [log('H', 'evtx', empty)]), 'Sysmon (19/20/21)').reason, 'the Sysmon log supplied holds no records (present, 0 records)');
  // a subscription only activated (5861): when it was made is not in the evidence
  const act = [o({ source: 'wmi-activity', action: 'activated', part: 'binding', className: '__FilterToConsumerBinding', time: '2018-01-15T00:00:00Z', properties: { Filter: '__EventFilter.Name="F"', Consumer: 'CommandLineEventConsumer.Name="C"' }, meta: { eventId: 5861 } })];
  assert.match(entry(entries(act, [log('H', 'evtx', NATIVE_SYSMON)], false), 'Sysmon (19/20/21)').reason!, /^not in the Sysmon log; when it was made is not in the evidence/);
});

test('blind by design, said without the log too: custom namespace, custom consumer class; both "no log" and "could never" when both hold', () => {
  const legit = entries(repoSub('2020-01-01T00:00:00Z', 'ROOT\\totallylegit'), []);
  assert.equal(entry(legit, 'Sysmon (19/20/21)').reason, 'no Sysmon log supplied; Sysmon would not log this anyway: it watches only root\\subscription; this is ROOT\\totallylegit');
  assert.equal(entry(legit, 'Autoruns (WMI entries)').reason, 'no Autoruns output supplied; Autoruns would not list this anyway: it queries only root\\subscription and root\\default; this is ROOT\\totallylegit');
  assert.match(entry(legit, 'Velociraptor PermanentWMIEvents').reason!, /^no Velociraptor PermanentWMIEvents rows supplied; Velociraptor PermanentWMIEvents would not list this anyway: by default it queries only root\\subscription and root\\default/);
  const custom = entries(repoSub('2020-01-01T00:00:00Z', 'ROOT\\subscription', 'EvilConsumer'), []);
  assert.equal(entry(custom, 'Sysmon (19/20/21)').reason, 'no Sysmon log supplied; Sysmon would not log this anyway: it logs only CommandLine and ActiveScript consumers; this is EvilConsumer');
  // with the log supplied: only the design reason
  const withLog = entries(repoSub('2018-01-15T00:00:00Z', 'ROOT\\cimv2\\x'), [log('H', 'evtx', NATIVE_SYSMON)]);
  assert.equal(entry(withLog, 'Sysmon (19/20/21)').reason, 'Sysmon would not log this: it watches only root\\subscription; this is ROOT\\cimv2\\x');
  assert.match(entry(withLog, 'Velociraptor PermanentWMIEvents').reason!, /first-level namespaces of ROOT/);
  // every source kind has a descriptor whose label is used as is
  for (const k of SOURCE_KINDS) assert.ok(coverageLabel(k).startsWith(SOURCES[k].label));
  assert.equal(blindByDesign('wmi-activity', { namespace: 'ROOT\\totallylegit', consumerClass: 'X', binding: 'unknown' }), null);
  assert.match(blindByDesign('wmi-activity', { namespace: null, consumerClass: null, binding: 'unbound' })!, /only bound subscriptions/);
  // Autoruns lists consumers only: a filter on its own is never among its entries
  assert.equal(blindByDesign('autoruns', { namespace: 'ROOT\\subscription', consumerClass: null, binding: 'unknown', hasConsumer: false }), 'it lists only consumers; this is a filter without one');
  assert.equal(blindByDesign('autoruns', { namespace: 'ROOT\\subscription', consumerClass: 'X', binding: 'unknown' }), null);
});

test('orphan only from whole state; from logs alone an unbound filter and consumer are logged-only, their binding not observable', () => {
  // the WMIGhost excerpt: a consumer logged (20), its binding outside the excerpt
  const consumer = o({ source: 'sysmon', action: 'modified', part: 'consumer', className: 'ActiveScriptEventConsumer', name: 'ProbeScriptFint', time: '2019-04-03T18:11:54.0983520Z', properties: { Name: 'ProbeScriptFint', ScriptText: 'x' } });
  const [d] = buildSubscriptions([consumer], new Set());
  assert.equal(d!.status, 'logged-only');
  // a repository read: absent there = deleted (deletion by absence stays with whole state)
  assert.equal(buildSubscriptions([consumer], new Set(['h']))[0]!.status, 'deleted');
  // the repository shows filter and consumer without a binding: orphan
  const [f, c] = repoSub('2020-01-01T00:00:00Z');
  assert.equal(buildSubscriptions([f!, c!], new Set(['h']))[0]!.status, 'orphan');
  // ... and then WMI-Activity (bindings only) could never have logged it
  const cov = entries([f!, c!], [log('H', 'export', SIGMA_EXPORT)]);
  assert.match(entry(cov, 'WMI-Activity (5857-5861)').reason!, /^WMI-Activity would not log this: it logs only bound subscriptions; this has no binding/);
  // from logs alone, WMI-Activity's silence about an unbound-looking part proves nothing
  const [lh] = hostCoverage(['H'], [], [log('H', 'export', SIGMA_EXPORT)], []);
  const logged = coverage(d!, hostSources(lh));
  assert.match(entry(logged, 'WMI-Activity (5857-5861)').reason!, /^not observable in this evidence: WMI-Activity logs only bound subscriptions/);
});

test('stacking denominator: hosts that can show subscriptions, never a host with a Security log only', () => {
  const security: ChannelSummary = { channel: 'Security', records: 97, first: '2019-03-18T11:27:05.4256206Z', last: '2019-03-18T11:27:37.1812830Z', eventIds: [4688], oldestRecordId: 1, newestRecordId: 97, distinctRecordIds: 97, renumbered: false };
  const hs = hostCoverage(['A', 'S'], [], [log('A', 'evtx', NATIVE_SYSMON), log('S', 'evtx', security)], []);
  assert.deepEqual(hs.map((h) => [h.host, canShowSubscriptions(h)]), [['A', true], ['S', false]]);
  const empty: ChannelSummary = { channel: SYSMON, channelFrom: 'file-name', records: 0, first: null, last: null, eventIds: [], oldestRecordId: null, newestRecordId: null };
  assert.equal(canShowSubscriptions(hostCoverage(['E'], [], [log('E', 'evtx', empty)], [])[0]!), false);
  // a host with a finding counts even when its evidence kind is not listed as showing subscriptions
  const finding = { host: 'P', namespace: 'ROOT\\subscription', consumer: { namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: 'X', values: { CommandLineTemplate: 'x' } }, filter: null, reasons: [], score: 10, severity: 'low', allowlisted: null, summary: '' } as unknown as Finding;
  assert.equal(stack([finding], ['A']).hosts, 2);
});

test('two excerpt logs of one source (Windows PowerShell and PowerShell/Operational): each blind spot names its channel', () => {
  // the PowerLurk sample's two channels, as its records give them
  const op: ChannelSummary = { channel: 'Microsoft-Windows-PowerShell/Operational', records: 4, first: '2021-06-10T14:12:46.0428993Z', last: '2021-06-10T14:12:46.1772463Z', eventIds: [4103, 4104], oldestRecordId: 30203, newestRecordId: 30206, distinctRecordIds: 4, renumbered: true };
  const classic: ChannelSummary = { channel: 'Windows PowerShell', records: 6, first: '2021-06-10T14:12:46.0418290Z', last: '2021-06-10T14:12:46.2142513Z', eventIds: [800], oldestRecordId: 28810, newestRecordId: 28815, distinctRecordIds: 6, renumbered: true };
  const [h] = hostCoverage(['fs01'], [], [log('fs01', 'evtx', op), log('fs01', 'evtx', classic)], []);
  const spots = h!.blindSpots.filter((b) => b.includes(' spanning '));
  assert.equal(spots.length, 2, h!.blindSpots.join('\n'));
  assert.ok(spots[0]!.startsWith('The PowerShell log (Microsoft-Windows-PowerShell/Operational) spanning 2021-06-10T14:12:46.0428993Z'), spots[0]);
  assert.ok(spots[1]!.startsWith('The PowerShell log (Windows PowerShell) spanning 2021-06-10T14:12:46.0418290Z'), spots[1]);
});
