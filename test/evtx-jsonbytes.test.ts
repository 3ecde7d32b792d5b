/**
 * The JSON byte writer of the EVTX plans (src/evtx/jsonplan.ts `JsonBytes`) against the text the rest of the reader
 * makes: `JSON.stringify` for strings and numbers, `filetimeIso`, `guid`, `sid` (bytes.ts) for the typed values. The
 * writer takes shortcuts (four code units at a time, word writes, digit tables, small caches of rendered values), so
 * the cases sit on their edges: where a four-unit step starts and ends, table limits, cache slots shared by two values.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { filetimeIso, guid, sid } from '../src/evtx/bytes.js';
import { JsonBytes, Lit } from '../src/evtx/jsonplan.js';

const FC = { seed: 0x15b17e5, numRuns: 400 };

/** What `write` puts into a fresh writer, as text. */
function written(write: (out: JsonBytes) => void): string {
  const out = new JsonBytes(16);
  write(out);
  return out.buf.toString('utf8', 0, out.pos);
}

/** UTF-16LE bytes of code units, at an odd or even offset inside a larger buffer (values sit anywhere in a chunk). */
function utf16At(units: number[], at: number): Uint8Array {
  const b = new Uint8Array(at + units.length * 2 + 3).fill(0xee);
  units.forEach((u, i) => {
    b[at + 2 * i] = u & 0xff;
    b[at + 2 * i + 1] = u >> 8;
  });
  return b;
}

/** The text the writer must give for code units: JSON.stringify of the string without trailing NULs. */
function expectedString(units: number[]): string {
  let n = units.length;
  while (n > 0 && units[n - 1] === 0) n--;
  return JSON.stringify(String.fromCharCode(...units.slice(0, n)));
}

describe('JsonBytes.utf16String', () => {
  test('escapes, controls, DEL, non-ASCII and surrogates at every position of a four-unit step', () => {
    const specials = [0x22, 0x5c, 0x00, 0x01, 0x0a, 0x0d, 0x09, 0x08, 0x0c, 0x1f, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x20ac, 0xfffd];
    for (const sp of specials)
      for (let pos = 0; pos < 9; pos++)
        for (const at of [0, 1, 2, 3]) {
          const units = Array.from({ length: 11 }, (_, i) => (i === pos ? sp : 0x41 + i));
          const b = utf16At(units, at);
          assert.equal(written((o) => o.utf16String(b, at, units.length)), expectedString(units), `unit 0x${sp.toString(16)} at ${pos}, offset ${at}`);
        }
  });

  test('surrogate pairs and lone surrogates, split across steps', () => {
    const cases = [
      [0x41, 0x42, 0x43, 0xd83d, 0xde00, 0x44],
      [0xd83d, 0xde00, 0xd83d, 0xde00, 0x41, 0x41, 0x41, 0x41],
      [0x41, 0x41, 0x41, 0xd800],
      [0xdc00, 0x41, 0x41, 0x41, 0x41],
      [0x41, 0xd800, 0x41, 0x41, 0x41, 0x41, 0xdfff],
    ];
    for (const units of cases) {
      const b = utf16At(units, 1);
      assert.equal(written((o) => o.utf16String(b, 1, units.length)), expectedString(units));
    }
  });

  test('trailing NULs are dropped; an all-NUL value is ""', () => {
    const units = [0x61, 0x62, 0x63, 0x64, 0x65, 0, 0, 0];
    assert.equal(written((o) => o.utf16String(utf16At(units, 0), 0, units.length)), '"abcde"');
    assert.equal(written((o) => o.utf16String(utf16At([0, 0, 0, 0, 0], 0), 0, 5)), '""');
  });

  test('any code units: the same text as JSON.stringify (property)', () => {
    const unit = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x22, 0x5c, 0xd800, 0xdc00, 0));
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 40 }), fc.integer({ min: 0, max: 3 }), (units, at) => {
        assert.equal(written((o) => o.utf16String(utf16At(units, at), at, units.length)), expectedString(units));
      }),
      FC,
    );
  });
});

describe('JsonBytes numbers and typed values', () => {
  test('int: around the digit table and past it, negative numbers', () => {
    for (const n of [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535, 4294967295, 2 ** 53 - 1, -1, -9999, -10000, -2147483648])
      assert.equal(written((o) => o.int(n)), String(n));
  });

  test('filetime: the same text as filetimeIso, before 1970, across days, outside years 1-9999', () => {
    const his = [0, 1, 0x01a00000, 0x01d1d8e0, 0x01dad0c3, 0x00ffffff, 0x01000000, 0x7fffffff, 0xffffffff];
    const los = [0, 1, 9999999, 0x7fffffff, 0xffffffff, 123456789];
    const out = new JsonBytes(16); // one writer, so its per-day cache is exercised across values
    for (const hi of his)
      for (const lo of los) {
        out.pos = 0;
        out.filetime(lo, hi);
        assert.equal(out.buf.toString('utf8', 0, out.pos), JSON.stringify(filetimeIso(lo, hi)), `hi 0x${hi.toString(16)} lo 0x${lo.toString(16)}`);
      }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0x02000000 }), (lo, hi) => {
        out.pos = 0;
        out.filetime(lo, hi);
        assert.equal(out.buf.toString('utf8', 0, out.pos), JSON.stringify(filetimeIso(lo, hi)));
      }),
      FC,
    );
  });

  test('hex: lower case without leading zeros; values sharing a cache slot stay apart', () => {
    const out = new JsonBytes(16);
    const hexOf = (hi: number, lo: number): string => '"0x' + (hi ? hi.toString(16) + lo.toString(16).padStart(8, '0') : lo.toString(16)) + '"';
    // lo values 64 apart share a slot of the 64-entry cache when hi is 0
    const pairs: Array<[number, number]> = [[0, 0], [0, 64], [0, 0], [0, 0x3e7], [0x80200000, 0], [0, 0x80200000], [0x80200000, 0], [1, 0], [0, 1], [0xffffffff, 0xffffffff]];
    for (let round = 0; round < 2; round++)
      for (const [hi, lo] of pairs) {
        out.pos = 0;
        out.hex(hi, lo);
        assert.equal(out.buf.toString('utf8', 0, out.pos), hexOf(hi, lo));
      }
  });

  test('guid: the same text as guid() in bytes.ts, for GUIDs that share a cache slot and for repeats', () => {
    const out = new JsonBytes(16);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 3 }), (g, at) => {
        const b = new Uint8Array(at + 16);
        b.set(g, at);
        for (let k = 0; k < 2; k++) {
          out.pos = 0;
          out.guid(b, at);
          assert.equal(out.buf.toString('utf8', 0, out.pos), JSON.stringify(guid(b, at)));
        }
        // the same first word with another tail: a different GUID in the same slot or not, never the cached text
        const c = b.slice();
        c[at + 15] = c[at + 15]! ^ 0xff;
        out.pos = 0;
        out.guid(c, at);
        assert.equal(out.buf.toString('utf8', 0, out.pos), JSON.stringify(guid(c, at)));
      }),
      FC,
    );
  });

  test('sid: the same text as sid() in bytes.ts', () => {
    const sids = [
      [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0],
      [1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0x10, 0x27, 0x10, 0x11, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 0xe9, 3, 0, 0],
      [1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ];
    for (const s of sids) {
      const b = Uint8Array.from(s);
      assert.equal(written((o) => o.sid(b, 0)), JSON.stringify(sid(b, 0, b.length)));
    }
  });

  test('Lit: literal text of any length, written between other text, UTF-8 included', () => {
    for (const text of ['', '{', '{"', '{"a', '{"ab', '"EventData":{', '{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},', 'é€😀"x"']) {
      const lit = new Lit(text);
      assert.equal(written((o) => {
        o.ascii('[');
        o.lit(lit);
        o.ascii(']');
      }), `[${text}]`);
    }
  });

  test('the buffer grows under word writes (no byte past the end is lost)', () => {
    const out = new JsonBytes(1);
    const lit = new Lit('abcdefg');
    let want = '';
    for (let i = 0; i < 500; i++) {
      out.lit(lit);
      out.int(i * 7919);
      want += 'abcdefg' + String(i * 7919);
    }
    assert.equal(out.buf.toString('utf8', 0, out.pos), want);
  });
});
