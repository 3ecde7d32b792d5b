/**
 * One 64 KiB chunk slot on its own: signature, header fields and checksums, the string and template tables, the
 * allocated records' framing, records carved from slack; and what can be told of a record before parsing it.
 * Every problem is a warning of the file (the slot is skipped or read as far as it goes), never an exception.
 */
import { crc32, u16, u32, u64big, u64n } from './bytes.js';
import { N_ELEM, N_INST, N_SUBST, newChunkCtx, peekEventId, templateAt, valueType } from './binxml.js';
import type { BxNode, ChunkCtx } from './binxml.js';
import { allZero, CH, CHUNK_HEADER_SIZE, CHUNK_MAGIC, CHUNK_SIZE, findMagic, magicAt, RECORD_MAGIC, RH } from './layout.js';
import type { ChunkStatus, EvtxChunkInfo, EvtxWarning } from './types.js';

export interface RecordSpan {
  start: number;
  size: number;
  recovered: boolean;
  /** A problem with the record's framing, attached to the record as a warning. */
  note?: string;
}

export interface ChunkScan {
  info: EvtxChunkInfo;
  ctx: ChunkCtx | null;
  spans: RecordSpan[];
}

/**
 * Inspect the chunk slot `slot` (its bytes `buf`, at file offset `offset`): status, checksums, record positions
 * (allocated, and carved when `recovered`). Problems go to `warn`.
 */
export function scanChunk(buf: Uint8Array, slot: number, offset: number, recovered: boolean, verify: boolean, warn: (w: EvtxWarning) => void): ChunkScan {
  const info: EvtxChunkInfo = { index: slot, offset, status: 'ok' };
  const spans: RecordSpan[] = [];
  const len = buf.length;
  if (!magicAt(buf, 0, CHUNK_MAGIC)) {
    if (allZero(buf, 0, Math.min(len, CHUNK_HEADER_SIZE)) && allZero(buf, 0, len)) {
      info.status = 'empty';
      return { info, ctx: null, spans };
    }
    info.status = 'bad-magic';
    warn({ code: 'chunk-magic', message: `chunk slot ${slot}: no "ElfChnk" signature; slot skipped${recovered ? ' (records carved from it)' : ''}`, offset, chunk: slot });
    if (!recovered) return { info, ctx: null, spans };
    const ctx = newChunkCtx(buf, len);
    carve(buf, 0, len, spans);
    return { info, ctx, spans };
  }
  let status: ChunkStatus = 'ok';
  if (len < CHUNK_SIZE) {
    status = 'truncated';
    warn({ code: 'file-truncated', message: `chunk slot ${slot}: only ${len} of ${CHUNK_SIZE} bytes present`, offset, chunk: slot });
  }
  if (len < CHUNK_HEADER_SIZE) {
    info.status = 'truncated';
    return { info, ctx: null, spans };
  }
  info.firstRecordNumber = u64big(buf, CH.firstRecordNumber);
  info.lastRecordNumber = u64big(buf, CH.lastRecordNumber);
  info.firstRecordId = u64big(buf, CH.firstRecordId);
  info.lastRecordId = u64big(buf, CH.lastRecordId);
  // the free-space offset bounds the allocated records: trusted only inside the slot
  let free = u32(buf, CH.freeSpaceOffset);
  info.freeSpaceOffset = free;
  if (verify) {
    const hcrc = crc32(buf, CH.headerCrcRest, CHUNK_HEADER_SIZE, crc32(buf, 0, CH.headerCrcEnd));
    info.headerCrcValid = hcrc === u32(buf, CH.headerCrc);
    if (!info.headerCrcValid) warn({ code: 'chunk-header-crc', message: `chunk slot ${slot}: header CRC32 mismatch`, offset, chunk: slot });
  }
  if (free < CHUNK_HEADER_SIZE || free > len) {
    warn({ code: 'chunk-header', message: `chunk slot ${slot}: free-space offset ${free} out of range; records read up to the end of the slot`, offset: offset + CH.freeSpaceOffset, chunk: slot });
    status = 'bad-header';
    free = len;
  } else if (verify) {
    info.dataCrcValid = crc32(buf, CHUNK_HEADER_SIZE, free) === u32(buf, CH.dataCrc);
    if (!info.dataCrcValid) warn({ code: 'chunk-data-crc', message: `chunk slot ${slot}: event records CRC32 mismatch`, offset, chunk: slot });
  }
  checkTables(buf, len, slot, offset, warn);
  info.status = status;
  const ctx = newChunkCtx(buf, len);
  // allocated records: each record's size is trusted only when it stays in the slot and its trailing copy agrees
  let p = CHUNK_HEADER_SIZE;
  while (p + RH.binxml <= free) {
    const size = u32(buf, p + RH.size);
    if (u32(buf, p) !== RECORD_MAGIC || size < RH.minSize || p + size > len) {
      const what = u32(buf, p) !== RECORD_MAGIC ? 'no record signature' : `record size ${size} out of range`;
      const next = findMagic(buf, p + 1, free);
      warn({
        code: u32(buf, p) === RECORD_MAGIC && p + size > len ? 'record-truncated' : 'record-header',
        message: `chunk slot ${slot}: ${what} at chunk offset 0x${p.toString(16)}; ${next < 0 ? 'rest of the chunk skipped' : `resuming at 0x${next.toString(16)}`}`,
        offset: offset + p,
        chunk: slot,
      });
      if (next < 0) break;
      p = next;
      continue;
    }
    let note: string | undefined;
    const trailer = u32(buf, p + size - RH.trailer);
    if (trailer !== size) {
      note = `trailing size copy (${trailer}) does not match the record size (${size}): the record may be damaged`;
      warn({ code: 'record-header', message: `chunk slot ${slot}: record at chunk offset 0x${p.toString(16)}: ${note}`, offset: offset + p, chunk: slot, recordId: u64n(buf, p + RH.recordId) });
    }
    spans.push(note ? { start: p, size, recovered: false, note } : { start: p, size, recovered: false });
    p += size;
  }
  if (recovered) carve(buf, Math.max(free, CHUNK_HEADER_SIZE), len, spans);
  return { info, ctx, spans };
}

/** A string or template table entry that points outside the chunk or at an impossible name is a warning; names and templates are read where records point anyway. */
function checkTables(buf: Uint8Array, len: number, slot: number, offset: number, warn: (w: EvtxWarning) => void): void {
  let bad = 0;
  for (let i = 0; i < CH.stringTableEntries; i++) {
    const o = u32(buf, CH.stringTable + i * 4);
    if (o === 0) continue;
    // a name: 4 bytes next offset, 2 bytes hash, 2 bytes character count, then UTF-16 characters
    if (o < CHUNK_HEADER_SIZE || o + 8 > len || o + 8 + u16(buf, o + 6) * 2 > len) bad++;
  }
  if (bad) warn({ code: 'string-cache', message: `chunk slot ${slot}: ${bad} string-table entr${bad === 1 ? 'y points' : 'ies point'} outside the chunk (ignored: names are read where records point)`, offset: offset + CH.stringTable, chunk: slot });
  let badT = 0;
  for (let i = 0; i < CH.templateTableEntries; i++) {
    const o = u32(buf, CH.templateTable + i * 4);
    // a template definition: 24 bytes of header (next offset, GUID, data size) before its BinXML
    if (o !== 0 && (o < CHUNK_HEADER_SIZE || o + 24 > len)) badT++;
  }
  if (badT) warn({ code: 'template-cache', message: `chunk slot ${slot}: ${badT} template-table entr${badT === 1 ? 'y points' : 'ies point'} outside the chunk (ignored)`, offset: offset + CH.templateTable, chunk: slot });
}

/** Look for record signatures in `[start, end)` that carry a consistent header and trailer. */
function carve(buf: Uint8Array, start: number, end: number, spans: RecordSpan[]): void {
  let p = findMagic(buf, start, end);
  while (p >= 0 && p + RH.minSize <= end) {
    const size = u32(buf, p + RH.size);
    // a consistent record: its size in the range, the same size at its end, BinXML that opens with a fragment header
    // (0x0f), a record number below 2^48 (the high word of the 64-bit number small)
    if (size >= 32 && p + size <= end && u32(buf, p + size - RH.trailer) === size && buf[p + RH.binxml] === 0x0f && u32(buf, p + 12) < 0x10000) {
      spans.push({ start: p, size, recovered: true });
      p = findMagic(buf, p + size, end);
    } else p = findMagic(buf, p + 1, end);
  }
}

/**
 * For carved records: the values must agree with the types the template declares for its slots, or the
 * template the record points to is not the one it was written with (slack is overwritten data).
 */
export function valuesFitTemplate(nodes: BxNode[]): boolean {
  const first = nodes[0];
  if (!first) return false;
  if (first.k !== N_INST) return first.k === N_ELEM;
  const { template, values } = first;
  if (values.count < template.slots) return false;
  let ok = true;
  const check = (ns: BxNode[]): void => {
    for (const n of ns) {
      if (!ok) return;
      if (n.k === N_SUBST) {
        const t = valueType(values, n.index);
        if (t !== 0 && t !== n.type && !(n.type === 0x10 && (t === 0x14 || t === 0x15))) ok = false;
      } else if (n.k === N_ELEM) {
        for (const a of n.attrs) check(a.value);
        check(n.children);
      }
    }
  };
  check(template.root);
  return ok && template.root.some((n) => n.k === N_ELEM && n.name === 'Event');
}

/**
 * EventID of a record without parsing it (see peekEventId); the first record of a template in a chunk has its template
 * compiled here (as parsing the record would, and cached for the chunk's other records) instead of being parsed whole.
 */
export function eventIdOf(ctx: ChunkCtx, start: number, end: number): number | undefined {
  const id = peekEventId(ctx, start, end);
  if (id !== undefined) return id;
  const b = ctx.buf;
  if (start + 18 > end || b[start] !== 0x0f || b[start + 4] !== 0x0c) return undefined;
  const defOff = u32(b, start + 10);
  if (ctx.templates.has(defOff)) return undefined;
  try {
    templateAt(ctx, defOff);
  } catch {
    return undefined;
  }
  return peekEventId(ctx, start, end);
}
