/**
 * Adapter for the JSON document `wmiscope collector powershell` writes on a live host (docs/collector.md,
 * schema/collector.schema.json): every filter, consumer, binding (and timer) of every namespace, as they were
 * when the collector ran. Recognized by its `format` marker; each object becomes one `present` observation of
 * source `collector`, at the collection time.
 *
 * Untrusted input: the document is read whole within {@link MAX_WHOLE_INPUT}, `__proto__` keys are dropped
 * while parsing, an unknown major format version is refused with one error note, and an object with a field
 * of the wrong type is skipped with a warning while the others are kept.
 */
import { COLLECTOR_FORMAT, COLLECTOR_FORMAT_MAJOR, collectorFormatMajor } from '../../collector/format.js';
import { parseJson } from '../text/json.js';
import type { CollectorKind } from '../../collector/format.js';
import { normalizeNamespace, sidFromByteArray } from '../../model/wmi.js';
import type { EvidenceItem, EvidenceNote, NoteCode, Observation } from '../../model/types.js';
import { objectPath } from '../../model/subscription.js';
import type { Adapter, EvidenceInput, ObserveContext, ObserveResult } from '../input.js';
import { emptyResult, readText } from '../input.js';

type Flat = string | number | boolean | null;
type Values = Observation['properties'];
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const KINDS: readonly CollectorKind[] = ['filter', 'consumer', 'binding', 'timer'];
const CLASS_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
/** Nesting a property value may have (embedded objects in embedded objects…); the collector writes at most 4 levels. */
const MAX_VALUE_DEPTH = 16;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown): v is string | null | undefined => v === undefined || v === null || typeof v === 'string';

/** A first 64 KiB that opens a JSON object and carries the collector's format marker (any version). */
function detect(head: string): boolean {
  return head.startsWith('{') && /"format"\s*:\s*"wmiscope-collector\//.test(head);
}

/** Why a property value is not one the collector writes, or null when it is fine. */
function badValue(v: unknown, depth: number): string | null {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : 'a non-finite number';
  if (depth >= MAX_VALUE_DEPTH) return `values nested more than ${MAX_VALUE_DEPTH} levels`;
  if (Array.isArray(v)) {
    for (const x of v) {
      const e = badValue(x, depth + 1);
      if (e) return e;
    }
    return null;
  }
  if (isObject(v)) {
    for (const x of Object.values(v)) {
      const e = badValue(x, depth + 1);
      if (e) return e;
    }
    return null;
  }
  return `a value of type ${typeof v}`;
}

/** A reference value as the collector writes it (`{class, namespace, keys, path}`), or a bare path string. */
function refPath(v: Json | undefined): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v['path'] === 'string') return v['path'];
  return null;
}

/** 64-bit integers arrive as decimal strings; within 2^53 they become numbers, as the repository reader gives them. */
function int64(v: string): Flat {
  if (!/^-?\d{1,20}$/.test(v)) return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

function flatScalar(v: Json, type: string): Flat {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return type === 'UInt64' || type === 'SInt64' ? int64(v) : v;
  if (type === 'Reference') {
    const p = refPath(v);
    if (p !== null) return p;
  }
  return JSON.stringify(v);
}

/** A property value as observation properties hold it: arrays joined with `, `, references as their path, embedded objects as JSON. */
function flat(v: Json, type: string | undefined): Flat {
  const t = type ?? '';
  if (Array.isArray(v)) {
    const el = t.endsWith('Array') ? t.slice(0, -5) : '';
    return v.map((x) => {
      const f = flatScalar(x, el);
      return f === null ? '' : String(f);
    }).join(', ');
  }
  return flatScalar(v, t);
}

/** One parsed document object, checked; a string says why it is skipped. */
interface Checked {
  namespace: string;
  kind: CollectorKind;
  className: string;
  derivation: string[] | null;
  creatorSid: string | null;
  properties: JsonObject;
  types: Record<string, string>;
}

function check(o: Json): Checked | string {
  if (!isObject(o)) return 'not a JSON object';
  const ns = o['namespace'];
  if (typeof ns !== 'string' || !ns.trim() || ns.length > 4096) return '"namespace" is not a namespace name';
  const kind = o['kind'];
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) return `"kind" is not one of ${KINDS.join(', ')}`;
  const cls = o['class'];
  if (typeof cls !== 'string' || !CLASS_NAME.test(cls)) return '"class" is not a class name';
  const props = o['properties'];
  if (!isObject(props)) return '"properties" is not an object';
  const bad = badValue(props, 0);
  if (bad) return `"properties" holds ${bad}`;
  const types = o['types'] ?? {};
  if (!isObject(types) || !Object.values(types).every((t) => typeof t === 'string')) return '"types" is not an object of type names';
  const der = o['derivation'] ?? null;
  if (der !== null && !(Array.isArray(der) && der.every((x) => typeof x === 'string'))) return '"derivation" is not a list of class names';
  const sid = o['creatorSid'];
  if (!optString(sid)) return '"creatorSid" is not a string';
  return { namespace: ns, kind: kind as CollectorKind, className: cls, derivation: der as string[] | null, creatorSid: sid ?? null, properties: props, types: types as Record<string, string> };
}

/** The text form of a SID: the collector's `creatorSid`, else one rendered from the `CreatorSID` bytes. */
function creator(c: Checked): string | null {
  if (c.creatorSid && /^S-\d+(-\d+){1,15}$/.test(c.creatorSid)) return c.creatorSid;
  return sidFromByteArray(c.properties['CreatorSID']);
}

/**
 * A reference property as an object path: the collector's `path`, else one made from its `class` and `Name` key
 * (a structured reference without a path), else null.
 */
function refText(v: Json | undefined): string | null {
  const path = refPath(v);
  if (path !== null) return path;
  if (!isObject(v) || typeof v['class'] !== 'string' || !v['class']) return null;
  const keys = v['keys'];
  const k = isObject(keys) ? Object.keys(keys).find((x) => x.toLowerCase() === 'name') : undefined;
  return k && isObject(keys) && typeof keys[k] === 'string' ? objectPath(v['class'], keys[k] as string) : null;
}

function stringAt(o: Json | undefined, ...path: string[]): string | null {
  let v: Json | undefined = o;
  for (const k of path) v = isObject(v) ? v[k] : undefined;
  return typeof v === 'string' && v.trim() ? v.trim() : null;
}

async function observe(input: EvidenceInput, ctx: ObserveContext): Promise<ObserveResult> {
  const file = input.name;
  const note = (level: EvidenceNote['level'], code: NoteCode, message: string, kind?: string): void => {
    ctx.notes.add({ file, level, code, ...(kind ? { kind } : {}), message });
  };
  const text = await readText(input);
  let dropped = 0;
  let doc: Json;
  try {
    // a `__proto__` key would become an object's prototype when copied; JSON.parse keeps it as a plain key, so drop it here
    doc = parseJson(text, function (this: unknown, key: string, value: unknown) {
      if (key === '__proto__') {
        dropped++;
        return undefined;
      }
      return value;
    }) as Json;
  } catch (e) {
    note('error', 'failed', `collector: not valid JSON (${e instanceof Error ? e.message : String(e)}); a truncated or re-encoded copy? Nothing read`);
    return emptyResult();
  }
  if (!isObject(doc)) {
    note('error', 'failed', 'collector: the document is not a JSON object; nothing read');
    return emptyResult();
  }
  const major = collectorFormatMajor(doc['format']);
  if (major !== COLLECTOR_FORMAT_MAJOR) {
    const shown = typeof doc['format'] === 'string' ? JSON.stringify(doc['format'].slice(0, 60)) : String(doc['format']);
    note('error', 'over-limit', `collector: format ${shown} is not one this wmiscope reads (wmiscope-collector/${COLLECTOR_FORMAT_MAJOR} and /${COLLECTOR_FORMAT_MAJOR}.x, written today as ${COLLECTOR_FORMAT}); nothing read. A newer collector needs a newer wmiscope`);
    return emptyResult();
  }
  if (dropped) note('warning', 'damaged', `collector: ${dropped} "__proto__" key(s) dropped`);
  const objects = doc['objects'];
  if (!Array.isArray(objects)) {
    note('error', 'failed', 'collector: "objects" is not a list; nothing read');
    return emptyResult();
  }

  const hostDoc = doc['host'];
  const host = ctx.host ?? stringAt(hostDoc, 'fqdn') ?? stringAt(hostDoc, 'computerName') ?? '';
  if (!ctx.host && !host) note('warning', 'host-unknown', 'collector: the document names no host');
  const collectedRaw = stringAt(doc, 'collectedAt');
  const collectedMs = collectedRaw ? Date.parse(collectedRaw) : NaN;
  const time = Number.isFinite(collectedMs) && /^\d{4}-\d\d-\d\dT/.test(collectedRaw!) ? collectedRaw : null;
  if (!time) note('warning', 'damaged', `collector: "collectedAt" is ${collectedRaw ? `not an ISO-8601 time (${JSON.stringify(collectedRaw.slice(0, 40))})` : 'missing'}; observations carry no time`);

  // namespaces walked, and those that could not be read completely
  const namespaces = Array.isArray(doc['namespaces']) ? doc['namespaces'] : null;
  if (!namespaces) note('warning', 'damaged', 'collector: "namespaces" is not a list; which namespaces were walked is unknown');
  let walked = 0;
  let failed = 0;
  const clean: string[] = [];
  for (const [i, n] of (namespaces ?? []).entries()) {
    const name = stringAt(n, 'name');
    if (!isObject(n) || !name) {
      note('warning', 'damaged', `collector: namespaces[${i}] skipped: no namespace name`);
      continue;
    }
    walked++;
    // "errors" is a list (empty: every query worked); anything else says nothing of how the namespace was read
    if (!Array.isArray(n['errors'])) {
      failed++;
      note('warning', 'damaged', `collector: namespace ${normalizeNamespace(name)}: "errors" is not a list, so whether it was read completely is unknown: no absence is concluded there`);
      continue;
    }
    const errors = n['errors'];
    if (!errors.length) {
      clean.push(normalizeNamespace(name));
      continue;
    }
    failed++;
    const what = errors.slice(0, 5).map((e) => `${stringAt(e, 'query') ?? '?'}: ${stringAt(e, 'message') ?? 'error'}${stringAt(e, 'code') ? ` (${stringAt(e, 'code')})` : ''}`);
    note('warning', 'unreadable', `collector: namespace ${normalizeNamespace(name)} was not read completely, so subscriptions in it may be missing: ${what.join('; ')}${errors.length > 5 ? `; and ${errors.length - 5} more` : ''}`, 'namespace-error');
  }
  if (doc['truncated'] === true) note('warning', 'over-limit', `collector: the walk stopped after ${walked} namespaces (-MaxNamespaces); namespaces below them were not read`);
  // Administrator rights: only a run that says it had them shows the host's whole state. Without them (or when the
  // script could not tell: Constrained Language Mode, a 1.0 document whose check failed) a namespace may deny the
  // account and WMI may leave objects out without an error, so nothing absent from the document is called gone.
  // The collector asks for elevation only in FullLanguage (it writes null elsewhere), so "elevated": true beside
  // another language mode, or a languageMode that is not a mode's name, is not a document it wrote: not trusted.
  const elevatedRaw = isObject(hostDoc) ? hostDoc['elevated'] : undefined;
  const modeRaw = isObject(hostDoc) ? hostDoc['languageMode'] : undefined;
  const mode = typeof modeRaw === 'string' && /^[A-Za-z]{1,40}$/.test(modeRaw) ? modeRaw : null;
  const modeAllowsElevation = modeRaw === undefined || mode === 'FullLanguage';
  const elevated = elevatedRaw === true && modeAllowsElevation;
  const limited = 'no absence (deleted, orphan, missed) is concluded from this document';
  if (elevatedRaw === false) note('warning', 'unreadable', `collector: ran without administrator rights; namespaces that deny other users and objects hidden from that account may be missing: ${limited}`, 'not-elevated');
  else if (elevatedRaw === true && !elevated) note('warning', 'damaged', `collector: says it ran with administrator rights, but the collector cannot tell that in ${mode ? `PowerShell ${mode} mode` : 'a languageMode that is not a mode\'s name'} (it writes null there): not trusted; ${limited}`, 'not-elevated');
  else if (!elevated) note('warning', 'unreadable', `collector: whether it ran with administrator rights is not known${mode && mode !== 'FullLanguage' ? ` (PowerShell ${mode} mode cannot ask)` : ''}; namespaces or objects hidden from a user without them may be missing: ${limited}`, 'not-elevated');
  if (mode && mode !== 'FullLanguage') note('warning', 'assumption', `collector: ran in PowerShell ${mode} mode (an AppLocker or WDAC lockdown, or a constrained endpoint): it read WMI with the same queries as in FullLanguage${elevated ? '' : ', but could not check its administrator rights (see that note)'}, and the host's DNS domain comes from Win32_ComputerSystem`, 'language-mode');

  const observations: Observation[] = [];
  const chains = new Map<string, string[]>();
  let skipped = 0;
  // a skipped object leaves its namespace incomplete (a binding skipped would make its filter an orphan): no absence
  // is concluded there, nor anywhere when the object does not say its namespace
  const damagedNs = new Set<string>();
  let damagedAnywhere = false;
  for (const [i, raw] of objects.entries()) {
    const c = check(raw);
    if (typeof c === 'string') {
      skipped++;
      const where = isObject(raw) && typeof raw['namespace'] === 'string' ? raw['namespace'] : null;
      if (where !== null) damagedNs.add(normalizeNamespace(where).toLowerCase());
      else damagedAnywhere = true;
      note('warning', 'damaged', `collector: objects[${i}] skipped: ${c}`);
      continue;
    }
    const ns = normalizeNamespace(c.namespace);
    const properties: Values = {};
    for (const [k, v] of Object.entries(c.properties)) properties[k] = flat(v, c.types[k]);
    const part = c.kind === 'timer' ? null : c.kind;
    if (part === 'binding') for (const k of ['Filter', 'Consumer']) properties[k] = refText(c.properties[k]) ?? properties[k] ?? null;
    const nameProp = c.kind === 'timer' ? 'TimerId' : 'Name';
    const name = part === 'binding' ? null : typeof c.properties[nameProp] === 'string' ? (c.properties[nameProp] as string) : null;
    if (c.kind === 'consumer' && c.derivation) chains.set(`${host.toLowerCase()}|${ns.toLowerCase()}|${c.className.toLowerCase()}`, [...c.derivation].reverse().concat(c.className));
    const label = part === 'binding' ? `${properties['Filter'] ?? '?'} -> ${properties['Consumer'] ?? '?'}` : `${c.className}.${nameProp}=${JSON.stringify(name ?? '')}`;
    observations.push({
      host,
      source: 'collector',
      action: 'present',
      part,
      namespace: ns,
      className: c.className,
      name,
      time,
      user: creator(c),
      file,
      location: `objects[${i}] ${ns}:${label}`,
      properties,
      meta: {},
    });
  }

  const version = stringAt(doc, 'collector', 'version');
  const ps = stringAt(hostDoc, 'powershell', 'version');
  const os = stringAt(hostDoc, 'os', 'caption') ?? stringAt(hostDoc, 'os', 'version');
  const whole = elevated && !damagedAnywhere ? clean.filter((n) => !damagedNs.has(n.toLowerCase())) : [];
  // the whole state of every namespace walked, or only part of it (what it lacks is then not shown absent by `diff`)
  const partial = whole.length < walked || doc['truncated'] !== false;
  const item: EvidenceItem = {
    file,
    kind: 'collector',
    host,
    sources: ['collector'],
    ...(partial ? { partial: true as const } : {}),
    detail: `wmiscope collector${version ? ` ${version}` : ''}${ps ? `, PowerShell ${ps}` : ''}${mode && mode !== 'FullLanguage' ? ` (${mode})` : ''}${os ? `, ${os}` : ''}: ${walked} namespaces walked${failed ? `, ${failed} with errors` : ''}${doc['truncated'] === true ? ' (walk truncated)' : ''}${skipped ? `, ${skipped} objects skipped` : ''}${elevated ? '' : elevatedRaw === false ? ', not elevated' : ', elevation unknown'}`,
    records: observations.length,
    first: time,
    last: time,
  };
  // the host's whole WMI state in the namespaces read without errors — none unless the collector ran with
  // administrator rights (WMI may hide objects from other users without an error)
  return { observations, items: [item], logs: [], chains, state: [{ host, namespaces: whole, at: time }] };
}

export const collectorAdapter: Adapter = { format: 'collector', detect, observe };

export const adapters: Adapter[] = [collectorAdapter];
