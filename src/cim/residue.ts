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
