/** The EVTX file header: its fields, checksum and flags; problems are warnings (the chunks are read anyway). */
import { crc32, u16, u32, u64big } from './bytes.js';
import { CHUNK_SIZE, FH, FILE_HEADER_SIZE } from './layout.js';
import type { EvtxFileHeader, EvtxWarning } from './types.js';

/** The header in `h` (its first bytes; zeros for fields it is too short to hold) of a file of `fileSize` bytes and `slotCount` chunk slots. */
export function parseFileHeader(h: Uint8Array, hasMagic: boolean, fileSize: number, slotCount: number, warn: (w: EvtxWarning) => void): EvtxFileHeader {
  if (!hasMagic) warn({ code: 'header-signature', message: 'file header has no "ElfFile" signature; reading chunks anyway', offset: 0 });
  const ok = h.length >= FH.size;
  const r32 = (o: number): number => (ok ? u32(h, o) : 0);
  const r16 = (o: number): number => (ok ? u16(h, o) : 0);
  const flags = r32(FH.flags);
  const checksum = r32(FH.checksum);
  const checksumValid = ok && crc32(h, 0, FH.flags) === checksum;
  const header: EvtxFileHeader = {
    firstChunkNumber: ok ? u64big(h, FH.firstChunkNumber) : 0n,
    lastChunkNumber: ok ? u64big(h, FH.lastChunkNumber) : 0n,
    nextRecordId: ok ? u64big(h, FH.nextRecordId) : 0n,
    headerSize: r32(FH.headerSize),
    minorVersion: r16(FH.minorVersion),
    majorVersion: r16(FH.majorVersion),
    headerBlockSize: r16(FH.headerBlockSize),
    chunkCount: r16(FH.chunkCount),
    flags,
    dirty: (flags & 1) !== 0,
    full: (flags & 2) !== 0,
    checksum,
    checksumValid,
  };
  if (hasMagic && !checksumValid) warn({ code: 'header-crc', message: `file header CRC32 mismatch (stored 0x${checksum.toString(16)})`, offset: 0 });
  if (hasMagic && header.dirty) warn({ code: 'header-dirty', message: 'file header is marked dirty (not closed cleanly); its counts may be stale', offset: 0 });
  if (fileSize < FILE_HEADER_SIZE + header.chunkCount * CHUNK_SIZE) {
    warn({ code: 'file-truncated', message: `header announces ${header.chunkCount} chunks but the file holds only ${slotCount} slot(s)`, offset: fileSize });
  }
  return header;
}
