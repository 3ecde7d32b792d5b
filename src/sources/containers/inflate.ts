/**
 * The one decompression policy of wmiscope, for every compressed input: a gzip'd file (`.evtx.gz`, a gzip'd
 * export), a gzip'd repository file (`OBJECTS.DATA.gz`), a deflated zip member, a gzip'd tar. Nothing else in
 * `sources/` inflates data beyond a bounded head (`dispatch.ts` peeks at the first 64 KiB to recognise content).
 *
 * Bounds, scaled to the input ({@link INFLATE_POLICY}, numbers chosen from what real evidence does):
 * - ratio: inflated data may be up to `ratio` (200) times its compressed size. Deflate can reach about 1032:1 (zeros);
 *   real evidence measured on `../shared/samples` compresses far less: EVTX logs 5–98:1 (98:1 is a 1 MiB log of
 *   mostly empty chunks), repository files 2–6:1 (`OBJECTS.DATA` of the Windows 10 sample: 6:1), text exports 5–50:1.
 * - floor: whatever the ratio, any input may inflate to `floor` (64 MiB), so a small, very compressible log (a few
 *   records in a mostly empty file) is never refused: 64 MiB costs nothing when it is streamed.
 * - absolute: one file or member never inflates past `maxBytes` (4 GiB): the largest log Windows writes (the event
 *   log "maximum log size" setting stops at 4,194,240 KB) and more than any repository file seen; over it, the
 *   member is skipped with a note. A whole archive stream (a gzip'd tar) has no per-member bound but is held to
 *   the archive's total budget (`ARCHIVE_LIMITS.maxTotalInflated` in `archive.ts`).
 * - memory: inflated data up to `inMemory` (16 MiB) may stay in memory; anything larger is streamed to a private
 *   temporary folder (`os.tmpdir()`, `mkdtemp`, mode 0700) and read from that file by path (EVTX chunk by
 *   chunk, a repository by its files); the folder is removed after use, also on error. Names inside it are ours
 *   (`data`, `INDEX.BTR`…), never a name from the evidence.
 *
 * A bound reached is a {@link LimitError}: the input is skipped with a note that names the bound, never a crash,
 * and the other inputs are read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createGunzip, createInflateRaw } from 'node:zlib';
import type { Transform } from 'node:stream';
import { Readable } from 'node:stream';
import type { EvidenceInput } from '../input.js';
import { bufferInput, fileInput } from '../input.js';

/** The decompression bounds (see the module comment). Mutable for tests only. */
export const INFLATE_POLICY = {
  /** Inflated bytes allowed per compressed byte. */
  ratio: 200,
  /** Inflated bytes allowed whatever the ratio. */
  floor: 64 * 2 ** 20,
  /** Largest file or member inflated (or read from an archive) at all. */
  maxBytes: 4 * 2 ** 30,
  /** Largest inflated file or member kept in memory; larger ones go to a temporary file. */
  inMemory: 16 * 2 ** 20,
};

/** A bound was reached: the input (or the rest of an archive) is skipped, not damaged. */
export class LimitError extends Error {}

/** Bytes that `compressed` bytes may inflate to as one stream of a whole archive (no per-member bound). */
export function streamBound(compressed: number): number {
  return Math.max(INFLATE_POLICY.floor, INFLATE_POLICY.ratio * Math.max(1, compressed));
}

/** Bytes that `compressed` bytes may inflate to as one file or member. */
export function inflateBound(compressed: number): number {
  return Math.min(INFLATE_POLICY.maxBytes, streamBound(compressed));
}

/** What a bound of `bound` bytes for `compressed` bytes is, for a note. */
function boundText(bound: number): string {
  const mib = (n: number): string => `${Math.round((n / 2 ** 20) * 10) / 10} MiB`;
  if (bound >= INFLATE_POLICY.maxBytes) return `inflates to more than ${bound} bytes (${mib(bound)}, the limit for one file)`;
  return `inflates to more than ${bound} bytes (${mib(bound)}: the larger of ${INFLATE_POLICY.ratio}x its compressed size and ${mib(INFLATE_POLICY.floor)}; a compression bomb?)`;
}

/** Why `inflated` bytes from `compressed` are refused (a bomb ratio, over the absolute bound), or null. */
export function overBound(inflated: number, compressed: number): string | null {
  const bound = inflateBound(compressed);
  return inflated > bound ? boundText(bound) : null;
}

/** The note for data of `size` bytes (stored or inflated) over the absolute bound, or null. */
export function tooLarge(size: number): string | null {
  return size > INFLATE_POLICY.maxBytes ? `${size} bytes is over the ${INFLATE_POLICY.maxBytes}-byte limit for one member; not read` : null;
}

/**
 * Inflate a compressed stream (`gzip` or raw `deflate`) of `compressed` bytes, never more than
 * {@link inflateBound}(`compressed`) bytes ({@link LimitError} past it), never more than one chunk in memory.
 * A gzip file of several members (concatenated streams) is inflated whole, as `gunzip` does.
 */
export async function* inflateChunks(src: AsyncIterable<Buffer>, compressed: number, format: 'gzip' | 'deflate' = 'gzip'): AsyncIterable<Buffer> {
  const bound = inflateBound(compressed);
  const z: Transform = format === 'gzip' ? createGunzip({ chunkSize: 64 * 1024 }) : createInflateRaw({ chunkSize: 64 * 1024 });
  const input = Readable.from(src);
  input.on('error', (e) => z.destroy(e));
  input.pipe(z);
  let out = 0;
  try {
    for await (const c of z as AsyncIterable<Buffer>) {
      out += c.length;
      if (out > bound) throw new LimitError(`${format} data ${boundText(bound)}`);
      yield c;
    }
  } finally {
    input.unpipe(z);
    input.destroy();
    z.destroy();
  }
}

let tempParent: string | null = null;

/**
 * Where temporary folders are made: the scan's own folder for this input (`scan()` makes one per run and removes it
 * whole at the end, on Ctrl-C, and so also what a worker stopped past its time budget left), else the system's.
 */
export function setTempParent(dir: string | null): void {
  tempParent = dir;
}

/** Run `fn` with a private temporary folder, removed afterwards whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.promises.mkdtemp(path.join(tempParent !== null && fs.existsSync(tempParent) ? tempParent : os.tmpdir(), 'wmiscope-'));
  try {
    return await fn(dir);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Write `chunks` to `file` (created, private), `first` before them; at most `max` bytes ({@link LimitError} past it). The bytes written. */
export async function writeChunks(file: string, chunks: AsyncIterable<Buffer>, max = INFLATE_POLICY.maxBytes, first: Buffer[] = []): Promise<number> {
  const fh = await fs.promises.open(file, 'wx', 0o600);
  let n = 0;
  try {
    for (const c of first) {
      await fh.write(c);
      n += c.length;
    }
    for await (const c of chunks) {
      n += c.length;
      if (n > max) throw new LimitError(`more than ${max} bytes; not read`);
      await fh.write(c);
    }
  } finally {
    await fh.close();
  }
  return n;
}

/**
 * Hand `fn` the bytes of `chunks` as an input named `name`: in memory when they are at most
 * {@link INFLATE_POLICY}.inMemory bytes, else from a temporary file (its `path` set, so that readers that seek open
 * it) removed when `fn` is done. `sizeHint` (the declared size) sends a large input to disk at once.
 */
export async function withMaterialized<T>(name: string, chunks: AsyncIterable<Buffer>, fn: (input: EvidenceInput) => Promise<T>, sizeHint = 0): Promise<T> {
  const it = chunks[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  let got = 0;
  if (sizeHint <= INFLATE_POLICY.inMemory) {
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (e) {
        await it.return?.();
        throw e;
      }
      if (r.done) return fn(bufferInput(name, Buffer.concat(held, got)));
      held.push(r.value);
      got += r.value.length;
      if (got > INFLATE_POLICY.inMemory) break;
    }
  }
  const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => it };
  try {
    return await withTempDir(async (dir) => {
      const file = path.join(dir, 'data');
      await writeChunks(file, rest, INFLATE_POLICY.maxBytes, held.splice(0));
      return fn({ ...fileInput(file), name });
    });
  } finally {
    // a stream left early (a bound, a write error) is ended here, its zlib stream with it
    await it.return?.();
  }
}
