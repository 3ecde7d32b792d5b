/**
 * One cold pass of the EVTX reader inside a fresh process, timed from the inside: the same work as
 * `wmiscope evtx dump` (output written to /dev/null) without Node's own start-up. Used by evtx-bench.
 * Usage: node dist/bench/evtx-inproc.js jsonl|xml|hunt FILE → prints `{"ms": …, "records": …}`.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { renderFileChunks } from '../src/evtx/index.js';

const [mode, file] = process.argv.slice(2) as [string, string];
const t0 = performance.now();
const out = openSync('/dev/null', 'w');
let records = 0;
const format = mode === 'xml' ? 'xml' : 'jsonl';
const filter = mode === 'hunt' ? { eventIds: [19, 20, 21, 5857, 5858, 5859, 5860, 5861] } : undefined;
for await (const c of renderFileChunks(file, { threads: 1, format, filter, encodeWith: format === 'xml' ? '' : '\n' })) {
  if (c.bytes && c.count) writeSync(out, c.bytes);
  records += c.count;
}
closeSync(out);
console.log(JSON.stringify({ ms: performance.now() - t0, records }));
