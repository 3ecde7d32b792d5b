/**
 * What the HTML report's "mark known-good" writes: for each finding, the plan of the exact allowlist entry
 * (the format `src/analysis/allowlist.ts` reads and matches). The page turns the plan into YAML with the
 * values it already holds, so payloads are not embedded twice.
 *
 * The entry follows `allowlistEntryFor` of the analysis: the subscription's namespace, the filter's key
 * properties, the consumer's class and key properties, and for a part only the binding names, the name (and
 * class) the binding gives. Reports may import only the model, so the key-property tables below are copies of
 * those in `src/analysis/known-good.ts`; `test/html-report.test.ts` checks that they stay equal and that the
 * entries the page writes allow-list their finding through the real loader and matcher.
 */
import type { Finding, SubscriptionObject } from '../../model/types.js';

/** Copy of `FILTER_KEY_PROPERTIES` (analysis/known-good.ts). */
export const FILTER_KEYS: readonly string[] = ['Name', 'Query', 'QueryLanguage', 'EventNamespace'];

/** Copy of `CONSUMER_KEY_PROPERTIES` (analysis/known-good.ts). */
export const CONSUMER_KEYS: Readonly<Record<string, readonly string[]>> = {
  commandlineeventconsumer: ['Name', 'CommandLineTemplate', 'ExecutablePath', 'WorkingDirectory'],
  activescripteventconsumer: ['Name', 'ScriptingEngine', 'ScriptText', 'ScriptFileName'],
  logfileeventconsumer: ['Name', 'Filename', 'Text'],
  nteventlogeventconsumer: ['Name', 'SourceName', 'EventID', 'EventType', 'Category', 'NameOfUserSIDProperty', 'UNCServerName'],
  smtpeventconsumer: ['Name', 'SMTPServer', 'ToLine', 'CcLine', 'BccLine', 'FromLine', 'ReplyToLine', 'Subject', 'Message', 'HeaderFields'],
};

/** Copy of `CONSUMER_BOOKKEEPING` (analysis/known-good.ts). */
export const CONSUMER_BOOKKEEPING_KEYS: readonly string[] = ['CreatorSID', 'MachineName', 'MaximumQueueSize', 'InsertionStringTemplates', 'NumberOfInsertionStrings'];

/** A WMI property or class name the allowlist loader accepts. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One part of the entry: `Name` first, then `[entry key, key in the object's values]` for every key property
 * the object has a value for (unset, empty, 0 and false are WMI defaults and left out, as the matcher does).
 */
export interface AllowPart {
  name: string;
  keys: Array<[string, string]>;
}

export interface AllowPlan {
  /** The entry's `id`: `filter -> consumer`. */
  id: string;
  namespace: string | null;
  /** From `finding.filter.values` (keys) or, without a filter object, the name the binding gives. */
  filter: AllowPart | null;
  /** From `finding.consumer.values` (keys) or, without a consumer object, the name and class the binding gives. */
  consumer: (AllowPart & { className: string }) | null;
  /** Why no exact entry can be written (then the page offers none); null when it can. */
  problem: string | null;
}

function getKey(values: Record<string, unknown>, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(values, name)) return name;
  return Object.keys(values).find((k) => k.toLowerCase() === name.toLowerCase());
}

function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : String(v);
}

/** A WMI default (unset, empty, 0, false) that the matcher treats as absent. */
function isDefault(v: unknown): boolean {
  return v === null || v === undefined || v === '' || v === 0 || v === false;
}

/** `[\\.\ROOT\subscription:]Class.Name="x"` → class and name (the name only when the path has one). */
function parsePath(ref: string): { className: string; name: string | null } | null {
  let t = ref.trim();
  const colon = t.search(/:(?=[A-Za-z_]\w*(\.|=|$))/);
  if (colon > 0) t = t.slice(colon + 1);
  const m = /^([A-Za-z_]\w*)(?:\.[^=]*=\s*"([^"\\]*(?:\\.[^"\\]*)*)"|=\s*"([^"\\]*(?:\\.[^"\\]*)*)")?/s.exec(t);
  if (!m) return null;
  const raw = m[2] ?? m[3];
  return { className: m[1]!, name: raw !== undefined ? raw.replace(/\\(.)/g, '$1') : null };
}

/** What a binding points at: an object path, or a bare name (Sysmon 21, WMI-Activity 5861) with the class beside it. */
export function bindingTarget(binding: SubscriptionObject | null, part: 'Filter' | 'Consumer'): { className: string | null; name: string | null } | null {
  if (!binding) return null;
  const get = (k: string): unknown => {
    const key = getKey(binding.values, k);
    return key === undefined ? undefined : binding.values[key];
  };
  const raw = get(part);
  const ref = typeof raw === 'string' ? parsePath(raw) : null;
  const path = ref && ref.name !== null ? ref : null;
  const bare = !path && typeof raw === 'string' && raw.trim() !== '' ? raw : null;
  const name = str(get(`${part}Name`)) ?? path?.name ?? bare;
  const className = (part === 'Consumer' ? str(get('ConsumerClass')) : null) ?? path?.className ?? null;
  return name === null && className === null ? null : { className, name };
}

/** The consumer's class: as known, else from the binding, else from the properties it has. */
export function consumerClass(f: Finding): string | null {
  if (f.consumer?.className) return f.consumer.className;
  const ref = bindingTarget(f.binding, 'Consumer');
  if (ref?.className) return ref.className;
  const v = f.consumer?.values ?? {};
  if (v['CommandLineTemplate'] || v['ExecutablePath']) return 'CommandLineEventConsumer';
  if (v['ScriptText'] || v['ScriptFileName']) return 'ActiveScriptEventConsumer';
  if (v['Filename'] && v['Text'] !== undefined) return 'LogFileEventConsumer';
  if (v['SourceName']) return 'NTEventLogEventConsumer';
  if (v['SMTPServer']) return 'SMTPEventConsumer';
  return null;
}

function consumerKeys(cls: string, values: Record<string, unknown>): string[] {
  const std = CONSUMER_KEYS[cls.toLowerCase()];
  if (std) return [...std];
  return ['Name', ...Object.keys(values).filter((k) => k !== 'Name' && !k.startsWith('__') && !CONSUMER_BOOKKEEPING_KEYS.includes(k))];
}

/** `[entry key, values key]` for each key property with a non-default value, Name excluded (it leads the part). */
function keyPairs(keys: readonly string[], values: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const k of keys) {
    if (k.toLowerCase() === 'name' || seen.has(k.toLowerCase())) continue;
    seen.add(k.toLowerCase());
    const src = getKey(values, k);
    if (src === undefined || isDefault(values[src])) continue;
    out.push([k, src]);
  }
  return out;
}

function objName(o: SubscriptionObject): string | null {
  const k = getKey(o.values, 'Name');
  const v = k === undefined ? undefined : o.values[k];
  return typeof v === 'string' && v !== '' ? v : o.name;
}

/** The plan of the exact allowlist entry for a finding. */
export function allowPlan(f: Finding): AllowPlan {
  const problems: string[] = [];
  const fref = bindingTarget(f.binding, 'Filter');
  const cref = bindingTarget(f.binding, 'Consumer');
  const fname = (f.filter ? objName(f.filter) : null) ?? fref?.name ?? null;
  const cname = (f.consumer ? objName(f.consumer) : null) ?? cref?.name ?? null;

  let filter: AllowPart | null = null;
  if (f.filter) {
    if (!fname) problems.push('the filter has no name');
    else filter = { name: fname, keys: keyPairs(FILTER_KEYS, f.filter.values) };
  } else if (fref?.name) filter = { name: fref.name, keys: [] };

  let consumer: (AllowPart & { className: string }) | null = null;
  const cls = consumerClass(f);
  if (f.consumer) {
    if (!cls) problems.push('the consumer class is not known');
    else if (!IDENTIFIER.test(cls)) problems.push('the consumer class is not a WMI class name');
    else if (!cname) problems.push('the consumer has no name');
    else {
      const keys = keyPairs(consumerKeys(cls, f.consumer.values), f.consumer.values);
      const bad = keys.filter(([k]) => !IDENTIFIER.test(k));
      // an allowlist entry names the consumer's class with the key `class`: a property of that name cannot sit beside it
      const reserved = keys.some(([k]) => k.toLowerCase() === 'class');
      if (bad.length > 0) problems.push(`${bad.length === 1 ? 'a consumer property has a name' : `${bad.length} consumer properties have names`} an allowlist cannot hold`);
      else if (reserved) problems.push('a consumer property is named "class", the key an allowlist entry uses for the consumer class');
      else consumer = { className: cls, name: cname, keys };
    }
  } else if (cref?.name) {
    if (cref.className && IDENTIFIER.test(cref.className)) consumer = { className: cref.className, name: cref.name, keys: [] };
    else problems.push('the binding does not say which consumer class it points at');
  }
  if (!filter && !consumer && problems.length === 0) problems.push('the finding has no named filter or consumer');
  return {
    id: `${fname ?? '(no filter)'} -> ${cname ?? '(no consumer)'}`,
    namespace: f.namespace,
    filter,
    consumer,
    problem: problems.length > 0 ? problems.join('; ') : null,
  };
}
