/**
 * Event exports as evidence (src/sources/formats/exports.ts): every recorded fixture of test/fixtures/exports/ scanned
 * end to end against the EVTX it came from, real NXLog exports (OTRF) with their expected findings, recognition
 * by content, and the hostile or damaged inputs (BOM, UTF-16, broken lines, truncation, `__proto__`, bad XML).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { scan } from '../src/scan.js';
import type { EvidenceNote, Finding, ScanResult } from '../src/model/types.js';
import { bufferInput, headText } from '../src/sources/input.js';
import type { ObserveResult } from '../src/sources/input.js';
import { observeInput } from '../src/sources/dispatch.js';
import { detectAdapter } from '../src/sources/formats/index.js';
import { eventRecords, isEventXml, jsonShape } from '../src/sources/formats/exports.js';
import { eventFromXml } from '../src/sources/text/eventxml.js';
import { jsonValues, lines, xmlEvents } from '../src/sources/text/textstream.js';
import type { SplitIssue } from '../src/sources/text/textstream.js';
import { sysmonWmiFromMessage, wmiActivityFromMessage } from '../src/events/messages.js';
import { wmiActivityEvent } from '../src/events/index.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';
import { SYSMON_EVTX, exportsOf, sysmonExportsOf, otrfDerivedLines, readEvtx, toNxlogRecord, wmiActivityMessage } from './support/make-export-fixtures.js';
import { NoteSink } from '../src/sources/notes.js';

const schema = JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as { $id: string };
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
ajv.addSchema(schema);
const validate = ajv.getSchema(schema.$id)!;

const FIX = join(repoRoot(), 'test/fixtures/exports');
const fixture = (name: string): string => join(FIX, name);

/** What must agree between two scans of the same events: per finding, identity and verdict. */
function essence(r: ScanResult): string[] {
  return r.findings
    .map((f: Finding) =>
      JSON.stringify([
        f.id,
        f.host,
        f.namespace,
        f.status,
        f.severity,
        f.filter?.name ?? null,
        f.filter?.values['Query'] ?? null,
        f.consumer?.className ?? null,
        f.consumer?.name ?? null,
        f.consumer?.values['CommandLineTemplate'] ?? null,
        f.consumer?.values['ScriptText'] ?? null,
        f.binding ? 'binding' : 'no binding',
      ]),
    )
    .sort();
}

async function observeText(name: string, text: string | Buffer): Promise<{ res: ObserveResult | null; notes: EvidenceNote[] }> {
  const sink = new NoteSink();
  const res = await observeInput(bufferInput(name, Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8')), { notes: sink });
  return { res, notes: sink.list() };
}

// ---- recorded fixtures against their EVTX ----------------------------------------------------------------------------

const SYSMON_FIXTURES: Array<[string, string]> = [
  ['sysmon-bot.evtx_dump.json', 'evtx-json'],
  ['sysmon-bot.wmiscope.jsonl', 'evtx-json'],
  ['sysmon-bot.chainsaw-search.json', 'evtx-json'],
  ['sysmon-bot.chainsaw-hunt.jsonl', 'evtx-json'],
  ['sysmon-bot.ecs.ndjson', 'ecs'],
  ['sysmon-bot.es-search.json', 'ecs'],
  ['sysmon-bot.nxlog.jsonl', 'nxlog'],
  ['sysmon-bot.sentinel-windowsevent.json', 'sentinel'],
  ['sysmon-bot.sentinel-event.jsonl', 'sentinel'],
  ['sysmon-bot.splunk-xml.jsonl', 'splunk'],
  ['sysmon-bot.splunk-classic.json', 'splunk'],
  ['sysmon-bot.sentinel-windowsevent.csv', 'sentinel-csv'],
  ['sysmon-bot.sentinel-event.csv', 'sentinel-csv'],
  ['sysmon-bot.splunk-xml.csv', 'splunk-csv'],
  ['sysmon-bot.splunk-classic.csv', 'splunk-csv'],
  ['sysmon-bot.events.xml', 'event-xml'],
  ['sysmon-bot.wevtutil.xml', 'event-xml'],
  ['sysmon-bot.evtxexport.xml', 'event-xml'],
  ['sysmon-bot.python-evtx.xml', 'event-xml'],
];

/** Exports of a table without the EventRecordID (Log Analytics' `Event`): their records are cited by their place only. */
const NO_RECORD_ID = new Set(['sysmon-bot.sentinel-event.jsonl', 'sysmon-bot.sentinel-event.csv']);

test('every fixture of test/fixtures/exports is covered here and has a licence line in NOTICE.md', () => {
  const notice = readFileSync(fixture('NOTICE.md'), 'utf8');
  const files = readdirSync(FIX).filter((f) => f !== 'NOTICE.md');
  const covered = new Set([...SYSMON_FIXTURES.map(([f]) => f), 'otrf-covenant-persistwmi.nxlog.jsonl', 'otrf-covenant-activescript.nxlog.jsonl', 'otrf-wmi.events.xml', 'otrf-wmi.ecs.ndjson', 'otrf-wmi.wmiscope.jsonl', 'otrf-wmi.sentinel-union.jsonl', 'otrf-wmi.sentinel-union.csv', 'otrf-wmi.splunk-classic.json']);
  for (const f of files) {
    assert.ok(covered.has(f), `${f} is not tested`);
    assert.ok(notice.includes(f), `${f} is not in NOTICE.md`);
  }
});

test('the recorded fixtures are what the generator writes today (sysmon-bot.*, except the Debian tools\' output)', () => {
  const events = readEvtx(join(repoRoot(), SYSMON_EVTX));
  for (const [suffix, data] of Object.entries({ ...exportsOf(events, SYSMON_EVTX), ...sysmonExportsOf(events) })) {
    const onDisk = readFileSync(fixture(`sysmon-bot.${suffix}`));
    assert.ok(onDisk.equals(Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8')), `sysmon-bot.${suffix} differs from the generator's output: rerun test/support/make-export-fixtures`);
  }
});

const evtxScan = scan([join(repoRoot(), SYSMON_EVTX)], {});

for (const [name, format] of SYSMON_FIXTURES) {
  test(`${name} (${format}) gives the findings of the EVTX it came from`, async () => {
    const ref = await evtxScan;
    assert.ok(ref.findings.some((f) => f.filter?.name === 'BotFilter82'), 'reference scan finds the subscription');
    const r = await scan([fixture(name)], {});
    assert.ok(validate(JSON.parse(JSON.stringify(r))), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.deepEqual(essence(r), essence(ref));
    // the same observations, one for one (their location points into the export)
    const obs = (x: ScanResult): string[] => x.findings.flatMap((f) => f.observations.map((o) => `${o.source}|${o.part}|${o.action}|${o.name}|${o.className}`)).sort();
    assert.deepEqual(obs(r), obs(ref));
    const item = r.evidence.find((e) => e.file === fixture(name));
    assert.ok(item, 'evidence item for the export');
    assert.equal(item.kind, 'export');
    assert.equal(item.host, 'IEWIN7');
    assert.ok(item.detail.startsWith(`${format}: `), item.detail);
    // every record once: the EVTX has 17 (Chainsaw's duplicate hit on one record is dropped)
    assert.equal(item.records, 17);
    const loc = r.findings[0]!.observations[0]!.location;
    // cited by the EventRecordID the export keeps, then where in the export; Log Analytics' Event table keeps none
    if (NO_RECORD_ID.has(name)) assert.match(loc, /^line \d+$/);
    else assert.match(loc, format === 'event-xml' ? /^record 161\d\d \(element \d+, line \d+\)$/ : /^record 161\d\d \((line|header #\d+, line|element) \d+/);
    if (format === 'nxlog') {
      // inherent: NXLog writes EventTime in the collector's local time, to the second, without a zone; said
      // once. Sysmon WMI times come from the event's own UtcTime and are unaffected; a process-creation time
      // (the record's TimeCreated) keeps only its seconds.
      assert.deepEqual(r.notes.map((n) => n.message), [`nxlog: 17 record(s) have a time without a time zone (NXLog EventTime is the collector's local time); taken as UTC`]);
      const t = (x: ScanResult, sysmon: boolean): Array<string | null> =>
        x.findings.flatMap((f) => f.observations.filter((o) => (o.source === 'sysmon') === sysmon).map((o) => (sysmon ? o.time : (o.time ?? '').slice(0, 19)))).sort();
      assert.deepEqual(t(r, true), t(ref, true));
      assert.deepEqual(t(r, false), t(ref, false));
    } else assert.deepEqual(r.notes, []);
  });
}

// ---- real NXLog exports (OTRF Security-Datasets) -----------------------------------------------------------------------

test('OTRF NXLog export (CommandLineEventConsumer): Sysmon and the WMI-Activity message text give one subscription', async () => {
  const r = await scan([fixture('otrf-covenant-persistwmi.nxlog.jsonl')], {});
  // OTRF's EventTime is the collector's local time without a zone (2019-12-04 23:47:55 for the 5861, two seconds
  // before Logstash's @timestamp 2019-12-05T04:47:57.321Z): the event is timed by EventTime, read at the zone the
  // difference shows (UTC-05:00), not by when it reached the pipeline; the report says so
  assert.deepEqual(r.notes.map((n) => [n.code, n.message]), [['assumption', "nxlog: 10 record(s) are timed by EventTime, the collector's local time without a zone, read at UTC-05:00 (10): the zone is the difference from @timestamp (when the record reached the pipeline, UTC) to the nearest quarter hour; times to the second"]]);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0]!;
  // logged-only: seen in event logs, no repository to say whether it still exists
  assert.deepEqual([f.host, f.namespace, f.status, f.filter?.name, f.consumer?.className, f.consumer?.name], ['IT001.shire.com', 'ROOT\\subscription', 'logged-only', 'Evil Persistence', 'CommandLineEventConsumer', 'Evil Persistence']);
  // the 5861 message's MOF text and Sysmon's EventData (whose entities NXLog left encoded) agree
  assert.equal(f.consumer?.values['CommandLineTemplate'], 'powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>');
  assert.equal(f.filter?.values['Query'], "select * from Win32_ProcessStartTrace where ProcessName='notepad.exe'");
  const seen = f.observations.map((o) => `${o.source}:${o.part}:${o.action}:${(o.meta['eventId'] as number) ?? ''}`).sort();
  assert.deepEqual(seen, [
    'sysmon:binding:created:21',
    'sysmon:consumer:created:20',
    'sysmon:filter:created:19',
    'wmi-activity:binding:activated:5861',
    'wmi-activity:consumer:activated:5861',
    'wmi-activity:filter:activated:5859',
    'wmi-activity:filter:activated:5861',
  ]);
  // the 5859 (filter activated: namespace, query, owner, provider; no filter name) is read from its message too;
  // the graph joins the name-less filter activation to the subscription whose filter has that query and event namespace
  const { res } = await observeText('x', readFileSync(fixture('otrf-covenant-persistwmi.nxlog.jsonl')));
  const ess = res!.observations.find((o) => o.meta['eventId'] === 5859)!;
  assert.deepEqual([ess.namespace, ess.properties['Query'], ess.meta['Provider'], ess.meta['PossibleCause']], ['ROOT\\CIMV2', "select * from Win32_ProcessStartTrace where ProcessName='notepad.exe'", 'WMI Kernel Trace Event Provider', 'Permanent']);
  const joined = f.observations.find((o) => o.meta['eventId'] === 5859)!;
  assert.deepEqual([joined.source, joined.action, joined.part, joined.meta['Provider']], ['wmi-activity', 'activated', 'filter', 'WMI Kernel Trace Event Provider']);
  assert.equal(r.findings.filter((x) => x.observations.some((o) => o.meta['eventId'] === 5859)).length, 1);
  const binding = f.observations.find((o) => o.meta['eventId'] === 5861 && o.part === 'binding')!;
  assert.match(binding.location, /^record \d+ \(line \d+\)$/);
  assert.equal(binding.time, '2019-12-05T04:47:55.0000000Z');
  // Sysmon 21's own UtcTime (2019-12-05 04:47:55.353) agrees with the EventTime read at UTC-05:00
  assert.equal(f.observations.find((o) => o.meta['eventId'] === 21)!.time, '2019-12-05T04:47:55.3530000Z');
  assert.equal(r.evidence[0]!.kind, 'export');
  assert.match(r.evidence[0]!.detail, /^nxlog: .*Microsoft-Windows-WMI-Activity\/Operational/);
});

test('OTRF NXLog export (ActiveScriptEventConsumer): Sysmon 20 fields only in the message are read back; the consumer ran', async () => {
  const r = await scan([fixture('otrf-covenant-activescript.nxlog.jsonl')], {});
  assert.deepEqual(r.notes.map((n) => n.code), ['assumption']);
  const f = r.findings.find((x) => x.filter?.name === 'WSUS_QQTJ7');
  assert.ok(f, JSON.stringify(r.findings.map((x) => x.filter?.name)));
  assert.deepEqual([f.host, f.namespace, f.consumer?.className, f.consumer?.name, f.status], ['WORKSTATION6.theshire.local', 'ROOT\\subscription', 'ActiveScriptEventConsumer', 'WSUS_RP5ZB', 'deleted']);
  assert.match(String(f.consumer?.values['ScriptText']), /^Function Base64ToStream\(b,l\)/);
  // this NXLog pipeline dropped Sysmon 20's Name/Type/Destination/Operation fields; the message still has them
  const s20 = f.observations.find((o) => o.source === 'sysmon' && o.meta['eventId'] === 20)!;
  assert.deepEqual([s20.action, s20.className, s20.name, s20.meta['Type']], ['created', 'ActiveScriptEventConsumer', 'WSUS_RP5ZB', 'Script']);
  assert.ok(f.observations.some((o) => o.source === 'wmi-activity' && o.meta['eventId'] === 5857 && o.action === 'executed'));
  // and its provider (scrcons.exe) started, from the 5857 message
  assert.equal(f.observations.find((o) => o.meta['eventId'] === 5857)?.meta['ProviderPath'], '%SystemRoot%\\system32\\wbem\\scrcons.exe');
});

test('the OTRF WMI records rewritten as event XML, ECS and evtx JSON give the findings of the NXLog lines they came from', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-exports-'));
  try {
    const nx = join(dir, 'otrf-derived-source.jsonl');
    writeFileSync(nx, otrfDerivedLines(FIX).join('\n') + '\n');
    const ref = await scan([nx], {});
    assert.equal(ref.findings.length, 2);
    for (const name of ['otrf-wmi.events.xml', 'otrf-wmi.ecs.ndjson', 'otrf-wmi.wmiscope.jsonl', 'otrf-wmi.sentinel-union.jsonl', 'otrf-wmi.sentinel-union.csv', 'otrf-wmi.splunk-classic.json']) {
      const r = await scan([fixture(name)], {});
      assert.deepEqual(essence(r), essence(ref), name);
      assert.deepEqual(r.notes, [], name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Sentinel: SecurityEvent 4688 columns give the process start; WindowsEvent WMI-Activity rows their UserData; XML EventData and flat columns merge', async () => {
  const ls = readFileSync(fixture('otrf-wmi.sentinel-union.jsonl'), 'utf8').trim().split('\n');
  const scrcons = ls.find((l) => l.includes('"EventID":4688') && l.includes('scrcons.exe'))!;
  const { res, notes } = await observeText('se.jsonl', scrcons + '\n');
  assert.deepEqual(notes, []);
  const p = res!.observations[0]!;
  assert.deepEqual([p.source, p.action, p.host, p.time, p.user, p.meta['Image'], p.meta['ParentImage'], p.meta['CommandLine']], ['process', 'executed', 'WORKSTATION6.theshire.local', '2020-09-02T01:44:10.0000000Z', 'WORKSTATION6$', 'C:\\Windows\\System32\\wbem\\scrcons.exe', 'C:\\Windows\\System32\\svchost.exe', 'C:\\windows\\system32\\wbem\\scrcons.exe -Embedding']);
  assert.match(res!.items[0]!.detail, /^sentinel: /);
  // a 4624 row: the field without a column (ImpersonationLevel) from EventData's XML, the others from the columns
  const logon = JSON.parse(ls.find((l) => l.includes('"EventID":4624'))!) as Record<string, unknown>;
  const rec = eventRecords(logon)[0]!;
  const ed = (rec['Event'] as Record<string, Record<string, unknown>>)['EventData']!;
  assert.deepEqual([ed['ImpersonationLevel'], ed['TargetUserName'], ed['Account'], ed['Activity']], ['%%1832', 'pgustavo', undefined, undefined]);
  // the columns of a row of another table in the same union (null) are not data
  assert.equal(rec['Event'] !== undefined && Object.values(ed).includes(null), false);
  const b = ls.find((l) => l.includes('"EventID":5861'))!;
  const r2 = await observeText('we.jsonl', b + '\n');
  assert.ok(r2.res!.observations.some((o) => o.source === 'wmi-activity' && o.part === 'binding'));
});

test('Sentinel Event rows: UserData in the EventData XML is read (WMI-Activity without RenderedDescription)', async () => {
  const ud = '<DataItem type="System.XmlData" time="2020-01-01T00:00:00.0000000Z"><UserData><Operation_ESStoConsumerBinding xmlns="http://manifests.microsoft.com/win/2006/windows/WMI"><Namespace>//./root/subscription</Namespace><ESS>F9</ESS><CONSUMER>CommandLineEventConsumer=&quot;C9&quot;</CONSUMER><PossibleCause>Binding EventFilter: instance of __EventFilter { EventNamespace = &quot;root\\\\cimv2&quot;; Name = &quot;F9&quot;; Query = &quot;SELECT * FROM __TimerEvent&quot;; QueryLanguage = &quot;WQL&quot;; }; Perm. Consumer: instance of CommandLineEventConsumer { CommandLineTemplate = &quot;cmd.exe /c calc&quot;; Name = &quot;C9&quot;; };</PossibleCause></Operation_ESStoConsumerBinding></UserData></DataItem>';
  const row = { TimeGenerated: '2020-01-01T00:00:00.0000000Z', Source: 'Microsoft-Windows-WMI-Activity', EventLog: 'Microsoft-Windows-WMI-Activity/Operational', Computer: 'H9', EventID: 5861, EventData: ud, ParameterXml: '', RenderedDescription: '', Type: 'Event' };
  const { res, notes } = await observeText('ud.jsonl', JSON.stringify(row) + '\n');
  assert.deepEqual(notes, []);
  const b = res!.observations.find((o) => o.part === 'binding')!;
  assert.deepEqual([b.host, b.namespace, b.properties['Consumer']], ['H9', 'ROOT\\subscription', 'CommandLineEventConsumer="C9"']);
});

test('Splunk: a result whose _raw is bad XML is one warning naming the result; the other results are read', async () => {
  const doc = JSON.parse(readFileSync(fixture('sysmon-bot.splunk-classic.json'), 'utf8')) as { results: Array<Record<string, unknown>> };
  const xml = readFileSync(fixture('sysmon-bot.splunk-xml.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { result: Record<string, unknown> }).result);
  // the two renderings mixed in one results array, one XML cut short, one classic without its EventCode
  const results = [...doc.results.slice(0, 8), { ...xml[8]!, _raw: String(xml[8]!['_raw']).slice(0, 300) }, { ...doc.results[9]!, _raw: String(doc.results[9]!['_raw']).replace(/EventCode=\d+/, 'EventCode=x') }, ...xml.slice(10)];
  const { res, notes } = await observeText('mixed.json', JSON.stringify({ preview: false, results }));
  assert.equal(res!.items[0]!.records, 15);
  assert.deepEqual(notes.map((n) => n.level), ['warning']);
  assert.match(notes[0]!.message, /^splunk: 2 damaged records or lines skipped; the first: line 1, result 9: not well-formed XML: /);
  assert.deepEqual(filters(res), ['IEWIN7|BotFilter82|SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA \'Win32_PerfFormattedData_PerfOS_System\'', 'IEWIN7|BotFilter82|SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA \'Win32_PerfFormattedData_PerfOS_System\'']);
});

const HOSTILE = { timeout: 20_000 };

test('CSV exports: a quoted cell that never closes, a cut record and a __proto__ column lose only their own rows', HOSTILE, async () => {
  const csv = readFileSync(fixture('sysmon-bot.sentinel-windowsevent.csv'), 'utf8');
  const ls = csv.split('\r\n');
  const ref = await observeText('ref.csv', csv);
  assert.equal(ref.res!.items[0]!.records, 17);
  // the last row but one cut inside its quoted EventData: a quoted cell may span lines, so the open quote takes the
  // next line in (CSV cannot tell a cut from a multi-line cell); the input then ends inside it: one warning
  const cut = [...ls.slice(0, 16), ls[16]!.slice(0, ls[16]!.indexOf('UtcTime') + 20), ...ls.slice(17)].join('\r\n');
  const c = await observeText('cut.csv', cut);
  assert.equal(c.res!.items[0]!.records, 15);
  assert.deepEqual(c.notes.map((n) => n.message), ['sentinel-csv: line 17: the input ends inside a quoted cell (truncated?); skipped']);
  // truncated in the last row's quoted cell: the others read, one warning
  const t = await observeText('trunc.csv', csv.slice(0, csv.length - 300));
  assert.equal(t.res!.items[0]!.records, 16);
  assert.deepEqual(t.notes.map((n) => n.message), ['sentinel-csv: line 18: the input ends inside a quoted cell (truncated?); skipped']);
  // a header naming __proto__ / constructor: those cells are not read, nothing is polluted
  const evil = ls[0]!.replace('TenantId', '__proto__').replace('Opcode', 'constructor') + '\r\n' + ls.slice(1).join('\r\n');
  const e = await observeText('evil.csv', evil);
  assert.equal(e.res!.items[0]!.records, 17);
  assert.equal(({} as Record<string, unknown>)['00000000-0000-0000-0000-000000000000'], undefined);
  // a quote opened at the start and never closed: bounded, one warning, no records, no hang
  const open = ls[0] + '\r\n"' + 'x,'.repeat(200_000) + '\r\n';
  const o = await observeText('open.csv', open);
  assert.deepEqual(o.notes.map((n) => n.level), ['warning', 'warning']);
  await passTimers();
});

// ---- recognition by content --------------------------------------------------------------------------------------------

test('detection: each fixture is claimed by its adapter, whatever its name', async () => {
  for (const [name, format] of [...SYSMON_FIXTURES, ['otrf-covenant-persistwmi.nxlog.jsonl', 'nxlog'], ['otrf-wmi.ecs.ndjson', 'ecs'], ['otrf-wmi.events.xml', 'event-xml'], ['otrf-wmi.sentinel-union.jsonl', 'sentinel'], ['otrf-wmi.sentinel-union.csv', 'sentinel-csv']] as Array<[string, string]>) {
    const data = readFileSync(fixture(name));
    const { res, notes } = await observeText('no-extension', data);
    assert.ok(res, `${name} recognized`);
    assert.ok(res.items.every((i) => i.detail.startsWith(`${format}: `)), `${name}: ${res.items.map((i) => i.detail)}`);
    assert.ok(!notes.some((n) => n.level === 'error'), name);
  }
});

test('detection: random JSON, CSV, other tools\' rows and plain XML are not claimed', () => {
  const not = [
    readFileSync(join(repoRoot(), 'package.json'), 'utf8'),
    '{"name": "x", "EventID": 4}\n{"name": "y"}\n',
    '[1, 2, 3]',
    'EventID,Channel,Computer\n19,Microsoft-Windows-Sysmon/Operational,HOST\n',
    // a Velociraptor EvtxHunter row: System/EventData at the top, no Event wrapper, no NXLog fields
    '{"EventTime":"2019-05-11T17:58:23Z","Computer":"IEWIN7","Channel":"Microsoft-Windows-Sysmon/Operational","Provider":"Microsoft-Windows-Sysmon","EventID":19,"EventRecordID":1,"System":{"EventID":{"Value":19}},"EventData":{"Name":"x"},"Message":"m"}\n',
    '<?xml version="1.0"?><autoruns><item><location>x</location></item></autoruns>',
    '<html><body>Event</body></html>',
    'Record 1\nnot json at all\n',
    // KQL results of other tables, CSV without the event columns
    '{"TimeGenerated":"2019-05-11T17:58:23Z","EventID":4688,"Computer":"H"}\n',
    'TimeGenerated [UTC],EventID,Computer\n"5/11/2019, 5:58:23.418 PM",4688,H\n',
    '_time,host,count\n2019-05-11T17:58:23.000+0000,H,3\n',
  ];
  for (const t of not) {
    const a = detectAdapter(t);
    assert.ok(!a || !['evtx-json', 'ecs', 'nxlog', 'sentinel', 'splunk', 'sentinel-csv', 'splunk-csv', 'event-xml', 'hayabusa-timeline'].includes(a.format), `${t.slice(0, 60)} claimed by ${a?.format}`);
  }
  assert.equal(jsonShape('{"Event":{"System":{"EventID":1}}}'), 'evtx-json');
  assert.equal(isEventXml("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System/></Event>"), true);
  assert.equal(isEventXml('evtxexport 20181227\n\n<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">'), true);
});

test('detection: a first record longer than the 64 KiB head is still recognized from its first keys', () => {
  const big = 'A'.repeat(70000);
  assert.equal(jsonShape(`{"Event":{"System":{"EventID":4104},"EventData":{"ScriptBlockText":"${big}`), 'evtx-json');
  assert.equal(jsonShape(`{"@timestamp":"2020-01-01T00:00:00Z","winlog":{"event_id":4104,"event_data":{"ScriptBlockText":"${big}`), 'ecs');
  assert.equal(jsonShape(`{"EventTime":"2020-01-01 00:00:00","Hostname":"h","EventID":4104,"SourceName":"Microsoft-Windows-PowerShell","Channel":"Microsoft-Windows-PowerShell/Operational","ScriptBlockText":"${big}`), 'nxlog');
});

test('a Hayabusa json-timeline is recognized and skipped with a reason', async () => {
  const line = JSON.stringify({ Timestamp: '2019-05-11 17:58:23.340 +00:00', RuleTitle: 'WMI Event Subscription', Level: 'med', Computer: 'IEWIN7', Channel: 'Sysmon', EventID: 19, RecordID: 16115, Details: { Name: 'x' }, ExtraFieldInfo: {} });
  const { res, notes } = await observeText('t.jsonl', line + '\n');
  assert.deepEqual(res?.observations, []);
  assert.equal(notes.length, 1);
  assert.equal(notes[0]!.level, 'skipped');
  assert.match(notes[0]!.message, /^hayabusa-timeline: /);
});

// ---- shapes and encodings -----------------------------------------------------------------------------------------------

const ECS_19 = {
  '@timestamp': '2019-05-11T17:58:23.418Z',
  host: { name: 'HOST1' },
  winlog: {
    channel: 'Microsoft-Windows-Sysmon/Operational',
    computer_name: 'HOST1',
    event_id: 19,
    provider_name: 'Microsoft-Windows-Sysmon',
    record_id: 42,
    event_data: { Operation: 'Created', UtcTime: '2019-05-11 17:58:23.418', User: 'H\\u', EventNamespace: ' "root\\\\cimv2"', Name: ' "F1"', Query: ' "SELECT * FROM __InstanceModificationEvent"' },
  },
};

function filters(res: ObserveResult | null): string[] {
  return (res?.observations ?? []).filter((o) => o.part === 'filter').map((o) => `${o.host}|${o.name}|${o.properties['Query']}`);
}

test('ECS: bare, _source-wrapped, search response and dotted keys all read the same record', async () => {
  const dottedDoc = { '@timestamp': ECS_19['@timestamp'], 'winlog.channel': ECS_19.winlog.channel, 'winlog.computer_name': 'HOST1', 'winlog.event_id': '19', 'winlog.provider_name': 'Microsoft-Windows-Sysmon', 'winlog.record_id': 42, 'winlog.event_data.Operation': 'Created', 'winlog.event_data.UtcTime': '2019-05-11 17:58:23.418', 'winlog.event_data.User': 'H\\u', 'winlog': { event_data: { EventNamespace: ' "root\\\\cimv2"', Name: ' "F1"', Query: ' "SELECT * FROM __InstanceModificationEvent"' } } };
  const want = ['HOST1|F1|SELECT * FROM __InstanceModificationEvent'];
  const variants: Array<[string, string]> = [
    ['bare', JSON.stringify(ECS_19) + '\n'],
    ['_source', JSON.stringify({ _index: 'winlogbeat', _id: 'a', _source: ECS_19 }) + '\n'],
    ['search response', JSON.stringify({ took: 1, hits: { total: { value: 1 }, hits: [{ _id: 'a', _source: ECS_19 }] } }, null, 2)],
    ['dotted keys', JSON.stringify(dottedDoc) + '\n'],
    ['dotted keys before the nested object', JSON.stringify(Object.fromEntries(Object.entries(dottedDoc).reverse())) + '\n'],
  ];
  for (const [what, text] of variants) {
    const { res, notes } = await observeText(what, text);
    assert.deepEqual(filters(res), want, what);
    assert.deepEqual(notes, [], what);
  }
});

test('ECS: Winlogbeat before 7.0 (log_name, event_id, computer_name, source_name at the top) is read too', async () => {
  const doc = { '@timestamp': ECS_19['@timestamp'], log_name: ECS_19.winlog.channel, computer_name: 'HOST1', event_id: 19, source_name: 'Microsoft-Windows-Sysmon', record_number: '42', event_data: ECS_19.winlog.event_data, type: 'wineventlog' };
  const { res, notes } = await observeText('wlb6', JSON.stringify(doc) + '\n');
  assert.deepEqual(filters(res), ['HOST1|F1|SELECT * FROM __InstanceModificationEvent']);
  assert.deepEqual(notes, []);
  assert.match(res!.items[0]!.detail, /^ecs: /);
});

test('Chainsaw hunt --json (one array of detections) reads like --jsonl', async () => {
  const ls = readFileSync(fixture('sysmon-bot.chainsaw-hunt.jsonl'), 'utf8').trim().split('\n');
  const arr = `[${ls.join(',\n')}]`;
  const a = await observeText('hunt.json', arr);
  const b = await observeText('hunt.jsonl', ls.join('\n') + '\n');
  assert.equal(a.res!.items[0]!.records, 17);
  assert.deepEqual(a.res!.observations.map((o) => `${o.part}|${o.name}`), b.res!.observations.map((o) => `${o.part}|${o.name}`));
  assert.match(a.res!.observations[0]!.location, /^record \d+ \(element \d+, line \d+\)$/);
});

test('ECS: WMI-Activity with user_data (xml_name) and with only the message', async () => {
  const message = 'Namespace = //./root/subscription; Eventfilter = F2 (refer to its activate eventid:5859); Consumer = CommandLineEventConsumer="C2"; PossibleCause = Binding EventFilter: \ninstance of __EventFilter\n{\n\tEventNamespace = "root\\\\cimv2";\n\tName = "F2";\n\tQuery = "SELECT * FROM __TimerEvent";\n\tQueryLanguage = "WQL";\n};\nPerm. Consumer: \ninstance of CommandLineEventConsumer\n{\n\tCommandLineTemplate = "cmd.exe /c calc";\n\tName = "C2";\n};\n';
  const base = { '@timestamp': '2020-01-01T00:00:00.000Z', winlog: { channel: 'Microsoft-Windows-WMI-Activity/Operational', computer_name: 'H2', event_id: 5861, provider_name: 'Microsoft-Windows-WMI-Activity', record_id: 7 } as Record<string, unknown>, message };
  const parsed = wmiActivityFromMessage(5861, message)!;
  const withUserData = { ...base, winlog: { ...base.winlog, user_data: { xml_name: 'Operation_ESStoConsumerBinding', ...parsed.fields } } };
  for (const doc of [withUserData, base]) {
    const { res } = await observeText('ecs', JSON.stringify(doc) + '\n');
    const c = res!.observations.find((o) => o.part === 'consumer')!;
    assert.deepEqual([c.host, c.namespace, c.className, c.name, c.properties['CommandLineTemplate']], ['H2', 'ROOT\\subscription', 'CommandLineEventConsumer', 'C2', 'cmd.exe /c calc']);
  }
});

test('UTF-8 BOM and UTF-16 LE (with BOM) exports are read', async () => {
  const jsonl = readFileSync(fixture('sysmon-bot.wmiscope.jsonl'), 'utf8');
  const ref = await observeText('plain', jsonl);
  for (const [what, data] of [
    ['utf-8 bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(jsonl, 'utf8')])],
    ['utf-16le bom', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(jsonl, 'utf16le')])],
  ] as Array<[string, Buffer]>) {
    const { res, notes } = await observeText(what, data);
    assert.equal(res?.observations.length, ref.res!.observations.length, what);
    assert.deepEqual(notes, [], what);
  }
});

// ---- damage -------------------------------------------------------------------------------------------------------------

test('a broken line in the middle of JSON Lines is one warning with its line number; the rest is read', async () => {
  const ls = readFileSync(fixture('sysmon-bot.wmiscope.jsonl'), 'utf8').trimEnd().split('\n');
  const broken = [...ls.slice(0, 5), ls[5]!.slice(0, 200), ...ls.slice(6)].join('\n') + '\n';
  const { res, notes } = await observeText('broken.jsonl', broken);
  assert.equal(notes.length, 1);
  assert.equal(notes[0]!.level, 'warning');
  assert.match(notes[0]!.message, /^evtx-json: line 6: not JSON/);
  assert.equal(res!.items[0]!.records, 16);
});

test('a truncated JSON array: the complete elements are read, the cut one is reported', async () => {
  const arr = readFileSync(fixture('sysmon-bot.chainsaw-search.json'), 'utf8');
  const cut = arr.slice(0, Math.floor(arr.length * 0.6));
  const { res, notes } = await observeText('cut.json', cut);
  assert.ok(res!.items[0]!.records > 5 && res!.items[0]!.records < 17, String(res!.items[0]!.records));
  assert.equal(notes.length, 1);
  assert.match(notes[0]!.message, /input ends inside a value .*truncated/);
});

test('`__proto__` and `constructor` keys in any shape pollute nothing and do not stop the record', async () => {
  const evil = [
    '{"Event":{"System":{"EventID":19,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"P1","Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}}},"EventData":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"Operation":"Created","Name":" \\"F\\"","Query":" \\"Q\\""}},"__proto__":{"polluted":3}}',
    '{"winlog":{"event_id":19,"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"P1","provider_name":"Microsoft-Windows-Sysmon","event_data":{"__proto__":{"polluted":4},"Operation":"Created","Name":" \\"F\\"","Query":" \\"Q\\""}},"winlog.__proto__.polluted":5,"__proto__.polluted":6}',
    '{"EventID":19,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"P1","SourceName":"Microsoft-Windows-Sysmon","__proto__":{"polluted":7},"Operation":"Created","Name":" \\"F\\"","Query":" \\"Q\\""}',
  ];
  for (const line of evil) {
    const { res } = await observeText('evil.jsonl', line + '\n');
    assert.deepEqual(filters(res), ['P1|F|Q'], line.slice(0, 40));
  }
  const xml = '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-WMI-Activity"/><EventID>5861</EventID><Channel>Microsoft-Windows-WMI-Activity/Operational</Channel><Computer>P1</Computer></System><UserData><Operation_ESStoConsumerBinding><__proto__>x</__proto__><constructor>y</constructor><Namespace>//./root/subscription</Namespace><ESS>F</ESS><CONSUMER>CommandLineEventConsumer="C"</CONSUMER><PossibleCause>none</PossibleCause></Operation_ESStoConsumerBinding></UserData></Event>';
  const { res } = await observeText('evil.xml', xml);
  assert.equal(res!.observations.find((o) => o.part === 'binding')?.properties['Consumer'], 'CommandLineEventConsumer="C"');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
});

test('malformed XML: a bad element is a warning naming it, the others are read; nothing readable is an error note', async () => {
  const xml = readFileSync(fixture('sysmon-bot.events.xml'), 'utf8');
  const bad = xml.replace('<EventRecordID>16111</EventRecordID>', '<EventRecordID>16111</Oops>');
  const { res, notes } = await observeText('bad.xml', bad);
  assert.equal(res!.items[0]!.records, 16);
  assert.equal(notes.length, 1);
  assert.match(notes[0]!.message, /^event-xml: element \d+, line \d+: not well-formed XML: .*Oops/);
  const junk = await observeText('junk.xml', '<Events><Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><<<</Event></Events>');
  assert.ok(junk.notes.some((n) => n.level === 'error' && /no event records read/.test(n.message)));
  const open = await observeText('open.xml', '<Events>\n<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>1</EventID>');
  assert.ok(open.notes.some((n) => /element 1 is not closed/.test(n.message)));
  // a DOCTYPE's entities are never expanded (each element is parsed on its own)
  const ent = eventFromXml('<Event><System><EventID>1</EventID><Computer>&x;&lt;&#65;</Computer></System></Event>');
  assert.equal(((ent.json['Event'] as Record<string, unknown>)['System'] as Record<string, unknown>)['Computer'], '&x;<A');
});

test('splitters: over-long lines and values are skipped with a note and reading goes on', async () => {
  const issues: SplitIssue[] = [];
  async function* chunks(parts: string[]): AsyncGenerator<string> {
    for (const p of parts) yield p;
  }
  const got: string[] = [];
  for await (const l of lines(chunks(['{"a":1}\n{"b":', '"' + 'x'.repeat(100) + '"}\n{"c":3}\n']), (i) => issues.push(i), 50)) got.push(l.text);
  assert.deepEqual(got, ['{"a":1}', '{"c":3}']);
  assert.deepEqual(issues.map((i) => i.line), [2]);
  issues.length = 0;
  const vals: string[] = [];
  for await (const v of jsonValues(chunks(['Record 7\n{"a":"}"}\n', '[{"b":"', 'y'.repeat(100), '"},{"c":[1,2]}]']), (i) => issues.push(i), 50)) vals.push(`${v.record ?? v.element}:${v.text}`);
  assert.deepEqual(vals, ['7:{"a":"}"}', '2:{"c":[1,2]}']);
  assert.equal(issues.length, 1);
  issues.length = 0;
  const els: number[] = [];
  for await (const e of xmlEvents(chunks(['<Events><!-- </Event> --><Event><A>', '1</A></Event><Ev', 'ent/><Event><![CDATA[</Event>]]></Event></Events>']), (i) => issues.push(i))) els.push(e.element);
  assert.deepEqual(els, [1, 2, 3]);
  assert.deepEqual(issues, []);
});

test('mutated and cut fixtures never throw, never hang, and give only warnings or a "no records" note', async () => {
  let seed = 7;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const files = readdirSync(FIX).filter((f) => f !== 'NOTICE.md');
  const started = Date.now();
  for (let it = 0; it < 400; it++) {
    const name = files[it % files.length]!;
    const b = Buffer.from(readFileSync(fixture(name)));
    for (let k = 1 + Math.floor(rnd() * 20); k > 0; k--) {
      const p = Math.floor(rnd() * b.length);
      b[p] = rnd() < 0.3 ? '{}[]"<>\\/:,\n'.charCodeAt(Math.floor(rnd() * 12)) : Math.floor(rnd() * 256);
    }
    const input = rnd() < 0.3 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
    const { notes } = await observeText(name, input);
    for (const n of notes) assert.ok(n.level !== 'error' || /no event records read/.test(n.message), `${name} #${it}: ${n.message}`);
  }
  assert.ok(Date.now() - started < 60_000);
});

test('stream splitter: a raw newline inside a string does not stall it (regression); the cut value is given up there', async () => {
  async function* one(t: string): AsyncGenerator<string> {
    yield t;
  }
  const out: string[] = [];
  const issues: string[] = [];
  // a JSON string cannot hold a raw line break: the value is cut there (one record lost), the next line read afresh
  for await (const v of jsonValues(one('{"a":"x\ny"}\n{"b":1}'), (i) => issues.push(`${i.kind} ${i.line}`))) out.push(v.text);
  assert.deepEqual(out, ['{"b":1}']);
  assert.deepEqual(issues, ['record 1', 'junk 2']);
});

// ---- hostile input: time and depth ----------------------------------------------------------------------------------------
// Each input here took the code before the fix many seconds (or overflowed the stack); the inputs are sized so that
// it would still end, and `passTimers` after the work lets the per-test timeout fail a regression: slow synchronous
// work never lets the runner's timer run by itself, so without it a slow test would pass. No time is measured.



/** Lets the timers run once, so that a test whose work blocked the event loop past its timeout fails. */
const passTimers = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

const XMLNS = ' xmlns="http://schemas.microsoft.com/win/2004/08/events/event"';

/** A Sysmon 19 (filter created) event as XML: `filters()` gives `host|name|Q`. */
const sysmon19Xml = (host: string, name: string, ns = XMLNS): string =>
  `<Event${ns}><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>19</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>${host}</Computer></System><EventData><Data Name="Operation">Created</Data><Data Name="EventNamespace"> "root\\cimv2"</Data><Data Name="Name"> "${name}"</Data><Data Name="Query"> "Q"</Data></EventData></Event>`;

test('event XML detection: comments before the root are stepped over in linear time (was exponential in their number)', HOSTILE, async () => {
  // 30 comments took the old pattern about 25 s per call (compiled; longer on its first run); each one more doubles it
  const comments = '<!--a-->'.repeat(30);
  assert.equal(isEventXml(comments + '<Event>'), false);
  await passTimers();
  assert.equal(detectAdapter(comments + '<Event>'), null);
  await passTimers();
  assert.equal((await observeText('comments.txt', comments + '<Event>')).res, null);
  await passTimers();
  assert.equal(isEventXml('<!--a-->'.repeat(3) + '<!-- never closed <Events><Event>'), false);
  // the root found after them, with or without a declaration, processing instructions and white space
  assert.equal(isEventXml(comments + '<Events>' + sysmon19Xml('X1', 'F1', '') + '</Events>'), true);
  const doc = '<?xml version="1.0" encoding="utf-8"?>\n' + comments + '\n<?xml-stylesheet href="x"?>\n<!-- b -->\n<Events>\n' + sysmon19Xml('X1', 'F1', '') + '\n</Events>\n';
  const { res, notes } = await observeText('comments.xml', doc);
  assert.deepEqual(filters(res), ['X1|F1|Q']);
  assert.deepEqual(notes, []);
});

test('WMI-Activity messages: long white space runs split in linear time (5861 and 5857 were quadratic)', HOSTILE, async () => {
  const sp = ' '.repeat(200_000);
  // an NXLog 5861 whose filter name holds 200k spaces: the delimiter search used to restart at each of them
  const message = `Namespace = //./root/subscription; Eventfilter = F${sp}G (refer to its activate eventid:5859); Consumer = CommandLineEventConsumer="C"; PossibleCause = Permanent`;
  assert.deepEqual({ ...wmiActivityFromMessage(5861, message)!.fields }, { Namespace: '//./root/subscription', ESS: `F${sp}G`, CONSUMER: 'CommandLineEventConsumer="C"', PossibleCause: 'Permanent' });
  const rec = { EventTime: '2020-01-01T00:00:00Z', Hostname: 'H5', EventID: 5861, SourceName: 'Microsoft-Windows-WMI-Activity', Channel: 'Microsoft-Windows-WMI-Activity/Operational', RecordNumber: 1, Message: message };
  const { res, notes } = await observeText('5861.nxlog.jsonl', JSON.stringify(rec) + '\n');
  assert.deepEqual(notes, []);
  const b = res!.observations.find((o) => o.part === 'binding')!;
  assert.equal(b.host, 'H5');
  assert.equal(b.properties['Consumer'], 'CommandLineEventConsumer="C"');
  await passTimers();
  // the reviewer's case: white space not followed by the delimiter
  assert.equal(wmiActivityFromMessage(5861, `Namespace = x; Eventfilter = ${sp}x`), null);
  await passTimers();
  // 5857: leading white space and no sentence; then the sentence after long runs
  assert.equal(wmiActivityFromMessage(5857, ' '.repeat(500_000) + 'x'), null);
  await passTimers();
  assert.deepEqual({ ...wmiActivityFromMessage(5857, `${sp}P${sp}Q provider started with result code 0x0.${sp}HostProcess = a; ProcessID = 1; ProviderPath = p`)!.fields }, { ProviderName: `P${sp}Q`, Code: '0x0', HostProcess: 'a', ProcessID: '1', ProviderPath: 'p' });
  assert.deepEqual({ ...wmiActivityFromMessage(5857, ' provider started with result code 1.2. HostProcess= a;ProcessID=1;ProviderPath =p')!.fields }, { ProviderName: '', Code: '1.2', HostProcess: 'a', ProcessID: '1', ProviderPath: 'p' });
  assert.equal(wmiActivityFromMessage(5857, 'P provider started with result code 0x0 HostProcess = a; ProcessID = 1; ProviderPath = p'), null);
  // the other templates and their delimiters: white space and lookalike labels around them
  assert.deepEqual({ ...wmiActivityFromMessage(5860, `Namespace = a; NotificationQuery = b;${sp}UserName = ;; ClientProcessID = 1${sp}; ClientMachineX = y, ClientMachine = m; PossibleCause = t`)!.fields }, { NamespaceName: 'a', Query: 'b', User: ';', Processid: `1${sp}; ClientMachineX = y`, ClientMachine: 'm', PossibleCause: 't' });
  assert.equal(wmiActivityFromMessage(5858, 'Id = 1' + ';'.repeat(200_000)), null);
  await passTimers();
});

test('event XML splitter: a run of `<`, unterminated comments and one long line are read in linear time (were quadratic)', HOSTILE, async () => {
  const ev = sysmon19Xml('X1', 'F1');
  // valid XML, then 1.2 MB of `<` (each used to search the rest of the buffer for `>`: 15 s)
  let r = await observeText('lt.xml', '<Events>' + ev + '<'.repeat(1_200_000));
  assert.deepEqual(filters(r.res), ['X1|F1|Q']);
  assert.deepEqual(r.notes, []);
  await passTimers();
  // 1.08 MB of `<!--` that never close, over the 1 MiB a section is waited for (each searched the rest for `-->`: 24 s)
  r = await observeText('comments.xml', '<Events>' + ev + '<!--'.repeat(270_000));
  assert.deepEqual(filters(r.res), ['X1|F1|Q']);
  await passTimers();
  // 3.6 MB on one line, as wevtutil writes (line counting searched the rest for a newline at every tag: 11 s)
  r = await observeText('oneline.xml', '<Events>' + ev + '<a>'.repeat(1_200_000) + ev.replace('F1', 'F2') + '\n' + ev.replace('F1', 'F3') + '</Events>');
  assert.deepEqual(filters(r.res), ['X1|F1|Q', 'X1|F2|Q', 'X1|F3|Q']);
  assert.deepEqual(r.res!.observations.map((o) => o.location.replace(/^.*\b(line \d+)$/, '$1')), ['line 1', 'line 1', 'line 2']);
  await passTimers();
});

test('splitters: any chunking gives the same elements, values and lines as one chunk', async () => {
  let seed = 11;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  async function* pieces(t: string, max: number): AsyncGenerator<string> {
    for (let i = 0; i < t.length; ) {
      const n = 1 + Math.floor(rnd() * max);
      yield t.slice(i, i + n);
      i += n;
    }
  }
  const tricky = '<?xml version="1.0"?>\n<Events><!-- </Event> -->\n<Event><A><![CDATA[</Event> ]]]]></A><?pi </Event>?>\n<B x="1"/></Event><<Event/>\n<!-- a --><Event\n><Event>x</Event></Event></Events>';
  const xmlTexts = ['sysmon-bot.events.xml', 'sysmon-bot.wevtutil.xml', 'sysmon-bot.evtxexport.xml', 'sysmon-bot.python-evtx.xml', 'otrf-wmi.events.xml'].map((f) => headText(readFileSync(fixture(f))));
  for (const text of [tricky, ...xmlTexts]) {
    const all = async (chunks: AsyncIterable<string>): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of xmlEvents(chunks, (i) => out.push(`issue ${i.line} ${i.message}`))) out.push(`${e.element}@${e.line}:${e.text}`);
      return out;
    };
    const ref = await all(pieces(text, text.length));
    assert.ok(ref.length >= 3, String(ref.length));
    for (const max of text === tricky ? [1, 2, 3, 17] : [5, 61, 400]) assert.deepEqual(await all(pieces(text, max)), ref, `xml chunks up to ${max}`);
  }
  for (const f of ['sysmon-bot.chainsaw-search.json', 'sysmon-bot.evtx_dump.json', 'sysmon-bot.es-search.json']) {
    const text = readFileSync(fixture(f), 'utf8');
    const all = async (chunks: AsyncIterable<string>): Promise<string[]> => {
      const out: string[] = [];
      for await (const v of jsonValues(chunks, (i) => out.push(`issue ${i.line} ${i.message}`))) out.push(`${v.record}/${v.element}@${v.line}:${v.text}`);
      return out;
    };
    const ref = await all(pieces(text, text.length));
    for (const max of [5, 61, 400]) assert.deepEqual(await all(pieces(text, max)), ref, `${f} in chunks up to ${max}`);
  }
  // an over-long element or value across chunks is skipped, and what follows is read
  const issues: SplitIssue[] = [];
  const els: string[] = [];
  for await (const e of xmlEvents(pieces(`<Event>${'<a>x</a>'.repeat(50)}</Event>\n<Event/>`, 5), (i) => issues.push(i), 100)) els.push(`${e.element}@${e.line}`);
  assert.deepEqual([els, issues.map((i) => i.line)], [['2@2'], [1]]);
  const vals: string[] = [];
  for await (const v of jsonValues(pieces(`[{"a":"${'y'.repeat(300)}"},\n{"b":1}]`, 5), (i) => issues.push(i), 100)) vals.push(`${v.element}@${v.line}:${v.text}`);
  assert.deepEqual(vals, ['2@2:{"b":1}']);
});

test('one record nested 100k deep is one warning with its line; the records around it are read (the stack overflow lost the file)', HOSTILE, async () => {
  const n = 100_000;
  const deep = '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const ecs = (name: string, extra = ''): string =>
    JSON.stringify({ winlog: { event_id: 19, channel: 'Microsoft-Windows-Sysmon/Operational', computer_name: 'D1', provider_name: 'Microsoft-Windows-Sysmon', event_data: { Operation: 'Created', Name: ` "${name}"`, Query: ' "Q"' } } }).slice(0, -1) + extra + '}';
  const evtx = (name: string, extra = ''): string =>
    JSON.stringify({ Event: { System: { EventID: 19, Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: 'D1', Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } } }, EventData: { Operation: 'Created', Name: ` "${name}"`, Query: ' "Q"' } } }).slice(0, -2) + extra + '}}';
  const nxlog = (name: string, extra = ''): string =>
    JSON.stringify({ EventID: 19, Channel: 'Microsoft-Windows-Sysmon/Operational', Hostname: 'D1', SourceName: 'Microsoft-Windows-Sysmon', Operation: 'Created', Name: ` "${name}"`, Query: ' "Q"' }).slice(0, -1) + extra + '}';
  const cases: Array<[string, (name: string, extra?: string) => string, string]> = [
    // a nested object and a dotted key to merge into it, both 100k deep (the merge recursed to the bottom)
    ['ecs', ecs, `,"x":{"y":${deep}},"x.y":${deep}`],
    ['evtx-json', evtx, `,"D":${deep},"D_attributes":${deep}`],
    ['nxlog', nxlog, `,"D":${deep}`],
  ];
  for (const [format, make, extra] of cases) {
    const { res, notes } = await observeText(`deep.${format}.jsonl`, [make('F1'), make('F2', extra), make('F3')].join('\n') + '\n');
    assert.equal(notes.length, 1, `${format}: ${JSON.stringify(notes)}`);
    assert.equal(notes[0]!.level, 'warning');
    assert.match(notes[0]!.message, new RegExp(`^${format}: line 2: nested more than \\d+ levels deep`));
    assert.deepEqual(filters(res), ['D1|F1|Q', 'D1|F2|Q', 'D1|F3|Q'], format);
    assert.equal(res!.items[0]!.records, 3);
    await passTimers();
  }
  // the same as one pretty-printed array (each element its own value)
  const arr = `[\n${ecs('F1')},\n${ecs('F2', cases[0]![2])},\n${ecs('F3')}\n]`;
  const a = await observeText('deep.ecs.json', arr);
  assert.deepEqual(filters(a.res), ['D1|F1|Q', 'D1|F2|Q', 'D1|F3|Q']);
  assert.equal(a.notes.length, 1);
  assert.match(a.notes[0]!.message, /^ecs: element 2, line 3: nested more than/);
  // event XML nested 100k deep: that element is one warning, its neighbours are read
  const x = await observeText('deep.xml', '<Events>' + sysmon19Xml('D1', 'F1') + '\n' + sysmon19Xml('D1', 'F2').replace('</EventData>', '</EventData>' + '<a>'.repeat(n) + '</a>'.repeat(n)) + '\n' + sysmon19Xml('D1', 'F3') + '</Events>');
  assert.deepEqual(filters(x.res), ['D1|F1|Q', 'D1|F3|Q']);
  assert.equal(x.notes.length, 1);
  assert.match(x.notes[0]!.message, /^event-xml: element 2, line 2: /);
  await passTimers();
});

test('Sentinel and Splunk: XML or JSON text nested 100k deep inside a cell costs that row only', HOSTILE, async () => {
  const n = 100_000;
  const rows = readFileSync(fixture('sysmon-bot.sentinel-event.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const i19 = rows.findIndex((r) => r['EventID'] === 19);
  // the Event table's EventData XML, a Splunk _raw and a WindowsEvent EventData JSON text, each nested deep
  const deepXml = { ...rows[i19]!, EventData: String(rows[i19]!['EventData']).replace('</EventData>', '</EventData>' + '<a>'.repeat(n) + '</a>'.repeat(n)) };
  const ev = await observeText('deep-event.jsonl', [...rows.slice(0, i19), deepXml, ...rows.slice(i19 + 1)].map((r) => JSON.stringify(r)).join('\n') + '\n');
  assert.equal(ev.res!.items[0]!.records, 16);
  assert.deepEqual(ev.notes.map((x) => x.level), ['warning']);
  assert.match(ev.notes[0]!.message, new RegExp(`^sentinel: line ${i19 + 1}: `));
  await passTimers();
  const sp = readFileSync(fixture('sysmon-bot.splunk-xml.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { result: Record<string, unknown> });
  sp[3]!.result['_raw'] = String(sp[3]!.result['_raw']).replace('</System>', '</System>' + '<a>'.repeat(n) + '</a>'.repeat(n));
  const s = await observeText('deep-splunk.jsonl', sp.map((r) => JSON.stringify(r)).join('\n') + '\n');
  assert.equal(s.res!.items[0]!.records, 16);
  assert.match(s.notes.map((x) => x.message).join('|'), /^splunk: line 4: /);
  await passTimers();
  const we = JSON.parse(readFileSync(fixture('sysmon-bot.sentinel-windowsevent.json'), 'utf8')) as Array<Record<string, unknown>>;
  we[2]!['EventData'] = '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const w = await observeText('deep-we.json', JSON.stringify(we));
  assert.equal(w.res!.items[0]!.records, 17);
  assert.ok(w.notes.every((x) => x.level === 'warning'));
  await passTimers();
});

test('ECS: dotted keys merged deep in a document never give an object a prototype from the input', async () => {
  // below the old unflatten depth limit (16) raw objects were merged by assignment, `__proto__` included
  const nest = (depth: number, leaf: string): string => '{"n":'.repeat(depth) + leaf + '}'.repeat(depth);
  const doc =
    '{"winlog":{"event_id":19,"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"P2","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Operation":"Created","Name":" \\"F\\"","Query":" \\"Q\\""}},' +
    `"x":${nest(20, '{"k":{"__proto__":{"polluted":8},"v":1}}')},"x${'.n'.repeat(20)}":{"k":{"__proto__":{"polluted":9},"w":2}},` +
    '"winlog.event_data.__proto__":{"polluted":10},"winlog.event_data":{"__proto__":{"polluted":11}}}';
  const { res, notes } = await observeText('proto.ndjson', doc + '\n');
  assert.deepEqual(filters(res), ['P2|F|Q']);
  assert.deepEqual(notes, []);
  const [json] = eventRecords(JSON.parse(doc));
  const data = (json!['Event'] as Record<string, Record<string, unknown>>)['EventData']!;
  assert.equal(Object.getPrototypeOf(data), null);
  assert.deepEqual(Object.keys(data).sort(), ['Name', 'Operation', 'Query']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

// ---- message templates ----------------------------------------------------------------------------------------------------

test('WMI-Activity messages: every template splits into its UserData fields (real OTRF texts and rendered templates)', () => {
  const m5859 = "Namespace = //./root/CIMV2; NotificationQuery = select * from Win32_ProcessStartTrace where ProcessName='notepad.exe'; OwnerName = S-1-5-21-791464340-1796667228-2788435825-1112; HostProcessID = 2568;  Provider= WMI Kernel Trace Event Provider, queryID = 2; PossibleCause = Permanent";
  assert.deepEqual({ ...wmiActivityFromMessage(5859, m5859)!.fields }, {
    NamespaceName: '//./root/CIMV2',
    Query: "select * from Win32_ProcessStartTrace where ProcessName='notepad.exe'",
    User: 'S-1-5-21-791464340-1796667228-2788435825-1112',
    Processid: '2568',
    Provider: 'WMI Kernel Trace Event Provider',
    queryid: '2',
    PossibleCause: 'Permanent',
  });
  const m5857 = 'WMI Kernel Trace Event Provider provider started with result code 0x0. HostProcess = wmiprvse.exe; ProcessID = 2568; ProviderPath = C:\\Windows\\System32\\wbem\\krnlprov.dll';
  assert.deepEqual({ ...wmiActivityFromMessage(5857, m5857)!.fields }, { ProviderName: 'WMI Kernel Trace Event Provider', Code: '0x0', HostProcess: 'wmiprvse.exe', ProcessID: '2568', ProviderPath: 'C:\\Windows\\System32\\wbem\\krnlprov.dll' });
  // every template round-trips through our renderer of it
  const samples: Record<number, Record<string, string>> = {
    5857: { ProviderName: 'CommandLineEventConsumer', Code: '0x0', HostProcess: 'wmiprvse.exe', ProcessID: '1', ProviderPath: '%SystemRoot%\\system32\\wbem\\wbemcons.dll' },
    5858: { Id: '{00000000}', ClientMachine: 'H', User: 'D\\u', ClientProcessId: '9', Component: 'Unknown', Operation: 'Start IWbemServices::ExecQuery - root\\cimv2 : select a; b from c', ResultCode: '0x80041032', PossibleCause: 'Unknown' },
    5859: { NamespaceName: '//./root/cimv2', Query: 'select * from MSFT_SCMEventLogEvent', User: 'S-1-5-32-544', Processid: '436', Provider: 'SCM Event Provider', queryid: '0', PossibleCause: 'Permanent' },
    5860: { NamespaceName: 'ROOT\\CIMV2', Query: "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'wsmprovhost.exe'", User: '', Processid: '1484', ClientMachine: 'BASE-RD-01', PossibleCause: 'Temporary' },
    5861: { Namespace: '//./root/subscription', ESS: 'SCM Event Log Filter', CONSUMER: 'NTEventLogEventConsumer="SCM Event Log Consumer"', PossibleCause: 'Binding EventFilter: \ninstance of __EventFilter\n{\n\tName = "SCM Event Log Filter";\n};\n' },
  };
  for (const [id, fields] of Object.entries(samples)) {
    const text = wmiActivityMessage(Number(id), fields)!;
    const back = wmiActivityFromMessage(Number(id), text);
    assert.ok(back, `${id}: ${text}`);
    assert.deepEqual({ ...back.fields }, fields, String(id));
  }
  assert.equal(wmiActivityFromMessage(5861, 'something else'), null);
  assert.equal(wmiActivityFromMessage(4104, 'Namespace = x'), null);
});

test('a 5861 rebuilt from its message reads like the UserData record', () => {
  const msg = readFileSync(fixture('otrf-covenant-persistwmi.nxlog.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((o) => o['EventID'] === 5861)!;
  const [json] = eventRecords(msg);
  const w = wmiActivityEvent(json!)!;
  assert.deepEqual([w.namespace, w.filterName, w.consumer?.className, w.consumer?.name, w.filterInstance?.properties['Query'], w.consumerCreatorSid], [
    'ROOT\\subscription',
    'Evil Persistence',
    'CommandLineEventConsumer',
    'Evil Persistence',
    "select * from Win32_ProcessStartTrace where ProcessName='notepad.exe'",
    'S-1-5-21-791464340-1796667228-2788435825-1112',
  ]);
});

test('Sysmon WMI messages: fields read back by label, a multi-line last field kept whole', () => {
  const m = 'WmiEventConsumer activity detected:\r\nRuleName: -\r\nEventType: WmiConsumerEvent\r\nUtcTime: 2020-09-02 01:43:49.913\r\nOperation: Created\r\nUser: THESHIRE\\pgustavo\r\nName:  "WSUS_RP5ZB"\r\nType: Script\r\nDestination:  "line1\r\nName: not a field\r\nline3"';
  assert.deepEqual({ ...sysmonWmiFromMessage(20, m)! }, { RuleName: '-', EventType: 'WmiConsumerEvent', UtcTime: '2020-09-02 01:43:49.913', Operation: 'Created', User: 'THESHIRE\\pgustavo', Name: ' "WSUS_RP5ZB"', Type: 'Script', Destination: ' "line1\r\nName: not a field\r\nline3"' });
  assert.equal(sysmonWmiFromMessage(1, m), null);
});

test('the NXLog writer keeps what NXLog loses: no UserData, EventType taken by NXLog, entities left encoded', () => {
  const events = readEvtx(join(repoRoot(), SYSMON_EVTX));
  const s20 = events.find((e) => (e.json['Event'] as { System: { EventID: number } }).System.EventID === 20)!;
  const rec = toNxlogRecord(s20);
  assert.equal(rec['EventType'], 'INFO');
  assert.equal(rec['Name'], ' "BotConsumer23"');
  assert.match(String(rec['Message']), /^WmiEventConsumer activity detected:\r\n/);
});

// ---- shared samples: exports made on the fly from every WMI EVTX -----------------------------------------------------------

const SAMPLE_EVTX = [
  'EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx',
  'hayabusa-sample-evtx/ID19-20-WMI registration via PowerLurk.evtx',
  'hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx',
  'EVTX-ATTACK-SAMPLES/LM_WMI_4624_4688_TargetHost.evtx',
];

for (const rel of SAMPLE_EVTX) {
  test(`samples: ${rel} in every export shape gives the EVTX's findings`, { skip: skipReason }, async () => {
    const file = evtxSample(rel);
    const ref = await scan([file], {});
    const dir = mkdtempSync(join(tmpdir(), 'wmiscope-exports-'));
    try {
      for (const [suffix, data] of Object.entries(exportsOf(readEvtx(file), rel))) {
        const out = join(dir, `export.${suffix}`);
        writeFileSync(out, data);
        const r = await scan([out], {});
        if (suffix === 'nxlog.jsonl' && /ID800-4103-4104/.test(rel)) {
          // inherent: the classic "Windows PowerShell" 800 event keeps its data in unnamed <Data> elements, which
          // NXLog does not flatten (the OTRF NXLog exports show 800 records with no data fields at all). The 4104
          // script block and the 4103 records still give the same subscription, its binding included (rebuilt from
          // the script's literal arguments), so the finding is the same without the 800 records.
          const lost = (x: ScanResult): number => x.findings.flatMap((f) => f.observations).filter((o) => o.meta['eventId'] === 800).length;
          assert.ok(lost(ref) > 0 && lost(r) === 0);
        }
        assert.deepEqual(essence(r), essence(ref), `${rel} as ${suffix}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('NXLog: a zone-less EventTime is the time, at the zone its distance from @timestamp shows; no zone shown, no guess', async () => {
  const message = 'Namespace = //./root/subscription; Eventfilter = F (refer to its activate eventid:5859); Consumer = CommandLineEventConsumer="C"; PossibleCause = Permanent';
  const rec = (n: number, eventTime: string, ts?: string): string =>
    JSON.stringify({ EventTime: eventTime, ...(ts ? { '@timestamp': ts } : {}), Hostname: 'H6', EventID: 5861, SourceName: 'Microsoft-Windows-WMI-Activity', Channel: 'Microsoft-Windows-WMI-Activity/Operational', RecordNumber: n, Message: message });
  const timeOf = async (...ls: string[]): Promise<{ times: Array<string | null>; notes: string[] }> => {
    const { res, notes } = await observeText('h6.nxlog.jsonl', ls.join('\n') + '\n');
    return { times: res!.observations.filter((o) => o.part === 'binding').map((o) => o.time), notes: notes.map((n) => n.message) };
  };
  // India (UTC+05:30), shipped 40 s later: the event's second, not the pipeline's
  let r = await timeOf(rec(1, '2021-03-01 10:00:05', '2021-03-01T04:30:45.120Z'));
  assert.deepEqual(r.times, ['2021-03-01T04:30:05.0000000Z']);
  assert.match(r.notes[0]!, /^nxlog: 1 record\(s\) are timed by EventTime, the collector's local time without a zone, read at UTC\+05:30 \(1\)/);
  // a collector in UTC: zone +00:00, the EventTime as it stands
  r = await timeOf(rec(2, '2021-03-01 10:00:05', '2021-03-01T10:00:06Z'));
  assert.deepEqual(r.times, ['2021-03-01T10:00:05.0000000Z']);
  // twenty minutes late (no zone plus a short delay explains it): the pipeline time, said to be one
  r = await timeOf(rec(3, '2021-03-01 10:00:05', '2021-03-01T10:20:05Z'));
  assert.deepEqual(r.times, ['2021-03-01T10:20:05.0000000Z']);
  assert.match(r.notes[0]!, /timed by @timestamp/);
  // @timestamp before the event by more than a minute of skew, or fifteen hours away: no zone read
  r = await timeOf(rec(4, '2021-03-01 10:00:05', '2021-03-01T09:58:00Z'), rec(5, '2021-03-01 10:00:05', '2021-03-02T01:00:05Z'));
  assert.deepEqual(r.times, ['2021-03-01T09:58:00.0000000Z', '2021-03-02T01:00:05.0000000Z']);
  // no @timestamp: the zone-less time taken as UTC, and said so
  r = await timeOf(rec(6, '2021-03-01 10:00:05'));
  assert.deepEqual(r.times, ['2021-03-01T10:00:05.0000000Z']);
  assert.match(r.notes[0]!, /have a time without a time zone/);
  // a zone-less time that is no time (February 30) is kept as given, never shifted
  r = await timeOf(rec(7, '2021-02-30 10:00:05', '2021-03-02T04:30:45Z'));
  assert.deepEqual(r.notes.filter((n) => /read at UTC/.test(n)), []);
});
