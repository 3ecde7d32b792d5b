/**
 * One event record: the fields read from its template slots without rendering (EventID, Channel, Provider, Computer,
 * EventRecordID, TimeCreated, EventData), and its renderings (JSON, XML) on demand.
 */
import { filetimeIso, u16, u32 } from './bytes.js';
import { N_ELEM, N_INST, N_SUBST, N_TEXT, T_BINXML, decodeValue, isNested, parseNested } from './binxml.js';
import type { BxNode, ChunkCtx, ElemNode, FieldSource, InstNode, Template, Values } from './binxml.js';
import { MAX_RENDER_BYTES, MAX_RENDER_NODES, renderJson, renderXml, valueToString } from './render.js';
import { renderJsonBytes, renderJsonText } from './jsonplan.js';
import type { JsonBytes } from './jsonplan.js';
import type { RenderIssues } from './render.js';
import type { EvtxJsonObject, EvtxValue, EvtxWarning } from './types.js';

/** System fields used for filtering, read without rendering the record. */
export interface RecordKeyFields {
  eventId: number | null;
  qualifiers: number | null;
  channel: string | null;
  provider: string | null;
}

/**
 * The record's own identity, read from the template slots (or a template-less record's System element) without
 * rendering: `Computer`, `System/EventRecordID` (which exported and filtered logs keep while they renumber the record
 * header) and `TimeCreated@SystemTime` (the event's own time, not the header's written time). Null when absent.
 */
export interface RecordIdentity {
  computer: string | null;
  eventRecordId: number | null;
  timeCreated: string | null;
}

const NO_WARNINGS: readonly string[] = Object.freeze([]);

/** Records of one file that may use the whole rendering budget before the file's later records get a share of it. */
export const MAX_LIMITED_RECORDS = 16;
/** The share (1/N) of the rendering budget left to a record once its file has {@link MAX_LIMITED_RECORDS} over it. */
export const LIMITED_RECORD_SHARE = 100;

/** Shared by one file's records: where their file-level warnings go and how many ran out of rendering budget. */
export interface FileRenderState {
  warn(w: EvtxWarning): void;
  limited: number;
}

/** Warnings kept per record; past it one last entry counts the rest. */
const MAX_RECORD_WARNINGS = 16;
/** Warnings kept per file (in {@link EvtxReader.warnings}); past it they are counted (a `warnings-capped` warning). */
export const MAX_FILE_WARNINGS = 1000;

/** One event record. Cheap fields are read up front; the tree is rendered on demand. */
export class EvtxRecord implements RenderIssues {
  private notes: string[] | null = null;
  private notesNotKept = 0;
  private limited = false;
  /** Problems met while parsing or rendering this record (it was still rendered as far as possible). */
  get warnings(): readonly string[] {
    return this.notes ?? NO_WARNINGS;
  }
  /** Attach a problem to this record (once); renderers report what they could not render here. */
  addWarning(message: string): void {
    const n = (this.notes ??= []);
    if (n.includes(message)) return;
    if (n.length < MAX_RECORD_WARNINGS) n.push(message);
    else n[MAX_RECORD_WARNINGS] = `${++this.notesNotKept} more warning(s) for this record not kept`;
  }
  /**
   * The rendering budget ran out (see `MAX_RENDER_NODES` in render.ts) or templates nested too deeply: the record is
   * rendered truncated. It says so in {@link warnings} (`expansion-limit: …`) and, once, in its reader's warnings.
   */
  expansionLimit(why: string): void {
    if (this.limited) return;
    this.limited = true;
    this.addWarning(`expansion-limit: rendering stopped (${why}); the record is truncated`);
    if (this.file) this.file.limited++;
    this.file?.warn({
      code: 'expansion-limit',
      message: `record ${this.recordId} at file offset ${this.offset}: rendering stopped (${why}); the record is rendered truncated`,
      offset: this.offset,
      chunk: this.chunk,
      recordId: this.recordId,
    });
  }
  private keyFields: RecordKeyFields | null = null;
  private ident: RecordIdentity | null = null;
  private tc = 0; // TimeCreated as a FILETIME: 0 not read yet, 1 read (tcLo/tcHi), 2 not a FILETIME substitution
  private tcLo = 0;
  private tcHi = 0;

  constructor(
    private readonly ctx: ChunkCtx,
    private readonly nodes: BxNode[],
    /** Event record identifier as written in the record header. */
    readonly recordId: number,
    private readonly timeLo: number,
    private readonly timeHi: number,
    /** Chunk slot index (0-based). */
    readonly chunk: number,
    /** File offset of the record header. */
    readonly offset: number,
    /** Record size in bytes, as written in its header. */
    readonly size: number,
    /** True when the record was carved from slack (chunk free space or an unallocated slot). */
    readonly recovered: boolean,
    /** Its file's rendering state: where file-level warnings about this record go, and how many records ran out of budget. */
    private readonly file: FileRenderState | null = null,
  ) {}

  /**
   * The share of the rendering budget this record gets: all of it, or 1/{@link LIMITED_RECORD_SHARE} once
   * {@link MAX_LIMITED_RECORDS} records of its file ran out of it (a file of records that each expand to the limit
   * would otherwise cost about 10 ms per 100 bytes; the smaller budget is still ~5x the largest real record).
   */
  get renderScale(): number {
    return this.file !== null && this.file.limited >= MAX_LIMITED_RECORDS ? 1 / LIMITED_RECORD_SHARE : 1;
  }

  /** Written time from the record header, ISO-8601 UTC with 7 fractional digits. */
  get timestamp(): string {
    return filetimeIso(this.timeLo, this.timeHi);
  }

  /** Written time as the raw FILETIME integer (100 ns ticks since 1601-01-01 UTC). */
  get filetime(): bigint {
    return (BigInt(this.timeHi) << 32n) | BigInt(this.timeLo);
  }

  /** EventID, Qualifiers, Channel and Provider name, read from the template slots without rendering. */
  get fields(): RecordKeyFields {
    return (this.keyFields ??= keyFieldsOf(this.nodes));
  }
  /** EventID (from the record's template slot or literal text); null when the record has none. */
  get eventId(): number | null {
    if (this.keyFields) return this.keyFields.eventId;
    const first = this.nodes[0];
    if (first && first.k === N_INST && this.nodes.length === 1) return toInt(fieldValue(first.template.eventId, first.values));
    return this.fields.eventId;
  }
  get channel(): string | null {
    if (this.keyFields) return this.keyFields.channel;
    const first = this.nodes[0];
    if (first && first.k === N_INST && this.nodes.length === 1) return cachedString(first.template.channel, first.values, lastChannel);
    return this.fields.channel;
  }
  get provider(): string | null {
    if (this.keyFields) return this.keyFields.provider;
    const first = this.nodes[0];
    if (first && first.k === N_INST && this.nodes.length === 1) return cachedString(first.template.provider, first.values, lastProvider);
    return this.fields.provider;
  }

  /**
   * Read TimeCreated as a FILETIME from its template slot, without building a string: true when it is one, and then
   * {@link timeCreatedLo} / {@link timeCreatedHi} hold its halves (else use {@link identity}). For readers that compare
   * many times and print few.
   */
  readTimeCreatedFiletime(): boolean {
    if (this.tc === 0) {
      this.tc = 2;
      const first = this.nodes[0];
      const src = first && first.k === N_INST ? first.template.timeCreated : null;
      if (first && first.k === N_INST && src && 'index' in src) {
        const v = first.values;
        const i = src.index;
        if (i < v.count && v.buf[v.desc + 4 * i + 2] === 0x11 && u16(v.buf, v.desc + 4 * i) >= 8 && v.offsets[i]! + 8 <= v.buf.length) {
          this.tcLo = u32(v.buf, v.offsets[i]!);
          this.tcHi = u32(v.buf, v.offsets[i]! + 4);
          this.tc = 1;
        }
      }
    }
    return this.tc === 1;
  }

  /** Low 32 bits of TimeCreated's FILETIME (after {@link readTimeCreatedFiletime} returned true). */
  get timeCreatedLo(): number {
    return this.tcLo;
  }

  /** High 32 bits of TimeCreated's FILETIME (after {@link readTimeCreatedFiletime} returned true). */
  get timeCreatedHi(): number {
    return this.tcHi;
  }

  /** The record's `Computer`, read from its template slot (see {@link identity}). */
  get computer(): string | null {
    if (this.ident) return this.ident.computer;
    const first = this.nodes[0];
    return first && first.k === N_INST ? computerOf(first.template.computer, first.values) : this.identity.computer;
  }

  /** The record's `System/EventRecordID`, read from its template slot (see {@link identity}). */
  get eventRecordId(): number | null {
    if (this.ident) return this.ident.eventRecordId;
    const first = this.nodes[0];
    if (!first || first.k !== N_INST) return this.identity.eventRecordId;
    // the usual UInt64 substitution read in place (this runs for every record); anything else decoded in full
    const src = first.template.eventRecordId;
    const v = first.values;
    if (src && 'index' in src && v) {
      const i = src.index;
      if (i < v.count && v.buf[v.desc + 4 * i + 2] === 0x0a && u16(v.buf, v.desc + 4 * i) === 8 && v.offsets[i]! + 8 <= v.buf.length) {
        const o = v.offsets[i]!;
        const hi = u32(v.buf, o + 4);
        if (hi < 0x200000) return hi * 0x100000000 + u32(v.buf, o);
      }
    }
    return toInt(fieldValue(src, v));
  }

  /** Computer, EventRecordID and TimeCreated, read without rendering (see {@link RecordIdentity}). */
  get identity(): RecordIdentity {
    return (this.ident ??= identityOf(this.nodes));
  }

  /** The record as JSON in the Rust `evtx` crate shape: `{"Event": {"#attributes": …, "System": …, "EventData"|"UserData": …}}`. */
  toJSON(): EvtxJsonObject {
    return renderJson(this.nodes, this.ctx, this);
  }

  /** The same JSON as {@link toJSON}, written directly as compact text (faster than `JSON.stringify(toJSON())`). */
  toJsonString(): string {
    return renderJsonText(this.nodes, this.ctx, this);
  }

  /** Append the JSON of {@link toJsonString} to `out` as UTF-8 (the output fast path). */
  writeJson(out: JsonBytes): void {
    renderJsonBytes(this.nodes, this.ctx, this, out);
  }

  /** The record as indented XML (one `<Event>` element, no XML declaration). */
  toXml(): string {
    return renderXml(this.nodes, this.ctx, this);
  }

  /**
   * The record's `EventData` as {@link toJSON} gives it (`toJSON().Event.EventData`), read from the template's
   * substitution slots without rendering the record: for the usual template whose `EventData` holds only
   * `<Data Name="…">` elements, each one substitution under a distinct literal name. `undefined` when the record has
   * to be rendered to know (no template, another `EventData` shape, a value that is nested BinXML). With `only`: the
   * fields of those names only (the others are not decoded). For readers that look at a few fields of many records and
   * render the few they keep.
   */
  eventDataFromSlots(only?: ReadonlySet<string>): EvtxJsonObject | undefined {
    const first = this.nodes[0];
    // a file whose records ran out of rendering budget renders the others on a share of it: render to know
    if (this.renderScale < 1) return undefined;
    return this.nodes.length === 1 && first && first.k === N_INST ? slotEventData(this.ctx, first, true, only, { bytes: 0, nodes: 0 }) : undefined;
  }

  private payload: EvtxJsonObject | null = null;

  /**
   * The value of the event's field `name`: `<Data Name="CommandLine">…</Data>` under EventData, or, for an event with
   * UserData (WMI-Activity, many Microsoft-Windows-* logs), the element `name` under UserData's one child element.
   * Values are as in {@link toJSON}: text, a number or boolean for typed values, null when empty, an array for a
   * repeated unnamed `Data`; an element with attributes gives its text. `undefined` when the event has no such field.
   * The name is matched exactly, else without regard to case when that matches one field only. The record is
   * rendered on the first call; its fields are kept for the next calls.
   *
   * ```ts
   * rec.data('CommandLine'); // 'cmd.exe /c …' (Sysmon 1)
   * rec.data('Consumer');    // 'CommandLineEventConsumer.Name="…"' (Sysmon 21, WMI-Activity 5861)
   * ```
   */
  data(name: string): EvtxValue | undefined {
    const fields = (this.payload ??= payloadOf(this.toJSON()));
    let key: string | undefined = Object.prototype.hasOwnProperty.call(fields, name) ? name : undefined;
    if (key === undefined) {
      const lower = name.toLowerCase();
      const same = Object.keys(fields).filter((k) => k.toLowerCase() === lower);
      if (same.length === 1) key = same[0];
    }
    return key === undefined || key === '#attributes' ? undefined : textOf(fields[key]!);
  }
}

/**
 * Where a template's JSON `Event.EventData` comes from, for {@link EvtxRecord.eventDataFromSlots}: its own `<Data>`
 * elements (`fields`), or the one substitution among the `Event` element's children, nested BinXML that holds it (the
 * usual layout: System in the outer template, EventData in a template instance of its own). Null: anything else.
 */
type EventDataPlace = { fields: ReadonlyArray<readonly [string, number]> } | { nested: number } | null;

const eventDataPlaces = new WeakMap<Template, EventDataPlace>();

function eventDataPlace(t: Template): EventDataPlace {
  let s = eventDataPlaces.get(t);
  if (s === undefined) eventDataPlaces.set(t, (s = placeOf(t.root)));
  return s;
}

function placeOf(root: BxNode[]): EventDataPlace {
  if (root.length !== 1 || root[0]!.k !== N_ELEM) return null;
  const top = root[0]!;
  // an inner template's root is the EventData element itself
  if (top.name === 'EventData') return fieldsOf(top);
  if (top.name !== 'Event') return null;
  let ed: ElemNode | null = null;
  let nested = -1;
  for (const c of top.children) {
    if (c.k === N_SUBST && nested < 0) nested = c.index;
    else if (c.k !== N_ELEM || c.name === 'EventData' && ed) return null;
    else if (c.name === 'EventData') ed = c;
  }
  if (ed) return nested < 0 ? fieldsOf(ed) : null;
  return nested < 0 ? null : { nested };
}

/**
 * The (name, slot) pairs of an `EventData` element whose JSON is exactly one object of its `<Data Name="…">` elements:
 * no attributes, one child or more, each a `Data` element whose one attribute is a literal non-empty `Name` met once and whose
 * content is one substitution. Anything else: null.
 */
function fieldsOf(ed: ElemNode): EventDataPlace {
  // an empty EventData renders as null, not as an object
  if (ed.attrs.length || !ed.children.length) return null;
  const fields: Array<[string, number]> = [];
  const names = new Set<string>();
  for (const d of ed.children) {
    if (d.k !== N_ELEM || d.name !== 'Data' || d.attrs.length !== 1 || d.children.length !== 1) return null;
    const a = d.attrs[0]!;
    const v = a.value[0];
    const sub = d.children[0]!;
    if (a.name !== 'Name' || a.value.length !== 1 || !v || v.k !== N_TEXT || v.text === '' || names.has(v.text) || sub.k !== N_SUBST) return null;
    names.add(v.text);
    fields.push([v.text, sub.index]);
  }
  return { fields };
}

/**
 * What rendering a template's tree costs at most in the rendering budget (render.ts) when none of its values is nested
 * BinXML: its nodes and its names. Null when the tree holds template instances or nests deeper than any real template
 * (rendering it may stop on the budget: the record is rendered instead).
 */
function treeCost(t: Template): { nodes: number; names: number } | null {
  let c = treeCosts.get(t);
  if (c !== undefined) return c;
  const cost = { nodes: 0, names: 0 };
  const walk = (nodes: BxNode[], depth: number): boolean => {
    cost.nodes += nodes.length + 1;
    for (const n of nodes) {
      if (n.k === N_INST || depth > 32) return false;
      if (n.k === N_ELEM) {
        cost.names += n.names;
        for (const a of n.attrs) cost.nodes += a.value.length;
        if (!walk(n.children, depth + 1)) return false;
      }
    }
    return true;
  };
  c = walk(t.root, 0) ? cost : null;
  treeCosts.set(t, c);
  return c;
}
const treeCosts = new WeakMap<Template, { nodes: number; names: number } | null>();

/**
 * Whether rendering this instance stays well inside the rendering budget (adding to `spent`), so that its JSON holds
 * every value: no value is nested BinXML but the one at `nested`, and what its template writes (literal text, each
 * value as often as its slot is used, names) and visits sums, with the instances before it, to a quarter of the budget.
 */
function withinBudget(inst: InstNode, nested: number, spent: { bytes: number; nodes: number }): boolean {
  const t = inst.template;
  const vals = inst.values;
  const cost = treeCost(t);
  if (!cost) return false;
  for (let i = 0; i < vals.count; i++) if (i !== nested && vals.buf[vals.desc + 4 * i + 2] === T_BINXML) return false;
  spent.bytes += t.literal + t.maxUse * vals.bytes + cost.names;
  spent.nodes += cost.nodes;
  return spent.bytes <= MAX_RENDER_BYTES / 4 && spent.nodes <= MAX_RENDER_NODES / 4;
}

/** The EventData object of a template instance (see eventDataFromSlots); one level of nested BinXML is followed. */
function slotEventData(ctx: ChunkCtx, inst: InstNode, nestedOk: boolean, only: ReadonlySet<string> | undefined, spent: { bytes: number; nodes: number }): EvtxJsonObject | undefined {
  const place = eventDataPlace(inst.template);
  // the record's template is rooted at <Event>, the nested one at <EventData> (else the JSON has no Event.EventData there)
  if (!place || (inst.template.root[0] as ElemNode).name !== (nestedOk ? 'Event' : 'EventData')) return undefined;
  if (!withinBudget(inst, 'nested' in place ? place.nested : -1, spent)) return undefined;
  const vals = inst.values;
  if ('nested' in place) {
    if (!nestedOk || place.nested >= vals.count) return undefined;
    const v = decodeValue(vals, place.nested);
    if (!isNested(v)) return undefined;
    let inner: BxNode[];
    try {
      inner = parseNested(ctx, v.start, v.end, 1);
    } catch {
      return undefined;
    }
    const one = inner[0];
    return inner.length === 1 && one && one.k === N_INST ? slotEventData(ctx, one, false, only, spent) : undefined;
  }
  const out: EvtxJsonObject = {};
  for (let k = 0; k < place.fields.length; k++) {
    const [name, i] = place.fields[k]!;
    if (only && !only.has(name)) continue;
    if (i >= vals.count) return undefined;
    const v = decodeValue(vals, i);
    if (isNested(v)) return undefined;
    // a field named `__proto__` is an own key, as in toJSON
    if (name === '__proto__') Object.defineProperty(out, name, { value: v, writable: true, enumerable: true, configurable: true });
    else out[name] = v;
  }
  return out;
}

function objectOf(v: EvtxValue | undefined): EvtxJsonObject | null {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : null;
}

/** The fields of a rendered event: its EventData, or the one element under its UserData; empty when neither. */
function payloadOf(json: EvtxJsonObject): EvtxJsonObject {
  const ev = objectOf(json['Event']);
  const ed = objectOf(ev?.['EventData']);
  if (ed) return ed;
  const ud = objectOf(ev?.['UserData']);
  if (ud) {
    const children = Object.keys(ud).filter((k) => k !== '#attributes');
    const only = children.length === 1 ? objectOf(ud[children[0]!]) : null;
    if (only) return only;
  }
  return {};
}

/** An element rendered with attributes (`{"#attributes": …, "#text": v}`) as its text; other values as they are. */
function textOf(v: EvtxValue): EvtxValue {
  const o = objectOf(v);
  return o && Object.prototype.hasOwnProperty.call(o, '#text') ? o['#text']! : v;
}

function fieldValue(src: FieldSource, vals: Values | null): string | number | null {
  if (!src) return null;
  if ('text' in src) return src.text;
  if (!vals) return null;
  const v = decodeValue(vals, src.index);
  if (v === null || isNested(v)) return null;
  return typeof v === 'number' || typeof v === 'string' ? v : valueToString(v);
}

function toInt(v: string | number | null): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  const t = v.trim();
  if (!/^\d+$/.test(t)) return null;
  return Number(t);
}

function toStr(v: string | number | null): string | null {
  return v === null ? null : String(v);
}

function fieldsFromTemplate(t: Template, vals: Values | null): RecordKeyFields {
  return {
    eventId: toInt(fieldValue(t.eventId, vals)),
    qualifiers: toInt(fieldValue(t.qualifiers, vals)),
    channel: toStr(fieldValue(t.channel, vals)),
    provider: toStr(fieldValue(t.provider, vals)),
  };
}

/** The literal `Event/System` element of a template-less record, or null. */
function literalSystem(nodes: BxNode[]): ElemNode | null {
  const ev = nodes.find((n): n is ElemNode => n.k === N_ELEM);
  return ev?.children.find((n): n is ElemNode => n.k === N_ELEM && n.name === 'System') ?? null;
}

/** The literal text of a template-less element's content. */
const text = (ns: BxNode[]): string => ns.map((n) => (n.k === N_TEXT ? n.text : '')).join('');

/** Key fields of a template-less record: walk its literal System element. */
function fieldsFromTree(nodes: BxNode[]): RecordKeyFields {
  const out: RecordKeyFields = { eventId: null, qualifiers: null, channel: null, provider: null };
  const sys = literalSystem(nodes);
  if (!sys) return out;
  for (const c of sys.children) {
    if (c.k !== N_ELEM) continue;
    if (c.name === 'EventID') {
      out.eventId = toInt(text(c.children));
      const q = c.attrs.find((a) => a.name === 'Qualifiers');
      if (q) out.qualifiers = toInt(text(q.value));
    } else if (c.name === 'Channel') out.channel = text(c.children);
    else if (c.name === 'Provider') {
      const a = c.attrs.find((x) => x.name === 'Name');
      if (a) out.provider = text(a.value);
    }
  }
  return out;
}

/**
 * The last value of one string field decoded: consecutive records of a log mostly repeat their Computer, Channel and
 * Provider, so the bytes are compared, not decoded again.
 */
class LastString {
  bytes: Uint8Array = new Uint8Array(0);
  value: string | null = null;
}
const lastComputer = new LastString();
const lastChannel = new LastString();
const lastProvider = new LastString();

function cachedString(src: FieldSource, vals: Values, last: LastString): string | null {
  if (src && 'index' in src && src.index < vals.count && vals.buf[vals.desc + 4 * src.index + 2] === 0x01) {
    const size = u16(vals.buf, vals.desc + 4 * src.index);
    const o = vals.offsets[src.index]!;
    const prev = last.bytes;
    if (size === prev.length && o + size <= vals.buf.length) {
      let same = true;
      for (let i = 0; i < size; i++)
        if (vals.buf[o + i] !== prev[i]) {
          same = false;
          break;
        }
      if (same) return last.value;
    }
    const value = toStr(fieldValue(src, vals));
    last.bytes = vals.buf.slice(o, Math.min(o + size, vals.buf.length));
    last.value = value;
    return value;
  }
  return toStr(fieldValue(src, vals));
}

function computerOf(src: FieldSource, vals: Values): string | null {
  return cachedString(src, vals, lastComputer);
}

function identityOf(nodes: BxNode[]): RecordIdentity {
  const first = nodes[0];
  if (first && first.k === N_INST) {
    const t = first.template;
    const time = fieldValue(t.timeCreated, first.values);
    return { computer: computerOf(t.computer, first.values), eventRecordId: toInt(fieldValue(t.eventRecordId, first.values)), timeCreated: time === null ? null : String(time) };
  }
  const out: RecordIdentity = { computer: null, eventRecordId: null, timeCreated: null };
  const sys = literalSystem(nodes);
  if (!sys) return out;
  for (const c of sys.children) {
    if (c.k !== N_ELEM) continue;
    if (c.name === 'Computer') out.computer = text(c.children);
    else if (c.name === 'EventRecordID') out.eventRecordId = toInt(text(c.children));
    else if (c.name === 'TimeCreated') {
      const a = c.attrs.find((x) => x.name === 'SystemTime');
      if (a) out.timeCreated = text(a.value) || null;
    }
  }
  return out;
}

function keyFieldsOf(nodes: BxNode[]): RecordKeyFields {
  const first = nodes[0];
  if (first && first.k === N_INST) return fieldsFromTemplate(first.template, first.values);
  return fieldsFromTree(nodes);
}
