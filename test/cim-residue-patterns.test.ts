/**
 * The residue scan's one-pass pattern finder (findResiduePatterns) against the plain search it replaces (findAllIn
 * with the same needles): the same offsets in the same order, the same truncation, on the real Windows 10
 * OBJECTS.DATA and on built buffers that put matches at chunk edges, in long hex runs, at odd offsets and
 * inside other matches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BufferPageSource, findAllIn } from '../src/cim/pages.js';
import { findResiduePatterns } from '../src/cim/residue.js';
import { nameHash } from '../src/cim/index.js';
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
