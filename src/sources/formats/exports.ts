/**
 * Event exports as evidence: the records a SIEM or a triage tool gives back instead of the .evtx, recognized
 * by content and turned into the EVTX layer's JSON shape, so the same observations come out as from the EVTX.
 *
 * - `evtx-json`: the Rust `evtx` crate shape (`wmiscope evtx dump`, `evtx_dump -o json|jsonl` with its
 *   `Record N` lines, attributes nested under `#attributes` or separate as `X_attributes`), Chainsaw
 *   `search --json|--jsonl` (records) and `hunt --json|--jsonl` (detections wrapping `document.data`).
 * - `ecs`: Winlogbeat / Elastic Agent documents (`winlog.*`, `@timestamp`; before 7.0 the same fields at the top
 *   level: `log_name`, `event_id`, `computer_name`, `source_name`), bare, wrapped in `_source`, or an
 *   Elasticsearch search response (`hits.hits[]._source`); nested objects and dotted keys alike.
 * - `nxlog`: NXLog `im_msvistalog` + `to_json` records (the shape Hayabusa's `--JSON-input` reads): System
 *   fields at the top, EventData flattened beside them, WMI-Activity's UserData only in `Message`.
 * - `sentinel`: Microsoft Sentinel / Log Analytics KQL results as JSON: `WindowsEvent` rows (EventData an object or
 *   its JSON text, RawEventData's XML when it did not parse) and `Event` rows (EventData's XML string, else
 *   ParameterXml's unnamed values; RenderedDescription as the message) and `SecurityEvent` rows (the event's data as
 *   flat columns, the rest in EventData's XML); the three mixed in one export (a `union`) too.
 * - `splunk`: Splunk search results as JSON (`{"preview":…,"result":{…}}` lines, a `results` array, bare rows) whose
 *   `_raw` is the event XML (`XmlWinEventLog`) or the classic `Key=Value` rendering with its `Message=` (`WinEventLog`).
 * - `event-xml`: Event Viewer "Save as XML", `wevtutil qe /f:xml`, `evtxexport`, python-evtx `evtx_dump.py`.
 * - `hayabusa-timeline`: recognized only to say why it is not read (a detection list, not event records).
 *
 * `sentinel-csv`, `splunk-csv`: the same results exported to CSV (dynamic columns as JSON text, `_raw` a cell).
 *
 * JSON is streamed (lines, or top-level values / array elements), XML element by element, CSV record by record; a record that does
 * not parse is one warning with its line, and the rest is read.
 */
import type { EvtxJsonObject, EvtxValue } from '../../evtx/index.js';
import { createRequire } from 'node:module';
import type * as CsvSync from 'csv-parse/sync';
import { parseJson } from '../text/json.js';
import { eventHeader } from '../../events/index.js';
import { SYSMON_WMI_FIELDS, WMI_ACTIVITY_ELEMENTS, sysmonWmiFromMessage, wmiActivityFromMessage } from '../../events/messages.js';
import type { Adapter, EvidenceInput, ObserveContext, ObserveResult } from '../input.js';
import { headText } from '../input.js';
import { EventRecordSink } from '../records/tally.js';
import { canonicalTime, isCanonicalTime, timeFromMs } from '../../model/time.js';
import { decodeXmlText, eventFromXml, eventPartsFromXml, paramsFromXml } from '../text/eventxml.js';
import { EVENT_NS, jsonValues, lines, textChunks, xmlEvents } from '../text/textstream.js';
import type { SplitIssue } from '../text/textstream.js';

// csv-parse is loaded when the first CSV export is read (a scan of EVTX logs never pays for it)
const load = createRequire(import.meta.url);
let csv: typeof CsvSync | null = null;
const parseCsv = (input: string, options: CsvSync.Options): string[][] => (csv ??= load('csv-parse/sync') as typeof CsvSync).parse(input, options) as string[][];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);
/** Deepest nesting of a record that is read; deeper values are dropped (with one warning per record, see {@link depthOver}). */
const MAX_DEPTH = 64;

function isObj(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function str(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

function newObj(): EvtxJsonObject {
  return Object.create(null) as EvtxJsonObject;
}

/** A copy of a parsed JSON value as EVTX JSON: prototype-less objects, unsafe keys dropped. */
function copy(v: unknown, depth = 0): EvtxValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (depth > MAX_DEPTH) return null;
  if (Array.isArray(v)) return v.map((x) => copy(x, depth + 1));
  if (isObj(v)) {
    const o = newObj();
    for (const k of Object.keys(v)) if (!UNSAFE.has(k)) o[k] = copy(v[k], depth + 1);
    return o;
  }
  return null;
}

const attributed = (attributes: EvtxJsonObject, text?: EvtxValue): EvtxJsonObject => {
  const o = newObj();
  o['#attributes'] = attributes;
  if (text !== undefined) o['#text'] = text;
  return o;
};

function attrObj(pairs: Record<string, unknown>): EvtxJsonObject | null {
  const o = newObj();
  let any = false;
  for (const [k, v] of Object.entries(pairs)) {
    const s = v === undefined || v === null ? null : typeof v === 'number' ? v : str(v);
    if (s === null) continue;
    o[k] = s;
    any = true;
  }
  return any ? o : null;
}

// ---- evtx crate JSON (nested or separate attributes), Chainsaw -------------------------------------------------

/**
 * `X_attributes` siblings (evtx `separate_json_attributes`, as Chainsaw and Hayabusa render) folded into
 * `X: {'#attributes': …}` (`#text` keeps a scalar value), recursively.
 */
function foldAttributes(v: EvtxValue): EvtxValue {
  if (Array.isArray(v)) return v.map(foldAttributes);
  if (v === null || typeof v !== 'object') return v;
  const o = v as EvtxJsonObject;
  const out = newObj();
  for (const k of Object.keys(o)) if (!k.endsWith('_attributes') || k === '_attributes') out[k] = foldAttributes(o[k]!);
  for (const k of Object.keys(o)) {
    if (!k.endsWith('_attributes') || k === '_attributes') continue;
    const base = k.slice(0, -'_attributes'.length);
    const a = o[k];
    if (!isObj(a)) continue;
    const cur = out[base];
    if (cur === undefined || cur === null) out[base] = attributed(a as EvtxJsonObject);
    else if (isObj(cur)) (cur as EvtxJsonObject)['#attributes'] = a as EvtxJsonObject;
    else out[base] = attributed(a as EvtxJsonObject, cur);
  }
  return out;
}

/** An evtx-crate record (`{Event: {System, …}}`, attributes nested or separate), or null. */
function fromEvtxJson(v: JsonObject): EvtxJsonObject | null {
  if (!isObj(v['Event'])) return null;
  const ev = foldAttributes(copy(v['Event'])) as EvtxJsonObject;
  if (isObj(v['Event_attributes']) && !ev['#attributes']) ev['#attributes'] = copy(v['Event_attributes']);
  if (!isObj(ev['System'])) return null;
  const out = newObj();
  out['Event'] = ev;
  return out;
}

const CHAINSAW_KINDS = new Set(['individual', 'aggregate', 'cached']);

/** The documents of a Chainsaw `hunt` detection. */
function chainsawDocuments(v: JsonObject): JsonObject[] | null {
  if (typeof v['kind'] !== 'string' || !CHAINSAW_KINDS.has(v['kind']) || typeof v['name'] !== 'string') return null;
  const docs = v['kind'] === 'aggregate' ? v['documents'] : [v['document']];
  if (!Array.isArray(docs)) return null;
  return docs.filter(isObj).map((d) => (isObj(d['data']) ? d['data'] : null)).filter((d): d is JsonObject => d !== null);
}

// ---- ECS (Winlogbeat, Elastic Agent) -------------------------------------------------------------------------

/**
 * Dotted keys (`"winlog.event_id": 19`) spread into nested objects, merged with nested ones. Every object of the
 * result is new and prototype-less (nothing from the input is passed through, so no `__proto__` key of the
 * input ever reaches an object with a prototype), unsafe and empty path segments are dropped, and objects
 * nested deeper than {@link MAX_DEPTH} become null.
 */
function unflatten(v: JsonObject, depth = 0): JsonObject {
  const out = Object.create(null) as JsonObject;
  for (const k of Object.keys(v)) {
    const path = k.split('.');
    if (path.some((p) => UNSAFE.has(p) || p === '')) continue;
    if (depth + path.length > MAX_DEPTH) continue;
    let o = out;
    for (let i = 0; i < path.length - 1; i++) {
      const p = path[i]!;
      if (!isObj(o[p])) o[p] = Object.create(null) as JsonObject;
      o = o[p] as JsonObject;
    }
    const last = path[path.length - 1]!;
    const val = plain(v[k]!, depth + path.length);
    if (isObj(val) && isObj(o[last])) merge(o[last] as JsonObject, val, depth + path.length);
    else o[last] = val;
  }
  return out;
}

/** A value of the input as {@link unflatten} keeps it: objects unflattened (new, prototype-less), arrays copied. */
function plain(v: Json, depth: number): Json {
  if (isObj(v)) return depth >= MAX_DEPTH ? null : unflatten(v, depth);
  if (Array.isArray(v)) return depth >= MAX_DEPTH ? null : v.map((x) => plain(x, depth + 1));
  return v;
}

/** `from` merged into `into`, both results of {@link unflatten} at `depth` (so the recursion is bounded by MAX_DEPTH). */
function merge(into: JsonObject, from: JsonObject, depth: number): void {
  for (const k of Object.keys(from)) {
    const v = from[k]!;
    if (isObj(v) && isObj(into[k]) && depth < MAX_DEPTH) merge(into[k] as JsonObject, v, depth + 1);
    else into[k] = v;
  }
}

/** True when `v` nests objects or arrays more than `max` levels deep (iterative: any depth is safe to measure). */
function depthOver(v: Json, max = MAX_DEPTH): boolean {
  const stack: Array<[Json, number]> = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d >= max) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return false;
}

function get(o: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = o;
  for (const p of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function hasWinlog(v: JsonObject): boolean {
  return isObj(v['winlog']) || Object.keys(v).some((k) => k.startsWith('winlog.'));
}

/** Winlogbeat before 7.0: the same fields at the top level (`log_name`, `event_id`, `computer_name`, `source_name`, `record_number`, `event_data`, `user_data`). */
function legacyWinlogbeat(v: JsonObject): JsonObject | null {
  if (typeof v['log_name'] !== 'string' || v['event_id'] === undefined || typeof v['computer_name'] !== 'string' || isObj(v['winlog'])) return null;
  const w = Object.create(null) as JsonObject;
  const map: Array<[string, string]> = [
    ['channel', 'log_name'],
    ['computer_name', 'computer_name'],
    ['event_id', 'event_id'],
    ['provider_name', 'source_name'],
    ['provider_guid', 'provider_guid'],
    ['record_id', 'record_number'],
    ['event_data', 'event_data'],
    ['user_data', 'user_data'],
  ];
  for (const [to, from] of map) if (v[from] !== undefined) w[to] = v[from]!;
  const pid = get(v, 'process_id');
  if (pid !== undefined) w['process'] = { pid };
  const sid = get(v, 'user.identifier');
  if (sid !== undefined) w['user'] = { identifier: sid };
  const doc = Object.create(null) as JsonObject;
  if (v['@timestamp'] !== undefined) doc['@timestamp'] = v['@timestamp']!;
  if (v['message'] !== undefined) doc['message'] = v['message']!;
  doc['winlog'] = w;
  return doc;
}

/** A Winlogbeat / Elastic Agent document, or null. */
function fromEcs(doc: JsonObject): { json: EvtxJsonObject; message: string | null } | null {
  const d = unflatten(doc);
  const w = d['winlog'];
  if (!isObj(w)) return null;
  const original = str(get(d, 'event.original'));
  const hasData = isObj(w['event_data']) || isObj(w['user_data']);
  if (!hasData && original && /^\s*<Event[\s>]/.test(original)) {
    try {
      const x = eventFromXml(original.trim());
      return { json: x.json, message: x.message ?? str(d['message']) };
    } catch {
      // fall through to the structured fields
    }
  }
  const eventId = str(w['event_id']) ?? str(get(d, 'event.code'));
  if (eventId === null) return null;
  const sys = newObj();
  const provider = attrObj({ Name: str(w['provider_name']) ?? str(get(d, 'event.provider')), Guid: str(w['provider_guid']) });
  if (provider) sys['Provider'] = attributed(provider);
  sys['EventID'] = /^\d+$/.test(eventId) ? Number(eventId) : eventId;
  if (w['version'] !== undefined) sys['Version'] = copy(w['version']);
  if (w['opcode'] !== undefined) sys['Opcode'] = copy(w['opcode']);
  const time = str(d['@timestamp']) ?? str(w['time_created']);
  if (time) sys['TimeCreated'] = attributed(attrObj({ SystemTime: time })!);
  if (w['record_id'] !== undefined) sys['EventRecordID'] = copy(w['record_id']);
  const exec = attrObj({ ProcessID: get(w, 'process.pid'), ThreadID: get(w, 'process.thread.id') });
  if (exec) sys['Execution'] = attributed(exec);
  const channel = str(w['channel']);
  if (channel) sys['Channel'] = channel;
  const computer = str(w['computer_name']) ?? str(get(d, 'host.name')) ?? str(get(d, 'host.hostname'));
  if (computer) sys['Computer'] = computer;
  const sid = attrObj({ UserID: get(w, 'user.identifier') });
  if (sid) sys['Security'] = attributed(sid);
  const ev = newObj();
  ev['System'] = sys;
  if (isObj(w['event_data'])) ev['EventData'] = copy(w['event_data']);
  if (isObj(w['user_data'])) {
    const ud = copy(w['user_data']) as EvtxJsonObject;
    const name = str(ud['xml_name']) ?? WMI_ACTIVITY_ELEMENTS[Number(eventId)] ?? 'EventXML';
    delete ud['xml_name'];
    const wrap = newObj();
    if (!UNSAFE.has(name)) wrap[name] = ud;
    ev['UserData'] = wrap;
  }
  const json = newObj();
  json['Event'] = ev;
  return { json, message: str(d['message']) };
}

// ---- NXLog im_msvistalog + to_json ----------------------------------------------------------------------------

/** Fields NXLog (and Logstash/Beats around it) adds itself; every other top-level field is event data. */
const NXLOG_FIELDS = new Set([
  'EventTime', 'EventReceivedTime', 'Hostname', 'Keywords', 'EventType', 'SeverityValue', 'Severity', 'EventID',
  'SourceName', 'ProviderGuid', 'Version', 'Task', 'OpcodeValue', 'Opcode', 'RecordNumber', 'ActivityID',
  'RelatedActivityID', 'ProcessID', 'ThreadID', 'ExecutionProcessID', 'ExecutionThreadID', 'Channel', 'Domain',
  'AccountName', 'UserID', 'AccountType', 'Category', 'Message', 'SourceModuleName', 'SourceModuleType',
  'ERROR_EVT_UNRESOLVED', 'MessageSourceAddress', 'EventTypeOrignal', 'EventTypeOriginal',
  // Logstash / Beats wrappers around NXLog output
  '@timestamp', '@version', 'host', 'port', 'tags', 'type', 'log', 'agent', 'ecs', 'input', 'fields', 'beat',
]);
/** NXLog's own EventType values; any other EventType is the event's own field (Sysmon's `WmiFilterEvent`). */
const NXLOG_EVENT_TYPES = new Set(['AUDIT_SUCCESS', 'AUDIT_FAILURE', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'VERBOSE', 'DEBUG']);
const NXLOG_MARKERS = ['SourceModuleType', 'SourceName', 'Hostname', 'RecordNumber', 'ProviderGuid', 'EventTime'];

function isNxlog(v: JsonObject): boolean {
  if (v['EventID'] === undefined || typeof v['Channel'] !== 'string') return false;
  if (isObj(v['Event']) || isObj(v['System']) || isObj(v['EventData']) || isObj(v['winlog'])) return false;
  return NXLOG_MARKERS.filter((k) => k !== 'EventTime' && v[k] !== undefined).length >= 1;
}

/** `YYYY-MM-DD HH:MM:SS[.f]` without a zone. */
const NAIVE_TIME = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?$/;

/** Zone offsets are quarter hours, UTC-12:00 to UTC+14:00. */
const QUARTER_HOUR_MS = 15 * 60_000;
const MAX_ZONE_MS = 14 * 3_600_000;
/** How far `@timestamp` may lie after the event (the shipping delay) or before it (clock skew) for its zone to be read. */
const MAX_SHIP_DELAY_MS = 5 * 60_000;
const MAX_SKEW_MS = 60_000;

/**
 * The zone of a zone-less NXLog `EventTime` (the collector's local time, to the second), read from the pipeline's
 * UTC `@timestamp` of the same record: their difference rounded to a quarter hour, when what is left over is a
 * plausible shipping delay (at most five minutes, or a minute of skew the other way); null otherwise.
 * Milliseconds east of UTC (UTC = local − zone).
 */
function zoneFromIngest(localAsUtcMs: number, ingestMs: number): number | null {
  const d = ingestMs - localAsUtcMs; // = delay − zone
  const zone = -Math.round(d / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  const delay = d + zone;
  if (Math.abs(zone) > MAX_ZONE_MS || delay > MAX_SHIP_DELAY_MS || delay < -MAX_SKEW_MS) return null;
  // zones in use are whole or half hours, but for +05:45, +08:45 and +12:45 (a 20-minute delay is no UTC-00:15)
  const quarter = (Math.abs(zone) / QUARTER_HOUR_MS) % 4;
  if ((quarter === 1 || quarter === 3) && !(zone > 0 && [5, 8, 12].includes(Math.floor(zone / 3_600_000)) && quarter === 3)) return null;
  return zone === 0 ? 0 : zone; // no −0
}

/** `+05:00` / `-03:30` for a zone in milliseconds east of UTC. */
function zoneText(ms: number): string {
  const m = Math.abs(ms) / 60_000;
  return `${ms < 0 ? '-' : '+'}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/**
 * An NXLog record, or null. Its time is the event's `EventTime`. When that has no zone (NXLog writes the collector's
 * local time) and Logstash's `@timestamp` (UTC, when the record reached the pipeline) is beside it, the zone is read
 * from their difference (`zone`, see {@link zoneFromIngest}); `ingestTime` when the difference is no zone plus a short
 * delay, so `@timestamp` is the only UTC time; `naiveTime` when there is no `@timestamp` and the zone-less time was
 * taken as UTC.
 */
function fromNxlog(v: JsonObject): { json: EvtxJsonObject; message: string | null; naiveTime: boolean; ingestTime: boolean; zone: string | null } | null {
  if (!isNxlog(v)) return null;
  const eventId = str(v['EventID']);
  if (eventId === null) return null;
  const sys = newObj();
  const provider = attrObj({ Name: str(v['SourceName']), Guid: str(v['ProviderGuid']) });
  if (provider) sys['Provider'] = attributed(provider);
  sys['EventID'] = /^\d+$/.test(eventId) ? Number(eventId) : eventId;
  if (v['Version'] !== undefined) sys['Version'] = copy(v['Version']);
  if (v['Task'] !== undefined) sys['Task'] = copy(v['Task']);
  if (v['OpcodeValue'] !== undefined) sys['Opcode'] = copy(v['OpcodeValue']);
  let naiveTime = false;
  let ingestTime = false;
  let zone: string | null = null;
  const et = str(v['EventTime'])?.trim() || null;
  const ts = str(v['@timestamp']);
  const tsTime = ts ? canonicalTime(ts) : null;
  let time: string | null = null;
  if (et && !NAIVE_TIME.test(et) && Number.isFinite(Date.parse(et))) time = canonicalTime(et);
  else if (et && NAIVE_TIME.test(et)) {
    const local = canonicalTime(et); // the local time written as if it were UTC
    const localMs = isCanonicalTime(local) ? Date.parse(local!) : NaN;
    const ingestMs = isCanonicalTime(tsTime) ? Date.parse(tsTime!) : NaN;
    const z = Number.isFinite(localMs) && Number.isFinite(ingestMs) ? zoneFromIngest(localMs, ingestMs) : null;
    const utc = z !== null ? timeFromMs(localMs - z) : null;
    if (z !== null && utc) {
      time = utc;
      zone = zoneText(z);
    } else if (tsTime) {
      time = tsTime;
      ingestTime = true;
    } else {
      time = local ?? et;
      naiveTime = true;
    }
  } else if (tsTime) {
    time = tsTime;
    ingestTime = true;
  } else if (et) time = et;
  if (time) sys['TimeCreated'] = attributed(attrObj({ SystemTime: time })!);
  if (v['RecordNumber'] !== undefined) sys['EventRecordID'] = copy(v['RecordNumber']);
  const exec = attrObj({ ProcessID: v['ExecutionProcessID'] ?? v['ProcessID'], ThreadID: v['ExecutionThreadID'] ?? v['ThreadID'] });
  if (exec) sys['Execution'] = attributed(exec);
  sys['Channel'] = str(v['Channel']);
  const host = str(v['Hostname']);
  if (host) sys['Computer'] = host;
  const sid = attrObj({ UserID: v['UserID'] });
  if (sid) sys['Security'] = attributed(sid);
  const data = newObj();
  for (const k of Object.keys(v)) {
    if (UNSAFE.has(k)) continue;
    if (NXLOG_FIELDS.has(k) && !(k === 'EventType' && typeof v[k] === 'string' && !NXLOG_EVENT_TYPES.has(v[k] as string))) continue;
    // NXLog copies EventData text as it stands in the rendered XML, entities and all (OTRF Security-Datasets
    // NXLog exports: Sysmon 20 Destination `&lt;blah&gt;` where the message and WMI-Activity 5861 have `<blah>`)
    const val = v[k];
    data[k] = typeof val === 'string' ? decodeXmlText(val) : copy(val);
  }
  const ev = newObj();
  ev['System'] = sys;
  if (Object.keys(data).length) ev['EventData'] = data;
  const json = newObj();
  json['Event'] = ev;
  return { json, message: str(v['Message']), naiveTime, ingestTime, zone };
}

// ---- Microsoft Sentinel / Log Analytics (KQL results) ------------------------------------------------------------

/**
 * The Log Analytics table a KQL result row comes from: `WindowsEvent` (Azure Monitor Agent: `Channel`, `Provider`,
 * `EventData` as an object, `EventRecordId`), `Event` (the legacy agent: `EventLog`, `Source`, `EventData` as an
 * XML string, `ParameterXml`, `RenderedDescription`) or `SecurityEvent` (`Channel`, `EventSourceName`, the event's
 * data as flat columns and what has no column of its own in `EventData`'s XML); by the `Type` column when the query
 * kept it, else by the columns (a `union` export pads each row with the other tables' columns as null). Null for
 * anything else.
 */
function sentinelTable(v: JsonObject): SentinelTable | null {
  if (v['EventID'] === undefined || v['EventID'] === null || typeof v['TimeGenerated'] !== 'string') return null;
  const type = str(v['Type']);
  const is = (t: SentinelTable): boolean => type === null || type === t;
  if (is('WindowsEvent') && typeof v['Channel'] === 'string' && typeof v['Provider'] === 'string') return 'WindowsEvent';
  if (is('SecurityEvent') && typeof v['Channel'] === 'string' && typeof v['EventSourceName'] === 'string') return 'SecurityEvent';
  if (is('Event') && typeof v['EventLog'] === 'string' && typeof v['Source'] === 'string') return 'Event';
  return null;
}

type SentinelTable = 'WindowsEvent' | 'Event' | 'SecurityEvent';

/**
 * `SecurityEvent` columns that are the table's own (agent, workspace, derived text), not the event's data: every
 * other non-empty column is an EventData field of that name (`SubjectUserName`, `NewProcessName`, `CommandLine`,
 * `ParentProcessName`, …). `Account`, `Process`, `SubjectAccount`, `TargetAccount`, `Activity` are derived from
 * the data by the service, so they are left out too.
 */
const SECURITY_EVENT_OWN = new Set([
  'TenantId', 'TimeGenerated', 'SourceSystem', 'Account', 'AccountType', 'Computer', 'EventSourceName', 'Channel',
  'Task', 'Level', 'EventData', 'EventID', 'Activity', 'Process', 'SubjectAccount', 'TargetAccount', 'TargetUser',
  'ManagementGroupName', 'SourceComputerId', 'EventOriginId', 'MG', 'TimeCollected', 'AzureDeploymentID', 'Type',
  'FilePathNoUser', 'LogonTypeName', '_ResourceId', '_SubscriptionId', '_BilledSize', '_IsBillable', '_ItemId',
  '_Internal_WorkspaceResourceId', 'TableId', 'Fqbn',
]);

/** A dynamic column: an object, or its JSON text (Log Analytics' CLI and CSV write dynamic values as text). */
function dynamicObject(v: Json | undefined): JsonObject | null {
  if (isObj(v)) return v;
  if (typeof v !== 'string' || !v.trimStart().startsWith('{')) return null;
  const parsed = parseJson(v) as Json;
  return isObj(parsed) ? parsed : null;
}

/** A Log Analytics `WindowsEvent` or `Event` row as an event record, with the `Event` table's rendered description; null for other rows. */
function fromSentinel(v: JsonObject): { json: EvtxJsonObject; message: string | null } | null {
  const table = sentinelTable(v);
  if (!table) return null;
  // a row whose EventData did not parse keeps the whole event XML in RawEventData (WindowsEvent)
  const raw = str(v['RawEventData']);
  if (table === 'WindowsEvent' && !isObj(v['EventData']) && raw && raw.includes('<Event')) return eventFromXml(raw);
  const eventId = str(v['EventID']);
  if (eventId === null) throw new Error('EventID is not a number or text');
  const sys = newObj();
  const provider = attrObj({ Name: str(table === 'WindowsEvent' ? v['Provider'] : table === 'SecurityEvent' ? v['EventSourceName'] : v['Source']) });
  if (provider) sys['Provider'] = attributed(provider);
  sys['EventID'] = /^\d+$/.test(eventId) ? Number(eventId) : eventId;
  for (const [from, to] of [['Version', 'Version'], ['Task', 'Task'], ['Opcode', 'Opcode'], ['Keywords', 'Keywords']] as const) {
    if (table === 'WindowsEvent' && v[from] !== undefined && v[from] !== null && !isObj(v[from])) sys[to] = copy(v[from]);
  }
  // TimeGenerated is the event's own time (UTC) in both tables
  sys['TimeCreated'] = attributed(attrObj({ SystemTime: canonicalTime(str(v['TimeGenerated'])) })!);
  const rid = str(v['EventRecordId']);
  if (rid !== null && /^\d{1,20}$/.test(rid)) sys['EventRecordID'] = Number(rid);
  const exec = attrObj({ ProcessID: v['SystemProcessId'], ThreadID: v['SystemThreadId'] });
  if (exec) sys['Execution'] = attributed(exec);
  sys['Channel'] = str(table === 'Event' ? v['EventLog'] : v['Channel']);
  const host = str(v['Computer']);
  if (host) sys['Computer'] = host;
  const sid = attrObj({ UserID: v['SystemUserId'] });
  if (sid) sys['Security'] = attributed(sid);
  const ev = newObj();
  ev['System'] = sys;
  if (table === 'WindowsEvent') {
    const data = dynamicObject(v['EventData']);
    if (data) {
      const ed = copy(data) as EvtxJsonObject;
      // unnamed <Data> elements come as a `Data` list: the EVTX layer writes several as `{'#text': [...]}`
      const list = ed['Data'];
      if (Array.isArray(list)) ed['Data'] = list.length === 1 ? list[0]! : attributedText(list.map((x) => (x === null ? null : str(x))));
      // the agent flattens UserData into EventData: WMI-Activity's element is put back where the events layer reads it
      const element = WMI_ACTIVITY_ELEMENTS[Number(eventId)];
      if (element && WMI_ACTIVITY.test(str(v['Provider']) ?? '')) {
        const wrap = newObj();
        wrap[element] = ed;
        ev['UserData'] = wrap;
      } else ev['EventData'] = ed;
    }
  } else if (table === 'SecurityEvent') {
    const xml = str(v['EventData']);
    const parsed = xml && xml.includes('<') ? eventPartsFromXml(xml).eventData : null;
    const ed = isObj(parsed) ? (parsed as EvtxJsonObject) : newObj();
    for (const k of Object.keys(v)) {
      const val = v[k];
      if (SECURITY_EVENT_OWN.has(k) || UNSAFE.has(k) || ed[k] !== undefined || val === null || val === '' || typeof val === 'object') continue;
      ed[k] = val as string | number | boolean;
    }
    if (Object.keys(ed).length) ev['EventData'] = ed;
  } else {
    const xml = str(v['EventData']);
    const parts = xml && xml.includes('<') ? eventPartsFromXml(xml) : null;
    if (isObj(parts?.userData)) ev['UserData'] = parts!.userData;
    if (parts?.eventData) ev['EventData'] = parts.eventData;
    else if (!parts?.userData) {
      const params = str(v['ParameterXml']);
      const list = params && params.includes('<') ? paramsFromXml(params) : [];
      if (list.length) {
        const d = newObj();
        d['Data'] = list.length === 1 ? list[0]! : attributedText(list);
        ev['EventData'] = d;
      }
    }
  }
  const json = newObj();
  json['Event'] = ev;
  return { json, message: table === 'Event' ? str(v['RenderedDescription']) : null };
}

/** `{'#text': [...]}`: several unnamed Data, as the EVTX layer writes them. */
function attributedText(list: Array<string | null>): EvtxJsonObject {
  const o = newObj();
  o['#text'] = list;
  return o;
}

// ---- Splunk search results ---------------------------------------------------------------------------------------

/**
 * The result rows of a Splunk search export: `{"preview":…,"result":{…}}` (one per line, `output_mode=json` of the
 * export endpoint and the UI's JSON export), `{"results":[…]}` (the results endpoint), or a bare row; a row is an
 * object with `_raw` text and `_time` or `sourcetype`. Null for anything else.
 */
function splunkRows(v: JsonObject): JsonObject[] | null {
  if (isObj(v['result']) && 'preview' in v) return isSplunkRow(v['result']) ? [v['result']] : [];
  if (Array.isArray(v['results']) && ('preview' in v || 'fields' in v || 'init_offset' in v)) return v['results'].filter((r): r is JsonObject => isObj(r) && isSplunkRow(r));
  return isSplunkRow(v) ? [v] : null;
}

function isSplunkRow(v: JsonObject): boolean {
  return typeof v['_raw'] === 'string' && (v['_time'] !== undefined || typeof v['sourcetype'] === 'string');
}

/** Splunk's `_time`: ISO-8601 with its offset (`2019-05-11T17:58:23.418+00:00`), or epoch seconds. */
function splunkTime(v: Json | undefined): string | null {
  const t = str(v)?.trim();
  if (!t) return null;
  if (/^\d{9,11}(\.\d{1,9})?$/.test(t)) return timeFromMs(Number(t) * 1000);
  const c = canonicalTime(t);
  return isCanonicalTime(c) ? c : null;
}

/** Most `Key=Value` lines read before `Message=` in a classic rendering (the Windows add-on writes about 15). */
const MAX_CLASSIC_KEYS = 64;

/**
 * A Splunk row as an event record: `_raw` holding the event XML (`XmlWinEventLog`), or the classic rendering
 * (`WinEventLog`: a local date line, `LogName=`, `SourceName=`, `EventCode=`, `ComputerName=`, `Sid=`,
 * `RecordNumber=` … lines, then `Message=` and the rendered message to the end). The classic rendering keeps the
 * event's data only in the message: Sysmon's `Field: value` lines are read back as EventData, WMI-Activity's text
 * by its template ({@link complete}); other events keep their System fields only. Its time is `_time` (the date
 * line is the forwarder's local time without a zone). Null when `_raw` is neither.
 */
function fromSplunk(r: JsonObject): { json: EvtxJsonObject; message: string | null } | null {
  const raw = str(r['_raw']) ?? '';
  const t = raw.trimStart();
  if (/^<Event[\s>]/.test(t)) return eventFromXml(t.trimEnd());
  const keys = Object.create(null) as Record<string, string>;
  let message: string | null = null;
  // line by line up to `Message=`, whose text (line ends as they stand) runs to the end of `_raw`
  for (let at = 0, n = 0; at < raw.length && n < MAX_CLASSIC_KEYS; n++) {
    const nl = raw.indexOf('\n', at);
    const line = raw.slice(at, nl < 0 ? raw.length : nl).replace(/\r$/, '');
    const m = /^([A-Za-z]+)=(.*)$/s.exec(line);
    if (m && m[1] === 'Message') {
      message = raw.slice(at + 'Message='.length);
      break;
    }
    if (m) keys[m[1]!] = m[2]!.trim();
    if (nl < 0) break;
    at = nl + 1;
  }
  const eventId = keys['EventCode'];
  if (eventId === undefined || !/^\d{1,5}$/.test(eventId) || keys['LogName'] === undefined) return null;
  const sys = newObj();
  const provider = attrObj({ Name: keys['SourceName'] ?? null });
  if (provider) sys['Provider'] = attributed(provider);
  sys['EventID'] = Number(eventId);
  const time = splunkTime(r['_time']);
  if (time) sys['TimeCreated'] = attributed(attrObj({ SystemTime: time })!);
  const rid = keys['RecordNumber'];
  if (rid && /^\d{1,20}$/.test(rid)) sys['EventRecordID'] = Number(rid);
  sys['Channel'] = keys['LogName']!;
  const host = keys['ComputerName'] ?? str(r['host']);
  if (host) sys['Computer'] = host;
  const sid = attrObj({ UserID: keys['Sid'] && /^S-\d/.test(keys['Sid']) ? keys['Sid'] : null });
  if (sid) sys['Security'] = attributed(sid);
  const ev = newObj();
  ev['System'] = sys;
  const sysmon = SYSMON.test(keys['SourceName'] ?? '') || /Sysmon/i.test(keys['LogName'] ?? '');
  // Sysmon 19-21 are read by their field names ({@link complete}): a multi-line value may hold `Word: ` lines
  if (message && sysmon && !SYSMON_WMI_FIELDS[Number(eventId)]) {
    const data = sysmonFieldLines(message);
    if (data) ev['EventData'] = data;
  }
  const json = newObj();
  json['Event'] = ev;
  return { json, message };
}

/** Most fields read from one Sysmon message (Sysmon's largest event has about 30). */
const MAX_MESSAGE_FIELDS = 128;

/** Sysmon's rendered message (a title line, then one `Field: value` line per EventData field) as EventData. */
function sysmonFieldLines(message: string): EvtxJsonObject | null {
  const out = newObj();
  let n = 0;
  for (const line of message.split(/\r?\n/).slice(1)) {
    const m = /^([A-Za-z][A-Za-z0-9]{0,63}): ?(.*)$/.exec(line);
    if (!m || UNSAFE.has(m[1]!) || out[m[1]!] !== undefined) continue;
    out[m[1]!] = m[2] === '' ? null : m[2]!;
    if (++n >= MAX_MESSAGE_FIELDS) break;
  }
  return n ? out : null;
}

// ---- Hayabusa json-timeline (recognized, not read) ---------------------------------------------------------------

function isHayabusaTimeline(v: JsonObject): boolean {
  return typeof v['Timestamp'] === 'string' && typeof v['RuleTitle'] === 'string' && v['EventID'] !== undefined && v['Channel'] !== undefined;
}

// ---- completing a record from its message ------------------------------------------------------------------------

const SYSMON = /^microsoft-windows-sysmon$/i;
const WMI_ACTIVITY = /^microsoft-windows-wmi-activity$/i;

/**
 * Fields only the rendered message still has: WMI-Activity's UserData (NXLog drops it) and Sysmon 19/20/21
 * EventData fields a pipeline dropped. Present fields are never overwritten. Python-evtx's
 * `2019-05-11 17:58:39.746908` SystemTime (UTC) is written as ISO-8601.
 */
function complete(json: EvtxJsonObject, message: string | null): void {
  const ev = json['Event'];
  // an `<Event>` without `<System>` (a hostile or cut `_raw`) has nothing to complete
  if (!isObj(ev) || !isObj((ev as EvtxJsonObject)['System'])) return;
  const sys = (ev as EvtxJsonObject)['System'] as EvtxJsonObject;
  const tc = sys['TimeCreated'];
  if (isObj(tc) && isObj((tc as EvtxJsonObject)['#attributes'])) {
    const a = (tc as EvtxJsonObject)['#attributes'] as EvtxJsonObject;
    const t = str(a['SystemTime']);
    const m = t ? /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)$/.exec(t.trim()) : null;
    if (m) a['SystemTime'] = `${m[1]}T${m[2]}Z`;
  }
  if (!message) return;
  const h = eventHeader(json);
  if (!h) return;
  const provider = h.provider ?? '';
  if (WMI_ACTIVITY_ELEMENTS[h.eventId] && (WMI_ACTIVITY.test(provider) || /WMI-Activity/i.test(h.channel ?? ''))) {
    const el = WMI_ACTIVITY_ELEMENTS[h.eventId]!;
    const ud = ev['UserData'];
    if (isObj(ud) && isObj((ud as EvtxJsonObject)[el])) return;
    const parsed = wmiActivityFromMessage(h.eventId, message);
    if (!parsed) return;
    const fields = newObj();
    for (const [k, v] of Object.entries(parsed.fields)) fields[k] = v;
    const wrap = newObj();
    wrap[parsed.element] = fields;
    ev['UserData'] = wrap;
    return;
  }
  if (SYSMON_WMI_FIELDS[h.eventId] && (SYSMON.test(provider) || /Sysmon/i.test(h.channel ?? ''))) {
    const ed = isObj(ev['EventData']) ? (ev['EventData'] as EvtxJsonObject) : newObj();
    const need = SYSMON_WMI_FIELDS[h.eventId]!.filter((k) => ed[k] === undefined);
    if (!need.length) return;
    const parsed = sysmonWmiFromMessage(h.eventId, message);
    if (!parsed) return;
    for (const k of need) if (parsed[k] !== undefined) ed[k] = parsed[k]!;
    ev['EventData'] = ed;
  }
}

// ---- one parsed value → event records ------------------------------------------------------------------------------

interface Found {
  json: EvtxJsonObject;
  where: string;
  naiveTime?: boolean;
  ingestTime?: boolean;
  /** The zone read for a zone-less NXLog EventTime (`+05:00`). */
  zone?: string | null;
  /** From a Chainsaw detection: the same record may come once per rule that hit it. */
  dedupe?: boolean;
}

/** A record that could not be converted: where it is, and why. */
type Fail = (where: string, e: unknown) => void;

const rethrow: Fail = (_where, e) => {
  throw e;
};

/**
 * The event records a parsed JSON value holds (any supported shape); `where` locates the value. A record whose
 * conversion throws goes to `fail` (with its own `where`: a search response's other hits are still read).
 */
function recordsOf(v: Json, where: string, out: Found[], depth = 0, fail: Fail = rethrow): void {
  if (depth > 4) return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => recordsOf(x, `${where}, element ${i + 1}`, out, depth + 1, fail));
    return;
  }
  if (!isObj(v)) return;
  const before = out.length;
  try {
    recordsIn(v, where, out, depth, fail);
  } catch (e) {
    out.length = before;
    fail(where, e);
  }
}

function recordsIn(v: JsonObject, where: string, out: Found[], depth: number, fail: Fail): void {
  const e = fromEvtxJson(v);
  if (e) {
    out.push({ json: e, where });
    return;
  }
  const hits = get(v, 'hits.hits');
  if (Array.isArray(hits)) {
    hits.forEach((h, i) => recordsOf(h, `${where}, hit ${i + 1}`, out, depth + 1, fail));
    return;
  }
  if (isObj(v['_source'])) return recordsOf(v['_source'], where, out, depth + 1, fail);
  const docs = chainsawDocuments(v);
  if (docs) {
    docs.forEach((d, i) => {
      const before = out.length;
      recordsOf(d, docs.length > 1 ? `${where}, document ${i + 1}` : where, out, depth + 1, fail);
      for (let j = before; j < out.length; j++) out[j]!.dedupe = true;
    });
    return;
  }
  const legacy = legacyWinlogbeat(v);
  if (legacy || hasWinlog(v)) {
    const r = fromEcs(legacy ?? v);
    if (r) {
      complete(r.json, r.message);
      out.push({ json: r.json, where });
    }
    return;
  }
  const rows = splunkRows(v);
  if (rows) {
    rows.forEach((r, i) => {
      const at = rows.length > 1 ? `${where}, result ${i + 1}` : where;
      try {
        const x = fromSplunk(r);
        if (!x) throw new Error('_raw is neither event XML nor the classic rendering (LogName=, EventCode=)');
        complete(x.json, x.message);
        out.push({ json: x.json, where: at });
      } catch (e) {
        fail(at, e);
      }
    });
    return;
  }
  const sentinel = fromSentinel(v);
  if (sentinel) {
    complete(sentinel.json, sentinel.message);
    out.push({ json: sentinel.json, where });
    return;
  }
  const n = fromNxlog(v);
  if (n) {
    complete(n.json, n.message);
    out.push({ json: n.json, where, naiveTime: n.naiveTime, ingestTime: n.ingestTime, zone: n.zone });
  }
}

/**
 * The event records (EVTX JSON shape) a parsed JSON value holds, whatever its export shape: an evtx-crate
 * record, a Chainsaw detection, a Winlogbeat document (bare, in `_source`, or a search response), an NXLog
 * record. Empty for anything else.
 */
export function eventRecords(v: unknown): EvtxJsonObject[] {
  const out: Found[] = [];
  recordsOf(v as Json, '', out);
  return out.map((f) => f.json);
}

/** The shape of a parsed value, for detection. */
function shapeOf(v: Json, depth = 0): string | null {
  if (depth > 4) return null;
  if (Array.isArray(v)) return v.length ? shapeOf(v[0]!, depth + 1) : null;
  if (!isObj(v)) return null;
  if (isObj(v['Event']) && (isObj(v['Event']['System']) || isObj(v['Event_attributes']))) return 'evtx-json';
  const hits = get(v, 'hits.hits');
  if (Array.isArray(hits)) return hits.length ? shapeOf(hits[0]!, depth + 1) : null;
  if (isObj(v['_source'])) return shapeOf(v['_source'], depth + 1);
  const docs = chainsawDocuments(v);
  if (docs) return docs.length ? shapeOf(docs[0]!, depth + 1) : null;
  if (legacyWinlogbeat(v)) return 'ecs';
  if (hasWinlog(v)) {
    const d = unflatten(v);
    return isObj(d['winlog']) && (d['winlog']['event_id'] !== undefined || get(d, 'event.code') !== undefined) ? 'ecs' : null;
  }
  if (sentinelTable(v)) return 'sentinel';
  const rows = splunkRows(v);
  if (rows) return rows.length ? 'splunk' : null;
  if (isNxlog(v)) return 'nxlog';
  if (isHayabusaTimeline(v)) return 'hayabusa-timeline';
  return null;
}

// ---- detection ---------------------------------------------------------------------------------------------------

/** What {@link firstValue} returns when the first value is still open at the end of the head. */
const OPEN = Symbol('open');

/**
 * The first complete top-level JSON value in `head` (skipping `Record N` lines and an opening `[`), parsed;
 * {@link OPEN} when it does not end within `head`; undefined when there is none or it is not JSON.
 */
function firstValue(head: string): Json | undefined | typeof OPEN {
  let i = 0;
  const n = head.length;
  for (;;) {
    while (i < n && /[\s,[]/.test(head[i]!)) i++;
    if (i >= n) return undefined;
    if (head[i] === '{') break;
    const nl = head.indexOf('\n', i);
    if (!/^Record \d+\s*$/.test(head.slice(i, nl < 0 ? n : nl))) return undefined;
    i = nl < 0 ? n : nl + 1;
  }
  let depth = 0;
  let inStr = false;
  let esc = false;
  for (let j = i; j < n; j++) {
    const c = head[j]!;
    if (inStr) {
      if (esc) esc = false;
      else if (c === '\\') esc = true;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) {
      try {
        return JSON.parse(head.slice(i, j + 1)) as Json;
      } catch {
        return undefined;
      }
    }
  }
  return OPEN;
}

/** When the first record does not fit in the head: the shape from its first keys. */
function shapeFromText(head: string): string | null {
  const t = head.replace(/^(\s*Record \d+\s*\n)?\s*\[?\s*/, '');
  if (!t.startsWith('{')) return null;
  if (/^\{\s*"Event(_attributes)?"\s*:\s*\{/.test(t) || /"document"\s*:\s*\{\s*"kind"\s*:\s*"evtx"/.test(t)) return 'evtx-json';
  if (/"winlog"\s*:\s*\{/.test(t) || /"winlog\.(event_id|channel|provider_name|computer_name)"\s*:/.test(t)) return 'ecs';
  if (/"log_name"\s*:\s*"/.test(t) && /"event_id"\s*:/.test(t) && /"computer_name"\s*:\s*"/.test(t)) return 'ecs';
  if (/"TimeGenerated"\s*:\s*"/.test(t) && /"EventID"\s*:/.test(t) && ((/"Channel"\s*:\s*"/.test(t) && /"(Provider|EventSourceName)"\s*:\s*"/.test(t)) || (/"EventLog"\s*:\s*"/.test(t) && /"Source"\s*:\s*"/.test(t)))) return 'sentinel';
  if (/^\{\s*"preview"\s*:\s*(true|false)\s*,/.test(t) && /"_raw"\s*:\s*"/.test(t)) return 'splunk';
  if (/"(Event|System|EventData|winlog)"\s*:\s*\{/.test(t)) return null;
  if (/"SourceModuleType"\s*:\s*"im_msvistalog"/.test(t) || (/"EventID"\s*:/.test(t) && /"Channel"\s*:/.test(t) && /"(SourceName|Hostname|RecordNumber|ProviderGuid)"\s*:/.test(t))) return 'nxlog';
  return null;
}

/** Longest first line taken for a banner (a tool's title line before the records). */
const MAX_BANNER_CHARS = 1024;

/** `t` without its first line when that line is a banner (not JSON, short) and JSON (or a `Record N` header) starts on the next. */
function pastBanner(t: string): string {
  if (t.startsWith('{') || t.startsWith('[') || t.startsWith('Record ')) return t;
  const nl = t.indexOf('\n');
  if (nl < 0 || nl > MAX_BANNER_CHARS) return t;
  const rest = t.slice(nl + 1).trimStart();
  return rest.startsWith('{') || rest.startsWith('[') || /^Record \d+\s*\n/.test(rest) ? rest : t;
}

let lastHead: string | null = null;
let lastShape: string | null = null;

/** Which JSON export shape `head` starts with (memoized for the adapters' successive detect calls). */
export function jsonShape(head: string): string | null {
  if (head === lastHead) return lastShape;
  const t = pastBanner(head.replace(/^\uFEFF/, '').trimStart());
  let shape: string | null = null;
  if (t.startsWith('{') || t.startsWith('[') || /^Record \d+\s*\n/.test(t)) {
    const v = firstValue(t);
    shape = v === undefined || v === OPEN ? shapeFromText(t) : shapeOf(v);
  }
  lastHead = head;
  lastShape = shape;
  return shape;
}

/**
 * True when `head` is cut inside what recognizing it needs: a JSON export whose first value (a record longer than
 * the head: a script block, a long message) does not end within it, or XML still in its prolog (declarations,
 * comments, `<Events>`) at the head's end. The dispatcher then looks at a longer head.
 */
export function headCutShort(head: string): boolean {
  // the export adapters share this test: asked in turn with the same head, it is answered once
  if (head === lastCutHead) return lastCut;
  lastCutHead = head;
  lastCut = cutShortNow(head);
  return lastCut;
}

let lastCutHead: string | null = null;
let lastCut = false;

function cutShortNow(head: string): boolean {
  const t = pastBanner(head.replace(/^\uFEFF/, '').trimStart());
  if (t.startsWith('{') || t.startsWith('[') || /^Record \d+\s*\n/.test(t)) return firstValue(t) === OPEN;
  if (!t.startsWith('<')) return false;
  const x = t.replace(/^evtxexport \d+\s*\n/, '');
  return !/<Event[\s>/]/.test(x) && inProlog(x);
}

/** True when `t` holds nothing but XML declarations, processing instructions, comments and `<Events>` (the last possibly cut). */
function inProlog(t: string): boolean {
  let i = 0;
  for (;;) {
    while (i < t.length && /\s/.test(t[i]!)) i++;
    if (i >= t.length) return true;
    const close = t.startsWith('<?', i) ? '?>' : t.startsWith('<!--', i) ? '-->' : t.startsWith('<!', i) ? '>' : t.startsWith('<Events', i) ? '>' : null;
    if (close === null) return '<!--'.startsWith(t.slice(i)) || '<Events'.startsWith(t.slice(i)); // a tag cut at the end
    const e = t.indexOf(close, i + 2);
    if (e < 0) return true;
    i = e + close.length;
  }
}

/** Windows event XML: markup first (or evtxexport's banner), and an `<Event>` of the event schema. */
export function isEventXml(head: string): boolean {
  const t = head.replace(/^\uFEFF/, '').trimStart().replace(/^evtxexport \d+\s*\n/, '').trimStart();
  if (!t.startsWith('<')) return false;
  if (!/<Event[\s>/]/.test(t)) return false;
  return t.includes(EVENT_NS) || rootIsEvents(t);
}

/** True when the document element of `t` is `<Events>` (after declarations, processing instructions, comments, white space). */
function rootIsEvents(t: string): boolean {
  let i = 0;
  for (;;) {
    while (i < t.length && /\s/.test(t[i]!)) i++;
    if (t.startsWith('<?', i)) {
      const e = t.indexOf('?>', i + 2);
      if (e < 0) return false;
      i = e + 2;
    } else if (t.startsWith('<!--', i)) {
      const e = t.indexOf('-->', i + 4);
      if (e < 0) return false;
      i = e + 3;
    } else return t.startsWith('<Events>', i);
  }
}

// ---- CSV exports (Log Analytics, Splunk) -----------------------------------------------------------------------------

/** Log Analytics' portal writes a column's zone after its name: `TimeGenerated [UTC]`. */
const ZONE_SUFFIX = /\s*\[UTC\]$/;

/** The cells of a CSV header line (the first line of `head`), or null when it is not one. */
function csvHeader(head: string): string[] | null {
  const t = head.replace(/^\uFEFF/, '');
  const nl = t.indexOf('\n');
  if (nl < 0 || nl > MAX_HEADER_CHARS) return null;
  const line = t.slice(0, nl).replace(/\r$/, '');
  if (!line.includes(',') || /^\s*[[{<]/.test(line)) return null;
  try {
    const [cells] = parseCsv(line, { relax_column_count: true }) as string[][];
    return cells ? cells.map((c) => c.trim().replace(ZONE_SUFFIX, '')) : null;
  } catch {
    return null;
  }
}

/** Longest CSV header line looked at (Log Analytics' SecurityEvent has about 230 columns). */
const MAX_HEADER_CHARS = 16 * 1024;

/**
 * Which export a CSV is, by its header: `sentinel` (KQL results exported to CSV: `TimeGenerated`, `EventID`, and the
 * columns of WindowsEvent, SecurityEvent or Event) or `splunk` (search results with `_raw` and `_time`, `host` or
 * `sourcetype`); null for anything else.
 */
export function csvShape(head: string): string | null {
  const cells = csvHeader(head);
  if (!cells) return null;
  const has = new Set(cells);
  if (has.has('TimeGenerated') && has.has('EventID') && ((has.has('Channel') && (has.has('Provider') || has.has('EventSourceName'))) || (has.has('EventLog') && has.has('Source')))) return 'sentinel';
  if (has.has('_raw') && (has.has('_time') || has.has('sourcetype') || has.has('host'))) return 'splunk';
  return null;
}

/** `5/11/2019, 5:58:23.418 PM`: the Log Analytics portal's CSV times, in the zone its header names. */
const PORTAL_TIME = /^(\d{1,2})\/(\d{1,2})\/(\d{4}),? (\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,7}))? ([AP]M)$/;

/** A portal time of a `[UTC]` column as ISO-8601 UTC; the text as it stands when it is not one. */
function portalTime(t: string): string {
  const m = PORTAL_TIME.exec(t.trim());
  if (!m) return t;
  const h = (Number(m[4]) % 12) + (m[8] === 'PM' ? 12 : 0);
  const p = (x: string | number): string => String(x).padStart(2, '0');
  return `${m[3]}-${p(m[1]!)}-${p(m[2]!)}T${p(h)}:${m[5]}:${m[6]}${m[7] ? `.${m[7]}` : ''}Z`;
}

/** Most characters of one CSV record: its lines joined while a quoted cell is open. */
const MAX_CSV_RECORD_CHARS = 64 * 1024 * 1024;
/** Most columns of a CSV header that are read. */
const MAX_CSV_COLUMNS = 4096;

/** Complete records parsed together (csv-parse's set-up costs about four records' parsing per call). */
const CSV_BATCH_RECORDS = 256;
const CSV_BATCH_CHARS = 1 << 20;

/** One record's text (its lines joined) and the line it starts on. */
interface CsvText {
  text: string;
  line: number;
}

/**
 * The cells of each record of `batch` (complete records: their quotes balance), parsed by csv-parse in one call;
 * when that call does not give one result per record (a record it refused, or read as more or fewer), each record
 * is parsed alone, so that one bad record never costs its neighbours. A record csv-parse refuses goes to `bad`.
 */
function parseCsvBatch(batch: CsvText[], bad: (line: number, why: string) => void): Array<{ cells: string[]; line: number }> {
  if (batch.length > 1) {
    try {
      const all = parseCsv(batch.map((b) => b.text).join('\n'), { relax_column_count: true, relax_quotes: true }) as string[][];
      if (all.length === batch.length) return all.map((cells, k) => ({ cells, line: batch[k]!.line }));
    } catch {
      // parsed one by one below
    }
  }
  const out: Array<{ cells: string[]; line: number }> = [];
  for (const b of batch) {
    try {
      const [cells] = parseCsv(b.text, { relax_column_count: true, relax_quotes: true }) as string[][];
      if (cells) out.push({ cells, line: b.line });
    } catch (e) {
      bad(b.line, `not CSV (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return out;
}

/**
 * The records of a CSV text, as texts, streamed: the text is split into lines by the bounded line splitter and
 * lines are joined while a quoted cell is open (an odd count of `"` so far: RFC 4180 writes a quote inside a cell
 * twice). A record whose quoted cell does not close within {@link MAX_CSV_RECORD_CHARS} goes to `bad`, and reading
 * goes on at the next line.
 */
async function* csvTexts(input: EvidenceInput, onIssue: (i: SplitIssue) => void, bad: (line: number, why: string) => void): AsyncGenerator<CsvText> {
  let buf: string[] = [];
  let size = 0;
  let quotes = 0;
  let start = 0;
  for await (const l of lines(textChunks(input), onIssue)) {
    if (!buf.length) {
      if (!l.text.trim()) continue;
      start = l.line;
    }
    buf.push(l.text);
    size += l.text.length + 1;
    for (let i = l.text.indexOf('"'); i >= 0; i = l.text.indexOf('"', i + 1)) quotes++;
    if (quotes % 2 === 1) {
      if (size > MAX_CSV_RECORD_CHARS) {
        bad(start, `a quoted cell is not closed within ${MAX_CSV_RECORD_CHARS} characters`);
        buf = [];
        size = 0;
        quotes = 0;
      }
      continue;
    }
    yield { text: buf.join('\n'), line: start };
    buf = [];
    size = 0;
    quotes = 0;
  }
  if (buf.length) bad(start, 'the input ends inside a quoted cell (truncated?)');
}

/**
 * The rows of a CSV export as objects (header cell → cell text), streamed ({@link csvTexts}), parsed by csv-parse a
 * batch at a time ({@link parseCsvBatch}). Cells of a column whose header says `[UTC]` have the portal's time format
 * rewritten as ISO-8601.
 */
async function* csvRows(input: EvidenceInput, onIssue: (i: SplitIssue) => void, bad: (line: number, why: string) => void): AsyncGenerator<{ row: JsonObject; line: number }> {
  let header: string[] | null = null;
  let utc = new Set<number>();
  let batch: CsvText[] = [];
  let chars = 0;
  const rows = function* (parsed: Array<{ cells: string[]; line: number }>): Generator<{ row: JsonObject; line: number }> {
    for (const { cells, line } of parsed) {
      if (!header) {
        const names = cells.slice(0, MAX_CSV_COLUMNS).map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());
        utc = new Set(names.flatMap((c, i) => (ZONE_SUFFIX.test(c) ? [i] : [])));
        header = names.map((c) => c.replace(ZONE_SUFFIX, ''));
        continue;
      }
      const row = Object.create(null) as JsonObject;
      header.forEach((name, i) => {
        if (!name || UNSAFE.has(name) || i >= cells.length) return;
        row[name] = utc.has(i) ? portalTime(cells[i]!) : cells[i]!;
      });
      yield { row, line };
    }
  };
  for await (const t of csvTexts(input, onIssue, bad)) {
    // the header alone first: it decides how the rest is read
    batch.push(t);
    chars += t.text.length;
    if (header && batch.length < CSV_BATCH_RECORDS && chars < CSV_BATCH_CHARS) continue;
    yield* rows(parseCsvBatch(batch, bad));
    batch = [];
    chars = 0;
  }
  yield* rows(parseCsvBatch(batch, bad));
}

// ---- reading ----------------------------------------------------------------------------------------------------------

/** The writer of one input's damage notes (`format: …`); the sink caps the repeats. */
function problemWriter(ctx: ObserveContext, file: string, format: string): (message: string, code?: 'damaged' | 'over-limit') => void {
  return (message, code = 'damaged') => ctx.notes.add({ file, level: 'warning', code, message: `${format}: ${message}` });
}

/**
 * The records of one input lost to damage (a value or element cut short, a line that is not JSON, a record that
 * does not convert): counted as they come, and written as one note when the input is done, naming the first.
 */
class DamageTally {
  private count = 0;
  private first = '';
  constructor(
    private readonly ctx: ObserveContext,
    private readonly file: string,
    private readonly format: string,
  ) {}

  add(message: string): void {
    if (this.count++ === 0) this.first = message;
  }

  /** Writes the note (none when nothing was damaged). */
  flush(): void {
    if (!this.count) return;
    const message = this.count === 1 ? `${this.format}: ${this.first}` : `${this.format}: ${this.count} damaged records or lines skipped; the first: ${this.first}`;
    this.ctx.notes.add({ file: this.file, level: 'warning', code: 'damaged', message });
  }
}

/** The note for a first line that is not JSON before JSON records (a tool's banner): read past, not damage. */
function bannerNote(ctx: ObserveContext, file: string, format: string, text: string): void {
  ctx.notes.add({ file, level: 'skipped', code: 'ignored', message: `${format}: line 1 is not JSON (a banner?): ${JSON.stringify(text.trim().slice(0, 60))}; skipped` });
}

/** JSON Lines when the first complete lines (after a banner line) are JSON objects each on its own. */
function looksLikeJsonl(head: string): boolean {
  const ls = pastBanner(head.replace(/^\uFEFF/, '').trimStart()).split('\n').slice(0, -1).map((l) => l.trim()).filter(Boolean).slice(0, 5);
  if (!ls.length) return false;
  let ok = 0;
  for (const l of ls) {
    if (/^Record \d+$/.test(l)) return false;
    if (!l.startsWith('{')) return false;
    try {
      if (isObj(parseJson(l) as Json)) ok++;
    } catch {
      // a broken line among good ones is still JSON Lines
    }
  }
  return ok > 0 && ok >= Math.ceil(ls.length / 2);
}

async function observeJson(input: EvidenceInput, ctx: ObserveContext, format: string, csv = false): Promise<ObserveResult> {
  const sink = new EventRecordSink(input.name, 'export', ctx.host, ctx.sigma);
  const problem = problemWriter(ctx, input.name, format);
  const damaged = new DamageTally(ctx, input.name, format);
  let banner = true; // nothing but white space read yet: a first line that is not JSON is a banner
  const onIssue = (i: SplitIssue): void => {
    if (i.kind === 'junk' && i.line === 1 && banner) bannerNote(ctx, input.name, format, i.text ?? '');
    else if (i.kind) damaged.add(`line ${i.line}: ${i.message}`);
    else problem(`line ${i.line}: ${i.message}`);
  };
  const seen = new Set<string>();
  let records = 0;
  let values = 0;
  let empty = 0;
  let naive = 0;
  let ingest = 0;
  const zones = new Map<string, number>();
  const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));
  // a record that cannot be converted (whatever the reason) is one warning with its place; the rest is read
  const take = (v: Json, where: string): void => {
    values++;
    let failed = 0;
    const found: Found[] = [];
    try {
      if (depthOver(v)) problem(`${where}: nested more than ${MAX_DEPTH} levels deep; what is deeper is not read`, 'over-limit');
      recordsOf(v, where, found, 0, (w, e) => {
        failed++;
        damaged.add(`${w}: ${reason(e)}; skipped`);
      });
    } catch (e) {
      failed++;
      damaged.add(`${where}: ${reason(e)}; skipped`);
    }
    if (!found.length && !failed) empty++;
    for (const f of found) {
      try {
        if (f.dedupe) {
          const h = eventHeader(f.json);
          if (h && h.recordId !== null) {
            const key = `${h.computer}|${h.channel}|${h.recordId}|${h.time}|${h.eventId}`;
            if (seen.has(key)) continue;
            seen.add(key);
          }
        }
        if (sink.add(f.json, f.where)) records++;
        if (f.naiveTime) naive++;
        if (f.ingestTime) ingest++;
        if (f.zone) zones.set(f.zone, (zones.get(f.zone) ?? 0) + 1);
      } catch (e) {
        damaged.add(`${f.where}: ${reason(e)}; skipped`);
      }
    }
  };
  const head = csv ? '' : headText(await input.head(1 << 16));
  if (csv) {
    for await (const row of csvRows(input, onIssue, (line, why) => damaged.add(`line ${line}: ${why}; skipped`))) {
      banner = false;
      take(row.row, `line ${row.line}`);
    }
  } else if (looksLikeJsonl(head)) {
    for await (const l of lines(textChunks(input), onIssue)) {
      const t = l.text.trim();
      if (!t || /^Record \d+$/.test(t)) continue;
      const first = banner;
      banner = false;
      let v: Json;
      try {
        v = parseJson(t) as Json;
      } catch (e) {
        if (first && !/^[[{]/.test(t)) bannerNote(ctx, input.name, format, t);
        else damaged.add(`line ${l.line}: not JSON (${e instanceof Error ? e.message : String(e)}); skipped`);
        continue;
      }
      take(v, `line ${l.line}`);
    }
  } else {
    for await (const jv of jsonValues(textChunks(input), onIssue)) {
      banner = false;
      let v: Json;
      const where = jv.record !== null ? `header #${jv.record}, line ${jv.line}` : jv.element !== null ? `element ${jv.element}, line ${jv.line}` : `line ${jv.line}`;
      try {
        v = parseJson(jv.text) as Json;
      } catch (e) {
        damaged.add(`${where}: not JSON (${e instanceof Error ? e.message : String(e)}); skipped`);
        continue;
      }
      take(v, where);
    }
  }
  damaged.flush();
  if (zones.size) {
    const n = [...zones.values()].reduce((x, y) => x + y, 0);
    const list = [...zones].slice(0, 4).map(([z, c]) => `UTC${z} (${c})`).join(', ') + (zones.size > 4 ? ', …' : '');
    ctx.notes.add({ file: input.name, level: 'warning', code: 'assumption', message: `${format}: ${n} record(s) are timed by EventTime, the collector's local time without a zone, read at ${list}: the zone is the difference from @timestamp (when the record reached the pipeline, UTC) to the nearest quarter hour; times to the second` });
  }
  if (ingest) ctx.notes.add({ file: input.name, level: 'warning', code: 'assumption', message: `${format}: ${ingest} record(s) are timed by @timestamp (when they reached the pipeline, UTC), because their EventTime has no time zone: spans and times of these records may run late by the shipping delay` });
  if (naive) ctx.notes.add({ file: input.name, level: 'warning', code: 'assumption', message: `${format}: ${naive} record(s) have a time without a time zone (NXLog EventTime is the collector's local time); taken as UTC` });
  const unit = csv ? 'CSV row(s)' : 'JSON value(s)';
  if (!records) ctx.notes.add({ file: input.name, level: 'warning', code: 'damaged', message: `${format}: no event records read (${values} ${unit}, ${empty} without an event)` });
  else if (empty) ctx.notes.add({ file: input.name, level: 'warning', code: 'ignored', message: `${format}: ${empty} of ${values} ${unit} hold no event record; skipped` });
  return sink.result(`${format}: `, ctx.notes);
}

async function observeXml(input: EvidenceInput, ctx: ObserveContext): Promise<ObserveResult> {
  const format = 'event-xml';
  const sink = new EventRecordSink(input.name, 'export', ctx.host, ctx.sigma);
  const problem = problemWriter(ctx, input.name, format);
  let records = 0;
  let elements = 0;
  const damaged = new DamageTally(ctx, input.name, format);
  for await (const el of xmlEvents(textChunks(input), (i) => (i.kind ? damaged.add(`line ${i.line}: ${i.message}`) : problem(`line ${i.line}: ${i.message}`)))) {
    elements++;
    const where = `element ${el.element}, line ${el.line}`;
    try {
      const x = eventFromXml(el.text);
      complete(x.json, x.message);
      if (sink.add(x.json, where)) records++;
      else damaged.add(`${where}: no <System> with an EventID; skipped`);
    } catch (e) {
      damaged.add(`${where}: ${e instanceof Error ? e.message : String(e)}; skipped`);
    }
  }
  damaged.flush();
  if (!records) ctx.notes.add({ file: input.name, level: 'error', code: 'damaged', message: `${format}: no event records read (${elements} complete <Event> element(s) found)` });
  return sink.result(`${format}: `, ctx.notes);
}

const csvAdapter = (shape: string): Adapter => ({
  format: `${shape}-csv`,
  detect: (head: string) => csvShape(head) === shape,
  observe: (input, ctx) => observeJson(input, ctx, `${shape}-csv`, true),
});

const jsonAdapter = (format: string): Adapter => ({
  format,
  detect: (head: string) => jsonShape(head) === format,
  cutShort: headCutShort,
  observe: (input, ctx) => observeJson(input, ctx, format),
});

export const adapters: Adapter[] = [
  jsonAdapter('evtx-json'),
  jsonAdapter('ecs'),
  jsonAdapter('sentinel'),
  jsonAdapter('splunk'),
  csvAdapter('sentinel'),
  csvAdapter('splunk'),
  jsonAdapter('nxlog'),
  {
    format: 'event-xml',
    detect: isEventXml,
    cutShort: headCutShort,
    observe: observeXml,
  },
  {
    format: 'hayabusa-timeline',
    detect: (head: string) => jsonShape(head) === 'hayabusa-timeline',
    async observe(input, ctx) {
      ctx.notes.add({
        file: input.name,
        level: 'skipped',
        code: 'not-evidence',
        message: 'hayabusa-timeline: a Hayabusa json-timeline lists rule detections with abbreviated fields, not event records; export the events themselves (EVTX, evtx_dump JSON, or the JSON Hayabusa reads with -J)',
      });
      return { observations: [], items: [], logs: [] };
    },
  },
];
