/**
 * The registry of text/JSON evidence formats, in detection order (most specific first). Each format module
 * owns its adapters; discovery and zip reading ask {@link detectAdapter} which one reads an input.
 */
import type { Adapter } from './input.js';
import { adapters as collector } from './collector.js';
import { adapters as velociraptor } from './velociraptor.js';
import { adapters as autoruns } from './autoruns.js';
import { adapters as exports } from './exports.js';

export const ADAPTERS: readonly Adapter[] = [...collector, ...velociraptor, ...autoruns, ...exports];

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
