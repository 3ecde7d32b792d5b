/**
 * Optional worker-thread parallelism across chunks. Each worker opens the file itself and renders whole
 * chunks; results come back in slot order, so the output is identical to the single-threaded path.
 * Uses only `node:worker_threads` (the EVTX layer has no runtime dependencies).
 */
import { Worker } from 'node:worker_threads';
import { EvtxReader, MAX_FILE_WARNINGS } from './reader.js';
import { renderChunk } from './chunks.js';
import type { ChunkOutput, RenderChunkOptions, WorkerReply, WorkerRequest } from './chunks.js';
import type { EvtxWarning } from './types.js';

export interface ParallelOptions extends RenderChunkOptions {
  /** Worker threads to use; 1 (or less) renders in this thread. */
  threads: number;
}

const BATCH = 16;

/**
 * Render every chunk of the file at `path`, yielding chunk outputs in slot order.
 * File-level warnings (header) are yielded first as a pseudo-chunk with slot -1. At most {@link MAX_FILE_WARNINGS}
 * warnings are passed on per file (also across worker threads); when there were more, a last pseudo-chunk with
 * slot -1 holds one `warnings-capped` warning counting the rest.
 */
export async function* renderFileChunks(path: string, opts: ParallelOptions): AsyncGenerator<ChunkOutput> {
  const reader = EvtxReader.open(path, opts.file !== undefined ? { name: opts.file } : {});
  let kept = 0;
  let notKept = 0;
  const cap = (out: ChunkOutput): ChunkOutput => {
    notKept += out.notKept ?? 0;
    const room = MAX_FILE_WARNINGS - kept;
    if (out.warnings.length > room) {
      notKept += out.warnings.length - Math.max(0, room);
      out.warnings.length = Math.max(0, room);
    }
    kept += out.warnings.length;
    return out;
  };
  try {
    const headerWarnings: EvtxWarning[] = reader.warnings.splice(0);
    yield cap({ slot: -1, texts: [], count: 0, warnings: headerWarnings, records: 0, recovered: 0, skipped: 0 });
    const slots = reader.slotCount;
    const threads = Math.max(1, Math.min(Math.floor(opts.threads), slots));
    if (threads <= 1) for (let s = 0; s < slots; s++) yield cap(renderChunk(reader, s, opts));
    else for await (const out of runWorkers(path, slots, threads, opts)) yield cap(out);
    if (notKept > 0) {
      const message = `${notKept} more warning(s) not kept: at most ${MAX_FILE_WARNINGS} warnings are kept per file`;
      yield { slot: -1, texts: [], count: 0, warnings: [{ code: 'warnings-capped', message }], records: 0, recovered: 0, skipped: 0 };
    }
  } finally {
    reader.close();
  }
}

async function* runWorkers(path: string, slots: number, threads: number, opts: RenderChunkOptions): AsyncGenerator<ChunkOutput> {
  const { threads: _t, ...workerOpts } = opts as ParallelOptions;
  const workers: Worker[] = [];
  const idle: Worker[] = [];
  const done = new Map<number, ChunkOutput>();
  let nextToSend = 0;
  let nextToYield = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const maxAhead = threads * BATCH * 2; // bounds memory held in finished-but-unwritten chunks
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const send = (w: Worker): void => {
    if (nextToSend < slots && nextToSend - nextToYield < maxAhead) {
      const req: WorkerRequest = { first: nextToSend, count: Math.min(BATCH, slots - nextToSend) };
      nextToSend += req.count;
      w.postMessage(req);
    } else idle.push(w);
  };
  try {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(new URL('./parallel-worker.js', import.meta.url), { workerData: { path, opts: workerOpts } });
      w.on('message', (m: WorkerReply) => {
        if (m.ok) for (const o of m.outs) done.set(o.slot, o);
        else
          for (let s = m.first; s < m.first + m.count; s++)
            done.set(s, { slot: s, texts: [], count: 0, warnings: [{ code: 'record-parse', message: `chunk slot ${s}: ${m.error}`, chunk: s }], records: 0, recovered: 0, skipped: 0 });
        send(w);
        notify();
      });
      w.on('error', (e) => {
        failure = e instanceof Error ? e : new Error(String(e));
        notify();
      });
      workers.push(w);
      send(w);
    }
    while (nextToYield < slots) {
      const out = done.get(nextToYield);
      if (out) {
        done.delete(nextToYield);
        nextToYield++;
        while (idle.length && nextToSend < slots && nextToSend - nextToYield < maxAhead) send(idle.shift()!);
        yield out;
        continue;
      }
      if (failure) throw failure;
      await new Promise<void>((res) => (wake = res));
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
