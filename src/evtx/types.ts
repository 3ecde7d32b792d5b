/**
 * Public types of the EVTX reader (`wmiscope/evtx`). Zero runtime dependencies; imports nothing of ours.
 */

/** One problem found in the file. Data problems are warnings, never exceptions. */
export interface EvtxWarning {
  /** Stable machine-readable code, e.g. `chunk-crc`, `bad-chunk-magic`, `record-truncated`. */
  code: EvtxWarningCode;
  message: string;
  /** File offset the problem refers to, when known. */
  offset?: number;
  /** Chunk slot index (0-based, counted from the first chunk slot at 4096), when known. */
  chunk?: number;
  /** Record id, when known. */
  recordId?: number;
}

export type EvtxWarningCode =
  | 'header-signature'
  | 'header-crc'
  | 'header-chunk-count'
  | 'header-dirty'
  | 'file-truncated'
  | 'chunk-magic'
  | 'chunk-header-crc'
  | 'chunk-data-crc'
  | 'chunk-header'
  | 'string-cache'
  | 'template-cache'
  | 'record-header'
  | 'record-truncated'
  | 'record-parse'
  | 'record-id-order'
  | 'recovered-unparsable'
  /** A record whose rendering ran out of its budget (nodes, bytes, nesting): it was rendered truncated. */
  | 'expansion-limit'
  /** More warnings than are kept per file: this one counts the rest. */
  | 'warnings-capped';

/** Fields of the 4 KiB file header. */
export interface EvtxFileHeader {
  /** The header's u64 fields are bigints: a JS number cannot hold every u64 (an unused field of all ones is 18446744073709551615). */
  firstChunkNumber: bigint;
  lastChunkNumber: bigint;
  nextRecordId: bigint;
  headerSize: number;
  minorVersion: number;
  majorVersion: number;
  headerBlockSize: number;
  /** Chunk count as written in the header. It can be wrong; every slot is checked on its own. */
  chunkCount: number;
  flags: number;
  dirty: boolean;
  full: boolean;
  checksum: number;
  checksumValid: boolean;
}

export type ChunkStatus = 'ok' | 'empty' | 'bad-magic' | 'bad-header' | 'truncated';

/** One 64 KiB chunk slot. */
export interface EvtxChunkInfo {
  index: number;
  offset: number;
  status: ChunkStatus;
  /** The chunk header's u64 fields, exactly (bigints: a chunk with no records yet holds all ones, 18446744073709551615). */
  firstRecordNumber?: bigint;
  lastRecordNumber?: bigint;
  firstRecordId?: bigint;
  lastRecordId?: bigint;
  /** Offset (within the chunk) just past the last record, as written in the chunk header. */
  freeSpaceOffset?: number;
  headerCrcValid?: boolean;
  dataCrcValid?: boolean;
  /** Records read from this chunk (allocated). */
  records?: number;
  /** Records recovered from this chunk's slack (only when recovery was requested). */
  recovered?: number;
  /** Record candidates that did not parse (allocated or carved); each has a warning. */
  unparsable?: number;
}

/** A rendered value: what one BinXML substitution or text node turns into. */
export type EvtxValue = string | number | boolean | null | EvtxValue[] | EvtxJsonObject;
export interface EvtxJsonObject {
  [key: string]: EvtxValue;
}

/** Which records to keep. Evaluated before a record's tree is built. */
export interface EvtxFilter {
  eventIds?: readonly number[];
  /** Channel names, compared case-insensitively. */
  channels?: readonly string[];
  /** Provider names, compared case-insensitively. */
  providers?: readonly string[];
}

export interface EvtxReadOptions {
  /** Also scan chunk slack and unallocated slots for record signatures. Default false. */
  recovered?: boolean;
  /** Keep only matching records (pushdown: dropped records are never rendered). */
  filter?: EvtxFilter;
  /** Verify chunk CRC32 checksums (mismatch = warning). Default true. */
  verifyChecksums?: boolean;
  /**
   * Read the chunks of a file opened from a path into one buffer, reused for the chunks after them: less memory and
   * fewer page faults, for a reader that renders or copies what it keeps of a chunk's records before it asks for the
   * next chunk. A record must then not be used once a later chunk is read (its bytes are overwritten). Default false.
   */
  reuseBuffers?: boolean;
}
