/**
 * Velociraptor artifact rows as evidence (src/sources/formats/velociraptor.ts): PermanentWMIEvents, ETW WMIEventing,
 * EvtxHunter / parse_evtx rows and Sysinternals.Autoruns rows, on the fixtures in test/fixtures/velociraptor
 * (derived from real evidence by test/support/make-vr-fixtures.ts; NOTICE.md there). The findings they give
 * are compared with what scanning the source evidence gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { scan } from '../src/scan.js';
import { observeInput } from '../src/sources/dispatch.js';
import { detectAdapter } from '../src/sources/formats/index.js';
import { bufferInput, fileInput, headText } from '../src/sources/input.js';
import type { EvidenceInput } from '../src/sources/input.js';
import { observeEvtx } from '../src/sources/formats/evtx.js';
import { epochToIso, firstObjectKeys, limits, parseWmiOperation, rowKind, velociraptorAdapter } from '../src/sources/formats/velociraptor.js';
import { parseObjectRef } from '../src/model/wmi.js';
import type { EvidenceNote, Finding, Observation, ScanResult } from '../src/model/types.js';
import { repoRoot, samplesDir, skipReason } from './support/samples.js';
import { makeFixtures } from './support/make-vr-fixtures.js';
import fc from 'fast-check';
import { bindingTarget, referenceTarget } from '../src/model/subscription.js';
import { NoteSink } from '../src/sources/notes.js';

const FIX = join(repoRoot(), 'test/fixtures/velociraptor');
const fx = (name: string): string => join(FIX, name);
const SYSMON = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const WIN10 = join(samplesDir(), 'cim/dissect-cim-win10');
const cimSkip: string | false = existsSync(WIN10) ? false : `CIM sample not found at ${WIN10}`;

async function observe(input: EvidenceInput): Promise<{ obs: Observation[]; notes: EvidenceNote[]; r: NonNullable<Awaited<ReturnType<typeof observeInput>>> }> {
  const sink = new NoteSink();
  const r = await observeInput(input, { notes: sink });
  const notes = sink.list();
  assert.ok(r, `${input.name} is read as evidence`);
  return { obs: r.observations, notes, r };
}

const byName = (r: ScanResult, filter: string): Finding => {
  const f = r.findings.filter((x) => x.filter?.name === filter || bindingTarget(x.binding, 'Filter')?.name === filter);
  assert.equal(f.length, 1, `one finding for ${filter}: ${r.findings.map((x) => x.filter?.name).join(', ')}`);
  return f[0]!;
};

/** What must agree between a finding from Velociraptor rows and one from the source evidence. */
/**
 * The Velociraptor rows and the Sysmon log give the same subscription; the log alone also holds the cmd.exe start it
 * ran (record 16116, a WmiPrvSE.exe child), so its finding carries the 'ran' reason (and may score higher).
 */
function assertSameAsLogButRuns(fromVr: Finding, fromLog: Finding): void {
  assert.deepEqual({ ...essentials(fromVr), severity: null }, { ...essentials(fromLog), severity: null });
  assert.deepEqual(fromLog.runs?.records.map((r) => r.recordId), ['16116']);
  assert.equal(fromVr.runs, undefined);
  assert.ok(fromLog.reasons.some((r) => r.id === 'ran') && !fromVr.reasons.some((r) => r.id === 'ran'));
}

function essentials(f: Finding): Record<string, unknown> {
  return {
    namespace: f.namespace,
    filter: f.filter?.name,
    query: f.filter?.values['Query'],
    consumerClass: f.consumer?.className,
    consumer: f.consumer?.name,
    command: f.consumer?.values['CommandLineTemplate'] ?? null,
    bindingFilter: bindingTarget(f.binding, 'Filter')?.name,
    bindingConsumer: bindingTarget(f.binding, 'Consumer')?.name,
    summary: f.summary,
    severity: f.severity,
    allowlisted: f.allowlisted?.entry ?? null,
  };
}

/** Hunt bookkeeping (client, flow, Fqdn, org, source artifact) is never an observation's detail. */
function assertNoCollectionDetails(obs: Observation[]): void {
  for (const o of obs) for (const k of [...Object.keys(o.properties), ...Object.keys(o.meta)]) assert.ok(!/^(clientid|flowid|fqdn|_orgid|_source)$/i.test(k), `${o.part} ${o.name}: ${k} in the observation`);
}

// ---- recognition -------------------------------------------------------------------------------------------

test('recognized by content: every fixture goes to the velociraptor adapter, whatever its name', async () => {
  for (const name of ['bot.PermanentWMIEvents.json', 'gui.PermanentWMIEvents.json', 'bot.WMIEventing.json', 'sysmon.EvtxHunter.json', 'sigma5858.EvtxHunter.json', 'bot.Evtx.json', 'bot.Autoruns.json', 'scm.PermanentWMIEvents.json', 'hunt.PermanentWMIEvents.json']) {
    const head = headText(readFileSync(fx(name)).subarray(0, 65536));
    assert.equal(detectAdapter(head)?.format, 'velociraptor', name);
    // renamed: still read
    const { r } = await observe(bufferInput('evidence.bin', readFileSync(fx(name))));
    assert.ok(r.items.every((i) => i.kind === 'velociraptor'), name);
  }
});

test('not claimed: random JSON, ECS/winlogbeat documents, crate-shaped Event.System records, CSV', () => {
  const no = [
    '{"a":1,"b":[1,2,3]}',
    '[{"name":"x","value":2}]',
    '{"@timestamp":"2019-05-11T17:58:23.340Z","event":{"code":"20"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":20,"event_data":{"Operation":"Created"}}}',
    '{"winlog":{"event_id":5861},"Operation":"x","NamespaceName":"y","ClientMachine":"z"}',
    '{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"EventID":20,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Operation":"Created"}}}',
    'Time,Entry Location,Entry,Enabled,Category,Profile,Description,Company,Image Path,Version,Launch String\n',
    '{"ConsumerDetails": 1}\n', // a complete object with one of the columns only
    // nxlog JSON of a WMI-Activity trace event: the event fields flattened beside Hostname / SourceName
    '{"EventTime":"2022-01-17 03:52:34","Hostname":"RE-DEV","EventID":11,"SourceName":"Microsoft-Windows-WMI-Activity","RecordNumber":9,"Operation":"Start IWbemServices::PutInstance - ROOT\\x : __EventFilter.Name=\\"a\\"","NamespaceName":"\\\\.\\ROOT\\x","ClientMachine":"RE-DEV","CorrelationId":"{x}"}',
  ];
  for (const t of no) assert.equal(velociraptorAdapter.detect(t), false, t.slice(0, 60));
  // the head of a file may end inside a large first row: decided on the columns seen so far
  assert.equal(velociraptorAdapter.detect('{"ConsumerDetails":{"ScriptText":"' + 'A'.repeat(70000)), true);
  assert.equal(velociraptorAdapter.detect('{"EventTime":"2019-05-11T17:58:23Z","Computer":"IEWIN7","Channel":"Microsoft-Windows-Sysmon/Operational","Provider":"Microsoft-Windows-Sysmon","EventID":20,"EventRecordID":16111,"UserSID":"S-1-5-18","EventData":{"Data":"' + 'x'.repeat(70000)), true);
  assert.deepEqual(firstObjectKeys('[ {"a": {"b": "}"}, "c": [1, {"d": 2}], "e\\"": null} ]'), { keys: ['a', 'c', 'e"'], complete: true });
  assert.equal(rowKind(['ConsumerDetails', 'FilterDetails', 'Namespace']), 'permanent');
  assert.equal(rowKind(['EventTime', 'EventId', 'NamespaceName', 'Operation', 'Process', 'IsLocal', 'ClientMachine']), 'trace');
});

// ---- Windows.Persistence.PermanentWMIEvents ----------------------------------------------------------------------------

test('PermanentWMIEvents (SCM trio of the real Windows 10 repository): present filter, consumer and binding, allow-listed', async () => {
  const { obs } = await observe(fileInput(fx('scm.PermanentWMIEvents.json')));
  assert.deepEqual(
    obs.map((o) => [o.source, o.action, o.part, o.namespace, o.className, o.name, o.user]),
    [
      ['velociraptor', 'present', 'filter', 'ROOT\\subscription', '__EventFilter', 'SCM Event Log Filter', 'S-1-5-32-544'],
      ['velociraptor', 'present', 'consumer', 'ROOT\\subscription', 'NTEventLogEventConsumer', 'SCM Event Log Consumer', 'S-1-5-32-544'],
      ['velociraptor', 'present', 'binding', 'ROOT\\subscription', '__FilterToConsumerBinding', null, null],
    ],
  );
  // the binding's two references, as the repository stores them; nothing else
  assert.deepEqual(obs[2]!.properties, { Filter: '__EventFilter.Name="SCM Event Log Filter"', Consumer: 'NTEventLogEventConsumer.Name="SCM Event Log Consumer"' });
  // wmi() gives no __CLASS: the class is inferred from the properties, and says so (in meta)
  assert.deepEqual(obs[1]!.meta, { ConsumerClassInferred: true });
  assert.equal(obs[1]!.properties['SourceName'], 'Service Control Manager');
  assert.equal(obs[0]!.properties['CreatorSID'], '1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0');
  const r = await scan([fx('scm.PermanentWMIEvents.json')], {});
  assert.equal(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.deepEqual([f.status, f.severity, f.allowlisted?.entry], ['active', 'info', 'SCM Event Log Filter -> SCM Event Log Consumer']);
  assert.ok(r.evidence.some((e) => e.kind === 'velociraptor' && /Windows\.Persistence\.PermanentWMIEvents/.test(e.detail)));
});

test('PermanentWMIEvents rows give the finding the repository itself gives', { skip: cimSkip }, async () => {
  const fromRepo = byName(await scan([WIN10], {}), 'SCM Event Log Filter');
  const fromVr = byName(await scan([fx('scm.PermanentWMIEvents.json')], {}), 'SCM Event Log Filter');
  assert.deepEqual(essentials(fromVr), essentials(fromRepo));
  // every property the repository holds arrives through the row (the class inference marker aside)
  for (const part of ['filter', 'consumer'] as const) {
    const repo = fromRepo[part]!.values;
    const vr = fromVr[part]!.values;
    for (const [k, v] of Object.entries(repo)) assert.deepEqual(vr[k], v, `${part}.${k}`);
  }
  // both together on one host: one finding, seen by both
  const both = byName(await scan([WIN10, fx('scm.PermanentWMIEvents.json')], { host: 'WIN10' }), 'SCM Event Log Filter');
  assert.deepEqual(both.coverage.filter((c) => c.source === 'WMI repository' || c.source === 'Velociraptor PermanentWMIEvents').map((c) => c.saw), [true, true]);
  assert.equal(both.severity, 'info');
});

test('PermanentWMIEvents rows of the Sysmon-logged subscription: same names, namespace and command as the log; the log adds the run it shows', async () => {
  const fromLog = byName(await scan([SYSMON], {}), 'BotFilter82');
  const fromVr = byName(await scan([fx('bot.PermanentWMIEvents.json')], {}), 'BotFilter82');
  assertSameAsLogButRuns(fromVr, fromLog);
  assert.deepEqual(essentials(fromVr), {
    namespace: 'ROOT\\subscription',
    filter: 'BotFilter82',
    query: "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'",
    consumerClass: 'CommandLineEventConsumer',
    consumer: 'BotConsumer23',
    command: 'c:\\Windows\\System32\\cmd.exe',
    bindingFilter: 'BotFilter82',
    bindingConsumer: 'BotConsumer23',
    summary: 'c:\\Windows\\System32\\cmd.exe',
    severity: 'high',
    allowlisted: null,
  });
  // a live query shows it present; the log shows it created then deleted
  assert.deepEqual([fromVr.status, fromLog.status], ['active', 'deleted']);
  assert.deepEqual(fromVr.who, ['S-1-5-21-1-2-3-1000']);
  assert.equal(fromVr.filter!.values['EventNamespace'], 'root\\cimv2');
  assert.equal(fromVr.consumer!.values['ExecutablePath'], 'c:\\Windows\\System32\\cmd.exe');
  // rows and log of the same host join into one subscription that both sources saw
  const both = byName(await scan([SYSMON, fx('bot.PermanentWMIEvents.json')], { host: 'IEWIN7' }), 'BotFilter82');
  assert.deepEqual(both.coverage.filter((c) => /^(Sysmon|Velociraptor PermanentWMIEvents)/.test(c.source)).map((c) => [c.source, c.saw]), [
    ['Sysmon (19/20/21)', true],
    ['Velociraptor PermanentWMIEvents', true],
  ]);
  // joined, it carries the log's process start it ran (record 16116) as well
  assert.deepEqual([both.severity, both.runs?.records.map((r) => r.recordId)], ['critical', ['16116']]);
});

test('a GUI export (JSON array) reads like the JSONL of a collection', async () => {
  const a = await observe(fileInput(fx('gui.PermanentWMIEvents.json')));
  const b = await observe(fileInput(fx('bot.PermanentWMIEvents.json')));
  const strip = (o: Observation): unknown => ({ ...o, file: '', location: o.location.replace(/^(element|line) 1/, '#1') });
  assert.deepEqual(a.obs.map(strip), b.obs.map(strip));
  assert.deepEqual(a.notes, []);
});

test('a hunt download: each row belongs to its client (two ClientIds, two hosts)', async () => {
  const { obs, r } = await observe(fileInput(fx('hunt.PermanentWMIEvents.json')));
  assert.deepEqual([...new Set(obs.map((o) => o.host))], ['IEWIN7 (C.1e0f3a5b7c9d2e4f)', 'C.5f2c9a7e3b1d4e60']);
  assert.deepEqual(r.items.map((i) => [i.host, i.records]), [
    ['IEWIN7 (C.1e0f3a5b7c9d2e4f)', 1],
    ['C.5f2c9a7e3b1d4e60', 1],
  ]);
  // the client and flow are where a row came from: in the location, never in properties or meta (see the stacking test below)
  assert.deepEqual(obs.map((o) => o.location), [
    'line 1, FilterDetails, client C.1e0f3a5b7c9d2e4f flow F.CTQ7N2V8HQKJE',
    'line 1, ConsumerDetails, client C.1e0f3a5b7c9d2e4f flow F.CTQ7N2V8HQKJE',
    'line 1, client C.1e0f3a5b7c9d2e4f flow F.CTQ7N2V8HQKJE',
    'line 2, FilterDetails, client C.5f2c9a7e3b1d4e60 flow F.CTQ7N2V8HQKJE',
    'line 2, ConsumerDetails, client C.5f2c9a7e3b1d4e60 flow F.CTQ7N2V8HQKJE',
    'line 2, client C.5f2c9a7e3b1d4e60 flow F.CTQ7N2V8HQKJE',
  ]);
  assertNoCollectionDetails(obs);
  const s = await scan([fx('hunt.PermanentWMIEvents.json')], {});
  assert.deepEqual(s.hosts, ['C.5f2c9a7e3b1d4e60', 'IEWIN7 (C.1e0f3a5b7c9d2e4f)']);
  assert.deepEqual(s.findings.map((f) => [f.host, f.filter?.name, f.severity]).sort(), [
    ['C.5f2c9a7e3b1d4e60', 'SCM Event Log Filter', 'info'],
    ['IEWIN7 (C.1e0f3a5b7c9d2e4f)', 'BotFilter82', 'high'],
  ]);
  // --host wins over the hunt columns
  const one = await scan([fx('hunt.PermanentWMIEvents.json')], { host: 'X' });
  assert.deepEqual(one.hosts, ['X']);
});

test('PermanentWMIEvents shapes: an array of matches, a missing side, a custom consumer class, __proto__ keys', async () => {
  const consumer = { CreatorSID: [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0], Name: 'c1', ScriptingEngine: 'VBScript', ScriptText: 'x', ScriptFileName: null };
  const rows = [
    { ConsumerDetails: [consumer, { ...consumer, ScriptText: 'y' }], FilterDetails: null, Namespace: 'root/default' },
    { ConsumerDetails: { Name: 'odd', Payload: 'abc' }, FilterDetails: { Name: 'f2', Query: 'select 1', __proto__x: 1 }, Namespace: 'root/totallylegit' },
    JSON.parse('{"ConsumerDetails":{"Name":"p","CommandLineTemplate":"a","__proto__":{"polluted":1}},"FilterDetails":{"Name":"pf"},"Namespace":"root/subscription","__proto__":{"polluted":2}}'),
  ];
  const { obs } = await observe(bufferInput('rows.json', Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'))));
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  const c = obs.filter((o) => o.part === 'consumer');
  assert.deepEqual(c.map((o) => [o.namespace, o.className, o.name, o.user]), [
    ['ROOT\\default', 'ActiveScriptEventConsumer', 'c1', 'S-1-5-18'],
    ['ROOT\\default', 'ActiveScriptEventConsumer', 'c1', 'S-1-5-18'],
    ['ROOT\\totallylegit', null, 'odd', null],
    ['ROOT\\subscription', 'CommandLineEventConsumer', 'p', null],
  ]);
  const b = obs.filter((o) => o.part === 'binding');
  assert.deepEqual(b.map((o) => [referenceTarget(o.properties, 'Filter')?.name ?? null, referenceTarget(o.properties, 'Consumer')?.name ?? null]), [
    [null, 'c1'],
    ['f2', 'odd'],
    ['pf', 'p'],
  ]);
  assert.match(String(b[0]!.meta['Note']), /filter was not found/);
});

test('PermanentWMIEvents: the same objects under two namespaces (absolute binding references) leave the namespace unknown', async () => {
  const row = JSON.parse(readFileSync(fx('bot.PermanentWMIEvents.json'), 'utf8')) as Record<string, unknown>;
  const text = [row, { ...row, Namespace: 'root/default' }, row].map((r) => JSON.stringify(r)).join('\n');
  const { obs, notes } = await observe(bufferInput('dup.json', Buffer.from(text)));
  assert.deepEqual(obs.map((o) => [o.part, o.namespace, o.meta['NamespaceCandidates']]), [
    ['filter', null, 'ROOT\\subscription, ROOT\\default'],
    ['consumer', null, 'ROOT\\subscription, ROOT\\default'],
    ['binding', null, 'ROOT\\subscription, ROOT\\default'],
  ]);
  assert.equal(obs[2]!.location, 'line 1 (also line 2, line 3)');
  assert.deepEqual(notes.map((n) => n.message), ['1 Windows.Persistence.PermanentWMIEvents subscription(s) were listed under several namespaces (the artifact repeats a binding whose references carry a namespace); their namespace is left unknown']);
  // a row repeated under the same namespace is one subscription
  const same = await observe(bufferInput('same.json', Buffer.from([row, row].map((r) => JSON.stringify(r)).join('\n'))));
  assert.deepEqual(same.obs.map((o) => o.namespace), ['ROOT\\subscription', 'ROOT\\subscription', 'ROOT\\subscription']);
  assert.deepEqual(same.notes, []);
});

// ---- Windows.ETW.WMIEventing -----------------------------------------------------------------------------------------

test('ETW WMIEventing rows: created and deleted, each with the process that did it', async () => {
  const { obs, r } = await observe(fileInput(fx('bot.WMIEventing.json')));
  assert.deepEqual(
    obs.map((o) => [o.source, o.action, o.part, o.namespace, o.className, o.name ?? referenceTarget(o.properties, 'Filter')?.name, o.meta['Process'], o.meta['ProcessId'], o.user]),
    [
      ['wmi-trace', 'created', 'consumer', 'ROOT\\subscription', 'CommandLineEventConsumer', 'BotConsumer23', 'WMIC.exe', 3184, 'IEWIN7\\IEUser'],
      ['wmi-trace', 'created', 'binding', 'ROOT\\subscription', '__FilterToConsumerBinding', 'BotFilter82', 'WMIC.exe', 3196, 'IEWIN7\\IEUser'],
      ['wmi-trace', 'created', 'filter', 'ROOT\\subscription', '__EventFilter', 'BotFilter82', 'WMIC.exe', 1616, 'IEWIN7\\IEUser'],
      ['wmi-trace', 'deleted', 'consumer', 'ROOT\\subscription', 'CommandLineEventConsumer', 'BotConsumer23', 'WMIC.exe', 2432, 'IEWIN7\\IEUser'],
      ['wmi-trace', 'deleted', 'filter', 'ROOT\\subscription', '__EventFilter', 'BotFilter82', 'WMIC.exe', 4084, 'IEWIN7\\IEUser'],
      ['wmi-trace', 'deleted', 'binding', 'ROOT\\subscription', '__FilterToConsumerBinding', 'BotFilter82', 'WMIC.exe', 3016, 'IEWIN7\\IEUser'],
    ],
  );
  assert.match(String(obs[0]!.meta['ProcessCommandLine']), /PATH CommandLineEventConsumer CREATE Name="BotConsumer23"/);
  assert.match(String(obs[3]!.meta['ProcessCommandLine']), /WHERE Name="BotConsumer23" DELETE/);
  assert.deepEqual([referenceTarget(obs[1]!.properties, 'Consumer'), obs[1]!.properties['Consumer']], [{ className: 'CommandLineEventConsumer', name: 'BotConsumer23' }, 'CommandLineEventConsumer.Name="BotConsumer23"']);
  // the trace's own fields are meta: the traced objects get no property values from it but their path's keys
  assert.deepEqual(obs[0]!.properties, {});
  assert.deepEqual([obs[0]!.time, obs[5]!.time], ['2019-05-11T17:58:23.3400000Z', '2019-05-11T17:58:55.0900000Z']);
  assert.equal(r.items[0]!.detail, 'Velociraptor Windows.ETW.WMIEventing (6 rows)');
  // with the Sysmon log of the same host: one subscription, its history now says which process created and deleted it
  const f = byName(await scan([SYSMON, fx('bot.WMIEventing.json')], { host: 'IEWIN7' }), 'BotFilter82');
  assert.equal(f.status, 'deleted');
  const traced = f.observations.filter((o) => o.source === 'wmi-trace').map((o) => `${o.part}:${o.action}:${o.meta['ProcessId']}`);
  assert.deepEqual(traced.sort(), ['binding:created:3196', 'binding:deleted:3016', 'consumer:created:3184', 'consumer:deleted:2432', 'filter:created:1616', 'filter:deleted:4084']);
  assert.deepEqual(f.coverage.find((c) => c.source === 'WMI-Activity trace (ETW)'), { source: 'WMI-Activity trace (ETW)', saw: true, reason: null });
  assert.equal(f.severity, byName(await scan([SYSMON], {}), 'BotFilter82').severity);
});

test('WMI-Activity operation text: the real 5858 ExecMethod path, the blog\'s custom-namespace binding, provider registrations', async () => {
  // the Operation of the real 5858 record in sigma5858.EvtxHunter.json
  const row = JSON.parse(readFileSync(fx('sigma5858.EvtxHunter.json'), 'utf8').split('\n')[0]!) as { UserData: { Operation_ClientFailure: { Operation: string } } };
  const op = parseWmiOperation(row.UserData.Operation_ClientFailure.Operation)!;
  assert.deepEqual([op.method, op.namespace], ['ExecMethod', 'ROOT\\CIMV2']);
  assert.deepEqual(parseObjectRef(op.path), { namespace: 'ROOT\\CIMV2', className: 'Win32_NTEventlogFile', keys: { Name: 'C:\\WINDOWS\\System32\\Winevt\\Logs\\System.evtx' }, name: 'C:\\WINDOWS\\System32\\Winevt\\Logs\\System.evtx' });
  // shapes shown in the Velociraptor blog (custom namespace, custom consumer class)
  const rows = [
    ['2022-01-17T03:52:34.2854482Z', 'Start IWbemServices::PutInstance - ROOT\\totallylegit : __EventFilter.Name="Eviltotallylegit"'],
    ['2022-01-17T03:52:34.3368755Z', 'Start IWbemServices::PutInstance - ROOT\\totallylegit : __FilterToConsumerBinding.Consumer="NotActiveScript.Name=\\"Eviltotallylegit1\\"",Filter="__EventFilter.Name=\\"Eviltotallylegit\\""'],
    ['2022-01-17T03:52:34.0924421Z', 'Start IWbemServices::PutInstance - ROOT\\totallylegit : __EventConsumerProviderRegistration.provider="__Win32Provider.Name=\\"NotActiveScript\\""'],
    ['2022-01-17T12:19:08.4343074Z', 'Start IWbemServices::DeleteInstance - ROOT\\totallylegit : __EventFilter.Name="Eviltotallylegit"'],
    ['2022-01-17T12:19:09.0000000Z', 'Start IWbemServices::ExecQuery - ROOT\\totallylegit : select * from __EventFilter'],
  ].map(([t, o]) => JSON.stringify({ EventTime: t, EventId: 11, NamespaceName: 'ROOT\\totallylegit', Operation: o, Process: null, IsLocal: true, ClientMachine: 'RE-DEV', User: 'RE-DEV\\yolo', CorrelationId: '{x}', OperationId: 1, GroupOperationId: 1 }));
  const { obs, notes } = await observe(bufferInput('etw.json', Buffer.from(rows.join('\n'))));
  assert.deepEqual(obs.map((o) => [o.action, o.part, o.namespace, o.className, o.name, referenceTarget(o.properties, 'Consumer')?.className ?? null]), [
    ['created', 'filter', 'ROOT\\totallylegit', '__EventFilter', 'Eviltotallylegit', null],
    ['created', 'binding', 'ROOT\\totallylegit', '__FilterToConsumerBinding', null, 'NotActiveScript'],
    ['created', null, 'ROOT\\totallylegit', '__EventConsumerProviderRegistration', null, null],
    ['deleted', 'filter', 'ROOT\\totallylegit', '__EventFilter', 'Eviltotallylegit', null],
  ]);
  assert.equal(referenceTarget(obs[1]!.properties, 'Consumer')?.name, 'Eviltotallylegit1');
  assert.equal(notes.length, 1);
  assert.match(notes[0]!.message, /1 Windows\.ETW\.WMIEventing row\(s\) whose Operation is not a put\/delete/);
});

// ---- EvtxHunter and parse_evtx rows ---------------------------------------------------------------------------------

/** An observation without where it was read, for comparing readers. */
const fact = (o: Observation): string => JSON.stringify({ ...o, file: '', location: '' });

test('EvtxHunter rows give the observations the EVTX reader gives for the same records (Sysmon 1/19/20/21)', async () => {
  const { obs, r } = await observe(fileInput(fx('sysmon.EvtxHunter.json')));
  const fromEvtx = observeEvtx(SYSMON, new NoteSink()).observations.filter((o) => o.source === 'sysmon');
  const hunted = obs.filter((o) => o.host === 'IEWIN7');
  // the hunter row time is whole seconds; Sysmon observations carry UtcTime, so they agree exactly
  assert.deepEqual(hunted.map(fact), fromEvtx.map(fact));
  assert.match(hunted[0]!.location, /^line 2 \(record 16111 of C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-Sysmon%4Operational\.evtx\)$/);
  // the WMIGhost rows of another host (Computer PC04.example.corp): ActiveScript consumer, absolute binding references
  const ghost = obs.filter((o) => o.host === 'PC04.example.corp');
  assert.deepEqual(ghost.map((o) => [o.action, o.part, o.className, o.name ?? referenceTarget(o.properties, 'Consumer')?.name]), [
    ['modified', 'consumer', 'ActiveScriptEventConsumer', 'ProbeScriptFint'],
    ['modified', 'binding', '__FilterToConsumerBinding', 'ProbeScriptFint'],
  ]);
  assert.match(String(ghost[0]!.properties['ScriptText']), /^var sXmlUrl=/);
  assert.deepEqual(r.items.map((i) => [i.host, i.records]).sort(), [
    ['IEWIN7', 12],
    ['PC04.example.corp', 2],
  ]);
  assert.ok(r.items.every((i) => /^Velociraptor Windows\.EventLogs\.EvtxHunter rows: Microsoft-Windows-Sysmon\/Operational; event ids /.test(i.detail)));
  assert.deepEqual(r.logs.find((l) => l.host === 'IEWIN7')?.eventIds.sort((a, b) => a - b), [1, 19, 20, 21]);
  // the scan finds the same subscription, with Sysmon coverage (the logs summary says which channels were read)
  const fVr = byName(await scan([fx('sysmon.EvtxHunter.json')], {}), 'BotFilter82');
  const fLog = byName(await scan([SYSMON], {}), 'BotFilter82');
  // the hunt's rows hold records 16110-16124 without 16116, the cmd.exe start the subscription ran
  assertSameAsLogButRuns(fVr, fLog);
  assert.equal(fVr.status, 'deleted');
});

test('Windows.EventLogs.Evtx (parse_evtx) rows: System/EventData/UserData back to the record shape', async () => {
  const { obs, r } = await observe(fileInput(fx('bot.Evtx.json')));
  const fromEvtx = observeEvtx(SYSMON, new NoteSink()).observations.filter((o) => o.source === 'sysmon');
  assert.deepEqual(obs.map(fact), fromEvtx.map(fact));
  // TimeCreated.SystemTime (epoch seconds) keeps its 100 ns digits
  assert.deepEqual([r.items[0]!.first, r.items[0]!.last], ['2019-05-11T17:58:23.3406596Z', '2019-05-11T17:58:55.0906596Z']);
  assert.equal(epochToIso(1557597503.3406596), '2019-05-11T17:58:23.3406596Z');
  assert.equal(epochToIso('2019-05-11 17:58:23.34'), '2019-05-11T17:58:23.3400000Z');
});

test('EvtxHunter UserData rows: the real WMI-Activity 5858 is tallied; a 5861 row gives binding, filter and consumer', async () => {
  const { obs, r } = await observe(fileInput(fx('sigma5858.EvtxHunter.json')));
  assert.deepEqual(obs, []);
  // per channel, the record span and record number coverage needs (the row's record 5314: not the log's first)
  assert.deepEqual(r.logs, [
    {
      host: 'swachchhanda',
      channels: ['Microsoft-Windows-WMI-Activity/Operational'],
      eventIds: [5858],
      file: fx('sigma5858.EvtxHunter.json'),
      kind: 'velociraptor',
      perChannel: [{ channel: 'Microsoft-Windows-WMI-Activity/Operational', records: 1, first: '2026-07-02T02:05:27.0000000Z', last: '2026-07-02T02:05:27.0000000Z', eventIds: [5858], channelFrom: 'records', oldestRecordId: 5314, newestRecordId: 5314, distinctRecordIds: 1 }],
    },
  ]);
  // a 5861 in the documented UserData layout (EZ map 5861; wmi-tradecraft §3), values of the real SCM subscription
  const sid = '{1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0}';
  const cause = `Binding EventFilter: \ninstance of __EventFilter\n{\n\tCreatorSID = ${sid};\n\tEventNamespace = "root\\\\cimv2";\n\tName = "SCM Event Log Filter";\n\tQuery = "select * from MSFT_SCMEventLogEvent";\n\tQueryLanguage = "WQL";\n};\nPerm. Consumer: \ninstance of NTEventLogEventConsumer\n{\n\tCategory = 0;\n\tCreatorSID = ${sid};\n\tEventType = 1;\n\tName = "SCM Event Log Consumer";\n\tNameOfUserSIDProperty = "sid";\n\tSourceName = "Service Control Manager";\n};\n`;
  const row = { EventTime: '2021-06-05T12:14:03Z', Computer: 'WIN10', Channel: 'Microsoft-Windows-WMI-Activity/Operational', Provider: 'Microsoft-Windows-WMI-Activity', EventID: 5861, EventRecordID: 7, UserSID: 'S-1-5-18', Username: null, EventData: null, UserData: { Operation_ESStoConsumerBinding: { Namespace: '//./root/subscription', ESS: 'SCM Event Log Filter', CONSUMER: 'NTEventLogEventConsumer="SCM Event Log Consumer"', PossibleCause: cause } }, Message: '', OSPath: 'C:\\x.evtx' };
  const got = await observe(bufferInput('h.json', Buffer.from(JSON.stringify(row))));
  assert.deepEqual(got.obs.map((o) => [o.source, o.action, o.part, o.namespace, o.className, o.name ?? o.properties['Filter']]), [
    ['wmi-activity', 'activated', 'binding', 'ROOT\\subscription', '__FilterToConsumerBinding', 'SCM Event Log Filter'],
    ['wmi-activity', 'activated', 'filter', 'ROOT\\subscription', '__EventFilter', 'SCM Event Log Filter'],
    ['wmi-activity', 'activated', 'consumer', 'ROOT\\subscription', 'NTEventLogEventConsumer', 'SCM Event Log Consumer'],
  ]);
  assert.equal(got.obs[1]!.user, 'S-1-5-32-544');
});

test('a hunt\'s event rows belong to the client, like its other rows', async () => {
  const line = readFileSync(fx('sysmon.EvtxHunter.json'), 'utf8').split('\n')[1]!;
  const row = { ...(JSON.parse(line) as Record<string, unknown>), FlowId: 'F.1', ClientId: 'C.0123456789abcdef', Fqdn: 'iewin7.lab' };
  const { obs, r } = await observe(bufferInput('hunt.json', Buffer.from(JSON.stringify(row))));
  assert.deepEqual([obs[0]!.host, r.items[0]!.host, r.logs[0]!.host], ['iewin7.lab (C.0123456789abcdef)', 'iewin7.lab (C.0123456789abcdef)', 'iewin7.lab (C.0123456789abcdef)']);
  // where it came from: the record, then the collection
  assert.match(obs[0]!.location, /^line 1 \(record 16111 of .*\), client C\.0123456789abcdef flow F\.1$/);
  assertNoCollectionDetails(obs);
});

// ---- Windows.Sysinternals.Autoruns rows -----------------------------------------------------------------------------

test('Sysinternals.Autoruns rows: the WMI entry is a present consumer; other rows are counted', async () => {
  const { obs, r } = await observe(fileInput(fx('bot.Autoruns.json')));
  assert.deepEqual(obs.map((o) => [o.source, o.action, o.part, o.className, o.name, o.properties['CommandLineTemplate']]), [['autoruns', 'present', 'consumer', 'CommandLineEventConsumer', 'BotConsumer23', 'c:\\Windows\\System32\\cmd.exe']]);
  assert.deepEqual([r.items[0]!.records, r.items[0]!.detail], [4, 'Velociraptor Windows.Sysinternals.Autoruns (4 rows)']);
  const f = byName(await scan([SYSMON, fx('bot.Autoruns.json')], { host: 'IEWIN7' }), 'BotFilter82');
  assert.equal(f.consumer!.name, 'BotConsumer23');
  assert.ok(f.observations.some((o) => o.source === 'autoruns'));
  assert.deepEqual(f.coverage.find((c) => c.source === 'Autoruns (WMI entries)')?.saw, true);
});

// ---- hunt bookkeeping: where a row came from, never what it says ------------------------------------------------------

test('hunt rows of every kind: ClientId / FlowId (and Fqdn, _Source) in the location, never in properties or meta', async () => {
  const hunt = { ClientId: 'C.0123456789abcdef', FlowId: 'F.CTQ7N2V8HQKJE', Fqdn: 'wks1.lab', _Source: 'X' };
  const trace = { EventTime: '2022-01-17T03:52:34.2854482Z', EventId: 11, NamespaceName: 'ROOT\\subscription', Operation: 'Start IWbemServices::PutInstance - ROOT\\subscription : __EventFilter.Name="f1"', Process: null, IsLocal: true, ClientMachine: 'RE-DEV', User: 'RE-DEV\\yolo', CorrelationId: '{x}', OperationId: 1, GroupOperationId: 1 };
  const autoruns = JSON.parse(readFileSync(fx('bot.Autoruns.json'), 'utf8').trim().split('\n').find((l) => l.includes('BotConsumer23'))!) as Record<string, unknown>;
  const permanent = JSON.parse(readFileSync(fx('bot.PermanentWMIEvents.json'), 'utf8')) as Record<string, unknown>;
  const lines = [trace, autoruns, permanent].map((row) => JSON.stringify({ ...row, ...hunt }));
  const { obs } = await observe(bufferInput('hunt.json', Buffer.from(lines.join('\n'))));
  assert.deepEqual(obs.map((o) => [o.source, o.part, o.host, o.location]), [
    ['wmi-trace', 'filter', 'wks1.lab (C.0123456789abcdef)', 'line 1, client C.0123456789abcdef flow F.CTQ7N2V8HQKJE'],
    ['autoruns', 'consumer', 'wks1.lab (C.0123456789abcdef)', 'line 2, client C.0123456789abcdef flow F.CTQ7N2V8HQKJE'],
    ['velociraptor', 'filter', 'wks1.lab (C.0123456789abcdef)', 'line 3, FilterDetails, client C.0123456789abcdef flow F.CTQ7N2V8HQKJE'],
    ['velociraptor', 'consumer', 'wks1.lab (C.0123456789abcdef)', 'line 3, ConsumerDetails, client C.0123456789abcdef flow F.CTQ7N2V8HQKJE'],
    ['velociraptor', 'binding', 'wks1.lab (C.0123456789abcdef)', 'line 3, client C.0123456789abcdef flow F.CTQ7N2V8HQKJE'],
  ]);
  assertNoCollectionDetails(obs);
  // the same rows without the hunt columns give the same properties and meta
  const plain = await observe(bufferInput('plain.json', Buffer.from([trace, autoruns, permanent].map((row) => JSON.stringify(row)).join('\n'))));
  assert.deepEqual(
    obs.map((o) => [o.properties, o.meta]),
    plain.obs.map((o) => [o.properties, o.meta]),
  );
  assert.deepEqual(plain.obs.map((o) => o.location), ['line 1', 'line 2', 'line 3, FilterDetails', 'line 3, ConsumerDetails', 'line 3']);
  // --host names the host; the location still says which client and flow the row came from
  const named = await observeInput(bufferInput('hunt.json', Buffer.from(lines.join('\n'))), { notes: new NoteSink(), host: 'X' });
  assert.ok(named!.observations.every((o) => o.host === 'X' && o.location.endsWith(', client C.0123456789abcdef flow F.CTQ7N2V8HQKJE')));
});

test('stacking: one hunt row collected on 12 clients is one subscription on 12 hosts, not 12 rare ones', async () => {
  // a consumer of a custom class (every property is payload) and the Bot subscription (a standard class)
  const custom = { ConsumerDetails: { Name: 'odd', Payload: 'abc' }, FilterDetails: { Name: 'oddf', Query: 'select * from __InstanceCreationEvent within 5 where TargetInstance isa "Win32_Process"', EventNamespace: 'root\\cimv2' }, Namespace: 'root/subscription' };
  const bot = JSON.parse(readFileSync(fx('bot.PermanentWMIEvents.json'), 'utf8')) as Record<string, unknown>;
  const rows: string[] = [];
  for (let i = 0; i < 12; i++) {
    const hunt = { FlowId: `F.${String(i).padStart(13, 'A')}`, ClientId: `C.${i.toString(16).padStart(16, '0')}`, Fqdn: `wks${i}.lab` };
    rows.push(JSON.stringify({ ...custom, ...hunt }), JSON.stringify({ ...bot, ...hunt }));
  }
  const dir = mkdtempSync(join(tmpdir(), 'vr-stack-'));
  try {
    const file = join(dir, 'hunt.json');
    writeFileSync(file, rows.join('\n'));
    const r = await scan([file], {});
    assert.equal(r.hosts.length, 12);
    assert.equal(r.findings.length, 24);
    assert.deepEqual(
      r.fleet!.stacks.map((st) => [st.name, st.count, st.rare]).sort(),
      [
        ['BotConsumer23', 12, false],
        ['odd', 12, false],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- attacker-sized text: every pattern applied to evidence text runs in linear time ------------------------------------
//
// Each test fails by its timeout when a quadratic (or worse) pattern comes back. A regular expression runs
// synchronously and holds the timer until it returns, so each test ends by waiting on a timer: a test whose work
// overran its timeout then fails (without that wait node:test would let it pass). No wall-clock time is asserted.

const LINEAR = { timeout: 20000 };
const timersRun = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

const traceRowOf = (operation: string): string =>
  // Operation last: the head of the file, where it is recognized, ends inside a long first row
  JSON.stringify({ EventTime: '2022-01-17T03:52:34.2854482Z', EventId: 11, NamespaceName: 'ROOT\\subscription', Process: null, IsLocal: true, ClientMachine: 'RE-DEV', User: 'RE-DEV\\yolo', CorrelationId: '{x}', OperationId: 1, GroupOperationId: 1, Operation: operation });

test('WMIEventing Operation: long runs of spaces around ` - ` and ` : ` parse in linear time', LINEAR, async () => {
  const sp = ' '.repeat(6000);
  const rows = [
    // cubic for /-\s*(.*?)\s+:\s+/ (4,000 spaces took 14 s): no ` : `, skipped
    'IWbemServices::PutInstance - ' + sp + 'x',
    // the namespace ends at the whitespace before the first colon with whitespace on both sides
    'Start IWbemServices::PutInstance - ROOT\\subscription' + sp + ': __EventFilter.Name="f1"',
    // nothing between ` - ` and ` : `: no namespace in the operation (the row's NamespaceName is used)
    'Start IWbemServices::DeleteInstance -' + sp + ': __EventFilter.Name="f2"',
    // many colons, none with whitespace on both sides: skipped
    'Start IWbemServices::PutInstance - x' + ' :x'.repeat(100000),
    // the first ` : ` ends the namespace; the path keeps the rest
    'Start IWbemServices::PutInstance - ROOT\\a' + ' '.repeat(100000) + ':\t' + ' '.repeat(100000) + '__EventFilter.Name="f : 3"',
  ];
  const { obs, notes } = await observe(bufferInput('etw.json', Buffer.from(rows.map(traceRowOf).join('\n'))));
  await timersRun();
  assert.deepEqual(obs.map((o) => [o.action, o.namespace, o.className, o.name]), [
    ['created', 'ROOT\\subscription', '__EventFilter', 'f1'],
    ['deleted', 'ROOT\\subscription', '__EventFilter', 'f2'],
    ['created', 'ROOT\\a', '__EventFilter', 'f : 3'],
  ]);
  assert.deepEqual(notes.map((n) => n.message), ['2 Windows.ETW.WMIEventing row(s) whose Operation is not a put/delete of an object path were skipped']);
  assert.deepEqual(parseWmiOperation('Start IWbemServices::PutInstance - ROOT\\x' + sp + ':' + sp + 'C.Name="y"'), { method: 'PutInstance', namespace: 'ROOT\\x', path: 'C.Name="y"' });
  // as the old pattern read them: a colon right after ` - ` is part of the namespace when a later ` : ` follows
  assert.deepEqual(parseWmiOperation('IWbemServices::PutInstance - : a : b'), { method: 'PutInstance', namespace: ': a', path: 'b' });
  assert.deepEqual(parseWmiOperation('IWbemServices::PutInstance - : a'), { method: 'PutInstance', namespace: null, path: 'a' });
  assert.equal(parseWmiOperation('IWbemServices::PutInstance -: a'), null);
});

test('WMIEventing object path: a long word run among the keys is read in linear time', LINEAR, async () => {
  // quadratic for an unguarded /([A-Za-z_]\w*)=/g key scan (80,000 word characters took 3.5 s)
  const run = 'a'.repeat(250000);
  const rows = [
    'Start IWbemServices::PutInstance - ROOT\\subscription : __EventFilter.' + run + ',Name="f1"',
    'Start IWbemServices::PutInstance - ROOT\\subscription : __EventFilter.1' + run + '=x,Name="f2"',
  ];
  const { obs, notes } = await observe(bufferInput('etw.json', Buffer.from(rows.map(traceRowOf).join('\n'))));
  await timersRun();
  assert.deepEqual(obs.map((o) => [o.className, o.name]), [
    ['__EventFilter', 'f1'],
    ['__EventFilter', 'f2'],
  ]);
  assert.deepEqual(notes, []);
  // keys start where a word starts; leading digits are skipped (as before)
  assert.deepEqual(parseObjectRef('C.' + run + ',Name="x",9Key=1,_k="a\\"b"')?.keys, { Name: 'x', Key: '1', _k: 'a"b' });
});

test('WMIEventing binding: a long word run inside a reference is read in linear time (parseObjectRef)', LINEAR, async () => {
  // quadratic for the unguarded key scan of parseObjectRef (80,000 word characters took 3.9 s)
  const run = 'b'.repeat(250000);
  const op = 'Start IWbemServices::PutInstance - ROOT\\subscription : __FilterToConsumerBinding.Consumer="CommandLineEventConsumer.' + run + ',Name=\\"c1\\"",Filter="__EventFilter.Name=\\"f1\\""';
  const { obs } = await observe(bufferInput('etw.json', Buffer.from(traceRowOf(op))));
  await timersRun();
  assert.deepEqual(obs.map((o) => [o.part, referenceTarget(o.properties, 'Consumer')?.className, referenceTarget(o.properties, 'Consumer')?.name, referenceTarget(o.properties, 'Filter')?.name]), [['binding', 'CommandLineEventConsumer', 'c1', 'f1']]);
});

test('Sysinternals.Autoruns rows: long cells are searched for an object path in linear time', LINEAR, async () => {
  const base = JSON.parse(readFileSync(fx('bot.Autoruns.json'), 'utf8').trim().split('\n').find((l) => l.includes('BotConsumer23'))!) as Record<string, unknown>;
  const rows = [
    // quadratic for an unguarded /([A-Za-z_]\w*)\.Name="/ (an 80 KB cell took 4.6 s, and a row is searched 5 times)
    { ...base, Entry: 'long1', 'Launch String': 'a'.repeat(200000) },
    // many `\\host\` and `root\` starts, none of which ends in a colon before the class
    { ...base, Entry: 'CommandLineEventConsumer', 'Launch String': '\\\\a'.repeat(60000) + '" CommandLineEventConsumer.Name="x1"' },
    { ...base, Entry: 'CommandLineEventConsumer', 'Launch String': 'root\\'.repeat(40000) + ':CommandLineEventConsumer.Name="x2"' },
    // one that does: the namespace runs from the first `root` to the colon
    { ...base, Entry: 'CommandLineEventConsumer', 'Launch String': 'root\\x'.repeat(40000) + ':CommandLineEventConsumer.Name="x3"' },
  ];
  const { obs } = await observe(bufferInput('autoruns.json', Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'))));
  await timersRun();
  assert.deepEqual(
    obs.map((o) => [o.namespace?.length ?? null, o.className, o.name, String(o.properties['CommandLineTemplate'] ?? '').length]),
    [
      [null, 'CommandLineEventConsumer', 'long1', 200000],
      [null, 'CommandLineEventConsumer', 'x1', 0],
      [null, 'CommandLineEventConsumer', 'x2', 0],
      ['ROOT'.length + 'root\\x'.length * 40000 - 4, 'CommandLineEventConsumer', 'x3', 0],
    ],
  );
  assert.ok(obs[3]!.namespace!.startsWith('ROOT\\xroot\\x'));
});

// ---- robustness -------------------------------------------------------------------------------------------------

function chunked(name: string, data: Buffer, size: number): EvidenceInput {
  const b = bufferInput(name, data);
  return {
    ...b,
    async *chunks() {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    },
  };
}

test('JSONL: a bad line is one warning with its line number; lines split across chunks; CRLF; BOM; last line without newline', async () => {
  const lines = readFileSync(fx('bot.WMIEventing.json'), 'utf8').trim().split('\n');
  const text = '\ufeff' + [lines[0], '{"EventTime": "broken', lines[1], '', '[1,2]', lines[2]].join('\r\n');
  for (const size of [3, 7, 1 << 20]) {
    const { obs, notes } = await observe(chunked(`bad-${size}.json`, Buffer.from(text), size));
    assert.equal(obs.length, 3, `chunk size ${size}`);
    assert.deepEqual(notes.map((n) => [n.level, n.message.replace(/ \(.*\)/, '')]), [
      ['warning', 'line 2: not JSON; skipped'],
      ['warning', 'line 5: not a JSON object; skipped'],
    ]);
  }
});

test('JSONL: an over-long line is skipped with a warning, the rest is read; many bad lines are summarized', async () => {
  const lines = readFileSync(fx('bot.WMIEventing.json'), 'utf8').trim().split('\n');
  const saved = limits.maxLine;
  limits.maxLine = 4096;
  try {
    const long = JSON.stringify({ ConsumerDetails: { Name: 'x', ScriptText: 'A'.repeat(10000) }, FilterDetails: null, Namespace: 'root/subscription' });
    const text = [lines[0], long, lines[1], long].join('\n');
    for (const size of [5, 1000, 1 << 20]) {
      const { obs, notes } = await observe(chunked('long.json', Buffer.from(text), size));
      assert.equal(obs.length, 2);
      assert.deepEqual(notes.map((n) => n.message), ['line 2: longer than 4096 bytes; skipped', 'line 4: longer than 4096 bytes; skipped']);
    }
  } finally {
    limits.maxLine = saved;
  }
  const many = [lines[0], ...Array.from({ length: 10 }, () => 'nope')].join('\n');
  const { obs, notes } = await observe(bufferInput('many.json', Buffer.from(many)));
  assert.equal(obs.length, 1);
  assert.equal(notes.length, 4);
  assert.match(notes[3]!.message, /^7 more damaged note\(s\) like the 3 above, not listed; the first of them: line 5: not JSON/);
  assert.deepEqual(notes.map((n) => n.code), ['damaged', 'damaged', 'damaged', 'damaged']);
});

test('rows of no artifact in a recognized file are counted in one note; a broken JSON array is an error note, not a crash', async () => {
  const lines = readFileSync(fx('bot.PermanentWMIEvents.json'), 'utf8').trim();
  const { obs, notes } = await observe(bufferInput('mixed.json', Buffer.from([lines, '{"x":1}', '{"y":2}'].join('\n'))));
  assert.equal(obs.length, 3);
  assert.deepEqual(notes.map((n) => n.message), ['2 row(s) of no Velociraptor artifact wmiscope reads were skipped (first: line 2)']);
  const arr = readFileSync(fx('gui.PermanentWMIEvents.json'), 'utf8');
  const broken = await observe(bufferInput('broken.json', Buffer.from(arr.slice(0, arr.length - 40))));
  assert.deepEqual(broken.obs, []);
  assert.equal(broken.notes[0]!.level, 'error');
  assert.match(broken.notes[0]!.message, /^not a valid JSON array/);
  // UTF-16 with a BOM (a re-saved export)
  const u16 = await observe(bufferInput('u16.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines, 'utf16le')])));
  assert.equal(u16.obs.length, 3);
});

test('mutated fixtures never throw: every damage is a note', async () => {
  const texts = ['bot.PermanentWMIEvents.json', 'gui.PermanentWMIEvents.json', 'bot.WMIEventing.json', 'sysmon.EvtxHunter.json', 'bot.Evtx.json', 'bot.Autoruns.json', 'sigma5858.EvtxHunter.json'].map((n) => readFileSync(fx(n), 'utf8'));
  const edit = fc.tuple(fc.nat(), fc.nat(40), fc.constantFrom('', '"', '{', '}', '[', ']', ',', ':', '\n', '\\', 'null', '1e999', '"__proto__"', '{"a":', '\u0000', '\ud800'));
  await fc.assert(
    fc.asyncProperty(fc.nat(texts.length - 1), fc.array(edit, { minLength: 1, maxLength: 6 }), async (which, edits) => {
      let t = texts[which]!;
      for (const [at, del, ins] of edits) {
        const p = at % (t.length + 1);
        t = t.slice(0, p) + ins + t.slice(p + del);
      }
      const r = await velociraptorAdapter.observe(bufferInput('m.json', Buffer.from(t)), { notes: new NoteSink() });
      for (const o of r.observations) assert.equal(typeof o.source, 'string');
      assert.equal(({} as Record<string, unknown>)['a'], undefined);
    }),
    { numRuns: 300, seed: 20260822 },
  );
});

// ---- the fixtures are what the generator makes from the real evidence ------------------------------------------------

test('fixtures regenerate byte for byte from their sources (make-vr-fixtures.ts)', { skip: skipReason || cimSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vr-fixtures-'));
  try {
    const written = makeFixtures(dir);
    assert.equal(written.length, 10, written.join(', '));
    for (const f of written) {
      const rel = relative(dir, f);
      assert.ok(readFileSync(f).equals(readFileSync(join(repoRoot(), 'test/fixtures', rel))), `${rel} differs from the committed fixture`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
