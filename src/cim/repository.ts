/**
 * The offline WMI repository: every namespace (named or only hashed), class definitions with their inherited
 * layouts and defaults, instances, and the event-subscription objects in all of them. This file opens a repository
 * (its files, the mapping in use and the older ones, the index B-tree walk, the keys grouped by namespace) and names
 * its namespaces; each structure of the format has its own module, following the files and records of the format:
 *
 * - files.ts: finding the repository files; pages.ts: reading them page by page; store.ts: mapping files, INDEX.BTR
 *   pages, OBJECTS.DATA tables of contents and records (cim-format.md §2–§5);
 * - records.ts: class-definition and instance record fields, values, strings (§6–§8);
 * - classes.ts: class lookup, superclass chains, layouts, defaults (ClassCatalog);
 * - instances.ts: instances decoded with their class layout;
 * - subscriptions.ts: filters, consumers and bindings, object paths, SIDs (§9);
 * - residue.ts: carving, stale index keys and their relation to live objects (§10);
 * - errors.ts: the reader's one error class, CimError.
 */
import { gunzipSync } from 'node:zlib';
import { CimFormatError } from './errors.js';
import { findRepository, isGzipFile, mappingKey, nameHash, readBounded, readMaybeGzip } from './files.js';
import { ObjectStore, indexPageAt, keyLocation, keyPath, keyPathEnd, parseMapping, pickCurrent, walkIndex } from './store.js';
import { BufferPageSource, DEFAULT_PAGE_CACHE_BYTES, FilePageSource } from './pages.js';
import type { PageSource } from './pages.js';
import type { MapSection, MappingFile } from './store.js';
import { RecordError } from './records.js';
import { decodeInstance } from './instances.js';
import { ResidueReader } from './residue.js';
import { readSubscriptions } from './subscriptions.js';
import { ClassCatalog, SYSTEM_NS, subscriptionKind } from './classes.js';
import type { NsKeys } from './classes.js';
import type {
  CimStaleKey,
  CimClass,
  CimFormatVersion,
  CimInstance,
  CimLocation,
  CimNamespace,
  CimResidualObject,
  CimSubscriptions,
  CimValue,
  CimWarning,
} from './types.js';

/** Leaves tried under every named namespace to name orphans (localisation namespaces are the common case). */
const COMMON_LEAVES = [
  'ms_409', 'ms_407', 'ms_40c', 'ms_410', 'ms_411', 'ms_412', 'ms_413', 'ms_416', 'ms_419', 'ms_40a', 'ms_804', 'ms_404',
  'ms_405', 'ms_406', 'ms_408', 'ms_40b', 'ms_40e', 'ms_414', 'ms_415', 'ms_41d', 'ms_41f', 'ms_816', 'ms_c0a',
  'subscription', 'default', 'cimv2', 'security', 'wmi', 'directory', 'ldap', 'policy', 'rsop', 'microsoft', 'windows',
];


/** A mapping file larger than this is not read (a 2.2 map of this size would describe about 20 GiB of pages). */
const MAX_MAPPING_BYTES = 64 << 20;

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
  /** Whether OBJECTS.DATA was found: without it the index gives keys and namespace hashes only, no object's record. */
  get hasObjectStore(): boolean {
    return this.hasObjects;
  }
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
    return decodeInstance(this.classes_, this.version, bytes, nsHash, classHash, location, this.namesResolved ? this.namespaceName(nsHash) : null);
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

  // ---- residue (residue.ts) ------------------------------------------------------------------------------

  private residueReader_: ResidueReader | null = null;

  private residueReader(): ResidueReader {
    return (this.residueReader_ ??= new ResidueReader({
      version: this.version,
      hasObjects: this.hasObjects,
      allKeys: this.allKeys,
      store: this.store,
      btr: this.btr,
      indexMap: this.indexMap,
      liveIndexPages: this.liveIndexPages,
      mapping: this.mapping,
      historyMaps: this.historyMaps,
      classes: this.classes_,
      groups: () => this.ns.values(),
      hash: (name) => this.hash(name),
      namespaceName: (hash) => this.namespaceName(hash),
      resolveNames: () => this.resolveNames(),
      record: (key) => this.record(key),
      decodeInstance: (bytes, nsHash, classHash, location) => this.decodeInstance(bytes, nsHash, classHash, location),
      subscriptions: () => this.subscriptions(),
      warn: (w) => this.warn(w),
    }));
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
    return this.residueReader().residue();
  }

  /**
   * Keys of older states: every key in INDEX.BTR pages the live B-tree does not reach that the live index does
   * not hold, with the record a data-bearing key names looked up through the current mapping file and then the
   * older ones (the first that maps a record of that id and size on that logical page).
   */
  staleKeys(): CimStaleKey[] {
    return this.residueReader().staleKeys();
  }

  // ---- subscriptions (subscriptions.ts) --------------------------------------------------------------------

  /** Every `__EventFilter`, instance of any `__EventConsumer` subclass, and `__FilterToConsumerBinding`, in every namespace. */
  subscriptions(): CimSubscriptions {
    // read once: residue() compares with the same objects, and reading twice would repeat the warnings
    if (!this.liveSubscriptions) {
      this.resolveNames();
      this.liveSubscriptions = readSubscriptions({
        groups: () => this.ns.values(),
        classes: this.classes_,
        instanceFromKey: (nsHash, key) => this.instanceFromKey(nsHash, key),
        namespaceHash: (ns) => this.namespaceHash(ns),
      });
    }
    return this.liveSubscriptions;
  }

  private liveSubscriptions: CimSubscriptions | null = null;

}

function sameTables(a: MappingFile, b: MappingFile): boolean {
  const eq = (x: Int32Array, y: Int32Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.objects.pages, b.objects.pages) && eq(a.index.pages, b.index.pages);
}

export { parseObjectPath, sidFromBytes } from './subscriptions.js';
