/**
 * Processes a subscription ran, from more sources: Security 4688 (its parent named by process id when the record
 * names only that), WMI-Activity 5857 loads of scrcons.exe, one start seen by several logs counted once, and
 * mofcomp.exe starts shown as context (never as a run). Real samples (skipped with a message when absent), the
 * committed OTRF Covenant ActiveScript nxlog fixture, and small observations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { scan } from '../src/scan.js';
import { buildSubscriptions, MOFCOMP_WINDOW_MS } from '../src/analysis/graph.js';
import { observeEvtx } from '../src/sources/formats/evtx.js';
import { NoteSink } from '../src/sources/notes.js';
import { observeInput } from '../src/sources/dispatch.js';
import { detectAdapter } from '../src/sources/formats/index.js';
import { bufferInput, fileInput, headText } from '../src/sources/input.js';
import type { EvidenceInput } from '../src/sources/input.js';
import { ProcessParents } from '../src/sources/records/observations.js';
import { processStartEvent } from '../src/events/index.js';
import { isMofcompContext, ranText, runsOf } from '../src/model/runs.js';
import { formatTable } from '../src/report/table.js';
import { timelineEvents, timestampDesc } from '../src/report/timeline.js';
import { CSV_COLUMNS, formatCsv } from '../src/report/csv.js';
import { formatHtml } from '../src/report/html.js';
import type { EvtxJsonObject } from '../src/evtx/index.js';
import type { Observation, ScanResult } from '../src/model/types.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';
import { consumerObservation, observation, startObservation } from './support/observations.js';

const schema = JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as { $id: string };
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
ajv.addSchema(schema);
const validate = ajv.getSchema(schema.$id)!;

const LM = evtxSample('EVTX-ATTACK-SAMPLES/LM_WMI_4624_4688_TargetHost.evtx');
const lmSkip = skipReason || (existsSync(LM) ? false : `sample absent: ${LM}`);
const COVENANT = join(repoRoot(), 'test/fixtures/exports/otrf-covenant-activescript.nxlog.jsonl');

const o = observation;
const consumer = consumerObservation;
const start = startObservation;
const load = (time: string, location = 'record 50'): Observation =>
  o({ source: 'wmi-activity', action: 'executed', part: 'consumer', namespace: null, className: 'ActiveScriptEventConsumer', time, location, meta: { eventId: 5857, ProviderName: 'ActiveScriptEventConsumer', ProviderPath: '%SystemRoot%\\system32\\wbem\\scrcons.exe', HostProcess: 'wmiprvse.exe' } });
const SCR = 'C:\\Windows\\System32\\wbem\\scrcons.exe';
const SVC = 'C:\\Windows\\System32\\svchost.exe';

test('LM_WMI 4688: calc.exe, started by WmiPrvSE.exe, gets its parent from the earlier 4688 of that process id (record 563298)', { skip: lmSkip }, () => {
  const r = observeEvtx(LM, new NoteSink());
  const procs = r.observations.filter((x) => x.source === 'process');
  const calc = procs.find((x) => x.meta['Image'] === 'C:\\Windows\\System32\\calc.exe');
  assert.ok(calc, 'the calc.exe start is kept: its parent is WmiPrvSE.exe');
  assert.equal(calc.location, 'record 563299 (header #6, offset 10512)');
  assert.equal(calc.time, '2019-03-18T22:15:49.6767481Z');
  assert.equal(calc.host, 'WIN-77LTAPHIQ1R.example.corp');
  assert.equal(calc.meta['ParentImage'], 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe');
  assert.equal(calc.meta['ParentProcessId'], 0xae8);
  assert.equal(calc.meta['ParentFrom'], 'record 563298 (header #5, offset 9464)');
  // version 1 of 4688 names no target account: the creator's (WmiPrvSE.exe's, NETWORK SERVICE as the machine account)
  assert.equal(calc.user, 'EXAMPLE\\WIN-77LTAPHIQ1R$');

  // the log holds no command line (CommandLine null: command-line auditing off) and this sample is a remote
  // `wmic process call create calc.exe`, a WmiPrvSE.exe child as a consumer's run would be: without the command line
  // the two cannot be told apart, so a consumer whose ExecutablePath is calc.exe is not given this start
  assert.equal(calc.meta['CommandLine'] ?? null, null);
  const c = consumer('Calc', 'CommandLineEventConsumer', { ExecutablePath: 'C:\\Windows\\System32\\calc.exe' }, { host: 'WIN-77LTAPHIQ1R.example.corp', time: '2019-03-18T22:00:00.0000000Z' });
  const [none] = buildSubscriptions([c, ...procs], new Set());
  assert.equal(runsOf(none!.observations), null);
  // the same record with its command line logged as the path alone (what WMI starts for a consumer without a
  // template; a variant made here): the start is the consumer's run
  const logged = procs.map((x) => (x === calc ? { ...x, meta: { ...x.meta, CommandLine: 'C:\\Windows\\System32\\calc.exe' } } : x));
  const [d] = buildSubscriptions([c, ...logged], new Set());
  const runs = runsOf(d!.observations)!;
  assert.equal(runs.count, 1);
  const run = runs.records[0]!;
  assert.equal(run.kind, 'Security 4688');
  assert.equal(run.recordId, '563299');
  assert.equal(run.parent, 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe');
  assert.equal(run.parentFrom, 'record 563298 (header #5, offset 9464)');
  assert.equal(run.processId, 0x424);
  // made after the start: not tied (the start is not in its lifetime)
  const [late] = buildSubscriptions([{ ...c, time: '2019-03-18T22:30:00.0000000Z' }, ...logged], new Set());
  assert.equal(runsOf(late!.observations), null);
});

test('Covenant ActiveScript (nxlog): Sysmon 1, Security 4688 and WMI-Activity 5857 of one scrcons.exe start are one run', async () => {
  const r = await scan([COVENANT], { threads: 1 });
  const f = r.findings.find((x) => x.consumer?.className === 'ActiveScriptEventConsumer');
  assert.ok(f?.runs, 'the finding has runs');
  assert.equal(f.consumer?.name, 'WSUS_RP5ZB');
  assert.equal(f.runs.count, 1);
  assert.deepEqual(
    f.runs.records.map((x) => [x.kind, x.recordId, x.run, x.processId]),
    [
      ['Sysmon 1', '431364', 1, 972],
      ['Security 4688', '120461', 1, 972],
      ['WMI-Activity 5857', '423', 1, null],
    ],
  );
  const sec = f.runs.records[1]!;
  assert.equal(sec.parent, 'C:\\Windows\\System32\\svchost.exe');
  assert.equal(sec.parentFrom, null);
  // TargetUserName is `-`: the creator's account
  assert.equal(sec.user, 'THESHIRE\\WORKSTATION6$');
  assert.equal(f.runs.records[2]!.image, '%SystemRoot%\\system32\\wbem\\scrcons.exe');
  assert.match(ranText(f.runs), /^ran once, at 2020-09-02T01:44:1\d\.\d{7}Z \(3 records: Sysmon 1, Security 4688, WMI-Activity 5857\)$/);
  assert.ok(validate(r), JSON.stringify(validate.errors?.slice(0, 3)));
  const table = formatTable(r, { details: true, width: 200 });
  assert.match(table, /Security 4688: .*otrf-covenant-activescript\.nxlog\.jsonl @ record 120461/);
  const tl = timelineEvents(r).filter((e) => e.timestamp_desc === 'Script consumer host loaded (scrcons.exe)');
  assert.equal(tl.length, 1);
  assert.match(tl[0]!.message, /"WSUS_RP5ZB" ran: script host %SystemRoot%\\system32\\wbem\\scrcons\.exe loaded \(WMI-Activity 5857\)/);
});

test('a 5857 scrcons.exe load alone is a run of the one script consumer, within its lifetime only', () => {
  const a = consumer('A', 'ActiveScriptEventConsumer', { ScriptingEngine: 'VBScript', ScriptText: 'x' });
  const [d] = buildSubscriptions([a, load('2024-01-02T00:00:00.0000000Z')], new Set());
  const runs = runsOf(d!.observations)!;
  assert.equal(runs.count, 1);
  assert.equal(runs.records[0]!.kind, 'WMI-Activity 5857');
  // before the consumer was made: not its run, and not attached as context either
  const [early] = buildSubscriptions([a, load('2023-12-31T00:00:00.0000000Z')], new Set());
  assert.equal(runsOf(early!.observations), null);
  assert.ok(!early!.observations.some((x) => x.source === 'wmi-activity'));
  // two script consumers on the host: no guess
  const b = consumer('B', 'ActiveScriptEventConsumer', { ScriptingEngine: 'VBScript', ScriptText: 'y' });
  assert.ok(buildSubscriptions([a, b, load('2024-01-02T00:00:00.0000000Z')], new Set()).every((x) => runsOf(x.observations) === null));
});

test('records of one start count once; two starts one log shows apart never merge', () => {
  const a = consumer('A', 'ActiveScriptEventConsumer', { ScriptingEngine: 'VBScript', ScriptText: 'x' });
  const s1 = start(SCR, SVC, 'scrcons.exe -Embedding', { time: '2024-01-02T00:00:00.0000000Z', location: 'record 1' }, { ProcessId: 100 });
  const sec = start(SCR, SVC, 'scrcons.exe -Embedding', { time: '2024-01-02T00:00:01.0000000Z', location: 'record 2' }, { eventId: 4688, ProcessId: 100 });
  // the same pid again 2 s later in Sysmon: a second start (one log never shows one start twice)
  const again = start(SCR, SVC, 'scrcons.exe -Embedding', { time: '2024-01-02T00:00:02.0000000Z', location: 'record 3' }, { ProcessId: 100 });
  // another pid in Security: another start
  const other = start(SCR, SVC, 'scrcons.exe -Embedding', { time: '2024-01-02T00:00:03.0000000Z', location: 'record 4' }, { eventId: 4688, ProcessId: 200 });
  // far from every start: a run of its own
  const far = load('2024-01-02T00:05:00.0000000Z');
  const [d] = buildSubscriptions([a, s1, sec, again, other, far], new Set());
  const runs = runsOf(d!.observations)!;
  assert.deepEqual(runs.records.map((x) => [x.recordId, x.run]), [['1', 1], ['2', 1], ['3', 2], ['4', 3], ['50', 4]]);
  assert.equal(runs.count, 4);
  assert.equal(ranText(runs), 'ran 4 times between 2024-01-02T00:00:00.0000000Z and 2024-01-02T00:05:00.0000000Z (5 records: Sysmon 1, Security 4688, WMI-Activity 5857)');
  // without process ids nothing tells two records apart or together: each is its own run
  const [n] = buildSubscriptions([a, { ...s1, meta: { ...s1.meta, ProcessId: null } }, { ...sec, meta: { ...sec.meta, ProcessId: null } }], new Set());
  assert.equal(runsOf(n!.observations)!.count, 2);
});

test('mofcomp.exe shortly before a creation is shown beside the subscription, never as a run', () => {
  const c = consumer('M', 'CommandLineEventConsumer', { CommandLineTemplate: 'cmd.exe /c x' }, { time: '2024-01-02T00:00:30.0000000Z' });
  const mof = start('C:\\Windows\\System32\\wbem\\mofcomp.exe', 'C:\\Windows\\System32\\cmd.exe', 'mofcomp.exe C:\\temp\\evil.mof', { time: '2024-01-02T00:00:00.0000000Z', location: 'record 70' });
  const [d] = buildSubscriptions([c, mof], new Set());
  assert.equal(runsOf(d!.observations), null);
  const ctx = d!.observations.find(isMofcompContext);
  assert.ok(ctx, 'shown as context');
  assert.equal(ctx.meta['SecondsBeforeCreation'], 30);
  assert.equal(ctx.location, 'record 70');
  assert.equal(timestampDesc(ctx), 'mofcomp.exe started before creation');
  // a minute and more before: not shown; after the creation: not shown
  assert.equal(MOFCOMP_WINDOW_MS, 60_000);
  const [old] = buildSubscriptions([c, { ...mof, time: '2024-01-01T23:59:29.0000000Z' }], new Set());
  assert.ok(!old!.observations.some(isMofcompContext));
  const [after] = buildSubscriptions([c, { ...mof, time: '2024-01-02T00:00:31.0000000Z' }], new Set());
  assert.ok(!after!.observations.some(isMofcompContext));
});

test('process starts: provider checked; a 4688 parent by process id is forgotten on reuse, and must start first', () => {
  const rec = (provider: string, id: number, data: Record<string, string>, time = '2024-01-02T00:00:00.0000000Z'): EvtxJsonObject => ({
    Event: { System: { Provider: { '#attributes': { Name: provider } }, EventID: id, Computer: 'H', TimeCreated: { '#attributes': { SystemTime: time } }, EventRecordID: 1 }, EventData: data },
  });
  assert.equal(processStartEvent(rec('Some-Other-Provider', 1, { Image: SCR })), null);
  assert.equal(processStartEvent(rec('Microsoft-Windows-Sysmon', 4688, { NewProcessName: SCR })), null);
  const sec = processStartEvent(rec('Microsoft-Windows-Security-Auditing', 4688, { NewProcessName: 'C:\\x.exe', NewProcessId: '0x10', ProcessId: '0x20', TargetUserName: 'bob', TargetDomainName: 'D', SubjectUserName: 'S$', SubjectDomainName: 'D' }))!;
  assert.equal(sec.user, 'D\\bob');
  assert.equal(sec.processId, 16);
  assert.equal(sec.parentProcessId, 32);

  const ev = (image: string, pid: number, ppid: number, time = '2024-01-02T00:00:00.0000000Z') =>
    processStartEvent(rec('Microsoft-Windows-Security-Auditing', 4688, { NewProcessName: image, NewProcessId: `0x${pid.toString(16)}`, ProcessId: `0x${ppid.toString(16)}` }, time))!;
  const p = new ProcessParents();
  p.see('H', ev('C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', 5, 1), 'record 1');
  assert.deepEqual(p.see('H', ev('C:\\a.exe', 6, 5), 'record 2'), { image: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', where: 'record 1' });
  // another host's process 5 is not this one
  assert.equal(p.see('OTHER', ev('C:\\a.exe', 7, 5), 'record 3'), null);
  // pid 5 reused by another image: forgotten
  p.see('H', ev('C:\\other.exe', 5, 1), 'record 4');
  assert.equal(p.see('H', ev('C:\\a.exe', 8, 5), 'record 5'), null);
  // a "parent" logged as starting after its child is none
  p.see('H', ev('C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', 9, 1, '2024-01-03T00:00:00.0000000Z'), 'record 6');
  assert.equal(p.see('H', ev('C:\\a.exe', 10, 9, '2024-01-02T00:00:00.0000000Z'), 'record 7'), null);
  // bounded: many WmiPrvSE starts keep at most MAX; the oldest is forgotten
  for (let i = 0; i < ProcessParents.MAX + 10; i++) p.see('H', ev('C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', 1000 + i, 1, '2024-01-04T00:00:00.0000000Z'), `record ${100 + i}`);
  assert.equal(p.see('H', ev('C:\\a.exe', 11, 1000, '2024-01-04T00:00:00.0000000Z'), 'x'), null);
  assert.ok(p.see('H', ev('C:\\a.exe', 12, 1000 + ProcessParents.MAX + 9, '2024-01-04T00:00:00.0000000Z'), 'y'));
});

// ---- reports: CSV `ran` column, the HTML finding card and timeline ----------------------------------------------

/** The Covenant fixture's scan, with the Sysmon 1 record's command line replaced by hostile markup (evidence is text). */
async function hostileRuns(): Promise<ScanResult> {
  const r = await scan([COVENANT], { threads: 1 });
  const HOSTILE_CMD = '<img src=x onerror=alert(1)>\u202e"; =cmd|\' /C calc\'!A0';
  for (const f of r.findings) {
    for (const x of f.runs?.records ?? []) if (x.kind === 'Sysmon 1') x.commandLine = HOSTILE_CMD;
    for (const o of f.observations) if (o.source === 'process' && o.meta['eventId'] === 1) o.meta['CommandLine'] = HOSTILE_CMD;
  }
  return r;
}

test('CSV: the ran column says how many runs and when; empty when none is tied', async () => {
  const r = await scan([COVENANT], { threads: 1 });
  const lines = formatCsv(r).split('\r\n');
  const header = lines[0]!.split(',');
  assert.equal(header[header.length - 1], 'ran');
  assert.deepEqual(header, [...CSV_COLUMNS]);
  const f = r.findings.find((x) => x.runs)!;
  const row = lines.find((l) => l.startsWith(f.id + ','))!;
  assert.ok(row.endsWith(`,1 (${f.runs!.first})`), row);
  const two = { ...r, findings: [{ ...f, runs: { ...f.runs!, count: 3, last: '2020-09-03T00:00:00.0000000Z' } }, { ...f, id: 'none', runs: undefined }] };
  const out = formatCsv(two).split('\r\n');
  assert.ok(out[1]!.endsWith(`,3 (${f.runs!.first} to 2020-09-03T00:00:00.0000000Z)`), out[1]);
  assert.ok(out[2]!.endsWith(','), out[2]);
});

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;

test('HTML: the finding card lists each run as text (hostile command line too); the timeline draws runs', { skip: CHROMIUM ? false : 'no chromium binary: install Debian\'s chromium to run the browser test' }, async () => {
  const r = await hostileRuns();
  const html = formatHtml(r);
  assert.ok(!html.includes('<img src=x'), 'evidence never appears as markup in the page source');
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-runs-'));
  const ctx = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM!, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], viewport: { width: 1400, height: 1000 } });
  try {
    const file = join(dir, 'runs.html');
    writeFileSync(file, html);
    const p = await ctx.newPage();
    const errors: string[] = [];
    const dialogs: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    p.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await p.goto(pathToFileURL(file).href);
    await p.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
    const i = r.findings.findIndex((x) => x.runs);
    await p.locator('#findings-table tbody tr').nth(i).locator('td').nth(3).click();
    await p.waitForSelector('#detail-ran');
    assert.match((await p.textContent('#detail-ran'))!, /^ran once, at 2020-09-02T01:44:1\d\.\d{7}Z \(3 records: Sysmon 1, Security 4688, WMI-Activity 5857\)$/);
    const cells = await p.locator('#detail-runs tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td as { textContent: string | null }).textContent)));
    assert.equal(cells.length, 3);
    assert.deepEqual(cells.map((c) => [c[0], c[2]]), [['1', 'Sysmon 1'], ['1', 'Security 4688'], ['1', 'WMI-Activity 5857']]);
    // the markup is text, the bidi override shown escaped
    assert.equal(cells[0]![3], '<img src=x onerror=alert(1)>\\u202e"; =cmd|\' /C calc\'!A0');
    assert.equal(await p.locator('#detail-runs img').count(), 0);
    assert.equal(cells[1]![4], 'THESHIRE\\WORKSTATION6$');
    assert.equal(cells[1]![5], 'C:\\Windows\\System32\\svchost.exe');
    assert.match(cells[1]![6]!, /otrf-covenant-activescript\.nxlog\.jsonl @ record 120461$/);
    assert.equal(await p.locator('svg.timeline .ev-ran').count(), 3);
    assert.match((await p.textContent('svg.timeline .ev-ran title'))!, /ran: <img src=x onerror=alert\(1\)>\\u202e/);
    assert.deepEqual(errors, []);
    assert.deepEqual(dialogs, []);
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- Velociraptor process rows -------------------------------------------------------------------------------------

const BOT = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const PSLIST = join(repoRoot(), 'test/fixtures/velociraptor/bot.Pslist.json');

async function observeFile(input: EvidenceInput): Promise<{ obs: Observation[]; notes: ReturnType<NoteSink['list']> }> {
  const sink = new NoteSink();
  const r = await observeInput(input, { notes: sink });
  assert.ok(r, `${input.name} is read as evidence`);
  return { obs: r.observations, notes: sink.list() };
}

test('Velociraptor Pslist: the cmd.exe under WmiPrvSE.exe is the run the Sysmon 1 record shows (one run, two records); a reused parent id names no parent', async () => {
  const head = headText(readFileSync(PSLIST).subarray(0, 65536));
  assert.equal(detectAdapter(head)?.format, 'velociraptor');
  const { obs } = await observeFile(fileInput(PSLIST));
  // kept: the two WmiPrvSE.exe rows and the cmd.exe whose parent is named; not python.exe, not the cmd.exe of pid 2600
  assert.deepEqual(obs.map((o) => [o.location, o.meta['Image'], o.meta['ParentImage']]), [
    ['line 1', 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', null],
    ['line 2', 'C:\\Windows\\System32\\cmd.exe', 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe'],
    ['line 5', 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', null],
  ]);
  assert.equal(obs[1]!.meta['ParentFrom'], 'line 1');
  assert.equal(obs[1]!.host, 'IEWIN7');

  const r = await scan([BOT, PSLIST], { threads: 1 });
  const f = r.findings.find((x) => x.consumer?.name === 'BotConsumer23')!;
  assert.ok(f.runs);
  assert.equal(f.runs.count, 1);
  assert.deepEqual(f.runs.records.map((x) => [x.kind, x.location.replace(/ \(.*$/, ''), x.run, x.processId, x.parentFrom]), [
    ['Velociraptor Windows.System.Pslist', 'line 2', 1, 2544, 'line 1'],
    ['Sysmon 1', 'record 16116', 1, 2544, null],
  ]);
  assert.equal(f.runs.records[0]!.time, '2019-05-11T17:58:50.0750000Z');
  assert.equal(f.runs.records[0]!.user, 'NT AUTHORITY\\SYSTEM');
  assert.ok(validate(r), JSON.stringify(validate.errors?.slice(0, 3)));
  assert.match(formatTable(r, { details: true, width: 200 }), /Velociraptor Windows\.System\.Pslist: .*bot\.Pslist\.json @ line 2/);
});

test('Velociraptor process rows: ProcessCreation events name the parent by its command line; rows without a start time tie nothing; hostile rows stay bounded', async () => {
  const rows = [
    // Windows.Events.ProcessCreation: Timestamp (epoch), PPID, PID, Name, CommandLine, ParentInfo (the subquery's row)
    { Timestamp: 1557597530.075, PPID: 3212, PID: 2544, Name: 'cmd.exe', CommandLine: 'c:\\Windows\\System32\\cmd.exe', ParentInfo: [{ CommandLine: 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -Embedding' }], Fqdn: 'IEWIN7' },
    { Timestamp: 1557597531, PPID: 4, PID: 5, Name: 'cmd.exe', CommandLine: 'cmd', ParentInfo: '"C:\\Program Files\\x y\\other.exe" -k', Fqdn: 'IEWIN7' },
  ].map((x) => JSON.stringify(x));
  const { obs } = await observeFile(bufferInput('pc.json', Buffer.from(rows.join('\n'))));
  assert.equal(obs.length, 1);
  assert.equal(obs[0]!.meta['ParentImage'], 'C:\\Windows\\system32\\wbem\\wmiprvse.exe');
  assert.equal(obs[0]!.meta['RowKind'], 'Velociraptor Windows.Events.ProcessCreation');
  assert.equal(obs[0]!.time, '2019-05-11T17:58:50.0750000Z');
  // a listing without CreateTime: the scrcons.exe row is kept but has no time, so it is never placed in a lifetime
  const noTime = [{ Pid: 9, Ppid: 8, Name: 'scrcons.exe', Exe: 'C:\\Windows\\System32\\wbem\\scrcons.exe', CommandLine: 'scrcons.exe -Embedding', Username: 'NT AUTHORITY\\SYSTEM', Fqdn: 'H' }];
  const { obs: nt } = await observeFile(bufferInput('pslist.json', Buffer.from(noTime.map((x) => JSON.stringify(x)).join('\n'))));
  assert.equal(nt.length, 1);
  assert.equal(nt[0]!.time, null);
  const a = consumer('A', 'ActiveScriptEventConsumer', { ScriptingEngine: 'VBScript', ScriptText: 'x' });
  const [d] = buildSubscriptions([a, nt[0]!], new Set());
  assert.equal(runsOf(d!.observations), null);
  // hostile: ids out of range, huge command lines, objects where strings belong; read without throwing
  const hostile = [
    { Pid: -1, Ppid: 1e300, Name: 'WmiPrvSE.exe', Exe: { x: 1 }, CommandLine: 'x'.repeat(100_000), CreateTime: 'not a time', Fqdn: 'H' },
    { Pid: '12', Ppid: '0x10', Name: ['a'], Exe: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', CommandLine: null, CreateTime: 1e20, Fqdn: 'H' },
    { Timestamp: 'x', PPID: 1, PID: 2, Name: 'cmd.exe', CommandLine: 'c', ParentInfo: '"' + 'a'.repeat(200_000) + '.exe', Fqdn: 'H' },
  ];
  const { obs: h } = await observeFile(bufferInput('hostile.json', Buffer.from(hostile.map((x) => JSON.stringify(x)).join('\n'))));
  // the first keeps its Name (Exe is no string), no process id, and its time as given: not a time, so never in a lifetime
  assert.deepEqual(h.map((o) => [o.meta['Image'], o.meta['ProcessId'], o.time]), [['WmiPrvSE.exe', null, 'not a time'], ['C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', 12, null]]);
});
