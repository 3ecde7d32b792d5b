/**
 * Allowlists: known-good subscriptions matched **exactly** — namespace, filter name + query (+ language and
 * event namespace), consumer class + name + every property that decides what the consumer does. A name alone
 * never allow-lists anything: WannaMine registered `SCM Event8 Log Consumer` next to the real
 * `SCM Event Log Consumer` (wmi-tradecraft §6–§7).
 *
 * File format (YAML), either a mapping or a bare list of entries:
 *
 * ```yaml
 * name: corp-baseline            # optional; defaults to the file name
 * entries:
 *   - id: hp-health              # optional label, shown in the finding; defaults to file#index
 *     note: HP Health driver     # optional
 *     namespace: ROOT\subscription   # optional; when given it must match
 *     filter:                    # WMI property names (matched case-insensitively)
 *       Name: HP Health Filter
 *       Query: SELECT * FROM …
 *       EventNamespace: root\cimv2
 *     consumer:
 *       class: CommandLineEventConsumer
 *       Name: HP Health Consumer
 *       CommandLineTemplate: C:\Program Files\HP\…
 * ```
 *
 * Matching, per part the subscription has: a filter needs the entry's `filter`, a consumer the entry's
 * `consumer`, a binding must point at the entry's filter name and consumer class + name. Every property the
 * entry names must be equal in the subscription, and every key property the subscription has (filter: Name,
 * Query, QueryLanguage, EventNamespace; consumer: the class's payload properties, see known-good.ts) must be in
 * the entry — so an entry also stops matching when a property is added later. Unset, empty, 0 and false are
 * the same value (WMI defaults); a missing QueryLanguage is WQL. Names, class names, namespaces, QueryLanguage
 * and ScriptingEngine compare case-insensitively (WMI treats them so); queries, command lines and scripts
 * compare exactly. A part the evidence does not show (a filter only seen in logs, say) is not held against
 * the entry.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createRequire } from 'node:module';
import type * as YamlLib from 'yaml';
import type { Node as YamlNode, Pair, Scalar, YAMLMap } from 'yaml';
import type { JoinedSubscription, SubscriptionObject } from '../model/types.js';
import { sidText } from './decode.js';
import { bindingTarget, consumerClassOf, consumerKeyProperties, FILTER_KEY_PROPERTIES, partNames } from './known-good.js';
import { namespaceKey } from '../model/wmi.js';

// the YAML parser is loaded when an allowlist file is read or written (most scans use the built-in list only)
const load = createRequire(import.meta.url);
let yamlLib: typeof YamlLib | null = null;
const yaml = (): typeof YamlLib => (yamlLib ??= load('yaml') as typeof YamlLib);

export type AllowValue = string | number | boolean | null;

export interface AllowEntry {
  /** Label shown in the finding's `allowlisted.entry`. */
  id: string;
  note?: string;
  /** Namespace of the subscription (`ROOT\subscription`); any when absent. */
  namespace?: string;
  /** __EventFilter properties by WMI name; `Name` is required. */
  filter?: Record<string, AllowValue>;
  /** Consumer class and properties by WMI name; `Name` is required. */
  consumer?: { className: string; values: Record<string, AllowValue> };
}

export interface Allowlist {
  name: string;
  entries: AllowEntry[];
}

/**
 * The built-in allowlist: the Service Control Manager subscription every Windows 10 install has, with the
 * values of the Windows 10 repository sample (shared/reference/cim-oracle/dissect.cim_enum_dissect-cim-win10.txt)
 * and the WMI-Activity 5861 sample of wmi-tradecraft §3/§6. BVTFilter/BVTConsumer is not here: the only
 * public description of it (KB2545227, unverified) gives the query but not the consumer's class or command,
 * and an entry without them could not be exact.
 */
export const DEFAULT_ALLOWLIST: Allowlist = {
  name: 'default',
  entries: [
    {
      id: 'SCM Event Log Filter -> SCM Event Log Consumer',
      note: 'Service Control Manager event-log subscription created by Windows setup (CreatorSID S-1-5-32-544)',
      namespace: 'ROOT\\subscription',
      filter: {
        Name: 'SCM Event Log Filter',
        Query: 'select * from MSFT_SCMEventLogEvent',
        QueryLanguage: 'WQL',
        EventNamespace: 'root\\cimv2',
      },
      consumer: {
        className: 'NTEventLogEventConsumer',
        values: {
          Name: 'SCM Event Log Consumer',
          SourceName: 'Service Control Manager',
          EventID: 0,
          EventType: 1,
          Category: 0,
          NameOfUserSIDProperty: 'sid',
        },
      },
    },
  ],
};

/**
 * A malformed or unreadable allowlist file; the message starts with `file:line:column:` (1-based) when the problem
 * has a place in the text, else with `file:` (line and column null: the file cannot be read, or the problem is the
 * whole file).
 */
export class AllowlistError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly column: number | null,
    readonly reason: string,
  ) {
    super(`${file}:${line !== null && column !== null ? `${line}:${column}:` : ''} ${reason}`);
    this.name = 'AllowlistError';
  }
}

/** Read an allowlist YAML file; throws {@link AllowlistError} (with file:line:column) when it is malformed. */
export function loadAllowlist(file: string): Allowlist {
  let text: string;
  try {
    const b = readFileSync(file);
    // Windows PowerShell 5.1 writes UTF-16 with a byte-order mark (Out-File, >): read it, as every editor does
    const utf16 = b[0] === 0xff && b[1] === 0xfe ? 'utf-16le' : b[0] === 0xfe && b[1] === 0xff ? 'utf-16be' : null;
    text = new TextDecoder(utf16 ?? 'utf-8', { fatal: true }).decode(b);
  } catch (e) {
    if (e instanceof TypeError) throw new AllowlistError(file, null, null, 'not UTF-8 (or UTF-16 with a byte-order mark) text: save it as UTF-8');
    throw new AllowlistError(file, null, null, `cannot read the allowlist (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseAllowlist(text, file);
}

/** Parse allowlist YAML text; `file` names it in errors and is the default list name. */
export function parseAllowlist(text: string, file: string): Allowlist {
  const lc = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const fail = (node: YamlNode | Pair | null | undefined, reason: string): never => {
    // a node the parser gave no place (none is known here) is reported without one rather than at a made-up 1:1
    const offset = rangeStart(node) ?? (isPairLike(node) ? rangeStart(node.key) : undefined);
    const pos = offset !== undefined ? lc.linePos(offset) : null;
    throw new AllowlistError(file, pos?.line ?? null, pos?.col ?? null, reason);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0] ?? (typeof e.pos[0] === 'number' ? lc.linePos(e.pos[0]) : null);
    throw new AllowlistError(file, pos?.line ?? null, pos?.col ?? null, `YAML error: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  const fileName = basename(file);
  if (root === null || (yaml().isScalar(root) && (root.value === null || root.value === ''))) return { name: fileName, entries: [] };
  let name = fileName;
  let list: YamlNode | null = null;
  if (yaml().isSeq(root)) list = root;
  else if (yaml().isMap(root)) {
    for (const pair of root.items) {
      const key = keyOf(pair, fail);
      if (key === 'name') name = stringOf(pair.value as YamlNode, 'name', fail, pair);
      else if (key === 'entries') list = (pair.value as YamlNode | null) ?? null;
      else fail(pair, `unknown key "${key}" (expected "name" or "entries")`);
    }
    if (list === null) fail(root, 'an allowlist needs "entries:" (a list)');
  } else fail(root, 'an allowlist is a mapping with "entries:" or a list of entries');
  if (list !== null && !(yaml().isScalar(list) && list.value === null) && !yaml().isSeq(list)) fail(list, '"entries" must be a list');
  const entries: AllowEntry[] = [];
  if (list && yaml().isSeq(list)) {
    list.items.forEach((item, i) => entries.push(parseEntry(item as YamlNode, `${fileName}#${i + 1}`, fail)));
  }
  return { name, entries };
}

type Fail = (node: YamlNode | Pair | null | undefined, reason: string) => never;

function rangeStart(n: unknown): number | undefined {
  if (typeof n !== 'object' || n === null || !('range' in n)) return undefined;
  const r = (n as { range?: unknown }).range;
  return Array.isArray(r) && typeof r[0] === 'number' ? r[0] : undefined;
}

function isPairLike(n: unknown): n is Pair {
  return typeof n === 'object' && n !== null && 'key' in n && 'value' in n;
}

function keyOf(pair: Pair, fail: Fail): string {
  const k = pair.key as YamlNode | null;
  if (!yaml().isScalar(k) || typeof k.value !== 'string') return fail(pair, 'keys must be plain text');
  return k.value;
}

function stringOf(node: YamlNode | null, what: string, fail: Fail, at: Pair): string {
  if (!yaml().isScalar(node) || node.value === null || typeof node.value === 'object') return fail(node ?? at, `"${what}" must be text`);
  return String(node.value);
}

function propsOf(node: YamlNode | null, what: string, fail: Fail, at: Pair): Record<string, AllowValue> {
  if (!yaml().isMap(node)) return fail(node ?? at, `"${what}" must be a mapping of WMI property names to values`);
  const out: Record<string, AllowValue> = {};
  for (const pair of (node as YAMLMap).items) {
    const key = keyOf(pair, fail);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(pair, `"${key}" is not a WMI property name`);
    if (Object.keys(out).some((k) => k.toLowerCase() === key.toLowerCase())) fail(pair, `property "${key}" given twice`);
    const v = pair.value as YamlNode | null;
    if (v === null) out[key] = null;
    else if (yaml().isScalar(v) && (v.value === null || ['string', 'number', 'boolean'].includes(typeof (v as Scalar).value))) out[key] = (v as Scalar).value as AllowValue;
    else fail(v, `property "${key}" must be a single value (text, number or true/false)`);
  }
  return out;
}

function parseEntry(node: YamlNode | null, defaultId: string, fail: Fail): AllowEntry {
  if (!yaml().isMap(node)) return fail(node, 'each entry must be a mapping (id, namespace, filter, consumer)');
  const entry: AllowEntry = { id: defaultId };
  for (const pair of node.items) {
    const key = keyOf(pair, fail);
    const v = pair.value as YamlNode | null;
    switch (key) {
      case 'id':
        entry.id = stringOf(v, 'id', fail, pair);
        break;
      case 'note':
        entry.note = stringOf(v, 'note', fail, pair);
        break;
      case 'namespace':
        entry.namespace = stringOf(v, 'namespace', fail, pair);
        break;
      case 'filter': {
        const props = propsOf(v, 'filter', fail, pair);
        if (!hasText(props, 'Name')) fail(v, 'filter needs "Name"');
        entry.filter = props;
        break;
      }
      case 'consumer': {
        const props = propsOf(v, 'consumer', fail, pair);
        const clsKey = Object.keys(props).find((k) => k === 'class');
        if (!clsKey || typeof props[clsKey] !== 'string' || !/^[A-Za-z_]\w*$/.test(props[clsKey] as string)) fail(v, 'consumer needs "class" (the consumer class, e.g. CommandLineEventConsumer)');
        const className = props['class'] as string;
        delete props['class'];
        if (!hasText(props, 'Name')) fail(v, 'consumer needs "Name"');
        entry.consumer = { className, values: props };
        break;
      }
      default:
        fail(pair, `unknown key "${key}" in entry (expected id, note, namespace, filter, consumer)`);
    }
  }
  if (!entry.filter && !entry.consumer) fail(node, 'an entry needs a "filter" or a "consumer" (or both)');
  return entry;
}

function hasText(props: Record<string, AllowValue>, name: string): boolean {
  const v = getProp(props, name);
  return typeof v === 'string' && v.length > 0;
}

/** A property by WMI name, case-insensitively. */
function getProp(rec: Record<string, unknown>, name: string): unknown {
  if (name in rec) return rec[name];
  const k = Object.keys(rec).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : rec[k];
}

/** Properties whose values are free text (payloads, paths, queries): never read as numbers or booleans. */
const TEXT_PROPERTIES = new Set(['commandlinetemplate', 'executablepath', 'workingdirectory', 'desktop', 'windowtitle', 'scripttext', 'scriptfilename', 'query', 'text', 'filename', 'message', 'subject', 'toline', 'ccline', 'bccline', 'fromline', 'replytoline', 'smtpserver', 'sourcename', 'insertionstringtemplates', 'usersid']);

/** Comparable form of a property value (see the module comment). */
function canonical(prop: string, v: unknown): string {
  const p = prop.toLowerCase();
  if (p === 'querylanguage') return v === null || v === undefined || v === '' ? 'WQL' : String(v).toUpperCase();
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return '';
  if (typeof v === 'string') {
    if (p === 'name' || p === 'scriptingengine' || p === 'nameofusersidproperty') return v.toLowerCase();
    if (p === 'eventnamespace') return namespaceKey(v);
    if (p === 'creatorsid') return sidText(v) ?? v;
    // payload text is compared as written: "007" is not "7", "TRUE" is not "true"
    if (TEXT_PROPERTIES.has(p)) return v;
    if (/^(true|false)$/i.test(v)) return v.toLowerCase() === 'false' ? '' : 'true';
    if (/^-?\d+$/.test(v)) return String(Number(v)) === '0' ? '' : String(Number(v));
    return v;
  }
  return String(v);
}

function propsEqual(keys: Iterable<string>, entry: Record<string, unknown>, actual: Record<string, unknown>): boolean {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.toLowerCase())) continue;
    seen.add(k.toLowerCase());
    if (canonical(k, getProp(entry, k)) !== canonical(k, getProp(actual, k))) return false;
  }
  return true;
}

function objValues(o: SubscriptionObject): Record<string, unknown> {
  const v: Record<string, unknown> = { ...o.values };
  if (o.name && getProp(v, 'Name') === undefined) v['Name'] = o.name;
  return v;
}

/** Does this entry describe this subscription exactly? */
export function entryMatches(entry: AllowEntry, input: JoinedSubscription): boolean {
  const { filter, consumer, binding } = input;
  if (!filter && !consumer && !binding) return false;
  if (entry.namespace !== undefined) {
    const want = namespaceKey(entry.namespace);
    if (input.namespace === null || namespaceKey(input.namespace) !== want) return false;
    for (const part of [filter, consumer, binding]) if (part?.namespace && namespaceKey(part.namespace) !== want) return false;
  }
  if (filter) {
    if (!entry.filter) return false;
    const actual = objValues(filter);
    if (!propsEqual([...FILTER_KEY_PROPERTIES, ...Object.keys(entry.filter)], entry.filter, actual)) return false;
  }
  if (consumer) {
    if (!entry.consumer) return false;
    const cls = consumerClassOf(consumer, binding, input.consumerChain);
    if (!cls || cls.toLowerCase() !== entry.consumer.className.toLowerCase()) return false;
    const actual = objValues(consumer);
    if (!propsEqual([...consumerKeyProperties(cls, actual), ...Object.keys(entry.consumer.values)], entry.consumer.values, actual)) return false;
  }
  if (binding) {
    const f = bindingTarget(binding, 'Filter');
    const c = bindingTarget(binding, 'Consumer');
    if (!f && !c && !filter && !consumer) return false;
    if (f) {
      if (!entry.filter || canonical('Name', f.name) !== canonical('Name', getProp(entry.filter, 'Name'))) return false;
    }
    if (c) {
      if (!entry.consumer || (c.className !== null && c.className.toLowerCase() !== entry.consumer.className.toLowerCase())) return false;
      if (canonical('Name', c.name) !== canonical('Name', getProp(entry.consumer.values, 'Name'))) return false;
    }
  }
  return true;
}

/** The first entry of the first allowlist that matches exactly, or null. */
export function matchAllowlists(input: JoinedSubscription, allowlists: Allowlist[]): { by: string; entry: string } | null {
  for (const list of allowlists) for (const e of list.entries) if (entryMatches(e, input)) return { by: list.name, entry: e.id };
  return null;
}

/** Every filter and consumer name an allowlist knows (for the look-alike rule). */
export function allowlistNames(allowlists: Allowlist[]): string[] {
  const out: string[] = [];
  for (const list of allowlists)
    for (const e of list.entries) {
      const f = e.filter ? getProp(e.filter, 'Name') : undefined;
      const c = e.consumer ? getProp(e.consumer.values, 'Name') : undefined;
      if (typeof f === 'string') out.push(f);
      if (typeof c === 'string') out.push(c);
    }
  return out;
}

function keyValues(keys: readonly string[], values: Record<string, unknown>): Record<string, AllowValue> {
  const out: Record<string, AllowValue> = {};
  for (const k of keys) {
    const v = getProp(values, k);
    if (v === null || v === undefined || v === '' || v === 0 || v === false) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else out[k] = String(v);
  }
  return out;
}

/**
 * The allowlist entry (YAML) that matches exactly this subscription: its namespace, the filter's key
 * properties, the consumer's class and key properties. The text is a one-item YAML list, so it can be saved
 * as an allowlist file of its own or appended under another file's `entries:`.
 */
export function allowlistEntryFor(input: JoinedSubscription): string {
  const names = partNames(input.filter, input.consumer, input.binding);
  const entry: Record<string, unknown> = {
    id: `${names.filter ?? '(no filter)'} -> ${names.consumer ?? '(no consumer)'}`,
    note: `marked known-good on host ${input.host}`,
  };
  if (input.namespace) entry['namespace'] = input.namespace;
  const fref = bindingTarget(input.binding, 'Filter');
  if (input.filter) {
    const f = keyValues(FILTER_KEY_PROPERTIES, objValues(input.filter));
    if (!f['Name'] && names.filter) f['Name'] = names.filter;
    entry['filter'] = { Name: f['Name'], ...f };
  } else if (fref?.name) entry['filter'] = { Name: fref.name };
  const cls = consumerClassOf(input.consumer, input.binding, input.consumerChain);
  const cref = bindingTarget(input.binding, 'Consumer');
  if (input.consumer && cls) {
    const actual = objValues(input.consumer);
    const c = keyValues(consumerKeyProperties(cls, actual), actual);
    if (!c['Name'] && names.consumer) c['Name'] = names.consumer;
    entry['consumer'] = { class: cls, Name: c['Name'], ...c };
  } else if (cref?.name && cref.className) entry['consumer'] = { class: cref.className, Name: cref.name };
  const doc = new (yaml().Document)([entry]);
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}
