/**
 * `npm run bench`: EVTX reader speed and memory, as ratios against libevtx's `evtxexport -f xml` measured in
 * the same run on the same machine. Each command runs as its own process; wall time and peak RSS come from
 * a small python3 wrapper (`resource.getrusage(RUSAGE_CHILDREN)`), the median of several runs is reported.
 *
 * Usage: npm run bench [-- --runs N] [-- --file PATH]
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { has, measure } from './measure.js';
import type { Measure } from './measure.js';
import { EvtxReader } from '../src/evtx/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const cli = join(repo, 'dist/src/cli/main.js');
const inproc = join(repo, 'dist/bench/evtx-inproc.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const file = resolve(arg('--file', join(repo, '../shared/samples/evtx/bench/mixed-480chunks.evtx')));
const runs = Number(arg('--runs', '3'));


function median(cmd: string[]): Measure {
  const ms: Measure[] = [];
  for (let i = 0; i < runs; i++) ms.push(measure(cmd));
  ms.sort((a, b) => a.wall - b.wall);
  const m = ms[Math.floor(ms.length / 2)]!;
  if (m.rc !== 0) throw new Error(`${cmd.join(' ')} exited with ${m.rc}`);
  return { ...m, maxrss_kb: Math.max(...ms.map((x) => x.maxrss_kb)) };
}

/** Median seconds of one cold pass measured inside a fresh process (no Node start-up, no CLI parsing). */
function workSeconds(mode: string): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push((JSON.parse(execFileSync('node', [inproc, mode, file], { encoding: 'utf8' })) as { ms: number }).ms);
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]! / 1000;
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
  console.log(`file: ${file}`);
  console.log(`size: ${(size / 1e6).toFixed(1)} MB, ${records} records, ${cores} cores, median of ${runs} run(s)\n`);

  const hunt = '19,20,21,5857,5858,5859,5860,5861';
  const rows: Array<{ name: string; cmd: string[]; target?: number; ref?: boolean; work?: string }> = [];
  if (has('evtxexport')) rows.push({ name: 'evtxexport -f xml (reference)', cmd: ['evtxexport', '-f', 'xml', file], ref: true });
  rows.push({ name: 'wmiscope dump jsonl, 1 thread', cmd: ['node', cli, 'evtx', 'dump', '-q', file], target: 15, work: 'jsonl' });
  rows.push({ name: `wmiscope dump jsonl, ${cores} threads`, cmd: ['node', cli, 'evtx', 'dump', '-q', '--threads', String(cores), file] });
  rows.push({ name: 'wmiscope dump xml, 1 thread', cmd: ['node', cli, 'evtx', 'dump', '-q', '-f', 'xml', file], work: 'xml' });
  rows.push({ name: 'wmiscope WMI hunt (-e 19..21,5857..5861)', cmd: ['node', cli, 'evtx', 'dump', '-q', '-e', hunt, file], target: 40, work: 'hunt' });
  rows.push({ name: 'node startup only (node -e 0)', cmd: ['node', '-e', '0'] });

  let refWall: number | null = null;
  const results: Array<{ name: string; m: Measure; target?: number; work?: number }> = [];
  for (const r of rows) {
    const m = median(r.cmd);
    if (r.ref) refWall = m.wall;
    results.push({ name: r.name, m, target: r.target, work: r.work ? workSeconds(r.work) : undefined });
  }
  const pad = (s: string, n: number): string => s.padEnd(n);
  console.log(pad('run', 44) + pad('wall s', 9) + pad('records/s', 12) + pad('MB/s', 8) + pad('peak RSS', 10) + pad('vs evtxexport', 15) + pad('target', 22) + 'in-process work s (ratio)');
  for (const { name, m, target, work } of results) {
    const ratio = refWall ? refWall / m.wall : null;
    const startup = name.startsWith('node startup');
    const verdict = target && ratio ? (ratio >= target ? `>= ${target}x: met` : `>= ${target}x: NOT met`) : '';
    console.log(
      pad(name, 44) +
        pad(m.wall.toFixed(3), 9) +
        pad(startup ? '-' : Math.round(records / m.wall).toLocaleString('en-US'), 12) +
        pad(startup ? '-' : (size / 1e6 / m.wall).toFixed(1), 8) +
        pad(`${(m.maxrss_kb / 1024).toFixed(0)} MB`, 10) +
        pad(ratio ? `${ratio.toFixed(1)}x` : 'n/a', 15) +
        pad(verdict, 22) +
        (work !== undefined ? `${work.toFixed(3)}${refWall ? ` (${(refWall / work).toFixed(1)}x)` : ''}` : ''),
    );
  }
  console.log(
    '\nwall = whole process (Node start-up, module loading, CLI, output to /dev/null), the fair comparison with evtxexport;\n' +
      'in-process work = one cold pass timed inside a fresh process: what the reader costs without the fixed ~0.1 s of Node start-up.',
  );
  // streaming: peak RSS must not grow with the file: the same chunks repeated 3x (94 MB) against the file itself
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-bench-'));
  try {
    const big = join(dir, 'x3.evtx');
    const data = readFileSync(file);
    const fd = openSync(big, 'w');
    writeSync(fd, data);
    for (let k = 0; k < 2; k++) writeSync(fd, data, 4096, data.length - 4096);
    closeSync(fd);
    const one = results[refWall ? 1 : 0]!.m;
    const three = median(['node', cli, 'evtx', 'dump', '-q', big]);
    const bigSize = statSync(big).size;
    console.log(
      `\nstreaming (jsonl, 1 thread): peak RSS ${(one.maxrss_kb / 1024).toFixed(0)} MB on ${(size / 1e6).toFixed(1)} MB, ` +
        `${(three.maxrss_kb / 1024).toFixed(0)} MB on ${(bigSize / 1e6).toFixed(1)} MB (same chunks x3): RSS ratio ${(three.maxrss_kb / one.maxrss_kb).toFixed(2)} for a ${(bigSize / size).toFixed(1)}x larger file`,
    );
    // what is left is V8 sizing its heap to the allocation rate; capped, the large file still goes through
    const capped = measure(['node', '--max-old-space-size=24', cli, 'evtx', 'dump', '-q', big]);
    console.log(`  with V8 old space capped at 24 MB: ${capped.rc === 0 ? 'completes' : `FAILS (exit ${capped.rc})`}, peak RSS ${(capped.maxrss_kb / 1024).toFixed(0)} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!refWall) console.log('\n(evtxexport not installed: apt-get install libevtx-utils for the reference run)');
}

main();
