/**
 * EVTX file reader: file header, every 64 KiB chunk slot checked on its own, records, slack recovery.
 * Streaming: a file opened from a path is read one chunk at a time.
 */
import * as fs from 'node:fs';
import { crc32, filetimeIso, u16, u32, u64big, u64n } from './bytes.js';
import { BinXmlError, N_ELEM, N_INST, N_SUBST, N_TEXT, decodeValue, isNested, newChunkCtx, parseNested, parseRecordBinXml, peekEventId, templateAt, valueType } from './binxml.js';
import type { BxNode, ChunkCtx, ElemNode, FieldSource, InstNode, Template, Values } from './binxml.js';
import { renderJson, renderXml, valueToString } from './render.js';
import { renderJsonBytes, renderJsonText } from './jsonplan.js';
import type { JsonBytes } from './jsonplan.js';
import type { RenderIssues } from './render.js';
import type { ChunkStatus, EvtxChunkInfo, EvtxFileHeader, EvtxFilter, EvtxJsonObject, EvtxReadOptions, EvtxValue, EvtxWarning } from './types.js';

export const FILE_HEADER_SIZE = 4096;
export const CHUNK_SIZE = 65536;
const CHUNK_HEADER_SIZE = 512;
const RECORD_MAGIC = 0x00002a2a;
const FILE_MAGIC = 'ElfFile\0';
const CHUNK_MAGIC = 'ElfChnk\0';

/** Thrown only when the input is not an EVTX file at all (or cannot be read). Data damage is never thrown. */
export class EvtxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvtxFormatError';
  }
}

function magicAt(b: Uint8Array, o: number, m: string): boolean {
  if (o + m.length > b.length) return false;
  for (let i = 0; i < m.length; i++) if (b[o + i] !== m.charCodeAt(i)) return false;
  return true;
}

function allZero(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

// ---- byte sources --------------------------------------------------------------------------------------

interface ByteSource {
  readonly size: number;
  /**
   * Up to `length` bytes at `offset` (fewer at the end of the data). With `reuse`, the bytes may live in a buffer that a
   * later `reuse` read overwrites (see EvtxReadOptions.reuseBuffers).
   */
  read(offset: number, length: number, reuse?: boolean): Uint8Array;
  close(): void;
}

class BufferSource implements ByteSource {
  constructor(private readonly data: Uint8Array) {}
  get size(): number {
    return this.data.length;
  }
  read(offset: number, length: number): Uint8Array {
    return this.data.subarray(offset, Math.min(this.data.length, offset + length));
  }
  close(): void {}
}

/** Reads a file through a read-ahead window of whole chunk slots (fewer system calls, bounded memory). */
class FileSource implements ByteSource {
  private fd: number | null;
  readonly size: number;
  private winStart = 0;
  private win: Uint8Array = new Uint8Array(0);
  // the window of reads that allow reuse: one buffer, filled again in place
  private reuseStart = 0;
  private reuseLength = 0;
  private reuseBuf: Buffer | null = null;
  private static readonly WINDOW = 16 * CHUNK_SIZE;
  constructor(path: string) {
    this.fd = fs.openSync(path, 'r');
    try {
      this.size = fs.fstatSync(this.fd).size;
    } catch (e) {
      fs.closeSync(this.fd);
      throw e;
    }
  }
  private readRaw(offset: number, length: number, into?: Buffer): Uint8Array {
    if (this.fd === null) throw new Error('EVTX reader is closed');
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = into && into.length >= n ? into : Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = fs.readSync(this.fd, buf, got, n - got, offset + got);
      if (r === 0) break;
      got += r;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  }
  read(offset: number, length: number, reuse = false): Uint8Array {
    if (length > FileSource.WINDOW || offset < FILE_HEADER_SIZE) return this.readRaw(offset, length);
    if (reuse) {
      if (offset < this.reuseStart || offset + length > this.reuseStart + this.reuseLength) {
        this.reuseBuf ??= Buffer.allocUnsafe(FileSource.WINDOW);
        this.reuseStart = offset;
        this.reuseLength = this.readRaw(offset, FileSource.WINDOW, this.reuseBuf).length;
      }
      const s = offset - this.reuseStart;
      return this.reuseBuf!.subarray(s, Math.min(this.reuseLength, s + length));
    }
    if (offset < this.winStart || offset + length > this.winStart + this.win.length) {
      // a fresh window (records of the previous one keep their own bytes alive)
      this.winStart = offset;
      this.win = this.readRaw(offset, FileSource.WINDOW);
    }
    const s = offset - this.winStart;
    return this.win.subarray(s, Math.min(this.win.length, s + length));
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

// ---- records -------------------------------------------------------------------------------------------

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
    return this.nodes.length === 1 && first && first.k === N_INST ? slotEventData(this.ctx, first, true, only) : undefined;
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

/** The EventData object of a template instance (see eventDataFromSlots); one level of nested BinXML is followed. */
function slotEventData(ctx: ChunkCtx, inst: InstNode, nestedOk: boolean, only?: ReadonlySet<string>): EvtxJsonObject | undefined {
  const place = eventDataPlace(inst.template);
  if (!place) return undefined;
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
    return inner.length === 1 && one && one.k === N_INST ? slotEventData(ctx, one, false, only) : undefined;
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

/** Compiled filter: sets for O(1) checks. */
interface CompiledFilter {
  ids: Set<number> | null;
  channels: Set<string> | null;
  providers: Set<string> | null;
}

const compiledFilters = new WeakMap<EvtxFilter, CompiledFilter | null>();

function compileFilter(f: EvtxFilter | undefined): CompiledFilter | null {
  if (!f) return null;
  const cached = compiledFilters.get(f);
  if (cached !== undefined) return cached;
  const c = buildFilter(f);
  compiledFilters.set(f, c);
  return c;
}

function buildFilter(f: EvtxFilter): CompiledFilter | null {
  const ids = f.eventIds && f.eventIds.length ? new Set(f.eventIds) : null;
  const channels = f.channels && f.channels.length ? new Set(f.channels.map((c) => c.toLowerCase())) : null;
  const providers = f.providers && f.providers.length ? new Set(f.providers.map((c) => c.toLowerCase())) : null;
  if (!ids && !channels && !providers) return null;
  return { ids, channels, providers };
}

/** Evaluated field by field, cheapest first, decoding only what the filter asks about. */
function matches(f: CompiledFilter, r: EvtxRecord): boolean {
  if (f.ids) {
    const id = r.eventId;
    if (id === null || !f.ids.has(id)) return false;
  }
  if (f.channels) {
    const c = r.channel;
    if (c === null || !f.channels.has(c.toLowerCase())) return false;
  }
  if (f.providers) {
    const p = r.provider;
    if (p === null || !f.providers.has(p.toLowerCase())) return false;
  }
  return true;
}

/**
 * For carved records: the values must agree with the types the template declares for its slots, or the
 * template the record points to is not the one it was written with (slack is overwritten data).
 */
function valuesFitTemplate(nodes: BxNode[]): boolean {
  const first = nodes[0];
  if (!first) return false;
  if (first.k !== N_INST) return first.k === N_ELEM;
  const { template, values } = first;
  if (values.count < template.slots) return false;
  let ok = true;
  const check = (ns: BxNode[]): void => {
    for (const n of ns) {
      if (!ok) return;
      if (n.k === N_SUBST) {
        const t = valueType(values, n.index);
        if (t !== 0 && t !== n.type && !(n.type === 0x10 && (t === 0x14 || t === 0x15))) ok = false;
      } else if (n.k === N_ELEM) {
        for (const a of n.attrs) check(a.value);
        check(n.children);
      }
    }
  };
  check(template.root);
  return ok && template.root.some((n) => n.k === N_ELEM && n.name === 'Event');
}

// ---- chunk scanning --------------------------------------------------------------------------------------

interface RecordSpan {
  start: number;
  size: number;
  recovered: boolean;
  /** A problem with the record's framing, attached to the record as a warning. */
  note?: string;
}

interface ChunkScan {
  info: EvtxChunkInfo;
  ctx: ChunkCtx | null;
  spans: RecordSpan[];
}

/** Open options. */
export interface EvtxOpenOptions {
  /** Name used in warnings and errors (defaults to the path, or `<buffer>`). */
  name?: string;
}

/** Totals of one pass over the records. */
export interface EvtxReadStats {
  records: number;
  recovered: number;
  skipped: number;
  chunks: number;
}

const newStats = (): EvtxReadStats => ({ records: 0, recovered: 0, skipped: 0, chunks: 0 });

export class EvtxReader {
  readonly header: EvtxFileHeader;
  /** Warnings about the file: header problems at open, chunk and record problems as they are met. */
  readonly warnings: EvtxWarning[] = [];
  readonly name: string;
  /** Number of 64 KiB chunk slots after the file header (a partial trailing slot counts). */
  readonly slotCount: number;
  private readonly src: ByteSource;
  /** Info of the chunk slot read most recently. */
  private lastChunk: EvtxChunkInfo | null = null;
  /** Statistics of the most recent complete `records()` pass. */
  lastStats: EvtxReadStats = newStats();

  private constructor(src: ByteSource, name: string) {
    this.src = src;
    this.name = name;
    const head = src.read(0, FILE_HEADER_SIZE);
    this.slotCount = src.size > FILE_HEADER_SIZE ? Math.ceil((src.size - FILE_HEADER_SIZE) / CHUNK_SIZE) : 0;
    const hasMagic = magicAt(head, 0, FILE_MAGIC);
    if (!hasMagic && !this.anyChunkMagic()) {
      throw new EvtxFormatError(`${name}: not an EVTX file (no "ElfFile" signature and no "ElfChnk" chunk)`);
    }
    this.header = this.parseHeader(head, hasMagic);
  }

  /** Open a file by path. The file is read one chunk at a time; call {@link close} when done. */
  static open(path: string, opts: EvtxOpenOptions = {}): EvtxReader {
    const src = new FileSource(path);
    try {
      return new EvtxReader(src, opts.name ?? path);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Read from bytes already in memory. */
  static fromBuffer(data: Uint8Array, opts: EvtxOpenOptions = {}): EvtxReader {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new EvtxReader(new BufferSource(b), opts.name ?? '<buffer>');
  }

  close(): void {
    this.src.close();
  }

  private anyChunkMagic(): boolean {
    const n = Math.min(this.slotCount, 64);
    for (let i = 0; i < n; i++) if (magicAt(this.src.read(FILE_HEADER_SIZE + i * CHUNK_SIZE, 8), 0, CHUNK_MAGIC)) return true;
    return false;
  }

  private warningsKept = 0;
  private notKept = 0;
  private notKeptReported = 0;
  /** Warnings not kept in {@link warnings} because the file had more than {@link MAX_FILE_WARNINGS}. */
  get warningsNotKept(): number {
    return this.notKept;
  }

  /** Keep a warning, up to {@link MAX_FILE_WARNINGS} per file (hostile files can hold a problem per record); count the rest. */
  private warn(w: EvtxWarning): void {
    if (this.warningsKept < MAX_FILE_WARNINGS) {
      this.warningsKept++;
      this.warnings.push(w);
    } else this.notKept++;
  }
  /** Passed to records: their rendering problems (expansion limit) become warnings of the file; a count of them. */
  private readonly recordWarning: FileRenderState = { warn: (w: EvtxWarning): void => this.warn(w), limited: 0 };

  /** One `warnings-capped` warning counting the warnings not kept since the last one (end of a pass). */
  private reportNotKept(): void {
    const n = this.notKept - this.notKeptReported;
    if (n <= 0) return;
    this.notKeptReported = this.notKept;
    this.warnings.push({ code: 'warnings-capped', message: `${n} more warning(s) not kept: at most ${MAX_FILE_WARNINGS} warnings are kept per file` });
  }

  private parseHeader(h: Uint8Array, hasMagic: boolean): EvtxFileHeader {
    if (!hasMagic) this.warn({ code: 'header-signature', message: 'file header has no "ElfFile" signature; reading chunks anyway', offset: 0 });
    const ok = h.length >= 128;
    const r32 = (o: number): number => (ok ? u32(h, o) : 0);
    const r16 = (o: number): number => (ok ? u16(h, o) : 0);
    const flags = r32(120);
    const checksum = r32(124);
    const checksumValid = ok && crc32(h, 0, 120) === checksum;
    const header: EvtxFileHeader = {
      firstChunkNumber: ok ? u64big(h, 8) : 0n,
      lastChunkNumber: ok ? u64big(h, 16) : 0n,
      nextRecordId: ok ? u64big(h, 24) : 0n,
      headerSize: r32(32),
      minorVersion: r16(36),
      majorVersion: r16(38),
      headerBlockSize: r16(40),
      chunkCount: r16(42),
      flags,
      dirty: (flags & 1) !== 0,
      full: (flags & 2) !== 0,
      checksum,
      checksumValid,
    };
    if (hasMagic && !checksumValid) this.warn({ code: 'header-crc', message: `file header CRC32 mismatch (stored 0x${checksum.toString(16)})`, offset: 0 });
    if (hasMagic && header.dirty) this.warn({ code: 'header-dirty', message: 'file header is marked dirty (not closed cleanly); its counts may be stale', offset: 0 });
    if (this.src.size < FILE_HEADER_SIZE + header.chunkCount * CHUNK_SIZE) {
      this.warn({ code: 'file-truncated', message: `header announces ${header.chunkCount} chunks but the file holds only ${this.slotCount} slot(s)`, offset: this.src.size });
    }
    return header;
  }

  /** Inspect one chunk slot: status, checksums, record positions (allocated, and carved when `recovered`). */
  private scanChunk(slot: number, recovered: boolean, verify: boolean, reuse: boolean): ChunkScan {
    const offset = FILE_HEADER_SIZE + slot * CHUNK_SIZE;
    const buf = this.src.read(offset, CHUNK_SIZE, reuse);
    const info: EvtxChunkInfo = { index: slot, offset, status: 'ok' };
    const spans: RecordSpan[] = [];
    const len = buf.length;
    if (!magicAt(buf, 0, CHUNK_MAGIC)) {
      if (allZero(buf, 0, Math.min(len, CHUNK_HEADER_SIZE)) && allZero(buf, 0, len)) {
        info.status = 'empty';
        return { info, ctx: null, spans };
      }
      info.status = 'bad-magic';
      this.warn({ code: 'chunk-magic', message: `chunk slot ${slot}: no "ElfChnk" signature; slot skipped${recovered ? ' (records carved from it)' : ''}`, offset, chunk: slot });
      if (!recovered) return { info, ctx: null, spans };
      const ctx = newChunkCtx(buf, len);
      this.carve(buf, 0, len, spans);
      return { info, ctx, spans };
    }
    let status: ChunkStatus = 'ok';
    if (len < CHUNK_SIZE) {
      status = 'truncated';
      this.warn({ code: 'file-truncated', message: `chunk slot ${slot}: only ${len} of ${CHUNK_SIZE} bytes present`, offset, chunk: slot });
    }
    if (len < CHUNK_HEADER_SIZE) {
      info.status = 'truncated';
      return { info, ctx: null, spans };
    }
    info.firstRecordNumber = u64big(buf, 8);
    info.lastRecordNumber = u64big(buf, 16);
    info.firstRecordId = u64big(buf, 24);
    info.lastRecordId = u64big(buf, 32);
    let free = u32(buf, 48);
    info.freeSpaceOffset = free;
    if (verify) {
      const hcrc = crc32(buf, 128, CHUNK_HEADER_SIZE, crc32(buf, 0, 120));
      info.headerCrcValid = hcrc === u32(buf, 124);
      if (!info.headerCrcValid) this.warn({ code: 'chunk-header-crc', message: `chunk slot ${slot}: header CRC32 mismatch`, offset, chunk: slot });
    }
    if (free < CHUNK_HEADER_SIZE || free > len) {
      this.warn({ code: 'chunk-header', message: `chunk slot ${slot}: free-space offset ${free} out of range; records read up to the end of the slot`, offset: offset + 48, chunk: slot });
      status = 'bad-header';
      free = len;
    } else if (verify) {
      info.dataCrcValid = crc32(buf, CHUNK_HEADER_SIZE, free) === u32(buf, 52);
      if (!info.dataCrcValid) this.warn({ code: 'chunk-data-crc', message: `chunk slot ${slot}: event records CRC32 mismatch`, offset, chunk: slot });
    }
    this.checkStringTable(buf, len, slot, offset);
    info.status = status;
    const ctx = newChunkCtx(buf, len);
    // allocated records
    let p = CHUNK_HEADER_SIZE;
    while (p + 24 <= free) {
      const size = u32(buf, p + 4);
      if (u32(buf, p) !== RECORD_MAGIC || size < 28 || p + size > len) {
        const what = u32(buf, p) !== RECORD_MAGIC ? 'no record signature' : `record size ${size} out of range`;
        const next = findMagic(buf, p + 1, free);
        this.warn({
          code: u32(buf, p) === RECORD_MAGIC && p + size > len ? 'record-truncated' : 'record-header',
          message: `chunk slot ${slot}: ${what} at chunk offset 0x${p.toString(16)}; ${next < 0 ? 'rest of the chunk skipped' : `resuming at 0x${next.toString(16)}`}`,
          offset: offset + p,
          chunk: slot,
        });
        if (next < 0) break;
        p = next;
        continue;
      }
      let note: string | undefined;
      if (u32(buf, p + size - 4) !== size) {
        note = `trailing size copy (${u32(buf, p + size - 4)}) does not match the record size (${size}): the record may be damaged`;
        this.warn({ code: 'record-header', message: `chunk slot ${slot}: record at chunk offset 0x${p.toString(16)}: ${note}`, offset: offset + p, chunk: slot, recordId: u64n(buf, p + 8) });
      }
      spans.push(note ? { start: p, size, recovered: false, note } : { start: p, size, recovered: false });
      p += size;
    }
    if (recovered) this.carve(buf, Math.max(free, CHUNK_HEADER_SIZE), len, spans);
    return { info, ctx, spans };
  }

  /** A string table entry that points outside the chunk or at an impossible name is a warning; names are read by offset anyway. */
  private checkStringTable(buf: Uint8Array, len: number, slot: number, offset: number): void {
    let bad = 0;
    for (let i = 0; i < 64; i++) {
      const o = u32(buf, 128 + i * 4);
      if (o === 0) continue;
      if (o < CHUNK_HEADER_SIZE || o + 8 > len || o + 8 + u16(buf, o + 6) * 2 > len) bad++;
    }
    if (bad) this.warn({ code: 'string-cache', message: `chunk slot ${slot}: ${bad} string-table entr${bad === 1 ? 'y points' : 'ies point'} outside the chunk (ignored: names are read where records point)`, offset: offset + 128, chunk: slot });
    let badT = 0;
    for (let i = 0; i < 32; i++) {
      const o = u32(buf, 384 + i * 4);
      if (o !== 0 && (o < CHUNK_HEADER_SIZE || o + 24 > len)) badT++;
    }
    if (badT) this.warn({ code: 'template-cache', message: `chunk slot ${slot}: ${badT} template-table entr${badT === 1 ? 'y points' : 'ies point'} outside the chunk (ignored)`, offset: offset + 384, chunk: slot });
  }

  /** Look for record signatures in `[start, end)` that carry a consistent header and trailer. */
  private carve(buf: Uint8Array, start: number, end: number, spans: RecordSpan[]): void {
    let p = findMagic(buf, start, end);
    while (p >= 0 && p + 28 <= end) {
      const size = u32(buf, p + 4);
      if (size >= 32 && p + size <= end && u32(buf, p + size - 4) === size && buf[p + 24] === 0x0f && u32(buf, p + 12) < 0x10000) {
        spans.push({ start: p, size, recovered: true });
        p = findMagic(buf, p + size, end);
      } else p = findMagic(buf, p + 1, end);
    }
  }

  /**
   * Every chunk slot with its status, header fields, checksums and counts of records that parse
   * (allocated, and carved from slack when `recovered`). Chunk and record problems go to {@link warnings}.
   */
  chunks(opts: { recovered?: boolean } = {}): EvtxChunkInfo[] {
    const out: EvtxChunkInfo[] = [];
    const stats = newStats();
    for (let s = 0; s < this.slotCount; s++) {
      this.chunkRecords(s, { recovered: opts.recovered === true }, stats);
      out.push(this.lastChunk!);
    }
    this.lastStats = stats;
    this.reportNotKept();
    return out;
  }

  /** Iterate records lazily, chunk by chunk, in file order. Damage becomes entries in {@link warnings}. */
  *records(opts: EvtxReadOptions = {}): Generator<EvtxRecord, EvtxReadStats, undefined> {
    const stats = newStats();
    try {
      for (let s = 0; s < this.slotCount; s++) {
        for (const r of this.chunkRecords(s, opts, stats)) yield r;
      }
      this.lastStats = stats;
      return stats;
    } finally {
      this.reportNotKept();
    }
  }

  /** Records of one chunk slot (used by {@link records} and by the parallel reader). */
  chunkRecords(slot: number, opts: EvtxReadOptions, stats: EvtxReadStats = newStats()): EvtxRecord[] {
    const filter = compileFilter(opts.filter);
    const scan = this.scanChunk(slot, opts.recovered === true, opts.verifyChecksums !== false, opts.reuseBuffers === true);
    const out: EvtxRecord[] = [];
    const info = scan.info;
    this.lastChunk = info;
    if (!scan.ctx) return out;
    stats.chunks++;
    const { ctx } = scan;
    const buf = ctx.buf;
    const base = scan.info.offset;
    let good = 0;
    let carved = 0;
    let bad = 0;
    const ids = filter?.ids ?? null;
    for (const sp of scan.spans) {
      const p = sp.start;
      if (ids && !sp.recovered) {
        // pushdown: most records are dropped on their EventID slot without being parsed
        const id = eventIdOf(ctx, p + 24, p + sp.size - 4);
        if (id !== undefined && !ids.has(id)) {
          good++;
          continue;
        }
      }
      const recordId = u64n(buf, p + 8);
      let nodes: BxNode[];
      try {
        nodes = parseRecordBinXml(ctx, p + 24, p + sp.size - 4);
        if (sp.recovered && !valuesFitTemplate(nodes)) throw new BinXmlError('values do not match the template they point to (overwritten slack)', p);
      } catch (e) {
        stats.skipped++;
        bad++;
        const msg = e instanceof Error ? e.message : String(e);
        this.warn({
          code: sp.recovered ? 'recovered-unparsable' : 'record-parse',
          message: `${sp.recovered ? 'carved record' : 'record'} ${u64big(buf, p + 8)} at file offset ${base + p}: ${msg}`,
          offset: base + p,
          chunk: slot,
          recordId,
        });
        continue;
      }
      const rec = new EvtxRecord(ctx, nodes, recordId, u32(buf, p + 16), u32(buf, p + 20), slot, base + p, sp.size, sp.recovered, this.recordWarning);
      if (sp.note) rec.addWarning(sp.note);
      if (sp.recovered) carved++;
      else good++;
      if (filter && !matches(filter, rec)) continue;
      if (sp.recovered) stats.recovered++;
      else stats.records++;
      out.push(rec);
    }
    if (scan.info.status !== 'bad-magic') info.records = good;
    if (opts.recovered) info.recovered = carved;
    info.unparsable = bad;
    return out;
  }

  /** Async iteration: yields to the event loop between chunks. */
  async *recordsAsync(opts: EvtxReadOptions = {}): AsyncGenerator<EvtxRecord, EvtxReadStats, undefined> {
    const stats = newStats();
    try {
      for (let s = 0; s < this.slotCount; s++) {
        const recs = this.chunkRecords(s, opts, stats);
        for (const r of recs) yield r;
        await new Promise<void>((res) => setImmediate(res));
      }
      this.lastStats = stats;
      return stats;
    } finally {
      this.reportNotKept();
    }
  }
}

/**
 * EventID of a record without parsing it (see peekEventId); the first record of a template in a chunk has its template
 * compiled here (as parsing the record would, and cached for the chunk's other records) instead of being parsed whole.
 */
function eventIdOf(ctx: ChunkCtx, start: number, end: number): number | undefined {
  const id = peekEventId(ctx, start, end);
  if (id !== undefined) return id;
  const b = ctx.buf;
  if (start + 18 > end || b[start] !== 0x0f || b[start + 4] !== 0x0c) return undefined;
  const defOff = u32(b, start + 10);
  if (ctx.templates.has(defOff)) return undefined;
  try {
    templateAt(ctx, defOff);
  } catch {
    return undefined;
  }
  return peekEventId(ctx, start, end);
}

function findMagic(buf: Uint8Array, from: number, end: number): number {
  // signature 2a 2a 00 00
  let p = from;
  while (p + 4 <= end) {
    const i = (buf as Buffer).indexOf(0x2a, p);
    if (i < 0 || i + 4 > end) return -1;
    if (buf[i + 1] === 0x2a && buf[i + 2] === 0 && buf[i + 3] === 0) return i;
    p = i + 1;
  }
  return -1;
}

