/**
 * Residue in the repository (cim-format.md §10): where deleted or overwritten subscription objects survive.
 * The helpers here are pure; CimRepository.residue() puts them together with the live class layouts.
 */
import { PAGE_SIZE, parseToc } from './store.js';
import type { MapSection, TocEntry } from './store.js';
import type { PageSource } from './pages.js';

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
