/**
 * The CIM reader's fast paths against the plain code they stand for (issue 16):
 *  - the residue scan's one-pass pattern finder (findResiduePatterns) against a search for each needle (findAllIn):
 *    the same offsets in the same order, the same truncation, on the real Windows 10 OBJECTS.DATA and on built
 *    buffers that put matches at chunk edges, in long hex runs, at odd offsets and inside other matches;
 *  - class headers (parseClassHeader) against whole class definitions, on every class of the sample;
 *  - FILETIME conversion without BigInt against BigInt arithmetic; key locations without a regex against the regex.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BufferPageSource, findAllIn } from '../src/cim/pages.js';
import { findResiduePatterns } from '../src/cim/residue.js';
import { CimRepository, keyLocation, nameHash, parseClassDefinition, parseClassHeader } from '../src/cim/index.js';
import { filetimeToIso } from '../src/cim/records.js';
import { keyPath } from '../src/cim/store.js';
import { repoRoot } from './support/samples.js';

const sample = resolve(repoRoot(), '../shared/samples/cim/dissect-cim-win10');
const skip = existsSync(sample) ? false : `CIM samples not found at ${sample} (expected ../shared/samples next to the repo)`;

const NAMES = ['__EventFilter', 'CommandLineEventConsumer', 'ActiveScriptEventConsumer', 'LogFileEventConsumer', 'NTEventLogEventConsumer', 'SMTPEventConsumer', 'EventConsumer'];

function plain(bytes: Uint8Array, hashes: string[], names: string[], maxHits = Infinity): { hits: number[][]; truncated: boolean[] } {
  const needles = [...hashes.map((h) => Buffer.from(h, 'utf16le')), ...names.flatMap((n) => [Buffer.from(`${n}.Name="`, 'latin1'), Buffer.from(`${n}.Name="`, 'utf16le')])];
  return findAllIn(new BufferPageSource(bytes, 'OBJECTS.DATA'), needles, maxHits);
}

function fast(bytes: Uint8Array, hashes: string[], names: string[], maxHits = Infinity): { hits: number[][]; truncated: boolean[] } {
  return findResiduePatterns(new BufferPageSource(bytes, 'OBJECTS.DATA'), hashes, names, maxHits);
}

test('residue patterns on the real Windows 10 OBJECTS.DATA: the same hits as a search for each needle', { skip }, () => {
  const data = gunzipSync(readFileSync(resolve(sample, 'OBJECTS.DATA.gz')));
  const hashes = [...NAMES, '__FilterToConsumerBinding', '__NAMESPACE', 'Win32_Service'].map((n) => nameHash(n, 'sha256'));
  const want = plain(data, hashes, NAMES);
  assert.deepEqual(fast(data, hashes, NAMES), want);
  // real instance records start with these hashes: the comparison is not one of empty lists
  assert.ok(want.hits.slice(0, hashes.length).reduce((n, h) => n + h.length, 0) > 100);
});

test('residue patterns on built buffers: chunk edges, odd offsets, long hex runs, overlapping and repeated matches, truncation', () => {
  const hashes = ['__EventFilter', 'CommandLineEventConsumer', '__NAMESPACE'].map((n) => nameHash(n, 'sha256'));
  const md5 = ['__EventFilter', 'LogFileEventConsumer'].map((n) => nameHash(n, 'md5'));
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (const [set, size] of [[hashes, (1 << 20) * 2 + 5000], [md5, (1 << 20) + 70_001]] as const) {
    const b = Buffer.alloc(size);
    for (let i = 0; i < b.length; i++) b[i] = rnd(4) === 0 ? 0 : rnd(256);
    const put = (at: number, text: string, enc: 'latin1' | 'utf16le'): void => void b.write(text, at, enc);
    // near the chunk boundary (1 MiB) on both sides, at odd and even offsets
    for (const at of [(1 << 20) - 400, (1 << 20) - 127, (1 << 20) - 1, (1 << 20) + 300, (1 << 20) + 1001, 0, 1001, size - 2 * set[0]!.length]) if (at + 2 * set[0]!.length <= size) put(at, set[rnd(set.length)]!, 'utf16le');
    // a run of hex UTF-16 longer than a hash holding two of them and a hash shifted by one character
    put(70_001, `AB${set[0]}${set[1]}0${set[0]}F`, 'utf16le');
    // a long hex run (no match) and runs of every length around a hash's
    put(150_000, 'A'.repeat(3000), 'utf16le');
    put(160_000, set[0]!.slice(1), 'utf16le');
    // reference strings, narrow and wide, names that end other names, at chunk edges
    for (const at of [5, 90_000, (1 << 20) - 20, (1 << 20) - 3, 200_001]) if (at + 80 <= size) put(at, `xCommandLineEventConsumer.Name="a"`, rnd(2) ? 'latin1' : 'utf16le');
    put(210_000, 'EventConsumer.Name="', 'latin1');
    put(220_000, 'EventConsumer.Name="', 'utf16le');
    for (let i = 0; i < 40; i++) put(230_000 + i * 40, '__EventFilter.Name="', 'latin1');
    const names = ['CommandLineEventConsumer', 'EventConsumer', '__EventFilter'];
    const want = plain(b, [...set], names);
    assert.deepEqual(fast(b, [...set], names), want);
    assert.ok(want.hits.slice(0, set.length).flat().length >= 7 && want.hits.slice(set.length).flat().length >= 45, 'the planted matches are found');
    assert.deepEqual(fast(b, [...set], names, 3), plain(b, [...set], names, 3));
    assert.deepEqual(fast(b, [], names), plain(b, [], names));
    assert.deepEqual(fast(b, [...set], []), plain(b, [...set], []));
  }
});

test('class headers give the name, superclass and timestamp of every class definition of the Windows 10 sample', { skip }, () => {
  const r = CimRepository.open(sample);
  try {
    let n = 0;
    for (const ns of r.namespaces()) {
      for (const c of r.classes(ns.name ?? `NS_${ns.hash}`)) {
        const rec = (r as unknown as { record(key: string): Uint8Array }).record(c.location.key);
        const full = parseClassDefinition(rec);
        const head = parseClassHeader(rec);
        assert.deepEqual(head, { name: full.name, superclass: full.superclass, tsLo: full.tsLo, tsHi: full.tsHi });
        n++;
      }
    }
    assert.equal(n, 6678);
  } finally {
    r.close();
  }
});

test('FILETIME to ISO text without BigInt is the BigInt result', () => {
  const slow = (lo: number, hi: number): string => {
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    const d = new Date(Number(t / 10000000n - 11644473600n) * 1000);
    const base = Number.isNaN(d.getTime()) ? 'invalid' : d.toISOString().slice(0, 19);
    return `${base}.${String(t % 10000000n).padStart(7, '0')}Z`;
  };
  let seed = 11;
  const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  const his = [0, 1, 0x00ffffff, 0x01000000, 0x01d75a1b, 0x3fffffff, 0x5fffffff, 0x60000000, 0x7fffffff, 0xffffffff];
  for (let i = 0; i < 20000; i++) his.push(i % 2 ? rnd() % 0x60000000 : rnd());
  for (const hi of his) for (const lo of [0, 1, 9999999, 10000000, 0xffffffff, rnd()]) assert.equal(filetimeToIso(lo, hi), slow(lo, hi), `${hi}/${lo}`);
});

test('key locations and key paths without a regex are what the regex reads', () => {
  const re = /\.(\d+)\.(\d+)\.(\d+)$/;
  const keys = [
    'NS_A/CD_B.12.34.56',
    'NS_A/CI_B/IL_C.1.2.3',
    'NS_A/CD_B',
    'NS_A/CD_B.1.2',
    'NS_A/CD_B.1.2.3.4.5',
    'NS_A/CD_B..1.2',
    '.1.2.3',
    '1.2.3',
    'x.1.2.',
    'x.1.2.3\n',
    'x.12345678901234567890.2.3',
    'x.007.0.99999999999999',
    'x.\u0661.2.3',
    '',
  ];
  for (const k of keys) {
    const m = re.exec(k);
    assert.deepEqual(keyLocation(k), m ? { page: Number(m[1]), recordId: Number(m[2]), size: Number(m[3]) } : null, k);
    assert.equal(keyPath(k), m ? k.slice(0, m.index) : k, k);
  }
});
