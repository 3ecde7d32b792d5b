/**
 * Sigma through the scan (`scan --sigma`): rules matched against the event records of EVTX files and exports (hits tied
 * to the finding the record is part of, or listed as hits of no finding), and against each finding's synthesized
 * Sysmon 19/20/21 and WMI-Activity 5861 views, so a SigmaHQ rule written for Sysmon fires on a subscription that only
 * a repository or a live listing holds. Real values from the committed fixtures (test/fixtures/evtx, exports,
 * collector), SigmaHQ's own rules (test/fixtures/sigma/sigmahq, DRL 1.1) and rules written for these tests
 * (test/fixtures/sigma-scan); the Windows 10 repository sample when ../shared/samples is present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { scan } from '../src/scan.js';
import type { Finding, ScanResult, SigmaEventHit } from '../src/model/types.js';
import { scriptBlockLocation } from '../src/model/subscription.js';
import { applySigma } from '../src/analysis/sigma.js';
import { repoRoot, samplesDir } from './support/samples.js';
import { scratchDir } from './support/tmp.js';
import { buildWannaMineRepository } from './support/rule-coverage-fixtures.js';

const root = repoRoot();
const fx = (p: string): string => join(root, 'test/fixtures', p);
const SYSMON = fx('evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const COLLECTOR = fx('collector/win10-scm.json');
const OURS = fx('sigma-scan');
const SIGMAHQ = fx('sigma/sigmahq');
const cli = join(root, 'dist/src/cli/main.js');

const WMI_EVENT_SUBSCRIPTION = 'sigma:0f06a3a5-6a09-413f-8743-e6cf35561297';
const WMI_PERSISTENCE = 'sigma:0b7889b4-5577-4521-a60a-3376ee7f9f7b';
const DESTINATION_CMD = 'sigma:7b0f4a51-0c1e-4d2a-9e61-3f7c1d2a0003';
const WMIPRVSE_CHILD = 'sigma:7b0f4a51-0c1e-4d2a-9e61-3f7c1d2a0002';
const NTEVENT_5861 = 'sigma:7b0f4a51-0c1e-4d2a-9e61-3f7c1d2a0004';
const WMIC = '7b0f4a51-0c1e-4d2a-9e61-3f7c1d2a0001';

const schema = JSON.parse(readFileSync(join(root, 'schema/finding.schema.json'), 'utf8')) as { $id: string };
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
ajv.addSchema(schema);
const validate = ajv.getSchema(schema.$id)!;

const reason = (f: Finding, id: string): { evidence: string; score: number; title: string } | undefined => f.reasons.find((r) => r.id === id);
const bot = (r: ScanResult): Finding => r.findings.find((f) => f.filter?.name === 'BotFilter82' && f.consumer?.name === 'BotConsumer23')!;
const scm = (r: ScanResult): Finding => r.findings.find((f) => f.consumer?.name === 'SCM Event Log Consumer')!;

test('scan --sigma: hits on logged records are reasons of their finding, citing the record; views fire where no record was logged', async () => {
  const r = await scan([SYSMON, COLLECTOR], { sigma: [OURS, SIGMAHQ], threads: 1 });
  assert.ok(validate(r), JSON.stringify(validate.errors?.slice(0, 3)));
  const b = bot(r);
  // the Sysmon 20 record of the consumer (both our rule and SigmaHQ's "WMI Event Subscription", which a logged record fires first)
  assert.equal(reason(b, DESTINATION_CMD)?.evidence, 'Sysmon 20 record 16111 (header #4, offset 11672) of sysmon_20_21_1_CommandLineEventConsumer.evtx: EventID=20; Destination="c:\\\\Windows\\\\System32\\\\cmd.exe"');
  assert.equal(reason(b, DESTINATION_CMD)?.score, 50);
  assert.match(reason(b, WMI_EVENT_SUBSCRIPTION)!.evidence, /^Sysmon 20 record 16111 /);
  assert.match(reason(b, WMI_EVENT_SUBSCRIPTION)!.title, /^Sigma: WMI Event Subscription \(medium; rule by Tom Ueltschi/);
  // the process the consumer ran (Sysmon 1, WmiPrvSE.exe parent) is part of the finding: its hit is too
  assert.equal(reason(b, WMIPRVSE_CHILD)?.evidence, 'Sysmon 1 record 16116 (header #9, offset 18920) of sysmon_20_21_1_CommandLineEventConsumer.evtx: ParentImage=C:\\Windows\\System32\\wbem\\WmiPrvSE.exe');
  // no WMI-Activity log was given: SigmaHQ's WMI Persistence (5861) fires through the synthesized view, and says so
  assert.match(reason(b, WMI_PERSISTENCE)!.evidence, /^WMI-Activity 5861 view synthesized from Sysmon \(not a logged record\): EventID=5861; CONSUMER=CommandLineEventConsumer="BotConsumer23"/);
  // a live listing only (the collector): SigmaHQ's Sysmon rule fires through the Sysmon 19 view; allow-listed stays info 0
  const s = scm(r);
  assert.equal(reason(s, WMI_EVENT_SUBSCRIPTION)?.evidence, 'Sysmon 19 view synthesized from wmiscope collector (not a logged record): EventID=19');
  assert.match(reason(s, NTEVENT_5861)!.evidence, /^WMI-Activity 5861 view synthesized from wmiscope collector \(not a logged record\): EventID=5861; CONSUMER=NTEventLogEventConsumer="SCM Event Log Consumer"/);
  assert.equal(s.severity, 'info');
  assert.equal(s.score, 0);
  // hits on records that are part of no subscription: listed, by rule, in evidence order
  const sg = r.sigma!;
  assert.deepEqual(
    sg.events.filter((e) => e.rule.id === WMIC).map((e) => e.location.replace(/ \(.*$/, '')),
    ['record 16110', 'record 16113', 'record 16114', 'record 16119', 'record 16122', 'record 16124'],
  );
  assert.deepEqual(sg.events.find((e) => e.rule.id === WMIC)!.matched, [{ field: 'Image', value: 'C:\\Windows\\System32\\wbem\\WMIC.exe' }]);
  assert.equal(sg.events[0]!.host, 'IEWIN7');
  assert.equal(sg.events[0]!.channel, 'Microsoft-Windows-Sysmon/Operational');
  // what was loaded: our 4 rules and SigmaHQ's 64 WMI-related files, of which 17 are for log sources wmiscope does not read
  assert.equal(sg.files, 68);
  assert.equal(sg.loaded, 51);
  assert.equal(sg.notApplicable.count, 17);
  assert.deepEqual(sg.notLoaded, []);
  assert.equal(sg.eventsNotListed, 0);
  // 16 records matched: 7 of no finding (6 WMIC starts, one also SigmaHQ's WMIC discovery rule), 9 of the subscription
  // (its six Sysmon 19/20/21 records for "WMI Event Subscription", the two Sysmon 20 for our Destination rule, the
  // cmd.exe it ran), which give one reason per rule
  assert.equal(sg.events.length, 7);
  assert.equal(sg.eventHits, 16);
});

test('scan --sigma: a subscription only a repository holds fires SigmaHQ "WMI Event Subscription" through the Sysmon views', async () => {
  const dir = scratchDir('sigma-repo');
  buildWannaMineRepository(dir);
  const r = await scan([dir], { host: 'VICTIM', sigma: [SIGMAHQ], threads: 1 });
  const f = r.findings.find((x) => x.consumer?.name === 'SCM Event8 Log Consumer')!;
  assert.ok(f.observations.every((o) => o.source === 'cim' || o.source === 'cim-residue'), 'repository only');
  assert.match(reason(f, WMI_EVENT_SUBSCRIPTION)!.evidence, /^Sysmon 19 view synthesized from WMI repository \(not a logged record\): EventID=19$/);
  assert.equal(r.sigma!.eventHits, 0);
  // without the rules the finding has no sigma reason, and its score is 25 lower (capped at 100)
  const plain = (await scan([dir], { host: 'VICTIM', threads: 1 })).findings.find((x) => x.consumer?.name === 'SCM Event8 Log Consumer')!;
  assert.equal(plain.reasons.filter((x) => x.id.startsWith('sigma:')).length, 0);
  assert.equal(f.score, Math.min(100, plain.score + f.reasons.filter((x) => x.id.startsWith('sigma:')).reduce((n, x) => n + x.score, 0)));
});

test('scan --sigma: the Windows 10 repository sample (the SCM subscription, allow-listed off) fires through the views', { skip: existsSync(join(samplesDir(), 'cim/dissect-cim-win10')) ? false : 'shared samples absent (../shared/samples/cim/dissect-cim-win10)' }, async () => {
  const r = await scan([join(samplesDir(), 'cim/dissect-cim-win10')], { sigma: [SIGMAHQ], defaultAllowlist: false, threads: 1 });
  const f = scm(r);
  assert.equal(reason(f, WMI_EVENT_SUBSCRIPTION)?.evidence, 'Sysmon 19 view synthesized from WMI repository (not a logged record): EventID=19');
  assert.equal(f.allowlisted, null);
  assert.equal(f.score, 25);
  assert.equal(f.severity, 'medium');
});

test('scan --sigma: exports reach the same hits as the EVTX file, and worker threads give the same result', async () => {
  const dir = scratchDir('sigma-threads');
  for (const f of ['exports/sysmon-bot.evtx_dump.json', 'exports/sysmon-bot.ecs.ndjson', 'exports/sysmon-bot.nxlog.jsonl']) copyFileSync(fx(f), join(dir, f.split('/')[1]!));
  copyFileSync(SYSMON, join(dir, 'sysmon.evtx'));
  const strip = (r: ScanResult): unknown => ({ findings: r.findings.map((f) => ({ id: f.id, reasons: f.reasons })), sigma: r.sigma });
  const one = await scan([dir], { sigma: [OURS], threads: 1 });
  const two = await scan([dir], { sigma: [OURS], threads: 2 });
  assert.deepEqual(strip(two), strip(one));
  // each copy of the log gives its own hit on the consumer's Sysmon 20 record, each tied to the one subscription
  const b = bot(one);
  assert.ok(reason(b, DESTINATION_CMD), 'the Sysmon 20 rule fired');
  const wmic = one.sigma!.events.filter((e) => e.rule.id === WMIC);
  assert.deepEqual([...new Set(wmic.map((e) => e.file.split(/[\\/]/).pop()))].sort(), ['sysmon-bot.ecs.ndjson', 'sysmon-bot.evtx_dump.json', 'sysmon-bot.nxlog.jsonl', 'sysmon.evtx']);
});

test('scan without --sigma has no sigma part; scan --sigma with a missing path is an error before reading', () => {
  const plain = spawnSync(process.execPath, [cli, 'scan', '-q', '-f', 'json', SYSMON], { encoding: 'utf8' });
  assert.equal((JSON.parse(plain.stdout) as ScanResult).sigma, undefined);
  const r = spawnSync(process.execPath, [cli, 'scan', '-q', SYSMON, '--sigma', join(OURS, 'no-such-rule.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--sigma .*no-such-rule\.yml: no such file or folder/);
  assert.equal(r.stdout, '');
});

test('scan --sigma: the table says what was loaded and lists the hits of no finding by rule', () => {
  const r = spawnSync(process.execPath, [cli, 'scan', SYSMON, '--sigma', OURS, '--sigma', SIGMAHQ, '--width', '200', '--color', 'never'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^Sigma {5}51 rules loaded of 68 files, 17 for log sources wmiscope does not read; \d+ event hits \(\d+ on records of findings\)$/m);
  assert.match(r.stdout, /^Sigma hits on records of no finding: \d+ hits by \d+ rules, worst level first, then most hits$/m);
  assert.match(r.stdout, /^ +6 {2}low {2}WMIC started \(wmiscope test rule\) \(7b0f4a51-0c1e-4d2a-9e61-3f7c1d2a0001; rule by wmiscope\)$/m);
  // the first hit names its file before the record, so a cut to the width keeps the file's name
  assert.match(r.stdout, /^ {9}first: \S*\.evtx record \d+ \(header #\d+, offset \d+\), \S+$/m);
  const narrow = spawnSync(process.execPath, [cli, 'scan', SYSMON, '--sigma', OURS, '--width', '80', '--color', 'never'], { encoding: 'utf8' });
  const firsts = narrow.stdout.split('\n').filter((l) => l.includes('first: '));
  assert.ok(firsts.length > 0);
  for (const line of firsts) assert.match(line, /\.evtx record \d+/, line);
});

test('rules list --sigma: loaded rules with their points, the not-applicable ones counted by log source, each refused rule with why', () => {
  const r = spawnSync(process.execPath, [cli, 'rules', 'list', '--sigma', OURS, '--sigma', fx('sigma/modifiers'), '-f', 'json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { sections } = JSON.parse(r.stdout) as { sections: Array<{ source: string; heading: string; rules: Array<{ id: string; effect: string; title: string; where?: string }> }> };
  const sigma = sections.find((s) => s.source === 'sigma')!;
  assert.equal(sigma.heading, 'Sigma rules (13 loaded of 22 files; 1 for log sources wmiscope does not read, counted by product/category/service: linux/process_creation/ 1; 8 not loaded, below)');
  assert.deepEqual(sigma.rules.find((x) => x.id === DESTINATION_CMD), { id: DESTINATION_CMD, title: 'WMI consumer runs cmd.exe (wmiscope test rule)', attack: ['T1546.003'], effect: '+50 (high)', where: join(OURS, 'destination-cmd.yml'), details: { logsource: 'wmi_event', status: 'test', author: 'wmiscope', tags: ['attack.persistence', 'attack.t1546.003'] } });
  const refused = sections.find((s) => s.source === 'sigma-not-loaded')!;
  assert.equal(refused.rules.length, 8);
  assert.deepEqual(refused.rules.find((x) => x.id === 'sigma:mod-count'), { id: 'sigma:mod-count', title: 'aggregation in condition (`| count` …) is not supported', attack: [], effect: 'not loaded', where: join(fx('sigma/modifiers'), 'count.yml') });
  const missing = spawnSync(process.execPath, [cli, 'rules', 'list', '--sigma', join(OURS, 'nope')], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
});

test('scan --sigma: two rules matching one record of no finding are two hits on one record, and the table says hits', () => {
  const dir = scratchDir('sigma-two-rules');
  const wmic = readFileSync(join(OURS, 'wmic-process.yml'), 'utf8');
  writeFileSync(join(dir, 'a.yml'), wmic);
  writeFileSync(join(dir, 'b.yml'), wmic.replace(WMIC, `${WMIC.slice(0, -1)}9`).replace('WMIC started', 'WMIC started again'));
  const r = spawnSync(process.execPath, [cli, 'scan', SYSMON, '--sigma', dir, '--width', '200', '--color', 'never', '-f', 'json'], { encoding: 'utf8' });
  const sg = (JSON.parse(r.stdout) as ScanResult).sigma!;
  const records = new Set(sg.events.map((e) => `${e.file}\u0000${e.location}`)).size;
  assert.equal(sg.events.length, 2 * records);
  const t = spawnSync(process.execPath, [cli, 'scan', SYSMON, '--sigma', dir, '--width', '200', '--color', 'never'], { encoding: 'utf8' });
  assert.match(t.stdout, new RegExp(`^Sigma hits on records of no finding: ${sg.events.length} hits by 2 rules, worst level first, then most hits$`, 'm'));
});

const MIXED = join(samplesDir(), 'evtx/bench/mixed-480chunks.evtx');
test('scan --sigma: records carved from slack are matched (their hits say so) and only their hits are kept until their host is known', { skip: existsSync(MIXED) ? false : 'shared samples absent (../shared/samples/evtx/bench/mixed-480chunks.evtx)' }, async () => {
  const dir = scratchDir('sigma-carved');
  writeFileSync(join(dir, 'any.yml'), 'title: any process start\nid: any-process-start\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    EventID|exists: true\n  condition: s\nlevel: informational\n');
  const r = await scan([MIXED], { sigma: [dir], threads: 1 });
  const carved = r.sigma!.events.filter((e) => e.location.endsWith(' (recovered from slack)'));
  assert.equal(carved.length, 76);
  assert.deepEqual(
    { host: carved[0]!.host, location: carved[0]!.location, time: carved[0]!.time, channel: carved[0]!.channel, eventId: carved[0]!.eventId },
    { host: 'DESKTOP-DF4ULDE', location: 'record 1652 (offset 3232488) (recovered from slack)', time: '2017-10-23T07:33:42.5334757Z', channel: 'Microsoft-Windows-Sysmon/Operational', eventId: 1 },
  );
  // the carved hits come after the allocated records' hits, as the file is walked
  const firstCarved = r.sigma!.events.findIndex((e) => e.location.endsWith(' (recovered from slack)'));
  assert.ok(r.sigma!.events.slice(firstCarved).every((e) => e.location.endsWith(' (recovered from slack)')));
});

const POWERLURK = join(samplesDir(), 'evtx/hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx');
test('scan --sigma: a hit on any 4104 part of a script block joined from several records is a reason of the finding it built, not a hit of no finding', { skip: existsSync(POWERLURK) ? false : 'shared samples absent (../shared/samples/evtx/hayabusa-sample-evtx)' }, async () => {
  const r = await scan([POWERLURK], { threads: 1 });
  const f = r.findings.find((x) => x.consumer?.name === 'Evil23')!;
  // the subscription as the reader cites it when PowerShell logged its script block over three records (its first
  // part's place, the others by EventRecordID): observations.ts ScriptBlocks, tested in script-blocks.test.ts
  const first = 'record 30204 (header #8, offset 20968)';
  const joined = scriptBlockLocation(first, ['record 30250 (header #20, offset 90000)', 'record 30251 (header #21, offset 91000)']);
  assert.equal(joined, 'record 30204 (header #8, offset 20968); script block of 3 parts, the others in records 30250, 30251');
  for (const o of f.observations) if (o.location === first) o.location = joined;
  const rule = (id: string): SigmaEventHit['rule'] => ({ id, title: id, level: 'high', attack: [], author: null, file: `${id}.yml` });
  const hit = (id: string, location: string): SigmaEventHit => ({ rule: rule(id), host: f.host, file: POWERLURK, location, time: null, channel: 'Microsoft-Windows-PowerShell/Operational', eventId: 4104, matched: [{ field: 'ScriptBlockText', value: 'x' }] });
  const hits = [hit('on-first-part', first), hit('on-third-part', 'record 30251 (header #21, offset 91000)'), hit('elsewhere', 'record 30300 (header #30, offset 99000)')];
  const summary = { files: 3, loaded: 3, notApplicable: { count: 0, byLogsource: {} }, notLoaded: [] };
  const sg = applySigma([f], new Map(), hits, { match: () => [] }, summary);
  assert.deepEqual(f.reasons.filter((x) => x.id.startsWith('sigma:')).map((x) => [x.id, x.evidence]), [
    ['sigma:on-first-part', `PowerShell 4104 ${first} of ID800-4103-4104-WMI registration via PowerLurk.evtx: ScriptBlockText=x`],
    ['sigma:on-third-part', 'PowerShell 4104 record 30251 (header #21, offset 91000) of ID800-4103-4104-WMI registration via PowerLurk.evtx: ScriptBlockText=x'],
  ]);
  assert.deepEqual(sg.events.map((e) => e.rule.id), ['elsewhere']);
});

test('scan --sigma: a rule not loaded is told on stderr whatever the format (csv, jsonl and html have no Sigma section), once', () => {
  const dir = scratchDir('sigma-told');
  copyFileSync(join(OURS, 'wmic-process.yml'), join(dir, 'a.yml'));
  writeFileSync(join(dir, 'b-broken.yml'), 'title: broken\nlogsource: {product: windows, category: wmi_event\n');
  for (const [format, verbose] of [['csv', false], ['jsonl', false], ['json', false], ['csv', true]] as const) {
    const r = spawnSync(process.execPath, [cli, 'scan', SYSMON, '--sigma', dir, '-f', format, '--fail-on', 'never', ...(verbose ? ['-v'] : [])], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^wmiscope: Sigma rules not loaded: 1 \(wmiscope rules list --sigma shows each\):/m, format);
    assert.match(r.stderr, /b-broken\.yml: YAML: /, format);
  }
  const out = join(dir, 'report.html');
  const h = spawnSync(process.execPath, [cli, 'scan', SYSMON, '--sigma', dir, '-o', out, '--fail-on', 'never'], { encoding: 'utf8' });
  assert.match(h.stderr, /^wmiscope: wrote .*report\.html — 1 finding \(1 critical\) from 1 file; 1 Sigma rule not loaded \(wmiscope rules list --sigma shows why\)$/m);
  // the table on stdout lists it itself: nothing on stderr
  const t = spawnSync(process.execPath, [cli, 'scan', SYSMON, '--sigma', dir, '--fail-on', 'never'], { encoding: 'utf8' });
  assert.doesNotMatch(t.stderr, /Sigma/);
  assert.match(t.stdout, /^Sigma rules not loaded: 1$/m);
});

test('scan --sigma: Sigma rules too slow for a file stop being matched at half its time budget, and the file is still read (a hostile rule pack costs Sigma hits, never evidence)', { skip: existsSync(MIXED) ? false : 'shared samples absent (../shared/samples/evtx/bench/mixed-480chunks.evtx)' }, async () => {
  const dir = scratchDir('sigma-slow');
  // 256 identifiers of 250 two-character wildcard needles each (no prefilter text): every Sysmon 1 record costs them all
  const idents = Array.from({ length: 256 }, (_, i) => `  s${i}:\n    CommandLine|contains:\n${Array.from({ length: 250 }, (_, j) => `      - a?${String.fromCharCode(97 + (j % 26))}\n`).join('')}`).join('');
  writeFileSync(join(dir, 'slow.yml'), `title: slow\nid: slow\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n${idents}  condition: 1 of them and not all of them\nlevel: low\n`);
  const plain = await scan([MIXED], { threads: 1 });
  for (const threads of [1, 4]) {
    // a budget wide enough for the file read without Sigma on a busy machine (the test asserts no time, only what is kept)
    const r = await scan([MIXED, SYSMON, COLLECTOR, POWERLURK], { sigma: [dir], threads, taskTimeout: 12 });
    assert.equal(r.sigma!.loaded, 1);
    assert.deepEqual(r.findings.filter((f) => f.observations.some((o) => o.file === MIXED)).map((f) => f.id).sort(), plain.findings.map((f) => f.id).sort(), `threads ${threads}`);
    assert.ok(!r.notes.some((n) => n.file === MIXED && n.level === 'error'), JSON.stringify(r.notes.filter((n) => n.file === MIXED)));
    assert.ok(r.notes.some((n) => n.file === MIXED && n.level === 'warning' && /^Sigma matching stopped after \d+ s, half this file's time budget/.test(n.message)));
  }
});

test('the narrowing (--only-host, --since/--until, --min-severity) narrows the Sigma hits of no finding alike, and counts what it hid', async () => {
  const { narrowFindings } = await import('../src/report/select.js');
  const r = await scan([SYSMON], { sigma: [OURS], threads: 1 });
  assert.equal(r.sigma!.events.length, 6);
  assert.equal(narrowFindings(r, {}).sigma!.events.length, 6);
  assert.equal(narrowFindings(r, {}).sigma!.eventsNarrowedOut, undefined);
  const otherHost = narrowFindings(r, { onlyHost: ['nope*'] }).sigma!;
  assert.deepEqual([otherHost.events.length, otherHost.eventsNarrowedOut], [0, 6]);
  // the WMIC rule is low: below medium it is hidden; at low it is kept
  assert.equal(narrowFindings(r, { minSeverity: 'medium' }).sigma!.eventsNarrowedOut, 6);
  assert.equal(narrowFindings(r, { minSeverity: 'low' }).sigma!.events.length, 6);
  // the hits are from 2019-05-11 17:58
  assert.equal(narrowFindings(r, { since: '2020-01-01T00:00:00.0000000Z' }).sigma!.events.length, 0);
  assert.equal(narrowFindings(r, { since: '2019-05-11T17:58:00.0000000Z', until: '2019-05-11T17:59:00.0000000Z' }).sigma!.events.length, 6);
  const table = spawnSync(process.execPath, [cli, 'scan', SYSMON, '--sigma', OURS, '--only-host', 'nope*', '--width', '200', '--color', 'never'], { encoding: 'utf8' });
  assert.match(table.stdout, /^ {2}6 hits on records of no finding hidden by the narrowing \(host, time or the rule's level below --min-severity\)$/m);
});

test('rules test --sigma: a user rule tunes a Sigma reason (the generic SigmaHQ rule capped at low)', () => {
  const dir = scratchDir('sigma-cap');
  const cap = join(dir, 'cap.yml');
  writeFileSync(cap, 'rules:\n  - id: cap-generic-sigma\n    title: The generic WMI Event Subscription rule alone makes nothing worse than low\n    match:\n      field: reasons\n      equals: sigma:0f06a3a5-6a09-413f-8743-e6cf35561297\n    severity:\n      max: low\n');
  const r = spawnSync(process.execPath, [cli, 'rules', 'test', cap, COLLECTOR, '--sigma', SIGMAHQ, '--no-default-allowlist', '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /matched 1 of 1 finding:/);
  assert.match(r.stdout, /SCM Event Log Filter → SCM Event Log Consumer: medium 25 -> low 25$/m);
});

test('the synthesized views stop at their time budget: the findings left are counted, and said to be not observable through a view', async () => {
  const { applySigma } = await import('../src/analysis/sigma.js');
  const { formatTable } = await import('../src/report/table.js');
  const r = await scan([SYSMON, COLLECTOR], { threads: 1 });
  const joined = new Map(r.findings.map((f) => [f.id, f]));
  const summary = { files: 1, loaded: 1, notApplicable: { count: 0, byLogsource: {} }, notLoaded: [] };
  let matched = 0;
  const everyView = { match: (): [] => (matched++, []) };
  // a clock that reads 0 at the start and at the first finding, 10 s after: the first finding's views are matched,
  // the budget of 5 s is spent after it
  let readings = 0;
  const sg = applySigma(r.findings, joined, [], everyView, summary, { budgetMs: 5000, now: () => (readings++ < 2 ? 0 : 10_000) });
  assert.equal(sg.viewsNotMatched, r.findings.length - 1);
  assert.ok(matched > 0 && matched <= 4, `views matched: ${matched}`);
  // no budget: every finding's views
  matched = 0;
  assert.equal(applySigma(r.findings, joined, [], everyView, summary).viewsNotMatched, undefined);
  assert.ok(matched >= r.findings.length);
  const table = formatTable({ ...r, sigma: sg }, { width: 200 });
  assert.match(table, new RegExp(`^Sigma views not matched: ${r.findings.length - 1} findings?: the views' time budget \\(half of --file-timeout\\) ran out first`, 'm'));
});
