/**
 * The npm peer for the EVTX bench: `@ts-evtx/core` (a dev dependency of the bench only) reads the file with its own
 * streaming API and each event is written as JSON to /dev/null, the work `wmiscope evtx dump` does. Its event
 * objects are its own shape (not the Rust crate's), so only the cost is compared, never the output.
 * Usage: node dist/bench/tsevtx-peer.js FILE → prints `{"records": n}`; exit 3 when the package is not installed.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** The part of the package's API used here (its event type is left to the package). */
interface Peer {
  evtx(source: string): { forEach(fn: (e: unknown) => void): Promise<void> };
}

const file = process.argv[2];
if (!file) {
  console.error('usage: tsevtx-peer FILE');
  process.exit(2);
}
let peer: Peer;
try {
  peer = (await import('@ts-evtx/core')) as unknown as Peer;
} catch {
  console.error('@ts-evtx/core is not installed');
  process.exit(3);
}
const out = openSync('/dev/null', 'w');
const parts: string[] = [];
let size = 0;
let records = 0;
// ids and record numbers may be bigints, which JSON.stringify cannot write
const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
await peer.evtx(file).forEach((e) => {
  const line = JSON.stringify(e, big);
  parts.push(line);
  size += line.length;
  records++;
  if (size >= 1 << 20) {
    writeSync(out, parts.join('\n') + '\n');
    parts.length = 0;
    size = 0;
  }
});
if (parts.length) writeSync(out, parts.join('\n') + '\n');
closeSync(out);
console.log(JSON.stringify({ records }));
