/** Worker thread body for {@link renderFileChunks}: renders the chunk slots it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { EvtxReader } from './reader.js';
import { renderChunk } from './chunks.js';
import type { RenderChunkOptions } from './chunks.js';
import type { WorkerReply, WorkerRequest } from './parallel.js';

const { path, opts } = workerData as { path: string; opts: RenderChunkOptions };
const reader = EvtxReader.open(path, opts.file !== undefined ? { name: opts.file } : {});
reader.warnings.length = 0; // header warnings are reported once, by the main thread

parentPort!.on('message', (m: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { ok: true, out: renderChunk(reader, m.slot, opts) };
  } catch (e) {
    reply = { ok: false, slot: m.slot, error: e instanceof Error ? e.message : String(e) };
  }
  const bytes = reply.ok ? reply.out.bytes : undefined;
  // encoded output is moved, not copied, to the main thread
  parentPort!.postMessage(reply, bytes && bytes.byteLength > 0 && bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength ? [bytes.buffer as ArrayBuffer] : []);
});
