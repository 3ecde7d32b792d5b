/**
 * `npm run bench` (EVTX part): the reader's speed and memory as ratios against libevtx's `evtxexport -f xml`, and
 * Rust `evtx_dump` when it is on PATH, measured in the same run on the same machine, with each target of issue 16
 * and its verdict. Each command runs as its own process (whole-process CPU and wall time, peak RSS: `measure.ts`),
 * the commands take turns run by run and the median of each is reported; ratios are by CPU time, the steady figure
 * on a shared machine (wall time is printed beside it).
 *
 * Also: the npm peer `@ts-evtx/core` (dev dependency of the bench, `tsevtx-peer.ts`, one run); the warm in-process render
 * speed (`evtx-inproc.ts jsonl-warm`, when that mode exists); the streaming memory on a file 3x as large; the thread
 * scaling curve (1, 2, 4, 8 threads up to the cores) on the bench file and on 85 small logs, with the count the
 * automatic default picks.
 *
 * Usage: node dist/bench/evtx-bench.js [--runs N] [--file PATH]   (runs: also WMISCOPE_BENCH_RUNS; default 3)
 * `WMISCOPE_BASELINE=/path/to/another/checkout` (built) also measures that checkout's CLI, interleaved, and prints
 * this build's CPU over the baseline's.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { curveCounts, has, measure, medians, pad, runsSetting, smallLogs, verdict } from './measure.js';
import type { Measure } from './measure.js';
import { EvtxReader } from '../src/evtx/index.js';
import { dumpThreads } from '../src/sources/threads.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const cliOf = (root: string): string => join(root, 'dist/src/cli/main.js');
const cli = cliOf(repo);
const inproc = join(repo, 'dist/bench/evtx-inproc.js');
const peerScript = join(repo, 'dist/bench/tsevtx-peer.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const samplesEvtx = resolve(repo, '../shared/samples/evtx');
const benchFile = join(samplesEvtx, 'bench/mixed-480chunks.evtx');
const file = resolve(arg('--file', benchFile));
const runs = runsSetting(3);
const baseline = process.env['WMISCOPE_BASELINE'];
const HUNT = '19,20,21,5857,5858,5859,5860,5861';

/** Issue 16's targets for this bench. */
const TARGET = { dumpCpu: 0.35, dumpVsRef: 7, huntCpu: 0.12, huntVsRef: 20, rssMb: 64, flat: 1.1, warmMbps: 450 };

const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

/** Median seconds of one cold pass measured inside a fresh process (no Node start-up, no CLI parsing). */
function workSeconds(mode: string): number | null {
  const ms: number[] = [];
  try {
    for (let i = 0; i < runs; i++) ms.push((JSON.parse(execFileSync('node', [inproc, mode, file], { encoding: 'utf8' })) as { ms: number }).ms);
  } catch {
    return null;
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]! / 1000;
}

/** The warm in-process render speed (`evtx-inproc.js jsonl-warm FILE` → `{"mbps": n}`), or why it is not available. */
function warmMbps(): { mbps: number } | { why: string } {
  try {
    const out = execFileSync('node', [inproc, 'jsonl-warm', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 300_000 });
    const last = out.trim().split('\n').pop() ?? '';
    const v = (JSON.parse(last) as { mbps?: unknown }).mbps;
    return typeof v === 'number' && Number.isFinite(v) ? { mbps: v } : { why: 'evtx-inproc.ts has no jsonl-warm mode (no "mbps" in its output)' };
  } catch {
    return { why: 'the jsonl-warm mode of bench/evtx-inproc.ts is unknown or failed' };
  }
}

interface Row {
  name: string;
  cmd: string[];
  /** Measured once, after the others (the npm peer: slow, and far from the figures compared). */
  once?: boolean;
}

function main(): void {
  if (!existsSync(file)) {
    console.log(`bench: ${file} not found (needs ../shared/samples); nothing measured`);
    return;
  }
  if (!has('python3')) {
    console.log('bench: python3 is needed to measure child processes; nothing measured');
    return;
  }
  const size = statSync(file).size;
  const reader = EvtxReader.open(file);
  let records = 0;
  for (const _ of reader.records()) records++;
  reader.close();
  const cores = availableParallelism();
  const auto = dumpThreads(size, cores);
  console.log(`file: ${file}`);
  console.log(`size: ${(size / 1e6).toFixed(1)} MB, ${records} records, ${cores} cores, median of ${runs} interleaved run(s)\n`);

  const rows: Row[] = [];
  const ref = has('evtxexport') ? rows.push({ name: 'evtxexport -f xml (reference)', cmd: ['evtxexport', '-f', 'xml', file] }) - 1 : -1;
  const rust = has('evtx_dump') ? rows.push({ name: 'Rust evtx_dump -o jsonl -t 1', cmd: ['evtx_dump', '-o', 'jsonl', '-t', '1', file] }) - 1 : -1;
  const peer = existsSync(join(repo, 'node_modules/@ts-evtx/core/package.json')) ? rows.push({ name: '@ts-evtx/core (npm peer), JSON, 1 run', cmd: ['node', peerScript, file], once: true }) - 1 : -1;
  const dump1 = rows.push({ name: 'wmiscope dump jsonl, 1 thread', cmd: ['node', cli, 'evtx', 'dump', '-q', '--threads', '1', file] }) - 1;
  // the default (auto) is its own row only where it is not one thread
  if (auto > 1) rows.push({ name: `wmiscope dump jsonl, auto (${auto} threads)`, cmd: ['node', cli, 'evtx', 'dump', '-q', file] });
  rows.push({ name: 'wmiscope dump xml, 1 thread', cmd: ['node', cli, 'evtx', 'dump', '-q', '-f', 'xml', '--threads', '1', file] });
  const hunt = rows.push({ name: 'wmiscope WMI hunt (-e 19-21,5857-5861)', cmd: ['node', cli, 'evtx', 'dump', '-q', '--threads', '1', '-e', HUNT, file] }) - 1;
  const base1 = baseline ? rows.push({ name: 'baseline dump jsonl, 1 thread', cmd: ['node', cliOf(baseline), 'evtx', 'dump', '-q', '--threads', '1', file] }) - 1 : -1;
  const baseHunt = baseline ? rows.push({ name: 'baseline WMI hunt', cmd: ['node', cliOf(baseline), 'evtx', 'dump', '-q', '--threads', '1', '-e', HUNT, file] }) - 1 : -1;
  rows.push({ name: 'node start-up only (node -e 0)', cmd: ['node', '-e', '0'] });
  if (rust < 0) console.log('(Rust evtx_dump not on PATH: cargo install evtx, for its row)');
  if (peer < 0) console.log('(@ts-evtx/core not installed: npm ci installs it as a dev dependency, for its row)');

  const ms: Measure[] = new Array<Measure>(rows.length);
  const many = rows.flatMap((r, i) => (r.once ? [] : [i]));
  // the reference tools may refuse a file given with --file (a damaged log): their row says so, the ratios are n/a;
  // any other command that fails (or a signal) still stops the bench
  const anyExit = Array.from({ length: 256 }, (_, i) => i);
  medians(many.map((i) => rows[i]!.cmd), runs, anyExit).forEach((m, k) => (ms[many[k]!] = m));
  rows.forEach((r, i) => {
    if (r.once) ms[i] = medians([r.cmd], 1, anyExit)[0]!;
  });
  const failed = (i: number): boolean => i >= 0 && ms[i]!.rc !== 0;
  rows.forEach((r, i) => {
    if (failed(i) && i !== ref && i !== rust) throw new Error(`${r.cmd.join(' ')} exited ${ms[i]!.rc}`);
  });
  const refCpu = ref >= 0 && !failed(ref) ? ms[ref]!.cpu : null;
  const refWall = ref >= 0 && !failed(ref) ? ms[ref]!.wall : null;
  const rustCpu = rust >= 0 && !failed(rust) ? ms[rust]!.cpu : null;
  const x = (a: number | null, b: number): string => (a ? `${(a / b).toFixed(2)}x` : 'n/a');
  console.log(pad('run', 42) + pad('CPU s', 8) + pad('wall s', 8) + pad('MB/CPU-s', 10) + pad('peak RSS', 10) + pad('CPU vs evtxexport', 19) + pad('wall vs evtxexport', 20) + 'CPU vs evtx_dump');
  rows.forEach((r, i) => {
    const m = ms[i]!;
    const startup = r.cmd[1] === '-e';
    if (failed(i)) return console.log(pad(r.name, 42) + `failed on this file (exit ${m.rc}): no ratios against it`);
    console.log(
      pad(r.name, 42) +
        pad(m.cpu.toFixed(3), 8) +
        pad(m.wall.toFixed(3), 8) +
        pad(startup ? '-' : (size / 1e6 / m.cpu).toFixed(1), 10) +
        pad(mb(m.maxrss_kb), 10) +
        pad(startup ? '-' : x(refCpu, m.cpu), 19) +
        pad(startup ? '-' : x(refWall, m.wall), 20) +
        (startup ? '-' : x(rustCpu, m.cpu)),
    );
  });
  console.log('\nwhole process each (Node start-up, module loading, CLI, output to /dev/null); "vs" = the other\'s time / this one\'s (higher is better).');
  if (auto === 1) console.log(`the default (--threads auto) reads this file in one thread on ${cores} cores: the 1-thread row`);

  const cold = { jsonl: workSeconds('jsonl'), hunt: workSeconds('hunt') };
  console.log(`in-process, one cold pass (no Node start-up): dump ${cold.jsonl?.toFixed(3) ?? 'n/a'} s, hunt ${cold.hunt?.toFixed(3) ?? 'n/a'} s`);

  // streaming: peak RSS must not grow with the file: the same chunks repeated 3x against the file itself
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-bench-'));
  let three: Measure | null = null;
  let bigSize = 0;
  /** For the threads target: the automatic pick of each curve and its wall speed-up over 1 thread (null: not on the curve). */
  const autoVsOne: Array<{ label: string; pick: number; speedUp: number | null }> = [];
  try {
    const big = join(dir, 'x3.evtx');
    const data = readFileSync(file);
    const fd = openSync(big, 'w');
    writeSync(fd, data);
    for (let k = 0; k < 2; k++) writeSync(fd, data, 4096, data.length - 4096);
    closeSync(fd);
    bigSize = statSync(big).size;
    three = medians([['node', cli, 'evtx', 'dump', '-q', '--threads', '1', big]], runs)[0]!;
    // what is left is V8 sizing its heap to the allocation rate; capped, the large file still goes through
    const capped = measure(['node', '--max-old-space-size=24', cli, 'evtx', 'dump', '-q', '--threads', '1', big]);
    console.log(
      `\nstreaming (jsonl, 1 thread): peak RSS ${mb(ms[dump1]!.maxrss_kb)} on ${(size / 1e6).toFixed(1)} MB, ${mb(three.maxrss_kb)} on ${(bigSize / 1e6).toFixed(1)} MB (same chunks x3); ` +
        `with V8 old space capped at 24 MB: ${capped.rc === 0 ? 'completes' : `FAILS (exit ${capped.rc})`}, peak RSS ${mb(capped.maxrss_kb)}`,
    );

    // thread scaling: the bench file split by chunks, and 85 small logs (one file after another)
    const { counts, skipped } = curveCounts(cores);
    const small = smallLogs(join(dir, 'small85'), samplesEvtx);
    const smallFiles = small ? small.sizes.map((_, i) => join(small.dir, `small${String(i).padStart(2, '0')}.evtx`)) : [];
    const smallAuto = small ? Math.max(...small.sizes.map((s) => dumpThreads(s, cores))) : 1;
    console.log(`\nthread scaling of evtx dump (jsonl), median of ${runs}${skipped.length ? `; ${skipped.join(', ')} threads skipped: ${cores} cores` : ''}`);
    console.log(pad('input', 34) + pad('threads', 9) + pad('CPU s', 8) + pad('wall s', 8) + pad('peak RSS', 10) + pad('CPU vs 1', 10) + 'wall speed-up');
    const curve = (label: string, args: string[], pick: number): void => {
      const cm = medians(counts.map((n) => ['node', cli, 'evtx', 'dump', '-q', '--threads', String(n), ...args]), runs);
      counts.forEach((n, i) => {
        const m = cm[i]!;
        console.log(pad(i === 0 ? label : '', 34) + pad(`${n}${n === pick ? ' (auto)' : ''}`, 9) + pad(m.cpu.toFixed(3), 8) + pad(m.wall.toFixed(3), 8) + pad(mb(m.maxrss_kb), 10) + pad(`${(m.cpu / cm[0]!.cpu).toFixed(2)}`, 10) + `${(cm[0]!.wall / m.wall).toFixed(2)}x`);
      });
      const at = counts.indexOf(pick);
      autoVsOne.push({ label, pick, speedUp: at < 0 ? null : cm[0]!.wall / cm[at]!.wall });
    };
    curve(`bench file (${(size / 1e6).toFixed(1)} MB)`, [file], auto);
    if (small) curve(`85 small logs (${(small.sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB)`, smallFiles, smallAuto);
    else console.log('85 small logs: no small logs under ../shared/samples/evtx');
    console.log('"CPU vs 1" = this CPU / 1 thread\'s (above 1 = more CPU); "wall speed-up" = 1 thread\'s wall time / this one\'s (above 1 = faster).');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // the targets of issue 16, each with its verdict
  const warm = warmMbps();
  const d = ms[dump1]!;
  const h = ms[hunt]!;
  const one = d.maxrss_kb / 1024;
  const big = three ? three.maxrss_kb / 1024 : Number.NaN;
  const noRef = failed(ref) ? 'evtxexport failed on this file' : 'no evtxexport';
  console.log(`\ntargets (issue 16${file === resolve(benchFile) ? '' : '; set for the bench file, this run read another'}):`);
  const line = (what: string, value: string, v: string): void => console.log(`  ${pad(what, 52)}${pad(value, 26)}${v}`);
  line('dump, whole process, 1 thread: CPU', `${d.cpu.toFixed(3)} s`, verdict(d.cpu <= TARGET.dumpCpu, `<= ${TARGET.dumpCpu} s`));
  line('dump, 1 thread: evtxexport CPU / this CPU', refCpu ? `${(refCpu / d.cpu).toFixed(2)}x` : 'n/a', refCpu ? verdict(refCpu / d.cpu >= TARGET.dumpVsRef, `>= ${TARGET.dumpVsRef}x`) : noRef);
  line('WMI hunt, whole process: CPU', `${h.cpu.toFixed(3)} s`, verdict(h.cpu <= TARGET.huntCpu, `<= ${TARGET.huntCpu} s`));
  line('WMI hunt: evtxexport CPU / this CPU', refCpu ? `${(refCpu / h.cpu).toFixed(2)}x` : 'n/a', refCpu ? verdict(refCpu / h.cpu >= TARGET.huntVsRef, `>= ${TARGET.huntVsRef}x`) : noRef);
  line('streaming dump: peak RSS, bench file and x3', `${one.toFixed(0)} MB, ${big.toFixed(0)} MB`, verdict(Math.max(one, big) <= TARGET.rssMb, `<= ${TARGET.rssMb} MB`));
  line('streaming dump: peak RSS x3 / bench file', `${(big / one).toFixed(2)}`, verdict(big / one <= TARGET.flat, `flat (<= ${TARGET.flat})`));
  line('warm in-process JSON render, 1 thread', 'mbps' in warm ? `${warm.mbps.toFixed(0)} MB/s` : 'not available', 'mbps' in warm ? verdict(warm.mbps >= TARGET.warmMbps, `>= ${TARGET.warmMbps} MB/s`) : warm.why);
  for (const a of autoVsOne) {
    const what = `auto vs 1 thread, ${a.label}: wall`;
    if (a.pick === 1) line(what, '1.00x (auto = 1 thread)', 'never slower than 1 thread: met');
    else if (a.speedUp === null) line(what, 'not measured', `auto picks ${a.pick} threads, beyond the cores measured`);
    else line(what, `${a.speedUp.toFixed(2)}x (auto = ${a.pick})`, verdict(a.speedUp >= 1, 'never slower than 1 thread (>= 1x)'));
  }
  if (rustCpu) line('Rust evtx_dump -t 1 CPU / wmiscope dump CPU', `${(rustCpu / d.cpu).toFixed(2)}x`, '(above 1 = wmiscope faster)');
  if (baseline) {
    console.log(`\nbaseline ${baseline} (interleaved): this build's CPU / the baseline's (below 1 = faster)`);
    console.log(`  dump, 1 thread: ${(d.cpu / ms[base1]!.cpu).toFixed(3)} (baseline ${ms[base1]!.cpu.toFixed(3)} s, this ${d.cpu.toFixed(3)} s)`);
    console.log(`  WMI hunt:       ${(h.cpu / ms[baseHunt]!.cpu).toFixed(3)} (baseline ${ms[baseHunt]!.cpu.toFixed(3)} s, this ${h.cpu.toFixed(3)} s)`);
  }
  if (ref < 0) console.log('\n(evtxexport not installed: apt-get install libevtx-utils for the reference run)');
}

main();
