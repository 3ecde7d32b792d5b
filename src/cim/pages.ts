/**
 * Page sources: how the repository's big files (OBJECTS.DATA, INDEX.BTR) are read. A repository file is never read
 * whole: records and index pages are read on demand with positional reads (`fs.readSync` at an offset on an open
 * descriptor) through a bounded least-recently-used cache of 8 KiB pages, and whole-file scans (residue carving,
 * stale index pages) stream the file chunk by chunk through one scratch buffer. Memory is bounded by the cache
 * size, not by the file size: there is no size limit but the disk.
 *
 * Bytes handed out are never written again: a cached page that is evicted is dropped, not reused, so a view a caller
 * keeps (a record, a class definition's data region) stays valid. Only the chunks given to a `scan` callback are
 * views of the scratch buffer, valid during the call.
 */
import * as fs from 'node:fs';
import { CimError } from './errors.js';

/** Bytes in a repository page (cim-format.md §1). */
export const PAGE_SIZE = 0x2000;

/** Default page-cache budget of one repository, bytes (shared by its OBJECTS.DATA and INDEX.BTR: 3/4 and 1/4). */
export const DEFAULT_PAGE_CACHE_BYTES = 64 << 20;

/** Bytes read at a time by a streaming scan. */
const SCAN_CHUNK = 1 << 20;

/**
 * Pages read at once on a cache miss (the aligned block holding the page), when the cache holds at least
 * READ_AHEAD_MIN_CACHE of them: one positional read of 128 KiB costs about what one of 8 KiB does, and the records
 * and index pages a repository reader wants are spread over most of the file.
 */
const READ_AHEAD_PAGES = 16;
const READ_AHEAD_MIN_CACHE = 256;

/** Read access to one repository file. */
export interface PageSource {
  /** The file's size in bytes (taken when it was opened). */
  readonly size: number;
  /** The file's name, for messages. */
  readonly name: string;
  /** Physical page `n` (8 KiB); the caller checks `(n + 1) * PAGE_SIZE <= size` first. */
  page(n: number): Uint8Array;
  /** Bytes `[offset, offset + length)`, clipped to the end of the file. The result is the caller's to keep. */
  read(offset: number, length: number): Uint8Array;
  /**
   * The whole file in order, as chunks that overlap by `overlap` bytes (a pattern shorter than `overlap + 1` bytes
   * is whole in at least one chunk): `fn(chunk, offset)`; `chunk` is valid only during the call. Chunks that are all
   * zero bytes are skipped when `skipZero` is set (nothing a scan looks for starts with a zero byte).
   */
  scan(overlap: number, fn: (chunk: Uint8Array, offset: number) => void, skipZero?: boolean): void;
  /** Release the descriptor and the cache (reads after it reopen the file). */
  close(): void;
}

/** A file's bytes already in memory (an archive member, a gunzipped copy, a test's builder output). */
export class BufferPageSource implements PageSource {
  readonly size: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly name: string,
  ) {
    this.size = bytes.length;
  }

  page(n: number): Uint8Array {
    return this.bytes.subarray(n * PAGE_SIZE, (n + 1) * PAGE_SIZE);
  }

  read(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, Math.min(this.size, offset + length));
  }

  scan(overlap: number, fn: (chunk: Uint8Array, offset: number) => void, skipZero = false): void {
    const step = Math.max(SCAN_CHUNK, overlap + 1);
    for (let o = 0; o < this.size; o += step) {
      const chunk = this.bytes.subarray(o, Math.min(this.size, o + step + overlap));
      if (skipZero && allZero(chunk)) continue;
      fn(chunk, o);
      if (o + step + overlap >= this.size) break;
    }
  }

  close(): void {}
}

/** Descriptors of sources nobody closed are closed when the source is collected (callers of the old API never call close()). */
const unclosed = new FinalizationRegistry<{ fd: number | null }>((h) => {
  if (h.fd !== null) {
    try {
      fs.closeSync(h.fd);
    } catch {
      // already gone
    }
    h.fd = null;
  }
});

/** A file on disk read by positional reads through an LRU page cache of at most `cacheBytes`. */
export class FilePageSource implements PageSource {
  readonly size: number;
  /** The open descriptor (null when closed); an object of its own so the finalizer can reach it without the source. */
  private readonly handle: { fd: number | null };
  /** Physical page → its bytes; Map order is recency (oldest first). */
  private readonly cache = new Map<number, Buffer>();
  private readonly maxPages: number;
  /** Pages read per miss (1 when the cache is too small to hold a block beside what it keeps). */
  private readonly block: number;

  constructor(
    readonly path: string,
    readonly name: string,
    cacheBytes: number = DEFAULT_PAGE_CACHE_BYTES,
  ) {
    const fd = fs.openSync(path, 'r');
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new CimError(`${path}: not a file`);
      this.size = st.size;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    this.handle = { fd };
    unclosed.register(this, this.handle);
    this.maxPages = Math.max(4, Math.floor(cacheBytes / PAGE_SIZE));
    this.block = this.maxPages >= READ_AHEAD_MIN_CACHE ? READ_AHEAD_PAGES : 1;
  }

  private descriptor(): number {
    return (this.handle.fd ??= fs.openSync(this.path, 'r'));
  }

  /** Fill `buf[at, at+length)` from file offset `pos`; bytes past the end of the file (it shrank) read as zeros. */
  private fill(buf: Uint8Array, at: number, length: number, pos: number): void {
    const fd = this.descriptor();
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, buf, at + got, length - got, pos + got);
      if (n <= 0) break;
      got += n;
    }
    if (got < length) buf.fill(0, at + got, at + length);
  }

  page(n: number): Uint8Array {
    const hit = this.cache.get(n);
    if (hit) {
      // most recent last, once eviction can happen (while the cache has room, the order is never used)
      if (this.cache.size >= this.maxPages - this.block) {
        this.cache.delete(n);
        this.cache.set(n, hit);
      }
      return hit;
    }
    // the aligned block of pages holding n, within the file and the cache (n alone when it is past the end of the file)
    const first = n - (n % this.block);
    const count = Math.min(this.block, Math.ceil(this.size / PAGE_SIZE) - first, this.maxPages - 1);
    const from = n - first < count ? first : n;
    const pages = n - first < count ? count : 1;
    const b = Buffer.allocUnsafeSlow(pages * PAGE_SIZE);
    this.fill(b, 0, pages * PAGE_SIZE, from * PAGE_SIZE);
    const put = (p: number, view: Buffer): void => {
      while (this.cache.size >= this.maxPages) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(p, view);
    };
    // the others first (a page cached already, maybe handed out, is kept), then n as the most recent
    for (let i = 0; i < pages; i++) if (from + i !== n && !this.cache.has(from + i)) put(from + i, b.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    const mine = b.subarray((n - from) * PAGE_SIZE, (n - from + 1) * PAGE_SIZE);
    put(n, mine);
    return mine;
  }

  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    const first = Math.floor(offset / PAGE_SIZE);
    if (Math.floor((end - 1) / PAGE_SIZE) === first) {
      const o = offset - first * PAGE_SIZE;
      return this.page(first).subarray(o, o + (end - offset));
    }
    // across pages: one read into a buffer of its own (large reads do not churn the cache)
    const out = Buffer.allocUnsafe(end - offset);
    this.fill(out, 0, end - offset, offset);
    return out;
  }

  scan(overlap: number, fn: (chunk: Uint8Array, offset: number) => void, skipZero = false): void {
    const step = Math.max(SCAN_CHUNK, overlap + 1);
    const scratch = Buffer.allocUnsafe(step + overlap);
    for (let o = 0; o < this.size; o += step) {
      const len = Math.min(this.size - o, step + overlap);
      this.fill(scratch, 0, len, o);
      const chunk = scratch.subarray(0, len);
      if (!(skipZero && allZero(chunk))) fn(chunk, o);
      if (o + step + overlap >= this.size) break;
    }
  }

  close(): void {
    this.cache.clear();
    if (this.handle.fd !== null) {
      try {
        fs.closeSync(this.handle.fd);
      } catch {
        // already gone
      }
      this.handle.fd = null;
    }
  }
}

const ZEROS = Buffer.alloc(64 << 10);

/** True when every byte is zero (compared 64 KiB at a time with memcmp). */
export function allZero(b: Uint8Array): boolean {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let o = 0; o < buf.length; o += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - o);
    if (buf.compare(ZEROS, 0, n, o, o + n) !== 0) return false;
  }
  return true;
}

/**
 * Every offset of each needle in the source, in one streaming pass (offsets ascending, per needle), at most
 * `maxHits` per needle; `truncated[i]` says that needle had more. All-zero chunks are skipped: no needle may start
 * with a zero byte.
 */
export function findAllIn(src: PageSource, needles: Uint8Array[], maxHits = Infinity): { hits: number[][]; truncated: boolean[] } {
  const hits = needles.map((): number[] => []);
  const truncated = needles.map(() => false);
  if (!needles.length) return { hits, truncated };
  const longest = Math.max(...needles.map((n) => n.length));
  const overlap = Math.max(0, longest - 1);
  src.scan(
    overlap,
    (chunk, offset) => {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      // a match starting in the overlap belongs to the next chunk, unless this chunk is the last one
      const last = offset + b.length >= src.size;
      const limit = last ? b.length : b.length - overlap;
      for (let k = 0; k < needles.length; k++) {
        const needle = needles[k]!;
        const out = hits[k]!;
        if (truncated[k]) continue;
        for (let i = b.indexOf(needle); i >= 0 && i < limit; i = b.indexOf(needle, i + 1)) {
          if (out.length >= maxHits) {
            truncated[k] = true;
            break;
          }
          out.push(offset + i);
        }
      }
    },
    true,
  );
  return { hits, truncated };
}
