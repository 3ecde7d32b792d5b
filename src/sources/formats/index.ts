/**
 * The registry of evidence formats: binary ones (EVTX) recognized by their first bytes, then text/JSON ones in
 * detection order (most specific first). Each format module owns its adapters; the dispatcher asks
 * {@link detectBinaryAdapter} and {@link detectAdapter} which one reads an input. The WMI repository is a set of
 * files in a folder, not one input: containers find it (`containers/layout.ts`) and `repository.ts` reads it.
 */
import type { Adapter, BinaryAdapter, EvidenceInput } from '../input.js';
import { headText } from '../input.js';
import { evtxAdapter } from './evtx.js';
import { adapters as collector } from './collector.js';
import { adapters as velociraptor } from './velociraptor.js';
import { adapters as autoruns } from './autoruns.js';
import { adapters as exports } from './exports.js';

export const BINARY_ADAPTERS: readonly BinaryAdapter[] = [evtxAdapter];

export const ADAPTERS: readonly Adapter[] = [...collector, ...velociraptor, ...autoruns, ...exports];

/** The binary adapter whose signature `head` starts with, or null. */
export function detectBinaryAdapter(head: Buffer): BinaryAdapter | null {
  return BINARY_ADAPTERS.find((a) => a.detectBytes(head)) ?? null;
}

/** The adapter that reads a text input whose first 64 KiB decode to `head`, or null. */
export function detectAdapter(head: string): Adapter | null {
  const t = head.replace(/^\s+/, '');
  if (!t) return null;
  for (const a of ADAPTERS) {
    try {
      if (a.detect(t)) return a;
    } catch {
      // a detector never throws on odd input; if one does, it does not claim the input
    }
  }
  return null;
}

/** Most bytes read to recognize an input whose first record does not fit in the usual head. */
export const MAX_DETECTION_HEAD = 16 * 1024 * 1024;

/**
 * The head to recognize `input` by: `head` (its first bytes, as the dispatcher read them) or, when that is text
 * that no adapter recognizes and one says is cut inside its first record ({@link Adapter.cutShort}), a longer
 * head, four times longer each time, up to {@link MAX_DETECTION_HEAD} bytes. Only an input that starts like an
 * export but does not finish its first record in the head costs more than one read.
 */
export async function detectionHead(input: EvidenceInput, head: Buffer): Promise<Buffer> {
  let b = head;
  while (b.length > 0 && b.length < input.size && b.length < MAX_DETECTION_HEAD && !detectBinaryAdapter(b)) {
    const text = headText(b).replace(/^\s+/, '');
    // the cheap test first: most inputs (binary, containers, text of other shapes) stop here after a few characters
    if (!ADAPTERS.some((a) => a.cutShort?.(text)) || detectAdapter(text)) break;
    const longer = await input.head(Math.min(MAX_DETECTION_HEAD, b.length * 4));
    if (longer.length <= b.length) break;
    b = longer;
  }
  return b;
}
