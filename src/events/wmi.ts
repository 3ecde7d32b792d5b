/**
 * Typed views of rendered event records (the JSON shape of `wmiscope/evtx`) for WMI subscription evidence:
 * Sysmon 19/20/21, WMI-Activity 5857–5861, and PowerShell 800/4103/4104 commands that create subscriptions.
 * Field layouts: shared/reference/wmi-tradecraft.md §2–3. Imports only types from the EVTX layer.
 */
import type { EvtxJsonObject, EvtxValue } from '../evtx/types.js';
import { parseMofInstances, unquoteSysmon } from './normalize.js';
import type { MofInstance } from './normalize.js';
import { normalizeNamespace, parseObjectRef, sidFromByteArray } from '../model/wmi.js';
import type { ObjectRef } from '../model/wmi.js';
import { MAX_TEXT, inRanges, nonCode, powershellUserFromText, reconstructFromBindings, temporaryFromBindings, temporaryFromScript } from './powershell.js';
import { reconstructPowerShell } from './psframeworks.js';
import type { ReconstructedObject, TemporarySubscription } from './powershell.js';

/** System fields every view carries. */
export interface EventHeader {
  eventId: number;
  channel: string | null;
  provider: string | null;
  computer: string | null;
  /** TimeCreated SystemTime as rendered. */
  time: string | null;
  /** System/EventRecordID. */
  recordId: number | null;
}

function obj(v: EvtxValue | undefined): EvtxJsonObject | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as EvtxJsonObject) : null;
}

function text(v: EvtxValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const o = obj(v);
  if (o && '#text' in o) return text(o['#text']);
  return null;
}

function num(v: EvtxValue | undefined): number | null {
  const t = text(v);
  if (t === null) return null;
  const n = /^0x[0-9a-f]+$/i.test(t.trim()) ? parseInt(t.trim(), 16) : Number(t.trim());
  return Number.isFinite(n) ? n : null;
}

/** The header of a rendered record, or null when it has no `Event/System`. */
export function eventHeader(record: EvtxJsonObject): EventHeader | null {
  const ev = obj(record['Event']);
  const sys = ev ? obj(ev['System']) : null;
  if (!ev || !sys) return null;
  const id = num(sys['EventID']);
  if (id === null) return null;
  const provider = obj(sys['Provider']);
  const tc = obj(sys['TimeCreated']);
  return {
    eventId: id,
    channel: text(sys['Channel']),
    provider: provider ? text(obj(provider['#attributes'])?.['Name']) : null,
    computer: text(sys['Computer']),
    time: tc ? text(obj(tc['#attributes'])?.['SystemTime']) : null,
    recordId: num(sys['EventRecordID']),
  };
}

function eventData(record: EvtxJsonObject): EvtxJsonObject | null {
  return obj(obj(record['Event'])?.['EventData']);
}

/** The payload element under UserData (or, as in some recovered records, directly under Event). */
function userData(record: EvtxJsonObject, element: string): EvtxJsonObject | null {
  const ev = obj(record['Event']);
  if (!ev) return null;
  return obj(obj(ev['UserData'])?.[element]) ?? obj(ev[element]);
}

// ---- Sysmon 19/20/21 -------------------------------------------------------------------------------------

export type SubscriptionPart = 'filter' | 'consumer' | 'binding';

export interface SysmonWmiEvent extends EventHeader {
  source: 'sysmon';
  part: SubscriptionPart;
  /** Created, Modified, Deleted (as logged). */
  operation: string;
  /** UtcTime field, as logged (`YYYY-MM-DD HH:MM:SS.mmm`). */
  utcTime: string | null;
  user: string | null;
  ruleName: string | null;
  /** 19: EventNamespace (normalized); 20/21: Sysmon logs only root\subscription. */
  eventNamespace: string | null;
  /** 19/20: Name, unquoted. */
  name: string | null;
  /** 19: Query. */
  query: string | null;
  /** 20: `Command Line` or `Script`. */
  consumerType: string | null;
  /** 20: command line or script text, unquoted. */
  destination: string | null;
  /** 21: the consumer and filter references, parsed and as logged (object paths, unquoted). */
  consumer: ObjectRef | null;
  filter: ObjectRef | null;
  consumerPath: string | null;
  filterPath: string | null;
  /** Every EventData field as logged. */
  raw: Record<string, string | null>;
}

const SYSMON_PROVIDER = 'microsoft-windows-sysmon';

/** A Sysmon 19/20/21 record as a typed event, values normalized; null for anything else. */
export function sysmonWmiEvent(record: EvtxJsonObject): SysmonWmiEvent | null {
  const h = eventHeader(record);
  if (!h || (h.eventId !== 19 && h.eventId !== 20 && h.eventId !== 21)) return null;
  if (h.provider && h.provider.toLowerCase() !== SYSMON_PROVIDER) return null;
  const ed = eventData(record);
  if (!ed) return null;
  const raw: Record<string, string | null> = {};
  for (const k of Object.keys(ed)) raw[k] = text(ed[k]);
  const get = (k: string): string | null => (raw[k] === undefined || raw[k] === null ? null : unquoteSysmon(raw[k]!));
  const ref = (k: string): ObjectRef | null => {
    const v = get(k);
    return v ? parseObjectRef(v) : null;
  };
  const part: SubscriptionPart = h.eventId === 19 ? 'filter' : h.eventId === 20 ? 'consumer' : 'binding';
  const ns = get('EventNamespace');
  return {
    ...h,
    source: 'sysmon',
    part,
    operation: get('Operation') ?? '',
    utcTime: get('UtcTime'),
    user: get('User'),
    ruleName: get('RuleName'),
    eventNamespace: ns ? normalizeNamespace(ns) : null,
    name: get('Name'),
    query: get('Query'),
    consumerType: get('Type'),
    destination: get('Destination'),
    consumer: h.eventId === 21 ? ref('Consumer') : null,
    filter: h.eventId === 21 ? ref('Filter') : null,
    consumerPath: h.eventId === 21 ? get('Consumer') : null,
    filterPath: h.eventId === 21 ? get('Filter') : null,
    raw,
  };
}

// ---- process starts: Sysmon 1, Security 4688 ------------------------------------------------------------------

/** A process start (Sysmon 1 or Security 4688) as a typed event. */
export interface ProcessStartEvent extends EventHeader {
  source: 'sysmon' | 'security';
  /** The new process's image (Sysmon Image, 4688 NewProcessName). */
  image: string | null;
  commandLine: string | null;
  /** The parent's image when the record names it (Sysmon ParentImage, 4688 version 2 ParentProcessName). */
  parentImage: string | null;
  /** The new process's id and its parent's (4688 NewProcessId / ProcessId, hex in the record), when logged. */
  processId: number | null;
  parentProcessId: number | null;
  /**
   * The account the new process runs as: Sysmon `User`; 4688 version 2 `TargetDomainName\TargetUserName` when
   * logged, else `SubjectDomainName\SubjectUserName` (the account that created it, which versions 0 and 1 only name).
   */
  user: string | null;
}

const SECURITY_PROVIDER = 'microsoft-windows-security-auditing';

/** A field's text; an empty value and Windows' `-` placeholder say nothing (null). */
function field(ed: EvtxJsonObject, k: string): string | null {
  const t = text(ed[k]);
  if (t === null) return null;
  const s = t.trim();
  return s === '' || s === '-' ? null : t;
}

function account(domain: string | null, name: string | null): string | null {
  return name ? (domain ? `${domain}\\${name}` : name) : null;
}

/**
 * The new process's image, its parent's image (when the record names it) and its process id, read straight from a
 * Sysmon 1 or Security 4688 record's EventData: what a reader needs to pass over the many starts that concern no
 * subscription without reading the record whole ({@link processStartEvent}). Null when the record has no EventData.
 */
export function processStartNames(record: EvtxJsonObject): ProcessStartNames | null {
  const ed = eventData(record);
  return ed ? processStartNamesIn(ed) : null;
}

/** The image, parent image and process id of {@link processStartNames}, from a Sysmon 1 or Security 4688 record's EventData. */
export interface ProcessStartNames {
  image: string | null;
  parentImage: string | null;
  processId: number | null;
}

/** The EventData fields {@link processStartNamesIn} reads (of Sysmon 1 and of Security 4688). */
export const PROCESS_START_NAME_FIELDS: ReadonlySet<string> = new Set(['Image', 'ParentImage', 'ProcessId', 'NewProcessName', 'ParentProcessName', 'NewProcessId']);

/** {@link processStartNames} from the record's EventData object (as a reader may get it without rendering the record; the {@link PROCESS_START_NAME_FIELDS} suffice). */
export function processStartNamesIn(ed: EvtxJsonObject): ProcessStartNames {
  const sysmon = ed['Image'] !== undefined;
  return { image: field(ed, sysmon ? 'Image' : 'NewProcessName'), parentImage: field(ed, sysmon ? 'ParentImage' : 'ParentProcessName'), processId: num(ed[sysmon ? 'ProcessId' : 'NewProcessId']) };
}

/**
 * A Sysmon 1 or Security 4688 record as a typed event (provider checked when the record names one); null for anything
 * else. Runs for every process start of a log: built field by field, with no closures or spreads.
 */
export function processStartEvent(record: EvtxJsonObject): ProcessStartEvent | null {
  const h = eventHeader(record);
  if (!h || (h.eventId !== 1 && h.eventId !== 4688)) return null;
  const sysmon = h.eventId === 1;
  if (h.provider && h.provider.toLowerCase() !== (sysmon ? SYSMON_PROVIDER : SECURITY_PROVIDER)) return null;
  const ed = eventData(record);
  if (!ed) return null;
  return {
    eventId: h.eventId,
    channel: h.channel,
    provider: h.provider,
    computer: h.computer,
    time: h.time,
    recordId: h.recordId,
    source: sysmon ? 'sysmon' : 'security',
    image: field(ed, sysmon ? 'Image' : 'NewProcessName'),
    commandLine: field(ed, 'CommandLine'),
    parentImage: field(ed, sysmon ? 'ParentImage' : 'ParentProcessName'),
    processId: num(ed[sysmon ? 'ProcessId' : 'NewProcessId']),
    parentProcessId: num(ed[sysmon ? 'ParentProcessId' : 'ProcessId']),
    user: sysmon ? field(ed, 'User') : (account(field(ed, 'TargetDomainName'), field(ed, 'TargetUserName')) ?? account(field(ed, 'SubjectDomainName'), field(ed, 'SubjectUserName'))),
  };
}

// ---- WMI-Activity 5857–5861 --------------------------------------------------------------------------------

const WMI_PROVIDER = 'microsoft-windows-wmi-activity';

export interface WmiActivityEvent extends EventHeader {
  source: 'wmi-activity';
  /** The UserData fields as logged. */
  fields: Record<string, string | null>;
  /** 5857: the provider that was loaded (e.g. CommandLineEventConsumer) and its DLL. */
  providerName?: string | null;
  providerPath?: string | null;
  /** 5859/5860/5861: the namespace (normalized). */
  namespace?: string | null;
  /** 5859/5860: the notification query. */
  query?: string | null;
  /** 5861: filter name (ESS), consumer reference (`CommandLineEventConsumer="X"`) and the MOF objects of PossibleCause. */
  filterName?: string | null;
  consumer?: ObjectRef | null;
  /** 5861: the CONSUMER field as logged (an object path). */
  consumerPath?: string | null;
  filterInstance?: MofInstance | null;
  consumerInstance?: MofInstance | null;
  /** CreatorSID of the filter / consumer in 5861, as SIDs. */
  filterCreatorSid?: string | null;
  consumerCreatorSid?: string | null;
}

const WMI_ELEMENTS: Record<number, string> = {
  5857: 'Operation_StartedOperational',
  5858: 'Operation_ClientFailure',
  5859: 'Operation_EssStarted',
  5860: 'Operation_TemporaryEssStarted',
  5861: 'Operation_ESStoConsumerBinding',
};

/** A WMI-Activity 5857–5861 record as a typed event; null for anything else. */
export function wmiActivityEvent(record: EvtxJsonObject): WmiActivityEvent | null {
  const h = eventHeader(record);
  if (!h || !(h.eventId in WMI_ELEMENTS)) return null;
  if (h.provider && h.provider.toLowerCase() !== WMI_PROVIDER) return null;
  const el = userData(record, WMI_ELEMENTS[h.eventId]!);
  if (!el) return null;
  const fields: Record<string, string | null> = {};
  for (const k of Object.keys(el)) if (k !== '#attributes') fields[k] = text(el[k]);
  const f = (...names: string[]): string | null => {
    for (const n of names) {
      const k = Object.keys(fields).find((x) => x.toLowerCase() === n.toLowerCase());
      if (k && fields[k] !== null) return fields[k]!;
    }
    return null;
  };
  const out: WmiActivityEvent = { ...h, source: 'wmi-activity', fields };
  if (h.eventId === 5857) {
    out.providerName = f('ProviderName');
    out.providerPath = f('ProviderPath');
  }
  if (h.eventId >= 5859) {
    const ns = f('NamespaceName', 'Namespace');
    out.namespace = ns ? normalizeNamespace(ns) : null;
    out.query = f('Query');
  }
  if (h.eventId === 5861) {
    out.filterName = f('ESS');
    const c = f('CONSUMER');
    out.consumerPath = c;
    out.consumer = c ? parseObjectRef(c) : null;
    const mof = parseMofInstances(f('PossibleCause') ?? '');
    out.filterInstance = mof.find((m) => m.className.toLowerCase() === '__eventfilter') ?? null;
    out.consumerInstance = mof.find((m) => m.className.toLowerCase() !== '__eventfilter') ?? null;
    out.filterCreatorSid = sidFromByteArray(out.filterInstance?.properties['CreatorSID']);
    out.consumerCreatorSid = sidFromByteArray(out.consumerInstance?.properties['CreatorSID']);
  }
  return out;
}

// ---- PowerShell 800/4103/4104 --------------------------------------------------------------------------------

export interface PowerShellWmiEvidence extends EventHeader {
  source: 'powershell';
  /** The cmdlet or technique seen: Set-WmiInstance, New-CimInstance, Register-WmiEvent, [wmiclass], mofcomp. */
  technique: string;
  /** A subscription class named in the text (__EventFilter, …EventConsumer, __FilterToConsumerBinding). */
  className: string | null;
  /** The -Namespace argument, normalized. */
  namespace: string | null;
  /** The text the evidence was found in (script block, pipeline details or command line). */
  text: string;
}

/**
 * The commands that create subscription objects, as they must stand in the text: the cmdlets and the `[wmiclass]`
 * cast (with a `CreateInstance()`: a cast alone reads a class) in code, not in a comment or a string (a mention: help
 * text, a detection script's pattern, a message); `mofcomp` in code or as the end of a quoted path (`& "…\mofcomp.exe"`).
 * Only a 4104 script block is read so; 800/4103 details are matched anywhere.
 */
const TECHNIQUES: Array<[string, RegExp, 'code' | 'program', RegExp?]> = [
  ['Set-WmiInstance', /\bSet-WmiInstance\b/gi, 'code'],
  ['New-CimInstance', /\bNew-CimInstance\b/gi, 'code'],
  ['Register-WmiEvent', /\bRegister-WmiEvent\b/gi, 'code'],
  ['Register-CimIndicationEvent', /\bRegister-CimIndicationEvent\b/gi, 'code'],
  ['[wmiclass]', /\[wmiclass\]/gi, 'code', /\.CreateInstance\s*\(/gi],
  ['mofcomp', /\bmofcomp(\.exe)?\b/gi, 'program'],
];

/**
 * Whether `re` (global) matches `t` outside the non-code ranges, or (`program`) as the end of a quoted string (a
 * program's path); at most 64 matches looked at.
 */
function matchesOutside(t: string, re: RegExp, ranges: () => Array<[number, number]>, program = false): boolean {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  for (let n = 0; n < 64 && (m = re.exec(t)); n++) {
    if (!inRanges(ranges(), m.index)) return true;
    const next = t[m.index + m[0].length];
    if (program && (next === '"' || next === "'") && !inRanges(ranges(), m.index + m[0].length + 1)) return true;
  }
  return false;
}
const SUB_CLASS = /\b(__EventFilter|__FilterToConsumerBinding|[A-Za-z_]*EventConsumer)\b/;

/** WMI subscription creation in a PowerShell 800/4103/4104 record; null when the text shows none. */
export function powershellWmiEvidence(record: EvtxJsonObject): PowerShellWmiEvidence[] {
  const h = eventHeader(record);
  if (!h || ![800, 4103, 4104].includes(h.eventId)) return [];
  const ed = eventData(record);
  if (!ed) return [];
  const texts: string[] = [];
  const collect = (v: EvtxValue | undefined): void => {
    if (typeof v === 'string') texts.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) collect((v as EvtxJsonObject)[k]);
  };
  collect(ed);
  // one item per (technique, class, namespace): 800/4103 repeat the command in several Data fields
  const out = new Map<string, PowerShellWmiEvidence>();
  for (const t0 of texts) {
    const t = t0.length > MAX_TEXT ? t0.slice(0, MAX_TEXT) : t0;
    let code: Array<[number, number]> | null = null;
    // 800/4103 pipeline details are a log's lines, not script: only a 4104 script block is read as code
    const script = h.eventId === 4104;
    const codeRanges = (): Array<[number, number]> => (script ? (code ??= nonCode(t)) : []);
    for (const [technique, re, where, also] of TECHNIQUES) {
      if (!matchesOutside(t, re, codeRanges, where === 'program') || (also && !matchesOutside(t, also, codeRanges))) continue;
      const cls = SUB_CLASS.exec(t);
      if (!cls && technique !== 'mofcomp') continue;
      const ns = /-Namespace\s+["']?([^\s"';|)]+)/i.exec(t) ?? /name="Namespace";\s*value="([^"]+)"/i.exec(t);
      const item: PowerShellWmiEvidence = { ...h, source: 'powershell', technique, className: cls ? cls[1]! : null, namespace: ns ? normalizeNamespace(ns[1]!) : null, text: t };
      const key = `${technique}|${item.className}|${item.namespace}`;
      const prev = out.get(key);
      if (!prev || (prev.namespace === null && item.namespace !== null)) out.set(key, item);
      break;
    }
  }
  return [...out.values()];
}

/**
 * A text that could register anything: every shape the reconstruction reads names WMI, CIM or MOF (cmdlets, classes,
 * `mofcomp`, SharpSploit's `Persistence.WMI`, PowerLurk's `…WmiEvent`), `System.Management`, the subscription classes,
 * or PowerSploit's `…Persistence…` (every technique {@link powershellWmiEvidence} reads names one too); most script
 * blocks skip the reconstruction.
 */
const MAY_REGISTER = /wmi|cim|mof|management|persistence|eventfilter|eventconsumer/i;
const mayRegister = (t: string): boolean => MAY_REGISTER.test(t);

/** One part of a PowerShell 4104 script block logged over several records (MessageNumber of MessageTotal). */
export interface ScriptBlockPart {
  id: string;
  number: number;
  total: number;
  text: string;
}

/** Most parts a script block is taken to have (MessageTotal is read from the record: a larger one is not joined). */
export const MAX_SCRIPT_BLOCK_PARTS = 256;

/**
 * The part a 4104 record holds of a script block split over several records (`MessageNumber` of `MessageTotal`, same
 * `ScriptBlockId`); null for any other record, a block of one part, or numbers out of bounds.
 */
export function scriptBlockPart(record: EvtxJsonObject): ScriptBlockPart | null {
  const h = eventHeader(record);
  if (!h || h.eventId !== 4104) return null;
  const ed = eventData(record);
  return ed ? scriptBlockPartIn(ed) : null;
}

/** {@link scriptBlockPart} from a 4104 record's EventData object. */
export function scriptBlockPartIn(ed: EvtxJsonObject): ScriptBlockPart | null {
  const number = num(ed['MessageNumber']);
  const total = num(ed['MessageTotal']);
  const id = text(ed['ScriptBlockId']);
  const t = text(ed['ScriptBlockText']);
  if (number === null || total === null || !id || t === null) return null;
  if (!Number.isSafeInteger(number) || !Number.isSafeInteger(total) || total < 2 || total > MAX_SCRIPT_BLOCK_PARTS || number < 1 || number > total) return null;
  return { id, number, total, text: t };
}

/** A copy of a 4104 record holding `text` as the whole script block (MessageNumber 1 of 1). */
export function withScriptBlockText(record: EvtxJsonObject, text: string): EvtxJsonObject {
  const ev = obj(record['Event'])!;
  const ed = { ...eventData(record)!, ScriptBlockText: text, MessageNumber: 1, MessageTotal: 1 } as EvtxJsonObject;
  return { ...record, Event: { ...ev, EventData: ed } } as EvtxJsonObject;
}

/**
 * Whether any text of a PowerShell record could show a subscription (created, temporary or mentioned): one scan of
 * each text, so that the many script blocks that name no WMI are passed over before the readers above scan them.
 */
export function powershellMayShowWmi(record: EvtxJsonObject): boolean {
  return powershellTexts(record).some(mayRegister);
}

/** {@link powershellMayShowWmi} from the record's EventData object. */
export function powershellEventDataMayShowWmi(ed: EvtxJsonObject): boolean {
  return powershellTextsIn(ed).some(mayRegister);
}

/** Subscription objects reconstructed from the literals of a PowerShell 800/4103/4104 record's text (see `powershell.ts`), once each, with the text each was read from. */
export function powershellReconstructed(record: EvtxJsonObject): Array<ReconstructedObject & { text: string }> {
  const h = eventHeader(record);
  if (!h || ![800, 4103, 4104].includes(h.eventId)) return [];
  const out = new Map<string, ReconstructedObject & { text: string }>();
  for (const t of powershellTexts(record)) {
    if (!mayRegister(t)) continue;
    for (const o of [...reconstructPowerShell(t), ...reconstructFromBindings(t)]) {
      const k = JSON.stringify([o.part, o.className, o.namespace, o.name, o.properties, o.computed, o.uncommitted ?? null, o.modifies ?? false]);
      if (!out.has(k)) out.set(k, { ...o, text: t });
    }
  }
  return [...out.values()];
}

/** Temporary subscriptions (Register-WmiEvent, Register-CimIndicationEvent) a PowerShell 800/4103/4104 record's text registers, once each. */
export function powershellTemporary(record: EvtxJsonObject): TemporarySubscription[] {
  const h = eventHeader(record);
  if (!h || ![800, 4103, 4104].includes(h.eventId)) return [];
  const out = new Map<string, TemporarySubscription>();
  for (const t of powershellTexts(record)) {
    if (!mayRegister(t)) continue;
    for (const x of [...temporaryFromScript(t), ...temporaryFromBindings(t)]) out.set(JSON.stringify(x), x);
  }
  return [...out.values()];
}

/** The PowerShell process that wrote a record (System/Execution ProcessID): the session its temporary subscriptions live in. */
export function powershellProcessId(record: EvtxJsonObject): number | null {
  const ex = obj(obj(obj(obj(record['Event'])?.['System'])?.['Execution'])?.['#attributes']);
  const pid = Number(text(ex?.['ProcessID']) ?? NaN);
  return Number.isSafeInteger(pid) && pid >= 0 ? pid : null;
}

/**
 * The user of a PowerShell record: 800 `UserId`, 4103 `User =`, else the record's security SID (`sid`, also given
 * beside a name so that a 4104 record's SID can be resolved to the name the host's other records pair it with).
 */
export function powershellUser(record: EvtxJsonObject): { user: string | null; sid: string | null } {
  const sec = obj(obj(obj(obj(record['Event'])?.['System'])?.['Security'])?.['#attributes']);
  const raw = text(sec?.['UserID'])?.trim();
  const sid = raw ? raw : null;
  return { user: powershellUserFromText(powershellTexts(record)) ?? sid, sid };
}

/** Every string of a record's EventData, in order (at most 64). */
function powershellTexts(record: EvtxJsonObject): string[] {
  return powershellTextsIn(eventData(record));
}

function powershellTextsIn(ed: EvtxJsonObject | null): string[] {
  const texts: string[] = [];
  const collect = (v: EvtxValue | undefined, depth: number): void => {
    if (texts.length >= 64 || depth > 8) return;
    if (typeof v === 'string') texts.push(v);
    else if (Array.isArray(v)) v.forEach((x) => collect(x, depth + 1));
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) collect((v as EvtxJsonObject)[k], depth + 1);
  };
  if (ed) collect(ed, 0);
  return texts;
}
