/**
 * Observations from one event record in the EVTX layer's JSON shape: Sysmon 1/19/20/21, WMI-Activity
 * 5857-5861, PowerShell 800/4103/4104, Security 4688. Every event source (EVTX, exports, Velociraptor rows) ends here.
 */
import type { EvtxJsonObject } from '../../evtx/index.js';
import { eventHeader, powershellEventDataMayShowWmi, powershellProcessId, powershellReconstructed, powershellMayShowWmi, powershellTemporary, powershellUser, powershellWmiEvidence, MAX_TEXT, processStartEvent, processStartNames, processStartNamesIn, scriptBlockPart, scriptBlockPartIn, sysmonWmiEvent, withScriptBlockText, wmiActivityEvent } from '../../events/index.js';
import type { ProcessStartEvent, ProcessStartNames } from '../../events/index.js';
import type { Observation, Part } from '../../model/types.js';
import { CONSUMER_CLASSES, normalizeNamespace } from '../../model/wmi.js';
import { objectPath, scriptBlockLocation } from '../../model/subscription.js';
import { canonicalTime, compareTimes } from '../../model/time.js';

type Values = Observation['properties'];

/** A MOF instance's properties (WMI-Activity 5861 PossibleCause) as observation properties: arrays joined with `, `. */
function mofProperties(props: Record<string, unknown>): Values {
  const d: Values = {};
  for (const [k, v] of Object.entries(props)) d[k] = Array.isArray(v) ? v.join(', ') : (v as string | number | boolean | null);
  return d;
}

function actionOf(op: string): Observation['action'] {
  const o = op.toLowerCase();
  return o === 'created' ? 'created' : o === 'deleted' ? 'deleted' : o === 'modified' ? 'modified' : 'mentioned';
}

/** `YYYY-MM-DD HH:MM:SS.mmm` (Sysmon UtcTime, milliseconds) → ISO-8601 UTC with seven fractional digits; null when not that shape. */
function sysmonUtc(t: string | null): string | null {
  if (!t) return null;
  return /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?$/.test(t.trim()) ? canonicalTime(t) : null;
}

function consumerClassOfType(type: string | null): string | null {
  if (!type) return null;
  const t = type.toLowerCase();
  return CONSUMER_CLASSES.find((c) => c.sysmonType?.toLowerCase() === t)?.className ?? null;
}

const PROCESS = /(^|\\)(scrcons|wmiprvse|mofcomp)\.exe$/i;
/** The processes whose children a subscription's consumer may be: the command-line consumer runs under WmiPrvSE.exe. */
const PARENT = /(^|\\)(scrcons|wmiprvse)\.exe$/i;

/** A process start as any source gives it (a Sysmon 1 / 4688 record, a Velociraptor process row). */
export interface ProcessFacts {
  time: string | null;
  image: string | null;
  parentImage: string | null;
  commandLine: string | null;
  processId: number | null;
  parentProcessId: number | null;
  user: string | null;
  /** The record's event id (1, 4688); null for a row. */
  eventId: number | null;
  /** What a row is, when it is not an event record (`Velociraptor Windows.System.Pslist`): a run's `kind`. */
  kind: string | null;
  /** Where the parent's image comes from when the start itself does not name it. */
  parentFrom: string | null;
}

/**
 * The observation of a process start that matters for subscriptions — the consumer hosts (`scrcons.exe`,
 * `WmiPrvSE.exe`), their children, and `mofcomp.exe` — or null for any other process. The one place a process start
 * becomes an observation (the graph ties it: analysis/graph.ts).
 */
/** A start of a consumer host or of mofcomp, or a child of a consumer host: the starts a subscription can have run. */
function isProcessOfInterest(image: string | null, parentImage: string | null): boolean {
  return (image !== null && PROCESS.test(image.trim())) || (parentImage !== null && PARENT.test(parentImage.trim()));
}

export function processObservation(base: Pick<Observation, 'host' | 'file' | 'location'>, p: ProcessFacts): Observation | null {
  if (!isProcessOfInterest(p.image, p.parentImage)) return null;
  const meta: Values = { eventId: p.eventId, Image: p.image, ParentImage: p.parentImage, CommandLine: p.commandLine, ProcessId: p.processId, ParentProcessId: p.parentProcessId };
  if (p.parentFrom) meta['ParentFrom'] = p.parentFrom;
  if (p.kind) meta['RowKind'] = p.kind;
  return { ...base, source: 'process', action: 'executed', part: 'consumer', namespace: null, className: null, name: null, time: p.time, user: p.user, properties: {}, meta };
}

/**
 * The parent of a process start whose record names only the parent's process id (Security 4688 versions 0 and 1 have
 * no ParentProcessName): the latest earlier start of that process id on the same host in the same log, read in the
 * log's order. An EVTX log holds its records in the order they were written, and a process id is reused only by a
 * new start, which the log then holds too; so the latest earlier start of that id is the parent. Only WmiPrvSE.exe
 * and scrcons.exe starts are remembered (the parents that matter here); a start of any other image under the same id
 * forgets it. At most {@link ProcessParents.MAX} are kept (the oldest forgotten first): a parent forgotten is a
 * parent not named, never a wrong one.
 */
export class ProcessParents {
  static readonly MAX = 4096;
  private readonly byPid = new Map<string, { image: string; time: string | null; where: string }>();

  /** A start of an image that is no parent here, under `processId`: that id no longer names a remembered parent. */
  forget(host: string, processId: number): void {
    if (this.byPid.size) this.byPid.delete(`${host.toLowerCase()}|${processId}`);
  }

  /** Remember `e` (a start in log order) and return its parent's image and record when the log shows it. */
  see(host: string, e: ProcessStartEvent, where: string): { image: string; where: string } | null {
    const key = (pid: number): string => `${host.toLowerCase()}|${pid}`;
    let found: { image: string; where: string } | null = null;
    if (e.parentProcessId !== null) {
      const p = this.byPid.get(key(e.parentProcessId));
      // a parent that started after its child is not the parent (a log not in time order)
      if (p && !(p.time && e.time && compareTimes(e.time, p.time) < 0)) found = { image: p.image, where: p.where };
    }
    if (e.processId !== null) {
      const k = key(e.processId);
      this.byPid.delete(k);
      if (e.image && PARENT.test(e.image)) {
        this.byPid.set(k, { image: e.image, time: e.time, where });
        if (this.byPid.size > ProcessParents.MAX) this.byPid.delete(this.byPid.keys().next().value!);
      }
    }
    return found;
  }
}

/** A record to read, where it is, and the host it was read for. */
export interface ScriptBlockRecord {
  json: EvtxJsonObject;
  where: string;
  host: string;
}

/**
 * PowerShell logs a long script block as several 4104 records (`MessageNumber` 1…`MessageTotal`, one
 * `ScriptBlockId`), cut at a fixed length wherever it falls, inside a string too: read part by part, a subscription's
 * arguments cut in two would be lost. The parts are held until the block is whole, then read as one record (cited
 * by its first part's record, with the records of the others). A block never completed (a part overwritten or
 * filtered out) is read part by part at the end, as each part stands. Bounded: at most {@link MAX_PENDING} blocks
 * wait (the oldest is then read part by part), and a block is joined only while its text fits what the reconstruction
 * reads ({@link MAX_JOINED} characters); a longer one is read part by part.
 */
export class ScriptBlocks {
  static readonly MAX_PENDING = 64;
  // the reconstruction reads this much of a text: a longer block is read part by part, so that no part goes unread
  static readonly MAX_JOINED = MAX_TEXT;
  private readonly pending = new Map<string, { parts: Map<number, ScriptBlockRecord & { text: string }>; total: number; chars: number }>();

  /**
   * The records to read for `json`: itself when it is no part of a split block; nothing while its block waits for
   * parts; the joined block when this part completes it (plus, when a wait was given up, that block's parts).
   */
  take(json: EvtxJsonObject, where: string, host: string): ScriptBlockRecord[] {
    const part = scriptBlockPart(json);
    if (!part) return [{ json, where, host }];
    const key = `${host.toLowerCase()}|${part.id.toLowerCase()}|${part.total}`;
    let block = this.pending.get(key);
    const out: ScriptBlockRecord[] = [];
    if (!block) {
      if (this.pending.size >= ScriptBlocks.MAX_PENDING) out.push(...this.giveUp(this.pending.keys().next().value!));
      block = { parts: new Map(), total: part.total, chars: 0 };
      this.pending.set(key, block);
    }
    // a number logged twice: the block is not one script block's parts in order; read what it holds as it stands
    if (block.parts.has(part.number) || block.chars + part.text.length > ScriptBlocks.MAX_JOINED) {
      out.push(...this.giveUp(key), { json, where, host });
      return out;
    }
    block.parts.set(part.number, { json, where, host, text: part.text });
    block.chars += part.text.length;
    if (block.parts.size < block.total) return out;
    this.pending.delete(key);
    const parts = [...block.parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    const first = parts[0]!;
    out.push({ json: withScriptBlockText(first.json, parts.map((p) => p.text).join('')), host, where: scriptBlockLocation(first.where, parts.slice(1).map((p) => p.where)) });
    return out;
  }

  /** The parts of the blocks never completed, each to be read as it stands (call once, at the end of the log). */
  rest(): ScriptBlockRecord[] {
    return [...this.pending.keys()].flatMap((k) => this.giveUp(k));
  }

  private giveUp(key: string): ScriptBlockRecord[] {
    const block = this.pending.get(key);
    this.pending.delete(key);
    return block ? [...block.parts.values()].map((p) => ({ json: p.json, where: p.where, host: p.host })) : [];
  }
}

/**
 * The observations of one record. `parents`, when the caller reads a log in its written order (an EVTX file), names
 * the parent of a Security 4688 start that logs only the parent's process id.
 */
export function fromRecord(json: EvtxJsonObject, host: string, file: string, location: string, parents?: ProcessParents): Observation[] {
  const base = { host, file, location };
  // one read of the event id sends the record to the one reader of its kind (this runs for every record kept)
  const eventId = eventHeader(json)?.eventId ?? null;
  if (eventId === 1 || eventId === 4688) return processStart(json, base, parents);
  const s = sysmonWmiEvent(json);
  if (s) {
    const part: Part = s.part;
    // Sysmon's own fields (event id, Operation, RuleName, consumer Type) describe the record, not the object
    const meta: Values = { eventId: s.eventId, operation: s.operation, ruleName: s.ruleName };
    const properties: Values = {};
    let className: string | null = null;
    let namespace = 'ROOT\\subscription'; // Sysmon logs subscriptions of root\subscription only
    if (part === 'filter') {
      className = '__EventFilter';
      properties['Query'] = s.query;
      properties['EventNamespace'] = s.eventNamespace;
    } else if (part === 'consumer') {
      className = consumerClassOfType(s.consumerType);
      meta['Type'] = s.consumerType;
      properties[className === 'ActiveScriptEventConsumer' ? 'ScriptText' : 'CommandLineTemplate'] = s.destination;
    } else {
      className = '__FilterToConsumerBinding';
      // the binding's references as logged (object paths), so the consumer's class travels with its name
      properties['Filter'] = s.filterPath;
      properties['Consumer'] = s.consumerPath;
      if (s.consumer?.namespace) namespace = s.consumer.namespace;
    }
    return [{ ...base, source: 'sysmon', action: actionOf(s.operation), part, namespace, className, name: part === 'binding' ? null : s.name, time: sysmonUtc(s.utcTime) ?? s.time, user: s.user, properties, meta }];
  }
  const w = wmiActivityEvent(json);
  if (w) {
    const out: Observation[] = [];
    const time = w.time;
    const user = w.fields['User'] ?? null;
    if (w.eventId === 5861) {
      const ns = w.namespace ?? null;
      const fi = w.filterInstance;
      const ci = w.consumerInstance;
      const consumerClass = ci?.className ?? w.consumer?.className ?? null;
      const consumerName = (ci?.properties['Name'] as string | undefined) ?? w.consumer?.name ?? null;
      // the binding's Consumer property as logged (`CommandLineEventConsumer="X"`), else the path of the consumer
      // the MOF text shows; of the filter 5861 gives only the name
      const consumerRef = w.consumerPath ?? (consumerName !== null && consumerClass ? objectPath(consumerClass, consumerName) : consumerName);
      out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'binding', namespace: ns, className: '__FilterToConsumerBinding', name: null, time, user, properties: { Filter: w.filterName ?? null, Consumer: consumerRef }, meta: { eventId: 5861, PossibleCause: w.fields['PossibleCause'] ?? null } });
      if (fi) out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'filter', namespace: ns, className: '__EventFilter', name: (fi.properties['Name'] as string) ?? w.filterName ?? null, time, user: w.filterCreatorSid ?? user, properties: mofProperties(fi.properties), meta: { eventId: 5861 } });
      if (ci) out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'consumer', namespace: ns, className: ci.className, name: consumerName, time, user: w.consumerCreatorSid ?? user, properties: mofProperties(ci.properties), meta: { eventId: 5861 } });
      return out;
    }
    if (w.eventId === 5859) return [{ ...base, source: 'wmi-activity', action: 'activated', part: 'filter', namespace: w.namespace ?? null, className: '__EventFilter', name: null, time, user, properties: { Query: w.query ?? null }, meta: { eventId: 5859, Provider: w.fields['Provider'] ?? null, PossibleCause: w.fields['PossibleCause'] ?? null } }];
    if (w.eventId === 5857 && /eventconsumer|scrcons|wbemcons/i.test(`${w.providerName ?? ''} ${w.providerPath ?? ''}`))
      return [{ ...base, source: 'wmi-activity', action: 'executed', part: 'consumer', namespace: null, className: w.providerName ?? null, name: null, time, user, properties: {}, meta: { eventId: 5857, ProviderName: w.providerName ?? null, ProviderPath: w.providerPath ?? null, HostProcess: w.fields['HostProcess'] ?? null } }];
    return [];
  }
  if ((eventId !== 800 && eventId !== 4103 && eventId !== 4104) || !powershellMayShowWmi(json)) return [];
  const ps = powershellWmiEvidence(json);
  const rebuilt = powershellReconstructed(json);
  const temporary = powershellTemporary(json);
  if (ps.length || rebuilt.length || temporary.length) {
    // the record's security SID travels in meta when the text names the user, so the graph can name a 4104's SID;
    // the PowerShell process (the session) so that a temporary subscription joins what the same session made
    const { user, sid } = powershellUser(json);
    const pid = powershellProcessId(json);
    const userSid: Values = { ...(sid !== null && sid !== user ? { UserSid: sid } : {}), ...(pid !== null ? { processId: pid } : {}) };
    const time = eventHeader(json)?.time ?? null;
    // objects rebuilt from the literals of the text: their names and values are what the script passed
    // an object the text builds without committing it is mentioned, not created (it makes no subscription of its own);
    // Set-CimInstance and Set-WmiInstance on a selected instance modify one
    const out: Observation[] = rebuilt.map((r) => ({ ...base, source: 'powershell', action: r.uncommitted ? 'mentioned' : r.modifies ? 'modified' : 'created', part: r.part, namespace: r.namespace, className: r.className, name: r.name, time, user, properties: { ...r.properties }, meta: { eventId, technique: r.technique, computedAtRunTime: r.computed.length ? r.computed.join(', ') : null, ...(r.uncommitted ? { notCreated: r.uncommitted } : {}), text: r.text.slice(0, 4000), ...userSid } }));
    // a temporary subscription is no WMI object: a mention of its query and action, tied to the session that made it
    for (const t of temporary)
      out.push({ ...base, source: 'powershell', action: 'mentioned', part: null, namespace: t.namespace === null ? null : normalizeNamespace(t.namespace), className: null, name: null, time, user, properties: {}, meta: { eventId, technique: t.technique, temporary: `temporary subscription: lives only in the PowerShell session that registered it${pid !== null ? ` (process ${pid})` : ''}, never in the repository; not persistence`, Query: t.query, SourceIdentifier: t.sourceIdentifier, Action: t.action, text: t.query ?? '', ...userSid } });
    const covered = (part: Part | null, cls: string | null): boolean => rebuilt.some((r) => r.part === part && r.className.toLowerCase() === (cls ?? '').toLowerCase());
    for (const p of ps) {
      const part: Part | null = p.className === '__EventFilter' ? 'filter' : p.className === '__FilterToConsumerBinding' ? 'binding' : p.className ? 'consumer' : null;
      if (covered(part, p.className)) continue;
      // a temporary subscription's query names classes (`… ISA '__EventConsumer'`) but creates none of them
      if (/^Register-(WmiEvent|CimIndicationEvent)$/.test(p.technique) && temporary.length) continue;
      // a literal Name in the arguments (`@{Name='x'; …}`), not the ParameterBinding lines (`name="Namespace"; value=…`)
      const name = /(?<![\w"])Name\s*=\s*(["'])([^"'$]+)\1(?!;\s*value=)/i.exec(p.text)?.[2] ?? null;
      // the command text names the object but gives no property values the analysis could trust: all of it is meta
      out.push({ ...base, source: 'powershell', action: 'created', part, namespace: p.namespace, className: p.className, name, time: p.time, user, properties: {}, meta: { eventId: p.eventId, technique: p.technique, text: p.text.slice(0, 4000), ...userSid } });
    }
    return out;
  }
  return [];
}

/** Process creation (Sysmon 1, Security 4688): the consumer hosts running, their children, or mofcomp. */
/** A start of nothing a subscription runs, told from its names alone: its process id is forgotten by `parents`. */
function passOverStart(names: ProcessStartNames, host: string, parents: ProcessParents | undefined): boolean {
  if (isProcessOfInterest(names.image, names.parentImage) || (names.parentImage === null && parents)) return false;
  if (names.processId !== null) parents?.forget(host, names.processId);
  return true;
}

/**
 * Whether {@link fromRecord} reads nothing of a record, told from its event id and its EventData object alone (as an
 * EVTX reader gets them from the record's template slots, without rendering it): a process start of nothing a
 * subscription runs (its process id is forgotten by `parents`, as fromRecord does), or a PowerShell record none of
 * whose texts can show WMI and that is no part of a split script block. False: the record is to be read whole.
 */
export function readsNothing(eventId: number | null, ed: EvtxJsonObject, host: string, parents?: ProcessParents): boolean {
  if (eventId === 1 || eventId === 4688) return passOverStart(processStartNamesIn(ed), host, parents);
  if (eventId === 800 || eventId === 4103) return !powershellEventDataMayShowWmi(ed);
  if (eventId === 4104) return scriptBlockPartIn(ed) === null && !powershellEventDataMayShowWmi(ed);
  return false;
}

function processStart(json: EvtxJsonObject, base: Pick<Observation, 'host' | 'file' | 'location'>, parents: ProcessParents | undefined): Observation[] {
  // most starts are of nothing a subscription runs, told from the two images alone: passed over without reading the
  // record whole; such a start only makes the parents forget its process id. A start that names no parent image may
  // be a WmiPrvSE.exe child known by the parent's id (4688 versions 0 and 1), so it is read whole.
  const names = processStartNames(json);
  if (names && passOverStart(names, base.host, parents)) return [];
  const pe = processStartEvent(json);
  if (!pe) return [];
  const from = parents?.see(base.host, pe, base.location) ?? null;
  const o = processObservation(base, { ...pe, parentImage: pe.parentImage ?? from?.image ?? null, parentFrom: from?.where ?? null, kind: null });
  return o ? [o] : [];
}

