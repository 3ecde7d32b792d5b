/**
 * Rendering of a record's BinXML node tree to JSON (the shape the Rust `evtx` crate emits) and to XML.
 *
 * JSON rules (see README "JSON shape"): an element with only text → its value; with attributes →
 * `{"#attributes": {...}, "#text": v}`; empty → null; children → nested object in document order; repeated
 * sibling names → `Name`, `Name_1`, `Name_2` … in document order; `<Data Name="X">v</Data>` directly under
 * EventData/UserData → `"X": v`; unnamed Data → `"Data": {"#text": v | [v, …]}`. Integers and booleans stay
 * JSON numbers/booleans (integers beyond 2^53 become decimal strings), timestamps carry 7 fractional digits.
 */
import { N_CDATA, N_ELEM, N_INST, N_PI, N_SUBST, N_TEXT, decodeValue, isNested, parseNested } from './binxml.js';
import type { BxNode, ChunkCtx, ElemNode, Template, TextNode, Values } from './binxml.js';
import type { EvtxJsonObject, EvtxValue } from './types.js';

const MAX_DEPTH = 96;

/** Problems met while rendering (e.g. a nested BinXML value that does not parse); rendering goes on. */
export interface RenderIssues {
  messages: string[];
}

export function valueToString(v: EvtxValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(valueToString).join(',');
  return JSON.stringify(v);
}

/** Resolved content of an element: child elements (with their values context) and text values, in order. */
type Item = { el: ElemNode; vals: Values | null } | { text: EvtxValue; isNull: boolean } | { cdata: string } | { pi: string; data: string };

class Resolver {
  constructor(
    readonly ctx: ChunkCtx,
    readonly issues: RenderIssues,
  ) {}

  /** Flatten content nodes: expand template instances and nested BinXML substitutions. */
  content(nodes: BxNode[], vals: Values | null, depth: number, out: Item[]): Item[] {
    if (depth > MAX_DEPTH) {
      this.issues.messages.push('content nested too deeply; truncated');
      return out;
    }
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      switch (n.k) {
        case N_ELEM:
          out.push({ el: n, vals });
          break;
        case N_TEXT:
          out.push({ text: n.text, isNull: false });
          break;
        case N_SUBST: {
          if (!vals) {
            out.push({ text: null, isNull: true });
            break;
          }
          const v = decodeValue(vals, n.index);
          if (isNested(v)) {
            try {
              const inner = parseNested(this.ctx, v.start, v.end, depth);
              this.content(inner, null, depth + 1, out);
            } catch (e) {
              this.issues.messages.push(`nested BinXML at chunk offset 0x${v.start.toString(16)}: ${e instanceof Error ? e.message : String(e)}`);
            }
          } else out.push({ text: v, isNull: v === null });
          break;
        }
        case N_CDATA:
          out.push({ cdata: n.text });
          break;
        case N_PI:
          out.push({ pi: n.target, data: n.data });
          break;
        case N_INST:
          this.content(n.template.root, n.values, depth + 1, out);
          break;
      }
    }
    return out;
  }

  /** Attribute value: null when absent (every part null), typed when a single substitution, else joined text. */
  attr(nodes: BxNode[], vals: Values | null): EvtxValue {
    if (nodes.length === 1) {
      const n = nodes[0]!;
      if (n.k === N_TEXT) return n.text;
      if (n.k === N_SUBST) return this.scalarValue(n.index, vals);
    }
    let s = '';
    let any = false;
    for (const n of nodes) {
      if (n.k === N_TEXT) {
        s += n.text;
        any = true;
      } else if (n.k === N_SUBST) {
        const v = this.scalarValue(n.index, vals);
        if (v !== null) {
          s += valueToString(v);
          any = true;
        }
      } else if (n.k === N_CDATA) {
        s += n.text;
        any = true;
      }
    }
    return any ? s : null;
  }

  scalarValue(index: number, vals: Values | null): EvtxValue {
    if (!vals) return null;
    const v = decodeValue(vals, index);
    if (isNested(v)) return null;
    return v;
  }
}

// ---- JSON --------------------------------------------------------------------------------------------

/** Set an own, enumerable key, also for names such as `__proto__` that plain assignment would not create. */
function setKey(obj: EvtxJsonObject, key: string, value: EvtxValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** Insert under `key`, or `key_1`, `key_2`, … when taken (evidence names are never trusted as plain keys). */
function insertUnique(obj: EvtxJsonObject, key: string, value: EvtxValue): void {
  if (!Object.hasOwn(obj, key)) {
    setKey(obj, key, value);
    return;
  }
  let n = 1;
  while (Object.hasOwn(obj, `${key}_${n}`)) n++;
  setKey(obj, `${key}_${n}`, value);
}

function joinText(texts: EvtxValue[]): EvtxValue {
  if (texts.length === 1) return texts[0]!;
  let s = '';
  for (const t of texts) s += valueToString(t);
  return s;
}

class JsonRenderer extends Resolver {
  element(el: ElemNode, vals: Values | null, depth: number): EvtxValue {
    let attrs: EvtxJsonObject | null = null;
    for (let i = 0; i < el.attrs.length; i++) {
      const a = el.attrs[i]!;
      const v = this.attr(a.value, vals);
      if (v === null) continue;
      setKey((attrs ??= {}), a.name, v);
    }
    const items = this.content(el.children, vals, depth, []);
    const isContainer = el.name === 'EventData' || el.name === 'UserData';
    let children: EvtxJsonObject | null = null;
    let texts: EvtxValue[] | null = null;
    let unnamed: EvtxValue[] | null = null;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if ('el' in it) {
        const c = it.el;
        children ??= {};
        if (isContainer && c.name === 'Data') {
          const nameAttr = c.attrs.find((a) => a.name === 'Name');
          const nameVal = nameAttr ? this.attr(nameAttr.value, it.vals) : null;
          const value = this.dataValue(c, it.vals, depth + 1);
          if (nameVal !== null && nameVal !== '') insertUnique(children, valueToString(nameVal), value);
          else {
            if (!unnamed) {
              unnamed = [];
              insertUnique(children, 'Data', null);
            }
            unnamed.push(value === null ? '' : value);
          }
          continue;
        }
        insertUnique(children, c.name, this.element(c, it.vals, depth + 1));
      } else if ('text' in it) {
        if (!it.isNull) (texts ??= []).push(it.text);
      } else if ('cdata' in it) (texts ??= []).push(it.cdata);
    }
    if (unnamed && children) {
      // the unnamed Data values sit at the position of the first unnamed Data (the key inserted above)
      const key = Object.keys(children).find((k) => (k === 'Data' || /^Data_\d+$/.test(k)) && children![k] === null);
      if (key) children[key] = { '#text': unnamed.length === 1 ? unnamed[0]! : unnamed };
    }
    if (!attrs && !children) return texts ? joinText(texts) : null;
    const out: EvtxJsonObject = {};
    if (attrs) out['#attributes'] = attrs;
    if (texts) out['#text'] = joinText(texts);
    if (children) for (const k of Object.keys(children)) setKey(out, k, children[k]!);
    return out;
  }

  /** Value of a `<Data>` element: its text (typed when a single value), "" when empty, null for a NULL value. */
  dataValue(el: ElemNode, vals: Values | null, depth: number): EvtxValue {
    const items = this.content(el.children, vals, depth, []);
    let texts: EvtxValue[] | null = null;
    let sawNull = false;
    let sub: EvtxJsonObject | null = null;
    for (const it of items) {
      if ('text' in it) {
        if (it.isNull) sawNull = true;
        else (texts ??= []).push(it.text);
      } else if ('cdata' in it) (texts ??= []).push(it.cdata);
      else if ('el' in it) insertUnique((sub ??= {}), it.el.name, this.element(it.el, it.vals, depth + 1));
    }
    if (sub) {
      if (texts) setKey(sub, '#text', joinText(texts));
      return sub;
    }
    if (texts) return joinText(texts);
    return sawNull ? null : '';
  }
}

/** Render a record's nodes as `{"Event": {...}}`. */
export function renderJson(nodes: BxNode[], ctx: ChunkCtx, issues: RenderIssues): EvtxJsonObject {
  const r = new JsonRenderer(ctx, issues);
  const items = r.content(nodes, null, 0, []);
  const out: EvtxJsonObject = {};
  for (const it of items) if ('el' in it) insertUnique(out, it.el.name, r.element(it.el, it.vals, 1));
  return out;
}

// ---- JSON text (fast path for output: same shape as renderJson, written directly as text) ---------------

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

/** Generic JSON text: the object renderer serialized. Used where a template has no fixed shape. */
class JsonTextRenderer extends Resolver {
  private objectRenderer: JsonRenderer | null = null;
  private get objects(): JsonRenderer {
    return (this.objectRenderer ??= new JsonRenderer(this.ctx, this.issues));
  }

  /** The JSON text of an element's value. */
  element(el: ElemNode, vals: Values | null, depth: number): string {
    return JSON.stringify(this.objects.element(el, vals, depth));
  }

  dataValue(el: ElemNode, vals: Values | null, depth: number): EvtxValue {
    return this.objects.dataValue(el, vals, depth);
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
  /** Quoted attribute name followed by a colon, and the attribute's value nodes. */
  attrs: Array<{ q: string; nodes: BxNode[] }>;
  /** Content: nothing, one substitution, or literal text. */
  sub: number;
  text: string | null;
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
type PlanOp = string | { t: 1; index: number; el: ElemNode } | { t: 2; index: number; el: ElemNode } | { t: 3; el: ElemNode } | LeafOp | SpliceOp;
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
  op(o: Exclude<PlanOp, string>): void {
    if (this.text) this.ops.push(this.text);
    this.text = '';
    this.ops.push(o);
  }
  done(): Plan {
    if (this.text) this.ops.push(this.text);
    return this.ops;
  }

  /** Emit the JSON value of `el`. */
  elem(el: ElemNode): void {
    const attrs = literalAttrs(el);
    const ch = el.children;
    if (attrs === null) {
      // attributes from substitutions: a leaf (no child elements) is handled by a dedicated op
      if (!el.attrs.every((a) => a.value.every((n) => n.k === N_TEXT || n.k === N_SUBST))) return this.op({ t: OP_GEN, el });
      const leaf: LeafOp = { t: OP_LEAF, el, attrs: el.attrs.map((a) => ({ q: JSON.stringify(a.name) + ':', nodes: a.value })), sub: -1, text: null };
      if (ch.length === 1 && ch[0]!.k === N_SUBST) leaf.sub = ch[0]!.index;
      else if (ch.length && ch.every((n) => n.k === N_TEXT)) leaf.text = ch.map((n) => (n as TextNode).text).join('');
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

const memberPlans = new WeakMap<Template, Plan | null>();

/** Plan for a template's root elements written as object members (no braces), or null when not plannable. */
function membersPlanFor(t: Template): Plan | null {
  let plan = memberPlans.get(t);
  if (plan !== undefined) return plan;
  const roots = t.root.filter((n): n is ElemNode => n.k === N_ELEM);
  const names = new Set(roots.map((r) => r.name));
  if (roots.length === 0 || roots.length !== t.root.length || names.size !== roots.length) plan = null;
  else {
    const b = new PlanBuilder();
    roots.forEach((r, i) => {
      b.lit((i ? ',' : '') + JSON.stringify(r.name) + ':');
      b.elem(r);
    });
    plan = b.done();
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
  if (roots.length !== t.root.length || names.size !== roots.length) {
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

function runLeaf(r: JsonTextRenderer, op: LeafOp, vals: Values): string {
  let a = '';
  for (let i = 0; i < op.attrs.length; i++) {
    const at = op.attrs[i]!;
    const v = r.attr(at.nodes, vals);
    if (v !== null) a += (a ? ',' : '') + at.q + jsonValue(v);
  }
  let text: string | null = null;
  if (op.sub >= 0) {
    const v = decodeValue(vals, op.sub);
    if (isNested(v)) return r.element(op.el, vals, 1);
    if (v !== null) text = jsonValue(v);
  } else if (op.text !== null) text = JSON.stringify(op.text);
  if (!a) return text ?? 'null';
  return text === null ? '{"#attributes":{' + a + '}}' : '{"#attributes":{' + a + '},"#text":' + text + '}';
}

/** Members (`"Name":value,…`) contributed by a nested BinXML substitution, or '' for none. */
function runSplice(r: JsonTextRenderer, op: SpliceOp, vals: Values): string {
  const v = decodeValue(vals, op.index);
  if (v === null) return '';
  if (!isNested(v)) throw FALLBACK;
  let nodes: BxNode[];
  try {
    nodes = parseNested(r.ctx, v.start, v.end, 1);
  } catch {
    throw FALLBACK; // the generic renderer reports the problem
  }
  if (nodes.length === 1 && nodes[0]!.k === N_INST) {
    const t = nodes[0]!.template;
    const plan = membersPlanFor(t);
    if (plan && !t.root.some((n) => n.k === N_ELEM && op.siblings.has(n.name))) return runPlan(r, plan, nodes[0]!.values);
  }
  throw FALLBACK;
}

function runPlan(r: JsonTextRenderer, plan: Plan, vals: Values): string {
  let s = '';
  for (let i = 0; i < plan.length; i++) {
    const op = plan[i]!;
    if (typeof op === 'string') {
      s += op;
      continue;
    }
    if (op.t === OP_GEN) {
      s += r.element(op.el, vals, 1);
      continue;
    }
    if (op.t === OP_LEAF) {
      s += runLeaf(r, op, vals);
      continue;
    }
    if (op.t === OP_SPLICE) {
      const m = runSplice(r, op, vals);
      if (m) s += (op.comma ? ',' : '') + m;
      // nothing spliced after other members: the text stays valid; as the first member the shape changes
      else if (!op.comma) throw FALLBACK;
      continue;
    }
    const v = decodeValue(vals, op.index);
    if (isNested(v)) s += op.t === OP_SUB ? r.element(op.el, vals, 1) : jsonValue(r.dataValue(op.el, vals, 1));
    else s += jsonValue(v);
  }
  return s;
}

/** Render a record's nodes directly as JSON text; `JSON.parse` of it equals {@link renderJson}. */
export function renderJsonText(nodes: BxNode[], ctx: ChunkCtx, issues: RenderIssues): string {
  if (nodes.length === 1 && nodes[0]!.k === N_INST) {
    const plan = planFor(nodes[0]!.template);
    if (plan.length) {
      try {
        return runPlan(new JsonTextRenderer(ctx, issues), plan, nodes[0]!.values);
      } catch (e) {
        if (e !== FALLBACK) throw e;
      }
    }
  }
  return JSON.stringify(renderJson(nodes, ctx, issues));
}

// ---- XML ---------------------------------------------------------------------------------------------

export function escapeXmlText(s: string): string {
  if (!/[&<>\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(s)) return s;
  return s.replace(/[&<>\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : `&#x${c.charCodeAt(0).toString(16)};`,
  );
}

export function escapeXmlAttr(s: string): string {
  if (!/[&<>"'\u0000-\u001f]/.test(s)) return s;
  return s.replace(/[&<>"'\u0000-\u001f]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : `&#x${c.charCodeAt(0).toString(16)};`,
  );
}

const XML_NAME = /^[A-Za-z_:\u00C0-\uD7FF\uF900-\uFFFD][A-Za-z0-9_.:\-\u00B7\u00C0-\uD7FF\uF900-\uFFFD]*$/;

/** Element, attribute and PI names come from the evidence: characters not allowed in XML names become `_`. */
export function xmlName(name: string): string {
  if (XML_NAME.test(name)) return name;
  const fixed = name.replace(/[^A-Za-z0-9_.:\-\u00B7\u00C0-\uD7FF\uF900-\uFFFD]/g, '_');
  return /^[A-Za-z_:\u00C0-\uD7FF\uF900-\uFFFD]/.test(fixed) ? fixed : '_' + fixed;
}

class XmlRenderer extends Resolver {
  parts: string[] = [];

  element(el: ElemNode, vals: Values | null, depth: number, indent: string): void {
    const name = xmlName(el.name);
    let open = `${indent}<${name}`;
    for (const a of el.attrs) {
      const v = this.attr(a.value, vals);
      if (v === null) continue;
      open += ` ${xmlName(a.name)}="${escapeXmlAttr(valueToString(v))}"`;
    }
    const items = this.content(el.children, vals, depth, []);
    let hasEl = false;
    let text = '';
    let any = false;
    for (const it of items) {
      if ('el' in it) hasEl = true;
      else if ('text' in it) {
        if (!it.isNull) {
          text += escapeXmlText(valueToString(it.text));
          any = true;
        }
      } else if ('cdata' in it) {
        text += `<![CDATA[${it.cdata.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
        any = true;
      } else {
        text += `<?${xmlName(it.pi)}${it.data ? ' ' + it.data.replace(/\?>/g, '? >') : ''}?>`;
        any = true;
      }
    }
    if (!hasEl) {
      this.parts.push(any ? `${open}>${text}</${name}>\n` : `${open}/>\n`);
      return;
    }
    this.parts.push(`${open}>\n`);
    const inner = indent + '  ';
    for (const it of items) {
      if ('el' in it) this.element(it.el, it.vals, depth + 1, inner);
      else if ('text' in it) {
        if (!it.isNull) this.parts.push(`${inner}${escapeXmlText(valueToString(it.text))}\n`);
      } else if ('cdata' in it) this.parts.push(`${inner}<![CDATA[${it.cdata.replace(/]]>/g, ']]]]><![CDATA[>')}]]>\n`);
      else this.parts.push(`${inner}<?${xmlName(it.pi)}${it.data ? ' ' + it.data.replace(/\?>/g, '? >') : ''}?>\n`);
    }
    this.parts.push(`${indent}</${name}>\n`);
  }
}

/** Render a record's nodes as indented XML (no XML declaration; one `<Event>` element). */
export function renderXml(nodes: BxNode[], ctx: ChunkCtx, issues: RenderIssues): string {
  const r = new XmlRenderer(ctx, issues);
  const items = r.content(nodes, null, 0, []);
  for (const it of items) if ('el' in it) r.element(it.el, it.vals, 1, '');
  return r.parts.join('');
}

