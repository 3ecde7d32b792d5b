/**
 * Residue in the repository (cim-format.md §10): where deleted or overwritten subscription objects survive. Pure
 * helpers first (the record spans of OBJECTS.DATA pages, the pattern finder, quoted strings), then the
 * ResidueReader: instance records carved from OBJECTS.DATA, reference strings of bindings, keys in INDEX.BTR pages
 * the live B-tree does not reach, each related to the live objects.
 */
import { ObjectStore, PAGE_SIZE, keyLocation, keyPath, parseIndexPage, parseToc } from './store.js';
import type { MapSection, MappingFile, TocEntry } from './store.js';
import type { PageSource } from './pages.js';
import { parseInstanceHeader } from './records.js';
import type { ClassCatalog, NsKeys } from './classes.js';
import { parseObjectPath, sidFromBytes } from './subscriptions.js';
import type {
  CimFormatVersion,
  CimInstance,
  CimLocation,
  CimProperty,
  CimResidueLiveLink,
  CimResidueProvenance,
  CimResidualObject,
  CimStaleKey,
  CimSubscriptionObject,
  CimSubscriptions,
  CimValue,
  CimWarning,
  SubscriptionKind,
} from './types.js';

export interface PageRecordSpan {
  /** Byte offsets in OBJECTS.DATA covered by the record on this physical page. */
  start: number;
  end: number;
  recordId: number;
  /** Logical page the record starts on. */
  logical: number;
  /** True when it is the record's first page (the TOC entry lives here). */
  head: boolean;
}

/**
 * For the current objects map: physical page → logical page, and the record spans on each physical page
 * (records continuing on the following logical pages cover those pages too).
 */
export function objectsCoverage(data: PageSource, map: MapSection): { logicalOf: Map<number, number>; spans: Map<number, PageRecordSpan[]> } {
  const logicalOf = new Map<number, number>();
  const spans = new Map<number, PageRecordSpan[]>();
  const add = (phys: number, s: PageRecordSpan): void => {
    const l = spans.get(phys);
    if (l) l.push(s);
    else spans.set(phys, [s]);
  };
  for (let l = 0; l < map.pages.length; l++) {
    const p = map.pages[l]!;
    if (p >= 0 && (p + 1) * PAGE_SIZE <= data.size) logicalOf.set(p, l);
  }
  // in logical order: a page that continues a record of the page before it has no table of contents
  let continued = 0; // bytes of the previous record still to come
  for (let logical = 0; logical < map.pages.length; logical++) {
    const phys = map.pages[logical]!;
    if (phys < 0 || (phys + 1) * PAGE_SIZE > data.size) {
      continued = 0;
      continue;
    }
    const base = phys * PAGE_SIZE;
    if (continued > 0) {
      add(phys, { start: base, end: base + Math.min(PAGE_SIZE, continued), recordId: -1, logical, head: false });
      continued -= PAGE_SIZE;
      if (continued > 0) continue;
      continued = 0;
      continue;
    }
    const toc = validToc(parseToc(data.page(phys), 0));
    for (const e of toc) {
      add(phys, { start: base + e.offset, end: base + Math.min(PAGE_SIZE, e.offset + e.size), recordId: e.recordId, logical, head: true });
      if (e.offset + e.size > PAGE_SIZE) continued = Math.max(continued, e.offset + e.size - PAGE_SIZE);
    }
  }
  return { logicalOf, spans };
}

/** The entries of a table of contents up to the first one that cannot be right (inside the table, out of order, past the file). */
function validToc(toc: TocEntry[]): TocEntry[] {
  const out: TocEntry[] = [];
  let last = (toc.length + 1) * 16 - 1;
  for (const e of toc) {
    if (e.offset < (toc.length + 1) * 16 || e.offset >= PAGE_SIZE || e.offset <= last || e.size === 0 || e.size > 1 << 26) break;
    out.push(e);
    last = e.offset;
  }
  return out;
}

/** A FILETIME between 1995 and 2100, as a sanity check for carved records. */
export function plausibleFiletime(lo: number, hi: number): boolean {
  const t = hi * 4294967296 + lo;
  return t > 125000000000000000 && t < 157000000000000000;
}

/** The text up to the closing quote (`\"` escapes allowed), at most 512 characters; null when there is none. */
export function readQuoted(data: Uint8Array, start: number, wide: boolean): string | null {
  let s = '';
  const step = wide ? 2 : 1;
  for (let p = start; p + step <= data.length && s.length <= 512; p += step) {
    const c = wide ? data[p]! | (data[p + 1]! << 8) : data[p]!;
    if (c === 0x22) return s;
    if (c === 0x5c) {
      const n = wide ? data[p + 2]! | (data[p + 3]! << 8) : data[p + 1]!;
      s += String.fromCharCode(n);
      p += step;
      continue;
    }
    if (c === 0 || c === 0x0a || c === 0x0d) return null;
    s += String.fromCharCode(c);
  }
  return null;
}

/** Bytes that are an upper-case hex digit (what a class-name hash is written with). */
const HEX_UPPER = new Uint8Array(256);
for (const c of '0123456789ABCDEF') HEX_UPPER[c.charCodeAt(0)] = 1;

/** The text a binding's reference to a filter or consumer continues with after the class name. */
const REF_SUFFIX = '.Name="';

/**
 * The residue scan's patterns, found in one streaming pass over OBJECTS.DATA: each class-name hash (upper-case hex,
 * UTF-16LE: how an instance record starts), then for each class name its reference string `Name.Name="` single-byte
 * and UTF-16LE. The result is what findAllIn() gives for the same needles in that order (offsets ascending, at most
 * `maxHits` each, `truncated` when there were more), found with far fewer passes:
 *  - the hashes: every occurrence of a needle of L bytes covers one of the positions sampled every L - 2 bytes; at a
 *    sample inside a run of hex UTF-16 characters, the run is measured once and each L-byte window in it looked up
 *    (a window's first four characters first), so the time is linear in the file whatever it holds;
 *  - the reference strings: `.Name="` is searched once per encoding and the class names are compared before it.
 */
export function findResiduePatterns(src: PageSource, hashes: readonly string[], names: readonly string[], maxHits = Infinity): { hits: number[][]; truncated: boolean[] } {
  const needles = hashes.length + 2 * names.length;
  const hits = Array.from({ length: needles }, (): number[] => []);
  const truncated: boolean[] = new Array<boolean>(needles).fill(false);
  if (!needles) return { hits, truncated };
  const add = (k: number, at: number): void => {
    if (truncated[k]) return;
    if (hits[k]!.length >= maxHits) truncated[k] = true;
    else hits[k]!.push(at);
  };
  // hashes: all of one length (64 or 32 characters); indexed by their text and by their first four characters
  const hashBytes = hashes.length ? 2 * hashes[0]!.length : 0;
  const byHash = new Map<string, number[]>();
  const heads = new Set<number>();
  hashes.forEach((h, k) => {
    if (2 * h.length !== hashBytes || h.length < 4 || ![...h].every((c) => HEX_UPPER[c.charCodeAt(0)] === 1)) throw new RangeError(`not an upper-case hex hash of ${hashBytes / 2} characters: ${h}`);
    const l = byHash.get(h);
    if (l) l.push(k);
    else byHash.set(h, [k]);
    heads.add(((h.charCodeAt(0) << 24) | (h.charCodeAt(1) << 16) | (h.charCodeAt(2) << 8) | h.charCodeAt(3)) >>> 0);
  });
  const suffixes = [Buffer.from(REF_SUFFIX, 'latin1'), Buffer.from(REF_SUFFIX, 'utf16le')];
  const nameBytes = names.map((n) => [Buffer.from(n, 'latin1'), Buffer.from(n, 'utf16le')] as const);
  // the chunks overlap as they would for findAllIn with the same needles (so a match is credited to the same chunk)
  let longest = hashBytes;
  nameBytes.forEach(([narrow, wide]) => (longest = Math.max(longest, narrow.length + suffixes[0]!.length, wide.length + suffixes[1]!.length)));
  const overlap = longest - 1;
  src.scan(
    overlap,
    (chunk, offset) => {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      // a match starting in the overlap belongs to the next chunk, unless this chunk is the last one
      const limit = offset + b.length >= src.size ? b.length : b.length - overlap;
      if (hashBytes) {
        const isPair = (a: number): boolean => a >= 0 && a + 1 < b.length && HEX_UPPER[b[a]!] === 1 && b[a + 1] === 0;
        let runStart = -1;
        let runEnd = -1;
        for (let p = 0; p + 1 < b.length; p += hashBytes - 2) {
          // the character pair (hex digit, 0) the sampled byte is part of, if any
          const a = isPair(p) ? p : b[p] === 0 && isPair(p - 1) ? p - 1 : -1;
          if (a < 0 || (a >= runStart && a < runEnd)) continue;
          runStart = a;
          while (isPair(runStart - 2)) runStart -= 2;
          runEnd = a;
          while (isPair(runEnd)) runEnd += 2;
          for (let x = runStart; x + hashBytes <= runEnd && x < limit; x += 2) {
            if (!heads.has(((b[x]! << 24) | (b[x + 2]! << 16) | (b[x + 4]! << 8) | b[x + 6]!) >>> 0)) continue;
            let text = '';
            for (let i = x; i < x + hashBytes; i += 2) text += String.fromCharCode(b[i]!);
            for (const k of byHash.get(text) ?? []) add(k, offset + x);
          }
        }
      }
      suffixes.forEach((suffix, wide) => {
        // the search is for the suffix without the UTF-16 form's last byte (a zero: zeros abound, and a search skips
        // ahead by what its last byte allows), that byte compared after
        const probe = wide ? suffix.subarray(0, suffix.length - 1) : suffix;
        for (let y = b.indexOf(probe); y >= 0; y = b.indexOf(probe, y + 1)) {
          if (wide && b[y + probe.length] !== 0) continue; // also past the end of the chunk
          nameBytes.forEach((nb, i) => {
            const name = nb[wide]!;
            const x = y - name.length;
            if (x >= 0 && x < limit && b.compare(name, 0, name.length, x, y) === 0) add(hashes.length + 2 * i + wide, offset + x);
          });
        }
      });
    },
    true,
  );
  return { hits, truncated };
}

// ---- carving: subscription objects outside the live repository ------------------------------------------------

/** Bytes after a reference string's opening quote read for its value (readQuoted looks at no more than 2,060). */
const QUOTED_WINDOW = 4096;

/** Occurrences of one pattern the residue scan carves at most (each a record decode); the rest are counted in a warning. */
const MAX_CARVE_HITS = 100_000;

/**
 * A set of record locations (logical page, record id): one number per location while the page is below 2^21 (the
 * id is a u32), text for the rest (a key's digits may spell any number).
 */
class RecordLocations {
  private readonly small = new Set<number>();
  private readonly other = new Set<string>();
  add(page: number, recordId: number): void {
    if (page < 0x200000 && Number.isInteger(page) && page >= 0 && Number.isInteger(recordId) && recordId >= 0 && recordId <= 0xffffffff) this.small.add(page * 0x100000000 + recordId);
    else this.other.add(`${page}:${recordId}`);
  }
  has(page: number, recordId: number): boolean {
    if (page < 0x200000 && Number.isInteger(page) && page >= 0 && Number.isInteger(recordId) && recordId >= 0 && recordId <= 0xffffffff) return this.small.has(page * 0x100000000 + recordId);
    return this.other.has(`${page}:${recordId}`);
  }
}

/** What the residue reader needs of its repository. */
export interface ResidueSource {
  version: CimFormatVersion;
  hasObjects: boolean;
  /** Every live index key, sorted. */
  allKeys: readonly string[];
  store: ObjectStore;
  btr: PageSource;
  indexMap: MapSection;
  /** Logical INDEX.BTR pages the live B-tree reaches. */
  liveIndexPages: Set<number>;
  mapping: { current: string };
  /** The other mapping files, newest first. */
  historyMaps: MappingFile[];
  classes: ClassCatalog;
  groups(): Iterable<NsKeys>;
  hash(name: string): string;
  namespaceName(hash: string): string | null;
  resolveNames(): void;
  record(key: string): Uint8Array;
  decodeInstance(bytes: Uint8Array, nsHash: string, classHash: string, location: CimLocation): { instance: CimInstance | null; warnings: string[] };
  subscriptions(): CimSubscriptions;
  warn(w: CimWarning): void;
}

/** The residue of one repository (what it found is kept: stale keys are listed once). */
export class ResidueReader {
  constructor(private readonly r: ResidueSource) {}

  /** Classes (by name) whose chain makes them subscription classes, with where their layout is defined. */
  private subscriptionClasses(): Map<string, SubscriptionClass> {
    const out = new Map<string, SubscriptionClass>();
    for (const g of this.r.groups()) {
      for (const classHash of g.cd.keys()) {
        const sub = this.r.classes.subscriptionLayout(g.hash, classHash);
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
    if (!this.r.hasObjects) return [];
    this.r.resolveNames();
    const out: CimResidualObject[] = [];
    const classes = this.subscriptionClasses();
    const data = this.r.store.src;
    const { logicalOf, spans } = objectsCoverage(data, this.r.store.map);
    const live = this.liveLocations();
    const hashLen = this.r.version === '2.2' ? 128 : 64;
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
      if (t) this.r.warn({ code: 'object-page', message: `more than ${MAX_CARVE_HITS} occurrences of one residue pattern in OBJECTS.DATA; only the first ${MAX_CARVE_HITS} were carved`, file: 'OBJECTS.DATA', offset: found.hits[i]![MAX_CARVE_HITS - 1] });
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
            if (live.has(span.logical, span.recordId)) continue; // a live record
            source = 'unreferenced-record';
          } else continue; // inside another record's bytes
        }
        const end = Math.min(data.size, x + hashLen + 16 + block);
        extents.push([x, end]);
        const notes: string[] = [];
        if (Math.floor((end - 1) / PAGE_SIZE) !== phys) notes.push('record runs past its physical page; the following bytes may not belong to it');
        const bytes = data.read(x, end - x);
        const decoded = this.r.decodeInstance(bytes, cls.nsHash, cls.classHash, { page: logical ?? -1, recordId: 0, size: end - x, key: '' });
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
      namespace: nsHash ? this.r.namespaceName(nsHash) : null,
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
    const data = this.r.store.src;
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
    const live = new Set(this.r.allKeys);
    const logicalOfPhys = new Map<number, number>();
    this.r.indexMap.pages.forEach((p, l) => {
      if (p >= 0) logicalOfPhys.set(p, l);
    });
    const out: Array<{ key: string; phys: number }> = [];
    const seen = new Set<string>();
    // streamed chunk by chunk (whole pages: the chunk size is a multiple of the page size); an all-zero page has no keys
    this.r.btr.scan(
      0,
      (chunk, offset) => {
        for (let o = 0; o + PAGE_SIZE <= chunk.length; o += PAGE_SIZE) {
          const phys = (offset + o) / PAGE_SIZE;
          const logical = logicalOfPhys.get(phys);
          if (logical !== undefined && this.r.liveIndexPages.has(logical)) continue;
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
  private liveLocations(): RecordLocations {
    if (this.liveCache) return this.liveCache;
    const live = new RecordLocations();
    for (const k of this.r.allKeys) {
      const l = keyLocation(k);
      if (l) live.add(l.page, l.recordId);
    }
    return (this.liveCache = live);
  }

  private liveCache: RecordLocations | null = null;

  /** The current objects map, then the older mapping files' (newest first). */
  private mappingStores(): Array<{ name: string; store: ObjectStore }> {
    return (this.storesCache ??= [
      { name: this.r.mapping.current, store: this.r.store },
      ...this.r.historyMaps.map((m) => ({ name: m.name, store: new ObjectStore(this.r.store.src, m.objects) })),
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
      if (loc && this.r.hasObjects) {
        for (const { name, store } of this.mappingStores()) {
          try {
            const { start } = store.locate(loc.page, loc.recordId, loc.size);
            record = { mapping: name, offset: start, logicalPage: loc.page, live: name === this.r.mapping.current && liveLocations.has(loc.page, loc.recordId) };
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
          const head = parseInstanceHeader(bytes, this.r.version);
          const rc = byHash.get(head.classHash);
          if (!rc) {
            misses.push(`${name}: the record there is not a subscription instance (class hash ${head.classHash.slice(0, 8)}…)`);
            continue;
          }
          const d = this.r.decodeInstance(bytes, nsHash, rc.classHash, { page: loc.page, recordId: loc.recordId, size: loc.size, key });
          // with a single key property, the key's instance hash is the hash of its value (cim-format.md §4.4):
          // a record with another key value is another object at a reused location
          const keyValue = d.instance ? this.singleKeyValue(nsHash, rc.classHash, d.instance.properties) : null;
          if (keyValue !== null && this.r.hash(keyValue) !== m[3]) {
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
          carved.namespace = this.r.namespaceName(nsHash);
        }
        carved.notes.push(`named by the stale key ${keyPath(key)} in INDEX.BTR physical page ${phys}, through ${found.mapping} (logical page ${loc.page})`);
        continue;
      }
      const current = found.mapping === this.r.mapping.current;
      notes.push(
        current && liveLocations.has(loc.page, loc.recordId)
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
    const layout = this.r.classes.layout(nsHash, classHash);
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
    const subs = this.r.subscriptions();
    const liveObjects: CimSubscriptionObject[] = [...subs.filters, ...subs.consumers, ...subs.bindings];
    const liveBytes = new Map<CimSubscriptionObject, Uint8Array | null>();
    const bytesOfLive = (l: CimSubscriptionObject): Uint8Array | null => {
      let b = liveBytes.get(l);
      if (b === undefined) {
        try {
          b = this.r.record(l.location.key);
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
        k = this.keyProperties(l.namespaceHash, this.r.hash(l.className));
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


