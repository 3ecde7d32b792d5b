/**
 * The EVTX reader timed from the inside of one process, without Node's own start-up.
 *
 * - `jsonl|xml|hunt FILE`: one cold pass, the same work as `wmiscope evtx dump` (output written to /dev/null);
 *   prints `{"ms": …, "records": …}`. Used by evtx-bench.
 * - `jsonl-warm|xml-warm FILE [PASSES]`: one pass to warm up (JIT, template caches), then PASSES more (default 5),
 *   each timed; prints `{"mbps": <median>, "passes": […], "wallMbps": <median>, "records": …, "target": 450, "met": …}`.
 *   `mbps` is the file's size (10^6 bytes) per CPU-second of the process (user + system, `process.cpuUsage`): on a
 *   loaded machine wall time swings 2x while CPU time holds; `wallMbps` is the same over wall time.
 */
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { renderFileChunks } from '../src/evtx/index.js';

/** The issue 16 target for the warm, single-thread full JSON render. */
const WARM_TARGET_MBPS = 450;

const [mode, file, passArg] = process.argv.slice(2) as [string, string, string | undefined];
const warm = mode.endsWith('-warm');
const base = warm ? mode.slice(0, -'-warm'.length) : mode;
const format = base === 'xml' ? 'xml' : 'jsonl';
const filter = base === 'hunt' ? { eventIds: [19, 20, 21, 5857, 5858, 5859, 5860, 5861] } : undefined;

/** One pass over the file; returns the number of records written. */
async function pass(out: number): Promise<number> {
  let records = 0;
  for await (const c of renderFileChunks(file, { threads: 1, format, filter, encodeWith: format === 'xml' ? '' : '\n' })) {
    if (c.bytes && c.count) writeSync(out, c.bytes);
    records += c.count;
  }
  return records;
}

const out = openSync('/dev/null', 'w');
if (!warm) {
  const t0 = performance.now();
  const records = await pass(out);
  console.log(JSON.stringify({ ms: performance.now() - t0, records }));
} else {
  const passes = Math.max(1, Number(passArg ?? 5) | 0);
  const size = statSync(file).size;
  let records = await pass(out);
  const mbps: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < passes; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    records = await pass(out);
    const c = process.cpuUsage(c0);
    mbps.push(size / 1e6 / ((c.user + c.system) / 1e6));
    wall.push(size / 1e6 / ((performance.now() - t0) / 1000));
  }
  const med = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
  const median = med(mbps);
  const round = (x: number): number => Math.round(x * 10) / 10;
  const res: Record<string, unknown> = { mbps: round(median), passes: mbps.map(round), wallMbps: round(med(wall)), records };
  if (format === 'jsonl' && !filter) Object.assign(res, { target: WARM_TARGET_MBPS, ratio: round(median / WARM_TARGET_MBPS), met: median >= WARM_TARGET_MBPS });
  console.log(JSON.stringify(res));
}
closeSync(out);
