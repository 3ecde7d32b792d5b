/**
 * EVTX file reader: the file header, every 64 KiB chunk slot checked on its own, records, slack recovery. A file opened
 * from a path is read one chunk at a time. The format's parts live apart: layout.ts (sizes, signatures, field offsets),
 * source.ts (bytes), header.ts (file header), chunk.ts (a chunk slot, carving), record.ts (a record), filter.ts.
 */
import { u32, u64big, u64n } from './bytes.js';
import { BinXmlError, parseRecordBinXml } from './binxml.js';
import type { BxNode } from './binxml.js';
import { eventIdOf, scanChunk, valuesFitTemplate } from './chunk.js';
import { compileFilter, matches } from './filter.js';
import { parseFileHeader } from './header.js';
import { CHUNK_MAGIC, CHUNK_SIZE, FILE_HEADER_SIZE, FILE_MAGIC, magicAt, RH } from './layout.js';
import { EvtxRecord, MAX_FILE_WARNINGS } from './record.js';
import type { FileRenderState } from './record.js';
import { BufferSource, FileSource } from './source.js';
import type { ByteSource } from './source.js';
import type { EvtxChunkInfo, EvtxFileHeader, EvtxReadOptions, EvtxWarning } from './types.js';

export { CHUNK_SIZE, FILE_HEADER_SIZE } from './layout.js';
export { EvtxRecord, LIMITED_RECORD_SHARE, MAX_FILE_WARNINGS, MAX_LIMITED_RECORDS } from './record.js';
export type { FileRenderState, RecordIdentity, RecordKeyFields } from './record.js';

/** Thrown only when the input is not an EVTX file at all (or cannot be read). Data damage is never thrown. */
export class EvtxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvtxFormatError';
  }
}

/** Open options. */
export interface EvtxOpenOptions {
  /** Name used in warnings and errors (defaults to the path, or `<buffer>`). */
  name?: string;
}

/** Totals of one pass over the records. */
export interface EvtxReadStats {
  records: number;
  recovered: number;
  skipped: number;
  chunks: number;
}

const newStats = (): EvtxReadStats => ({ records: 0, recovered: 0, skipped: 0, chunks: 0 });

export class EvtxReader {
  readonly header: EvtxFileHeader;
  /** Warnings about the file: header problems at open, chunk and record problems as they are met. */
  readonly warnings: EvtxWarning[] = [];
  readonly name: string;
  /** Number of 64 KiB chunk slots after the file header (a partial trailing slot counts). */
  readonly slotCount: number;
  private readonly src: ByteSource;
  /** Info of the chunk slot read most recently. */
  private lastChunk: EvtxChunkInfo | null = null;
  /** Statistics of the most recent complete `records()` pass. */
  lastStats: EvtxReadStats = newStats();

  private constructor(src: ByteSource, name: string) {
    this.src = src;
    this.name = name;
    const head = src.read(0, FILE_HEADER_SIZE);
    this.slotCount = src.size > FILE_HEADER_SIZE ? Math.ceil((src.size - FILE_HEADER_SIZE) / CHUNK_SIZE) : 0;
    const hasMagic = magicAt(head, 0, FILE_MAGIC);
    if (!hasMagic && !this.anyChunkMagic()) {
      throw new EvtxFormatError(`${name}: not an EVTX file (no "ElfFile" signature and no "ElfChnk" chunk)`);
    }
    this.header = parseFileHeader(head, hasMagic, src.size, this.slotCount, this.warnFn);
  }

  /** Open a file by path. The file is read one chunk at a time; call {@link close} when done. */
  static open(path: string, opts: EvtxOpenOptions = {}): EvtxReader {
    const src = new FileSource(path);
    try {
      return new EvtxReader(src, opts.name ?? path);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Read from bytes already in memory. */
  static fromBuffer(data: Uint8Array, opts: EvtxOpenOptions = {}): EvtxReader {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new EvtxReader(new BufferSource(b), opts.name ?? '<buffer>');
  }

  close(): void {
    this.src.close();
  }

  private anyChunkMagic(): boolean {
    const n = Math.min(this.slotCount, 64);
    for (let i = 0; i < n; i++) if (magicAt(this.src.read(FILE_HEADER_SIZE + i * CHUNK_SIZE, 8), 0, CHUNK_MAGIC)) return true;
    return false;
  }

  private warningsKept = 0;
  private notKept = 0;
  private notKeptReported = 0;
  /** Warnings not kept in {@link warnings} because the file had more than {@link MAX_FILE_WARNINGS}. */
  get warningsNotKept(): number {
    return this.notKept;
  }

  /** Keep a warning, up to {@link MAX_FILE_WARNINGS} per file (hostile files can hold a problem per record); count the rest. */
  private warn(w: EvtxWarning): void {
    if (this.warningsKept < MAX_FILE_WARNINGS) {
      this.warningsKept++;
      this.warnings.push(w);
    } else this.notKept++;
  }
  private readonly warnFn = (w: EvtxWarning): void => this.warn(w);
  /** Passed to records: their rendering problems (expansion limit) become warnings of the file; a count of them. */
  private readonly recordWarning: FileRenderState = { warn: this.warnFn, limited: 0 };

  /** One `warnings-capped` warning counting the warnings not kept since the last one (end of a pass). */
  private reportNotKept(): void {
    const n = this.notKept - this.notKeptReported;
    if (n <= 0) return;
    this.notKeptReported = this.notKept;
    this.warnings.push({ code: 'warnings-capped', message: `${n} more warning(s) not kept: at most ${MAX_FILE_WARNINGS} warnings are kept per file` });
  }

  /**
   * Every chunk slot with its status, header fields, checksums and counts of records that parse
   * (allocated, and carved from slack when `recovered`). Chunk and record problems go to {@link warnings}.
   */
  chunks(opts: { recovered?: boolean } = {}): EvtxChunkInfo[] {
    const out: EvtxChunkInfo[] = [];
    const stats = newStats();
    for (let s = 0; s < this.slotCount; s++) {
      this.chunkRecords(s, { recovered: opts.recovered === true }, stats);
      out.push(this.lastChunk!);
    }
    this.lastStats = stats;
    this.reportNotKept();
    return out;
  }

  /** Iterate records lazily, chunk by chunk, in file order. Damage becomes entries in {@link warnings}. */
  *records(opts: EvtxReadOptions = {}): Generator<EvtxRecord, EvtxReadStats, undefined> {
    const stats = newStats();
    try {
      for (let s = 0; s < this.slotCount; s++) {
        for (const r of this.chunkRecords(s, opts, stats)) yield r;
      }
      this.lastStats = stats;
      return stats;
    } finally {
      this.reportNotKept();
    }
  }

  /** Records of one chunk slot (used by {@link records} and by the parallel reader). */
  chunkRecords(slot: number, opts: EvtxReadOptions, stats: EvtxReadStats = newStats()): EvtxRecord[] {
    const filter = compileFilter(opts.filter);
    const offset = FILE_HEADER_SIZE + slot * CHUNK_SIZE;
    const scan = scanChunk(this.src.read(offset, CHUNK_SIZE, opts.reuseBuffers === true), slot, offset, opts.recovered === true, opts.verifyChecksums !== false, this.warnFn);
    const out: EvtxRecord[] = [];
    const info = scan.info;
    this.lastChunk = info;
    if (!scan.ctx) return out;
    stats.chunks++;
    const { ctx } = scan;
    const buf = ctx.buf;
    const base = scan.info.offset;
    let good = 0;
    let carved = 0;
    let bad = 0;
    const ids = filter?.ids ?? null;
    for (const sp of scan.spans) {
      const p = sp.start;
      if (ids && !sp.recovered) {
        // pushdown: most records are dropped on their EventID slot without being parsed
        const id = eventIdOf(ctx, p + RH.binxml, p + sp.size - RH.trailer);
        if (id !== undefined && !ids.has(id)) {
          good++;
          continue;
        }
      }
      const recordId = u64n(buf, p + 8);
      let nodes: BxNode[];
      try {
        nodes = parseRecordBinXml(ctx, p + 24, p + sp.size - 4);
        if (sp.recovered && !valuesFitTemplate(nodes)) throw new BinXmlError('values do not match the template they point to (overwritten slack)', p);
      } catch (e) {
        stats.skipped++;
        bad++;
        const msg = e instanceof Error ? e.message : String(e);
        this.warn({
          code: sp.recovered ? 'recovered-unparsable' : 'record-parse',
          message: `${sp.recovered ? 'carved record' : 'record'} ${u64big(buf, p + 8)} at file offset ${base + p}: ${msg}`,
          offset: base + p,
          chunk: slot,
          recordId,
        });
        continue;
      }
      const rec = new EvtxRecord(ctx, nodes, recordId, u32(buf, p + 16), u32(buf, p + 20), slot, base + p, sp.size, sp.recovered, this.recordWarning);
      if (sp.note) rec.addWarning(sp.note);
      if (sp.recovered) carved++;
      else good++;
      if (filter && !matches(filter, rec)) continue;
      if (sp.recovered) stats.recovered++;
      else stats.records++;
      out.push(rec);
    }
    if (scan.info.status !== 'bad-magic') info.records = good;
    if (opts.recovered) info.recovered = carved;
    info.unparsable = bad;
    return out;
  }

  /** Async iteration: yields to the event loop between chunks. */
  async *recordsAsync(opts: EvtxReadOptions = {}): AsyncGenerator<EvtxRecord, EvtxReadStats, undefined> {
    const stats = newStats();
    try {
      for (let s = 0; s < this.slotCount; s++) {
        const recs = this.chunkRecords(s, opts, stats);
        for (const r of recs) yield r;
        await new Promise<void>((res) => setImmediate(res));
      }
      this.lastStats = stats;
      return stats;
    } finally {
      this.reportNotKept();
    }
  }
}
