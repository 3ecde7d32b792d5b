/**
 * The offline WMI repository: every namespace (named or only hashed), class definitions with their inherited
 * layouts and defaults, instances, and the event-subscription objects in all of them.
 */
import { gunzipSync } from 'node:zlib';
import { CimFormatError } from './errors.js';
import { findRepository, isGzipFile, mappingKey, nameHash, readBounded, readMaybeGzip } from './files.js';
import { ObjectStore, indexPageAt, keyLocation, keyPath, keyPathEnd, parseIndexPage, parseMapping, pickCurrent, walkIndex, PAGE_SIZE } from './store.js';
import { BufferPageSource, DEFAULT_PAGE_CACHE_BYTES, FilePageSource } from './pages.js';
import type { PageSource } from './pages.js';
import type { MapSection, MappingFile } from './store.js';
import {
  RecordError,
  filetimeToIso,
  parseInstanceHeader,
  readInstanceValues,
  typeName,
} from './records.js';
import { findResiduePatterns, objectsCoverage, plausibleFiletime, readQuoted } from './residue.js';
import type { PageRecordSpan } from './residue.js';
import { ClassCatalog, SYSTEM_NS, subscriptionKind } from './classes.js';
import type { NsKeys } from './classes.js';
import type {
  CimBinding,
  CimResidueLiveLink,
  CimResidueProvenance,
  CimStaleKey,
  CimClass,
  CimFormatVersion,
  CimInstance,
  CimLocation,
  CimNamespace,
  CimProperty,
  CimResidualObject,
  CimSubscriptionObject,
  CimSubscriptions,
  CimValue,
  CimWarning,
  SubscriptionKind,
} from './types.js';

/** Leaves tried under every named namespace to name orphans (localisation namespaces are the common case). */
const COMMON_LEAVES = [
  'ms_409', 'ms_407', 'ms_40c', 'ms_410', 'ms_411', 'ms_412', 'ms_413', 'ms_416', 'ms_419', 'ms_40a', 'ms_804', 'ms_404',
  'ms_405', 'ms_406', 'ms_408', 'ms_40b', 'ms_40e', 'ms_414', 'ms_415', 'ms_41d', 'ms_41f', 'ms_816', 'ms_c0a',
  'subscription', 'default', 'cimv2', 'security', 'wmi', 'directory', 'ldap', 'policy', 'rsop', 'microsoft', 'windows',
];


/** A mapping file larger than this is not read (a 2.2 map of this size would describe about 20 GiB of pages). */
const MAX_MAPPING_BYTES = 64 << 20;

/** Bytes after a reference string's opening quote read for its value (readQuoted looks at no more than 2,060). */
const QUOTED_WINDOW = 4096;

/** Occurrences of one pattern the residue scan carves at most (each a record decode); the rest are counted in a warning. */
const MAX_CARVE_HITS = 100_000;

export interface CimOpenOptions {
  /** Use this mapping file instead of the current one (e.g. an older MAPPINGn.MAP, to see a previous state): its name, any case, or a path to it in the repository folder. */
  mapping?: string;
  /**
   * The repository files as bytes instead of a folder (e.g. members of a collection zip): upper-cased base
   * names (`INDEX.BTR`, `OBJECTS.DATA`, `MAPPING1.MAP`, …) to contents, gzip'd or not. `dir` is then only a label.
   */
  files?: ReadonlyMap<string, Uint8Array>;
  /**
   * Page-cache budget of the repository in bytes (default 64 MiB: 3/4 for OBJECTS.DATA, 1/4 for INDEX.BTR). Files on
   * disk are never read whole: pages are read when needed, and at most this many bytes of them are kept.
   */
  pageCacheBytes?: number;
}

interface RepoSource {
  dir: string;
  /** Upper-cased base name → a handle `read` and `open` understand. */
  files: Map<string, string>;
  /** A small file whole (bounded by `maxBytes`). */
  read(handle: string, maxBytes: number): Buffer;
  /** A big file as a page source. */
  open(handle: string, name: string, cacheBytes: number): PageSource;
}

function diskFiles(r: { dir: string; files: Map<string, string> }): RepoSource {
  return {
    dir: r.dir,
    files: r.files,
    read: (f, max) => readBounded(f, max),
    // gzip'd copies are gunzipped into memory (bounded by readMaybeGzip); plain files are read page by page
    open: (f, name, cacheBytes) => (isGzipFile(f) ? new BufferPageSource(readMaybeGzip(f), name) : new FilePageSource(f, name, cacheBytes)),
  };
}

function memoryFiles(dir: string, files: ReadonlyMap<string, Uint8Array>): RepoSource {
  const names = new Map<string, string>();
  for (const k of files.keys()) {
    const up = k.toUpperCase().replace(/\.GZ$/, '');
    if (up === 'INDEX.BTR' || up === 'OBJECTS.DATA' || /^MAPPING\d?\.(MAP|VER)$/.test(up) || up === 'INDEX.MAP' || up === 'OBJECTS.MAP') if (!names.has(up) || !k.toLowerCase().endsWith('.gz')) names.set(up, k);
  }
  if (!names.has('INDEX.BTR') || ![...names.keys()].some((k) => /^MAPPING\d\.MAP$/.test(k))) throw new CimFormatError(`${dir}: no WMI repository (INDEX.BTR and MAPPING*.MAP needed)`);
  const read = (handle: string, max = 2 ** 31 - 1): Buffer => {
    const b = files.get(handle)!;
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
      try {
        return gunzipSync(buf, { maxOutputLength: max });
      } catch (e) {
        throw new CimFormatError(`${dir}/${handle}: gzip data does not decompress (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    return buf;
  };
  return { dir, files: names, read, open: (handle, name) => new BufferPageSource(read(handle), name) };
}

export class CimRepository {
  readonly dir: string;
  readonly version: CimFormatVersion;
  readonly warnings: CimWarning[] = [];
  /** The mapping file in use and the others (older states). */
  readonly mapping: { current: string; sequence: number; history: Array<{ name: string; sequence: number }> };
  /** Logical page of the index B-tree root. */
  readonly rootPage: number;
  private readonly algo: 'sha256' | 'md5';
  private readonly allKeys: string[];
  private readonly ns = new Map<string, NsKeys>();
  private readonly store: ObjectStore;
  /** Class definitions, chains and layouts, parsed once each. */
  private readonly classes_: ClassCatalog;
  private readonly names = new Map<string, { name: string; namedBy: CimNamespace['namedBy'] }>();
  private namesResolved = false;
  private readonly hasObjects: boolean;
  private readonly btr: PageSource;
  /** The open files (closed by close()). */
  private readonly sources: PageSource[];
  private readonly indexMap: MapSection;
  private readonly liveIndexPages: Set<number>;
  /** The other mapping files, newest first: older states whose objects maps may still reach records the current one lost. */
  private readonly historyMaps: MappingFile[];

  private constructor(dir: string, opts: CimOpenOptions) {
    const repo = opts.files ? memoryFiles(dir, opts.files) : diskFiles(findRepository(dir));
    this.dir = repo.dir;
    const maps: MappingFile[] = [];
    let mappingVer: number | null = null;
    const ver = repo.files.get('MAPPING.VER');
    if (ver) {
      try {
        const b = repo.read(ver, 1 << 16);
        if (b.length >= 4) mappingVer = b.readUInt32LE(0);
      } catch (e) {
        this.warn({ code: 'mapping', message: `MAPPING.VER: ${e instanceof Error ? e.message : String(e)}`, file: 'MAPPING.VER' });
      }
    }
    for (const [name, file] of repo.files) {
      if (!/^MAPPING\d\.MAP$/.test(name)) continue;
      try {
        maps.push(parseMapping(repo.read(file, MAX_MAPPING_BYTES), name));
      } catch (e) {
        this.warn({ code: 'mapping', message: `${name}: ${e instanceof Error ? e.message : String(e)}`, file: name });
      }
    }
    if (!maps.length) {
      const why = this.warnings.filter((w) => w.code === 'mapping').map((w) => w.message);
      throw new CimFormatError(`${repo.dir}: no readable MAPPING*.MAP file${why.length ? ` (${why.join('; ')})` : ''}`);
    }
    const wanted = opts.mapping !== undefined ? mappingKey(opts.mapping, repo.files, !opts.files) : undefined;
    if (wanted === null) throw new CimFormatError(`${opts.mapping}: not a mapping file of the repository in ${repo.dir} (a mapping file is read with the OBJECTS.DATA and INDEX.BTR it describes)`);
    const picked = wanted !== undefined ? { current: maps.find((m) => m.name === wanted), history: maps.filter((m) => m.name !== wanted) } : pickCurrent(maps, mappingVer);
    if (!picked.current) throw new CimFormatError(`${repo.dir}: mapping file ${opts.mapping} not found (readable: ${maps.map((m) => m.name).sort().join(', ')})`);
    const current = picked.current;
    this.version = current.version;
    this.algo = this.version === '2.2' ? 'sha256' : 'md5';
    this.mapping = { current: current.name, sequence: current.sequence, history: picked.history.map((m) => ({ name: m.name, sequence: m.sequence })) };
    for (const h of picked.history) {
      // a tie is normal when the tables are identical; only a tie with different tables is worth a warning
      if (h.sequence === current.sequence && h.id1 !== current.id1 && !sameTables(h, current))
        this.warn({ code: 'mapping-history', message: `${h.name} has the same sequence ${h.sequence} as ${current.name} but different page tables; ${current.name} chosen by its higher id1`, file: h.name });
    }
    const cacheBytes = Math.max(0, opts.pageCacheBytes ?? DEFAULT_PAGE_CACHE_BYTES);
    const objFile = repo.files.get('OBJECTS.DATA');
    const btr = repo.open(repo.files.get('INDEX.BTR')!, 'INDEX.BTR', cacheBytes / 4);
    let objects: PageSource;
    try {
      objects = objFile ? repo.open(objFile, 'OBJECTS.DATA', (cacheBytes * 3) / 4) : new BufferPageSource(new Uint8Array(0), 'OBJECTS.DATA');
    } catch (e) {
      btr.close();
      throw e;
    }
    this.sources = [btr, objects];
    this.hasObjects = objFile !== undefined;
    if (!objFile) this.warn({ code: 'object-page', message: 'OBJECTS.DATA is missing: keys and namespace hashes only, no records' });
    let root: number;
    if (this.version === '2.2') root = current.index.rootPage ?? 0;
    else {
      // XP: logical index page 0 is an admin page whose +12 field names the root
      const p0 = current.index.pages[0] ?? -1;
      root = 0;
      try {
        if (p0 >= 0) root = indexPageAt(btr, p0).root;
      } catch (e) {
        this.warn({ code: 'index-page', message: `admin page: ${e instanceof Error ? e.message : String(e)}`, file: 'INDEX.BTR', page: 0 });
      }
    }
    this.rootPage = root;
    let walked: { keys: string[]; pages: Set<number> };
    try {
      walked = walkIndex(btr, current.index, root, (w) => this.warn(w));
    } catch (e) {
      this.close(); // a read error of the file itself: nothing stays open
      throw e;
    }
    this.allKeys = walked.keys;
    this.btr = btr;
    this.indexMap = current.index;
    this.liveIndexPages = walked.pages;
    this.historyMaps = picked.history;
    this.store = new ObjectStore(objects, current.objects);
    this.classes_ = new ClassCatalog(this.ns, {
      hasObjects: this.hasObjects,
      hash: (name) => this.hash(name),
      record: (key) => this.record(key),
      warn: (w) => this.warn(w),
      namespaceName: (hash) => this.namespaceName(hash),
      location: (key) => this.location(key),
    });
    this.groupKeys();
  }

  /**
   * Open the repository in `dir` (the repository folder, or any folder above it). Its big files stay open, read page
   * by page: call close() when done (reading after close() reopens them).
   */
  static open(dir: string, opts: CimOpenOptions = {}): CimRepository {
    return new CimRepository(dir, opts);
  }

  /** Release the open files and the page cache. */
  close(): void {
    for (const s of this.sources) s.close();
  }

  private warn(w: CimWarning): void {
    this.warnings.push(w);
  }

  private readonly hashCache = new Map<string, string>();

  /** Key hash of a name (memoized: class and namespace names repeat constantly). */
  hash(name: string): string {
    let h = this.hashCache.get(name);
    if (h === undefined) {
      h = nameHash(name, this.algo);
      this.hashCache.set(name, h);
    }
    return h;
  }

  /** Every key of the index, sorted and unique, with `.page.id.size` suffixes where the key carries data. */
  keys(): readonly string[] {
    return this.allKeys;
  }

  private groupKeys(): void {
    // the parts of a key's path (before its `.page.id.size`): `NS_<ns>`, then `CD_<class>` alone or `CI_<class>/IL_<key>`
    for (const key of this.allKeys) {
      if (!key.startsWith('NS_')) continue;
      const end = keyPathEnd(key);
      const cut1 = key.indexOf('/');
      const nsEnd = cut1 < 0 || cut1 > end ? end : cut1;
      const h = key.slice(3, nsEnd);
      let g = this.ns.get(h);
      if (!g) this.ns.set(h, (g = { hash: h, cd: new Map(), ci: new Map() }));
      if (nsEnd + 1 >= end) continue; // no second part, or an empty one
      const cut2 = key.indexOf('/', nsEnd + 1);
      const secondEnd = cut2 < 0 || cut2 > end ? end : cut2;
      if (secondEnd === end && key.startsWith('CD_', nsEnd + 1)) g.cd.set(key.slice(nsEnd + 4, end), key);
      else if (secondEnd < end && key.startsWith('CI_', nsEnd + 1) && key.startsWith('IL_', secondEnd + 1)) {
        const c = key.slice(nsEnd + 4, secondEnd);
        const list = g.ci.get(c);
        if (list) list.push(key);
        else g.ci.set(c, [key]);
      }
    }
  }

  // ---- namespaces ----------------------------------------------------------------------------------------

  private resolveNames(): void {
    if (this.namesResolved) return;
    this.namesResolved = true;
    const sys = this.hash(SYSTEM_NS);
    this.names.set(sys, { name: SYSTEM_NS, namedBy: 'system' });
    const queue = ['ROOT'];
    this.names.set(this.hash('ROOT'), { name: 'ROOT', namedBy: 'root' });
    const nsClass = this.hash('__NAMESPACE');
    while (queue.length) {
      const parent = queue.shift()!;
      const g = this.ns.get(this.hash(parent));
      if (!g) continue;
      for (const key of g.ci.get(nsClass) ?? []) {
        const inst = this.instanceFromKey(g.hash, key);
        const leaf = inst?.properties.find((p) => p.name === 'Name')?.value;
        if (typeof leaf !== 'string' || !leaf) continue;
        const child = `${parent}\\${leaf}`;
        const h = this.hash(child);
        if (this.names.has(h)) continue;
        this.names.set(h, { name: child, namedBy: 'walk' });
        queue.push(child);
      }
    }
    // orphans: a namespace with records but no __NAMESPACE instance in its parent; try common leaves
    for (let round = 0; round < 3; round++) {
      let found = false;
      for (const { name } of [...this.names.values()]) {
        if (name === SYSTEM_NS) continue;
        for (const leaf of COMMON_LEAVES) {
          const child = `${name}\\${leaf}`;
          const h = this.hash(child);
          if (this.ns.has(h) && !this.names.has(h)) {
            this.names.set(h, { name: child, namedBy: 'guess' });
            found = true;
          }
        }
      }
      if (!found) break;
    }
    for (const h of this.ns.keys()) {
      if (!this.names.has(h)) this.warn({ code: 'namespace', message: `namespace NS_${h} has records but no known name; reported by its hash` });
    }
  }

  /** Every namespace: each `NS_` hash in the index, plus namespaces known only from `__NAMESPACE` instances. */
  namespaces(): CimNamespace[] {
    this.resolveNames();
    const hashes = new Set([...this.ns.keys(), ...this.names.keys()]);
    const out: CimNamespace[] = [];
    for (const h of hashes) {
      const g = this.ns.get(h);
      const n = this.names.get(h);
      let instances = 0;
      for (const l of g?.ci.values() ?? []) instances += l.length;
      out.push({ name: n?.name ?? null, hash: h, namedBy: n?.namedBy ?? null, classes: g?.cd.size ?? 0, instances });
    }
    // one collator for the sort (what localeCompare with these arguments builds at every comparison)
    const order = new Intl.Collator('en', { sensitivity: 'base' });
    return out.sort((a, b) => order.compare(a.name ?? '\uffff' + a.hash, b.name ?? '\uffff' + b.hash));
  }

  /** Hash of a namespace given by name (`root\x`, `root/x`, any case) or as `NS_<hash>` / a bare hash. */
  namespaceHash(ns: string): string {
    const t = ns.trim();
    if (/^NS_[0-9A-F]{32,64}$/i.test(t)) return t.slice(3).toUpperCase();
    if (/^[0-9A-F]{64}$/i.test(t) || (this.version === '2.1' && /^[0-9A-F]{32}$/i.test(t))) return t.toUpperCase();
    return this.hash(t.replace(/\//g, '\\').replace(/^\\\\[^\\]+\\/, ''));
  }

  namespaceName(hash: string): string | null {
    this.resolveNames();
    return this.names.get(hash)?.name ?? null;
  }

  // ---- classes ------------------------------------------------------------------------------------------

  private location(key: string): CimLocation {
    const l = keyLocation(key)!;
    return { page: l.page, recordId: l.recordId, size: l.size, key };
  }

  private record(key: string): Uint8Array {
    if (!this.hasObjects) throw new RecordError('OBJECTS.DATA is missing', 'record');
    const l = keyLocation(key);
    if (!l) throw new RecordError(`key has no record location: ${key}`, 'index key location');
    return this.store.record(l.page, l.recordId, l.size);
  }

  /** Class definitions stored in a namespace (not including `__SystemClass` fallbacks). */
  classes(namespace: string): CimClass[] {
    const h = this.namespaceHash(namespace);
    const g = this.ns.get(h);
    const out: CimClass[] = [];
    for (const ch of g?.cd.keys() ?? []) {
      const c = this.classes_.toClass(h, ch);
      if (c) out.push(c);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One class by name, looked up in the namespace and then in `__SystemClass`. */
  classDefinition(namespace: string, name: string): CimClass | null {
    return this.classes_.toClass(this.namespaceHash(namespace), this.hash(name));
  }

  // ---- instances -----------------------------------------------------------------------------------------

  private instanceFromKey(nsHash: string, key: string): CimInstance | null {
    if (!this.hasObjects) return null;
    const parts = keyPath(key).split('/');
    const classHash = parts[1]!.slice(3);
    const where = { file: 'OBJECTS.DATA', page: keyLocation(key)?.page };
    let bytes: Uint8Array;
    try {
      bytes = this.record(key);
    } catch (e) {
      this.warn({ code: 'object-record', message: `${keyPath(key)}: ${e instanceof Error ? e.message : String(e)}`, ...where });
      return null;
    }
    const d = this.decodeInstance(bytes, nsHash, classHash, this.location(key));
    for (const w of d.warnings) this.warn({ code: 'instance', message: `${keyPath(key)}: ${w}`, ...where });
    return d.instance;
  }

  /** Decode instance bytes with the layout of `classHash` as seen from `nsHash`; problems come back as text. */
  decodeInstance(bytes: Uint8Array, nsHash: string, classHash: string, location: CimLocation): { instance: CimInstance | null; warnings: string[] } {
    const layout = this.classes_.layout(nsHash, classHash);
    try {
      const head = parseInstanceHeader(bytes, this.version);
      const props = layout?.props ?? [];
      const decoded = readInstanceValues(head, props);
      const warnings = [...decoded.warnings];
      const last = (layout?.chain.length ?? 1) - 1;
      const properties: CimProperty[] = props.map((p, i) => {
        const d = decoded.values[i]!;
        if (d.state === 'default') return { name: p.name, type: typeName(p.type), value: this.classes_.defaultValue(layout!, last, i), source: 'default' };
        return { name: p.name, type: typeName(p.type), value: d.value, source: d.state };
      });
      if (!layout) warnings.push('class definition not found; properties not decoded');
      const instance: CimInstance = {
        namespace: this.namesResolved ? this.namespaceName(nsHash) : null,
        namespaceHash: nsHash,
        className: layout?.chain[layout.chain.length - 1]!.name ?? decoded.className,
        classChain: layout?.chain.map((c) => c.name) ?? [],
        properties,
        timestamp1: filetimeToIso(head.ts1Lo, head.ts1Hi),
        timestamp2: filetimeToIso(head.ts2Lo, head.ts2Hi),
        location,
      };
      return { instance, warnings };
    } catch (e) {
      return { instance: null, warnings: [e instanceof Error ? e.message : String(e)] };
    }
  }

  /**
   * Instances stored in a namespace (by their `CI_` keys): of exactly `className`, or of every class
   * (including classes defined in `__SystemClass`) when it is omitted.
   */
  instances(namespace: string, className?: string): CimInstance[] {
    this.resolveNames();
    const h = this.namespaceHash(namespace);
    const g = this.ns.get(h);
    if (!g) return [];
    const keys = className !== undefined ? (g.ci.get(this.hash(className)) ?? []) : [...g.ci.values()].flat();
    return keys.map((k) => this.instanceFromKey(h, k)).filter((x): x is CimInstance => x !== null);
  }

  // ---- payload storage -----------------------------------------------------------------------------------

  /**
   * Strings of at least `minChars` characters stored in class defaults or in instances of classes that are
   * not subscription classes: where fileless malware keeps its payload (WannaMine's `systemcore_Updater8`). Class
   * defaults are read only where a class record of the class's chain is large enough to hold such a string, so damage
   * in a class definition that no instance uses and no such chain holds is not reported here.
   */
  largeStrings(minChars = 2048): Array<{ namespace: string | null; namespaceHash: string; className: string; property: string; value: string; where: 'class default' | 'instance'; location: CimLocation }> {
    this.resolveNames();
    const out: Array<{ namespace: string | null; namespaceHash: string; className: string; property: string; value: string; where: 'class default' | 'instance'; location: CimLocation }> = [];
    const big = (v: CimValue): string | null => {
      if (typeof v === 'string') return v.length >= minChars ? v : null;
      if (Array.isArray(v)) {
        const joined = v.filter((x): x is string => typeof x === 'string').join('');
        return joined.length >= minChars ? joined : null;
      }
      return null;
    };
    const sys = this.hash(SYSTEM_NS);
    for (const g of this.ns.values()) {
      if (g.hash === sys) continue;
      for (const classHash of g.cd.keys()) {
        // a default of minChars characters is read from the data region of a class record of its chain: none that
        // large, none to find (its class is not parsed whole)
        if (!this.classes_.chainOf(g.hash, classHash).some((l) => (keyLocation(l.key)?.size ?? 0) >= minChars)) continue;
        // what toClass() gives, for the properties the class itself defines only
        const raw = this.classes_.rawClass(g.hash, classHash);
        const layout = this.classes_.layout(g.hash, classHash);
        if (!raw || !layout || subscriptionKind(layout.chain.map((x) => x.name))) continue;
        const last = layout.chain.length - 1;
        layout.props.forEach((p, i) => {
          if (layout.owners[i]!.name !== raw.cls.name) return;
          const v = big(this.classes_.defaultValue(layout, last, i));
          if (v) out.push({ namespace: this.namespaceName(raw.ns), namespaceHash: g.hash, className: raw.cls.name, property: p.name, value: v, where: 'class default', location: this.location(raw.key) });
        });
      }
      // every instance is decoded (not only those large enough to hold such a string): what cannot be decoded in
      // any of them is a warning of the scan
      for (const [classHash, keys] of g.ci) {
        const layout = this.classes_.layout(g.hash, classHash);
        if (!layout || subscriptionKind(layout.chain.map((x) => x.name))) continue;
        for (const key of keys) {
          const inst = this.instanceFromKey(g.hash, key);
          for (const p of inst?.properties ?? []) {
            const v = p.source === 'set' ? big(p.value) : null;
            if (v && inst) out.push({ namespace: inst.namespace, namespaceHash: g.hash, className: inst.className, property: p.name, value: v, where: 'instance', location: inst.location });
          }
        }
      }
    }
    return out;
  }

  // ---- residue -----------------------------------------------------------------------------------------

  /** Classes (by name) whose chain makes them subscription classes, with where their layout is defined. */
  private subscriptionClasses(): Map<string, SubscriptionClass> {
    const out = new Map<string, SubscriptionClass>();
    for (const g of this.ns.values()) {
      for (const classHash of g.cd.keys()) {
        const sub = this.classes_.subscriptionLayout(g.hash, classHash);
        if (!sub) continue;
        const name = sub.layout.chain[sub.layout.chain.length - 1]!.name;
        if (!out.has(name.toUpperCase())) out.set(name.toUpperCase(), { kind: sub.kind, name, nsHash: g.hash, classHash });
      }
    }
    return out;
  }

  /**
   * Subscription objects outside the live repository: instance records carved from unmapped OBJECTS.DATA pages,
   * page slack and unreferenced records (by the class-name hash that starts every instance record), reference
   * strings of bindings, and keys of subscription instances left in INDEX.BTR pages the B-tree no longer reaches
   * (their records looked up through the current and the older mapping files, and linked to the carved copy of
   * the same record). Each is then compared with the live objects: an old copy of a live object, an older
   * version of one, or a deletion (`relation`).
   */
  residue(): CimResidualObject[] {
    if (!this.hasObjects) return [];
    this.resolveNames();
    const out: CimResidualObject[] = [];
    const classes = this.subscriptionClasses();
    const data = this.store.src;
    const { logicalOf, spans } = objectsCoverage(data, this.store.map);
    const live = this.liveLocations();
    const hashLen = this.version === '2.2' ? 128 : 64;
    const extents: Array<[number, number]> = [];
    /** carved records by their OBJECTS.DATA offset, and the bytes of every decoded residual record */
    const carvedAt = new Map<number, CimResidualObject>();
    const bytesOf = new Map<CimResidualObject, Uint8Array>();
    // one streaming pass over OBJECTS.DATA finds every pattern: the class-name hashes that start instance
    // records, and the reference strings of bindings (ASCII and UTF-16)
    const carvable = [...classes.values()];
    const refNames = carvable.filter((c) => c.kind !== 'binding').map((c) => c.name);
    const found = findResiduePatterns(
      data,
      carvable.map((c) => c.classHash),
      refNames,
      MAX_CARVE_HITS,
    );
    found.truncated.forEach((t, i) => {
      if (t) this.warn({ code: 'object-page', message: `more than ${MAX_CARVE_HITS} occurrences of one residue pattern in OBJECTS.DATA; only the first ${MAX_CARVE_HITS} were carved`, file: 'OBJECTS.DATA', offset: found.hits[i]![MAX_CARVE_HITS - 1] });
    });
    carvable.forEach((cls, ci) => {
      for (const x of found.hits[ci]!) {
        if (x + hashLen + 20 > data.size) continue;
        const head = data.read(x + hashLen, 20);
        const ts1Lo = u32le(head, 0);
        const ts1Hi = u32le(head, 4);
        const ts2Lo = u32le(head, 8);
        const ts2Hi = u32le(head, 12);
        const block = u32le(head, 16) & 0x3fffffff;
        if (block < 8 || block > 1 << 20 || (!plausibleFiletime(ts1Lo, ts1Hi) && !plausibleFiletime(ts2Lo, ts2Hi))) continue;
        const phys = Math.floor(x / PAGE_SIZE);
        const logical = logicalOf.get(phys) ?? null;
        let source: CimResidualObject['source'];
        if (logical === null) source = 'unmapped-page';
        else {
          const span = spans.get(phys)?.find((sp) => sp.start <= x && x < sp.end);
          if (!span) source = 'page-slack';
          else if (span.head && span.start === x) {
            if (live.has(`${span.logical}:${span.recordId}`)) continue; // a live record
            source = 'unreferenced-record';
          } else continue; // inside another record's bytes
        }
        const end = Math.min(data.size, x + hashLen + 16 + block);
        extents.push([x, end]);
        const notes: string[] = [];
        if (Math.floor((end - 1) / PAGE_SIZE) !== phys) notes.push('record runs past its physical page; the following bytes may not belong to it');
        const bytes = data.read(x, end - x);
        const decoded = this.decodeInstance(bytes, cls.nsHash, cls.classHash, { page: logical ?? -1, recordId: 0, size: end - x, key: '' });
        notes.push(...decoded.warnings);
        const r = this.residual(cls.kind, decoded.instance, { source, file: 'OBJECTS.DATA', offset: x, logicalPage: logical, notes, className: decoded.instance?.className ?? cls.name });
        out.push(r);
        carvedAt.set(x, r);
        bytesOf.set(r, bytes);
      }
    });
    const refHits = new Map<string, { narrow: number[]; wide: number[] }>();
    refNames.forEach((name, i) => refHits.set(name, { narrow: found.hits[carvable.length + 2 * i]!, wide: found.hits[carvable.length + 2 * i + 1]! }));
    this.referenceStrings(classes, refHits, spans, logicalOf, extents, out);
    this.residueOfStaleKeys(classes, out, carvedAt, bytesOf);
    this.relate(out, bytesOf);
    return out.sort((a, b) => a.file.localeCompare(b.file) || a.offset - b.offset);
  }

  private residual(
    kind: SubscriptionKind,
    inst: CimInstance | null,
    where: { source: CimResidualObject['source']; file: CimResidualObject['file']; offset: number; logicalPage: number | null; notes: string[]; className: string; key?: string; namespaceHash?: string; record?: CimResidueProvenance['record'] },
  ): CimResidualObject {
    const values: Record<string, CimValue> = {};
    for (const p of inst?.properties ?? []) values[p.name] = p.value;
    const tsOk = inst !== null && [inst.timestamp1, inst.timestamp2].some((t) => /^(199[5-9]|20\d\d)-/.test(t));
    const confidence: CimResidualObject['confidence'] = !inst ? 'low' : where.notes.length === 0 && tsOk ? 'high' : 'medium';
    const nsHash = where.namespaceHash ?? null;
    const provenance: CimResidueProvenance = {
      source: where.source,
      file: where.file,
      offset: where.offset,
      logicalPage: where.logicalPage,
      ...(where.key !== undefined ? { key: where.key } : {}),
      ...(where.record !== undefined ? { record: where.record } : {}),
    };
    return {
      kind,
      className: inst?.className ?? where.className,
      namespace: nsHash ? this.namespaceName(nsHash) : null,
      namespaceHash: nsHash,
      values,
      properties: inst?.properties ?? [],
      creatorSid: sidFromBytes(values['CreatorSID']),
      timestamp1: inst?.timestamp1 ?? null,
      timestamp2: inst?.timestamp2 ?? null,
      source: where.source,
      file: where.file,
      offset: where.offset,
      logicalPage: where.logicalPage,
      ...(where.key !== undefined ? { key: where.key } : {}),
      provenance: [provenance],
      confidence,
      relation: 'no-live-object',
      live: [],
      changed: null,
      notes: where.notes,
    };
  }

  /**
   * Object-path strings naming a filter or consumer (`__EventFilter.Name="…"`, `…EventConsumer.Name="…"`, ASCII
   * or UTF-16) in bytes no live record holds and no carved record already explains: traces of bindings.
   */
  private referenceStrings(
    classes: Map<string, SubscriptionClass>,
    hits: Map<string, { narrow: number[]; wide: number[] }>,
    spans: Map<number, PageRecordSpan[]>,
    logicalOf: Map<number, number>,
    carved: Array<[number, number]>,
    out: CimResidualObject[],
  ): void {
    const data = this.store.src;
    // inside a live record, or inside a record already carved: not a separate trace
    // carved extents by start, with the furthest end reached so far: one binary search per string found
    const byStart = [...carved].sort((a, b) => a[0] - b[0]);
    const reach: number[] = [];
    for (let i = 0, m = -1; i < byStart.length; i++) reach.push((m = Math.max(m, byStart[i]![1])));
    const insideCarved = (x: number): boolean => {
      let lo = 0;
      let hi = byStart.length - 1;
      let last = -1; // the last extent starting at or before x
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (byStart[mid]![0] <= x) {
          last = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return last >= 0 && reach[last]! > x;
    };
    const covered = (x: number): boolean => {
      const phys = Math.floor(x / PAGE_SIZE);
      if (logicalOf.has(phys) && spans.get(phys)?.some((sp) => sp.start <= x && x < sp.end)) return true;
      return insideCarved(x);
    };
    const names = [...classes.values()].filter((c) => c.kind !== 'binding').map((c) => c.name);
    const seen = new Set<string>();
    for (const name of names) {
      const kind = classes.get(name.toUpperCase())!.kind;
      for (const wide of [false, true]) {
        const needle = Buffer.from(`${name}.Name="`, wide ? 'utf16le' : 'latin1');
        const at = hits.get(name);
        for (const x of (wide ? at?.wide : at?.narrow) ?? []) {
          if (covered(x)) continue;
          // the class name must start there (not be the tail of a longer name); the quoted value is read from a
          // window larger than readQuoted ever looks at (513 characters, escapes included)
          const from = Math.max(0, x - 2);
          const win = data.read(from, x - from + needle.length + QUOTED_WINDOW);
          const w = x - from;
          const before = wide ? (w >= 2 ? win[w - 2]! | (win[w - 1]! << 8) : 0) : w >= 1 ? win[w - 1]! : 0;
          if (/[A-Za-z0-9_]/.test(String.fromCharCode(before))) continue;
          const value = readQuoted(win, w + needle.length, wide);
          if (value === null) continue;
          const key = `${x}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const phys = Math.floor(x / PAGE_SIZE);
          const source: CimResidualObject['source'] = logicalOf.has(phys) ? 'page-slack' : 'unmapped-page';
          const logicalPage = logicalOf.get(phys) ?? null;
          out.push({
            kind,
            className: name,
            namespace: null,
            namespaceHash: null,
            values: { Name: value },
            properties: [],
            creatorSid: null,
            timestamp1: null,
            timestamp2: null,
            source,
            file: 'OBJECTS.DATA',
            offset: x,
            logicalPage,
            provenance: [{ source, file: 'OBJECTS.DATA', offset: x, logicalPage }],
            confidence: 'low',
            relation: 'no-live-object',
            live: [],
            changed: null,
            notes: [`only the reference string ${name}.Name="${value}" (${wide ? 'UTF-16' : 'single-byte'}) survives: a trace of a binding`],
          });
        }
      }
    }
  }

  /** Keys in INDEX.BTR pages the live B-tree does not reach that the live index does not hold, each once, with its page. */
  private staleKeyList(): Array<{ key: string; phys: number }> {
    if (this.staleCache) return this.staleCache;
    const live = new Set(this.allKeys);
    const logicalOfPhys = new Map<number, number>();
    this.indexMap.pages.forEach((p, l) => {
      if (p >= 0) logicalOfPhys.set(p, l);
    });
    const out: Array<{ key: string; phys: number }> = [];
    const seen = new Set<string>();
    // streamed chunk by chunk (whole pages: the chunk size is a multiple of the page size); an all-zero page has no keys
    this.btr.scan(
      0,
      (chunk, offset) => {
        for (let o = 0; o + PAGE_SIZE <= chunk.length; o += PAGE_SIZE) {
          const phys = (offset + o) / PAGE_SIZE;
          const logical = logicalOfPhys.get(phys);
          if (logical !== undefined && this.liveIndexPages.has(logical)) continue;
          let page;
          try {
            page = parseIndexPage(chunk, o);
          } catch {
            continue; // not an index page any more
          }
          for (const key of page.keys) {
            if (live.has(key) || seen.has(key)) continue;
            seen.add(key);
            out.push({ key, phys });
          }
        }
      },
      true,
    );
    return (this.staleCache = out);
  }

  private staleCache: Array<{ key: string; phys: number }> | null = null;

  /** `page:recordId` of every record a live key points to. */
  private liveLocations(): Set<string> {
    if (this.liveCache) return this.liveCache;
    const live = new Set<string>();
    for (const k of this.allKeys) {
      const l = keyLocation(k);
      if (l) live.add(`${l.page}:${l.recordId}`);
    }
    return (this.liveCache = live);
  }

  private liveCache: Set<string> | null = null;

  /** The current objects map, then the older mapping files' (newest first). */
  private mappingStores(): Array<{ name: string; store: ObjectStore }> {
    return (this.storesCache ??= [
      { name: this.mapping.current, store: this.store },
      ...this.historyMaps.map((m) => ({ name: m.name, store: new ObjectStore(this.store.src, m.objects) })),
    ]);
  }

  private storesCache: Array<{ name: string; store: ObjectStore }> | null = null;

  /**
   * Keys of older states: every key in INDEX.BTR pages the live B-tree does not reach that the live index does
   * not hold, with the record a data-bearing key names looked up through the current mapping file and then the
   * older ones (the first that maps a record of that id and size on that logical page).
   */
  staleKeys(): CimStaleKey[] {
    const liveLocations = this.liveLocations();
    return this.staleKeyList().map(({ key, phys }) => {
      const loc = keyLocation(key);
      let record: CimStaleKey['record'] = null;
      if (loc && this.hasObjects) {
        for (const { name, store } of this.mappingStores()) {
          try {
            const { start } = store.locate(loc.page, loc.recordId, loc.size);
            record = { mapping: name, offset: start, logicalPage: loc.page, live: name === this.mapping.current && liveLocations.has(`${loc.page}:${loc.recordId}`) };
            break;
          } catch {
            // not in this mapping's state
          }
        }
      }
      return { key, offset: phys * PAGE_SIZE, location: loc, record };
    });
  }

  /**
   * Keys of subscription instances in INDEX.BTR pages the live B-tree does not reach. The record a key names is
   * looked up through the current mapping file and then the older ones (newest first); when one of them still
   * maps it, the key and the carved copy of that record (if it was carved) are one residual object. "Record
   * gone" is said only when no mapping file holds it.
   */
  private residueOfStaleKeys(classes: Map<string, SubscriptionClass>, out: CimResidualObject[], carvedAt: Map<number, CimResidualObject>, bytesOf: Map<CimResidualObject, Uint8Array>): void {
    const byHash = new Map<string, SubscriptionClass>();
    for (const c of classes.values()) byHash.set(c.classHash, c);
    const liveLocations = this.liveLocations();
    const stores = this.mappingStores();
    const seen = new Set<string>();
    for (const { key, phys } of this.staleKeyList()) {
      const m = STALE_INSTANCE_KEY.exec(key);
      const cls = m ? byHash.get(m[2]!) : undefined;
      if (!m || !cls) continue;
      // the CI_/IL_ and KI_/I_ keys of one instance name the same record: report it once
      const id = `${m[1]}/${m[3]}.${m[4]}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const loc = keyLocation(key)!;
      const nsHash = m[1]!;
      const notes = [`key found in INDEX.BTR physical page ${phys}, which the current B-tree does not reach`];
      let found: { mapping: string; start: number; bytes: Uint8Array; cls: SubscriptionClass; inst: CimInstance | null; warnings: string[] } | null = null;
      const misses: string[] = [];
      for (const { name, store } of stores) {
        try {
          const { start } = store.locate(loc.page, loc.recordId, loc.size);
          const bytes = store.record(loc.page, loc.recordId, loc.size);
          // a location reused by another object holds a record of another class
          const head = parseInstanceHeader(bytes, this.version);
          const rc = byHash.get(head.classHash);
          if (!rc) {
            misses.push(`${name}: the record there is not a subscription instance (class hash ${head.classHash.slice(0, 8)}…)`);
            continue;
          }
          const d = this.decodeInstance(bytes, nsHash, rc.classHash, { page: loc.page, recordId: loc.recordId, size: loc.size, key });
          // with a single key property, the key's instance hash is the hash of its value (cim-format.md §4.4):
          // a record with another key value is another object at a reused location
          const keyValue = d.instance ? this.singleKeyValue(nsHash, rc.classHash, d.instance.properties) : null;
          if (keyValue !== null && this.hash(keyValue) !== m[3]) {
            misses.push(`${name}: the record there has another key value (the location was reused)`);
            continue;
          }
          found = { mapping: name, start, bytes, cls: rc, inst: d.instance, warnings: d.warnings };
          break;
        } catch (e) {
          misses.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      const indexAt = phys * PAGE_SIZE;
      if (!found) {
        notes.push(`its record is gone: no mapping file holds it (${misses.join('; ')})`);
        out.push(this.residual(cls.kind, null, { source: 'stale-key', file: 'INDEX.BTR', offset: indexAt, logicalPage: null, notes, className: cls.name, key, namespaceHash: nsHash, record: null }));
        continue;
      }
      const record = { mapping: found.mapping, offset: found.start, logicalPage: loc.page };
      const carved = carvedAt.get(found.start);
      if (carved) {
        // the key and the carved record are one object: the key adds its namespace and its place in the older state
        carved.provenance.push({ source: 'stale-key', file: 'INDEX.BTR', offset: indexAt, logicalPage: null, key, record });
        carved.key ??= key;
        if (carved.namespaceHash === null) {
          carved.namespaceHash = nsHash;
          carved.namespace = this.namespaceName(nsHash);
        }
        carved.notes.push(`named by the stale key ${keyPath(key)} in INDEX.BTR physical page ${phys}, through ${found.mapping} (logical page ${loc.page})`);
        continue;
      }
      const current = found.mapping === this.mapping.current;
      notes.push(
        current && liveLocations.has(`${loc.page}:${loc.recordId}`)
          ? `its record is the one a live key points to (logical page ${loc.page}, OBJECTS.DATA offset ${found.start})`
          : `its record is still held by ${found.mapping} (logical page ${loc.page}, OBJECTS.DATA offset ${found.start})`,
        ...found.warnings,
      );
      const r = this.residual(found.cls.kind, found.inst, { source: 'stale-key', file: 'INDEX.BTR', offset: indexAt, logicalPage: null, notes, className: found.inst?.className ?? found.cls.name, key, namespaceHash: nsHash, record });
      out.push(r);
      bytesOf.set(r, found.bytes);
    }
  }

  /** The names of the key properties of a class (qualifier `key`), from its layout; empty when unknown. */
  private keyProperties(nsHash: string, classHash: string): string[] {
    const layout = this.classes_.layout(nsHash, classHash);
    return layout?.props.filter((p) => p.qualifiers.some((q) => q.name.toLowerCase() === 'key' && q.value === true)).map((p) => p.name) ?? [];
  }

  /** The value of the one key property of a class, when it has exactly one and it is a string; else null. */
  private singleKeyValue(nsHash: string, classHash: string, properties: CimProperty[]): string | null {
    const keys = this.keyProperties(nsHash, classHash);
    if (keys.length !== 1) return null;
    const v = properties.find((p) => p.name === keys[0])?.value;
    return typeof v === 'string' ? v : null;
  }

  /**
   * Compare each residual object with the live subscription objects: same key (namespace when known, class, key
   * properties) and same values → an old copy; same key, other values → an older version; else a deletion. A
   * reference-string trace is explained when a live binding holds the same reference; a stale key whose record is
   * gone, when a live object has the same namespace and instance-key hash.
   */
  private relate(out: CimResidualObject[], bytesOf: Map<CimResidualObject, Uint8Array>): void {
    const subs = this.subscriptions();
    const liveObjects: CimSubscriptionObject[] = [...subs.filters, ...subs.consumers, ...subs.bindings];
    const liveBytes = new Map<CimSubscriptionObject, Uint8Array | null>();
    const bytesOfLive = (l: CimSubscriptionObject): Uint8Array | null => {
      let b = liveBytes.get(l);
      if (b === undefined) {
        try {
          b = this.record(l.location.key);
        } catch {
          b = null;
        }
        liveBytes.set(l, b);
      }
      return b;
    };
    const keyProps = new Map<CimSubscriptionObject, string[]>();
    const keysOf = (l: CimSubscriptionObject): string[] => {
      let k = keyProps.get(l);
      if (!k) {
        k = this.keyProperties(l.namespaceHash, this.hash(l.className));
        if (!k.length) k = l.kind === 'binding' ? ['Filter', 'Consumer'] : ['Name'];
        keyProps.set(l, k);
      }
      return k;
    };
    const link = (l: CimSubscriptionObject, identicalBytes: boolean): CimResidueLiveLink => ({ key: l.location.key, namespace: l.namespace, namespaceHash: l.namespaceHash, className: l.className, identicalBytes });
    for (const r of out) {
      const sameClass = liveObjects.filter((l) => l.kind === r.kind && l.className.toLowerCase() === r.className.toLowerCase() && (r.namespaceHash === null || r.namespaceHash === l.namespaceHash));
      const bytes = bytesOf.get(r);
      if (r.properties.length === 0 && !bytes) {
        if (r.file === 'OBJECTS.DATA') {
          // a reference-string trace: explained when a live binding holds the same reference
          const name = String(r.values['Name'] ?? '').toLowerCase();
          const holders = subs.bindings.filter((b) =>
            ['Filter', 'Consumer'].some((p) => {
              const ref = b.values[p];
              const parsed = typeof ref === 'string' ? parseObjectPath(ref) : null;
              return parsed !== null && parsed.className.toLowerCase() === r.className.toLowerCase() && (parsed.keys['Name'] ?? '').toLowerCase() === name;
            }),
          );
          if (holders.length) {
            r.relation = 'copy-of-live';
            r.live = holders.map((b) => link(b, false));
          }
        } else {
          // a stale key whose record is gone: the same instance key under a live key is an earlier state of that object
          const m = r.key ? STALE_INSTANCE_KEY.exec(r.key) : null;
          const same = m
            ? liveObjects.filter((l) => {
                const lm = LIVE_INSTANCE_KEY.exec(keyPath(l.location.key));
                return lm !== null && lm[1] === m[1] && lm[3] === m[3] && l.kind === r.kind;
              })
            : [];
          if (same.length) {
            r.relation = 'older-version-of-live';
            r.live = same.map((l) => link(l, false));
            r.changed = null;
          }
        }
        continue;
      }
      // byte-identical to a live record of its class (also when the values could not be decoded)
      const identical = bytes ? sameClass.filter((l) => sameBytes(bytes, bytesOfLive(l))) : [];
      if (identical.length) {
        r.relation = 'copy-of-live';
        r.live = identical.map((l) => link(l, true));
        r.changed = [];
        continue;
      }
      if (r.properties.length === 0) continue; // not decoded: nothing to compare the key with
      const sameKey = sameClass.filter((l) => keysOf(l).every((k) => keyText(l.values[k]) === keyText(r.values[k])));
      if (!sameKey.length) continue;
      const equal = sameKey.filter((l) => differing(l.values, r.values).length === 0);
      if (equal.length) {
        r.relation = 'copy-of-live';
        r.live = equal.map((l) => link(l, false));
        r.changed = [];
      } else {
        r.relation = 'older-version-of-live';
        r.live = sameKey.map((l) => link(l, false));
        r.changed = differing(sameKey[0]!.values, r.values);
      }
    }
  }

  // ---- subscriptions -------------------------------------------------------------------------------------

  /** Every `__EventFilter`, instance of any `__EventConsumer` subclass, and `__FilterToConsumerBinding`, in every namespace. */
  subscriptions(): CimSubscriptions {
    // read once: residue() compares with the same objects, and reading twice would repeat the warnings
    return (this.liveSubscriptions ??= this.readSubscriptions());
  }

  private liveSubscriptions: CimSubscriptions | null = null;

  private readSubscriptions(): CimSubscriptions {
    this.resolveNames();
    const filters: CimSubscriptionObject[] = [];
    const consumers: CimSubscriptionObject[] = [];
    const bindings: CimBinding[] = [];
    for (const g of this.ns.values()) {
      for (const [classHash, keys] of g.ci) {
        const kind = this.classes_.subscriptionLayout(g.hash, classHash)?.kind;
        if (!kind) continue;
        for (const key of keys) {
          const inst = this.instanceFromKey(g.hash, key);
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
      b.filter = this.resolveReference(b.values['Filter'], b.namespaceHash, filters);
      b.consumer = this.resolveReference(b.values['Consumer'], b.namespaceHash, consumers);
    }
    const order = (a: CimInstance, b: CimInstance): number => (a.namespace ?? a.namespaceHash).localeCompare(b.namespace ?? b.namespaceHash) || a.className.localeCompare(b.className);
    return { filters: filters.sort(order), consumers: consumers.sort(order), bindings: bindings.sort(order) };
  }

  /** Find the object a binding's reference string (`Class.Key="v"`, maybe `\\.\root\ns:` prefixed) points to. */
  private resolveReference(ref: CimValue, bindingNs: string, pool: CimSubscriptionObject[]): CimSubscriptionObject | null {
    if (typeof ref !== 'string') return null;
    const parsed = parseObjectPath(ref);
    if (!parsed) return null;
    const ns = parsed.namespace ? this.namespaceHash(parsed.namespace) : bindingNs;
    return (
      pool.find(
        (o) =>
          o.namespaceHash === ns &&
          o.className.toLowerCase() === parsed.className.toLowerCase() &&
          Object.entries(parsed.keys).every(([k, v]) => String(o.values[k] ?? o.values[Object.keys(o.values).find((n) => n.toLowerCase() === k.toLowerCase()) ?? ''] ?? '') === v),
      ) ?? null
    );
  }
}

interface SubscriptionClass {
  kind: SubscriptionKind;
  name: string;
  /** Where the class definition (and so the layout) was found. */
  nsHash: string;
  classHash: string;
}

/** A key of a subscription instance with its record location: `NS_<ns>/CI_<class>/IL_<key hash>.page.id.size` (or `KI_`/`I_`). */
const STALE_INSTANCE_KEY = /^NS_([0-9A-F]+)\/(?:CI|KI)_([0-9A-F]+)\/(?:IL|I)_([0-9A-F]+)\.(\d+\.\d+\.\d+)$/;
/** The same without the location (a live object's key path). */
const LIVE_INSTANCE_KEY = /^NS_([0-9A-F]+)\/(?:CI|KI)_([0-9A-F]+)\/(?:IL|I)_([0-9A-F]+)$/;

/** `a` starts with all of `b`'s bytes (a carved record may run on past the live record's size). */
function sameBytes(a: Uint8Array, b: Uint8Array | null): boolean {
  if (!b || a.length < b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A key property's value as WMI compares it: strings without case, object paths without the namespace prefix. */
function keyText(v: CimValue | undefined): string {
  if (typeof v === 'string') {
    const p = v.includes('=') ? parseObjectPath(v) : null;
    if (p) return `${p.className}.${Object.keys(p.keys).sort().map((k) => `${k}=${p.keys[k]}`).join(',')}`.toLowerCase();
    return v.toLowerCase();
  }
  return JSON.stringify(v ?? null);
}

/** Names of the properties whose values differ (exactly) between two value sets. */
function differing(a: Record<string, CimValue>, b: Record<string, CimValue>): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return names.filter((n) => JSON.stringify(a[n] ?? null) !== JSON.stringify(b[n] ?? null)).sort();
}

const u32le = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;

function sameTables(a: MappingFile, b: MappingFile): boolean {
  const eq = (x: Int32Array, y: Int32Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.objects.pages, b.objects.pages) && eq(a.index.pages, b.index.pages);
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

