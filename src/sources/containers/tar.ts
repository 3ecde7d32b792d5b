/**
 * Tar archives, plain or gzip'd (`.tar`, `.tar.gz`, `.tgz` — recognised by content, never by name): this
 * module only lists a tar's members and opens them; `archive.ts` walks them (recognition, repository sets,
 * hosts, bounds, nesting) exactly as it walks a zip.
 *
 * The format (POSIX ustar, GNU and pax; see the README): 512-byte header blocks, each followed by the member's
 * data padded to a block; a GNU `././@LongLink` (type `L`) or pax (type `x`, record `path=`/`size=`) header
 * carries the long name or large size of the next member; two zero blocks end the archive. A small reader of our
 * own, rather than a library, because walking members in place needs what the stream parsers do not give: to
 * re-open one member by its offset (the walker reads a member's head, then the member), and a bound on every
 * length a header states (names, pax records, sizes) before anything is allocated for it.
 *
 * The archive is attacker-controlled. A header is believed only with its checksum right; its size field is
 * octal or base-256, and one that is negative, unreadable, beyond what the file holds or (for a name or a pax
 * record) over {@link MAX_HEADER_DATA} ends the listing with a note, keeping the members before it. A gzip'd
 * tar is never inflated into memory whole: members are read from a zlib stream, restarted from the beginning
 * only when a read goes backwards; every byte inflated counts against the archive's budget and the stream's
 * inflated size is bounded by the one decompression policy (`inflate.ts`: a ratio of the gzip'd size). A gzip stream that ends early (a truncated download, or the missing trailer of
 * some public datasets' `.tar.gz`) gives every member it holds whole, plus one warning.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { escapeText } from '../../model/text.js';
import type { EvidenceInput, ObserveContext, ObserveFn, ObserveResult } from '../input.js';
import type { ArchiveListing, ArchiveMember, ArchiveState, Budget } from './archive.js';
import { ARCHIVE_LIMITS, charge, enterArchive, errorText, LimitError, walkArchive, withNestedArchive } from './archive.js';
import { INFLATE_POLICY, streamBound } from './inflate.js';
import { bufferSource, fileSource } from './bytes.js';
import type { RawSource } from './bytes.js';

const BLOCK = 512;
/** Largest GNU long name or pax extended header read. */
export const MAX_HEADER_DATA = 1 << 20;
/** Bytes kept behind a gzip stream's position, so that reading a member's head and then the member does not restart it. */
const BACK_BYTES = 1 << 20;
/** After the end-of-archive blocks, inflate at most this much more to learn whether the gzip stream is whole. */
const MAX_TAIL = 16 << 20;

// ---- headers ------------------------------------------------------------------------------------------

/** A numeric header field: octal text (NUL or space ended), or base-256 (high bit set). NaN when unreadable; may be negative or unsafe. */
function numberField(f: Buffer): number {
  if (f.length > 0 && f[0]! & 0x80) {
    // base-256, big-endian (GNU): 0x80 starts a positive number, 0xff a negative one (no size is negative)
    if (f[0] === 0xff) return -1;
    let v = f[0]! & 0x7f;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    return v;
  }
  const t = f.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (t === '') return 0;
  return /^[0-7]+$/.test(t) ? parseInt(t, 8) : NaN;
}

/** The header's checksum: unsigned (POSIX) or signed (some old tars) sum with the checksum field as spaces. */
function checksumOk(h: Buffer): boolean {
  const stored = numberField(h.subarray(148, 156));
  if (!Number.isFinite(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** `ustar\0` (POSIX and pax) or `ustar  \0` (GNU) at offset 257. */
function tarMagic(h: Buffer): 'ustar' | 'gnu' | null {
  if (h.length < BLOCK) return null;
  if (h.toString('latin1', 257, 263) === 'ustar\0') return 'ustar';
  if (h.toString('latin1', 257, 265) === 'ustar  \0') return 'gnu';
  return null;
}

/** True when `b` starts with a tar header: ustar/GNU magic and a right checksum. */
export function isTarHeader(b: Buffer): boolean {
  return tarMagic(b) !== null && checksumOk(b);
}

const isZeroBlock = (h: Buffer): boolean => h.every((x) => x === 0);

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Name bytes as text: UTF-8 when they are valid UTF-8, else Latin-1 (every byte kept, nothing guessed). */
function nameText(b: Buffer): string {
  const end = b.indexOf(0);
  const raw = end >= 0 ? b.subarray(0, end) : b;
  try {
    return utf8Strict.decode(raw);
  } catch {
    return raw.toString('latin1');
  }
}

/** pax extended header records (`<length> <key>=<value>\n`); malformed records end the parse. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const sp = data.indexOf(0x20, at);
    if (sp < 0 || sp - at > 20) break;
    const len = Number(data.toString('latin1', at, sp));
    if (!Number.isSafeInteger(len) || len <= sp - at + 1 || at + len > data.length) break;
    const rec = data.subarray(sp + 1, at + len - 1); // without the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), rec.toString('utf8', eq + 1));
    at += len;
  }
  return out;
}

// ---- byte sources -------------------------------------------------------------------------------------

/** Sequential reads over the tar stream (the listing). */
interface Cursor {
  /** Offset of the next byte in the (inflated) tar stream. */
  readonly pos: number;
  /** Up to `n` bytes (fewer at the end). */
  read(n: number): Promise<Buffer>;
  /** Skip up to `n` bytes; the number skipped (fewer at the end). */
  skip(n: number): Promise<number>;
}

/** Random-access reads of a plain tar. */
function seekCursor(raw: RawSource): Cursor {
  let pos = 0;
  return {
    get pos() {
      return pos;
    },
    async read(n) {
      const b = await raw.readAt(pos, n);
      pos += b.length;
      return b;
    },
    async skip(n) {
      const k = Math.max(0, Math.min(n, raw.size - pos));
      pos += k;
      return k;
    },
  };
}

/** `length` bytes of a plain tar at `offset`, charged to the budget, 1 MiB at a time. */
async function* rawRange(raw: RawSource, offset: number, length: number, budget: Budget): AsyncIterable<Buffer> {
  for (let at = offset, end = offset + length; at < end; ) {
    const b = await raw.readAt(at, Math.min(1 << 20, end - at));
    if (b.length === 0) return;
    charge(budget, b.length);
    at += b.length;
    yield b;
  }
}

/**
 * The inflated bytes of a gzip stream, read by offset: one zlib stream goes forward, keeping the last
 * {@link BACK_BYTES}; a read before that restarts it. Every byte inflated is charged to the budget, and the
 * stream's inflated size is bounded ({@link streamBound} of the gzip'd size). An early end or damage ends the stream (`ended`
 * says where and why) instead of throwing: what came before is good data.
 */
class Inflated {
  private next: (() => Promise<Buffer | null>) | null = null;
  private stop: (() => void) | null = null;
  /** Offset just past the last byte inflated. */
  private pos = 0;
  private back: Buffer[] = [];
  private backLength = 0;
  private generation = 0;
  /** Where the gzip stream ended early or was damaged (the first time it was seen). */
  ended: { at: number; error: string } | null = null;
  /** Times the stream was started (the listing is the first). */
  passes = 0;

  constructor(
    private readonly source: () => AsyncIterable<Buffer>,
    private readonly budget: Budget,
    /** Size of the gzip'd data: the stream may inflate to {@link streamBound} of it. */
    private readonly compressed: number,
  ) {}

  private restart(): void {
    this.stop?.();
    this.passes++;
    this.pos = 0;
    this.back = [];
    this.backLength = 0;
    const gz = createGunzip({ chunkSize: 64 * 1024 });
    const src = Readable.from(this.source());
    src.on('error', (e) => gz.destroy(e));
    src.pipe(gz);
    this.stop = () => {
      src.unpipe(gz);
      src.destroy();
      gz.destroy();
    };
    const it = (gz as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    let inflated = 0;
    let done = false;
    const bound = streamBound(this.compressed);
    this.next = async () => {
      if (done) return null;
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (e) {
        done = true;
        this.ended ??= { at: inflated, error: errorText(e) };
        return null;
      }
      if (r.done) {
        done = true;
        return null;
      }
      inflated += r.value.length;
      charge(this.budget, r.value.length);
      if (inflated > bound) {
        done = true;
        throw new LimitError(`gzip stream inflates over ${INFLATE_POLICY.ratio}:1 (${this.compressed} → more than ${bound} bytes): gzip bomb; reading stopped`);
      }
      return r.value;
    };
  }

  private keep(c: Buffer): void {
    this.back.push(c);
    this.backLength += c.length;
    while (this.back.length > 1 && this.backLength - this.back[0]!.length >= BACK_BYTES) this.backLength -= this.back.shift()!.length;
  }

  /** The bytes at [offset, offset + length) (fewer when the stream ends first). One reader at a time: a new read ends the previous one. */
  async *range(offset: number, length: number): AsyncIterable<Buffer> {
    const mine = ++this.generation;
    const end = offset + length;
    if (this.next === null || offset < this.pos - this.backLength) this.restart();
    let at = offset;
    // from the bytes kept behind the position
    let chunkStart = this.pos - this.backLength;
    for (const c of [...this.back]) {
      const s = c.subarray(Math.max(0, at - chunkStart), Math.max(0, Math.min(c.length, end - chunkStart)));
      chunkStart += c.length;
      if (at >= chunkStart || s.length === 0) continue;
      at += s.length;
      yield s;
      if (this.generation !== mine) throw new Error('archive read overtaken by another read');
    }
    while (at < end) {
      if (this.generation !== mine) throw new Error('archive read overtaken by another read');
      const c = await this.next!();
      if (c === null) return;
      const cStart = this.pos;
      this.pos += c.length;
      this.keep(c);
      if (this.pos <= at) continue;
      const s = c.subarray(at - cStart, Math.min(c.length, end - cStart));
      at += s.length;
      yield s;
    }
  }

  close(): void {
    this.stop?.();
    this.generation++;
  }
}

/** Sequential reads over a stream of chunks. */
function streamCursor(chunks: AsyncIterable<Buffer>): Cursor {
  const it = chunks[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  let pos = 0;
  let eof = false;
  const fill = async (): Promise<boolean> => {
    if (eof) return false;
    const r = await it.next();
    if (r.done) {
      eof = true;
      return false;
    }
    pending = pending.length ? Buffer.concat([pending, r.value]) : r.value;
    return true;
  };
  return {
    get pos() {
      return pos;
    },
    async read(n) {
      while (pending.length < n && (await fill()));
      const b = pending.subarray(0, n);
      pending = pending.subarray(b.length);
      pos += b.length;
      return Buffer.from(b);
    },
    async skip(n) {
      let left = n;
      while (left > 0) {
        if (pending.length === 0 && !(await fill())) break;
        const k = Math.min(left, pending.length);
        pending = pending.subarray(k);
        left -= k;
      }
      pos += n - left;
      return n - left;
    },
  };
}

// ---- the listing ----------------------------------------------------------------------------------------

interface TarEntry {
  text: string;
  size: number;
  /** Offset of the data in the (inflated) tar stream. */
  offset: number;
  refusal: string | null;
}

interface TarListing {
  entries: TarEntry[];
  /** The listing stopped at damage or a bound (a note says so). */
  damaged: boolean;
  /** The end-of-archive blocks were read. */
  ended: boolean;
  /** A member whose data the stream ends inside: its name and how many of its bytes are there. */
  cut: { text: string; have: number; want: number } | null;
}

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

/** Regular files (`0`, NUL, contiguous `7`) and unknown types (POSIX: read as regular files) are members. */
const NOT_MEMBER = new Set(['1', '2', '3', '4', '5', '6', 'D', 'V']);

/**
 * Walk the headers from the cursor's position; notes (file = `label`) for what stops the walk. A bound reached
 * while listing (the archive's budget, a gzip bomb) keeps the members listed before it.
 */
async function listTar(cur: Cursor, label: string, format: string, notes: ObserveContext['notes']): Promise<TarListing> {
  const entries: TarEntry[] = [];
  try {
    return await listHeaders(cur, label, format, notes, entries);
  } catch (e) {
    if (!(e instanceof LimitError)) throw e;
    notes.add({ file: label, level: 'skipped', code: 'over-limit', message: `listing stopped: ${e.message}; ${entries.length ? `the ${entries.length} member(s) before that point are read` : 'no member is read'}` });
    return { entries, damaged: true, ended: false, cut: null };
  }
}

async function listHeaders(cur: Cursor, label: string, format: string, notes: ObserveContext['notes'], entries: TarEntry[]): Promise<TarListing> {
  let longName: string | null = null;
  let pax = new Map<string, string>();
  let zeros = 0;
  const stop = (message: string): TarListing => {
    notes.add({ file: label, level: 'error', code: 'damaged', message });
    return { entries, damaged: true, ended: false, cut: null };
  };
  const before = (): string => (entries.length ? `the ${entries.length} member(s) before it are read, the rest is lost` : 'nothing in it is read');
  for (;;) {
    const at = cur.pos;
    const h = await cur.read(BLOCK);
    if (h.length === 0) return { entries, damaged: false, ended: zeros > 0, cut: null };
    if (h.length < BLOCK) return zeros > 0 ? { entries, damaged: false, ended: true, cut: null } : stop(`${format} ends inside a header at offset ${at}; ${before()}`);
    if (isZeroBlock(h)) {
      if (++zeros >= 2) return { entries, damaged: false, ended: true, cut: null };
      continue;
    }
    zeros = 0;
    if (!checksumOk(h)) return stop(`damaged ${format} header at offset ${at} (bad checksum); ${before()}`);
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    let size = numberField(h.subarray(124, 136));
    const paxSize = pax.get('size');
    if (paxSize !== undefined && /^\d{1,16}$/.test(paxSize)) size = Number(paxSize);
    if (!Number.isSafeInteger(size) || size < 0) {
      return stop(`${format} header at offset ${at} has an unreadable size field (${Number.isNaN(size) ? 'not a number' : size < 0 ? 'negative' : 'too large'}); ${before()}`);
    }
    const dataAt = cur.pos;
    if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
      // metadata for the next header: bounded before it is read
      if (size > MAX_HEADER_DATA) return stop(`${format} ${type === 'L' || type === 'K' ? 'long-name' : 'pax'} header at offset ${at} of ${size} bytes (over ${MAX_HEADER_DATA}); ${before()}`);
      const data = await cur.read(padded(size));
      if (data.length < size) return stop(`${format} ends inside the header data at offset ${dataAt}; ${before()}`);
      const body = data.subarray(0, size);
      if (type === 'L') longName = nameText(body);
      else if (type === 'x') pax = paxRecords(body);
      // `K` (a long link target) and `g` (pax global: no member's name or size comes from it) are not needed
      continue;
    }
    const magic = tarMagic(h);
    const stored = nameText(h.subarray(0, 100));
    const prefix = magic === 'ustar' ? nameText(h.subarray(345, 500)) : '';
    const text = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${stored}` : stored);
    longName = null;
    pax = new Map();
    const skipped = await cur.skip(padded(size));
    if (skipped < size) return { entries, damaged: true, ended: false, cut: { text, have: skipped, want: size } };
    if (NOT_MEMBER.has(type) || /[/\\]$/.test(text)) continue; // links, devices, folders, a volume label
    if (entries.length >= ARCHIVE_LIMITS.maxMembers) {
      notes.add({ file: label, level: 'warning', code: 'over-limit', message: `more than ${ARCHIVE_LIMITS.maxMembers} members; only the first ${entries.length} are read (limit)` });
      return { entries, damaged: false, ended: false, cut: null };
    }
    const refusal = type === 'S' ? 'GNU sparse member; not read (its holes are not expanded)' : type === 'M' ? 'continuation of a multi-volume member; not read' : null;
    entries.push({ text, size, offset: dataAt, refusal });
  }
}

/** A member's name in a note about the archive: escaped (it is attacker-controlled) and at most 200 characters. */
const shownName = (c: NonNullable<TarListing['cut']>): string => escapeText(c.text.length > 200 ? `${c.text.slice(0, 200)}…` : c.text);

/**
 * Read a tar (gzip'd when `gzip`) from `path` when it is a file on disk, else from memory, through the archive
 * walker, members recognised by `observe`. Null (with a note) when nothing in it is evidence; never throws for
 * bad input.
 */
export async function observeTar(input: EvidenceInput, ctx: ObserveContext, observe: ObserveFn, opts: { gzip: boolean; path?: string }): Promise<ObserveResult | null> {
  const format = opts.gzip ? "gzip'd tar" : 'tar';
  const state = enterArchive(input, ctx, format);
  if (!state) return null;
  const notes = ctx.notes;
  const label = input.name;
  try {
    const r = await withNestedArchive(input, opts.path, ctx, format, async (src) => {
      let raw: RawSource;
      try {
        raw = 'path' in src ? await fileSource(src.path) : bufferSource(src.data);
      } catch (e) {
        notes.add({ file: label, level: 'error', code: 'unreadable', message: `${format} not readable (${errorText(e)})` });
        return null;
      }
      return readTar(raw, label, format, ctx, state, observe, opts.gzip);
    });
    return r ?? null;
  } catch (e) {
    notes.add({ file: label, level: e instanceof LimitError ? 'skipped' : 'error', code: e instanceof LimitError ? 'over-limit' : 'unreadable', message: `${format} not readable (${errorText(e)})` });
    return null;
  }
}

async function readTar(raw: RawSource, label: string, format: string, ctx: ObserveContext, state: ArchiveState, observe: ObserveFn, gzip: boolean): Promise<ObserveResult | null> {
  const notes = ctx.notes;
  const budget = state.budget;
  const gz = gzip ? new Inflated(() => raw.stream(), budget, raw.size) : null;
  try {
    let listing: TarListing;
    if (gz) {
      const cur = streamCursor(gz.range(0, Number.MAX_SAFE_INTEGER));
      listing = await listTar(cur, label, format, notes);
      // the end-of-archive blocks say nothing of the gzip stream behind them: read on to its end (bounded)
      if (listing.ended) {
        try {
          await cur.skip(MAX_TAIL);
        } catch (e) {
          if (!(e instanceof LimitError)) throw e;
        }
      }
    } else {
      listing = await listTar(seekCursor(raw), label, format, notes);
      if (listing.cut) {
        const c = listing.cut;
        notes.add({ file: label, level: 'error', code: 'damaged', message: `member ${shownName(c)}: its size field says ${c.want} bytes but the file ends ${c.have} bytes into it; not read, nor anything after it` });
      }
    }
    if (gz) {
      const c = listing.cut;
      if (gz.ended) {
        const n = listing.entries.length;
        const what = listing.ended
          ? `past the tar's end: all ${n} member(s) are whole and read`
          : c
            ? `: the ${n} whole member(s) before that are read; member ${shownName(c)} is cut off (${c.have} of ${c.want} bytes) and not read`
            : `: the ${n} whole member(s) before that are read; the tar's end blocks are missing, so members after that point, if any, are lost`;
        notes.add({ file: label, level: 'warning', code: 'damaged', message: `gzip stream ends early or is damaged (${gz.ended.error}) after ${gz.ended.at} inflated bytes${listing.ended ? ', ' : ''}${what}` });
      } else if (c) {
        notes.add({ file: label, level: 'error', code: 'damaged', message: `member ${shownName(c)}: its size field says ${c.want} bytes but the tar ends ${c.have} bytes into it; not read` });
      }
    }
    const members: ArchiveMember[] = listing.entries.map((e) => ({
      text: e.text,
      size: e.size,
      refusal: e.refusal,
      open: () => (gz ? gz.range(e.offset, e.size) : rawRange(raw, e.offset, e.size, budget)),
    }));
    const archive: ArchiveListing = { label, members, damaged: listing.damaged };
    return await walkArchive(archive, ctx, state, observe);
  } catch (e) {
    // not expected: every member is guarded; the archive as a whole still yields one note
    notes.add({ file: label, level: 'error', code: 'failed', message: `${format} reading stopped (${errorText(e)})` });
    return null;
  } finally {
    gz?.close();
    await raw.close().catch(() => undefined);
  }
}
