/**
 * `npm run bench` (scan part): whole-process CPU seconds of `wmiscope scan` (one thread) on the 31.5 MB bench file
 * (`../shared/samples/evtx/bench/mixed-480chunks.evtx`) and on a folder of 30 hard links to it (944 MB), as MB per
 * CPU-second and as a ratio against libevtx's `evtxexport -f xml` on the same file in the same run (the reference).
 * CPU time is steadier than wall time on a shared 2-core machine. Median of `WMISCOPE_BENCH_RUNS` runs (default 5).
 *
 * `WMISCOPE_BASELINE=/path/to/another/checkout` (built with `npm run build`) also measures that checkout's CLI in the
 * same run and prints this build's CPU over the baseline's: how a change moved the scan (issue 12: at most +5 %).
 */
import { existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { has, measure } from './measure.js';
import type { Measure } from './measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const file = resolve(repoRoot, '../shared/samples/evtx/bench/mixed-480chunks.evtx');
const runs = Math.max(1, Number(process.env['WMISCOPE_BENCH_RUNS'] ?? 5));


function pick(ms: Measure[]): Measure {
  const sorted = [...ms].sort((a, b) => a.cpu - b.cpu);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median-CPU run of each command, the commands taking turns run by run (so outside load hits them alike). */
function medians(cmds: string[][]): Measure[] {
  const all: Measure[][] = cmds.map(() => []);
  for (let i = 0; i < runs; i++)
    cmds.forEach((cmd, k) => {
      const m = measure(cmd);
      if (m.rc !== 0 && m.rc !== 1) throw new Error(`${cmd.join(' ')} exited ${m.rc}`);
      all[k]!.push(m);
    });
  return all.map(pick);
}

const median = (cmd: string[]): Measure => medians([cmd])[0]!;

function scanCmd(cliRoot: string, target: string): string[] {
  return ['node', join(cliRoot, 'dist/src/cli/main.js'), 'scan', target, '-q', '-f', 'json', '-o', '/dev/null', '--threads', '1'];
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
  const root = mkdtempSync(join(tmpdir(), 'wmiscope-scan-bench-'));
  try {
    const x30 = join(root, 'x30');
    mkdirSync(x30);
    for (let i = 0; i < 30; i++) linkSync(file, join(x30, `copy${String(i).padStart(2, '0')}.evtx`));
    const baseline = process.env['WMISCOPE_BASELINE'];
    const targets: Array<{ name: string; path: string; bytes: number }> = [
      { name: 'bench file (31.5 MB)', path: file, bytes: size },
      { name: '30 copies (944 MB)', path: x30, bytes: size * 30 },
    ];
    console.log(`\nScan: wmiscope scan --threads 1, whole process, median CPU of ${runs} run(s)\n`);
    const ref = has('evtxexport') ? median(['evtxexport', '-f', 'xml', file]) : null;
    if (ref) console.log(`reference: evtxexport -f xml on the bench file: ${ref.cpu.toFixed(3)} CPU s (${(size / 1e6 / ref.cpu).toFixed(1)} MB per CPU-second)\n`);
    const pad = (s: string, n: number): string => s.padEnd(n);
    console.log(pad('run', 34) + pad('CPU s', 9) + pad('wall s', 9) + pad('MB/CPU-s', 10) + pad('peak RSS', 10) + pad('vs evtxexport', 15) + (baseline ? 'vs baseline CPU' : ''));
    for (const t of targets) {
      const [m, b] = baseline ? medians([scanCmd(repoRoot, t.path), scanCmd(baseline, t.path)]) : [median(scanCmd(repoRoot, t.path)), undefined];
      if (!m) continue;
      const perFile = t.bytes / size;
      console.log(
        pad(t.name, 34) +
          pad(m.cpu.toFixed(3), 9) +
          pad(m.wall.toFixed(3), 9) +
          pad((t.bytes / 1e6 / m.cpu).toFixed(1), 10) +
          pad(`${(m.maxrss_kb / 1024).toFixed(0)} MB`, 10) +
          pad(ref ? `${((ref.cpu * perFile) / m.cpu).toFixed(2)}x` : 'n/a', 15) +
          (b ? `${(m.cpu / b.cpu).toFixed(3)} (baseline ${b.cpu.toFixed(3)} CPU s; above 1 = slower)` : ''),
      );
    }
    console.log('\nvs evtxexport = evtxexport CPU for the same bytes / scan CPU (higher is better).');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
