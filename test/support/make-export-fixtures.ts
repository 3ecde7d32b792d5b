/**
 * Writes the event-export fixtures of test/fixtures/exports/ from real events (see NOTICE.md there):
 *
 * - `sysmon-bot.*`: every record of test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx (GPL-3.0,
 *   EVTX-ATTACK-SAMPLES), read with our EVTX reader and written in each export shape by the converters below
 *   (our own mapping of a rendered record to each tool's documented shape), plus the two Debian reference
 *   tools' XML (`evtxexport -f xml`, `evtx_dump.py`) when they are installed.
 * - `otrf-*.nxlog.jsonl`: lines copied unchanged from two NXLog exports of OTRF Security-Datasets (MIT); they
 *   are only re-extracted when `--otrf <dir>` names a folder holding the two original .json files.
 *   `otrf-wmi.*`: their WMI records rewritten into the other shapes (read with our NXLog adapter, then written
 *   by the converters below).
 *
 * Usage: `npx tsc -p tsconfig.json && node dist/test/support/make-export-fixtures.js [--otrf <dir>]`
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EvtxReader, serializeRecord } from '../../src/evtx/index.js';
import type { EvtxJsonObject, EvtxValue } from '../../src/evtx/index.js';
import { eventHeader } from '../../src/events/index.js';
import { WMI_ACTIVITY_ELEMENTS } from '../../src/events/messages.js';
import { eventRecords } from '../../src/sources/formats/exports.js';
import { repoRoot } from './samples.js';

type Obj = { [k: string]: unknown };
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** One event: its EVTX JSON, its XML when read from an EVTX, its rendered message when known. */
export interface SourceEvent {
  json: EvtxJsonObject;
  xml?: string;
  message?: string | null;
  /** Record id, for the evtx_dump `Record N` banner. */
  recordId?: number;
  /** The record as `wmiscope evtx dump` writes it (JSON Lines), when read from an EVTX. */
  jsonl?: string;
}

/** Every allocated record of an EVTX file. */
export function readEvtx(file: string): SourceEvent[] {
  const r = EvtxReader.open(file);
  try {
    return [...r.records({})].map((rec) => ({ json: rec.toJSON(), xml: rec.toXml(), recordId: rec.recordId, jsonl: serializeRecord(rec, { format: 'jsonl' }) }));
  } finally {
    r.close();
  }
}

// ---- shared helpers -----------------------------------------------------------------------------------------------

function sys(e: EvtxJsonObject): Obj {
  return ((e['Event'] as Obj)['System'] ?? {}) as Obj;
}
function attr(v: unknown, name: string): string | null {
  if (!isObj(v) || !isObj(v['#attributes'])) return null;
  const x = v['#attributes'][name];
  return x === undefined || x === null ? null : String(x);
}
function scalar(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return String(v);
  if (isObj(v) && v['#text'] !== undefined) return scalar(v['#text']);
  return null;
}
/** EventData as flat name → value pairs; unnamed Data (`Data: {'#text': [...]}`) as `param1`…, Winlogbeat's names for them. */
function eventDataPairs(e: EvtxJsonObject, unnamed: 'params' | 'keep' = 'params'): Array<[string, EvtxValue]> {
  const ed = (e['Event'] as Obj)['EventData'];
  if (!isObj(ed)) return [];
  const out: Array<[string, EvtxValue]> = [];
  for (const [k, v] of Object.entries(ed as EvtxJsonObject)) {
    const list = k === 'Data' && isObj(v) && Array.isArray(v['#text']) ? (v['#text'] as EvtxValue[]) : null;
    if (list && unnamed === 'params') list.forEach((x, i) => out.push([`param${i + 1}`, x]));
    else out.push([k, v]);
  }
  return out;
}
/** UserData: the element name and its children. */
function userData(e: EvtxJsonObject): { name: string; fields: Obj } | null {
  const ud = (e['Event'] as Obj)['UserData'];
  if (!isObj(ud)) return null;
  const name = Object.keys(ud).find((k) => k !== '#attributes');
  if (!name || !isObj(ud[name])) return null;
  return { name, fields: ud[name] as Obj };
}
const guidBraced = (g: string | null): string | null => (g ? (g.startsWith('{') ? g : `{${g}}`) : null);
/** ISO time cut to milliseconds, as Elasticsearch's `date` keeps it. */
const millis = (t: string | null): string | null => (t ? new Date(Date.parse(t)).toISOString() : null);

// ---- evtx crate JSON ----------------------------------------------------------------------------------------------

/** `evtx_dump -o json`: a `Record N` line before each pretty-printed record. */
export function toEvtxDumpJson(events: SourceEvent[]): string {
  return events.map((e) => `Record ${e.recordId ?? eventHeader(e.json)?.recordId ?? 0}\n${JSON.stringify(e.json, null, 2)}\n`).join('');
}

/** `wmiscope evtx dump` JSON Lines. */
export function toJsonl(events: SourceEvent[]): string {
  return events.map((e) => e.jsonl ?? JSON.stringify(e.json)).join('\n') + '\n';
}

/** evtx's `separate_json_attributes`: `X: {'#attributes': a, '#text': t}` → `X_attributes: a, X: t` (Chainsaw's shape). */
export function separateAttributes(v: EvtxValue): EvtxValue {
  if (Array.isArray(v)) return v.map(separateAttributes);
  if (!isObj(v)) return v;
  const out: EvtxJsonObject = {};
  for (const [k, val] of Object.entries(v as EvtxJsonObject)) {
    if (k === '#attributes') continue;
    if (isObj(val) && isObj(val['#attributes'])) {
      out[`${k}_attributes`] = val['#attributes'] as EvtxJsonObject;
      const rest = Object.keys(val).filter((x) => x !== '#attributes');
      if (rest.length === 1 && rest[0] === '#text') out[k] = (val as EvtxJsonObject)['#text']!;
      else if (rest.length) out[k] = separateAttributes(Object.fromEntries(rest.map((r) => [r, (val as EvtxJsonObject)[r]!])) as EvtxJsonObject);
      continue;
    }
    out[k] = separateAttributes(val);
  }
  return out;
}

function chainsawRecord(e: EvtxJsonObject): EvtxJsonObject {
  const ev = e['Event'] as EvtxJsonObject;
  const out: EvtxJsonObject = {};
  if (isObj(ev['#attributes'])) out['Event_attributes'] = ev['#attributes'] as EvtxJsonObject;
  out['Event'] = separateAttributes(ev);
  return out;
}

/** `chainsaw search --json`: a JSON array of records with separate attributes. */
export function toChainsawSearch(events: SourceEvent[]): string {
  return JSON.stringify(events.map((e) => chainsawRecord(e.json))) + '\n';
}

/**
 * `chainsaw hunt --jsonl`: one detection per line (Chainsaw's `Detection` serializer: group, the flattened hit
 * kind with its document(s) {kind, path, data}, name, timestamp, authors, level, source, status, then the Sigma
 * fields). Every Sysmon 19/20/21 record is hit by the Sigma rule "WMI Event Subscription"; the first one also by a
 * second rule (a duplicate the reader must drop); the other records come as one aggregate detection.
 */
export function toChainsawHunt(events: SourceEvent[], path: string): string {
  const doc = (e: SourceEvent): Obj => ({ kind: 'evtx', path, data: chainsawRecord(e.json) });
  const ts = (e: SourceEvent): string => (eventHeader(e.json)?.time ?? '').replace(/(\.\d{6})\d*Z$/, '$1+00:00');
  const wmi = events.filter((e) => [19, 20, 21].includes(eventHeader(e.json)?.eventId ?? 0));
  const rest = events.filter((e) => !wmi.includes(e));
  const sigma = { id: '0f06a3a5-6a09-413f-8743-e6cf35561297', logsource: { category: 'wmi_event', product: 'windows' }, tags: ['attack.persistence', 'attack.t1546.003'] };
  const out: Obj[] = [];
  for (const e of wmi) out.push({ group: 'Sigma', kind: 'individual', document: doc(e), name: 'WMI Event Subscription', timestamp: ts(e), authors: ['Tom Ueltschi'], level: 'medium', source: 'sigma', status: 'test', ...sigma });
  if (wmi[0]) out.push({ group: 'Sigma', kind: 'individual', document: doc(wmi[0]), name: 'Another rule on the same record', timestamp: ts(wmi[0]), authors: ['test'], level: 'low', source: 'sigma', status: 'test' });
  if (rest.length) out.push({ group: 'Chainsaw', kind: 'aggregate', documents: rest.map(doc), name: 'Other records', timestamp: ts(rest[0]!), authors: ['test'], level: 'info', source: 'chainsaw', status: 'stable' });
  return out.map((d) => JSON.stringify(d)).join('\n') + '\n';
}

// ---- ECS (Winlogbeat) ------------------------------------------------------------------------------------------------

/**
 * A Winlogbeat document for a record (the fields its `wineventlog` reader fills: `winlog.channel`,
 * `computer_name`, `event_id`, `provider_name`, `provider_guid`, `record_id`, `process.pid`, `process.thread.id`,
 * `user.identifier`, `event_data` pairs, `user_data` pairs plus `xml_name`; `@timestamp` = TimeCreated; ECS
 * `event.code`, `event.provider`, `host.name`, `message`). Empty values are left out as Winlogbeat does.
 */
export function toEcsDoc(e: SourceEvent, eventIdAsString = false): Obj {
  const s = sys(e.json);
  const h = eventHeader(e.json)!;
  const winlog: Obj = {
    api: 'wineventlog',
    channel: h.channel,
    computer_name: h.computer,
    event_id: eventIdAsString ? String(h.eventId) : h.eventId,
    provider_name: h.provider,
    provider_guid: guidBraced(attr(s['Provider'], 'Guid')),
    record_id: h.recordId,
  };
  const pid = attr(s['Execution'], 'ProcessID');
  if (pid !== null) winlog['process'] = { pid: Number(pid), thread: { id: Number(attr(s['Execution'], 'ThreadID')) } };
  const sid = attr(s['Security'], 'UserID');
  if (sid) winlog['user'] = { identifier: sid };
  const version = scalar(s['Version']);
  if (version !== null) winlog['version'] = Number(version);
  const ed: Obj = {};
  for (const [k, v] of eventDataPairs(e.json)) {
    const x = scalar(v);
    if (x !== null && x !== '') ed[k] = String(x);
  }
  if (Object.keys(ed).length) winlog['event_data'] = ed;
  const ud = userData(e.json);
  if (ud) {
    const pairs: Obj = { xml_name: ud.name };
    for (const [k, v] of Object.entries(ud.fields)) {
      const x = scalar(v);
      if (k !== '#attributes' && x !== null && x !== '') pairs[k] = String(x);
    }
    winlog['user_data'] = pairs;
  }
  const doc: Obj = {
    '@timestamp': millis(h.time),
    agent: { type: 'winlogbeat', version: '8.11.0' },
    ecs: { version: '8.0.0' },
    event: { code: String(h.eventId), kind: 'event', provider: h.provider },
    host: { name: h.computer },
    log: { level: 'information' },
    winlog,
  };
  if (e.message) doc['message'] = e.message.replace(/\r\n/g, '\n');
  return doc;
}

export function toEcsNdjson(events: SourceEvent[]): string {
  return events.map((e) => JSON.stringify(toEcsDoc(e))).join('\n') + '\n';
}

/** Leaves as dotted keys (`winlog.event_id`), except inside event_data/user_data (kept nested: both forms in one document). */
function dotted(o: Obj, prefix = '', out: Obj = {}): Obj {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObj(v) && !/(^|\.)(event_data|user_data)$/.test(key)) dotted(v, key, out);
    else out[key] = v;
  }
  return out;
}

/** An Elasticsearch search response (`hits.hits[]._source`), the documents with dotted keys. */
export function toEsSearch(events: SourceEvent[]): string {
  const hits = events.map((e, i) => ({ _index: '.ds-winlogbeat-8.11.0-2024.01.01-000001', _id: `doc${i + 1}`, _score: 1, _source: dotted(toEcsDoc(e, true)) }));
  return JSON.stringify({ took: 5, timed_out: false, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 }, hits: { total: { value: hits.length, relation: 'eq' }, max_score: 1, hits } }, null, 2) + '\n';
}

// ---- NXLog -------------------------------------------------------------------------------------------------------------

const SYSMON_TITLES: Record<number, string> = {
  19: 'WmiEventFilter activity detected:',
  20: 'WmiEventConsumer activity detected:',
  21: 'WmiEventConsumerToFilter activity detected:',
};

/** The WMI-Activity message text from its UserData, by the manifest templates (see src/events/messages.ts). */
export function wmiActivityMessage(eventId: number, f: Obj): string | null {
  const v = (k: string): string => String(scalar(f[k]) ?? '');
  switch (eventId) {
    case 5857:
      return `${v('ProviderName')} provider started with result code ${v('Code')}. HostProcess = ${v('HostProcess')}; ProcessID = ${v('ProcessID')}; ProviderPath = ${v('ProviderPath')}`;
    case 5858:
      return `Id = ${v('Id')}; ClientMachine = ${v('ClientMachine')}; User = ${v('User')}; ClientProcessId = ${v('ClientProcessId')}; Component = ${v('Component')}; Operation = ${v('Operation')}; ResultCode = ${v('ResultCode')}; PossibleCause = ${v('PossibleCause')}`;
    case 5859:
      return `Namespace = ${v('NamespaceName')}; NotificationQuery = ${v('Query')}; OwnerName = ${v('User')}; HostProcessID = ${v('Processid')};  Provider= ${v('Provider')}, queryID = ${v('queryid')}; PossibleCause = ${v('PossibleCause')}`;
    case 5860:
      return `Namespace = ${v('NamespaceName')}; NotificationQuery = ${v('Query')}; UserName = ${v('User')}; ClientProcessID = ${v('Processid')}, ClientMachine = ${v('ClientMachine')}; PossibleCause = ${v('PossibleCause')}`;
    case 5861:
      return `Namespace = ${v('Namespace')}; Eventfilter = ${v('ESS')} (refer to its activate eventid:5859); Consumer = ${v('CONSUMER')}; PossibleCause = ${v('PossibleCause')}`;
  }
  return null;
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Text content for XML: a CR written as `&#13;` so that XML's end-of-line handling keeps it. */
const xmlText = (s: string): string => xmlEscape(s).replace(/\r/g, '&#13;');

/**
 * An NXLog `im_msvistalog` + `to_json` record (the fields NXLog documents for that module, in the layout of the
 * OTRF exports): System fields at the top, EventData flattened beside them with empty values left out and the
 * XML entities kept as NXLog leaves them, an EventData field named like an NXLog field lost (Sysmon's EventType),
 * UserData dropped, `Message` rendered (WMI-Activity by its template, Sysmon WMI events as `Field: value` lines).
 * `EventTime` is written as the collector's local time, here UTC, without a zone, as NXLog does.
 */
export function toNxlogRecord(e: SourceEvent): Obj {
  const s = sys(e.json);
  const h = eventHeader(e.json)!;
  const local = h.time ? new Date(Date.parse(h.time)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '') : null;
  const rec: Obj = {
    EventTime: local,
    Hostname: h.computer,
    Keywords: scalar(s['Keywords']),
    EventType: 'INFO',
    SeverityValue: 2,
    Severity: 'INFO',
    EventID: h.eventId,
    SourceName: h.provider,
    ProviderGuid: guidBraced(attr(s['Provider'], 'Guid')),
    Version: scalar(s['Version']),
    Task: scalar(s['Task']),
    OpcodeValue: scalar(s['Opcode']),
    RecordNumber: h.recordId,
    ProcessID: Number(attr(s['Execution'], 'ProcessID') ?? 0),
    ThreadID: Number(attr(s['Execution'], 'ThreadID') ?? 0),
    Channel: h.channel,
  };
  const sid = attr(s['Security'], 'UserID');
  if (sid) rec['UserID'] = sid;
  const pairs = eventDataPairs(e.json, 'keep');
  for (const [k, v] of pairs) {
    const x = scalar(v);
    if (x === null || x === '' || k in rec) continue;
    rec[k] = typeof x === 'string' ? xmlEscape(x) : x;
  }
  let message = e.message ?? null;
  const ud = userData(e.json);
  if (!message && ud && WMI_ACTIVITY_ELEMENTS[h.eventId]) message = wmiActivityMessage(h.eventId, ud.fields);
  if (!message && SYSMON_TITLES[h.eventId]) message = [SYSMON_TITLES[h.eventId], ...pairs.map(([k, v]) => `${k}: ${scalar(v) ?? ''}`)].join('\r\n');
  if (message) rec['Message'] = message;
  rec['EventReceivedTime'] = local;
  rec['SourceModuleName'] = 'eventlog';
  rec['SourceModuleType'] = 'im_msvistalog';
  // NXLog writes no field it has no value for
  for (const k of Object.keys(rec)) if (rec[k] === null || rec[k] === undefined) delete rec[k];
  return rec;
}

export function toNxlog(events: SourceEvent[]): string {
  return events.map((e) => JSON.stringify(toNxlogRecord(e))).join('\n') + '\n';
}

// ---- XML --------------------------------------------------------------------------------------------------------------

const attrEscape = (s: string): string => xmlEscape(s).replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;');

function xmlElement(name: string, v: unknown, indent: string): string {
  if (Array.isArray(v)) return v.map((x) => xmlElement(name, x, indent)).join('');
  const a = isObj(v) && isObj(v['#attributes']) ? Object.entries(v['#attributes']).map(([k, x]) => ` ${k}="${attrEscape(String(x))}"`).join('') : '';
  if (v === null || v === undefined || (isObj(v) && Object.keys(v).every((k) => k === '#attributes'))) return `${indent}<${name}${a}/>\n`;
  if (!isObj(v)) return `${indent}<${name}${a}>${xmlText(String(v))}</${name}>\n`;
  if (v['#text'] !== undefined && Object.keys(v).every((k) => k === '#attributes' || k === '#text')) return `${indent}<${name}${a}>${xmlText(String(scalar(v['#text'])))}</${name}>\n`;
  const kids = Object.entries(v).filter(([k]) => k !== '#attributes' && k !== '#text');
  return `${indent}<${name}${a}>\n${kids.map(([k, x]) => xmlElement(k, x, indent + '  ')).join('')}${indent}</${name}>\n`;
}

/** Event XML of a record (its EVTX rendering when read from an EVTX), with `<RenderingInfo><Message>` when the message is known. */
export function toEventXml(e: SourceEvent, withRendering = true): string {
  if (e.xml && !(withRendering && e.message)) return e.xml.endsWith('\n') ? e.xml : e.xml + '\n';
  const ev = e.json['Event'] as Obj;
  const ns = attr(ev, 'xmlns') ?? 'http://schemas.microsoft.com/win/2004/08/events/event';
  let out = `<Event xmlns="${ns}">\n`;
  out += xmlElement('System', ev['System'], '  ');
  const ed = ev['EventData'];
  if (isObj(ed)) {
    out += '  <EventData>\n';
    for (const [k, v] of Object.entries(ed)) {
      if (k === 'Data' && isObj(v) && Array.isArray(v['#text'])) {
        for (const x of v['#text'] as unknown[]) out += x === null || x === '' ? '    <Data/>\n' : `    <Data>${xmlText(String(x))}</Data>\n`;
        continue;
      }
      const x = scalar(v);
      out += x === null || x === '' ? `    <Data Name="${attrEscape(k)}"/>\n` : `    <Data Name="${attrEscape(k)}">${xmlText(String(x))}</Data>\n`;
    }
    out += '  </EventData>\n';
  }
  const ud = userData(e.json);
  if (ud) {
    const fields = Object.fromEntries(Object.entries(ud.fields).filter(([k]) => k !== '#attributes'));
    out += `  <UserData>\n${xmlElement(ud.name, { '#attributes': { xmlns: 'http://manifests.microsoft.com/win/2006/windows/WMI' }, ...fields }, '    ')}  </UserData>\n`;
  }
  if (withRendering && e.message) out += `  <RenderingInfo Culture="en-US">\n    <Message>${xmlText(e.message)}</Message>\n    <Level>Information</Level>\n  </RenderingInfo>\n`;
  return out + '</Event>\n';
}

/** Event Viewer's "Save as XML" layout: a declaration and an `<Events>` root. */
export function toEventsDocument(events: SourceEvent[], withRendering = true): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<Events>\n${events.map((e) => toEventXml(e, withRendering)).join('')}</Events>\n`;
}

/** `wevtutil qe <log> /f:xml` redirected by PowerShell: events concatenated without a root, one per line, UTF-16 LE with a BOM. */
export function toWevtutil(events: SourceEvent[]): Buffer {
  const text = events
    .map((e) => toEventXml(e, false).replace(/>\s+</g, '><').trim().replace(/xmlns="([^"]*)"/g, "xmlns='$1'"))
    .join('\r\n');
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text + '\r\n', 'utf16le')]);
}

// ---- Microsoft Sentinel / Log Analytics -------------------------------------------------------------------------------

/** Log Analytics `datetime`: ISO-8601 UTC with 7 fractional digits, as KQL results print it. */
const kqlTime = (t: string | null): string | null => t;

/**
 * A Log Analytics `WindowsEvent` row (Azure Monitor Agent), the columns Microsoft documents for that table: System
 * fields as columns, `EventData` an object of the named Data (unnamed Data as a `Data` list), `EventRecordId` text.
 */
export function toSentinelWindowsEventRow(e: SourceEvent): Obj {
  const s = sys(e.json);
  const h = eventHeader(e.json)!;
  const data: Obj = {};
  for (const [k, v] of eventDataPairs(e.json, 'keep')) data[k] = isObj(v) && Array.isArray(v['#text']) ? v['#text'] : scalar(v);
  const ud = userData(e.json);
  if (ud) for (const [k, v] of Object.entries(ud.fields)) if (k !== '#attributes') data[k] = scalar(v);
  return {
    TenantId: '00000000-0000-0000-0000-000000000000',
    TimeGenerated: kqlTime(h.time),
    Computer: h.computer,
    EventID: h.eventId,
    Channel: h.channel,
    Provider: h.provider,
    Task: Number(scalar(s['Task']) ?? 0),
    Opcode: String(scalar(s['Opcode']) ?? '0'),
    Keywords: String(scalar(s['Keywords']) ?? ''),
    EventLevel: Number(scalar(s['Level']) ?? 4),
    EventLevelName: 'Information',
    EventRecordId: String(h.recordId),
    SystemProcessId: Number(attr(s['Execution'], 'ProcessID') ?? 0),
    SystemThreadId: Number(attr(s['Execution'], 'ThreadID') ?? 0),
    SystemUserId: attr(s['Security'], 'UserID') ?? '',
    Version: Number(scalar(s['Version']) ?? 0),
    EventData: data,
    RawEventData: null,
    Type: 'WindowsEvent',
  };
}

/** `WindowsEvent | where …` results as the JSON array Log Analytics' query API gives row by row (one object per row). */
export function toSentinelWindowsEvent(events: SourceEvent[]): string {
  return '[\n' + events.map((e) => '  ' + JSON.stringify(toSentinelWindowsEventRow(e))).join(',\n') + '\n]\n';
}

/**
 * A Log Analytics `Event` row (the legacy agent), the columns Microsoft documents for that table: `EventLog`,
 * `Source`, `EventData` the event's `<EventData>` XML in a `<DataItem>`, `ParameterXml` its values as `<Param>`,
 * `RenderedDescription` the message (Sysmon's `Field: value` lines). No record number: the table has none.
 */
export function toSentinelEventRow(e: SourceEvent): Obj {
  const s = sys(e.json);
  const h = eventHeader(e.json)!;
  const pairs = eventDataPairs(e.json, 'keep');
  const named = pairs.filter(([k]) => k !== 'Data');
  const dataXml = named
    .map(([k, v]) => {
      const x = scalar(v);
      return x === null || x === '' ? `<Data Name="${attrEscape(k)}" />` : `<Data Name="${attrEscape(k)}">${xmlText(String(x))}</Data>`;
    })
    .join('');
  const params = pairs.flatMap(([, v]) => (isObj(v) && Array.isArray(v['#text']) ? (v['#text'] as unknown[]) : [scalar(v)])).map((x) => `<Param>${x === null ? '' : xmlText(String(x))}</Param>`).join('');
  let message = e.message ?? null;
  if (!message && SYSMON_TITLES[h.eventId]) message = [SYSMON_TITLES[h.eventId], ...pairs.map(([k, v]) => `${k}: ${scalar(v) ?? ''}`)].join('\r\n');
  return {
    TenantId: '00000000-0000-0000-0000-000000000000',
    SourceSystem: 'OpsManager',
    TimeGenerated: kqlTime(h.time),
    Source: h.provider,
    EventLog: h.channel,
    Computer: h.computer,
    EventLevel: 4,
    EventLevelName: 'Information',
    ParameterXml: params,
    EventData: `<DataItem type="System.XmlData" time="${h.time}" sourceHealthServiceId="00000000-0000-0000-0000-000000000000"><EventData xmlns="http://schemas.microsoft.com/win/2004/08/events/event">${dataXml}</EventData></DataItem>`,
    EventID: h.eventId,
    RenderedDescription: message,
    EventCategory: Number(scalar(s['Task']) ?? 0),
    UserName: 'NT AUTHORITY\\SYSTEM',
    ManagementGroupName: '',
    Type: 'Event',
  };
}

/** `Event | where …` results, one JSON object per line. */
export function toSentinelEvent(events: SourceEvent[]): string {
  return events.map((e) => JSON.stringify(toSentinelEventRow(e))).join('\n') + '\n';
}

/** `SecurityEvent` columns that hold an EventData field of the same name (a subset of the table's documented columns). */
const SECURITY_EVENT_DATA_COLUMNS = new Set([
  'SubjectUserSid', 'SubjectUserName', 'SubjectDomainName', 'SubjectLogonId', 'NewProcessId', 'NewProcessName',
  'TokenElevationType', 'ProcessId', 'CommandLine', 'TargetUserSid', 'TargetUserName', 'TargetDomainName',
  'TargetLogonId', 'ParentProcessName', 'MandatoryLabel', 'LogonType', 'LogonProcessName', 'AuthenticationPackageName',
  'WorkstationName', 'LogonGuid', 'TransmittedServices', 'LmPackageName', 'KeyLength', 'ProcessName', 'IpAddress',
  'IpPort', 'ElevatedToken', 'VirtualAccount', 'TargetLinkedLogonId', 'RestrictedAdminMode', 'TargetOutboundUserName',
  'TargetOutboundDomainName',
]);

/**
 * A Log Analytics `SecurityEvent` row (the table's documented columns): the event's data as flat columns where the
 * table has one, the other fields in `EventData`'s XML (null when none is left), `Account` and `Activity` as the
 * service derives them. No record number: the table has none.
 */
export function toSentinelSecurityEventRow(e: SourceEvent): Obj {
  const s = sys(e.json);
  const h = eventHeader(e.json)!;
  const pairs = eventDataPairs(e.json, 'keep');
  const columns: Obj = {};
  const rest: string[] = [];
  for (const [k, v] of pairs) {
    const x = scalar(v);
    if (SECURITY_EVENT_DATA_COLUMNS.has(k)) columns[k] = x === null ? '' : String(x);
    else rest.push(x === null || x === '' ? `<Data Name="${attrEscape(k)}" />` : `<Data Name="${attrEscape(k)}">${xmlText(String(x))}</Data>`);
  }
  const user = typeof columns['SubjectUserName'] === 'string' ? `${columns['SubjectDomainName'] ?? ''}\\${columns['SubjectUserName']}` : '';
  return {
    TenantId: '00000000-0000-0000-0000-000000000000',
    TimeGenerated: kqlTime(h.time),
    SourceSystem: 'OpsManager',
    Account: user,
    AccountType: /\$$/.test(user) ? 'Machine' : 'User',
    Computer: h.computer,
    EventSourceName: h.provider,
    Channel: h.channel,
    Task: Number(scalar(s['Task']) ?? 0),
    Level: String(scalar(s['Level']) ?? '0'),
    EventData: rest.length ? `<EventData xmlns="http://schemas.microsoft.com/win/2004/08/events/event">${rest.join('')}</EventData>` : null,
    EventID: h.eventId,
    Activity: h.eventId === 4688 ? '4688 - A new process has been created.' : String(h.eventId),
    ...columns,
    Type: 'SecurityEvent',
  };
}

/**
 * `union SecurityEvent, WindowsEvent` results, one JSON object per line: Security records as `SecurityEvent` rows,
 * the others as `WindowsEvent` rows.
 */
export function toSentinelUnion(events: SourceEvent[]): string {
  return events.map((e) => JSON.stringify(/^security$/i.test(eventHeader(e.json)?.channel ?? '') ? toSentinelSecurityEventRow(e) : toSentinelWindowsEventRow(e))).join('\n') + '\n';
}

// ---- Splunk -------------------------------------------------------------------------------------------------------------

/** Splunk's `_time` in JSON results: ISO-8601 to the millisecond with the offset written `+00:00`. */
const splunkTime = (t: string | null): string | null => (t ? new Date(Date.parse(t)).toISOString().replace('Z', '+00:00') : null);

/** The fields Splunk adds to every result beside `_raw` (the Windows add-on's, with an XmlWinEventLog source). */
function splunkFields(e: SourceEvent, i: number, sourcetype: string, raw: string): Obj {
  const h = eventHeader(e.json)!;
  return {
    _bkt: 'wineventlog~12~00000000-0000-0000-0000-000000000000',
    _cd: `12:${1000 + i}`,
    _indextime: String(Math.floor(Date.parse(h.time ?? '2019-01-01T00:00:00Z') / 1000) + 5),
    _raw: raw,
    _serial: String(i),
    _si: ['splunk', 'wineventlog'],
    _sourcetype: sourcetype,
    _time: splunkTime(h.time),
    host: h.computer,
    index: 'wineventlog',
    linecount: String(raw.split('\n').length),
    source: `${sourcetype}:${h.channel}`,
    sourcetype,
    splunk_server: 'splunk',
  };
}

/**
 * `index=wineventlog sourcetype=XmlWinEventLog | …` exported as JSON (`splunk search … -output json`, the export
 * endpoint's `output_mode=json`): one `{"preview":false,"result":{…}}` per line, `_raw` the event's XML on one line.
 */
export function toSplunkXmlJson(events: SourceEvent[]): string {
  return events.map((e, i) => JSON.stringify({ preview: false, offset: i, ...(i === events.length - 1 ? { lastrow: true } : {}), result: splunkFields(e, i, 'XmlWinEventLog', toEventXml(e, false).replace(/>\s+</g, '><').trim().replace(/xmlns="([^"]*)"/g, "xmlns='$1'")) })).join('\n') + '\n';
}

/** US date and 12-hour time, as the classic rendering's first line prints the forwarder's local time (here UTC). */
function classicDate(t: string | null): string {
  const d = new Date(Date.parse(t ?? '1970-01-01T00:00:00Z'));
  const p = (n: number): string => String(n).padStart(2, '0');
  const h = d.getUTCHours() % 12 || 12;
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(h)}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}

/**
 * A record in the Splunk Windows add-on's classic rendering (`WinEventLog`): the date line, `Key=Value` lines, and
 * `Message=` with the rendered message (Sysmon's `Field: value` lines; its WMI events titled as Sysmon titles them).
 */
export function toSplunkClassicRaw(e: SourceEvent): string {
  const s = sys(e.json);
  const h = eventHeader(e.json)!;
  const pairs = eventDataPairs(e.json, 'keep');
  const title = SYSMON_TITLES[h.eventId] ?? (h.eventId === 1 ? 'Process Create:' : h.eventId === 10 ? 'Process accessed:' : 'Event:');
  const message = e.message ?? [title, ...pairs.map(([k, v]) => `${k}: ${scalar(v) ?? ''}`)].join('\r\n');
  return [
    classicDate(h.time),
    `LogName=${h.channel}`,
    `SourceName=${h.provider}`,
    `EventCode=${h.eventId}`,
    'EventType=4',
    'Type=Information',
    `ComputerName=${h.computer}`,
    'User=NOT_TRANSLATED',
    `Sid=${attr(s['Security'], 'UserID') ?? ''}`,
    'SidType=0',
    `TaskCategory=${scalar(s['Task']) ?? ''}`,
    'OpCode=Info',
    `RecordNumber=${h.recordId}`,
    'Keywords=None',
    `Message=${message}`,
  ].join('\n');
}

/** A search on `sourcetype=WinEventLog` as the results endpoint gives it in JSON: one object, the rows in `results`. */
export function toSplunkClassicJson(events: SourceEvent[]): string {
  const results = events.map((e, i) => splunkFields(e, i, 'WinEventLog', toSplunkClassicRaw(e)));
  return JSON.stringify({ preview: false, init_offset: 0, messages: [], fields: Object.keys(results[0] ?? {}).map((name) => ({ name })), results }, null, 2) + '\n';
}

/**
 * The exports that keep only what a Sysmon record's message shows (the classic rendering): made from the Sysmon
 * fixture only, as other events' data is not in their message.
 */
export function sysmonExportsOf(events: SourceEvent[]): Record<string, string | Buffer> {
  return { 'splunk-classic.json': toSplunkClassicJson(events), 'splunk-classic.csv': toSplunkClassicCsv(events) };
}

// ---- CSV ---------------------------------------------------------------------------------------------------------------

/** One CSV cell (RFC 4180): quoted when it holds a comma, a quote, a line break or edge spaces; objects as JSON text. */
function csvCell(v: unknown): string {
  const t = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]|^\s|\s$/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** Rows as CSV with CRLF line ends, a header row first: every row's columns in the order first seen (a `union` pads the rest). */
function toCsv(rows: Obj[], header = (c: string): string => c): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [cols.map((c) => csvCell(header(c))), ...rows.map((r) => cols.map((c) => csvCell(r[c])))].map((r) => r.join(',')).join('\r\n') + '\r\n';
}

/** The Log Analytics portal's CSV time: `5/11/2019, 5:58:23.418 PM` (US, 12-hour, milliseconds) in the zone its header names. */
function portalTime(t: unknown): string {
  const d = new Date(Date.parse(String(t)));
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}, ${d.getUTCHours() % 12 || 12}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}

/**
 * `WindowsEvent | where …` exported from the Log Analytics portal to CSV: `TimeGenerated [UTC]` in the portal's time
 * format, `EventData` (a dynamic column) as its JSON text.
 */
export function toSentinelWindowsEventCsv(events: SourceEvent[]): string {
  return toCsv(events.map((e) => ({ ...toSentinelWindowsEventRow(e), TimeGenerated: portalTime(eventHeader(e.json)!.time) })), (c) => (c === 'TimeGenerated' ? 'TimeGenerated [UTC]' : c));
}

/** The Sysmon `Event` rows exported to CSV by a KQL client (`TimeGenerated` as ISO-8601, `EventData` the XML text). */
export function toSentinelEventCsv(events: SourceEvent[]): string {
  return toCsv(events.map(toSentinelEventRow));
}

/** Splunk's CSV export of an `XmlWinEventLog` search: `_raw` (the event XML), `_time` (`+0000` offset), `host`, `source`, `sourcetype`. */
export function toSplunkXmlCsv(events: SourceEvent[]): string {
  return toCsv(
    events.map((e, i) => {
      const f = splunkFields(e, i, 'XmlWinEventLog', toEventXml(e, false).replace(/>\s+</g, '><').trim().replace(/xmlns="([^"]*)"/g, "xmlns='$1'"));
      return { _raw: f['_raw'], _time: String(f['_time']).replace('+00:00', '+0000'), host: f['host'], index: f['index'], linecount: f['linecount'], source: f['source'], sourcetype: f['sourcetype'], splunk_server: f['splunk_server'] };
    }),
  );
}

/** `union SecurityEvent, WindowsEvent` exported from the portal to CSV: one header of both tables' columns. */
export function toSentinelUnionCsv(events: SourceEvent[]): string {
  const rows = events.map((e) => ({ ...(/^security$/i.test(eventHeader(e.json)?.channel ?? '') ? toSentinelSecurityEventRow(e) : toSentinelWindowsEventRow(e)), TimeGenerated: portalTime(eventHeader(e.json)!.time) }));
  return toCsv(rows, (c) => (c === 'TimeGenerated' ? 'TimeGenerated [UTC]' : c));
}

/** Splunk's CSV export of a `WinEventLog` (classic rendering) search. */
export function toSplunkClassicCsv(events: SourceEvent[]): string {
  return toCsv(events.map((e, i) => {
    const f = splunkFields(e, i, 'WinEventLog', toSplunkClassicRaw(e));
    return { _raw: f['_raw'], _time: String(f['_time']).replace('+00:00', '+0000'), host: f['host'], source: f['source'], sourcetype: f['sourcetype'] };
  }));
}

// ---- the fixture set ----------------------------------------------------------------------------------------------

export const SYSMON_EVTX = 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx';

/** Every export shape of a set of events (file suffix → content), XML from our own renderer. */
export function exportsOf(events: SourceEvent[], sourcePath: string): Record<string, string | Buffer> {
  return {
    'evtx_dump.json': toEvtxDumpJson(events),
    'wmiscope.jsonl': toJsonl(events),
    'chainsaw-search.json': toChainsawSearch(events),
    'chainsaw-hunt.jsonl': toChainsawHunt(events, sourcePath),
    'ecs.ndjson': toEcsNdjson(events),
    'es-search.json': toEsSearch(events),
    'nxlog.jsonl': toNxlog(events),
    'sentinel-windowsevent.json': toSentinelWindowsEvent(events),
    'sentinel-event.jsonl': toSentinelEvent(events),
    'splunk-xml.jsonl': toSplunkXmlJson(events),
    'sentinel-windowsevent.csv': toSentinelWindowsEventCsv(events),
    'sentinel-event.csv': toSentinelEventCsv(events),
    'splunk-xml.csv': toSplunkXmlCsv(events),
    'events.xml': toEventsDocument(events),
    'wevtutil.xml': toWevtutil(events),
  };
}

/** OTRF lines kept: one host's WMI evidence and the process records around it. */
export const OTRF = [
  {
    source: 'covenant_persistwmi_2019-12-05044734.json',
    out: 'otrf-covenant-persistwmi.nxlog.jsonl',
    keep: (o: Obj): boolean => o['Hostname'] === 'IT001.shire.com' && ([19, 20, 21, 5857, 5859, 5861].includes(o['EventID'] as number) || o['EventID'] === 4624),
  },
  {
    source: 'covenant_wmi_remote_event_subscription_ActiveScriptEventConsumers_2020-09-01214330.json',
    out: 'otrf-covenant-activescript.nxlog.jsonl',
    keep: (o: Obj): boolean =>
      o['Hostname'] === 'WORKSTATION6.theshire.local' &&
      // the deleted consumer's 30 KB script is left out (the filter and binding deletions stay)
      !(o['EventID'] === 20 && /Operation: Deleted/.test(String(o['Message']))) &&
      ([19, 20, 21, 5857, 5861].includes(o['EventID'] as number) || ([1, 4688].includes(o['EventID'] as number) && /\\(scrcons|wmiprvse)\.exe/i.test(String(o['Image'] ?? o['NewProcessName'] ?? '')))),
  },
];

/**
 * The OTRF lines rewritten into the other shapes (`otrf-wmi.*`): every kept line but the Sysmon 20 records of the
 * ActiveScript excerpt, whose script is also in its 5861 record (size).
 */
export function otrfDerivedLines(dir: string): string[] {
  const out: string[] = [];
  for (const o of OTRF) {
    for (const l of readFileSync(join(dir, o.out), 'utf8').split('\n')) {
      if (!l.trim()) continue;
      const v = JSON.parse(l) as Obj;
      if (o.out.includes('activescript') && v['EventID'] === 20) continue;
      out.push(l);
    }
  }
  return out;
}

function main(): void {
  const root = repoRoot();
  const dir = join(root, 'test/fixtures/exports');
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: string | Buffer): void => {
    writeFileSync(join(dir, name), data);
    written.push(`${name} (${Buffer.byteLength(data)} bytes)`);
  };
  // 1. the Sysmon subscription EVTX in every shape
  const events = readEvtx(join(root, SYSMON_EVTX));
  for (const [suffix, data] of Object.entries({ ...exportsOf(events, SYSMON_EVTX), ...sysmonExportsOf(events) })) write(`sysmon-bot.${suffix}`, data);
  // 2. the Debian reference tools' XML of the same file
  const tool = (cmd: string, args: string[]): string | null => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    return r.status === 0 ? r.stdout : null;
  };
  const evtxexport = tool('evtxexport', ['-f', 'xml', join(root, SYSMON_EVTX)]);
  if (evtxexport) write('sysmon-bot.evtxexport.xml', evtxexport);
  else console.error('evtxexport (libevtx-utils) not found: sysmon-bot.evtxexport.xml not rewritten');
  const pyevtx = tool('evtx_dump.py', [join(root, SYSMON_EVTX)]);
  if (pyevtx) write('sysmon-bot.python-evtx.xml', pyevtx);
  else console.error('evtx_dump.py (python3-evtx) not found: sysmon-bot.python-evtx.xml not rewritten');
  // 3. the OTRF NXLog excerpts (copied lines), re-extracted only from the originals
  const at = process.argv.indexOf('--otrf');
  if (at > 0 && process.argv[at + 1]) {
    for (const o of OTRF) {
      const src = join(process.argv[at + 1]!, o.source);
      if (!existsSync(src)) throw new Error(`${src}: not found`);
      const kept = readFileSync(src, 'utf8')
        .split('\n')
        .filter((l) => l.trim() && o.keep(JSON.parse(l) as Obj));
      write(o.out, kept.join('\n') + '\n');
    }
  }
  // 4. their WMI records in the other shapes, read with our NXLog adapter
  const otrf: SourceEvent[] = [];
  for (const l of otrfDerivedLines(dir)) {
    const v = JSON.parse(l) as Obj;
    for (const json of eventRecords(v)) otrf.push({ json: JSON.parse(JSON.stringify(json)) as EvtxJsonObject, message: typeof v['Message'] === 'string' ? v['Message'] : null });
  }
  write('otrf-wmi.events.xml', toEventsDocument(otrf));
  write('otrf-wmi.ecs.ndjson', toEcsNdjson(otrf));
  write('otrf-wmi.wmiscope.jsonl', toJsonl(otrf));
  write('otrf-wmi.sentinel-union.jsonl', toSentinelUnion(otrf));
  write('otrf-wmi.sentinel-union.csv', toSentinelUnionCsv(otrf));
  write('otrf-wmi.splunk-classic.json', toSplunkClassicJson(otrf));
  console.log(`wrote to ${dir}:\n  ${written.join('\n  ')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
