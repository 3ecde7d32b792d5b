/**
 * The EVTX file layout (libevtx's and the Rust `evtx` crate's documentation of the format, ../shared/reference): sizes,
 * signatures, and the offsets of the fields of the file header, the chunk header and the record header, named once so
 * that every read says which field it reads.
 */

export const FILE_HEADER_SIZE = 4096;
export const CHUNK_SIZE = 65536;
export const CHUNK_HEADER_SIZE = 512;
export const RECORD_MAGIC = 0x00002a2a;
export const FILE_MAGIC = 'ElfFile\0';
export const CHUNK_MAGIC = 'ElfChnk\0';

/** File header fields (offsets in the 4096-byte header block). */
export const FH = {
  firstChunkNumber: 8,
  lastChunkNumber: 16,
  nextRecordId: 24,
  headerSize: 32,
  minorVersion: 36,
  majorVersion: 38,
  headerBlockSize: 40,
  chunkCount: 42,
  /** The CRC32 covers the first 120 bytes. */
  flags: 120,
  checksum: 124,
  /** Bytes the fields above need. */
  size: 128,
} as const;

/** Chunk header fields (offsets in the 512-byte chunk header). */
export const CH = {
  firstRecordNumber: 8,
  lastRecordNumber: 16,
  firstRecordId: 24,
  lastRecordId: 32,
  /** Offset of the first byte past the last record (the chunk's free space). */
  freeSpaceOffset: 48,
  /** CRC32 of the records, `[CHUNK_HEADER_SIZE, freeSpaceOffset)`. */
  dataCrc: 52,
  /** The header CRC32 covers `[0, 120)` and `[128, 512)`. */
  headerCrcEnd: 120,
  headerCrcRest: 128,
  headerCrc: 124,
  /** The string table: 64 offsets of names, then the template table: 32 offsets of template definitions. */
  stringTable: 128,
  stringTableEntries: 64,
  templateTable: 384,
  templateTableEntries: 32,
} as const;

/** Record header fields (offsets from the record's signature); the BinXML follows, then a copy of the size. */
export const RH = {
  size: 4,
  recordId: 8,
  writtenTime: 16,
  /** Where the record's BinXML starts. */
  binxml: 24,
  /** The smallest record: header, one byte of BinXML at least, trailing size copy. */
  minSize: 28,
  /** Trailing copy of the size, 4 bytes before the record's end. */
  trailer: 4,
} as const;

export function magicAt(b: Uint8Array, o: number, m: string): boolean {
  if (o + m.length > b.length) return false;
  for (let i = 0; i < m.length; i++) if (b[o + i] !== m.charCodeAt(i)) return false;
  return true;
}

export function allZero(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

/** The next record signature (`2a 2a 00 00`) in `[from, end)`, or -1. */
export function findMagic(buf: Uint8Array, from: number, end: number): number {
  let p = from;
  while (p + 4 <= end) {
    const i = (buf as Buffer).indexOf(0x2a, p);
    if (i < 0 || i + 4 > end) return -1;
    if (buf[i + 1] === 0x2a && buf[i + 2] === 0 && buf[i + 3] === 0) return i;
    p = i + 1;
  }
  return -1;
}

