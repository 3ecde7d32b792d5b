/** Worker thread body for {@link renderFileChunks}: renders the chunk slots it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { EvtxReader } from './reader.js';
import { renderChunk } from './chunks.js';
import type { ChunkOutput, RenderChunkOptions, WorkerReply, WorkerRequest } from './chunks.js';

const { path, opts } = workerData as { path: string; opts: RenderChunkOptions };
const reader = EvtxReader.open(path, opts.file !== undefined ? { name: opts.file } : {});
reader.warnings.length = 0; // header warnings are reported once, by the main thread

parentPort!.on('message', (m: WorkerRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const outs: ChunkOutput[] = [];
    for (let s = m.first; s < m.first + m.count; s++) {
      const out = renderChunk(reader, s, opts);
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
