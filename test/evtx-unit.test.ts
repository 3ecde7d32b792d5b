/**
 * Unit tests of the low-level EVTX helpers in src/evtx/bytes.ts against known values and
 * independent reference implementations written here (bitwise CRC32, BigInt civil-date math).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { crc32, crc32Js, filetimeAt, filetimeIso, guid, sid, systemtimeAt } from '../src/evtx/bytes.js';

const FC = { seed: 0x0b17e5, numRuns: 300 };
const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Bit-at-a-time CRC32 (IEEE, reflected): the textbook definition, independent of the table code. */
function crcRef(b: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('crc32Js', () => {
  test('standard check value: "123456789" → 0xCBF43926', () => {
    const b = ascii('123456789');
    assert.equal(crc32Js(b, 0, b.length), 0xcbf43926);
    assert.equal(crc32(b, 0, b.length), 0xcbf43926);
    assert.equal(crcRef(b), 0xcbf43926);
  });

  test('empty range → the seed; other known vectors', () => {
    assert.equal(crc32Js(new Uint8Array(0), 0, 0), 0);
    assert.equal(crc32Js(new Uint8Array(0), 0, 0, 0x12345678), 0x12345678);
    assert.equal(crc32Js(new Uint8Array(8), 3, 3, 7), 7);
    const fox = ascii('The quick brown fox jumps over the lazy dog');
    assert.equal(crc32Js(fox, 0, fox.length), 0x414fa339);
    assert.equal(crc32Js(new Uint8Array(32), 0, 32), 0x190a55ad);
    assert.equal(crc32Js(new Uint8Array(32).fill(0xff), 0, 32), 0xff6cab0b);
  });

  test('equals zlib.crc32 and the bitwise reference on random data, sub-ranges and seeds', { skip: nativeCrc ? false : 'zlib.crc32 needs Node >= 20.15' }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), fc.nat(), fc.nat({ max: 0xffffffff }), (b, x, y, seed) => {
        const start = b.length ? x % (b.length + 1) : 0;
        const end = start + (b.length ? y % (b.length - start + 1) : 0);
        const sub = b.subarray(start, end);
        const got = crc32Js(b, start, end, seed);
        assert.equal(got, crcRef(sub, seed));
        // zlib.crc32 on an EMPTY view whose ArrayBuffer has no backing store returns 0 instead of the
        // seed (zlib's crc32(crc, NULL, 0) == 0); only compare the native paths on non-empty ranges.
        if (sub.length > 0) {
          assert.equal(got, nativeCrc!(sub, seed) >>> 0);
          assert.equal(crc32(b, start, end, seed), got);
        }
      }),
      FC,
    );
  });

  test('continuing from a seed equals one pass over the whole range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), (b, k) => {
        const mid = k % (b.length + 1);
        assert.equal(crc32Js(b, mid, b.length, crc32Js(b, 0, mid)), crc32Js(b, 0, b.length));
      }),
      FC,
    );
  });

  test('every length 0..64 (slice-by-8 head and tail handling) and unaligned starts', () => {
    const b = Uint8Array.from({ length: 80 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let s = 0; s < 9; s++) for (let n = 0; n <= 64; n++) assert.equal(crc32Js(b, s, s + n), crcRef(b.subarray(s, s + n)), `start ${s} len ${n}`);
  });
});

// ---- FILETIME ---------------------------------------------------------------------------------------------

/** Days since 1970-01-01 → [year, month, day] (H. Hinnant's civil_from_days, in BigInt). */
function civilFromDays(z0: bigint): [bigint, bigint, bigint] {
  const z = z0 + 719468n;
  const era = (z >= 0n ? z : z - 146096n) / 146097n;
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
  return [y, m, d];
}

/** FILETIME → ISO-8601 with 7 fractional digits, by integer math only (years > 9999 as +YYYYYY, like Date). */
function filetimeRef(t: bigint): string {
  const ticks = t % 10_000_000n;
  const unix = t / 10_000_000n - 11_644_473_600n; // t >= 0, so floor division is plain division here
  const days = unix >= 0n ? unix / 86400n : -((-unix + 86399n) / 86400n);
  const sod = unix - days * 86400n;
  const [y, m, d] = civilFromDays(days);
  const p = (v: bigint, n: number): string => v.toString().padStart(n, '0');
  const year = y > 9999n ? '+' + p(y, 6) : p(y, 4);
  return `${year}-${p(m, 2)}-${p(d, 2)}T${p(sod / 3600n, 2)}:${p((sod / 60n) % 60n, 2)}:${p(sod % 60n, 2)}.${p(ticks, 7)}Z`;
}

const split = (t: bigint): [number, number] => [Number(t & 0xffffffffn), Number(t >> 32n)];

describe('filetimeIso / filetimeAt', () => {
  test('known values (checked against the BigInt reference and literals)', () => {
    const cases: Array<[bigint, string]> = [
      [0x01d4a2ce8ece6cf4n, '2019-01-02T19:08:34.3442676Z'],
      [130000000000000000n, '2012-12-14T23:06:40.0000000Z'],
      [116444736000000000n, '1970-01-01T00:00:00.0000000Z'],
      [0n, '1601-01-01T00:00:00.0000000Z'],
      [116444736000000000n - 1n, '1969-12-31T23:59:59.9999999Z'], // no rounding up
      [0x00ffffffffffffffn, '1829-05-05T23:50:03.7927935Z'], // last value of the fast (Number) path
      [0x0100000000000000n, '1829-05-05T23:50:03.7927936Z'], // first value of the BigInt path
      [2650467743999999999n, '9999-12-31T23:59:59.9999999Z'],
    ];
    for (const [t, iso] of cases) {
      assert.equal(filetimeRef(t), iso, `reference for ${t}`);
      assert.equal(filetimeIso(...split(t)), iso, `filetimeIso for ${t}`);
    }
  });

  test('exact for random FILETIMEs over the whole u64 range (7 digits, never rounded)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (lo, hi) => {
        assert.equal(filetimeIso(lo, hi), filetimeRef((BigInt(hi) << 32n) | BigInt(lo)));
      }),
      FC,
    );
    fc.assert(
      // the usual range (years 1601..9999), where nearly all real timestamps are
      fc.property(fc.bigInt({ min: 0n, max: 2650467743999999999n }), (t) => {
        assert.equal(filetimeIso(...split(t)), filetimeRef(t));
      }),
      FC,
    );
  });

  test('largest FILETIME renders without throwing', () => {
    assert.equal(filetimeIso(0xffffffff, 0xffffffff), filetimeRef(0xffffffffffffffffn));
  });

  test('filetimeAt reads a little-endian u64 at an offset', () => {
    const b = new Uint8Array(12);
    new DataView(b.buffer).setBigUint64(3, 0x01d4a2ce8ece6cf4n, true);
    assert.equal(filetimeAt(b, 3), '2019-01-02T19:08:34.3442676Z');
  });
});

// ---- SYSTEMTIME -------------------------------------------------------------------------------------------

function systemtime(y: number, mo: number, dow: number, d: number, h: number, mi: number, s: number, ms: number, at = 0): Uint8Array {
  const b = new Uint8Array(at + 16);
  const v = new DataView(b.buffer);
  [y, mo, dow, d, h, mi, s, ms].forEach((x, i) => v.setUint16(at + 2 * i, x, true));
  return b;
}

describe('systemtimeAt', () => {
  test('known values (day of week ignored, milliseconds → 7 digits)', () => {
    assert.equal(systemtimeAt(systemtime(2019, 1, 3, 2, 3, 4, 5, 678), 0), '2019-01-02T03:04:05.6780000Z');
    assert.equal(systemtimeAt(systemtime(2024, 12, 0, 31, 23, 59, 59, 999), 0), '2024-12-31T23:59:59.9990000Z');
    assert.equal(systemtimeAt(systemtime(1601, 1, 1, 1, 0, 0, 0, 0), 0), '1601-01-01T00:00:00.0000000Z');
    assert.equal(systemtimeAt(systemtime(2000, 2, 2, 29, 12, 0, 0, 7, 5), 5), '2000-02-29T12:00:00.0070000Z');
  });

  test('out-of-range fields are written as they are (no throw)', () => {
    assert.equal(systemtimeAt(systemtime(0, 0, 0, 0, 0, 0, 0, 0), 0), '0000-00-00T00:00:00.0000000Z');
    assert.equal(typeof systemtimeAt(systemtime(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff), 0), 'string');
  });
});

// ---- GUID / SID ---------------------------------------------------------------------------------------------

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!, (x) => parseInt(x, 16));

describe('guid', () => {
  test('mixed-endian layout, uppercase, no braces', () => {
    assert.equal(guid(hex('000102030405060708090a0b0c0d0e0f'), 0), '03020100-0504-0706-0809-0A0B0C0D0E0F');
    // Microsoft-Windows-Sysmon provider {5770385F-C22A-43E0-BF4C-06F5698FFBD9}
    assert.equal(guid(hex('5f3870572ac2e043bf4c06f5698ffbd9'), 0), '5770385F-C22A-43E0-BF4C-06F5698FFBD9');
    assert.equal(guid(hex('aa ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff'), 1), 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF');
  });

  test('agrees with a straightforward reimplementation on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const h = (i: number): string => b[i]!.toString(16).padStart(2, '0').toUpperCase();
        const want = [3, 2, 1, 0].map(h).join('') + '-' + [5, 4].map(h).join('') + '-' + [7, 6].map(h).join('') + '-' + [8, 9].map(h).join('') + '-' + [10, 11, 12, 13, 14, 15].map(h).join('');
        assert.equal(guid(b, 0), want);
      }),
      FC,
    );
  });
});

describe('sid', () => {
  test('well-known SIDs', () => {
    assert.equal(sid(hex('010100000000000512000000'), 0, 12), 'S-1-5-18');
    assert.equal(sid(hex('010100000000000100000000'), 0, 12), 'S-1-1-0');
    assert.equal(sid(hex('010100000000001000300000'), 0, 12), 'S-1-16-12288');
    assert.equal(sid(hex('01020000000000052000000020020000'), 0, 16), 'S-1-5-32-544');
    // S-1-5-21-3623811015-3361044348-30300820-1013
    assert.equal(sid(hex('010500000000000515000000c7f7fed77c7755c8945ace01f5030000'), 0, 28), 'S-1-5-21-3623811015-3361044348-30300820-1013');
    // S-1-5-21-…-500 with sub-authorities at their u32 maximum
    assert.equal(sid(hex('010500000000000515000000ffffffffffffffff00000080f4010000'), 0, 28), 'S-1-5-21-4294967295-4294967295-2147483648-500');
  });

  test('48-bit identifier authority (big-endian) and offset', () => {
    assert.equal(sid(hex('ee 01 01 ffffffffffff 07000000'), 1, 12), 'S-1-281474976710655-7');
    assert.equal(sid(hex('01 00 000000000000'), 0, 8), 'S-1-0');
  });

  test('null when the size cannot hold the header or the sub-authorities', () => {
    assert.equal(sid(hex('0101000000000005'), 0, 7), null);
    assert.equal(sid(hex('010200000000000512000000'), 0, 12), null);
    assert.equal(sid(hex('01ff00000000000512000000'), 0, 12), null);
  });

  test('agrees with a BigInt reimplementation on random SIDs', () => {
    fc.assert(
      fc.property(fc.nat({ max: 255 }), fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 15 }), (rev, auth, subs) => {
        const b = new Uint8Array(8 + 4 * subs.length);
        const v = new DataView(b.buffer);
        b[0] = rev;
        b[1] = subs.length;
        b.set(auth, 2);
        subs.forEach((x, i) => v.setUint32(8 + 4 * i, x, true));
        const a = auth.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
        assert.equal(sid(b, 0, b.length), [`S-${rev}-${a}`, ...subs.map(String)].join('-'));
      }),
      FC,
    );
  });
});
