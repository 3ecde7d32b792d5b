/**
 * Event-subscription objects (cim-format.md §9): every `__EventFilter`, instance of an `__EventConsumer` subclass and
 * `__FilterToConsumerBinding` in every namespace, the binding's references resolved to the objects they name; object
 * paths and binary SIDs as WMI writes them.
 */
import type { ClassCatalog, NsKeys } from './classes.js';
import type { CimBinding, CimInstance, CimSubscriptionObject, CimSubscriptions, CimValue } from './types.js';

/** What reading the subscriptions needs of the repository. */
export interface SubscriptionSource {
  groups(): Iterable<NsKeys>;
  classes: ClassCatalog;
  instanceFromKey(nsHash: string, key: string): CimInstance | null;
  namespaceHash(ns: string): string;
}

/** Every `__EventFilter`, instance of any `__EventConsumer` subclass, and `__FilterToConsumerBinding`, in every namespace (names resolved first). */
export function readSubscriptions(src: SubscriptionSource): CimSubscriptions {
  const filters: CimSubscriptionObject[] = [];
  const consumers: CimSubscriptionObject[] = [];
  const bindings: CimBinding[] = [];
  for (const g of src.groups()) {
    for (const [classHash, keys] of g.ci) {
      const kind = src.classes.subscriptionLayout(g.hash, classHash)?.kind;
      if (!kind) continue;
      for (const key of keys) {
        const inst = src.instanceFromKey(g.hash, key);
        if (!inst) continue;
        const values: Record<string, CimValue> = {};
        for (const p of inst.properties) values[p.name] = p.value;
        const obj: CimSubscriptionObject = { ...inst, kind, values, creatorSid: sidFromBytes(values['CreatorSID']) };
        if (kind === 'filter') filters.push(obj);
        else if (kind === 'consumer') consumers.push(obj);
        else bindings.push({ ...obj, kind: 'binding', filter: null, consumer: null });
      }
    }
  }
  for (const b of bindings) {
    b.filter = resolveReference(src, b.values['Filter'], b.namespaceHash, filters);
    b.consumer = resolveReference(src, b.values['Consumer'], b.namespaceHash, consumers);
  }
  const order = (a: CimInstance, b: CimInstance): number => (a.namespace ?? a.namespaceHash).localeCompare(b.namespace ?? b.namespaceHash) || a.className.localeCompare(b.className);
  return { filters: filters.sort(order), consumers: consumers.sort(order), bindings: bindings.sort(order) };
}

/** Find the object a binding's reference string (`Class.Key="v"`, maybe `\\.\root\ns:` prefixed) points to. */
function resolveReference(src: SubscriptionSource, ref: CimValue, bindingNs: string, pool: CimSubscriptionObject[]): CimSubscriptionObject | null {
  if (typeof ref !== 'string') return null;
  const parsed = parseObjectPath(ref);
  if (!parsed) return null;
  const ns = parsed.namespace ? src.namespaceHash(parsed.namespace) : bindingNs;
  return (
    pool.find(
      (o) =>
        o.namespaceHash === ns &&
        o.className.toLowerCase() === parsed.className.toLowerCase() &&
        Object.entries(parsed.keys).every(([k, v]) => String(o.values[k] ?? o.values[Object.keys(o.values).find((n) => n.toLowerCase() === k.toLowerCase()) ?? ''] ?? '') === v),
    ) ?? null
  );
}

/** `\\server\root\ns:Class.Key="value",Key2=3` → parts; values unescaped. */
export function parseObjectPath(path: string): { namespace: string | null; className: string; keys: Record<string, string> } | null {
  let rest = path.trim();
  let namespace: string | null = null;
  const colon = rest.search(/:(?=[A-Za-z_][\w]*(\.|=|$))/);
  if (colon > 0 && /^(\\\\|\/\/|[A-Za-z_\\/])/.test(rest)) {
    namespace = rest.slice(0, colon).replace(/\//g, '\\').replace(/^\\\\[^\\]+\\/, '');
    rest = rest.slice(colon + 1);
  }
  const m = /^([A-Za-z_][\w]*)(?:\.(.*)|=@)?$/s.exec(rest);
  if (!m) return null;
  const keys: Record<string, string> = {};
  const body = m[2] ?? '';
  // linear: a key starts a word (digits before it aside), a quoted value is an unrolled loop (no per-character stack)
  const re = /(?<!\w)\d*([A-Za-z_]\w*)=("([^"\\]*(?:\\.[^"\\]*)*)"|[^,]*)/gs;
  let k: RegExpExecArray | null;
  while ((k = re.exec(body))) keys[k[1]!] = k[3] !== undefined ? k[3].replace(/\\(.)/g, '$1') : k[2]!;
  return { namespace, className: m[1]!, keys };
}

/** A binary SID (array of byte values) → `S-1-…`, or null. */
export function sidFromBytes(v: CimValue | undefined): string | null {
  if (!Array.isArray(v) || v.length < 8 || !v.every((x) => typeof x === 'number' && x >= 0 && x <= 255)) return null;
  const b = v as number[];
  const n = b[1]!;
  if (b.length < 8 + 4 * n) return null;
  let auth = 0;
  for (let i = 2; i < 8; i++) auth = auth * 256 + b[i]!;
  let s = `S-${b[0]}-${auth}`;
  for (let i = 0; i < n; i++) {
    const o = 8 + 4 * i;
    s += '-' + ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000);
  }
  return s;
}

