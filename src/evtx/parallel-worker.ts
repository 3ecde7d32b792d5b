/**
 * Worker thread body for {@link renderFileChunks}: renders the chunk slots it is sent. A worker serves one file after
 * another (the workers of a {@link ChunkWorkers} pool are kept across the files of a run): a request of a new job
 * opens that job's file, the previous one is closed.
 */
import { parentPort } from 'node:worker_threads';
import { EvtxReader } from './reader.js';
import { renderChunk } from './chunks.js';
import type { ChunkOutput, RenderChunkOptions, WorkerReply, WorkerRequest } from './chunks.js';

/** A request to a worker: chunk slots of one job's file, with the job's file and options. */
export interface JobRequest extends WorkerRequest {
  /** Changes with each file a pool's workers are given (one `renderFileChunks` call). */
  job: number;
  path: string;
  opts: RenderChunkOptions;
}

let job = -1;
let reader: EvtxReader | null = null;

parentPort?.on('message', (m: JobRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    if (m.job !== job || !reader) {
      reader?.close();
      reader = null;
      job = m.job;
      reader = EvtxReader.open(m.path, m.opts.file !== undefined ? { name: m.opts.file } : {});
      reader.warnings.length = 0; // header warnings are reported once, by the main thread
    }
    const outs: ChunkOutput[] = [];
    for (let s = m.first; s < m.first + m.count; s++) {
      const out = renderChunk(reader, s, m.opts);
      const b = out.bytes;
      // encoded output is moved, not copied, to the main thread
      if (b && b.byteLength > 0 && b.byteOffset === 0 && b.buffer.byteLength === b.byteLength) transfer.push(b.buffer as ArrayBuffer);
      outs.push(out);
    }
    reply = { ok: true, outs };
  } catch (e) {
    reply = { ok: false, first: m.first, count: m.count, error: e instanceof Error ? e.message : String(e) };
    transfer.length = 0;
  }
  parentPort!.postMessage(reply, transfer);
});
