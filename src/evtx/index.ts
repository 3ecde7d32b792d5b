/**
 * `wmiscope/evtx`: a zero-dependency, damage-tolerant EVTX reader.
 *
 * ```ts
 * import { EvtxReader } from 'wmiscope/evtx';
 * const r = EvtxReader.open('Microsoft-Windows-Sysmon%4Operational.evtx');
 * for (const rec of r.records({ filter: { eventIds: [19, 20, 21] } })) console.log(JSON.stringify(rec.toJSON()));
 * r.close();
 * ```
 */
export { EvtxReader, EvtxRecord, EvtxFormatError } from './reader.js';
export type { EvtxOpenOptions, EvtxReadStats, RecordIdentity, RecordKeyFields } from './reader.js';
export type {
  EvtxWarning,
  EvtxWarningCode,
  EvtxFileHeader,
  EvtxChunkInfo,
  ChunkStatus,
  EvtxValue,
  EvtxJsonObject,
  EvtxFilter,
  EvtxReadOptions,
} from './types.js';
export { ChunkWorkers, renderFileChunks } from './parallel.js';
export type { ParallelOptions } from './parallel.js';
export type { ChunkOutput, RenderChunkOptions } from './chunks.js';
export { serializeRecord, framing } from './serialize.js';
/** A FILETIME (100 ns ticks since 1601, as its low and high 32 bits) as ISO-8601 UTC with 7 fractional digits. */
export { filetimeIso } from './bytes.js';
export type { EvtxOutputFormat, SerializeOptions, RecordMeta } from './serialize.js';
