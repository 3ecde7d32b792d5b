/**
 * Rendering of a record's BinXML node tree to JSON (the shape the Rust `evtx` crate emits) and to XML.
 *
 * JSON rules (see README "JSON shape"): an element with only text → its value; with attributes →
 * `{"#attributes": {...}, "#text": v}`; empty → null; children → nested object in document order; repeated
 * sibling names → `Name`, `Name_1`, `Name_2` … in document order; `<Data Name="X">v</Data>` directly under
 * EventData/UserData → `"X": v`; unnamed Data → `"Data": {"#text": v | [v, …]}`. Integers and booleans stay
 * JSON numbers/booleans (integers beyond 2^53 become decimal strings), timestamps carry 7 fractional digits.
 */
import { MAX_BINXML_DEPTH, N_CDATA, N_ELEM, N_INST, N_PI, N_SUBST, N_TEXT, TRUNCATED_TEMPLATE, parseNested } from './binxml.js';
import type { BxNode, ChunkCtx, ElemNode } from './binxml.js';
import { decodeValue, isNested } from './binxml-values.js';
import type { Values } from './binxml-values.js';
import type { EvtxJsonObject, EvtxValue } from './types.js';

const MAX_DEPTH = 96;

/**
 * The rendering budget of one record. BinXML can expand: a template's substitutions may hold nested BinXML that
 * instantiates the same template again, and one value may be referenced by many substitutions, so a record of a
 * few KiB can describe K^(L+1) items (a "billion laughs"). Every renderer counts what it expands and stops at these
 * limits: the record is emitted truncated, with an `expansion-limit` warning. Counted: nodes visited (once per
 * content list, by its length) and bytes written, as stored (UTF-16: 2 per character), bounded from above without a
 * check per value: each template instance counts its template's literal text plus its values' total size times the
 * most uses of one slot; each element its names (names are references: one long name may be used by many elements).
 * Text outside templates is bounded by the bytes parsed, which are counted where they repeat (nested values).
 *
 * Measured over every record of the 31 sample logs (`../shared/samples/evtx`, Dec 2026: 55,390 records, carved ones
 * included): the most nodes visited is 359 (a CAPI2 record), the most bytes 80,436 for an allocated record
 * (`bench/mixed-480chunks.evtx` #152) and 630,091 for a record carved from overwritten slack (garbage names;
 * `LM_WMIC_4648_rpcss.evtx` #26470). A record that does not reuse content cannot visit more than about one node per
 * 4 bytes of its chunk (16,384). The limits sit far above all of that; a record at the limit renders in about 0.5 s.
 */
export const MAX_RENDER_NODES = 200_000;
export const MAX_RENDER_BYTES = 16 << 20;

/** Problems met while rendering (e.g. a nested BinXML value that does not parse); rendering goes on. */
export interface RenderIssues {
  addWarning(message: string): void;
  /** The rendering budget ran out or templates nest too deeply: the record is emitted truncated (`expansion-limit`). */
  expansionLimit(message: string): void;
  /** The share of {@link MAX_RENDER_NODES} / {@link MAX_RENDER_BYTES} this record may use (default 1). */
  readonly renderScale?: number;
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

export class Resolver {
  /** Nodes visited and bytes written so far for this record (see {@link MAX_RENDER_NODES}); past the budget they stay just over it. */
  nodes = 0;
  bytes = 0;
  private stopped = false;
  /** This record's budget (the whole of it, or a share once its file has spent it on many records). */
  private readonly maxNodes: number;
  private readonly maxBytes: number;
  constructor(
    readonly ctx: ChunkCtx,
    readonly issues: RenderIssues,
  ) {
    const scale = issues.renderScale ?? 1;
    this.maxNodes = Math.floor(MAX_RENDER_NODES * scale);
    this.maxBytes = Math.floor(MAX_RENDER_BYTES * scale);
  }

  private shareNote(): string {
    return this.maxNodes < MAX_RENDER_NODES ? ', the share left to each record once a file has many records over the budget' : '';
  }

  /** Count `n` nodes visited; false once the budget is spent (the caller leaves the rest out). One add, one compare. */
  visit(n: number): boolean {
    if ((this.nodes += n) <= this.maxNodes) return true;
    this.stop(`more than ${this.maxNodes} nodes${this.shareNote()}`);
    return false;
  }

  /** Count `n` bytes written; false once the budget is spent (the caller leaves the value out). One add, one compare. */
  spend(n: number): boolean {
    if ((this.bytes += n) <= this.maxBytes) return true;
    this.stop(`more than ${this.maxBytes} bytes of values, text and names${this.shareNote()}`);
    return false;
  }

  /**
   * Stop rendering this record: every later {@link visit} and {@link spend} fails, so what is not rendered yet is
   * left out; the record says so (once). The counters stay small integers (no change of field representation).
   */
  stop(why: string): void {
    this.nodes = this.maxNodes + 1;
    this.bytes = this.maxBytes + 1;
    this.halt(why);
  }

  /** Expand no more template instances or nested BinXML in this record (what is collected still renders); say so once. */
  private halt(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.issues.expansionLimit(why);
  }

  /**
   * Whether an expansion (a template instance costing `bytes`, a nested BinXML value) may go on. Expansion stops at
   * half the budget, so that the elements collected before it (`System` comes first) still have budget to render.
   */
  private expand(bytes: number): boolean {
    if (!this.stopped && (this.bytes += bytes) <= this.maxBytes / 2 && this.nodes <= this.maxNodes / 2) return true;
    this.halt(`expansion past ${this.maxNodes / 2} nodes or ${this.maxBytes / 2} bytes${this.shareNote()}`);
    return false;
  }

  /** Flatten content nodes: expand template instances and nested BinXML substitutions. */
  content(nodes: BxNode[], vals: Values | null, depth: number, out: Item[]): Item[] {
    if (!this.visit(nodes.length)) return out;
    if (depth > MAX_DEPTH) {
      this.halt(`content nested deeper than ${MAX_DEPTH} levels`);
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
            if (depth >= MAX_BINXML_DEPTH) {
              this.halt(`nested BinXML deeper than ${MAX_BINXML_DEPTH} levels`);
              break;
            }
            if (!this.expand(0)) break;
            try {
              const inner = parseNested(this.ctx, v.start, v.end, depth);
              this.content(inner, null, depth + 1, out);
            } catch (e) {
              this.issues.addWarning(`nested BinXML at chunk offset 0x${v.start.toString(16)}: ${e instanceof Error ? e.message : String(e)}`);
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
        case N_INST: {
          // an instance writes its template's text once and each value at most as often as its slot is used
          const t = n.template;
          if (t === TRUNCATED_TEMPLATE) this.halt('template definitions nested too deeply: a template instantiates itself');
          else if (this.expand(t.literal + t.maxUse * n.values.bytes)) this.content(t.root, n.values, depth + 1, out);
          break;
        }
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
      if (n.k === N_TEXT || n.k === N_CDATA) {
        s += n.text;
        any = true;
      } else if (n.k === N_SUBST) {
        const v = this.scalarValue(n.index, vals);
        if (v !== null) {
          s += valueToString(v);
          any = true;
        }
      }
    }
    return any ? s : null;
  }

  /** A substitution's value as an attribute value (nested BinXML is not one: null). */
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
  for (let n = 1; n <= 8; n++) {
    if (!Object.hasOwn(obj, `${key}_${n}`)) return setKey(obj, `${key}_${n}`, value);
  }
  // many siblings of one name: the next suffix to try is remembered per object and name (linear time, not quadratic)
  let next = suffixes.get(obj);
  if (!next) suffixes.set(obj, (next = new Map()));
  let n = next.get(key) ?? 9;
  while (Object.hasOwn(obj, `${key}_${n}`)) n++;
  setKey(obj, `${key}_${n}`, value);
  next.set(key, n + 1);
}

/** For {@link insertUnique}: per object, per name, the first suffix not known to be taken (keys are never removed). */
const suffixes = new WeakMap<EvtxJsonObject, Map<string, number>>();

function joinText(texts: EvtxValue[]): EvtxValue {
  if (texts.length === 1) return texts[0]!;
  let s = '';
  for (const t of texts) s += valueToString(t);
  return s;
}

export class JsonRenderer extends Resolver {
  element(el: ElemNode, vals: Values | null, depth: number): EvtxValue {
    // names count in the budget too: a name is read once but may be written by many elements and attributes
    if (!this.spend(el.names)) return null;
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
    if (!this.spend(el.names)) return;
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

