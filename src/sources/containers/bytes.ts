/**
 * The raw bytes of an archive, read by offset: a file on disk (positional reads, never read whole) or a buffer (a
 * small archive found inside another). Shared by the tar and zip readers.
 */
import * as fs from 'node:fs';

export interface RawSource {
  size: number;
  /** Up to `n` bytes at `offset`; `n` is bounded by the caller. */
  readAt(offset: number, n: number): Promise<Buffer>;
  /** The whole content, from the start, as a stream. */
  stream(): AsyncIterable<Buffer>;
  /** `length` bytes at `offset` as a stream of chunks of at most 1 MiB (fewer when the source ends first). */
  range(offset: number, length: number): AsyncIterable<Buffer>;
  close(): Promise<void>;
}

const CHUNK = 1 << 20;

export async function fileSource(path: string): Promise<RawSource> {
  const fh = await fs.promises.open(path, 'r');
  const size = (await fh.stat()).size;
  const readAt = async (offset: number, n: number): Promise<Buffer> => {
    const b = Buffer.alloc(Math.max(0, Math.min(n, size - offset)));
    if (b.length === 0) return b;
    const { bytesRead } = await fh.read(b, 0, b.length, offset);
    return b.subarray(0, bytesRead);
  };
  return {
    size,
    readAt,
    stream: () => fs.createReadStream(path, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>,
    async *range(offset, length) {
      for (let at = offset, end = offset + length; at < end; ) {
        const b = await readAt(at, Math.min(CHUNK, end - at));
        if (b.length === 0) return;
        at += b.length;
        yield b;
      }
    },
    close: () => fh.close(),
  };
}

export function bufferSource(data: Buffer): RawSource {
  return {
    size: data.length,
    readAt: async (offset, n) => data.subarray(offset, offset + n),
    async *stream() {
      for (let i = 0; i < data.length; i += CHUNK) yield data.subarray(i, i + CHUNK);
    },
    async *range(offset, length) {
      const end = Math.min(data.length, offset + length);
      for (let i = offset; i < end; i += CHUNK) yield data.subarray(i, Math.min(end, i + CHUNK));
    },
    close: async () => undefined,
  };
}
