/**
 * Velociraptor artifact result rows as evidence: the JSONL of a collection (`results/<Artifact>.json`), a
 * hunt download (the same rows plus `FlowId`, `ClientId`, `Fqdn`), or a GUI/notebook JSON array. Recognized
 * by the rows' column names, never by the file name. Row types read:
 *
 * - `Windows.Persistence.PermanentWMIEvents` (`ConsumerDetails`, `FilterDetails`, `Namespace`): the filter,
 *   consumer and binding present when the collection ran (source `velociraptor`, action `present`).
 * - `Windows.ETW.WMIEventing` (`EventTime`, `NamespaceName`, `Operation`, `Process`, `User`, …): WMI-Activity
 *   trace event 11 `PutInstance` / `DeleteInstance` of subscription objects, with the process that did it
 *   (source `wmi-trace`, action `created` / `deleted`).
 * - `Windows.EventLogs.EvtxHunter` rows and `parse_evtx` rows (`Windows.EventLogs.Evtx`: `System`,
 *   `EventData`, `UserData`): turned back into the EVTX layer's JSON shape and read like any event record.
 * - `Windows.Sysinternals.Autoruns` rows (autorunsc CSV columns): read by `autoruns.ts`.
 * - `Custom.Windows.Persistence.WMIScope` rows (wmiscope's own client artifact, `Part`, `Item`, `Action`, `Reason`):
 *   what the collection uploaded (read from `uploads/`), skipped for its size or failed to upload; the last two are a
 *   warning each, since what those files hold is missing from the evidence.
 *
 * Facts used (Velocidex/velociraptor at cd02ac6, Velocidex/evtx at f4fa97e, Velocidex/vfilter at f8fe490):
 * the `wmi()` plugin lists an object's properties through SWbemObject `Properties_`, so system properties
 * (`__CLASS`, `__PATH`, …) are absent and the consumer class has to be inferred from the property names;
 * arrays become JSON arrays (CreatorSID = byte array), embedded objects are dropped, CIM datetimes stay strings.
 * A `{ SELECT … }` column is one object when one row matched, an array when several did, null when none.
 * parse_evtx flattens XML attributes into keys (`Provider.Name`, `EventID.Value`, `TimeCreated.SystemTime` as
 * epoch seconds), drops `xmlns`, keys UserData by its element name, and leaves EventData as
 * `{Data: [{Name, Value}]}` when a Data element has no value (an empty Sysmon RuleName does that).
 */
import type { EvtxJsonObject, EvtxValue } from '../../evtx/index.js';
import { parseJson as parseBoundedJson } from '../text/json.js';
import { normalizeNamespace, parseObjectRef, sidFromByteArray } from '../../model/wmi.js';
import type { EvidenceItem, Observation, SourceKind } from '../../model/types.js';
import { objectPath } from '../../model/subscription.js';
import type { Adapter, EvidenceInput, LogSummary, ObserveContext, ObserveResult } from '../input.js';
import { headText, MAX_WHOLE_INPUT } from '../input.js';
import type { NoteSink } from '../notes.js';
import { EventRecordSink, isoTime } from '../records/tally.js';
import { processObservation } from '../records/observations.js';
import { autorunsRowObservations, autorunsTime, AUTORUNS_COLUMNS_REQUIRED, collectionWhere } from './autoruns.js';
import { VELOCIRAPTOR_CLIENT_ARTIFACT } from '../../collector/velociraptor.js';
import { escapeText } from '../../model/text.js';

type Values = Observation['properties'];
type Json = EvtxValue;
type Row = EvtxJsonObject;

/** Longest JSONL line read (bytes); longer lines are skipped with a warning. Tests lower it. */
export const limits = { maxLine: 64 * 1024 * 1024 };

export const ARTIFACT = {
  permanent: 'Windows.Persistence.PermanentWMIEvents',
  trace: 'Windows.ETW.WMIEventing',
  hunter: 'Windows.EventLogs.EvtxHunter',
  evtx: 'parse_evtx (Windows.EventLogs.Evtx)',
  autoruns: 'Windows.Sysinternals.Autoruns',
  pslist: 'Windows.System.Pslist',
  processCreation: 'Windows.Events.ProcessCreation',
  collection: VELOCIRAPTOR_CLIENT_ARTIFACT,
} as const;

type RowKind = keyof typeof ARTIFACT;

// ---- recognizing rows ------------------------------------------------------------------------------------------

/**
 * Top-level keys of the first JSON object in `text` (a JSONL line or the first element of an array), read
 * without parsing the whole object: the head of a large file may end inside it.
 */
export function firstObjectKeys(text: string): { keys: string[]; complete: boolean } | null {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n && /\s/.test(text[i]!)) i++;
  };
  ws();
  if (text[i] === '[') {
    i++;
    ws();
  }
  if (text[i] !== '{') return null;
  i++;
  const keys: string[] = [];
  const done = (complete: boolean): { keys: string[]; complete: boolean } => ({ keys, complete });
  const readString = (): string | null => {
    const start = i;
    i++;
    while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= n) return null;
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return null;
    }
  };
  for (let guard = 0; guard < 1000; guard++) {
    ws();
    if (i >= n) return done(false);
    if (text[i] === '}') return done(true);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] !== '"') return keys.length ? done(false) : null;
    const k = readString();
    if (k === null) return done(false);
    keys.push(k);
    ws();
    if (text[i] !== ':') return done(false);
    i++;
    // skip the value: strings, nested objects and arrays
    let depth = 0;
    for (; i < n; i++) {
      const c = text[i]!;
      if (c === '"') {
        if (readString() === null) return done(false);
        i--;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
    }
  }
  return done(false);
}

/** Which artifact a row with these columns comes from; null for anything else (ECS, crate-shaped records, …). */
export function rowKind(keys: Iterable<string>): RowKind | null {
  const k = new Set([...keys].map((x) => x.toLowerCase()));
  const has = (x: string): boolean => k.has(x);
  // other formats: ECS / winlogbeat documents, the `Event.System` shape of EVTX exporters
  if (has('winlog') || has('@timestamp') || has('event') || has('ecs')) return null;
  // nxlog / Windows event JSON exports flatten event fields next to Hostname, SourceName, RecordNumber
  if (has('hostname') && (has('sourcename') || has('recordnumber') || has('eventtype'))) return null;
  // Log Analytics (Sentinel) KQL results: TimeGenerated, TenantId, EventLevelName, which no Velociraptor artifact writes
  if (has('timegenerated') || has('tenantid') || has('eventlevelname')) return null;
  if (has('consumerdetails') && has('filterdetails')) return 'permanent';
  if (has('operation') && has('namespacename') && (has('correlationid') || has('operationid') || has('groupoperationid') || has('clientmachine') || has('islocal'))) return 'trace';
  if (AUTORUNS_COLUMNS_REQUIRED.every((c) => has(c.toLowerCase()))) return 'autoruns';
  if (has('system') && (has('eventdata') || has('userdata') || has('message'))) return 'evtx';
  if (has('eventrecordid') && has('channel') && has('eventid') && has('provider') && (has('eventdata') || has('userdata'))) return 'hunter';
  // process rows: a listing (Pid, Ppid, Name, Exe, CommandLine, Username[, CreateTime]) or the creation events
  // (Timestamp, PPID, PID, Name, CommandLine, ParentInfo)
  if (has('pid') && has('ppid') && has('name')) {
    if (has('exe')) return 'pslist';
    if (has('timestamp') && (has('commandline') || has('parentinfo'))) return 'processCreation';
  }
  if (has('part') && has('item') && has('action') && has('reason')) return 'collection';
  return null;
}

function detect(head: string): boolean {
  const t = head.replace(/^\s+/, '');
  if (t[0] !== '{' && t[0] !== '[') return false;
  const first = firstObjectKeys(t);
  if (!first) return false;
  if (rowKind(first.keys) !== null) return true;
  if (first.complete) return false;
  // the head ends inside a large first row: decide on the columns seen so far
  const k = new Set(first.keys.map((x) => x.toLowerCase()));
  if (k.has('winlog') || k.has('@timestamp') || k.has('event') || k.has('timegenerated')) return false;
  if (k.has('consumerdetails') || k.has('filterdetails')) return true;
  if (['eventtime', 'channel', 'eventid', 'eventrecordid', 'provider'].every((x) => k.has(x))) return true;
  return k.has('system') && /"EventRecordID"\s*:/.test(t) && /"Channel"\s*:/.test(t);
}

// ---- reading rows ----------------------------------------------------------------------------------------------

/** JSON.parse without `__proto__` keys (evidence is attacker-controlled). */
function parseJson(text: string): Json {
  return parseBoundedJson(text, (k, v: unknown) => (k === '__proto__' ? undefined : v)) as Json;
}

const isObj = (v: Json | undefined): v is Row => v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);

interface RowAt {
  row: Row;
  /** `line N` (JSONL) or `element N` (JSON array), 1-based. */
  where: string;
}

/** The rows of an input: JSONL read line by line (bounded), or a JSON array read whole (bounded). */
async function* readRows(input: EvidenceInput, notes: NoteSink): AsyncGenerator<RowAt> {
  const headBuf = await input.head(4096);
  const utf16 = headBuf.length >= 2 && ((headBuf[0] === 0xff && headBuf[1] === 0xfe) || (headBuf[0] === 0xfe && headBuf[1] === 0xff));
  const first = headText(headBuf).replace(/^\s+/, '')[0];
  let unit = 'line';
  const badLine = (line: number, why: string): void => notes.add({ file: input.name, level: 'warning', code: 'damaged', message: `${unit} ${line}: ${why}; skipped` });
  if (first === '[' || utf16) {
    if (input.size > MAX_WHOLE_INPUT) {
      notes.add({ file: input.name, level: 'error', code: 'over-limit', message: `${input.size} bytes: a JSON array over the ${MAX_WHOLE_INPUT}-byte limit is not read (export JSONL instead)` });
      return;
    }
    const text = headText(await input.read());
    if (text.replace(/^\s+/, '')[0] === '[') {
      let arr: Json;
      try {
        arr = parseJson(text);
      } catch (e) {
        notes.add({ file: input.name, level: 'error', code: 'failed', message: `not a valid JSON array (${e instanceof Error ? e.message : String(e)})` });
        return;
      }
      if (!Array.isArray(arr)) return;
      unit = 'element';
      let i = 0;
      for (const el of arr) {
        i++;
        if (isObj(el)) yield { row: el, where: `element ${i}` };
        else badLine(i, 'not a JSON object');
      }
      return;
    }
    // UTF-16 JSONL
    let line = 0;
    for (const l of text.split(/\r?\n/)) {
      line++;
      const r = parseLine(l, line, badLine);
      if (r) yield r;
    }
    return;
  }
  let line = 0;
  let parts: Buffer[] = [];
  let partLen = 0;
  let skipping = false;
  for await (const chunk of input.chunks()) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) {
        const rest = chunk.subarray(start);
        if (!skipping) {
          if (partLen + rest.length > limits.maxLine) {
            skipping = true;
            parts = [];
            partLen = 0;
          } else {
            parts.push(rest);
            partLen += rest.length;
          }
        }
        break;
      }
      line++;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (skipping || partLen + piece.length > limits.maxLine) {
        badLine(line, `longer than ${limits.maxLine} bytes`);
        skipping = false;
        parts = [];
        partLen = 0;
        continue;
      }
      const text = (parts.length ? Buffer.concat([...parts, piece]) : piece).toString('utf8');
      parts = [];
      partLen = 0;
      const r = parseLine(line === 1 ? text.replace(/^\ufeff/, '') : text, line, badLine);
      if (r) yield r;
    }
  }
  if (skipping) badLine(line + 1, `longer than ${limits.maxLine} bytes`);
  else if (partLen) {
    line++;
    const text = Buffer.concat(parts).toString('utf8');
    const r = parseLine(line === 1 ? text.replace(/^\ufeff/, '') : text, line, badLine);
    if (r) yield r;
  }
}

function parseLine(text: string, line: number, badLine: (line: number, why: string) => void): RowAt | null {
  const t = text.trim();
  if (!t) return null;
  let v: Json;
  try {
    v = parseJson(t);
  } catch (e) {
    badLine(line, `not JSON (${e instanceof Error ? e.message : String(e)})`);
    return null;
  }
  if (!isObj(v)) {
    badLine(line, 'not a JSON object');
    return null;
  }
  return { row: v, where: `line ${line}` };
}

// ---- value helpers -------------------------------------------------------------------------------------------------

/** A row's column, matched case-insensitively (Velociraptor rows keep VQL's spelling). */
function col(row: Row, name: string): Json | undefined {
  if (Object.prototype.hasOwnProperty.call(row, name)) return row[name];
  const l = name.toLowerCase();
  for (const k of Object.keys(row)) if (k.toLowerCase() === l) return row[k];
  return undefined;
}

function str(v: Json | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** One value for an observation's properties or meta: scalars kept, arrays joined with `, `, objects as JSON. */
function flat(v: Json | undefined): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => (x !== null && typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ');
  return JSON.stringify(v);
}

/**
 * The host a row belongs to: `--host` / the collection's client, else the hunt columns — `Fqdn (ClientId)`
 * like the collection-zip reader names clients, `Fqdn` or `ClientId` alone when only one is there — else ''.
 */
function rowHost(row: Row, ctx: ObserveContext): string {
  if (ctx.host) return ctx.host;
  const fqdn = str(col(row, 'Fqdn'))?.trim() ?? '';
  const id = str(col(row, 'ClientId'))?.trim() ?? '';
  if (fqdn && id) return `${fqdn} (${id})`;
  return fqdn || id;
}


// ---- Custom.Windows.Persistence.WMIScope (wmiscope's client artifact) ---------------------------------------------

/**
 * A result row of wmiscope's client artifact. An uploaded file is read from the collection's `uploads/`; a row saying
 * a file was skipped (over a size bound) or could not be uploaded is a warning: what it holds is not in the evidence.
 * Rows saying a part was not collected or a file was not found add nothing (coverage says which logs are missing).
 */
function collectionRow(r: RowAt, file: string, notes: NoteSink): void {
  const action = str(col(r.row, 'Action'));
  if (action !== 'skipped' && action !== 'failed') return;
  // values from the collection are evidence: cut and escaped before they are shown
  const text = (name: string, max: number): string | null => {
    const v = str(col(r.row, name));
    return v === null || v === '' ? null : escapeText(v.length > max ? `${v.slice(0, max)}…` : v);
  };
  const part = text('Part', 40) ?? 'file';
  const item = text('Item', 200);
  const path = text('Path', 400);
  const size = col(r.row, 'Size');
  const where = [path, typeof size === 'number' ? `${size} bytes` : null].filter(Boolean).join(', ');
  const reason = text('Reason', 400) ?? 'no reason given';
  // what was not uploaded comes first (a terminal line cut at its width still shows it), where the row is comes last
  notes.add({
    file,
    level: 'warning',
    code: action === 'skipped' ? 'over-limit' : 'failed',
    message: `${part}${item ? ` ${item}` : ''} ${action === 'skipped' ? 'not uploaded' : 'could not be uploaded'}${where ? ` (${where})` : ''}: ${reason}; what it holds is not in this evidence (${ARTIFACT.collection}, ${r.where}${collectionWhere(r.row)})`,
  });
}

// ---- Windows.Persistence.PermanentWMIEvents ------------------------------------------------------------------

/** The WMI objects of a `{ SELECT … }` column: one object, an array of them, or none. */
function wmiObjects(v: Json | undefined): Row[] {
  if (isObj(v)) return [v];
  if (Array.isArray(v)) return v.filter(isObj);
  return [];
}

function prop(o: Row, name: string): Json | undefined {
  return col(o, name);
}

/**
 * The consumer class of a `wmi()` object (which carries no `__CLASS`): `__CLASS` when a query added it,
 * else the standard consumer class whose properties it has. Null for a custom class with other properties.
 */
export function consumerClassOf(o: Row): string | null {
  const cls = str(prop(o, '__CLASS'));
  if (cls) return cls;
  const has = (...ps: string[]): boolean => ps.some((p) => prop(o, p) !== undefined);
  if (has('CommandLineTemplate', 'ExecutablePath', 'WorkingDirectory', 'RunInteractively', 'CreateNewConsole')) return 'CommandLineEventConsumer';
  if (has('ScriptingEngine', 'ScriptText', 'ScriptFileName')) return 'ActiveScriptEventConsumer';
  if (has('SourceName', 'NumberOfInsertionStrings', 'InsertionStringTemplates', 'NameOfUserSIDProperty')) return 'NTEventLogEventConsumer';
  if (has('SMTPServer', 'ToLine', 'FromLine', 'Subject')) return 'SMTPEventConsumer';
  if (has('Filename', 'IsUnicode', 'MaximumFileSize')) return 'LogFileEventConsumer';
  return null;
}

function objectProperties(o: Row): Values {
  const d: Values = {};
  for (const k of Object.keys(o)) {
    if (k.startsWith('__')) continue; // system properties (only present when a query asked for them)
    d[k] = flat(o[k]);
  }
  return d;
}

/**
 * Observations of one PermanentWMIEvents row. `candidates`: the namespaces the same objects were listed under
 * (see {@link observe}); when there are several, the row's namespace is unknown and left null.
 */
function permanentRow(r: RowAt, host: string, file: string, candidates: string[] = [], also: string[] = []): Observation[] {
  const { row } = r;
  const where = also.length ? `${r.where} (also ${also.join(', ')})` : r.where;
  // a hunt row's ClientId / FlowId: in the location, never in properties (see collectionWhere)
  const hunt = collectionWhere(row);
  const ambiguous = candidates.length > 1;
  const nsText = ambiguous ? null : str(col(row, 'Namespace'));
  const consumers = wmiObjects(col(row, 'ConsumerDetails'));
  const filters = wmiObjects(col(row, 'FilterDetails'));
  const out: Observation[] = [];
  const nsOf = (o: Row): string | null => {
    const own = str(prop(o, '__NAMESPACE'));
    return own ? normalizeNamespace(own) : nsText ? normalizeNamespace(nsText) : null;
  };
  const meta = (): Values => (ambiguous ? { NamespaceCandidates: candidates.join(', ') } : {});
  const base = { host, source: 'velociraptor' as const, action: 'present' as const, time: null, file };
  for (const f of filters) {
    out.push({ ...base, part: 'filter', namespace: nsOf(f), className: '__EventFilter', name: str(prop(f, 'Name')), user: sidFromByteArray(prop(f, 'CreatorSID')), location: `${where}, FilterDetails${hunt}`, properties: objectProperties(f), meta: meta() });
  }
  for (const c of consumers) {
    const cls = consumerClassOf(c);
    const m = meta();
    if (cls && !str(prop(c, '__CLASS'))) m['ConsumerClassInferred'] = true;
    out.push({ ...base, part: 'consumer', namespace: nsOf(c), className: cls, name: str(prop(c, 'Name')), user: sidFromByteArray(prop(c, 'CreatorSID')), location: `${where}, ConsumerDetails${hunt}`, properties: objectProperties(c), meta: m });
  }
  // every row stands for one binding (the artifact starts from __FilterToConsumerBinding)
  const f = filters[0];
  const c = consumers[0];
  if (f || c) {
    // as the repository stores a binding: relative references, plus the names they hold
    const fname = f ? str(prop(f, 'Name')) : null;
    const cname = c ? str(prop(c, 'Name')) : null;
    const ccls = c ? consumerClassOf(c) : null;
    const properties: Values = {
      Filter: fname !== null ? objectPath('__EventFilter', fname) : null,
      // a consumer whose class wmi() does not tell: its bare name (a name, never read as a class)
      Consumer: cname !== null ? (ccls ? objectPath(ccls, cname) : cname) : null,
    };
    const m = meta();
    if (!f) m['Note'] = 'the binding\'s filter was not found in the namespace Velociraptor queried';
    if (!c) m['Note'] = 'the binding\'s consumer was not found in the namespace Velociraptor queried';
    out.push({ ...base, part: 'binding', namespace: nsText ? normalizeNamespace(nsText) : null, className: '__FilterToConsumerBinding', name: null, user: null, location: where + hunt, properties, meta: m });
  }
  return out;
}

// ---- Windows.ETW.WMIEventing -----------------------------------------------------------------------------------

/** A WMI-Activity operation: `Start IWbemServices::PutInstance - root\subscription : __EventFilter.Name="x"`. */
export interface WmiOperation {
  method: string;
  namespace: string | null;
  path: string;
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

/**
 * Reads what `/^\s*(?:Start\s+)?IWbemServices::(\w+)\s*-\s*(.*?)\s+:\s+(.*)$/s` would, in linear time (that
 * pattern is cubic on a long run of spaces, and the text is attacker-controlled): the namespace runs from the first
 * non-space after the ` - ` to the whitespace before the first colon with whitespace on both sides; the path is
 * everything after that colon. Only when no such colon follows the namespace's first character may the namespace
 * be empty (`- : path`, whitespace before the colon).
 */
export function parseWmiOperation(op: string): WmiOperation | null {
  const head = /^\s*(?:Start\s+)?IWbemServices::(\w+)\s*-/.exec(op);
  if (!head) return null;
  const dash = head[0].length;
  let from = dash;
  while (isSpace(op[from])) from++;
  let colon = op.indexOf(':', from + 1);
  while (colon >= 0 && !(isSpace(op[colon - 1]) && isSpace(op[colon + 1]))) colon = op.indexOf(':', colon + 1);
  if (colon >= 0) {
    let end = colon - 1;
    while (end > from && isSpace(op[end - 1])) end--;
    return { method: head[1]!, namespace: normalizeNamespace(op.slice(from, end)), path: op.slice(colon + 1).trim() };
  }
  if (from > dash && op[from] === ':' && isSpace(op[from + 1])) return { method: head[1]!, namespace: null, path: op.slice(from + 1).trim() };
  return null;
}

function partOfClass(cls: string): Observation['part'] {
  const l = cls.toLowerCase();
  if (l === '__eventfilter') return 'filter';
  if (l === '__filtertoconsumerbinding') return 'binding';
  if (l.endsWith('eventconsumer')) return 'consumer';
  return null;
}

function traceRow(r: RowAt, host: string, file: string): Observation[] | null {
  const { row, where } = r;
  const opText = str(col(row, 'Operation'));
  if (!opText) return null;
  const op = parseWmiOperation(opText);
  if (!op) return null;
  const action = /^(PutInstance|PutClass)$/i.test(op.method) ? 'created' : /^(DeleteInstance|DeleteClass)$/i.test(op.method) ? 'deleted' : null;
  if (!action) return null;
  const path = parseObjectRef(op.path);
  if (!path) return null;
  const nsName = str(col(row, 'NamespaceName'));
  const namespace = path.namespace ?? op.namespace ?? (nsName ? normalizeNamespace(nsName) : null);
  // the trace describes the operation (process, client): meta; of the object it gives only the path's key values
  const d: Values = { eventId: flat(col(row, 'EventId')), Operation: opText };
  const properties: Values = {};
  const p = col(row, 'Process');
  if (isObj(p)) {
    d['Process'] = str(col(p, 'Name'));
    d['ProcessId'] = flat(col(p, 'Pid'));
    d['ProcessImage'] = str(col(p, 'ImageName')) ?? str(col(p, 'Exe'));
    d['ProcessCommandLine'] = str(col(p, 'CommandLine'));
    d['ProcessUser'] = str(col(p, 'Username'));
    d['ProcessCreateTime'] = str(col(p, 'CreateTime'));
    d['ProcessElevated'] = flat(col(p, 'TokenIsElevated'));
  } else d['Process'] = flat(p);
  for (const k of ['ClientMachine', 'ClientMachineFQDN', 'IsLocal', 'CorrelationId', 'OperationId', 'GroupOperationId']) {
    const v = col(row, k);
    if (v !== undefined) d[k] = flat(v);
  }
  const isClass = /Class$/i.test(op.method);
  const part = isClass ? null : partOfClass(path.className);
  let name: string | null = null;
  if (part === 'binding') {
    properties['Filter'] = path.keys['Filter'] ?? null;
    properties['Consumer'] = path.keys['Consumer'] ?? null;
  } else name = path.name;
  if (isClass) d['ClassOperation'] = true;
  return [
    {
      host,
      source: 'wmi-trace',
      action,
      part,
      namespace,
      className: path.className,
      name,
      time: isoTime(str(col(row, 'EventTime'))),
      user: str(col(row, 'User')),
      file,
      location: where + collectionWhere(row),
      properties,
      meta: d,
    },
  ];
}

// ---- event records (EvtxHunter, parse_evtx) ----------------------------------------------------------------------

/** Epoch seconds (parse_evtx `TimeCreated.SystemTime`) → ISO-8601 with 7 fractional digits; strings via isoTime. */
export function epochToIso(v: Json | undefined): string | null {
  if (typeof v === 'string') return isoTime(v);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 32503680000) return null;
  const s = v.toFixed(7);
  const [secs, frac] = s.split('.') as [string, string];
  return `${new Date(Number(secs) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

const attrs = (o: Row): Row => ({ '#attributes': o });

/** Velocidex EventData `{Data: [{Name, Value}]}` (left so when a value is empty) → `{Name: Value}`. */
function eventDataOf(v: Json | undefined): Json {
  if (!isObj(v)) return v ?? null;
  const data = col(v, 'Data');
  const items = Array.isArray(data) ? data : isObj(data) ? [data] : null;
  if (items && Object.keys(v).length === 1 && items.every((x) => isObj(x) && typeof col(x, 'Name') === 'string')) {
    const out: Row = {};
    for (const x of items as Row[]) {
      const n = col(x, 'Name') as string;
      if (n === '__proto__') continue;
      out[n] = col(x, 'Value') ?? null;
    }
    return out;
  }
  return v;
}

/** A `parse_evtx` row (`System`, `EventData`, `UserData`) in the EVTX layer's shape (`Event.System` with `#attributes`). */
export function evtxRowToRecord(row: Row, fallbackHost: string | null): Row | null {
  const sys = col(row, 'System');
  if (!isObj(sys)) return null;
  const out: Row = {};
  for (const k of Object.keys(sys)) {
    const v = sys[k]!;
    switch (k) {
      case 'Provider':
      case 'Execution':
      case 'Security':
      case 'Correlation':
        out[k] = isObj(v) ? attrs(v) : v;
        break;
      case 'EventID':
        out[k] = isObj(v) ? (col(v, 'Value') ?? null) : v;
        break;
      case 'TimeCreated':
        out[k] = attrs({ SystemTime: epochToIso(isObj(v) ? col(v, 'SystemTime') : v) });
        break;
      default:
        out[k] = v;
    }
  }
  if (!out['Computer'] && fallbackHost) out['Computer'] = fallbackHost;
  const ev: Row = { System: out };
  const ed = col(row, 'EventData');
  const ud = col(row, 'UserData');
  if (ed !== undefined && ed !== null) ev['EventData'] = eventDataOf(ed);
  if (ud !== undefined && ud !== null) ev['UserData'] = ud;
  return { Event: ev };
}

/** An EvtxHunter row (EventTime, Computer, Channel, Provider, EventID, EventRecordID, UserSID, EventData, UserData, …) as a record. */
export function hunterRowToRecord(row: Row, fallbackHost: string | null): Row | null {
  const id = col(row, 'EventID');
  const eventId = isObj(id) ? col(id, 'Value') : id;
  if (eventId === undefined || eventId === null) return null;
  const sys: Row = {
    Provider: attrs({ Name: str(col(row, 'Provider')) }),
    EventID: eventId,
    TimeCreated: attrs({ SystemTime: isoTime(str(col(row, 'EventTime'))) }),
    EventRecordID: col(row, 'EventRecordID') ?? null,
    Channel: str(col(row, 'Channel')),
    Computer: str(col(row, 'Computer')) || fallbackHost,
  };
  const sid = str(col(row, 'UserSID'));
  if (sid) sys['Security'] = attrs({ UserID: sid });
  const ev: Row = { System: sys };
  const ed = col(row, 'EventData');
  const ud = col(row, 'UserData');
  if (ed !== undefined && ed !== null) ev['EventData'] = eventDataOf(ed);
  if (ud !== undefined && ud !== null) ev['UserData'] = ud;
  return { Event: ev };
}

function eventLocation(r: RowAt, row: Row, record: Row): string {
  const sys = (record['Event'] as Row)['System'] as Row;
  const rid = str(sys['EventRecordID'] ?? null);
  const path = str(col(row, 'OSPath')) ?? str(col(row, 'FullPath')) ?? str(col(row, 'Source'));
  const bits = [rid ? `record ${rid}` : null, path ? `of ${path}` : null].filter(Boolean).join(' ');
  return (bits ? `${r.where} (${bits})` : r.where) + collectionWhere(row);
}

// ---- process rows (Windows.System.Pslist, Windows.Events.ProcessCreation) --------------------------------------------

/** Process rows of one file kept to name parents (beyond it they are not read; a note says how many). */
export const MAX_PROCESS_ROWS = 200_000;

interface ProcRow {
  host: string;
  kind: 'pslist' | 'processCreation';
  pid: number | null;
  ppid: number | null;
  image: string | null;
  commandLine: string | null;
  user: string | null;
  time: string | null;
  /** ProcessCreation: the parent's command line (ParentInfo). */
  parentCommandLine: string | null;
  where: string;
}

function pidOf(v: Json | undefined): number | null {
  const t = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d{1,10}\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(t) && t >= 0 && t <= 0xffffffff ? t : null;
}

/** ParentInfo: the parent's command line as a string, or the `{ SELECT CommandLine … }` subquery's row(s). */
function parentInfo(v: Json | undefined): string | null {
  if (typeof v === 'string') return v || null;
  const first = Array.isArray(v) ? v[0] : v;
  return isObj(first) ? str(col(first, 'CommandLine')) : null;
}

function procRow(r: RowAt, host: string, kind: 'pslist' | 'processCreation'): ProcRow {
  const row = r.row;
  const time = kind === 'pslist' ? epochToIso(col(row, 'CreateTime')) : epochToIso(col(row, 'Timestamp'));
  return {
    host,
    kind,
    pid: pidOf(col(row, 'Pid')),
    ppid: pidOf(col(row, 'Ppid')),
    image: (kind === 'pslist' ? str(col(row, 'Exe')) : null) ?? str(col(row, 'Name')),
    commandLine: str(col(row, 'CommandLine')),
    user: str(col(row, 'Username')),
    time,
    parentCommandLine: kind === 'processCreation' ? parentInfo(col(row, 'ParentInfo')) : null,
    where: r.where + collectionWhere(row),
  };
}

/** The image a command line starts with (`"C:\\x y\\a.exe" -k` → `C:\\x y\\a.exe`), when it names an .exe. */
function imageOfCommandLine(cmd: string): string | null {
  const t = cmd.trim().slice(0, 1024);
  const m = t.startsWith('"') ? /^"([^"]+\.exe)"/i.exec(t) : /^(\S+?\.exe)(?=\s|$)/i.exec(t);
  return m ? m[1]! : null;
}

/**
 * Observations of the process rows of one file. The parent a row names only by id is found among the rows of the
 * same file and host: in a listing (one instant: a process id belongs to one process) the row with that Pid, only
 * when it started no later than the child (else the id was reused after the parent exited); for creation events,
 * the parent's command line the row carries (ParentInfo) names the parent's image.
 */
function processRows(rows: readonly ProcRow[], file: string): Observation[] {
  const listed = new Map<string, ProcRow>();
  for (const p of rows) if (p.kind === 'pslist' && p.pid !== null) listed.set(`${p.host.toLowerCase()}|${p.pid}`, p);
  const out: Observation[] = [];
  for (const p of rows) {
    let parentImage: string | null = null;
    let parentFrom: string | null = null;
    if (p.kind === 'pslist' && p.ppid !== null) {
      const q = listed.get(`${p.host.toLowerCase()}|${p.ppid}`);
      if (q && q !== p && q.image && q.time && p.time && q.time <= p.time) {
        parentImage = q.image;
        parentFrom = q.where;
      }
    } else if (p.parentCommandLine) {
      parentImage = imageOfCommandLine(p.parentCommandLine);
      if (parentImage) parentFrom = `the parent's command line (ParentInfo) at ${p.where}`;
    }
    const o = processObservation({ host: p.host, file, location: p.where }, { time: p.time, image: p.image, parentImage, commandLine: p.commandLine, processId: p.pid, parentProcessId: p.ppid, user: p.user, eventId: null, kind: `Velociraptor ${ARTIFACT[p.kind]}`, parentFrom });
    if (o) out.push(o);
  }
  return out;
}

// ---- evidence items ------------------------------------------------------------------------------------------------

interface HostRows {
  records: number;
  first: string | null;
  last: string | null;
  artifacts: Map<string, number>;
}

class RowTally {
  readonly perHost = new Map<string, HostRows>();

  add(host: string, artifact: string, time: string | null): void {
    let h = this.perHost.get(host);
    if (!h) this.perHost.set(host, (h = { records: 0, first: null, last: null, artifacts: new Map() }));
    h.records++;
    h.artifacts.set(artifact, (h.artifacts.get(artifact) ?? 0) + 1);
    if (time) {
      if (!h.first || time < h.first) h.first = time;
      if (!h.last || time > h.last) h.last = time;
    }
  }
}

/** Rows without a host go to the input's single named host, when there is exactly one (as HostTally does). */
function mergeAnonymous(items: EvidenceItem[]): EvidenceItem[] {
  const byHost = new Map<string, EvidenceItem>();
  for (const i of items) {
    const prev = byHost.get(i.host);
    if (!prev) {
      byHost.set(i.host, { ...i });
      continue;
    }
    prev.records += i.records;
    prev.detail = `${prev.detail}; ${i.detail}`;
    if (i.sources) prev.sources = [...new Set([...(prev.sources ?? []), ...i.sources])];
    if (i.first && (!prev.first || i.first < prev.first)) prev.first = i.first;
    if (i.last && (!prev.last || i.last > prev.last)) prev.last = i.last;
  }
  const named = [...byHost.keys()].filter((h) => h !== '');
  const anon = byHost.get('');
  if (anon && named.length === 1) {
    const h = byHost.get(named[0]!)!;
    byHost.delete('');
    h.records += anon.records;
    h.detail = `${h.detail}; ${anon.detail}`;
    if (anon.sources) h.sources = [...new Set([...(h.sources ?? []), ...anon.sources])];
    if (anon.first && (!h.first || anon.first < h.first)) h.first = anon.first;
    if (anon.last && (!h.last || anon.last > h.last)) h.last = anon.last;
  }
  return [...byHost.values()];
}

// ---- the adapter ----------------------------------------------------------------------------------------------------

async function observe(input: EvidenceInput, ctx: ObserveContext): Promise<ObserveResult> {
  const file = input.name;
  const observations: Observation[] = [];
  const tally = new RowTally();
  const sinks = new Map<string, EventRecordSink>();
  const permanent = new Map<string, { r: RowAt; host: string; namespaces: string[]; also: string[] }>();
  let unnamed = 0;
  const eventArtifacts = new Set<string>();
  let unknown = 0;
  let firstUnknown = '';
  let eventless = 0;
  let notSubscription = 0;
  const procs: ProcRow[] = [];
  let procsOver = 0;
  for await (const r of readRows(input, ctx.notes)) {
    const kind = rowKind(Object.keys(r.row));
    if (!kind) {
      if (!unknown++) firstUnknown = r.where;
      continue;
    }
    const host = rowHost(r.row, ctx);
    if (kind === 'permanent') {
      // the same objects listed under several namespaces: see below
      const key = `${host}\u0000${JSON.stringify(col(r.row, 'FilterDetails') ?? null)}\u0000${JSON.stringify(col(r.row, 'ConsumerDetails') ?? null)}`;
      const ns = str(col(r.row, 'Namespace'));
      const g = permanent.get(key);
      if (!g) permanent.set(key, { r, host, namespaces: ns ? [normalizeNamespace(ns)] : [], also: [] });
      else {
        if (ns && !g.namespaces.some((x) => x.toLowerCase() === normalizeNamespace(ns).toLowerCase())) g.namespaces.push(normalizeNamespace(ns));
        g.also.push(r.where);
      }
      tally.add(host, ARTIFACT.permanent, null);
    } else if (kind === 'trace') {
      const obs = traceRow(r, host, file);
      if (obs) observations.push(...obs);
      else notSubscription++;
      tally.add(host, ARTIFACT.trace, isoTime(str(col(r.row, 'EventTime'))));
    } else if (kind === 'autoruns') {
      const res = autorunsRowObservations(r.row, host, file, r.where);
      if (res.some((o) => o.name === null)) unnamed++;
      observations.push(...res.filter((o) => o.name !== null));
      tally.add(host, ARTIFACT.autoruns, autorunsTime(str(col(r.row, 'Time')) ?? ''));
    } else if (kind === 'collection') {
      collectionRow(r, file, ctx.notes);
      // the client answered: it is a host even when nothing it sent is readable (coverage then calls it blind)
      tally.add(host, ARTIFACT.collection, null);
    } else if (kind === 'pslist' || kind === 'processCreation') {
      const p = procRow(r, host, kind);
      if (procs.length < MAX_PROCESS_ROWS) procs.push(p);
      else procsOver++;
      tally.add(host, ARTIFACT[kind], p.time);
    } else {
      // a hunt row belongs to its client (as every other row of the hunt); else the record's Computer
      const record = kind === 'evtx' ? evtxRowToRecord(r.row, host || null) : hunterRowToRecord(r.row, host || null);
      let sink = sinks.get(host);
      if (!sink) sinks.set(host, (sink = new EventRecordSink(file, 'velociraptor', host || undefined, ctx.sigma)));
      if (!record || !sink.add(record, eventLocation(r, r.row, record))) {
        eventless++;
        continue;
      }
      eventArtifacts.add(ARTIFACT[kind]);
    }
  }
  // PermanentWMIEvents looks every binding's objects up once per queried namespace and labels the row with that
  // namespace; a binding whose references name their namespace (\\.\root\subscription:…) is found in every
  // iteration, so the same objects come back under each namespace. Which one holds them is then unknown.
  let ambiguous = 0;
  for (const g of permanent.values()) {
    if (g.namespaces.length > 1) ambiguous++;
    observations.push(...permanentRow(g.r, g.host, file, g.namespaces, g.also));
  }
  observations.push(...processRows(procs, file));
  if (procsOver) ctx.notes.add({ file, level: 'warning', code: 'over-limit', message: `${procsOver} process row(s) past the first ${MAX_PROCESS_ROWS} were not read` });
  if (ambiguous) ctx.notes.add({ file, level: 'warning', code: 'assumption', message: `${ambiguous} ${ARTIFACT.permanent} subscription(s) were listed under several namespaces (the artifact repeats a binding whose references carry a namespace); their namespace is left unknown` });
  if (unknown) ctx.notes.add({ file, level: 'warning', code: 'ignored', message: `${unknown} row(s) of no Velociraptor artifact wmiscope reads were skipped (first: ${firstUnknown})` });
  if (eventless) ctx.notes.add({ file, level: 'warning', code: 'damaged', message: `${eventless} event row(s) without System/EventID were skipped` });
  if (notSubscription) ctx.notes.add({ file, level: 'warning', code: 'ignored', message: `${notSubscription} ${ARTIFACT.trace} row(s) whose Operation is not a put/delete of an object path were skipped` });
  if (unnamed) ctx.notes.add({ file, level: 'warning', code: 'damaged', message: `${unnamed} ${ARTIFACT.autoruns} WMI row(s) name a consumer class but no consumer name; not joinable, left out` });
  const prefix = eventArtifacts.size ? `Velociraptor ${[...eventArtifacts].join(' + ')} rows: ` : '';
  const events = [...sinks.values()].map((s) => s.result(prefix, ctx.notes));
  const rowItems: EvidenceItem[] = [...tally.perHost].map(([host, h]) => ({
    file,
    kind: 'velociraptor',
    host,
    detail: `Velociraptor ${[...h.artifacts].map(([a, n]) => `${a} (${n} row${n === 1 ? '' : 's'})`).join(', ')}`,
    sources: [...h.artifacts.keys()].flatMap((a): SourceKind[] => (a === ARTIFACT.permanent ? ['velociraptor'] : a === ARTIFACT.trace ? ['wmi-trace'] : a === ARTIFACT.autoruns ? ['autoruns'] : [])),
    records: h.records,
    first: h.first,
    last: h.last,
  }));
  for (const e of events) observations.push(...e.observations);
  const items = mergeAnonymous([...rowItems, ...events.flatMap((e) => e.items)]);
  const logs: LogSummary[] = events.flatMap((e) => e.logs);
  const sigmaHits = events.flatMap((e) => e.sigmaHits ?? []);
  return { observations, items, logs, ...(ctx.sigma ? { sigmaHits } : {}) };
}

export const velociraptorAdapter: Adapter = { format: 'velociraptor', detect, observe };

export const adapters: Adapter[] = [velociraptorAdapter];
