/**
 * BinXML: tokens → a small node tree (templates compiled once per chunk), template instances, nested BinXML.
 * The substitution values the instances carry, and their decoding, are in binxml-values.ts.
 *
 * All positions are offsets into one chunk's bytes (names and templates are referenced chunk-relative).
 * Every length read from the file is checked against the end of the range it lives in before use.
 */
import { guid, u16, u32, utf16 } from './bytes.js';
import type { Values } from './binxml-values.js';

// the value side, for the modules that read both (reader.ts)
export { T_BINXML, T_NULL, T_STRING, decodeValue, isNested, valueSize, valueType } from './binxml-values.js';
export type { NestedValue, Values } from './binxml-values.js';

/** A data problem inside BinXML. Caught by the reader and turned into a warning; never escapes the API. */
export class BinXmlError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'BinXmlError';
  }
}

// ---- node tree ----------------------------------------------------------------------------------------

export const N_ELEM = 1;
export const N_TEXT = 2;
export const N_SUBST = 3;
export const N_CDATA = 4;
export const N_PI = 5;
export const N_INST = 6;

export interface ElemNode {
  k: 1;
  name: string;
  attrs: AttrNode[];
  /** What writing its names costs in the rendering budget: 2 × (element name + attribute names) characters. */
  names: number;
  children: BxNode[];
}
export interface AttrNode {
  name: string;
  /** Text and substitution nodes only. */
  value: BxNode[];
}
export interface TextNode {
  k: 2;
  text: string;
}
export interface SubstNode {
  k: 3;
  index: number;
  type: number;
  optional: boolean;
}
export interface CDataNode {
  k: 4;
  text: string;
}
export interface PINode {
  k: 5;
  target: string;
  data: string;
}
export interface InstNode {
  k: 6;
  template: Template;
  values: Values;
}
export type BxNode = ElemNode | TextNode | SubstNode | CDataNode | PINode | InstNode;

/** Where a System field comes from in a template: a literal, a substitution slot, or nowhere. */
export type FieldSource = { text: string } | { index: number } | null;

export interface Template {
  offset: number;
  guid: string;
  dataSize: number;
  root: BxNode[];
  /** Names referenced outside the template's own bytes (offset → name), checked before reusing a cached template. */
  externalNames: Array<[number, string]>;
  eventId: FieldSource;
  qualifiers: FieldSource;
  channel: FieldSource;
  provider: FieldSource;
  /** Identity fields (Computer, EventRecordID, TimeCreated@SystemTime), read per record without rendering. */
  computer: FieldSource;
  eventRecordId: FieldSource;
  timeCreated: FieldSource;
  /** Number of substitution slots the template uses (max index + 1). */
  slots: number;
  /**
   * For the rendering budget: the most times one slot is used (an instance writes at most `maxUse` × its values'
   * bytes), and 2 × the characters of the template's literal text (written once per instance).
   */
  maxUse: number;
  literal: number;
}

/** Per-chunk caches and the bytes everything points into. */
export interface ChunkCtx {
  buf: Uint8Array;
  /** Usable length (a truncated chunk may be shorter than 64 KiB). */
  len: number;
  names: Map<number, string>;
  templates: Map<number, Template | BinXmlError>;
}

/** How deeply elements, template instances and nested BinXML values may nest (parser and renderers). */
export const MAX_BINXML_DEPTH = 64;
const MAX_DEPTH = MAX_BINXML_DEPTH;
/**
 * How many template definitions may be compiled one inside the other (a definition that holds an instance of a
 * template not compiled yet). Windows writes none: instances inside records and nested values are not counted here.
 */
const MAX_TEMPLATE_NESTING = 16;
/** Template definitions being compiled right now, one inside the other (compilation is synchronous). */
let compiling = 0;

/**
 * Stands for a template instance that was not expanded because template definitions nest deeper than
 * {@link MAX_TEMPLATE_NESTING} (a template whose definition instantiates itself, directly or through others).
 * Renderers stop there and report an `expansion-limit`.
 */
export const TRUNCATED_TEMPLATE: Template = Object.freeze(newTemplate(-1, '', 0, [], [])) as Template;

/** A compiled template before `locateSystemFields` and the budget figures fill in what they find (one shape for all). */
function newTemplate(offset: number, guid: string, dataSize: number, root: BxNode[], externalNames: Template['externalNames']): Template {
  return { offset, guid, dataSize, root, externalNames, eventId: null, qualifiers: null, channel: null, provider: null, computer: null, eventRecordId: null, timeCreated: null, slots: 0, maxUse: 0, literal: 0 };
}
/**
 * Cache of compiled templates shared across chunks, keyed by offset and size (a number: both are below 2^16), and
 * verified byte for byte from the GUID to the end of the data. Another template at the same offset and size replaces it.
 */
const sharedTemplates = new Map<number, { bytes: Buffer; template: Template }>();
const SHARED_LIMIT = 4096;

export function newChunkCtx(buf: Uint8Array, len: number): ChunkCtx {
  return { buf, len, names: new Map(), templates: new Map() };
}

// ---- parser ------------------------------------------------------------------------------------------

class Parser {
  pos: number;
  externalNames: Array<[number, string]> | null = null;
  templateStart = 0;
  constructor(
    readonly ctx: ChunkCtx,
    pos: number,
    readonly end: number,
    /** Inside a template definition elements carry a 2-byte dependency id; elsewhere they do not. */
    readonly inTemplate: boolean,
  ) {
    this.pos = pos;
  }

  /** `n` more bytes must lie before the end of the data; `what` names the field they hold (for the error). */
  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) throw new BinXmlError(`data runs past its end (need ${n} bytes for ${what})`, this.pos);
  }

  byte(what: string): number {
    this.need(1, what);
    return this.ctx.buf[this.pos++]!;
  }
  word(what: string): number {
    this.need(2, what);
    const v = u16(this.ctx.buf, this.pos);
    this.pos += 2;
    return v;
  }
  dword(what: string): number {
    this.need(4, what);
    const v = u32(this.ctx.buf, this.pos);
    this.pos += 4;
    return v;
  }
  peek(): number {
    if (this.pos >= this.end) throw new BinXmlError('unexpected end of BinXML', this.pos);
    return this.ctx.buf[this.pos]!;
  }

  /** A UTF-16 string prefixed by a u16 character count; `what` names it. */
  lenString(what: string): string {
    const n = this.word(`${what} length`);
    this.need(n * 2, what);
    const s = utf16(this.ctx.buf, this.pos, n);
    this.pos += n * 2;
    return s;
  }

  /** Read a name reference; a name stored inline (its offset is the current position) is skipped over. */
  name(): string {
    const off = this.dword('name offset');
    const name = readName(this.ctx, off);
    if (off === this.pos) {
      const n = u16(this.ctx.buf, off + 6);
      this.pos += 8 + n * 2 + 2;
      if (this.pos > this.end) throw new BinXmlError('inline name runs past its end', off);
    } else if (this.externalNames && (off < this.templateStart || off >= this.end)) {
      this.externalNames.push([off, name]);
    }
    return name;
  }

  fragmentHeader(): void {
    // 0x0f, major, minor, flags
    this.need(4, 'fragment header');
    this.pos += 4;
  }

  /** Parse a fragment: header, then a template instance or elements, up to EOF or the end. */
  fragment(out: BxNode[], depth: number): void {
    if (this.peek() === 0x0f) this.fragmentHeader();
    while (this.pos < this.end) {
      const t = this.ctx.buf[this.pos]!;
      if (t === 0x00) {
        this.pos++;
        return;
      }
      if (t === 0x0c) out.push(this.templateInstance(depth));
      else if ((t & 0xbf) === 0x01) out.push(this.element(depth));
      else if (t === 0x0f) this.fragmentHeader();
      else if ((t & 0xbf) === 0x0a) out.push(this.pi());
      else throw new BinXmlError(`unexpected token 0x${t.toString(16)} at fragment level`, this.pos);
    }
  }

  element(depth: number): ElemNode {
    if (depth > MAX_DEPTH) throw new BinXmlError('elements nested too deeply', this.pos);
    const start = this.pos;
    const tok = this.byte('element start token');
    const hasAttrs = (tok & 0x40) !== 0;
    // Dependency id: present inside template definitions, absent in template-less records and nested BinXML.
    // Decide by where the name offset must point to; fall back to the other layout if the expected one is not sane.
    let withDep = this.inTemplate;
    if (!this.nameOffsetSane(start + 1 + (withDep ? 2 : 0) + 4) && this.nameOffsetSane(start + 1 + (withDep ? 0 : 2) + 4)) withDep = !withDep;
    if (withDep) this.word('element dependency id');
    const dataSize = this.dword('element data size');
    if (dataSize > this.end - this.pos) throw new BinXmlError('element size runs past its end', start);
    const name = this.name();
    const el: ElemNode = { k: N_ELEM, name, attrs: [], names: 2 * name.length, children: [] };
    if (hasAttrs) {
      const listSize = this.dword('attribute list size');
      if (listSize > this.end - this.pos) throw new BinXmlError('attribute list runs past its end', this.pos);
      while ((this.peek() & 0xbf) === 0x06) {
        this.pos++;
        const an = this.name();
        const value: BxNode[] = [];
        this.values(value, depth);
        el.attrs.push({ name: an, value });
        el.names += 2 * an.length;
      }
    }
    const close = this.byte('end of start tag');
    if (close === 0x03) return el;
    if (close !== 0x02) throw new BinXmlError(`expected end of start tag, got 0x${close.toString(16)}`, this.pos - 1);
    this.content(el.children, depth + 1);
    return el;
  }

  nameOffsetSane(at: number): boolean {
    if (at + 4 > this.end) return false;
    const off = u32(this.ctx.buf, at);
    const after = at + 4;
    if (off === after) {
      if (off + 8 > this.end) return false;
      const n = u16(this.ctx.buf, off + 6);
      return off + 8 + n * 2 + 2 <= this.end;
    }
    return off >= 0x200 && off < after && off + 8 <= this.ctx.len;
  }

  /** Value tokens (text, substitution, references) as used in attribute values. */
  values(out: BxNode[], depth: number): void {
    for (;;) {
      if (this.pos >= this.end) return;
      const t = this.ctx.buf[this.pos]! & 0xbf;
      if (t === 0x05) out.push(this.text());
      else if (t === 0x0d || t === 0x0e) out.push(this.subst());
      else if (t === 0x08) out.push(this.charRef());
      else if (t === 0x09) out.push(this.entityRef());
      else if (t === 0x07) out.push(this.cdata());
      else return;
      if (depth > MAX_DEPTH) throw new BinXmlError('too deep', this.pos);
    }
  }

  content(out: BxNode[], depth: number): void {
    for (;;) {
      const t = this.peek();
      const b = t & 0xbf;
      if (t === 0x04) {
        this.pos++;
        return;
      }
      if (b === 0x01) out.push(this.element(depth));
      else if (b === 0x05) out.push(this.text());
      else if (b === 0x0d || b === 0x0e) out.push(this.subst());
      else if (b === 0x07) out.push(this.cdata());
      else if (b === 0x08) out.push(this.charRef());
      else if (b === 0x09) out.push(this.entityRef());
      else if (b === 0x0a) out.push(this.pi());
      else if (t === 0x0c) out.push(this.templateInstance(depth));
      else if (t === 0x0f) this.fragmentHeader();
      else if (t === 0x00) throw new BinXmlError('end of BinXML inside an open element', this.pos);
      else throw new BinXmlError(`unexpected token 0x${t.toString(16)} in element content`, this.pos);
    }
  }

  text(): TextNode {
    this.pos++;
    const vt = this.byte('value text type');
    if (vt !== 0x01 && vt !== 0x02) throw new BinXmlError(`unsupported value text type 0x${vt.toString(16)}`, this.pos - 1);
    return { k: N_TEXT, text: this.lenString('value text') };
  }

  subst(): SubstNode {
    const t = this.byte('substitution token');
    const index = this.word('substitution index');
    const type = this.byte('substitution value type');
    return { k: N_SUBST, index, type, optional: t === 0x0e };
  }

  cdata(): CDataNode {
    this.pos++;
    return { k: N_CDATA, text: this.lenString('CDATA text') };
  }

  charRef(): TextNode {
    this.pos++;
    return { k: N_TEXT, text: String.fromCharCode(this.word('character reference')) };
  }

  entityRef(): TextNode {
    this.pos++;
    const name = this.name();
    return { k: N_TEXT, text: Object.hasOwn(ENTITIES, name) ? ENTITIES[name]! : `&${name};` };
  }

  pi(): PINode {
    this.pos++;
    const target = this.name();
    let data = '';
    if (this.pos < this.end && (this.ctx.buf[this.pos]! & 0xbf) === 0x0b) {
      this.pos++;
      data = this.lenString('processing instruction data');
    }
    return { k: N_PI, target, data };
  }

  templateInstance(depth: number): InstNode {
    const at = this.pos;
    this.pos++; // 0x0c
    this.byte('template instance unknown byte'); // usually 1
    this.dword('template id'); // the first 4 bytes of the GUID in practice
    const defOff = this.dword('template definition offset');
    let template: Template;
    if (compiling >= MAX_TEMPLATE_NESTING) {
      // template definitions nested too deeply (a template whose definition instantiates itself, or a cycle of them):
      // not expanded further, an inline definition is skipped over; the renderer reports an expansion limit
      template = TRUNCATED_TEMPLATE;
      if (defOff === this.pos) {
        this.need(24, 'template definition header');
        this.pos = defOff + 24 + u32(this.ctx.buf, defOff + 20);
        if (this.pos > this.end) throw new BinXmlError('inline template runs past the record', defOff);
      }
    } else if (defOff === this.pos) {
      template = templateAt(this.ctx, defOff, depth);
      this.pos = defOff + 24 + template.dataSize;
      if (this.pos > this.end) throw new BinXmlError('inline template runs past the record', defOff);
    } else {
      template = templateAt(this.ctx, defOff, depth);
    }
    const count = this.dword('substitution count');
    if (count * 4 > this.end - this.pos) throw new BinXmlError(`substitution count ${count} does not fit`, at);
    const offsets = new Array<number>(count);
    const b = this.ctx.buf;
    const desc = this.pos;
    let p = desc;
    let v = p + count * 4;
    for (let i = 0; i < count; i++) {
      offsets[i] = v;
      v += b[p]! | (b[p + 1]! << 8);
      p += 4;
    }
    if (v > this.end) throw new BinXmlError('substitution values run past the record', at);
    this.pos = v;
    return { k: N_INST, template, values: { buf: b, desc, offsets, count, bytes: v - (desc + count * 4) } };
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function readName(ctx: ChunkCtx, off: number): string {
  const cached = ctx.names.get(off);
  if (cached !== undefined) return cached;
  if (off + 8 > ctx.len) throw new BinXmlError(`name offset 0x${off.toString(16)} outside the chunk`, off);
  const n = u16(ctx.buf, off + 6);
  if (off + 8 + n * 2 > ctx.len) throw new BinXmlError('name runs past the chunk', off);
  const s = utf16(ctx.buf, off + 8, n);
  ctx.names.set(off, s);
  return s;
}

/** The template definition at `off` in this chunk, compiled once and cached. */
export function templateAt(ctx: ChunkCtx, off: number, depth = 0): Template {
  const cached = ctx.templates.get(off);
  if (cached !== undefined) {
    if (cached instanceof BinXmlError) throw cached;
    return cached;
  }
  compiling++;
  try {
    const t = compileTemplate(ctx, off, depth);
    ctx.templates.set(off, t);
    return t;
  } catch (e) {
    const err = e instanceof BinXmlError ? e : new BinXmlError(`template at 0x${off.toString(16)}: ${String(e)}`, off);
    ctx.templates.set(off, err);
    throw err;
  } finally {
    compiling--;
  }
}

function compileTemplate(ctx: ChunkCtx, off: number, depth: number): Template {
  if (off < 0x200 || off + 24 > ctx.len) throw new BinXmlError(`template offset 0x${off.toString(16)} outside the chunk`, off);
  const dataSize = u32(ctx.buf, off + 20);
  const start = off + 24;
  if (dataSize > ctx.len - start) throw new BinXmlError('template data runs past the chunk', off);
  const key = off * 0x10000 + dataSize;
  const shared = sharedTemplates.get(key);
  // GUID, size and data (from off + 4 to the end of the data) as they were when the cached template was compiled
  if (shared && shared.bytes.compare(ctx.buf, off + 4, start + dataSize) === 0 && shared.template.externalNames.every(([o, n]) => safeName(ctx, o) === n)) {
    return shared.template;
  }
  const g = guid(ctx.buf, off + 4);
  const p = new Parser(ctx, start, start + dataSize, true);
  p.externalNames = [];
  p.templateStart = start;
  const root: BxNode[] = [];
  p.fragment(root, depth + 1);
  const t = newTemplate(off, g, dataSize, root, p.externalNames);
  locateSystemFields(t);
  if (sharedTemplates.size >= SHARED_LIMIT) sharedTemplates.clear();
  // a copy of its own (Buffer.from would take a slice of the shared pool and keep all of its 8 KiB alive)
  const bytes = Buffer.allocUnsafeSlow(start + dataSize - (off + 4));
  bytes.set(ctx.buf.subarray(off + 4, start + dataSize));
  sharedTemplates.set(key, { bytes, template: t });
  return t;
}

function safeName(ctx: ChunkCtx, off: number): string | null {
  try {
    return readName(ctx, off);
  } catch {
    return null;
  }
}

function single(nodes: BxNode[]): FieldSource {
  if (nodes.length === 1) {
    const n = nodes[0]!;
    if (n.k === N_SUBST) return { index: n.index };
    if (n.k === N_TEXT) return { text: n.text };
  }
  if (nodes.length > 0 && nodes.every((n) => n.k === N_TEXT)) return { text: nodes.map((n) => (n as TextNode).text).join('') };
  return null;
}

/** Find Event/System/{EventID, Channel, Provider@Name} in a template, for filter pushdown. */
function locateSystemFields(t: Template): void {
  let max = -1;
  const uses = new Map<number, number>();
  const walk = (nodes: BxNode[]): void => {
    for (const n of nodes) {
      if (n.k === N_SUBST) {
        max = Math.max(max, n.index);
        const u = (uses.get(n.index) ?? 0) + 1;
        uses.set(n.index, u);
        if (u > t.maxUse) t.maxUse = u;
      } else if (n.k === N_TEXT || n.k === N_CDATA) t.literal += 2 * n.text.length;
      else if (n.k === N_ELEM) {
        for (const a of n.attrs) walk(a.value);
        walk(n.children);
      }
    }
  };
  walk(t.root);
  t.slots = max + 1;
  const ev = t.root.find((n): n is ElemNode => n.k === N_ELEM);
  if (!ev || ev.name !== 'Event') return;
  const sys = ev.children.find((n): n is ElemNode => n.k === N_ELEM && n.name === 'System');
  if (!sys) return;
  for (const c of sys.children) {
    if (c.k !== N_ELEM) continue;
    if (c.name === 'EventID') {
      t.eventId = single(c.children);
      const q = c.attrs.find((a) => a.name === 'Qualifiers');
      if (q) t.qualifiers = single(q.value);
    } else if (c.name === 'Channel') t.channel = single(c.children);
    else if (c.name === 'Provider') {
      const a = c.attrs.find((x) => x.name === 'Name');
      if (a) t.provider = single(a.value);
    } else if (c.name === 'Computer') t.computer = single(c.children);
    else if (c.name === 'EventRecordID') t.eventRecordId = single(c.children);
    else if (c.name === 'TimeCreated') {
      const a = c.attrs.find((x) => x.name === 'SystemTime');
      if (a) t.timeCreated = single(a.value);
    }
  }
}

/** Parse the BinXML of a record (`[start, end)` in the chunk): a template instance or template-less elements. */
export function parseRecordBinXml(ctx: ChunkCtx, start: number, end: number): BxNode[] {
  const p = new Parser(ctx, start, end, false);
  const out: BxNode[] = [];
  p.fragment(out, 0);
  return out;
}

/** Parse a nested BinXML value (substitution type 0x21). */
export function parseNested(ctx: ChunkCtx, start: number, end: number, depth: number): BxNode[] {
  if (depth > MAX_DEPTH) throw new BinXmlError('nested BinXML too deep', start);
  const p = new Parser(ctx, start, end, false);
  const out: BxNode[] = [];
  p.fragment(out, depth + 1);
  return out;
}

/**
 * EventID of a record without parsing it, for filter pushdown: works when the record is a template
 * instance whose template this chunk has already compiled and whose EventID slot is a UInt16.
 * Returns undefined when the record has to be parsed to know.
 */
export function peekEventId(ctx: ChunkCtx, start: number, end: number): number | undefined {
  const b = ctx.buf;
  if (start + 18 > end || b[start] !== 0x0f || b[start + 4] !== 0x0c) return undefined;
  const defOff = u32(b, start + 10);
  const t = ctx.templates.get(defOff);
  if (t === undefined || t instanceof BinXmlError) return undefined;
  const src = t.eventId;
  if (!src || !('index' in src)) return undefined;
  let pos = start + 14;
  if (defOff === pos) pos = defOff + 24 + t.dataSize;
  if (pos + 4 > end) return undefined;
  const count = u32(b, pos);
  pos += 4;
  if (src.index >= count || count * 4 > end - pos) return undefined;
  let v = pos + count * 4;
  for (let i = 0; i < src.index; i++) v += u16(b, pos + 4 * i);
  const d = pos + 4 * src.index;
  if (b[d + 2] !== 0x06 || u16(b, d) !== 2 || v + 2 > end) return undefined;
  return u16(b, v);
}
