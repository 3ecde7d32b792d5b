/**
 * Structure-aware mutations of EVTX files, shared by the in-process property test (test/evtx-fuzz.test.ts) and
 * the whole-CLI mutation campaign (test/support/fuzz-campaign.ts, `npm run fuzz`): a mutant is a seed file plus
 * a short list of operations (bit flips, 1/2/4-byte little-endian field overwrites with extreme values aimed at
 * the file header, chunk headers, record headers or BinXML, zeroed ranges, truncation, chunk splices and
 * appends, record copies), described as data so a failure can be replayed exactly.
 */
import fc from 'fast-check';
import { crc32 } from '../../src/evtx/bytes.js';
import { put, u32 } from './fuzz.js';

export const FILE_HEADER = 4096;
export const CHUNK = 65536;
export const CHUNK_HEADER = 512;

export type Region = 'any' | 'fileHeader' | 'chunkHeader' | 'recordHeader' | 'binxml';

export type Op =
  | { k: 'flip'; region: Region; pick: number; bit: number }
  | { k: 'set8'; region: Region; pick: number; value: number }
  | { k: 'set16'; region: Region; pick: number; value: number }
  | { k: 'set32'; region: Region; pick: number; value: number }
  | { k: 'zero'; region: Region; pick: number; len: number }
  | { k: 'truncate'; pick: number }
  | { k: 'splice'; from: number; srcSlot: number; dstSlot: number }
  | { k: 'append'; from: number; srcSlot: number }
  | { k: 'copyRecord'; src: number; dst: number };

export interface Case {
  seed: number;
  ops: Op[];
}

/** Offsets of record signatures `2a 2a 00 00`. */
export function recordSigs(b: Uint8Array): number[] {
  const out: number[] = [];
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let p = buf.indexOf(0x2a); p >= 0 && p + 4 <= buf.length; p = buf.indexOf(0x2a, p + 1)) {
    if (buf[p + 1] === 0x2a && buf[p + 2] === 0 && buf[p + 3] === 0) out.push(p);
  }
  return out;
}

export function slots(b: Uint8Array): number {
  return b.length > FILE_HEADER ? Math.ceil((b.length - FILE_HEADER) / CHUNK) : 0;
}

/** A target offset in `region` (or -1 when the buffer is empty), aligned to `align` where fields are. */
export function target(b: Uint8Array, region: Region, pick: number, align: number): number {
  if (b.length === 0) return -1;
  const n = slots(b);
  switch (region) {
    case 'fileHeader':
      return Math.min(b.length - 1, (pick % 128) & ~(align - 1));
    case 'chunkHeader': {
      if (n === 0) break;
      const slot = pick % n;
      const o = FILE_HEADER + slot * CHUNK + ((Math.floor(pick / n) % CHUNK_HEADER) & ~(align - 1));
      if (o < b.length) return o;
      break;
    }
    case 'recordHeader':
    case 'binxml': {
      const sigs = recordSigs(b);
      if (sigs.length === 0) break;
      const sig = sigs[pick % sigs.length]!;
      const rest = Math.floor(pick / sigs.length);
      const size = sig + 8 <= b.length ? u32(b, sig + 4) : 0;
      if (region === 'recordHeader') {
        // header fields at 0, 4, 8 (u64), 16 (FILETIME), plus the trailing size copy
        const field = rest % 7;
        if (field === 6 && size >= 8 && sig + size <= b.length) return sig + size - 4;
        return Math.min(b.length - 1, sig + ((field * 4) & ~(align - 1)));
      }
      const span = Math.max(1, Math.min(size, 0x10000) - 28);
      const o = sig + 24 + (rest % span);
      if (o < b.length) return o;
      break;
    }
    case 'any':
      break;
  }
  return (pick % b.length) & ~(align - 1);
}

export function applyCase(seeds: Uint8Array[], c: Case): Uint8Array {
  let b = Uint8Array.from(seeds[c.seed % seeds.length]!);
  for (const op of c.ops) {
    switch (op.k) {
      case 'flip': {
        const o = target(b, op.region, op.pick, 1);
        if (o >= 0) b[o]! ^= 1 << op.bit;
        break;
      }
      case 'set8':
      case 'set16':
      case 'set32': {
        const width = op.k === 'set8' ? 1 : op.k === 'set16' ? 2 : 4;
        const o = target(b, op.region, op.pick, width);
        if (o >= 0) put(b, o, op.value, width);
        break;
      }
      case 'zero': {
        const o = target(b, op.region, op.pick, 1);
        if (o >= 0) b.fill(0, o, Math.min(b.length, o + op.len));
        break;
      }
      case 'truncate':
        b = b.slice(0, op.pick % (b.length + 1));
        break;
      case 'splice': {
        const src = seeds[op.from % seeds.length]!;
        const sn = slots(src);
        const dn = slots(b);
        if (sn === 0 || dn === 0) break;
        const so = FILE_HEADER + (op.srcSlot % sn) * CHUNK;
        const doff = FILE_HEADER + (op.dstSlot % dn) * CHUNK;
        const chunk = src.subarray(so, Math.min(src.length, so + CHUNK));
        b.set(chunk.subarray(0, Math.max(0, b.length - doff)), doff);
        break;
      }
      case 'append': {
        const src = seeds[op.from % seeds.length]!;
        const sn = slots(src);
        if (sn === 0) break;
        const so = FILE_HEADER + (op.srcSlot % sn) * CHUNK;
        const chunk = src.subarray(so, Math.min(src.length, so + CHUNK));
        const grown = new Uint8Array(FILE_HEADER + slots(b) * CHUNK + chunk.length);
        grown.set(b);
        grown.set(chunk, FILE_HEADER + slots(b) * CHUNK);
        b = grown;
        break;
      }
      case 'copyRecord': {
        // overwrite one record with another (possibly from a different place in the chunk)
        const sigs = recordSigs(b);
        if (sigs.length < 2) break;
        const s = sigs[op.src % sigs.length]!;
        const d = sigs[op.dst % sigs.length]!;
        const size = Math.min(u32(b, s + 4), 0x10000, b.length - s);
        b.copyWithin(d, s, s + size);
        break;
      }
    }
  }
  return b;
}

const region = fc.constantFrom<Region>('any', 'fileHeader', 'chunkHeader', 'chunkHeader', 'recordHeader', 'recordHeader', 'binxml', 'binxml', 'binxml');
const extreme32 = fc.oneof(
  fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000, 1, 2, 3, 4, 8, 24, 28, 0x200, 0x1000, 0xfffe, 0xffff, 0x10000, 0x10200),
  fc.nat({ max: 0x400 }),
  fc.nat({ max: 0xffffffff }),
);
const extreme16 = fc.oneof(fc.constantFrom(0, 0xffff, 0x7fff, 0x8000, 1, 2, 0x100, 0x200), fc.nat({ max: 0xffff }));
/** BinXML token bytes (with and without the 0x40 "more" flag), value types and array flags. */
const tokenByte = fc.oneof(
  fc.constantFrom(0x00, 0x01, 0x41, 0x02, 0x03, 0x04, 0x05, 0x45, 0x06, 0x46, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x21, 0x81, 0x8f, 0x93, 0xa1, 0xff),
  fc.nat({ max: 0xff }),
);
const pick = fc.nat();
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('flip' as const), region, pick, bit: fc.nat({ max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant('set8' as const), region, pick, value: tokenByte }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant('set16' as const), region, pick, value: extreme16 }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant('set32' as const), region, pick, value: extreme32 }), weight: 5 },
  { arbitrary: fc.record({ k: fc.constant('zero' as const), region, pick, len: fc.integer({ min: 1, max: 8192 }) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('truncate' as const), pick }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('splice' as const), from: pick, srcSlot: pick, dstSlot: pick }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('append' as const), from: pick, srcSlot: pick }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('copyRecord' as const), src: pick, dst: pick }), weight: 1 },
);
export const caseArb: fc.Arbitrary<Case> = fc.record({ seed: fc.nat(), ops: fc.array(opArb, { minLength: 1, maxLength: 6 }) });

/**
 * Rewrites the file-header CRC and every chunk's header and records CRCs to match the (mutated) bytes, as an
 * attacker would: the mutant then reaches the parsers behind the checksum checks instead of only their warnings.
 */
export function fixCrcs(b: Uint8Array): void {
  if (b.length >= 128) put(b, 124, crc32(b, 0, 120), 4);
  for (let s = 0; s < slots(b); s++) {
    const o = FILE_HEADER + s * CHUNK;
    const end = Math.min(b.length, o + CHUNK);
    if (end - o < CHUNK_HEADER) break;
    const free = u32(b, o + 48);
    if (free >= CHUNK_HEADER && o + free <= end) put(b, o + 52, crc32(b, o + CHUNK_HEADER, o + free), 4);
    put(b, o + 124, crc32(b, o + 128, o + CHUNK_HEADER, crc32(b, o, o + 120)), 4);
  }
}
