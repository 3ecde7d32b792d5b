/**
 * `npm run bench` (fleet part): the CPU cost per host of a `scan` of a generated fleet of host collections, each a
 * KAPE-style folder with a real Sysmon log (Computer rewritten per host) and — when ../shared/samples is there — the
 * real Windows 10 WMI repository (30 MB, hard-linked into every host). Fleets of 25, 50 and 100 hosts are scanned
 * with one thread; the bench prints the CPU seconds per host at each size, how the per-host cost grows from 25 to 100
 * hosts (1.00 = linear), the peak RSS at each (flat = memory does not grow with the fleet), and the verdict on the
 * target (<= 0.15 s CPU per host, issue 16). A last row scans the 50-host fleet with the automatic thread count, for
 * the parallel speed-up and its memory. CPU time (user + system of the whole process tree) is the steady figure on a
 * shared machine; wall time is printed beside it. `--runs n` takes the median of n runs of each (default 1).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './measure.js';
import type { Measure } from './measure.js';
import { gunzipSync } from 'node:zlib';
import { makeFleet } from '../test/support/fleet.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
/** The CLI scanned with (WMISCOPE_BENCH_CLI: another build's main.js, for a before/after run). */
const cli = process.env['WMISCOPE_BENCH_CLI'] ?? join(repoRoot, 'dist/src/cli/main.js');
const sysmon = join(repoRoot, 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const win10 = resolve(repoRoot, '../shared/samples/cim/dissect-cim-win10');
const runsAt = process.argv.indexOf('--runs');
const runs = (runsAt > 0 ? Number(process.argv[runsAt + 1]) : 1) || 1;

/** Target of issue 16: CPU seconds per host of a single-threaded scan. */
const TARGET_CPU_PER_HOST = 0.15;
const SIZES = [25, 50, 100];

function scanRun(dir: string, threads: number | null): Measure {
  // exit 1 = high findings (the Sysmon log's subscription); 0/1 are both a completed scan
  const r = measure(['node', cli, 'scan', dir, '-q', '-f', 'json', '-o', '/dev/null', ...(threads === null ? [] : ['--threads', String(threads)])]);
  if (r.rc !== 0 && r.rc !== 1) throw new Error(`scan exited ${r.rc}`);
  return r;
}

/** The run with the median CPU time of `n`, with the highest peak RSS of them. */
function medianRun(dir: string, threads: number | null, n: number): Measure {
  const all = Array.from({ length: n }, () => scanRun(dir, threads)).sort((a, b) => a.cpu - b.cpu);
  return { ...all[Math.floor(n / 2)]!, maxrss_kb: Math.max(...all.map((r) => r.maxrss_kb)) };
}

/** `hosts` host folders; names are four letters and two digits (the length of the log's Computer name), 99 to a prefix. */
function fleet(root: string, hosts: number, repo: string | null): string {
  const dir = join(root, `fleet-${hosts}`);
  mkdirSync(dir);
  for (let done = 0, batch = 0; done < hosts; batch++) {
    const n = Math.min(99, hosts - done);
    makeFleet({
      dir,
      hosts: n,
      prefix: `HOS${String.fromCharCode(0x54 + batch)}`,
      log: { file: sysmon, computer: 'IEWIN7', name: 'Microsoft-Windows-Sysmon%4Operational.evtx' },
      ...(repo ? { repositories: [{ files: repo, hosts: Array.from({ length: n }, (_, i) => i + 1) }] } : {}),
    });
    done += n;
  }
  return dir;
}

function main(): void {
  const root = mkdtempSync(join(tmpdir(), 'wmiscope-fleet-bench-'));
  try {
    let repo: string | null = null;
    if (existsSync(win10)) {
      repo = join(root, 'win10-repository');
      mkdirSync(repo);
      for (const f of readdirSync(win10)) if (f.endsWith('.gz')) writeFileSync(join(repo, f.replace(/\.gz$/, '')), gunzipSync(readFileSync(join(win10, f))));
    }
    console.log(
      `\nFleet: ${SIZES.join(' / ')} host collections, each a real Sysmon log${repo ? ' and the real Windows 10 repository (30 MB)' : ' (../shared/samples absent: no repositories)'}; ${availableParallelism()} CPU(s); median of ${runs} run(s)\n`,
    );
    console.log('run'.padEnd(40) + 'CPU s'.padEnd(9) + 'wall s'.padEnd(9) + 'CPU s/host'.padEnd(12) + 'peak RSS');
    const rows: Array<{ hosts: number; r: Measure }> = [];
    for (const hosts of SIZES) {
      const dir = fleet(root, hosts, repo);
      const r = medianRun(dir, 1, runs);
      rows.push({ hosts, r });
      console.log(`${hosts} hosts, --threads 1`.padEnd(40) + r.cpu.toFixed(2).padEnd(9) + r.wall.toFixed(2).padEnd(9) + (r.cpu / hosts).toFixed(3).padEnd(12) + `${(r.maxrss_kb / 1024).toFixed(0)} MB`);
    }
    const auto = medianRun(join(root, 'fleet-50'), null, runs);
    const one50 = rows.find((x) => x.hosts === 50)!.r;
    console.log(
      '50 hosts, automatic threads'.padEnd(40) + auto.cpu.toFixed(2).padEnd(9) + auto.wall.toFixed(2).padEnd(9) + (auto.cpu / 50).toFixed(3).padEnd(12) + `${(auto.maxrss_kb / 1024).toFixed(0)} MB`.padEnd(9) + `  wall ${(one50.wall / auto.wall).toFixed(2)}x of 1 thread`,
    );
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    const per = (x: { hosts: number; r: Measure }): number => x.r.cpu / x.hosts;
    // the cost of one more host, without the fixed start-up every scan pays once
    const marginal = (last.r.cpu - first.r.cpu) / (last.hosts - first.hosts);
    console.log(
      `\nper-host CPU: ${rows.map((x) => `${x.hosts} hosts ${per(x).toFixed(3)} s`).join(', ')}; growth ${first.hosts} -> ${last.hosts} hosts ${(per(last) / per(first)).toFixed(2)}x (1.00 = linear); one more host costs ${marginal.toFixed(3)} s CPU`,
    );
    console.log(`peak RSS: ${rows.map((x) => `${x.hosts} hosts ${(x.r.maxrss_kb / 1024).toFixed(0)} MB`).join(', ')}; ${last.hosts} hosts / ${first.hosts} hosts = ${(last.r.maxrss_kb / first.r.maxrss_kb).toFixed(2)}x`);
    const verdict = per(last) <= TARGET_CPU_PER_HOST;
    console.log(`target <= ${TARGET_CPU_PER_HOST} s CPU per host (${last.hosts} hosts, one thread): ${per(last).toFixed(3)} s — ${verdict ? 'met' : 'NOT met'}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
