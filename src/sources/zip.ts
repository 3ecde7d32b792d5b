/** Placeholder module: filled in by its owner in this change. */
import type { EvidenceInput, ObserveContext, ObserveResult } from './input.js';

export async function observeZip(input: EvidenceInput, ctx: ObserveContext, path?: string): Promise<ObserveResult | null> {
  void path;
  ctx.notes.push({ file: input.name, level: 'skipped', message: 'zip archives are not read yet' });
  return null;
}
