/**
 * The automatic thread count (`sources/threads.ts`): which count `scan` and `evtx dump` pick from the input sizes and
 * the cores, on the inputs issue 16 measured (30 copies of the 31.5 MB bench log; 85 small logs of the samples), and
 * the largest-first order of a scan's tasks; `--threads auto` on the command line; chunk workers kept across files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dumpThreads, largestFirst, MAX_AUTO_THREADS, scanThreads } from '../src/sources/threads.js';
import { ChunkWorkers, renderFileChunks } from '../src/evtx/index.js';
import type { ParallelOptions } from '../src/evtx/index.js';
import { evtxSample, listEvtxSamples, repoRoot, skipReason } from './support/samples.js';

const MB = 1024 * 1024;
const cli = join(repoRoot(), 'dist/src/cli/main.js');
const WMI = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const benchFile = evtxSample('bench/mixed-480chunks.evtx');
const noBench = skipReason || (existsSync(benchFile) ? false : `${benchFile} is absent`);

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('scan: 30 copies of the bench log get a worker per 256 MB on 4 cores or more, one thread on 2', { skip: noBench }, () => {
  const size = statSync(benchFile).size;
  assert.equal(size, 31461376);
  const x30 = Array.from({ length: 30 }, () => size);
  assert.equal(scanThreads(x30, 1), 1);
  assert.equal(scanThreads(x30, 2), 1);
  assert.equal(scanThreads(x30, 3), 1);
  assert.equal(scanThreads(x30, 4), 3);
  // 944 MB: three whole 256 MB shares, whatever the cores beyond
  assert.equal(scanThreads(x30, 8), 3);
  assert.equal(scanThreads(x30, 64), 3);
  // the log alone, and 8 copies (252 MB), stay in this thread
  assert.equal(scanThreads([size], 8), 1);
  assert.equal(scanThreads(x30.slice(0, 8), 8), 1);
});

test('scan: 85 small logs of the samples are read in this thread on any machine', { skip: skipReason }, () => {
  const small = listEvtxSamples()
    .map((f) => statSync(f).size)
    .filter((s) => s <= 1200 * 1024);
  assert.ok(small.length >= 20, `${small.length} small samples`);
  const sizes = Array.from({ length: 85 }, (_, i) => small[i % small.length]!);
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.ok(total > 20 * MB && total < 256 * MB, `${total} bytes`);
  for (const cores of [1, 2, 4, 8, 128]) assert.equal(scanThreads(sizes, cores), 1, `${cores} cores`);
});

test('scan: never more lanes than the input over its largest file, nor than the tasks or 8', () => {
  // one 2 GB log beside small ones: one lane would read it while the others wait
  assert.equal(scanThreads([2048 * MB, MB, MB, MB], 8), 1);
  // two 1 GB logs and some small ones: two lanes
  assert.equal(scanThreads([1024 * MB, 1024 * MB, MB, MB], 8), 2);
  assert.equal(scanThreads([300 * MB, 300 * MB], 8), 2);
  assert.equal(scanThreads([300 * MB, 300 * MB], 2), 1);
  assert.equal(scanThreads(Array.from({ length: 100 }, () => 512 * MB), 64), MAX_AUTO_THREADS);
  // sizes that are not sizes count for nothing
  assert.equal(scanThreads([Number.NaN, -1, Infinity, 0], 8), 1);
  assert.equal(scanThreads([], 8), 1);
  assert.equal(scanThreads(Array.from({ length: 4 }, () => 512 * MB), Number.NaN), 1);
});

test('evtx dump: a file is split by chunks only with 4 cores or more and 64 MB per worker', { skip: noBench }, () => {
  const size = statSync(benchFile).size;
  for (const cores of [1, 2, 4, 16]) assert.equal(dumpThreads(size, cores), 1, `bench file, ${cores} cores`);
  assert.equal(dumpThreads(3 * size, 4), 1); // 94 MB: one 64 MB share
  assert.equal(dumpThreads(1024 * MB, 2), 1);
  assert.equal(dumpThreads(1024 * MB, 3), 1);
  assert.equal(dumpThreads(128 * MB, 4), 2);
  assert.equal(dumpThreads(1024 * MB, 4), 4);
  assert.equal(dumpThreads(1024 * MB, 16), MAX_AUTO_THREADS);
  assert.equal(dumpThreads(0, 16), 1);
  assert.equal(dumpThreads(Number.NaN, 16), 1);
});

test('largest first: task indexes by size, equal and unknown sizes in their order', () => {
  assert.deepEqual(largestFirst([5, 9, 5, 1, 9], 5), [1, 4, 0, 2, 3]);
  assert.deepEqual(largestFirst([Number.NaN, 3, -2], 3), [1, 0, 2]);
  // more tasks than sizes: the rest count as 0
  assert.deepEqual(largestFirst([1, 2], 4), [1, 0, 2, 3]);
});

test('cli: --threads auto (the default) gives the output of --threads 1; a bad count is a usage error', () => {
  const one = run('evtx', 'dump', '-q', '--threads', '1', WMI);
  assert.equal(one.code, 0);
  assert.equal(run('evtx', 'dump', '-q', WMI).out, one.out);
  assert.equal(run('evtx', 'dump', '-q', '--threads', 'auto', WMI).out, one.out);
  assert.equal(run('evtx', 'dump', '-q', '--threads', 'x', WMI).code, 2);
  // as scan: 1 to 64
  assert.equal(run('evtx', 'dump', '-q', '--threads', '65', WMI).code, 2);
  assert.equal(run('evtx', 'dump', '-q', '--threads', '64', WMI).out, one.out);
  assert.match(run('evtx', 'dump', '--help').out, /auto: a\s+file is split only with at least 4 cores/);
  const scanAuto = run('scan', '-q', '-f', 'jsonl', '--threads', 'auto', WMI);
  assert.ok(scanAuto.code === 0 || scanAuto.code === 1, scanAuto.err);
  assert.equal(scanAuto.out, run('scan', '-q', '-f', 'jsonl', '-j', '1', WMI).out);
  assert.equal(run('scan', '-q', '-j', 'many', WMI).code, 2);
});

/** Every record text and warning of one file, in order, with these options. */
async function render(file: string, opts: ParallelOptions, stopAfter = Infinity): Promise<string[]> {
  const got: string[] = [];
  for await (const c of renderFileChunks(file, opts)) {
    got.push(...c.texts, ...c.warnings.map((w) => `${w.code}: ${w.message}`));
    if (c.slot >= stopAfter) break;
  }
  return got;
}

test('chunk workers kept across files: each file as in one thread, a damaged file and a stop midway change nothing else', { skip: skipReason }, async () => {
  const files = ['evtx/security.evtx', 'evtx/sample_with_a_bad_chunk_magic.evtx', 'hayabusa-sample-evtx/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx', 'evtx/sysmon.evtx'].map(evtxSample);
  const base = { format: 'jsonl' as const, recovered: true, meta: true };
  const one = await Promise.all(files.map((f) => render(f, { ...base, threads: 1, file: f })));
  // 2261 records and 28 carved from slack
  assert.equal(one[0]!.filter((l) => l.startsWith('{')).length, 2289);
  assert.equal(one[0]!.filter((l) => l.includes('"recovered":true')).length, 28);
  assert.ok(one[1]!.some((l) => l.startsWith('chunk-')), 'the damaged sample warns about its chunk');
  const workers = new ChunkWorkers();
  try {
    for (const [i, f] of files.entries()) assert.deepEqual(await render(f, { ...base, threads: 2, file: f, workers }), one[i], f);
    // a reader that stops early leaves replies on their way: the next file gets fresh workers and the same records
    assert.equal((await render(files[0]!, { ...base, threads: 2, file: files[0]!, workers }, 2)).length > 0, true);
    assert.deepEqual(await render(files[3]!, { ...base, threads: 2, file: files[3]!, workers }), one[3]);
    // without a pool the file starts and stops its own workers, as before
    assert.deepEqual(await render(files[2]!, { ...base, threads: 3, file: files[2]! }), one[2]);
  } finally {
    await workers.close();
  }
});

test('cli: several files with --threads 2 give the bytes of one thread', { skip: skipReason }, () => {
  const files = ['evtx/security.evtx', 'evtx/sample_with_a_bad_chunk_magic.evtx', 'evtx/sysmon.evtx'].map(evtxSample);
  const one = run('evtx', 'dump', '-q', '-r', '--threads', '1', ...files);
  assert.equal(one.code, 0);
  assert.equal(run('evtx', 'dump', '-q', '-r', '--threads', '2', ...files).out, one.out);
  const xml = run('evtx', 'dump', '-q', '-f', 'xml', '--threads', '1', ...files);
  assert.equal(run('evtx', 'dump', '-q', '-f', 'xml', '--threads', '2', ...files).out, xml.out);
});
