/**
 * Chunk-at-a-time rendering: the unit of work shared by the sequential path and the worker threads, so both
 * give byte-identical output in the same order.
 */
import type { EvtxReader } from './reader.js';
import { serializeRecord, writeRecord } from './serialize.js';
import { JsonBytes, Lit } from './jsonplan.js';
import type { SerializeOptions } from './serialize.js';
import type { EvtxReadOptions, EvtxWarning } from './types.js';

export interface ChunkOutput {
  slot: number;
  /** One serialized record per entry, in file order (empty when `encodeWith` was given). */
  texts: string[];
  /** With `encodeWith`: the records joined by that separator, UTF-8 encoded. */
  bytes?: Uint8Array;
  /** Number of records serialized. */
  count: number;
  /** Warnings met while reading this chunk. */
  warnings: EvtxWarning[];
  /** Warnings met while reading this chunk but not kept (the reader keeps a bounded number per file). */
  notKept?: number;
  records: number;
  recovered: number;
  skipped: number;
}

/**
 * The messages between renderFileChunks (parallel.ts) and its workers (parallel-worker.ts), declared apart from
 * both. A request is a batch of consecutive chunk slots `[first, first + count)`: locality for the worker's read-ahead.
 */
export interface WorkerRequest {
  first: number;
  count: number;
}
export type WorkerReply = { ok: true; outs: ChunkOutput[] } | { ok: false; first: number; count: number; error: string };

export type RenderChunkOptions = EvtxReadOptions &
  SerializeOptions & {
    /** Join the records with this separator and return UTF-8 bytes instead of strings (output fast path). */
    encodeWith?: string;
  };

let encoder: JsonBytes | null = null;
/** The separator between records, pre-encoded (the same one chunk after chunk). */
let separator: { text: string; lit: Lit } | null = null;

/** Read and serialize the records of one chunk slot. */
export function renderChunk(reader: EvtxReader, slot: number, opts: RenderChunkOptions): ChunkOutput {
  const before = reader.warnings.length;
  const notKept = reader.warningsNotKept;
  const stats = { records: 0, recovered: 0, skipped: 0, chunks: 0 };
  // the records are written out before the next chunk is read: its buffer can be reused
  const recs = reader.chunkRecords(slot, opts.reuseBuffers ? opts : { ...opts, reuseBuffers: true }, stats);
  const base = { slot, count: recs.length, records: stats.records, recovered: stats.recovered, skipped: stats.skipped, notKept: 0 };
  if (opts.encodeWith !== undefined) {
    const out = (encoder ??= new JsonBytes(1 << 18));
    out.pos = 0;
    const sep = opts.encodeWith === separator?.text ? separator.lit : (separator = { text: opts.encodeWith, lit: new Lit(opts.encodeWith) }).lit;
    for (let i = 0; i < recs.length; i++) {
      if (i > 0) out.lit(sep);
      writeRecord(recs[i]!, opts, out);
    }
    base.notKept = reader.warningsNotKept - notKept;
    return { ...base, warnings: reader.warnings.splice(before), texts: [], bytes: out.copyFrom(0) };
  }
  const texts = new Array<string>(recs.length);
  for (let i = 0; i < recs.length; i++) texts[i] = serializeRecord(recs[i]!, opts);
  base.notKept = reader.warningsNotKept - notKept;
  return { ...base, warnings: reader.warnings.splice(before), texts };
}
