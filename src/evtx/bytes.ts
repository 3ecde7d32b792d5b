import * as zlib from 'node:zlib';

/**
 * Low-level helpers: little-endian reads, UTF-16 decoding, CRC32, FILETIME/SYSTEMTIME, GUID, SID.
 * Every read is bounds-checked by the caller against an explicit end; these helpers assume the range is valid.
 */

export function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

export function i32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/** u64 as a JS number; exact below 2^53, approximate above. */
export function u64n(b: Uint8Array, o: number): number {
  return u32(b, o + 4) * 0x100000000 + u32(b, o);
}

export function u64big(b: Uint8Array, o: number): bigint {
  return (BigInt(u32(b, o + 4)) << 32n) | BigInt(u32(b, o));
}

export function i64big(b: Uint8Array, o: number): bigint {
  return BigInt.asIntN(64, u64big(b, o));
}

/**
 * Decode `count` UTF-16LE code units at `o`. Lone surrogates are kept as they are. Short texts are built in place;
 * longer ones by Node's own decoder (about 10x faster than any loop here, measured on 4104 script blocks).
 */
export function utf16(b: Uint8Array, o: number, count: number): string {
  if (count <= 0) return '';
  if (count < 24) {
    let s = '';
    for (let i = 0; i < count; i++) s += String.fromCharCode(b[o + 2 * i]! | (b[o + 2 * i + 1]! << 8));
    return s;
  }
  return Buffer.from(b.buffer, b.byteOffset + o, count * 2).toString('utf16le');
}

/** Strip trailing NUL characters, as Windows strings are often NUL-terminated inside their size. */
export function trimNul(s: string): string {
  let e = s.length;
  while (e > 0 && s.charCodeAt(e - 1) === 0) e--;
  return e === s.length ? s : s.slice(0, e);
}

const HEX = '0123456789ABCDEF';
const HEX_BYTE: string[] = [];
for (let i = 0; i < 256; i++) HEX_BYTE.push(HEX[i >> 4]! + HEX[i & 15]!);

export function hexUpper(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX_BYTE[b[o + i]!]!;
  return s;
}

/** GUID as `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (uppercase, no braces), as the Rust `evtx` crate writes it. */
export function guid(b: Uint8Array, o: number): string {
  const d1 = HEX_BYTE[b[o + 3]!]! + HEX_BYTE[b[o + 2]!]! + HEX_BYTE[b[o + 1]!]! + HEX_BYTE[b[o]!]!;
  const d2 = HEX_BYTE[b[o + 5]!]! + HEX_BYTE[b[o + 4]!]!;
  const d3 = HEX_BYTE[b[o + 7]!]! + HEX_BYTE[b[o + 6]!]!;
  return `${d1}-${d2}-${d3}-${hexUpper(b, o + 8, 2)}-${hexUpper(b, o + 10, 6)}`;
}

/** Windows SID; `size` bounds the sub-authority count. Returns null when the bytes cannot be a SID. */
export function sid(b: Uint8Array, o: number, size: number): string | null {
  if (size < 8) return null;
  const rev = b[o]!;
  const n = b[o + 1]!;
  if (8 + 4 * n > size) return null;
  // 48-bit big-endian identifier authority
  const auth = b[o + 2]! * 0x10000000000 + b[o + 3]! * 0x100000000 + ((b[o + 4]! << 24) >>> 0) + (b[o + 5]! << 16) + (b[o + 6]! << 8) + b[o + 7]!;
  let s = `S-${rev}-${auth}`;
  for (let i = 0; i < n; i++) s += '-' + u32(b, o + 8 + 4 * i);
  return s;
}

// ---- time ---------------------------------------------------------------------------------------------

const EPOCH_DIFF_SECONDS = 11644473600; // 1601-01-01 → 1970-01-01
const pad7 = (n: number): string => {
  const s = String(n);
  return '0000000'.slice(s.length) + s;
};
let lastSec = NaN;
let lastPrefix = '';

/** `YYYY-MM-DDTHH:MM:SS` of a Unix time in seconds (the last one is cached: records come in time order). */
export function isoSeconds(unixSeconds: number): string {
  if (unixSeconds === lastSec) return lastPrefix;
  const ms = unixSeconds * 1000;
  let prefix: string;
  if (ms >= -62135596800000 && ms <= 253402300799000) {
    prefix = new Date(ms).toISOString().slice(0, 19);
  } else {
    const d = new Date(ms);
    prefix = Number.isNaN(d.getTime()) ? 'invalid' : d.toISOString().replace(/\.\d{3}Z$/, '');
  }
  lastSec = unixSeconds;
  lastPrefix = prefix;
  return prefix;
}

/** Result of {@link splitFiletime}: Unix seconds and the 100 ns remainder (0..9999999). */
export const split = { unixSeconds: 0, frac: 0 };

/** Split a FILETIME (two u32 halves) into {@link split} without allocating. Exact for every u64. */
export function splitFiletime(lo: number, hi: number): void {
  if (hi < 0x01000000) {
    // hi*2^32 = hi*429*10^7 + hi*4967296; the second term stays below 2^53 for hi < 2^24 (year < 30000)
    const r = hi * 4967296 + lo;
    split.unixSeconds = hi * 429 + Math.floor(r / 10000000) - EPOCH_DIFF_SECONDS;
    split.frac = r % 10000000;
  } else {
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    split.unixSeconds = Number(t / 10000000n) - EPOCH_DIFF_SECONDS;
    split.frac = Number(t % 10000000n);
  }
}

/**
 * FILETIME (100 ns ticks since 1601-01-01 UTC, given as two u32 halves) → `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
 * Exact: seven fractional digits, never rounded.
 */
export function filetimeIso(lo: number, hi: number): string {
  splitFiletime(lo, hi);
  return `${isoSeconds(split.unixSeconds)}.${pad7(split.frac)}Z`;
}

export function filetimeAt(b: Uint8Array, o: number): string {
  return filetimeIso(u32(b, o), u32(b, o + 4));
}

const p2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** SYSTEMTIME (8 × u16) → ISO-8601 with seven fractional digits (milliseconds × 10^4). */
export function systemtimeAt(b: Uint8Array, o: number): string {
  const y = u16(b, o);
  const mo = u16(b, o + 2);
  const d = u16(b, o + 6);
  const h = u16(b, o + 8);
  const mi = u16(b, o + 10);
  const s = u16(b, o + 12);
  const ms = u16(b, o + 14);
  const ys = String(y).padStart(4, '0');
  return `${ys}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(s)}.${String(ms).padStart(3, '0')}0000Z`;
}

// ---- CRC32 (IEEE, reflected), slice-by-8 ------------------------------------------------------------------

const CRC_TABLES: Int32Array[] = (() => {
  const t: Int32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Int32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0]![i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[0]![i]!;
    for (let k = 1; k < 8; k++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8);
      t[k]![i] = c;
    }
  }
  return t;
})();

/** CRC32 in plain JS (slice-by-8); used where `zlib.crc32` (Node >= 20.15) is missing, and to test it. */
export function crc32Js(b: Uint8Array, start: number, end: number, seed = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let c = ~seed;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[b[i + 4]!]! ^
      t2[b[i + 5]!]! ^
      t1[b[i + 6]!]! ^
      t0[b[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = t0[(c ^ b[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC32 (IEEE) of `b[start, end)`, continuing from `seed` (the CRC of what came before). */
export function crc32(b: Uint8Array, start: number, end: number, seed = 0): number {
  if (nativeCrc) return nativeCrc(b.subarray(start, end), seed) >>> 0;
  return crc32Js(b, start, end, seed);
}
