/**
 * What the HTML report's "mark known-good" writes: for each finding, the plan of the exact allowlist entry
 * (the format `src/analysis/allowlist.ts` reads and matches). The page turns the plan into YAML with the
 * values it already holds, so payloads are not embedded twice.
 *
 * The entry follows `allowlistEntryFor` of the analysis: the subscription's namespace, the filter's key
 * properties, the consumer's class and key properties, and for a part only the binding names, the name (and
 * class) the binding gives. The key-property tables and the binding reader are the model's
 * (`src/model/subscription.ts`), shared with the analysis; `test/html-report.test.ts` checks that the entries the
 * page writes allow-list their finding through the real loader and matcher.
 */
import type { Finding, SubscriptionObject } from '../../model/types.js';
import { bindingTarget, consumerClassOf, consumerKeyProperties, FILTER_KEY_PROPERTIES } from '../../model/subscription.js';

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

/** A WMI default (unset, empty, 0, false) that the matcher treats as absent. */
function isDefault(v: unknown): boolean {
  return v === null || v === undefined || v === '' || v === 0 || v === false;
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
    else filter = { name: fname, keys: keyPairs(FILTER_KEY_PROPERTIES, f.filter.values) };
  } else if (fref?.name) filter = { name: fref.name, keys: [] };

  let consumer: (AllowPart & { className: string }) | null = null;
  const cls = consumerClassOf(f.consumer, f.binding);
  if (f.consumer) {
    if (!cls) problems.push('the consumer class is not known');
    else if (!IDENTIFIER.test(cls)) problems.push('the consumer class is not a WMI class name');
    else if (!cname) problems.push('the consumer has no name');
    else {
      const keys = keyPairs(consumerKeyProperties(cls, f.consumer.values), f.consumer.values);
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
