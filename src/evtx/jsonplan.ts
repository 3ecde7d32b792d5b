/**
 * Fast JSON output: each template is compiled once into a plan (its fixed JSON text, pre-encoded, with slots
 * for substitution values), and records are written straight into a byte buffer as UTF-8. The result is the
 * same JSON as {@link renderJson} (tests check `JSON.parse` equality on every sample record); elements whose
 * shape depends on runtime values fall back to the object renderer for that element or record.
 */
import { MAX_BINXML_DEPTH, N_ELEM, N_INST, N_SUBST, N_TEXT, decodeValue, isNested, parseNested, valueSize, valueType } from './binxml.js';
import type { BxNode, ChunkCtx, ElemNode, Template, TextNode, Values } from './binxml.js';
import { isoSeconds, split, splitFiletime, u32 } from './bytes.js';
import { JsonRenderer, MAX_RENDER_BYTES, renderJson } from './render.js';
import type { RenderIssues } from './render.js';
import type { EvtxValue } from './types.js';

// ---- byte writer ---------------------------------------------------------------------------------------

const HEXL = '0123456789abcdef';
const HEXU = '0123456789ABCDEF';

/** A growable UTF-8 output buffer. */
export class JsonBytes {
  buf: Buffer;
  pos = 0;
  constructor(size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size);
  }
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.reserve(n);
    const buf = this.buf;
    let p = this.pos;
    if (n < 24) for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    else {
      buf.set(b, p);
      p += n;
    }
    this.pos = p;
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
    if (n < 10) {
      this.reserve(1);
      this.buf[this.pos++] = 0x30 + n;
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
  filetime(lo: number, hi: number): void {
    splitFiletime(lo, hi);
    const prefix = isoSeconds(split.unixSeconds);
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
  /** `"0x…"`: lower-case hex without leading zeros, of a u32 (hi = 0) or u64. */
  hex(hi: number, lo: number): void {
    this.reserve(22);
    const buf = this.buf;
    let p = this.pos;
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
  }
  /** A GUID as `"XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"` (upper case, no braces) from its 16 bytes. */
  guid(b: Uint8Array, o: number): void {
    this.reserve(38);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    const put = (x: number): void => {
      buf[p++] = HEXU.charCodeAt(x >> 4);
      buf[p++] = HEXU.charCodeAt(x & 15);
    };
    put(b[o + 3]!);
    put(b[o + 2]!);
    put(b[o + 1]!);
    put(b[o]!);
    buf[p++] = 0x2d;
    put(b[o + 5]!);
    put(b[o + 4]!);
    buf[p++] = 0x2d;
    put(b[o + 7]!);
    put(b[o + 6]!);
    buf[p++] = 0x2d;
    put(b[o + 8]!);
    put(b[o + 9]!);
    buf[p++] = 0x2d;
    for (let i = 10; i < 16; i++) put(b[o + i]!);
    buf[p++] = 0x22;
    this.pos = p;
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
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < count; i++) {
      const c = src[o + 2 * i]! | (src[o + 2 * i + 1]! << 8);
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

const OP_SUB = 1;
const OP_DATA = 2;
const OP_GEN = 3;
const OP_LEAF = 4;
interface LeafOp {
  t: 4;
  el: ElemNode;
  /** Quoted attribute name and colon (UTF-8), the value nodes, and the slot when the value is one substitution. */
  attrs: Array<{ q: Uint8Array; nodes: BxNode[]; sub: number }>;
  /** Content: nothing, one substitution, or literal text (as JSON, UTF-8). */
  sub: number;
  text: Uint8Array | null;
}
const OP_SPLICE = 5;
/** A nested-BinXML substitution among an element's children: its elements become members of the parent object. */
interface SpliceOp {
  t: 5;
  index: number;
  siblings: Set<string>;
  /** Whether members were already written before this op (needs a leading comma). */
  comma: boolean;
}
type PlanOp = Uint8Array | { t: 1; index: number; el: ElemNode } | { t: 2; index: number; el: ElemNode } | { t: 3; el: ElemNode } | LeafOp | SpliceOp;
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
  private flushText(): void {
    if (this.text) this.ops.push(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }
  op(o: Exclude<PlanOp, Uint8Array>): void {
    this.flushText();
    this.ops.push(o);
  }
  done(): Plan {
    this.flushText();
    return this.ops;
  }

  /** Emit the JSON value of `el`. */
  elem(el: ElemNode): void {
    const attrs = literalAttrs(el);
    const ch = el.children;
    if (attrs === null) {
      // attributes from substitutions: a leaf (no child elements) is handled by a dedicated op
      if (!el.attrs.every((a) => a.value.every((n) => n.k === N_TEXT || n.k === N_SUBST))) return this.op({ t: OP_GEN, el });
      const attrs = el.attrs.map((a) => ({
        q: Buffer.from(JSON.stringify(a.name) + ':'),
        nodes: a.value,
        sub: a.value.length === 1 && a.value[0]!.k === N_SUBST ? a.value[0]!.index : -1,
      }));
      const leaf: LeafOp = { t: OP_LEAF, el, attrs, sub: -1, text: null };
      if (ch.length === 1 && ch[0]!.k === N_SUBST) leaf.sub = ch[0]!.index;
      else if (ch.length && ch.every((n) => n.k === N_TEXT)) leaf.text = Buffer.from(JSON.stringify(ch.map((n) => (n as TextNode).text).join('')));
      else if (ch.length) return this.op({ t: OP_GEN, el });
      return this.op(leaf);
    }
    if (ch.length === 0) return this.lit(attrs ? `{"#attributes":{${attrs}}}` : 'null');
    if (ch.every((n) => n.k === N_TEXT)) {
      const text = JSON.stringify(ch.map((n) => (n as TextNode).text).join(''));
      return this.lit(attrs ? `{"#attributes":{${attrs}},"#text":${text}}` : text);
    }
    if (!attrs && ch.length === 1 && ch[0]!.k === N_SUBST) return this.op({ t: OP_SUB, index: ch[0]!.index, el });
    if (el.name === 'EventData' || el.name === 'UserData') {
      // <Data Name="literal">%n</Data> children with distinct names, or plain elements
      const seen = new Set<string>();
      const parts: Array<() => void> = [];
      for (const c of ch) {
        if (c.k !== N_ELEM) return this.op({ t: OP_GEN, el });
        const dn = c.name === 'Data' ? dataName(c) : null;
        if (c.name === 'Data' && dn === null) return this.op({ t: OP_GEN, el });
        const key = dn ?? c.name;
        if (seen.has(key)) return this.op({ t: OP_GEN, el });
        seen.add(key);
        if (dn !== null) {
          if (c.children.length === 1 && c.children[0]!.k === N_SUBST) {
            const index = c.children[0]!.index;
            parts.push(() => {
              this.lit(JSON.stringify(key) + ':');
              this.op({ t: OP_DATA, index, el: c });
            });
          } else if (c.children.every((n) => n.k === N_TEXT)) {
            const text = c.children.map((n) => (n as TextNode).text).join('');
            parts.push(() => this.lit(JSON.stringify(key) + ':' + JSON.stringify(text)));
          } else return this.op({ t: OP_GEN, el });
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
          this.op({ t: OP_SPLICE, index: c.index, siblings: names, comma });
          comma = true;
        }
      }
      return this.lit('}');
    }
    return this.op({ t: OP_GEN, el });
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
    for (const op of ops) if (op instanceof Uint8Array) literal += op.length;
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

const ATTRS_OPEN = Buffer.from('{"#attributes":{');
const TEXT_KEY = Buffer.from('},"#text":');

function isNull(vals: Values, i: number): boolean {
  return i >= vals.count || valueType(vals, i) === 0 || valueSize(vals, i) === 0;
}

/** A leaf element whose attributes come from substitutions: absent ones are left out, and with none left the element is its content alone. */
function writeLeaf(out: JsonBytes, r: JsonTextRenderer, op: LeafOp, vals: Values): void {
  if (op.sub >= 0 && !isNull(vals, op.sub) && valueType(vals, op.sub) === 0x21) return out.text(r.elementText(op.el, vals, 1));
  const start = out.pos;
  out.bytes(ATTRS_OPEN);
  let n = 0;
  for (let i = 0; i < op.attrs.length; i++) {
    const at = op.attrs[i]!;
    if (at.sub >= 0) {
      if (isNull(vals, at.sub) || valueType(vals, at.sub) === 0x21) continue;
      if (n++) out.bytes(COMMA);
      out.bytes(at.q);
      writeValue(out, vals, at.sub);
    } else {
      const v = r.attr(at.nodes, vals);
      if (v === null) continue;
      if (n++) out.bytes(COMMA);
      out.bytes(at.q);
      out.text(jsonValue(v));
    }
  }
  const hasText = op.sub >= 0 ? !isNull(vals, op.sub) : op.text !== null;
  if (n === 0) out.pos = start;
  else if (hasText) out.bytes(TEXT_KEY);
  if (hasText) {
    if (op.sub >= 0) writeValue(out, vals, op.sub);
    else out.bytes(op.text!);
  } else if (n === 0) out.ascii('null');
  else out.ascii('}');
  if (n > 0) out.ascii('}');
}

const COMMA = Buffer.from(',');

/** Write substitution `i` as a JSON value (never nested BinXML: callers check that first). */
function writeValue(out: JsonBytes, vals: Values, i: number): void {
  const type = valueType(vals, i);
  const size = valueSize(vals, i);
  const b = vals.buf;
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
  }
  const v = decodeValue(vals, i);
  if (typeof v === 'number') out.ascii(Number.isFinite(v) ? String(v) : 'null');
  else if (v === null) out.ascii('null');
  else if (typeof v === 'string' && type >= 0x0e && type <= 0x15) out.quotedAscii(v as string); // hex, GUID, SizeT, times, SID
  else if (typeof v === 'boolean') out.ascii(v ? 'true' : 'false');
  else out.text(jsonValue(v as EvtxValue));
}

/** Members (`"Name":value,…`) of a nested BinXML substitution; false when it holds nothing. */
/**
 * Members (`"Name":value,…`) of a nested BinXML substitution; false when it holds nothing. Splices nest (a nested
 * value may splice further nested values) and one value may be spliced many times, so each splice is counted in the
 * record's rendering budget; over budget or too deep, the record goes to the generic renderer, which truncates it.
 */
function runSplice(out: JsonBytes, r: JsonTextRenderer, op: SpliceOp, vals: Values, depth: number): boolean {
  const v = decodeValue(vals, op.index);
  if (v === null) return false;
  if (!isNested(v)) throw FALLBACK;
  if (depth >= MAX_BINXML_DEPTH) {
    r.stop(`nested BinXML deeper than ${MAX_BINXML_DEPTH} levels`);
    throw FALLBACK;
  }
  if (!r.spend(v.end - v.start)) throw FALLBACK;
  let nodes: BxNode[];
  try {
    nodes = parseNested(r.ctx, v.start, v.end, depth + 1);
  } catch {
    throw FALLBACK; // the generic renderer reports the problem
  }
  if (nodes.length === 1 && nodes[0]!.k === N_INST) {
    const t = nodes[0]!.template;
    const plan = membersPlanFor(t);
    if (plan && !t.root.some((n) => n.k === N_ELEM && op.siblings.has(n.name))) {
      if (!r.visit(plan.ops.length) || !r.spend(plan.literal)) throw FALLBACK;
      runPlan(out, r, plan.ops, nodes[0]!.values, depth + 1);
      return true;
    }
  }
  throw FALLBACK;
}

function runPlan(out: JsonBytes, r: JsonTextRenderer, plan: Plan, vals: Values, depth: number): void {
  for (let i = 0; i < plan.length; i++) {
    const op = plan[i]!;
    if (op instanceof Uint8Array) {
      out.bytes(op);
      continue;
    }
    switch (op.t) {
      case OP_GEN:
        out.text(r.elementText(op.el, vals, 1));
        break;
      case OP_LEAF:
        writeLeaf(out, r, op, vals);
        break;
      case OP_SPLICE: {
        const start = out.pos;
        if (op.comma) out.bytes(COMMA);
        if (!runSplice(out, r, op, vals, depth)) {
          out.pos = start;
          // nothing spliced after other members: the text stays valid; as the first member the shape changes
          if (!op.comma) throw FALLBACK;
        }
        break;
      }
      default: {
        if (op.index >= vals.count) out.ascii('null');
        else if (valueType(vals, op.index) === 0x21 && valueSize(vals, op.index) > 0) {
          out.text(op.t === OP_SUB ? r.elementText(op.el, vals, 1) : jsonValue(r.dataValue(op.el, vals, 1)));
        } else writeValue(out, vals, op.index);
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
        runPlan(out, new JsonTextRenderer(ctx, issues), plan, nodes[0]!.values, 0);
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
