/**
 * One input in, observations out: recognize the input by content (a container — zip, tar, gzip — or a format of
 * `formats/index.ts`: EVTX by its signature, the text formats by their first 64 KiB) and hand it to the reader. Anything unrecognized is `null`
 * (not evidence), never an error. Archives (`zip.ts`, `tar.ts`) receive {@link observeInput} itself to read
 * their members: they never import this module, so there is no import cycle.
 */
import { gunzipSync, constants as zc } from 'node:zlib';
import { TimeBudgetError } from './budget.js';
import type { EvidenceInput, ObserveContext, ObserveResult } from './input.js';
import { headText } from './input.js';
import { ADAPTERS, BINARY_ADAPTERS, detectAdapter, detectBinaryAdapter, detectionHead } from './formats/index.js';
import { forceHost } from './result.js';
import { isTarHeader, observeTar } from './containers/tar.js';
import { observeZip } from './containers/zip.js';
import { chargedChunks, enterArchive, errorText, nestedContext } from './containers/archive.js';
import { inflateChunks, LimitError, withMaterialized } from './containers/inflate.js';

export { forceHost } from './result.js';

/** A container, or the format adapter (binary or text) that reads the input. */
export type InputKind = 'zip' | 'tar' | 'tar-gzip' | 'gzip' | { adapter: string } | null;

const HEAD = 65536;

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

function gunzipHead(b: Buffer): Buffer | null {
  try {
    return gunzipSync(b, { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: HEAD });
  } catch (e) {
    // a head that decompresses to more than HEAD bytes is fine: inflate less input (4 KiB of deflate data
    // inflates to at most about 4 MiB) and take what fits
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      try {
        return gunzipSync(b.subarray(0, 4096), { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: 8 << 20 }).subarray(0, HEAD);
      } catch {
        return null;
      }
    }
    return null;
  }
}

/** What kind of evidence the first bytes of an input show. */
export function classify(head: Buffer): InputKind {
  const binary = detectBinaryAdapter(head);
  if (binary) return { adapter: binary.format };
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
  if (isTarHeader(head)) return 'tar';
  if (isGzip(head)) {
    const inner = gunzipHead(head);
    if (!inner) return null;
    if (isTarHeader(inner)) return 'tar-gzip';
    return detectBinaryAdapter(inner) || detectAdapter(headText(inner)) ? 'gzip' : null;
  }
  const a = detectAdapter(headText(head));
  return a ? { adapter: a.format } : null;
}

/** Read one input; null when it is not evidence wmiscope reads. `path` = the input's file on disk, when it has one. */
export async function observeInput(input: EvidenceInput, ctx: ObserveContext, path?: string): Promise<ObserveResult | null> {
  const head = await detectionHead(input, await input.head(HEAD));
  const kind = classify(head);
  if (kind === null) return null;
  const withHost = (r: ObserveResult): ObserveResult => (ctx.host ? forceHost(r, ctx.host, ctx.hostLink) : r);
  if (kind === 'zip') return observeZip(input, ctx, observeInput, path);
  if (kind === 'tar' || kind === 'tar-gzip') return observeTar(input, ctx, observeInput, { gzip: kind === 'tar-gzip', ...(path ? { path } : {}) });
  if (kind === 'gzip') {
    // one policy for every compressed input (containers/inflate.ts): streamed, bounded by ratio and size, held in
    // memory only when small, else read from a temporary file; a gzip is a container level (nesting, budget)
    const state = enterArchive(input, ctx, 'gzip');
    if (!state) return null;
    const inner = nestedContext(ctx, state);
    try {
      return await withMaterialized(input.name, chargedChunks(inflateChunks(input.chunks(), input.size), state), (data) => observeInput(data, inner, data.path));
    } catch (e) {
      // past the time budget: the input is given up as any other (not "does not decompress")
      if (e instanceof TimeBudgetError) throw e;
      const over = e instanceof LimitError;
      ctx.notes.add({ file: input.name, level: over ? 'warning' : 'error', code: over ? 'over-limit' : 'failed', message: over ? `${errorText(e)}; skipped` : `gzip data does not decompress (${errorText(e)})` });
      return null;
    }
  }
  const adapter = BINARY_ADAPTERS.find((a) => a.format === kind.adapter) ?? ADAPTERS.find((a) => a.format === kind.adapter)!;
  try {
    return withHost(await adapter.observe(input, ctx));
  } catch (e) {
    ctx.notes.add({ file: input.name, level: 'error', code: 'failed', message: `${adapter.format}: ${e instanceof Error ? e.message : String(e)}` });
    return null;
  }
}
