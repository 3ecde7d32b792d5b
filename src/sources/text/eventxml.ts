/**
 * One `<Event>` element of Windows event XML (Event Viewer "Save as XML", `wevtutil qe /f:xml`, `evtxexport`,
 * python-evtx, `event.original` of Winlogbeat) → the EVTX layer's JSON shape: attributes under `#attributes`,
 * `<EventData><Data Name="x">v</Data>` → `EventData: {x: v}`, unnamed Data → `Data` (one) or
 * `Data: {'#text': [...]}` (several), UserData's element with its children, empty elements → null.
 *
 * The parser is configured for hostile input: no DTD (an element is parsed on its own, so entities declared in
 * a DOCTYPE never apply), no entity expansion at all in the parser, and only XML's own five entities plus
 * numeric character references decoded afterwards, in one pass. Element and attribute names that would touch
 * an object's prototype are renamed by the parser and dropped here; every object built is prototype-less.
 */
import { createRequire } from 'node:module';
import type * as FastXmlParser from 'fast-xml-parser';
import type { EvtxJsonObject, EvtxValue } from '../../evtx/index.js';

const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);
const rename = (n: string): string => (UNSAFE.has(n) ? `#unsafe:${n}` : n);

// fast-xml-parser is loaded when the first event XML is read (a scan of EVTX logs never pays for it)
const load = createRequire(import.meta.url);
let fxp: typeof FastXmlParser | null = null;
let xmlParser: FastXmlParser.XMLParser | null = null;
const fxpLib = (): typeof FastXmlParser => (fxp ??= load('fast-xml-parser') as typeof FastXmlParser);
const parser = (): FastXmlParser.XMLParser =>
  (xmlParser ??= new (fxpLib().XMLParser)({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '#attributes',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  removeNSPrefix: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
  cdataPropName: false,
  alwaysCreateTextNode: false,
  transformTagName: rename,
  transformAttributeName: rename,
}));

/** XML's five entities and numeric character references, in one pass (no double decoding, nothing else). */
export function decodeXmlText(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/g, (m, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
  });
}

type Node = string | number | boolean | null | undefined | Node[] | { [k: string]: Node };

function isObj(n: Node): n is { [k: string]: Node } {
  return n !== null && typeof n === 'object' && !Array.isArray(n);
}

function localName(k: string): string | null {
  if (k.startsWith('#')) return null; // renamed unsafe names, text and attribute groups
  const i = k.indexOf(':');
  const n = i >= 0 ? k.slice(i + 1) : k;
  return n && !UNSAFE.has(n) ? n : null;
}

function attrs(n: Node): EvtxJsonObject | null {
  if (!isObj(n) || !isObj(n['#attributes'])) return null;
  const out = Object.create(null) as EvtxJsonObject;
  let any = false;
  for (const [k, v] of Object.entries(n['#attributes'])) {
    // keep namespace declarations under their own name (xmlns) as the EVTX renderer does
    const name = k.startsWith('xmlns') ? k : localName(k);
    if (!name || UNSAFE.has(name)) continue;
    out[name] = decodeXmlText(String(v ?? ''));
    any = true;
  }
  return any ? out : null;
}

function textOf(n: Node): string | null {
  if (n === null || n === undefined) return null;
  if (typeof n !== 'object') return decodeXmlText(String(n));
  if (isObj(n) && n['#text'] !== undefined) return decodeXmlText(String(n['#text']));
  return null;
}

/** Child element names of a parsed node (text and attribute groups excluded). */
function childKeys(n: Node): string[] {
  return isObj(n) ? Object.keys(n).filter((k) => k !== '#text' && k !== '#attributes') : [];
}

/** A generic element: text → string (empty → null); attributes → `#attributes`; children by name (repeated → array). */
function element(n: Node): EvtxValue {
  if (Array.isArray(n)) return n.map(element);
  const a = attrs(n);
  const kids = childKeys(n);
  const text = textOf(n);
  if (!a && !kids.length) return text === null || text === '' ? null : text;
  const out = Object.create(null) as EvtxJsonObject;
  if (a) out['#attributes'] = a;
  for (const k of kids) {
    const name = localName(k);
    if (name) out[name] = element((n as { [k: string]: Node })[k]);
  }
  if (!kids.length && text !== null && text !== '') out['#text'] = text;
  else if (kids.length && text !== null && text.trim() !== '') out['#text'] = text.trim();
  return out;
}

function eventData(n: Node): EvtxValue {
  if (!isObj(n)) return element(n);
  const out = Object.create(null) as EvtxJsonObject;
  const unnamed: EvtxValue[] = [];
  for (const k of childKeys(n)) {
    const name = localName(k);
    if (!name) continue;
    const v = n[k];
    if (name !== 'Data') {
      out[name] = element(v);
      continue;
    }
    for (const item of Array.isArray(v) ? v : [v]) {
      const key = attrs(item)?.['Name'];
      const value = textOf(item);
      const val = value === '' ? null : value;
      if (typeof key === 'string' && key && !UNSAFE.has(key)) out[key] = val;
      else unnamed.push(val);
    }
  }
  if (unnamed.length === 1) out['Data'] = unnamed[0]!;
  else if (unnamed.length > 1) out['Data'] = { '#text': unnamed };
  return Object.keys(out).length ? out : null;
}

/** The event JSON of one `<Event>` element, and its rendered message when the XML carries `<RenderingInfo>`. */
export interface XmlEvent {
  json: EvtxJsonObject;
  message: string | null;
}

/** Parses one `<Event>` element; throws an Error with a readable message when it is not well-formed. */
/**
 * Longest event XML parsed (one event: a record of an EVTX file is under 64 KiB, its XML far under this). The XML
 * parser holds some 35 bytes per character, so one over-long `_raw` or EventData string of an export would otherwise
 * cost gigabytes and end the whole scan.
 */
export const MAX_EVENT_XML_CHARS = 4 * 1024 * 1024;

function checkLength(text: string): void {
  if (text.length > MAX_EVENT_XML_CHARS) throw new Error(`event XML of ${text.length} characters, over the ${MAX_EVENT_XML_CHARS} of one event: not parsed`);
}

export function eventFromXml(text: string): XmlEvent {
  checkLength(text);
  // XML's end-of-line handling (CR LF and lone CR read as LF); a CR written as `&#13;` survives it
  const xml = text.replace(/\r\n?/g, '\n');
  const v = fxpLib().XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (v !== true) throw new Error(`not well-formed XML: ${v.err.msg} (line ${v.err.line}, column ${v.err.col})`);
  const doc = parser().parse(xml) as Node;
  const key = childKeys(doc).find((k) => localName(k) === 'Event');
  if (!key) throw new Error('no <Event> element');
  const ev = (doc as { [k: string]: Node })[key];
  const out = Object.create(null) as EvtxJsonObject;
  const a = attrs(ev);
  if (a) out['#attributes'] = a;
  let message: string | null = null;
  for (const k of childKeys(ev)) {
    const name = localName(k);
    if (!name) continue;
    const child = (ev as { [k: string]: Node })[k];
    if (name === 'RenderingInfo') {
      const m = isObj(child) ? childKeys(child).find((c) => localName(c) === 'Message') : undefined;
      if (m) message = textOf((child as { [k: string]: Node })[m]);
      continue;
    }
    out[name] = name === 'EventData' ? eventData(child) : element(child);
  }
  const json = Object.create(null) as EvtxJsonObject;
  json['Event'] = out;
  return { json, message };
}

/** How deep in an XML fragment an `<EventData>` element is looked for (Log Analytics wraps it in `<DataItem>`). */
const MAX_FRAGMENT_DEPTH = 4;

function findElement(n: Node, name: string, depth: number): Node | undefined {
  if (depth > MAX_FRAGMENT_DEPTH || !isObj(n)) return undefined;
  for (const k of childKeys(n)) {
    const child = n[k];
    if (localName(k) === name) return Array.isArray(child) ? child[0] : child;
    const found = findElement(Array.isArray(child) ? child[0] : child, name, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The `<EventData>` and `<UserData>` of an XML fragment that holds them, in the shapes {@link eventFromXml} gives
 * them (Log Analytics' `Event` table: `<DataItem …><EventData xmlns=…><Data Name="x">v</Data>…</EventData></DataItem>`);
 * null for a part that is not there. Throws an Error with a readable message when the fragment is not well-formed.
 */
export function eventPartsFromXml(text: string): { eventData: EvtxValue; userData: EvtxValue } {
  checkLength(text);
  const xml = `<wmiscope-fragment>${text.replace(/\r\n?/g, '\n')}</wmiscope-fragment>`;
  const v = fxpLib().XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (v !== true) throw new Error(`not well-formed XML: ${v.err.msg} (column ${v.err.col})`);
  const doc = parser().parse(xml) as Node;
  const ed = findElement(doc, 'EventData', 0);
  const ud = findElement(doc, 'UserData', 0);
  return { eventData: ed === undefined ? null : eventData(ed), userData: ud === undefined ? null : element(ud) };
}

/** The texts of the `<Param>` elements of a Log Analytics `ParameterXml` (`<Param>a</Param><Param>b</Param>`), in order. */
export function paramsFromXml(text: string): Array<string | null> {
  checkLength(text);
  const xml = `<wmiscope-fragment>${text.replace(/\r\n?/g, '\n')}</wmiscope-fragment>`;
  const v = fxpLib().XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (v !== true) throw new Error(`not well-formed XML: ${v.err.msg} (column ${v.err.col})`);
  const doc = parser().parse(xml) as Node;
  const root = isObj(doc) ? doc['wmiscope-fragment'] : undefined;
  if (root === undefined || !isObj(root)) return [];
  const out: Array<string | null> = [];
  for (const k of childKeys(root)) {
    if (localName(k) !== 'Param') continue;
    const p = root[k];
    for (const item of Array.isArray(p) ? p : [p]) {
      const t = textOf(item);
      out.push(t === '' ? null : t);
    }
  }
  return out;
}
