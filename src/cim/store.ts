/**
 * The repository's storage layers: mapping files (logical → physical pages), the INDEX.BTR B-tree of key
 * strings, and OBJECTS.DATA pages with their tables of contents. Facts: shared/reference/cim-format.md §2–§5.
 * Every count and offset read from a file is checked against the bytes it lives in.
 */
import type { CimFormatVersion, CimWarning } from './types.js';
import { CimError, CimFormatError } from './errors.js';
import { BufferPageSource, PAGE_SIZE } from './pages.js';
import type { PageSource } from './pages.js';

export { PAGE_SIZE };
const MAP_SIGNATURE = 0x0000abcd;
const MAP_FOOTER = 0x0000dcba;
const UNMAPPED = 0x3fffffff;

const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);

// ---- mapping files ---------------------------------------------------------------------------------------

export interface MapSection {
  sequence: number;
  id1: number;
  id2: number;
  physicalPages: number;
  /** Physical page for each logical page; -1 = not mapped. */
  pages: Int32Array;
  free: number[];
  /** Index section only (2.2): logical page of the B-tree root (entry 0, field +12). */
  rootPage: number | null;
}

export interface MappingFile {
  name: string;
  version: CimFormatVersion;
  sequence: number;
  id1: number;
  objects: MapSection;
  index: MapSection;
}

/** 2.2 headers have id2 = id1 - 1 and a plausible entry count (cim-format.md §2.3). */
function looksXp(b: Uint8Array): boolean {
  if (b.length < 24) return true;
  const id1 = u32(b, 8);
  const id2 = u32(b, 12);
  const phys = u32(b, 16);
  const count = u32(b, 20);
  return id1 - 1 !== id2 || count > phys || count < Math.floor(phys / 10);
}

function readSection(b: Uint8Array, o: number, version: CimFormatVersion, name: string, which: string): { section: MapSection; end: number } {
  /** `n` bytes of the field `what` must be there at `o` */
  const need = (n: number, what: string): void => {
    if (o + n > b.length) throw new CimFormatError(`${name}: ${which} map runs past the end of the file`, `${which} map ${what}`);
  };
  need(4, 'signature');
  if (u32(b, o) !== MAP_SIGNATURE) throw new CimFormatError(`${name}: ${which} map has no 0xABCD signature at offset ${o}`, `${which} map signature`);
  let sequence: number, id1 = 0, id2 = 0, phys: number, count: number;
  if (version === '2.2') {
    need(24, 'header');
    sequence = u32(b, o + 4);
    id1 = u32(b, o + 8);
    id2 = u32(b, o + 12);
    phys = u32(b, o + 16);
    count = u32(b, o + 20);
    o += 24;
  } else {
    need(16, 'header');
    sequence = u32(b, o + 4);
    phys = u32(b, o + 8);
    count = u32(b, o + 12);
    o += 16;
  }
  const esize = version === '2.2' ? 24 : 4;
  if (count > (b.length - o) / esize) throw new CimFormatError(`${name}: ${which} map entry count ${count} does not fit the file`, `${which} map entry count`);
  const pages = new Int32Array(count);
  let rootPage: number | null = null;
  for (let i = 0; i < count; i++) {
    const p = u32(b, o + i * esize) & UNMAPPED;
    pages[i] = p === UNMAPPED ? -1 : p;
  }
  if (version === '2.2' && count > 0) rootPage = u32(b, o + 12);
  o += count * esize;
  need(4, 'free-list count');
  const freeCount = u32(b, o);
  o += 4;
  if (freeCount > (b.length - o) / 4) throw new CimFormatError(`${name}: ${which} map free-list count ${freeCount} does not fit the file`, `${which} map free-list count`);
  const free: number[] = [];
  for (let i = 0; i < freeCount; i++) free.push(u32(b, o + 4 * i) & UNMAPPED);
  o += freeCount * 4;
  // the footer may be missing in some Windows 10 index maps (dissect.cim); tolerate it
  if (o + 4 <= b.length && u32(b, o) === MAP_FOOTER) o += 4;
  return { section: { sequence, id1, id2, physicalPages: phys, pages, free, rootPage }, end: o };
}

export function parseMapping(b: Uint8Array, name: string, version?: CimFormatVersion): MappingFile {
  const parse = (v: CimFormatVersion): MappingFile => {
    const objects = readSection(b, 0, v, name, 'objects');
    const index = readSection(b, objects.end, v, name, 'index');
    return { name, version: v, sequence: objects.section.sequence, id1: objects.section.id1, objects: objects.section, index: index.section };
  };
  if (version) return parse(version);
  // the header heuristics pick a layout; when both sections do not parse with it, the other one is tried
  const first: CimFormatVersion = looksXp(b) ? '2.1' : '2.2';
  try {
    return parse(first);
  } catch (e) {
    try {
      return parse(first === '2.1' ? '2.2' : '2.1');
    } catch {
      throw e;
    }
  }
}

/** The current map: highest sequence, ties broken by the higher id1 (cim-format.md §2.4); the rest is history. */
export function pickCurrent(maps: MappingFile[], mappingVer: number | null): { current: MappingFile; history: MappingFile[] } {
  const sorted = [...maps].sort((a, b) => b.sequence - a.sequence || b.id1 - a.id1 || a.name.localeCompare(b.name));
  let current = sorted[0]!;
  if (mappingVer !== null) {
    const named = maps.find((m) => m.name.toUpperCase() === `MAPPING${mappingVer}.MAP`);
    if (named) current = named;
  }
  return { current, history: sorted.filter((m) => m !== current) };
}

// ---- INDEX.BTR -----------------------------------------------------------------------------------------

export interface IndexPage {
  type: number;
  logical: number;
  root: number;
  keys: string[];
  /** Child logical pages (keys.length + 1 entries); -1 = none. */
  children: number[];
}

/** Parse one 8 KiB index page (cim-format.md §3). */
export function parseIndexPage(b: Uint8Array, o: number): IndexPage {
  const end = o + PAGE_SIZE;
  if (end > b.length) throw new CimError('page beyond the end of INDEX.BTR', 'index page');
  const type = u32(b, o);
  const logical = u32(b, o + 4);
  const root = u32(b, o + 12);
  const n = u32(b, o + 16);
  let p = o + 20;
  if (n > 1000 || p + n * 4 + (n + 1) * 4 + n * 2 + 2 > end) throw new CimError(`key count ${n} does not fit the page`, 'index page key count');
  p += n * 4;
  const children: number[] = [];
  for (let i = 0; i <= n; i++) {
    const c = u32(b, p + 4 * i);
    children.push(c === 0 || c === 0xffffffff ? -1 : c);
  }
  p += (n + 1) * 4;
  const keyIdx: number[] = [];
  for (let i = 0; i < n; i++) keyIdx.push(u16(b, p + 2 * i));
  p += n * 2;
  const k = u16(b, p);
  p += 2;
  if (p + k * 2 + 2 > end) throw new CimError('key-definition table does not fit the page', 'index page key-definition count');
  const defs = p;
  p += k * 2;
  const s = u16(b, p);
  p += 2;
  if (p + s * 2 + 2 > end) throw new CimError('string table does not fit the page', 'index page string count');
  const offs = p;
  p += s * 2;
  p += 2; // string data size
  const data = p;
  const strings: string[] = [];
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < s; i++) {
    const so = data + u16(b, offs + 2 * i);
    let e = so;
    while (e < end && b[e] !== 0) e++;
    if (e >= end) throw new CimError('string runs past the page', 'index page string');
    strings.push(buf.toString('latin1', so, e));
  }
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = keyIdx[i]!;
    if (d >= k) throw new CimError('key points outside the key-definition table', 'index page key index');
    const count = u16(b, defs + 2 * d);
    if (d + 1 + count > k) throw new CimError('key definition runs past its table', 'index page key-definition part count');
    const parts: string[] = [];
    for (let j = 0; j < count; j++) {
      const si = u16(b, defs + 2 * (d + 1 + j));
      if (si >= s) throw new CimError('key points outside the string table', 'index page key-definition string index');
      parts.push(strings[si]!);
    }
    keys.push(parts.join('/'));
  }
  return { type, logical, root, keys, children };
}

/** Physical page `phys` of INDEX.BTR read through `src` and parsed (throws as parseIndexPage does). */
export function indexPageAt(src: PageSource, phys: number): IndexPage {
  if (phys < 0 || (phys + 1) * PAGE_SIZE > src.size) throw new CimError('page beyond the end of INDEX.BTR', 'index page number');
  return parseIndexPage(src.page(phys), 0);
}

/** In-order walk of the B-tree from `root`: every key once, sorted. Damaged pages become warnings. */
export function walkIndex(btr: Uint8Array | PageSource, map: MapSection, root: number, warn: (w: CimWarning) => void): { keys: string[]; pages: Set<number> } {
  const src = btr instanceof Uint8Array ? new BufferPageSource(btr, 'INDEX.BTR') : btr;
  const keys: string[] = [];
  const visited = new Set<number>();
  const visit = (logical: number, depth: number): void => {
    if (visited.has(logical)) {
      warn({ code: 'index-cycle', message: `index page ${logical} reached twice; not followed again`, file: 'INDEX.BTR', page: logical });
      return;
    }
    if (depth > 32) {
      warn({ code: 'index-page', message: `index tree deeper than 32 at page ${logical}; not followed`, file: 'INDEX.BTR', page: logical });
      return;
    }
    visited.add(logical);
    const phys = logical < map.pages.length ? map.pages[logical]! : -1;
    if (phys < 0) {
      warn({ code: 'index-page', message: `index page ${logical} is not mapped`, file: 'INDEX.BTR', page: logical });
      return;
    }
    let page: IndexPage;
    try {
      page = indexPageAt(src, phys);
    } catch (e) {
      warn({ code: 'index-page', message: `index page ${logical} (physical ${phys}): ${e instanceof Error ? e.message : String(e)}`, file: 'INDEX.BTR', offset: phys * PAGE_SIZE, page: logical });
      return;
    }
    for (let i = 0; i < page.keys.length; i++) {
      if (page.children[i]! >= 0) visit(page.children[i]!, depth + 1);
      keys.push(page.keys[i]!);
    }
    if (page.children[page.keys.length]! >= 0) visit(page.children[page.keys.length]!, depth + 1);
  };
  visit(root, 0);
  return { keys, pages: visited };
}

// ---- OBJECTS.DATA --------------------------------------------------------------------------------------

export interface TocEntry {
  recordId: number;
  offset: number;
  size: number;
  checksum: number;
}

export function parseToc(b: Uint8Array, o: number): TocEntry[] {
  const out: TocEntry[] = [];
  for (let p = o; p + 16 <= o + PAGE_SIZE; p += 16) {
    const recordId = u32(b, p);
    const offset = u32(b, p + 4);
    const size = u32(b, p + 8);
    const checksum = u32(b, p + 12);
    if (recordId === 0 && offset === 0 && size === 0 && checksum === 0) break;
    out.push({ recordId, offset, size, checksum });
  }
  return out;
}

/** A record longer than this cannot be right (the same bound the residue scan applies to tables of contents). */
export const MAX_RECORD_BYTES = 1 << 26;

/** Logical-page access to OBJECTS.DATA (read page by page through `src`) and record extraction by (page, record id). */
export class ObjectStore {
  readonly src: PageSource;
  constructor(
    data: PageSource | Uint8Array,
    readonly map: MapSection,
  ) {
    this.src = data instanceof Uint8Array ? new BufferPageSource(data, 'OBJECTS.DATA') : data;
  }

  physical(logical: number): number {
    const p = logical >= 0 && logical < this.map.pages.length ? this.map.pages[logical]! : -1;
    return p >= 0 && (p + 1) * PAGE_SIZE <= this.src.size ? p : -1;
  }

  toc(logical: number): TocEntry[] {
    const p = this.physical(logical);
    return p < 0 ? [] : parseToc(this.src.page(p), 0);
  }

  /** Where record `recordId` of logical `page` starts in OBJECTS.DATA (its TOC entry must give `expectedSize`); throws when it cannot be had. */
  locate(page: number, recordId: number, expectedSize: number): { start: number; entry: TocEntry } {
    const phys = this.physical(page);
    if (phys < 0) throw new CimError(`objects page ${page} is not mapped`, 'objects map entry');
    const entry = findTocEntry(this.src.page(phys), recordId);
    if (!entry) throw new CimError(`record ${recordId} not in the table of contents of objects page ${page}`, 'table of contents record id');
    if (entry.size !== expectedSize) throw new CimError(`record ${recordId} on page ${page}: size ${entry.size} in the table of contents, ${expectedSize} in the index key`, 'table of contents record size');
    if (entry.offset >= PAGE_SIZE || entry.size > this.src.size) throw new CimError(`record ${recordId} on page ${page}: offset/size out of range`, 'table of contents record offset');
    return { start: phys * PAGE_SIZE + entry.offset, entry };
  }

  /**
   * The bytes of record `recordId` starting on logical `page`; records longer than the rest of the page
   * continue at offset 0 of the following logical pages. Throws (caught by callers) when it cannot be had.
   */
  record(page: number, recordId: number, expectedSize: number): Uint8Array {
    const { start, entry } = this.locate(page, recordId, expectedSize);
    if (entry.offset + entry.size <= PAGE_SIZE) return this.src.read(start, entry.size);
    if (entry.size > MAX_RECORD_BYTES) throw new CimError(`record ${recordId} on page ${page}: size ${entry.size} is past the ${MAX_RECORD_BYTES}-byte bound`, 'table of contents record size');
    // every page it continues on must be mapped before anything is allocated
    const physOf: number[] = [];
    for (let got = PAGE_SIZE - entry.offset, next = page + 1; got < entry.size; next++, got += PAGE_SIZE) {
      const np = this.physical(next);
      if (np < 0) throw new CimError(`record ${recordId} continues on objects page ${next}, which is not mapped`, 'objects map entry');
      physOf.push(np);
    }
    const out = Buffer.allocUnsafe(entry.size);
    let got = PAGE_SIZE - entry.offset;
    out.set(this.src.read(start, got), 0);
    for (const np of physOf) {
      const n = Math.min(PAGE_SIZE, entry.size - got);
      out.set(this.src.read(np * PAGE_SIZE, n), got);
      got += n;
    }
    return out;
  }
}

/** The entry of `recordId` in the table of contents at the start of `page` (as parseToc reads it), or null. */
function findTocEntry(page: Uint8Array, recordId: number): TocEntry | null {
  for (let p = 0; p + 16 <= PAGE_SIZE; p += 16) {
    const id = u32(page, p);
    const offset = u32(page, p + 4);
    const size = u32(page, p + 8);
    const checksum = u32(page, p + 12);
    if (id === 0 && offset === 0 && size === 0 && checksum === 0) return null;
    if (id === recordId) return { recordId, offset, size, checksum };
  }
  return null;
}

/** Where the `.page.id.size` suffix of a key starts (three dot-separated runs of ASCII digits ending the key), or -1. */
function locationSuffix(key: string): number {
  let p = key.length;
  for (let part = 0; part < 3; part++) {
    const end = p;
    while (p > 0 && isDigit(key.charCodeAt(p - 1))) p--;
    if (p === end || p === 0 || key.charCodeAt(p - 1) !== 0x2e) return -1;
    p--;
  }
  return p;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** The number the ASCII digits `key[from, to)` spell (as Number() reads them: exact up to 15 digits, else by Number()). */
function digits(key: string, from: number, to: number): number {
  if (to - from > 15) return Number(key.slice(from, to));
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (key.charCodeAt(i) - 0x30);
  return n;
}

/** `…X_<hash>.page.id.size` → the record location of a data-bearing key, or null. */
export function keyLocation(key: string): { page: number; recordId: number; size: number } | null {
  const at = locationSuffix(key);
  if (at < 0) return null;
  const a = at + 1;
  const b = key.indexOf('.', a) + 1;
  const c = key.indexOf('.', b) + 1;
  return { page: digits(key, a, b - 1), recordId: digits(key, b, c - 1), size: digits(key, c, key.length) };
}

/** Where a key's path ends: the start of its `.page.id.size` suffix, or its length. */
export function keyPathEnd(key: string): number {
  const at = locationSuffix(key);
  return at < 0 ? key.length : at;
}

/** Strip the `.page.id.size` suffix. */
export function keyPath(key: string): string {
  const at = locationSuffix(key);
  return at < 0 ? key : key.slice(0, at);
}
