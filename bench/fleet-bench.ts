/**
 * `npm run bench` (fleet part): hosts per minute for a generated fleet of 50 host collections, each a
 * KAPE-style folder with a real Sysmon log (Computer rewritten per host) and — when ../shared/samples is
 * there — the real Windows 10 WMI repository (30 MB, hard-linked into every host). The reference run is the
 * same scan with one thread (`--threads 1`) in the same run; the ratio is the parallel speed-up. Peak RSS of
 * a 10-host and a 50-host fleet shows whether memory grows with the fleet.
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
const cli = join(repoRoot, 'dist/src/cli/main.js');
const sysmon = join(repoRoot, 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const win10 = resolve(repoRoot, '../shared/samples/cim/dissect-cim-win10');


function scanRun(dir: string, threads: number): Measure {
  // exit 1 = high findings (the Sysmon log's subscription); 0/1 are both a completed scan
  const r = measure(['node', cli, 'scan', dir, '-q', '-f', 'json', '-o', '/dev/null', '--threads', String(threads)]);
  if (r.rc !== 0 && r.rc !== 1) throw new Error(`scan exited ${r.rc}`);
  return r;
}

function fleet(root: string, hosts: number, repo: string | null): string {
  const dir = join(root, `fleet-${hosts}`);
  mkdirSync(dir);
  makeFleet({
    dir,
    hosts,
    prefix: 'HOST',
    log: { file: sysmon, computer: 'IEWIN7', name: 'Microsoft-Windows-Sysmon%4Operational.evtx' },
    ...(repo ? { repositories: [{ files: repo, hosts: Array.from({ length: hosts }, (_, i) => i + 1) }] } : {}),
  });
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
    const threads = Math.max(2, Math.min(8, availableParallelism()));
    console.log(`\nFleet: 50 host collections, each a real Sysmon log${repo ? ' and the real Windows 10 repository (30 MB)' : ' (../shared/samples absent: no repositories)'}; ${availableParallelism()} CPU(s)\n`);
    const big = fleet(root, 50, repo);
    const small = fleet(root, 10, repo);
    const one = scanRun(big, 1);
    const many = scanRun(big, threads);
    const smallRun = scanRun(small, threads);
    const hpm = (r: Measure, n: number): number => (n / r.wall) * 60;
    console.log('run'.padEnd(44) + 'wall s'.padEnd(9) + 'hosts/min'.padEnd(11) + 'peak RSS'.padEnd(10) + 'vs 1 thread');
    const row = (name: string, r: Measure, n: number): void =>
      console.log(name.padEnd(44) + r.wall.toFixed(2).padEnd(9) + hpm(r, n).toFixed(0).padEnd(11) + `${(r.maxrss_kb / 1024).toFixed(0)} MB`.padEnd(10) + `${(one.wall / r.wall).toFixed(2)}x`);
    row('50 hosts, --threads 1 (reference)', one, 50);
    row(`50 hosts, --threads ${threads}`, many, 50);
    console.log(`10 hosts, --threads ${threads}`.padEnd(44) + smallRun.wall.toFixed(2).padEnd(9) + hpm(smallRun, 10).toFixed(0).padEnd(11) + `${(smallRun.maxrss_kb / 1024).toFixed(0)} MB`);
    console.log(`\nmemory: peak RSS with 50 hosts is ${(many.maxrss_kb / smallRun.maxrss_kb).toFixed(2)}x that with 10 (workers hold one host's evidence at a time; the main thread holds the observations).`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
