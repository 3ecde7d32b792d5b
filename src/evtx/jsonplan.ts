/**
 * Fast JSON output: each template is compiled once into a plan (its fixed JSON text, pre-encoded, with slots
 * for substitution values), and records are written straight into a byte buffer as UTF-8. The result is the
 * same JSON as {@link renderJson} (tests check `JSON.parse` equality on every sample record); elements whose
 * shape depends on runtime values fall back to the object renderer for that element or record.
 */
import { MAX_BINXML_DEPTH, N_ELEM, N_INST, N_SUBST, N_TEXT, parseNested } from './binxml.js';
import type { BxNode, ChunkCtx, ElemNode, Template, TextNode } from './binxml.js';
import { decodeValue, valueSize, valueType } from './binxml-values.js';
import type { Values } from './binxml-values.js';
import { isoSeconds, split, splitFiletime, u32 } from './bytes.js';
import { JsonRenderer, MAX_RENDER_BYTES, MAX_RENDER_NODES, renderJson } from './render.js';
import type { RenderIssues } from './render.js';
import type { EvtxValue } from './types.js';

// ---- byte writer ---------------------------------------------------------------------------------------

const HEXL = '0123456789abcdef';
/** Upper-case hex digits of each byte value: high nibble, low nibble (GUIDs). */
const HEXU_HI = new Uint8Array(256);
const HEXU_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HEXU_HI[i] = '0123456789ABCDEF'.charCodeAt(i >> 4);
  HEXU_LO[i] = '0123456789ABCDEF'.charCodeAt(i & 15);
}
/** 1 for the ASCII code units a JSON string holds as they are (no escape): 0x20–0x7f but `"` and `\`. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1;

/** For {@link JsonBytes.guid}: which stored byte comes i-th in the text, and where (after the quote) its two digits go. */
const GUID_ORDER = new Uint8Array([3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]);
const GUID_AT = new Uint8Array([1, 3, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27, 29, 31, 33, 35]);

/**
 * Fixed UTF-8 text (a plan's literal JSON), pre-encoded as little-endian 32-bit words, the last one padded: written
 * a word at a time (four times fewer steps than bytes; a `set` call costs more than the short copy it makes).
 */
export class Lit {
  readonly words: Uint32Array;
  readonly length: number;
  constructor(text: string | Uint8Array) {
    const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.length = b.length;
    this.words = new Uint32Array((b.length + 3) >> 2);
    for (let i = 0; i < b.length; i++) this.words[i >> 2]! |= b[i]! << (8 * (i & 3));
  }
}

/** Whether the four ASCII bytes of `v` (each < 0x80) need no escape in a JSON string: none below 0x20, none `"` or `\`. */
function plain4(v: number): boolean {
  const q = v ^ 0x22222222;
  const s = v ^ 0x5c5c5c5c;
  // exact "some byte below n" tests for bytes < 0x80 (a zero byte is one below 1)
  return ((((v - 0x20202020) & ~v) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080) === 0;
}

/** `0000`…`9999` as little-endian words of four ASCII digits (numbers and the fraction of timestamps). */
const DIG4 = new Uint32Array(10000);
for (let n = 0; n < 10000; n++) {
  const d = [Math.floor(n / 1000), Math.floor(n / 100) % 10, Math.floor(n / 10) % 10, n % 10];
  DIG4[n] = (0x30 + d[0]!) | ((0x30 + d[1]!) << 8) | ((0x30 + d[2]!) << 16) | ((0x30 + d[3]!) << 24);
}

/** Entries of the small direct-mapped caches of rendered values (timestamps' seconds, hex numbers, GUIDs). */
const CACHE = 64;

/** A growable UTF-8 output buffer. */
export class JsonBytes {
  buf: Buffer;
  pos = 0;
  /** A view of {@link buf} for word writes. */
  private dv: DataView;
  /** A view of the source last read by {@link utf16String} (a chunk's bytes: one per chunk). */
  private src: Uint8Array | null = null;
  private sv: DataView = new DataView(new ArrayBuffer(0));
  constructor(size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }
  /** Room for `n` more bytes, and 4 past them (word writes may run up to 3 bytes past what they keep). */
  reserve(n: number): void {
    if (this.pos + n + 4 <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + 4));
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
    this.dv = new DataView(nb.buffer, nb.byteOffset, nb.length);
  }
  /** Pre-encoded literal text. */
  lit(l: Lit): void {
    const n = l.length;
    this.reserve(n);
    const dv = this.dv;
    const w = l.words;
    let p = this.pos;
    this.pos = p + n;
    for (let i = 0; i < w.length; i++, p += 4) dv.setUint32(p, w[i]!, true);
  }
  /** One byte (ASCII punctuation). */
  byte(c: number): void {
    this.reserve(1);
    this.buf[this.pos++] = c;
  }
  /** A string known to be ASCII (numbers, literals). */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }
  /** Decimal digits of a safe integer. */
  int(n: number): void {
    if (n < 0) {
      this.reserve(1);
      this.buf[this.pos++] = 0x2d;
      n = -n;
    }
    if (n < 10000) {
      // one word from the table, shifted to drop the leading zeros (bytes past the digits are overwritten later)
      const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : 4;
      this.reserve(4);
      this.dv.setUint32(this.pos, DIG4[n]! >>> (8 * (4 - digits)), true);
      this.pos += digits;
      return;
    }
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    this.reserve(digits);
    const buf = this.buf;
    let p = this.pos + digits;
    this.pos = p;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      buf[--p] = 0x30 + (n - q * 10);
      n = q;
    }
    buf[--p] = 0x30 + n;
  }
  /** A FILETIME as a JSON string, `"YYYY-MM-DDTHH:MM:SS.fffffffZ"` (the same text as `filetimeIso`). */
  /** The day (Unix days) of the last timestamp written, and its `"YYYY-MM-DDT` (12 bytes, three words). */
  private ftDay = NaN;
  private readonly ftDate = new Uint32Array(3);
  filetime(lo: number, hi: number): void {
    splitFiletime(lo, hi);
    const sec = split.unixSeconds;
    const day = Math.floor(sec / 86400);
    if (day !== this.ftDay) {
      const prefix = isoSeconds(day * 86400);
      if (prefix.length !== 19) return this.filetimeSlow(isoSeconds(sec));
      const w = new Lit('"' + prefix.slice(0, 11)).words;
      for (let i = 0; i < 3; i++) this.ftDate[i] = w[i]!;
      this.ftDay = day;
    }
    this.reserve(30);
    const dv = this.dv;
    const d = this.ftDate;
    const p = this.pos;
    dv.setUint32(p, d[0]!, true);
    dv.setUint32(p + 4, d[1]!, true);
    dv.setUint32(p + 8, d[2]!, true);
    // `HH:MM:SS` from the second of the day, two digits each (the last two of a table word)
    const tod = sec - day * 86400;
    const h = Math.floor(tod / 3600);
    const m = Math.floor(tod / 60) - h * 60;
    dv.setUint16(p + 12, DIG4[h]! >>> 16, true);
    this.buf[p + 14] = 0x3a;
    dv.setUint16(p + 15, DIG4[m]! >>> 16, true);
    this.buf[p + 17] = 0x3a;
    dv.setUint16(p + 18, DIG4[tod - h * 3600 - m * 60]! >>> 16, true);
    // `.fffffffZ"`: the fraction as 3 + 4 digits
    const f = split.frac;
    const f3 = Math.floor(f / 10000);
    this.buf[p + 20] = 0x2e;
    dv.setUint32(p + 21, DIG4[f3]! >>> 8, true);
    dv.setUint32(p + 24, DIG4[f - f3 * 10000]!, true);
    dv.setUint16(p + 28, 0x225a, true);
    this.pos = p + 30;
  }
  /** {@link filetime} for times whose date is not `YYYY-MM-DD` (before year 1 or after 9999). */
  private filetimeSlow(prefix: string): void {
    this.reserve(prefix.length + 11);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < prefix.length; i++) buf[p++] = prefix.charCodeAt(i);
    buf[p++] = 0x2e;
    let f = split.frac;
    for (let k = 6; k >= 0; k--) {
      const q = Math.floor(f / 10);
      buf[p + k] = 0x30 + (f - q * 10);
      f = q;
    }
    p += 7;
    buf[p++] = 0x5a;
    buf[p++] = 0x22;
    this.pos = p;
  }
  private readonly hexHi = new Float64Array(CACHE).fill(-1);
  private readonly hexLo = new Float64Array(CACHE);
  private readonly hexText: Array<Lit | null> = new Array<Lit | null>(CACHE).fill(null);
  /** `"0x…"`: lower-case hex without leading zeros, of a u32 (hi = 0) or u64. Kept in a small cache (keywords, logon ids repeat). */
  hex(hi: number, lo: number): void {
    const slot = (lo ^ (lo >>> 11) ^ hi ^ (hi >>> 19)) & (CACHE - 1);
    const hit = this.hexText[slot];
    if (hit !== null && this.hexHi[slot] === hi && this.hexLo[slot] === lo) return this.lit(hit!);
    this.reserve(22);
    const buf = this.buf;
    let p = this.pos;
    const start = p;
    buf[p++] = 0x22;
    buf[p++] = 0x30;
    buf[p++] = 0x78;
    let started = false;
    for (let k = 28; k >= 0; k -= 4) {
      const d = (hi >>> k) & 15;
      if (d || started) {
        buf[p++] = HEXL.charCodeAt(d);
        started = true;
      }
    }
    for (let k = 28; k >= 0; k -= 4) {
      const d = (lo >>> k) & 15;
      if (d || started || k === 0) {
        buf[p++] = HEXL.charCodeAt(d);
        started = true;
      }
    }
    buf[p++] = 0x22;
    this.pos = p;
    this.hexHi[slot] = hi;
    this.hexLo[slot] = lo;
    this.hexText[slot] = new Lit(buf.slice(start, p));
  }
  /** A SID as `"S-1-5-21-…"` from its bytes (the sub-authority count is checked by the caller against the value's size). */
  sid(b: Uint8Array, o: number): void {
    this.ascii('"S-');
    this.int(b[o]!);
    this.byte(0x2d);
    // 48-bit big-endian identifier authority
    this.int(b[o + 2]! * 0x10000000000 + b[o + 3]! * 0x100000000 + ((b[o + 4]! << 24) >>> 0) + (b[o + 5]! << 16) + (b[o + 6]! << 8) + b[o + 7]!);
    const n = b[o + 1]!;
    for (let i = 0; i < n; i++) {
      this.byte(0x2d);
      this.int(u32(b, o + 8 + 4 * i));
    }
    this.byte(0x22);
  }
  /** A GUID as `"XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"` (upper case, no braces) from its 16 bytes. */
  private readonly guidKey = new Float64Array(CACHE * 4).fill(-1);
  private readonly guidText: Array<Lit | null> = new Array<Lit | null>(CACHE).fill(null);
  guid(b: Uint8Array, o: number): void {
    // kept in a small cache: providers, logon and activity GUIDs repeat
    const w0 = u32(b, o);
    const w1 = u32(b, o + 4);
    const w2 = u32(b, o + 8);
    const w3 = u32(b, o + 12);
    const slot = (w0 ^ (w0 >>> 13) ^ w1 ^ w2 ^ w3 ^ (w3 >>> 7)) & (CACHE - 1);
    const k = this.guidKey;
    const hit = this.guidText[slot];
    if (hit !== null && k[4 * slot] === w0 && k[4 * slot + 1] === w1 && k[4 * slot + 2] === w2 && k[4 * slot + 3] === w3) return this.lit(hit!);
    this.reserve(38);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = 0x22;
    // bytes in GUID text order: Data1..Data3 little-endian, Data4 as stored; k = output position of each byte's digits
    for (let i = 0; i < 16; i++) {
      const x = b[o + GUID_ORDER[i]!]!;
      const k = p + GUID_AT[i]!;
      buf[k] = HEXU_HI[x]!;
      buf[k + 1] = HEXU_LO[x]!;
    }
    buf[p + 9] = 0x2d;
    buf[p + 14] = 0x2d;
    buf[p + 19] = 0x2d;
    buf[p + 24] = 0x2d;
    buf[p + 37] = 0x22;
    this.pos = p + 38;
    k[4 * slot] = w0;
    k[4 * slot + 1] = w1;
    k[4 * slot + 2] = w2;
    k[4 * slot + 3] = w3;
    this.guidText[slot] = new Lit(buf.slice(p, p + 38));
  }
  /** `"s"` for a string known to be ASCII without characters that need escaping (hex, GUID, timestamps, SIDs). */
  quotedAscii(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    buf[p++] = 0x22;
    this.pos = p;
  }
  /** Any JS string (already JSON text), UTF-8 encoded. */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
  /**
   * A JSON string literal straight from `count` UTF-16LE code units (trailing NULs dropped), escaped exactly
   * as `JSON.stringify` does it: short escapes, `\u00xx` for other controls, lone surrogates as `\udxxx`.
   */
  utf16String(src: Uint8Array, o: number, count: number): void {
    while (count > 0 && src[o + 2 * count - 2] === 0 && src[o + 2 * count - 1] === 0) count--;
    this.reserve(count * 6 + 2);
    const buf = this.buf;
    const dv = this.dv;
    if (src !== this.src) {
      this.src = src;
      this.sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    }
    const sv = this.sv;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < count; i++) {
      // the common case: four code units of printable ASCII at a time
      while (i + 4 <= count) {
        const x = sv.getUint32(o + 2 * i, true);
        const y = sv.getUint32(o + 2 * i + 4, true);
        if (((x | y) & 0xff80ff80) !== 0) break;
        const v = (x & 0xff) | ((x >>> 8) & 0xff00) | ((y & 0xff) << 16) | ((y >>> 16) << 24);
        if (!plain4(v)) break;
        dv.setUint32(p, v, true);
        p += 4;
        i += 4;
      }
      if (i >= count) break;
      const lo = src[o + 2 * i]!;
      const hi = src[o + 2 * i + 1]!;
      if (hi === 0 && PLAIN[lo] === 1) {
        buf[p++] = lo;
        continue;
      }
      const c = lo | (hi << 8);
      if (c < 0x80) {
        if (c >= 0x20 && c !== 0x22 && c !== 0x5c) buf[p++] = c;
        else {
          buf[p++] = 0x5c;
          if (c === 0x22 || c === 0x5c) buf[p++] = c;
          else if (c === 0x0a) buf[p++] = 0x6e;
          else if (c === 0x0d) buf[p++] = 0x72;
          else if (c === 0x09) buf[p++] = 0x74;
          else if (c === 0x08) buf[p++] = 0x62;
          else if (c === 0x0c) buf[p++] = 0x66;
          else {
            buf[p++] = 0x75;
            buf[p++] = 0x30;
            buf[p++] = 0x30;
            buf[p++] = HEXL.charCodeAt(c >> 4);
            buf[p++] = HEXL.charCodeAt(c & 15);
          }
        }
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < count ? src[o + 2 * i + 2]! | (src[o + 2 * i + 3]! << 8) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          buf[p++] = 0xf0 | (cp >> 18);
          buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
          buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
          buf[p++] = 0x80 | (cp & 0x3f);
          i++;
        } else {
          buf[p++] = 0x5c;
          buf[p++] = 0x75;
          for (let k = 12; k >= 0; k -= 4) buf[p++] = HEXL.charCodeAt((c >> k) & 15);
        }
      } else {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    buf[p++] = 0x22;
    this.pos = p;
  }
  /** A copy of what was written since `start`, in a buffer of its own (transferable between threads). */
  copyFrom(start: number): Buffer {
    const out = Buffer.allocUnsafeSlow(this.pos - start);
    this.buf.copy(out, 0, start, this.pos);
    return out;
  }
}


function jsonValue(v: EvtxValue): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return JSON.stringify(v);
  }
}

/** Whether an element's children are all elements with distinct names (no values, no Data special case). */
function plainChildren(el: ElemNode): boolean {
  const cached = (el as ElemNode & { plain?: boolean }).plain;
  if (cached !== undefined) return cached;
  let ok = el.name !== 'EventData' && el.name !== 'UserData' && el.children.length > 0;
  if (ok) {
    const seen = new Set<string>();
    for (const c of el.children) {
      if (c.k !== N_ELEM || seen.has(c.name)) {
        ok = false;
        break;
      }
      seen.add(c.name);
    }
  }
  (el as ElemNode & { plain?: boolean }).plain = ok;
  return ok;
}

/** Generic JSON text: the object renderer serialized, where a template has no fixed shape (one rendering budget with the plan). */
class JsonTextRenderer extends JsonRenderer {
  /** The JSON text of an element's value. */
  elementText(el: ElemNode, vals: Values | null, depth: number): string {
    return JSON.stringify(this.element(el, vals, depth));
  }
}

// ---- compiled JSON plans ------------------------------------------------------------------------------
// A template's JSON is mostly fixed text around substitution values. A plan is that text pre-joined, with
// value slots; elements whose shape depends on runtime values (attributes from substitutions that may be
// absent, nested BinXML, repeated names) fall back to the generic text renderer for that element only.

const OP_LIT = 0;
const OP_SUB = 1;
const OP_DATA = 2;
const OP_GEN = 3;
const OP_LEAF = 4;
const OP_SPLICE = 5;
/** A leaf element whose attributes come from substitutions. */
interface LeafOp {
  el: ElemNode;
  /** Quoted attribute name and colon (UTF-8), the value nodes, and the slot when the value is one substitution. */
  attrs: Array<{ q: Lit; nodes: BxNode[]; sub: number }>;
  /** Content: nothing, one substitution, or literal text (as JSON, UTF-8). */
  sub: number;
  text: Lit | null;
}
/** A nested-BinXML substitution among an element's children: its elements become members of the parent object. */
interface SpliceOp {
  siblings: Set<string>;
  /** Whether members were already written before this op (needs a leading comma). */
  comma: boolean;
  /** The nested template met last here, and whether one of its root names is a sibling's (then the shape changes). */
  lastTemplate: Template | null;
  lastClash: boolean;
}
/**
 * One step of a plan. All steps have the one shape (the plan loop reads them monomorphically): `t` says which fields
 * it uses — literal bytes (OP_LIT), a slot (OP_SUB, OP_DATA, OP_SPLICE) with its element (OP_SUB, OP_DATA, OP_GEN for
 * the generic renderer), a leaf (OP_LEAF) or a splice (OP_SPLICE).
 */
class PlanOp {
  constructor(
    readonly t: number,
    /** Literal text written before the step (OP_LIT: the literal alone). */
    readonly lit: Lit | null,
    readonly index: number,
    readonly el: ElemNode | null,
    readonly leaf: LeafOp | null,
    readonly splice: SpliceOp | null,
  ) {}
}
/** Thrown inside a plan when runtime values change the shape; the record is then rendered generically. */
const FALLBACK = new Error('plan fallback');
type Plan = PlanOp[];
const plans = new WeakMap<Template, Plan>();

function literalAttrs(el: ElemNode): string | null {
  let a = '';
  for (const at of el.attrs) {
    if (!at.value.every((n) => n.k === N_TEXT)) return null;
    a += (a ? ',' : '') + JSON.stringify(at.name) + ':' + JSON.stringify(at.value.map((n) => (n as TextNode).text).join(''));
  }
  return a;
}

function dataName(el: ElemNode): string | null {
  if (el.name !== 'Data' || el.attrs.length !== 1 || el.attrs[0]!.name !== 'Name') return null;
  const v = el.attrs[0]!.value;
  if (v.length === 0 || !v.every((n) => n.k === N_TEXT)) return null;
  const name = v.map((n) => (n as TextNode).text).join('');
  return name === '' ? null : name;
}

class PlanBuilder {
  ops: PlanOp[] = [];
  text = '';
  lit(s: string): void {
    this.text += s;
  }
  /** The literal text so far, taken (null when none). */
  private takeText(): Lit | null {
    const lit = this.text ? new Lit(this.text) : null;
    this.text = '';
    return lit;
  }
  private op(t: number, index: number, el: ElemNode | null, leaf: LeafOp | null = null, splice: SpliceOp | null = null): void {
    this.ops.push(new PlanOp(t, this.takeText(), index, el, leaf, splice));
  }
  done(): Plan {
    const lit = this.takeText();
    if (lit) this.ops.push(new PlanOp(OP_LIT, lit, -1, null, null, null));
    return this.ops;
  }

  /** Emit the JSON value of `el`. */
  elem(el: ElemNode): void {
    const attrs = literalAttrs(el);
    const ch = el.children;
    if (attrs === null) {
      // attributes from substitutions: a leaf (no child elements) is handled by a dedicated op
      if (!el.attrs.every((a) => a.value.every((n) => n.k === N_TEXT || n.k === N_SUBST))) return this.op(OP_GEN, -1, el);
      const attrs = el.attrs.map((a) => ({
        q: new Lit(JSON.stringify(a.name) + ':'),
        nodes: a.value,
        sub: a.value.length === 1 && a.value[0]!.k === N_SUBST ? a.value[0]!.index : -1,
      }));
      const leaf: LeafOp = { el, attrs, sub: -1, text: null };
      if (ch.length === 1 && ch[0]!.k === N_SUBST) leaf.sub = ch[0]!.index;
      else if (ch.length && ch.every((n) => n.k === N_TEXT)) leaf.text = new Lit(JSON.stringify(ch.map((n) => (n as TextNode).text).join('')));
      else if (ch.length) return this.op(OP_GEN, -1, el);
      return this.op(OP_LEAF, -1, el, leaf);
    }
    if (ch.length === 0) return this.lit(attrs ? `{"#attributes":{${attrs}}}` : 'null');
    if (ch.every((n) => n.k === N_TEXT)) {
      const text = JSON.stringify(ch.map((n) => (n as TextNode).text).join(''));
      return this.lit(attrs ? `{"#attributes":{${attrs}},"#text":${text}}` : text);
    }
    if (!attrs && ch.length === 1 && ch[0]!.k === N_SUBST) return this.op(OP_SUB, ch[0]!.index, el);
    if (el.name === 'EventData' || el.name === 'UserData') {
      // <Data Name="literal">%n</Data> children with distinct names, or plain elements
      const seen = new Set<string>();
      const parts: Array<() => void> = [];
      for (const c of ch) {
        if (c.k !== N_ELEM) return this.op(OP_GEN, -1, el);
        const dn = c.name === 'Data' ? dataName(c) : null;
        if (c.name === 'Data' && dn === null) return this.op(OP_GEN, -1, el);
        const key = dn ?? c.name;
        if (seen.has(key)) return this.op(OP_GEN, -1, el);
        seen.add(key);
        if (dn !== null) {
          if (c.children.length === 1 && c.children[0]!.k === N_SUBST) {
            const index = c.children[0]!.index;
            parts.push(() => {
              this.lit(JSON.stringify(key) + ':');
              this.op(OP_DATA, index, c);
            });
          } else if (c.children.every((n) => n.k === N_TEXT)) {
            const text = c.children.map((n) => (n as TextNode).text).join('');
            parts.push(() => this.lit(JSON.stringify(key) + ':' + JSON.stringify(text)));
          } else return this.op(OP_GEN, -1, el);
        } else
          parts.push(() => {
            this.lit(JSON.stringify(key) + ':');
            this.elem(c);
          });
      }
      this.lit(attrs ? `{"#attributes":{${attrs}}` : '{');
      parts.forEach((p, i) => {
        if (i > 0 || attrs) this.lit(',');
        p();
      });
      return this.lit('}');
    }
    if (plainChildren(el)) {
      this.lit(attrs ? `{"#attributes":{${attrs}}` : '{');
      ch.forEach((c, i) => {
        this.lit((i > 0 || attrs ? ',' : '') + JSON.stringify((c as ElemNode).name) + ':');
        this.elem(c as ElemNode);
      });
      return this.lit('}');
    }
    // elements plus nested-BinXML substitutions (e.g. <Event><System/>%1</Event> with %1 = EventData)
    const elems = ch.filter((n): n is ElemNode => n.k === N_ELEM);
    const names = new Set(elems.map((e) => e.name));
    if (
      el.name !== 'EventData' &&
      el.name !== 'UserData' &&
      names.size === elems.length &&
      ch.every((n) => n.k === N_ELEM || (n.k === N_SUBST && n.type === 0x21))
    ) {
      this.lit(attrs ? `{"#attributes":{${attrs}}` : '{');
      let comma = attrs !== '';
      for (const c of ch) {
        if (c.k === N_ELEM) {
          this.lit((comma ? ',' : '') + JSON.stringify(c.name) + ':');
          this.elem(c);
          comma = true;
        } else if (c.k === N_SUBST) {
          this.op(OP_SPLICE, c.index, null, null, { siblings: names, comma, lastTemplate: null, lastClash: false });
          comma = true;
        }
      }
      return this.lit('}');
    }
    return this.op(OP_GEN, -1, el);
  }
}

/**
 * A plan writes its text and values without counting them, so it is used only when its output is bounded well inside
 * the rendering budget: its literal text (names and text of the template, which a hostile template can make large by
 * pointing many names at one long string), plus its values: every value of a record lies in its chunk (64 KiB, at
 * most 3 bytes of JSON per stored byte) and a slot used m times is written m times. Other templates (only hostile
 * files have them) are rendered by the generic renderer, which counts what it writes.
 */
function boundedOutput(t: Template): boolean {
  const uses = new Map<number, number>();
  let most = 0;
  let literal = 0;
  const walk = (nodes: BxNode[]): void => {
    for (const n of nodes) {
      if (n.k === N_SUBST) {
        const u = (uses.get(n.index) ?? 0) + 1;
        uses.set(n.index, u);
        if (u > most) most = u;
      } else if (n.k === N_TEXT) literal += n.text.length;
      else if (n.k === N_ELEM) {
        literal += n.name.length;
        for (const a of n.attrs) {
          literal += a.name.length;
          walk(a.value);
        }
        walk(n.children);
      }
    }
  };
  walk(t.root);
  return 6 * literal + most * 3 * 0x10000 <= MAX_RENDER_BYTES / 2;
}

/** A plan for a nested template's members, with its literal text size (counted in the budget each time it runs). */
interface MembersPlan {
  ops: Plan;
  literal: number;
}
const memberPlans = new WeakMap<Template, MembersPlan | null>();

/** Plan for a template's root elements written as object members (no braces), or null when not plannable. */
function membersPlanFor(t: Template): MembersPlan | null {
  let plan = memberPlans.get(t);
  if (plan !== undefined) return plan;
  const roots = t.root.filter((n): n is ElemNode => n.k === N_ELEM);
  const names = new Set(roots.map((r) => r.name));
  if (roots.length === 0 || roots.length !== t.root.length || names.size !== roots.length || !boundedOutput(t)) plan = null;
  else {
    const b = new PlanBuilder();
    roots.forEach((r, i) => {
      b.lit((i ? ',' : '') + JSON.stringify(r.name) + ':');
      b.elem(r);
    });
    const ops = b.done();
    let literal = 0;
    for (const op of ops) if (op.lit) literal += op.lit.length;
    plan = { ops, literal };
  }
  memberPlans.set(t, plan);
  return plan;
}

function planFor(t: Template): Plan {
  let plan = plans.get(t);
  if (plan) return plan;
  const b = new PlanBuilder();
  const roots = t.root.filter((n): n is ElemNode => n.k === N_ELEM);
  const names = new Set(roots.map((r) => r.name));
  if (roots.length !== t.root.length || names.size !== roots.length || !boundedOutput(t)) {
    plan = [];
  } else {
    b.lit('{');
    roots.forEach((r, i) => {
      b.lit((i ? ',' : '') + JSON.stringify(r.name) + ':');
      b.elem(r);
    });
    b.lit('}');
    plan = b.done();
  }
  plans.set(t, plan);
  return plan;
}

const ATTRS_OPEN = new Lit('{"#attributes":{');
const TEXT_KEY = new Lit('},"#text":');

/**
 * The record being written: its chunk and where its problems go, and the generic renderer (which also keeps the
 * record's rendering budget), made on first use: most records written from a plan never need it.
 */
class RecordWrite {
  private r: JsonTextRenderer | null = null;
  /** What splices spent of the record's rendering budget before the renderer was made (it takes them over). */
  private nodes = 0;
  private bytes = 0;
  constructor(
    readonly ctx: ChunkCtx,
    readonly issues: RenderIssues,
  ) {}
  get renderer(): JsonTextRenderer {
    if (this.r === null) {
      this.r = new JsonTextRenderer(this.ctx, this.issues);
      this.r.nodes += this.nodes;
      this.r.bytes += this.bytes;
    }
    return this.r;
  }
  /**
   * Count `nodes` visited and `bytes` written in the record's budget (see `Resolver.visit`, `Resolver.spend`); false
   * once it is spent. Kept here while within the budget, so that a record written by plans alone makes no renderer.
   */
  spend(nodes: number, bytes: number): boolean {
    if (this.r === null) {
      this.nodes += nodes;
      this.bytes += bytes;
      // within this record's share of the budget (as the renderer computes it): nothing to report
      const scale = this.issues.renderScale ?? 1;
      if (this.nodes <= Math.floor(MAX_RENDER_NODES * scale) && this.bytes <= Math.floor(MAX_RENDER_BYTES * scale)) return true;
      return this.renderer.visit(0) && this.renderer.spend(0);
    }
    return this.r.visit(nodes) && this.r.spend(bytes);
  }
}

function isNull(vals: Values, i: number): boolean {
  return i >= vals.count || valueType(vals, i) === 0 || valueSize(vals, i) === 0;
}

/** A leaf element whose attributes come from substitutions: absent ones are left out, and with none left the element is its content alone. */
function writeLeaf(out: JsonBytes, w: RecordWrite, op: LeafOp, vals: Values): void {
  if (op.sub >= 0 && !isNull(vals, op.sub) && valueType(vals, op.sub) === 0x21) return out.text(w.renderer.elementText(op.el, vals, 1));
  const start = out.pos;
  out.lit(ATTRS_OPEN);
  let n = 0;
  for (let i = 0; i < op.attrs.length; i++) {
    const at = op.attrs[i]!;
    if (at.sub >= 0) {
      if (isNull(vals, at.sub) || valueType(vals, at.sub) === 0x21) continue;
      if (n++) out.byte(0x2c);
      out.lit(at.q);
      writeValue(out, vals, at.sub);
    } else {
      const v = w.renderer.attr(at.nodes, vals);
      if (v === null) continue;
      if (n++) out.byte(0x2c);
      out.lit(at.q);
      out.text(jsonValue(v));
    }
  }
  const hasText = op.sub >= 0 ? !isNull(vals, op.sub) : op.text !== null;
  if (n === 0) out.pos = start;
  else if (hasText) out.lit(TEXT_KEY);
  if (hasText) {
    if (op.sub >= 0) writeValue(out, vals, op.sub);
    else out.lit(op.text!);
  } else if (n === 0) out.ascii('null');
  else out.byte(0x7d);
  if (n > 0) out.byte(0x7d);
}

/** Write substitution `i` as a JSON value (never nested BinXML: callers check that first). */
function writeValue(out: JsonBytes, vals: Values, i: number): void {
  const b = vals.buf;
  const d = vals.desc + 4 * i;
  const type = b[d + 2]!;
  const size = b[d]! | (b[d + 1]! << 8);
  const o = vals.offsets[i]!;
  switch (type) {
    case 0x01:
      if (size > 0) return out.utf16String(b, o, size >> 1);
      break;
    case 0x04:
      if (size >= 1) return out.int(b[o]!);
      break;
    case 0x06:
      if (size >= 2) return out.int(b[o]! | (b[o + 1]! << 8));
      break;
    case 0x08:
      if (size >= 4) return out.int((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000);
      break;
    case 0x07:
      if (size >= 4) return out.int(b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24));
      break;
    case 0x0a: // UInt64 below 2^53 (record ids, counters)
      if (size >= 8 && u32(b, o + 4) < 0x200000) return out.int(u32(b, o + 4) * 0x100000000 + u32(b, o));
      break;
    case 0x0f:
      if (size >= 16) return out.guid(b, o);
      break;
    case 0x11:
      if (size >= 8) return out.filetime(u32(b, o), u32(b, o + 4));
      break;
    case 0x14:
      if (size >= 4) return out.hex(0, u32(b, o));
      break;
    case 0x15:
      if (size >= 8) return out.hex(u32(b, o + 4), u32(b, o));
      break;
    case 0x13: // SID: `"S-rev-authority-sub-…"` (the text of `sid` in bytes.ts), when the bytes are one
      if (size >= 8 && 8 + 4 * b[o + 1]! <= size) return out.sid(b, o);
      break;
  }
  const v = decodeValue(vals, i);
  if (typeof v === 'number') out.ascii(Number.isFinite(v) ? String(v) : 'null');
  else if (v === null) out.ascii('null');
  else if (typeof v === 'string' && type >= 0x0e && type <= 0x15) out.quotedAscii(v as string); // hex, GUID, SizeT, times, SID
  else if (typeof v === 'boolean') out.ascii(v ? 'true' : 'false');
  else out.text(jsonValue(v as EvtxValue));
}

/**
 * Members (`"Name":value,…`) of a nested BinXML substitution; false when it holds nothing. Splices nest (a nested
 * value may splice further nested values) and one value may be spliced many times, so each splice is counted in the
 * record's rendering budget; over budget or too deep, the record goes to the generic renderer, which truncates it.
 */
function runSplice(out: JsonBytes, w: RecordWrite, index: number, op: SpliceOp, vals: Values, depth: number): boolean {
  if (isNull(vals, index)) return false;
  const v = valueType(vals, index) === 0x21 ? null : decodeValue(vals, index);
  if (v !== null || valueType(vals, index) !== 0x21) {
    if (v === null) return false;
    throw FALLBACK; // not nested BinXML
  }
  const start = vals.offsets[index]!;
  const end = start + valueSize(vals, index);
  if (depth >= MAX_BINXML_DEPTH) {
    w.renderer.stop(`nested BinXML deeper than ${MAX_BINXML_DEPTH} levels`);
    throw FALLBACK;
  }
  if (!w.spend(0, end - start)) throw FALLBACK;
  let nodes: BxNode[];
  try {
    nodes = parseNested(w.ctx, start, end, depth + 1);
  } catch {
    throw FALLBACK; // the generic renderer reports the problem
  }
  if (nodes.length === 1 && nodes[0]!.k === N_INST) {
    const t = nodes[0]!.template;
    const plan = membersPlanFor(t);
    if (op.lastTemplate !== t) {
      op.lastTemplate = t;
      op.lastClash = t.root.some((n) => n.k === N_ELEM && op.siblings.has(n.name));
    }
    if (plan && !op.lastClash) {
      if (!w.spend(plan.ops.length, plan.literal)) throw FALLBACK;
      runPlan(out, w, plan.ops, nodes[0]!.values, depth + 1);
      return true;
    }
  }
  throw FALLBACK;
}

function runPlan(out: JsonBytes, w: RecordWrite, plan: Plan, vals: Values, depth: number): void {
  for (let i = 0; i < plan.length; i++) {
    const op = plan[i]!;
    if (op.lit !== null) out.lit(op.lit);
    switch (op.t) {
      case OP_LIT:
        break;
      case OP_GEN:
        out.text(w.renderer.elementText(op.el!, vals, 1));
        break;
      case OP_LEAF:
        writeLeaf(out, w, op.leaf!, vals);
        break;
      case OP_SPLICE: {
        const start = out.pos;
        const sp = op.splice!;
        if (sp.comma) out.byte(0x2c);
        if (!runSplice(out, w, op.index, sp, vals, depth)) {
          out.pos = start;
          // nothing spliced after other members: the text stays valid; as the first member the shape changes
          if (!sp.comma) throw FALLBACK;
        }
        break;
      }
      default: {
        // OP_SUB, OP_DATA
        const index = op.index;
        if (index >= vals.count) out.ascii('null');
        else if (valueType(vals, index) === 0x21 && valueSize(vals, index) > 0) {
          const r = w.renderer;
          out.text(op.t === OP_SUB ? r.elementText(op.el!, vals, 1) : jsonValue(r.dataValue(op.el!, vals, 1)));
        } else writeValue(out, vals, index);
      }
    }
  }
}

/** Write a record's JSON (the same as `JSON.stringify(renderJson(...))`) into `out`. */
export function renderJsonBytes(nodes: BxNode[], ctx: ChunkCtx, issues: RenderIssues, out: JsonBytes): void {
  const start = out.pos;
  if (nodes.length === 1 && nodes[0]!.k === N_INST) {
    const plan = planFor(nodes[0]!.template);
    if (plan.length) {
      try {
        runPlan(out, new RecordWrite(ctx, issues), plan, nodes[0]!.values, 0);
        return;
      } catch (e) {
        if (e !== FALLBACK) throw e;
        out.pos = start;
      }
    }
  }
  out.text(JSON.stringify(renderJson(nodes, ctx, issues)));
}

const scratch = new JsonBytes();

/** A record's JSON as text; `JSON.parse` of it equals {@link renderJson}. */
export function renderJsonText(nodes: BxNode[], ctx: ChunkCtx, issues: RenderIssues): string {
  scratch.pos = 0;
  renderJsonBytes(nodes, ctx, issues, scratch);
  return scratch.buf.toString('utf8', 0, scratch.pos);
}
