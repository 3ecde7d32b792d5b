/**
 * BinXML substitution values: the descriptor array of a template instance (size and type of each value) and the
 * decoding of each value type into the JSON value it renders as (strings, integers, reals, booleans, GUIDs, SIDs,
 * FILETIME/SYSTEMTIME, hex integers, binary, arrays; nested BinXML comes back as a marker the renderers expand).
 *
 * The tokens and templates these values fill are in binxml.ts; values are read where a parsed instance points (every
 * value lies inside its record: the parser checked the sizes before), so nothing here throws.
 */
import { filetimeAt, guid, hexUpper, i32, sid, systemtimeAt, trimNul, u16, u32, utf16 } from './bytes.js';
import type { EvtxValue } from './types.js';

/** The substitution values of one template instance: where each value lives in the chunk. */
export interface Values {
  buf: Uint8Array;
  /** Chunk offset of the descriptor array (count × {u16 size, u8 type, u8 pad}). */
  desc: number;
  /** Chunk offset of each value. */
  offsets: number[];
  count: number;
  /** Size of all values together. */
  bytes: number;
}

export function valueType(v: Values, i: number): number {
  return v.buf[v.desc + 4 * i + 2]!;
}

export function valueSize(v: Values, i: number): number {
  return u16(v.buf, v.desc + 4 * i);
}

// ---- substitution values -------------------------------------------------------------------------------

export const T_NULL = 0x00;
export const T_STRING = 0x01;
export const T_BINXML = 0x21;

/** Marker returned for nested BinXML values; the renderer expands them. */
export interface NestedValue {
  nested: true;
  start: number;
  end: number;
}

function bigToValue(v: bigint): number | string {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v.toString();
}

function hex32(v: number): string {
  return '0x' + v.toString(16);
}

let lastHexHi = -1;
let lastHexLo = -1;
let lastHex = '';

function hex64(b: Uint8Array, o: number): string {
  const hi = u32(b, o + 4);
  const lo = u32(b, o);
  // Keywords repeat record after record: keep the last rendering
  if (hi === lastHexHi && lo === lastHexLo) return lastHex;
  lastHexHi = hi;
  lastHexLo = lo;
  lastHex = hi === 0 ? '0x' + lo.toString(16) : '0x' + hi.toString(16) + lo.toString(16).padStart(8, '0');
  return lastHex;
}

const ELEMENT_SIZE: Record<number, number> = {
  0x03: 1, 0x04: 1, 0x05: 2, 0x06: 2, 0x07: 4, 0x08: 4, 0x09: 8, 0x0a: 8, 0x0b: 4, 0x0c: 8, 0x0d: 4,
  0x0f: 16, 0x11: 8, 0x12: 16, 0x14: 4, 0x15: 8,
};

/** JSON has no NaN, Infinity or -0: non-finite reals are null (as in the Rust evtx crate), -0 is 0. */
function finite(v: number): number | null {
  return Number.isFinite(v) ? v + 0 : null;
}

/** Decode one scalar of `type` at `o` (`size` bytes). */
function scalar(b: Uint8Array, o: number, size: number, type: number): EvtxValue {
  switch (type) {
    case 0x00:
      return null;
    case 0x01:
      return trimNul(utf16(b, o, size >> 1));
    case 0x02:
      return trimNul(Buffer.from(b.buffer, b.byteOffset + o, size).toString('latin1'));
    case 0x03:
      return size >= 1 ? (b[o]! << 24) >> 24 : null;
    case 0x04:
      return size >= 1 ? b[o]! : null;
    case 0x05:
      return size >= 2 ? (u16(b, o) << 16) >> 16 : null;
    case 0x06:
      return size >= 2 ? u16(b, o) : null;
    case 0x07:
      return size >= 4 ? i32(b, o) : null;
    case 0x08:
      return size >= 4 ? u32(b, o) : null;
    case 0x09:
      return size >= 8 ? bigToValue((BigInt(i32(b, o + 4)) << 32n) | BigInt(u32(b, o))) : null;
    case 0x0a:
      return size >= 8 ? (u32(b, o + 4) < 0x200000 ? u32(b, o + 4) * 0x100000000 + u32(b, o) : bigToValue((BigInt(u32(b, o + 4)) << 32n) | BigInt(u32(b, o)))) : null;
    case 0x0b:
      return size >= 4 ? finite(Buffer.from(b.buffer, b.byteOffset + o, 4).readFloatLE(0)) : null;
    case 0x0c:
      return size >= 8 ? finite(Buffer.from(b.buffer, b.byteOffset + o, 8).readDoubleLE(0)) : null;
    case 0x0d:
      // BOOL is a 32-bit integer; any non-zero value (irregular values such as 2 or 0xFFFFFFFF occur) is true.
      if (size >= 4) return i32(b, o) !== 0;
      return size >= 1 ? b[o] !== 0 : null;
    case 0x0e:
      return hexUpper(b, o, size);
    case 0x0f:
      return size >= 16 ? guid(b, o) : hexUpper(b, o, size);
    case 0x10:
      // SizeT: pointer-sized, rendered like HexInt32/64 (as the Rust evtx crate does)
      if (size === 4) return hex32(u32(b, o));
      if (size === 8) return hex64(b, o);
      return hexUpper(b, o, size);
    case 0x11:
      return size >= 8 ? filetimeAt(b, o) : null;
    case 0x12:
      return size >= 16 ? systemtimeAt(b, o) : null;
    case 0x13:
      return sid(b, o, size) ?? hexUpper(b, o, size);
    case 0x14:
      return size >= 4 ? hex32(u32(b, o)) : null;
    case 0x15:
      return size >= 8 ? hex64(b, o) : null;
    case 0x20:
      return size >= 8 ? bigToValue((BigInt(u32(b, o + 4)) << 32n) | BigInt(u32(b, o))) : size >= 4 ? u32(b, o) : null;
    case 0x23:
      return trimNul(utf16(b, o, size >> 1));
    default:
      return hexUpper(b, o, size);
  }
}

/** Decode substitution `i` of `v`; nested BinXML comes back as a {@link NestedValue}. */
export function decodeValue(v: Values, i: number): EvtxValue | NestedValue {
  if (i >= v.count) return null;
  const type = v.buf[v.desc + 4 * i + 2]!;
  const size = u16(v.buf, v.desc + 4 * i);
  const o = v.offsets[i]!;
  const b = v.buf;
  if (type === T_NULL || size === 0) return null;
  if (type === T_BINXML) return { nested: true, start: o, end: o + size };
  if ((type & 0x80) === 0) return scalar(b, o, size, type);
  const base = type & 0x7f;
  if (base === 0x01 || base === 0x02) {
    // array of NUL-terminated strings
    const out: EvtxValue[] = [];
    if (base === 0x01) {
      let s = o;
      const e = o + (size & ~1);
      for (let p = o; p < e; p += 2) {
        if (b[p] === 0 && b[p + 1] === 0) {
          out.push(utf16(b, s, (p - s) >> 1));
          s = p + 2;
        }
      }
      if (s < e) out.push(utf16(b, s, (e - s) >> 1));
    } else {
      let s = o;
      for (let p = o; p < o + size; p++) {
        if (b[p] === 0) {
          out.push(Buffer.from(b.buffer, b.byteOffset + s, p - s).toString('latin1'));
          s = p + 1;
        }
      }
      if (s < o + size) out.push(Buffer.from(b.buffer, b.byteOffset + s, o + size - s).toString('latin1'));
    }
    return out;
  }
  let es = ELEMENT_SIZE[base];
  if (base === 0x10) es = 8;
  if (base === 0x13) {
    // array of SIDs: each is 8 + 4 * count bytes
    const out: EvtxValue[] = [];
    let p = o;
    while (p + 8 <= o + size) {
      const n = 8 + 4 * b[p + 1]!;
      if (p + n > o + size) break;
      out.push(sid(b, p, n));
      p += n;
    }
    return out;
  }
  if (!es) return hexUpper(b, o, size);
  const out: EvtxValue[] = [];
  for (let p = o; p + es <= o + size; p += es) out.push(scalar(b, p, es, base));
  return out;
}

export function isNested(v: EvtxValue | NestedValue): v is NestedValue {
  return v !== null && typeof v === 'object' && (v as NestedValue).nested === true;
}
