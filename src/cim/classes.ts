/**
 * Class definitions (cim-format.md §6–§7): a class found by name hash in its namespace or in `__SystemClass`, its
 * superclass chain (from class headers, or parsed whole), its full inherited layout and its defaults, and what kind
 * of subscription class it is. One ClassCatalog per open repository holds what was parsed.
 */
import { keyLocation, keyPath } from './store.js';
import { filetimeToIso, parseClassDefinition, parseClassHeader, propertyState, readValue, typeName } from './records.js';
import type { ClassHeader, RawClass, RawProperty } from './records.js';
import type { CimClass, CimLocation, CimPropertyDefinition, CimValue, CimWarning, SubscriptionKind } from './types.js';

/** The namespace system classes are defined in; a class not found in its own namespace is looked up there. */
export const SYSTEM_NS = '__SystemClass';

/** The keys of one namespace, grouped. */
export interface NsKeys {
  hash: string;
  /** class hash → class-definition key */
  cd: Map<string, string>;
  /** class hash → instance keys (CI_/IL_) */
  ci: Map<string, string[]>;
}

export interface Layout {
  chain: RawClass[];
  /** Properties in the layout of chain[0..l] (the size of that class's default-state table). */
  counts: number[];
  /** Full layout in slot order (a subclass's redefinition replaces the inherited definition). */
  props: RawProperty[];
  /** For each of `props`, the class that introduced the property. */
  owners: RawClass[];
}

/** What the catalog needs of its repository. */
export interface ClassSource {
  hasObjects: boolean;
  /** Key hash of a name. */
  hash(name: string): string;
  /** The record bytes a data-bearing key points to (throws when they cannot be had). */
  record(key: string): Uint8Array;
  warn(w: CimWarning): void;
  namespaceName(hash: string): string | null;
  location(key: string): CimLocation;
}

/** Class definitions of one repository, parsed once each, with their chains and layouts. */
export class ClassCatalog {
  private readonly classCache = new ByClass<RawClass | null>();
  private readonly layoutCache = new ByClass<Layout | null>();

  constructor(
    /** The repository's namespaces by hash (their class-definition keys are looked up here). */
    private readonly ns: ReadonlyMap<string, NsKeys>,
    private readonly io: ClassSource,
  ) {}

  /** Raw class by hash in a namespace, falling back to `__SystemClass`. */
  rawClass(nsHash: string, classHash: string): { cls: RawClass; ns: string; key: string } | null {
    if (!this.io.hasObjects) return null;
    for (const h of [nsHash, this.io.hash(SYSTEM_NS)]) {
      const key = this.ns.get(h)?.cd.get(classHash);
      if (!key) continue;
      const cls = this.classIn(h, classHash, key);
      if (cls) return { cls, ns: h, key };
    }
    return null;
  }

  /** The class definition under `key` in namespace `h`, parsed once; one that does not parse is a warning and null. */
  classIn(h: string, classHash: string, key: string): RawClass | null {
    let cls = this.classCache.get(h, classHash);
    if (cls === undefined) {
      try {
        cls = parseClassDefinition(this.io.record(key));
      } catch (e) {
        this.io.warn({ code: 'class-definition', message: `${keyPath(key)}: ${e instanceof Error ? e.message : String(e)}`, file: 'OBJECTS.DATA', page: keyLocation(key)?.page });
        cls = null;
      }
      this.classCache.set(h, classHash, cls);
    }
    return cls;
  }

  private readonly headerCache = new ByClass<ClassHeader | null>();

  /**
   * Name and superclass of the class rawClass() would find, read from the header of its record only. A class stored
   * both in the namespace and in `__SystemClass` is parsed whole (rawClass falls back to the second when the first
   * does not parse, which a header cannot tell); a header that does not parse goes to classIn(), so its damage is the
   * same warning. So a chain of headers is the chain of layout(), continued past a class damaged after its header.
   */
  classHeader(nsHash: string, classHash: string): { head: ClassHeader; key: string } | null {
    if (!this.io.hasObjects) return null;
    const sys = this.io.hash(SYSTEM_NS);
    const inNs = this.ns.get(nsHash)?.cd.get(classHash);
    const inSys = nsHash !== sys ? this.ns.get(sys)?.cd.get(classHash) : undefined;
    if (inNs && inSys) {
      const c = this.rawClass(nsHash, classHash);
      return c ? { head: c.cls, key: c.key } : null;
    }
    const key = inNs ?? inSys;
    if (!key) return null;
    const h = inNs ? nsHash : sys;
    let head: ClassHeader | null | undefined = this.classCache.get(h, classHash);
    if (head === undefined) head = this.headerCache.get(h, classHash);
    if (head === undefined) {
      try {
        head = parseClassHeader(this.io.record(key));
      } catch {
        head = this.classIn(h, classHash, key);
      }
      this.headerCache.set(h, classHash, head);
    }
    return head ? { head, key } : null;
  }

  private readonly chainCache = new ByClass<ClassLink[]>();

  /** The superclass chain of a class (root first, the class itself last) as layout() walks it, from class headers; empty when the class is not found. */
  chainOf(nsHash: string, classHash: string): ClassLink[] {
    const cached = this.chainCache.get(nsHash, classHash);
    if (cached) return cached;
    const chain: ClassLink[] = [];
    let h: string | null = classHash;
    const seen = new Set<string>();
    while (h && !seen.has(h) && chain.length < 64) {
      seen.add(h);
      const c = this.classHeader(nsHash, h);
      if (!c) break;
      chain.unshift({ name: c.head.name, key: c.key });
      h = c.head.superclass ? this.io.hash(c.head.superclass) : null;
    }
    this.chainCache.set(nsHash, classHash, chain);
    return chain;
  }

  /**
   * A subscription class's kind and layout; null for any other class. The kind is found from the chain of class
   * headers and confirmed on the full layout, so only subscription classes are parsed whole (a chain of headers holds
   * every name the layout's chain holds: a class that is not a subscription class by its headers is not one by its layout).
   */
  subscriptionLayout(nsHash: string, classHash: string): { kind: SubscriptionKind; layout: Layout } | null {
    if (!subscriptionKind(this.chainOf(nsHash, classHash).map((c) => c.name))) return null;
    const layout = this.layout(nsHash, classHash);
    const kind = layout ? subscriptionKind(layout.chain.map((c) => c.name)) : null;
    return layout && kind ? { kind, layout } : null;
  }

  layout(nsHash: string, classHash: string): Layout | null {
    const cached = this.layoutCache.get(nsHash, classHash);
    if (cached !== undefined) return cached;
    const chain: RawClass[] = [];
    let h: string | null = classHash;
    const seen = new Set<string>();
    while (h && !seen.has(h) && chain.length < 64) {
      seen.add(h);
      const c = this.rawClass(nsHash, h);
      if (!c) {
        if (chain.length) this.io.warn({ code: 'class-definition', message: `superclass of ${chain[0]!.name} not found in its namespace or ${SYSTEM_NS}` });
        break;
      }
      chain.unshift(c.cls);
      h = c.cls.superclass ? this.io.hash(c.cls.superclass) : null;
    }
    let layout: Layout | null = null;
    if (chain.length) {
      const byIndex = new Map<number, RawProperty>();
      const ownerOf = new Map<number, RawClass>();
      const counts: number[] = [];
      for (const c of chain) {
        for (const p of c.own) {
          byIndex.set(p.index, p);
          if (!ownerOf.has(p.index)) ownerOf.set(p.index, c);
        }
        counts.push(byIndex.size);
      }
      const props = [...byIndex.values()].sort((a, b) => a.index - b.index);
      layout = { chain, counts, props, owners: props.map((p) => ownerOf.get(p.index)!) };
    }
    this.layoutCache.set(nsHash, classHash, layout);
    return layout;
  }

  /** Default of slot `i` for the class at `level` of the chain, following "inherited" states upwards. */
  defaultValue(layout: Layout, level: number, i: number): CimValue {
    const prop = layout.props[i]!;
    for (let l = level; l >= 0; l--) {
      const c = layout.chain[l]!;
      const stateBytes = Math.ceil((2 * layout.counts[l]!) / 8);
      const st = propertyState(c.defaults, prop.index);
      if (st & 1) return null;
      if (st & 2) continue;
      try {
        return readValue(c.defaults.subarray(stateBytes), prop.offset, prop.type, c.data);
      } catch {
        return null;
      }
    }
    return null;
  }

  toClass(nsHash: string, classHash: string): CimClass | null {
    const raw = this.rawClass(nsHash, classHash);
    const layout = this.layout(nsHash, classHash);
    if (!raw || !layout) return null;
    const last = layout.chain.length - 1;
    const properties: CimPropertyDefinition[] = layout.props.map((p, i) => ({
      name: p.name,
      type: typeName(p.type),
      index: p.index,
      definedBy: layout.owners[i]!.name,
      qualifiers: p.qualifiers,
      isKey: p.qualifiers.some((q) => q.name.toLowerCase() === 'key' && q.value === true),
      default: this.defaultValue(layout, last, i),
    }));
    return {
      namespace: this.io.namespaceName(raw.ns),
      namespaceHash: raw.ns,
      name: raw.cls.name,
      superclass: raw.cls.superclass,
      chain: layout.chain.map((c) => c.name),
      timestamp: filetimeToIso(raw.cls.tsLo, raw.cls.tsHi),
      qualifiers: raw.cls.qualifiers,
      properties,
      location: this.io.location(raw.key),
    };
  }

}

/** One class of a superclass chain read from class headers: its name and the key of its record. */
export interface ClassLink {
  name: string;
  key: string;
}

/** Values by namespace hash and class hash (two levels: no key string is built for a lookup). */
export class ByClass<T> {
  private readonly byNs = new Map<string, Map<string, T>>();
  get(nsHash: string, classHash: string): T | undefined {
    return this.byNs.get(nsHash)?.get(classHash);
  }
  set(nsHash: string, classHash: string, value: T): void {
    let m = this.byNs.get(nsHash);
    if (!m) this.byNs.set(nsHash, (m = new Map()));
    m.set(classHash, value);
  }
}

/** The kind of subscription object a class with this chain (class names, any order) holds, or null. */
export function subscriptionKind(chain: string[]): SubscriptionKind | null {
  const lower = chain.map((c) => c.toLowerCase());
  if (lower.includes('__eventfilter')) return 'filter';
  if (lower.includes('__eventconsumer')) return 'consumer';
  if (lower.includes('__filtertoconsumerbinding')) return 'binding';
  return null;
}

