/**
 * Whole-process measurement for the benches: wall time, CPU time (user + system), peak RSS (of the child, via
 * Python's getrusage) and exit code of one command, its output discarded; medians of interleaved runs; the
 * inputs several benches build (hard-linked copies of the bench log, a folder of small logs); the thread counts of a
 * scaling curve. CPU time is the steady figure on a shared machine: wall time swings with the load of the others.
 */
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const WRAPPER = `
import resource, subprocess, sys, time, json
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": u.ru_utime + u.ru_stime, "maxrss_kb": u.ru_maxrss, "rc": p.returncode}))
`;

export interface Measure {
  wall: number;
  /** User + system CPU seconds of the child (steadier than wall time on a shared machine). */
  cpu: number;
  maxrss_kb: number;
  rc: number;
}

export function measure(cmd: string[]): Measure {
  return JSON.parse(execFileSync('python3', ['-c', WRAPPER, ...cmd], { encoding: 'utf8' })) as Measure;
}

/** True when `cmd` is on PATH. */
export function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs per measurement: `--runs N` on the command line, else `WMISCOPE_BENCH_RUNS`, else `def` (at least 1). */
export function runsSetting(def: number): number {
  const i = process.argv.indexOf('--runs');
  const v = i > 0 ? process.argv[i + 1] : process.env['WMISCOPE_BENCH_RUNS'];
  const n = Math.floor(Number(v ?? def));
  return Number.isFinite(n) && n >= 1 ? n : def;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
}

/**
 * Median CPU and median wall time (each on its own) and the highest peak RSS of each command, the commands taking
 * turns run by run (so outside load hits them alike). An exit code outside `okCodes` fails the bench.
 */
export function medians(cmds: string[][], runs: number, okCodes: readonly number[] = [0]): Measure[] {
  const all: Measure[][] = cmds.map(() => []);
  for (let i = 0; i < runs; i++)
    cmds.forEach((cmd, k) => {
      const m = measure(cmd);
      if (!okCodes.includes(m.rc)) throw new Error(`${cmd.join(' ')} exited ${m.rc}`);
      all[k]!.push(m);
    });
  return all.map((ms) => ({ cpu: median(ms.map((m) => m.cpu)), wall: median(ms.map((m) => m.wall)), maxrss_kb: Math.max(...ms.map((m) => m.maxrss_kb)), rc: ms[0]!.rc }));
}

/** `n` hard links to `file` in a new folder `dir` (`copy00.evtx`, ...): a large input that costs no disk. */
export function linkCopies(dir: string, file: string, n: number): string {
  mkdirSync(dir);
  for (let i = 0; i < n; i++) linkSync(file, join(dir, `copy${String(i).padStart(2, '0')}.evtx`));
  return dir;
}

/** Every `.evtx` under `root` (sorted paths), the `bench` folder left out. */
function evtxUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, e.name);
      if (e.isDirectory() && !(d === root && e.name === 'bench')) walk(p);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.evtx')) out.push(p);
    }
  };
  walk(root);
  return out;
}

/** Logs of at most this size count as small (the samples' 68 KB and 1 MB logs, as a triage collection holds many). */
export const SMALL_LOG_BYTES = 1200 * 1024;

/**
 * A folder of `n` small logs: hard links to the real logs of at most {@link SMALL_LOG_BYTES} under `samplesEvtx`
 * (EVTX-ATTACK-SAMPLES, hayabusa, ...), taken in turn. Returns the folder and the files' sizes; null when there are none.
 */
export function smallLogs(dir: string, samplesEvtx: string, n = 85): { dir: string; sizes: number[] } | null {
  const small = evtxUnder(samplesEvtx).filter((f) => statSync(f).size <= SMALL_LOG_BYTES);
  if (small.length === 0) return null;
  mkdirSync(dir);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = small[i % small.length]!;
    linkSync(f, join(dir, `small${String(i).padStart(2, '0')}.evtx`));
    sizes.push(statSync(f).size);
  }
  return { dir, sizes };
}

/** The thread counts of a scaling curve (1, 2, 4, 8) that the machine's cores allow, and those left out. */
export function curveCounts(cores: number): { counts: number[]; skipped: number[] } {
  const all = [1, 2, 4, 8];
  return { counts: all.filter((n) => n === 1 || n <= cores), skipped: all.filter((n) => n > 1 && n > cores) };
}

export const pad = (s: string, n: number): string => s.padEnd(n);

/** `met` / `NOT met` after a target's text. */
export const verdict = (ok: boolean, target: string): string => `${target}: ${ok ? 'met' : 'NOT met'}`;
