/**
 * `npm run bench` (scan part): whole-process CPU seconds of `wmiscope scan` on the 31.5 MB bench file
 * (`../shared/samples/evtx/bench/mixed-480chunks.evtx`) and on a folder of 30 hard links to it (944 MB), as MB per
 * CPU-second (issue 16's target: >= 600 on the 30 copies, one thread) and as a ratio against libevtx's
 * `evtxexport -f xml` on the same file in the same run (the reference); then the thread scaling curve (1, 2, 4, 8
 * threads up to the cores) on the 30 copies and on 85 small logs, with the count the automatic default picks.
 * CPU time is steadier than wall time on a shared 2-core machine. Median of `--runs N` / `WMISCOPE_BENCH_RUNS` runs
 * (default 3), the commands taking turns.
 *
 * `WMISCOPE_BASELINE=/path/to/another/checkout` (built with `npm run build`) also measures that checkout's CLI in the
 * same run and prints this build's CPU over the baseline's: how a change moved the scan (issue 12: at most +5 %).
 */
import { mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { curveCounts, has, linkCopies, medians, pad, runsSetting, smallLogs, verdict } from './measure.js';
import type { Measure } from './measure.js';
import { scanThreads } from '../src/sources/threads.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const samplesEvtx = resolve(repoRoot, '../shared/samples/evtx');
const file = join(samplesEvtx, 'bench/mixed-480chunks.evtx');
const runs = runsSetting(3);
/** Issue 16's target: MB of the 30 copies scanned per CPU-second, one thread. */
const TARGET_MB_PER_CPU_S = 600;
/** `scan` exits 1 when it reports findings at or above --fail-on: a normal end here. */
const SCAN_OK = [0, 1];

function scanCmd(cliRoot: string, target: string, threads: string): string[] {
  return ['node', join(cliRoot, 'dist/src/cli/main.js'), 'scan', target, '-q', '-f', 'json', '-o', '/dev/null', '--threads', threads];
}

function main(): void {
  if (!existsSync(file)) {
    console.log(`scan bench: ${file} is absent (../shared/samples); nothing measured`);
    return;
  }
  if (!has('python3')) {
    console.log('scan bench: python3 is needed to measure child processes; nothing measured');
    return;
  }
  const size = statSync(file).size;
  const cores = availableParallelism();
  const root = mkdtempSync(join(tmpdir(), 'wmiscope-scan-bench-'));
  try {
    const x30 = linkCopies(join(root, 'x30'), file, 30);
    const baseline = process.env['WMISCOPE_BASELINE'];
    console.log(`\nScan: wmiscope scan --threads 1, whole process, median CPU of ${runs} interleaved run(s), ${cores} cores\n`);
    const ref = has('evtxexport') ? medians([['evtxexport', '-f', 'xml', file]], runs)[0]! : null;
    if (ref) console.log(`reference: evtxexport -f xml on the bench file: ${ref.cpu.toFixed(3)} CPU s (${(size / 1e6 / ref.cpu).toFixed(1)} MB per CPU-second)\n`);
    console.log(pad('run', 34) + pad('CPU s', 9) + pad('wall s', 9) + pad('MB/CPU-s', 10) + pad('peak RSS', 10) + pad('vs evtxexport', 15) + (baseline ? 'vs baseline CPU' : ''));
    const { counts, skipped } = curveCounts(cores);
    const row = (name: string, bytes: number, m: Measure, b: Measure | undefined): void =>
      console.log(
        pad(name, 34) +
          pad(m.cpu.toFixed(3), 9) +
          pad(m.wall.toFixed(3), 9) +
          pad((bytes / 1e6 / m.cpu).toFixed(1), 10) +
          pad(`${(m.maxrss_kb / 1024).toFixed(0)} MB`, 10) +
          pad(ref ? `${((ref.cpu * (bytes / size)) / m.cpu).toFixed(2)}x` : 'n/a', 15) +
          (b ? `${(m.cpu / b.cpu).toFixed(3)} (baseline ${b.cpu.toFixed(3)} CPU s; above 1 = slower)` : ''),
      );
    const [one, oneBase] = medians([scanCmd(repoRoot, file, '1'), ...(baseline ? [scanCmd(baseline, file, '1')] : [])], runs, SCAN_OK);
    row('bench file (31.5 MB)', size, one!, oneBase);
    // the 30 copies: one thread (and the baseline's), then the other points of the thread curve, all taking turns
    const more = counts.slice(1);
    const x30all = medians([scanCmd(repoRoot, x30, '1'), ...(baseline ? [scanCmd(baseline, x30, '1')] : []), ...more.map((n) => scanCmd(repoRoot, x30, String(n)))], runs, SCAN_OK);
    const x30one = x30all[0]!;
    row('30 copies (944 MB)', size * 30, x30one, baseline ? x30all[1] : undefined);
    const x30curve = [x30one, ...x30all.slice(baseline ? 2 : 1)];
    console.log('\nvs evtxexport = evtxexport CPU for the same bytes / scan CPU (higher is better).');

    // thread scaling
    const small = smallLogs(join(root, 'small85'), samplesEvtx);
    console.log(`\nthread scaling of scan, median of ${runs}${skipped.length ? `; ${skipped.join(', ')} threads skipped: ${cores} cores` : ''}`);
    console.log(pad('input', 30) + pad('threads', 10) + pad('CPU s', 9) + pad('wall s', 9) + pad('peak RSS', 10) + pad('CPU vs 1', 10) + 'wall speed-up');
    /** For the threads target: the automatic pick of each curve and its wall speed-up over 1 thread (null: not on the curve). */
    const autoVsOne: Array<{ label: string; pick: number; speedUp: number | null }> = [];
    const curve = (label: string, sizes: number[], all: Measure[]): void => {
      const pick = scanThreads(sizes, cores);
      counts.forEach((n, i) => {
        const m = all[i]!;
        const base = all[0]!;
        console.log(pad(i === 0 ? label : '', 30) + pad(`${n}${n === pick ? ' (auto)' : ''}`, 10) + pad(m.cpu.toFixed(3), 9) + pad(m.wall.toFixed(3), 9) + pad(`${(m.maxrss_kb / 1024).toFixed(0)} MB`, 10) + pad((m.cpu / base.cpu).toFixed(2), 10) + `${(base.wall / m.wall).toFixed(2)}x`);
      });
      if (!counts.includes(pick)) console.log(`${pad('', 30)}(auto picks ${pick})`);
      const at = counts.indexOf(pick);
      autoVsOne.push({ label, pick, speedUp: at < 0 ? null : all[0]!.wall / all[at]!.wall });
    };
    curve('30 copies (944 MB)', Array.from({ length: 30 }, () => size), x30curve);
    if (small) curve(`85 small logs (${(small.sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB)`, small.sizes, medians(counts.map((n) => scanCmd(repoRoot, small.dir, String(n))), runs, SCAN_OK));
    else console.log('85 small logs: no small logs under ../shared/samples/evtx');
    console.log('"CPU vs 1" = this CPU / 1 thread\'s (above 1 = more CPU); "wall speed-up" = 1 thread\'s wall time / this one\'s (above 1 = faster).');

    {
      const rate = (size * 30) / 1e6 / x30one.cpu;
      console.log(`\ntargets (issue 16):\n  scan of the 30 copies, 1 thread: ${rate.toFixed(0)} MB per CPU-second   ${verdict(rate >= TARGET_MB_PER_CPU_S, `>= ${TARGET_MB_PER_CPU_S}`)}`);
      for (const a of autoVsOne) {
        const what = `  auto vs 1 thread, ${a.label}: wall speed-up `;
        if (a.pick === 1) console.log(`${what}1.00x (auto = 1 thread)   never slower than 1 thread: met`);
        else if (a.speedUp === null) console.log(`${what}not measured (auto picks ${a.pick} threads, beyond the cores measured)`);
        else console.log(`${what}${a.speedUp.toFixed(2)}x (auto = ${a.pick})   ${verdict(a.speedUp >= 1, 'never slower than 1 thread (>= 1x)')}`);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
