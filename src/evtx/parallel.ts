/**
 * Optional worker-thread parallelism across chunks. Each worker opens the file itself and renders whole
 * chunks; results come back in slot order, so the output is identical to the single-threaded path.
 * Uses only `node:worker_threads` (the EVTX layer has no runtime dependencies).
 */
import { Worker } from 'node:worker_threads';
import { EvtxReader, MAX_FILE_WARNINGS } from './reader.js';
import { renderChunk } from './chunks.js';
import type { ChunkOutput, RenderChunkOptions, WorkerReply } from './chunks.js';
import type { EvtxWarning } from './types.js';
import type { JobRequest } from './parallel-worker.js';

export interface ParallelOptions extends RenderChunkOptions {
  /** Worker threads to use; 1 (or less) renders in this thread. */
  threads: number;
  /**
   * Workers kept across the files of a run: given, the file's workers are taken from it (started on first need) and
   * left running for the next file; else they are started for this file and stopped after it.
   */
  workers?: ChunkWorkers;
}

/**
 * Worker threads for {@link renderFileChunks}, kept across files: a worker's start-up and JIT warm-up are paid once
 * per run, not once per file (with `--threads 2`, 85 small logs cost 8.2 s CPU where one thread took 1.2 s, most
 * of it starting two workers per file; kept, 1.7 s). {@link close} stops them; one file at a time uses a pool.
 */
export class ChunkWorkers {
  private readonly started: Worker[] = [];
  private jobs = 0;
  private busy = false;

  /** `n` workers (started as needed) for a new job, and its number; the caller gives them back with {@link release}. */
  take(n: number): { workers: Worker[]; job: number } {
    if (this.busy) throw new Error('ChunkWorkers: one file at a time');
    while (this.started.length < n) {
      const w = new Worker(new URL('./parallel-worker.js', import.meta.url));
      // a worker that ends between files is dropped (an error during a file is that file's: runWorkers listens)
      w.on('error', () => undefined);
      w.on('exit', () => {
        const i = this.started.indexOf(w);
        if (i >= 0) this.started.splice(i, 1);
      });
      this.started.push(w);
    }
    this.busy = true;
    return { workers: this.started.slice(0, n), job: this.jobs++ };
  }

  /** The job is over; `broken` (a worker failed, or replies are still on their way) stops every worker. */
  async release(broken: boolean): Promise<void> {
    this.busy = false;
    if (broken) await this.close();
  }

  /** Stop every worker (the pool starts new ones when it is used again). */
  async close(): Promise<void> {
    const all = this.started.splice(0);
    await Promise.all(all.map((w) => w.terminate()));
  }
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
    else if (opts.workers) for await (const out of runWorkers(path, slots, threads, opts, opts.workers)) yield cap(out);
    else {
      const own = new ChunkWorkers();
      try {
        for await (const out of runWorkers(path, slots, threads, opts, own)) yield cap(out);
      } finally {
        await own.close();
      }
    }
    if (notKept > 0) {
      const message = `${notKept} more warning(s) not kept: at most ${MAX_FILE_WARNINGS} warnings are kept per file`;
      yield { slot: -1, texts: [], count: 0, warnings: [{ code: 'warnings-capped', message }], records: 0, recovered: 0, skipped: 0 };
    }
  } finally {
    reader.close();
  }
}

async function* runWorkers(path: string, slots: number, threads: number, opts: ParallelOptions, pool: ChunkWorkers): AsyncGenerator<ChunkOutput> {
  const { threads: _t, workers: _w, ...workerOpts } = opts;
  const { workers, job } = pool.take(threads);
  const idle: Worker[] = [];
  const done = new Map<number, ChunkOutput>();
  let nextToSend = 0;
  let nextToYield = 0;
  let inFlight = 0;
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
      const req: JobRequest = { job, path, opts: workerOpts, first: nextToSend, count: Math.min(BATCH, slots - nextToSend) };
      nextToSend += req.count;
      inFlight++;
      w.postMessage(req);
    } else idle.push(w);
  };
  const listeners = workers.map((w) => {
    const onMessage = (m: WorkerReply): void => {
      inFlight--;
      if (m.ok) for (const o of m.outs) done.set(o.slot, o);
      else
        for (let s = m.first; s < m.first + m.count; s++)
          done.set(s, { slot: s, texts: [], count: 0, warnings: [{ code: 'record-parse', message: `chunk slot ${s}: ${m.error}`, chunk: s }], records: 0, recovered: 0, skipped: 0 });
      send(w);
      notify();
    };
    const onError = (e: unknown): void => {
      failure ??= e instanceof Error ? e : new Error(String(e));
      notify();
    };
    // a worker that ends without an error (and would never reply) fails the file, not waits for it
    const onExit = (code: number): void => onError(new Error(`worker thread stopped (exit code ${code})`));
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    return { w, onMessage, onError, onExit };
  });
  try {
    for (const w of workers) send(w);
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
    for (const { w, onMessage, onError, onExit } of listeners) {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    }
    // stopped early (or a worker failed): replies may still come, so these workers serve no other file
    await pool.release(failure !== null || inFlight > 0);
  }
}
