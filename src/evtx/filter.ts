/** Record filters (EvtxFilter) compiled once into sets, evaluated field by field, cheapest first. */
import type { EvtxRecord } from './record.js';
import type { EvtxFilter } from './types.js';

/** Compiled filter: sets for O(1) checks. */
export interface CompiledFilter {
  ids: Set<number> | null;
  channels: Set<string> | null;
  providers: Set<string> | null;
}

const compiledFilters = new WeakMap<EvtxFilter, CompiledFilter | null>();

export function compileFilter(f: EvtxFilter | undefined): CompiledFilter | null {
  if (!f) return null;
  const cached = compiledFilters.get(f);
  if (cached !== undefined) return cached;
  const c = buildFilter(f);
  compiledFilters.set(f, c);
  return c;
}

function buildFilter(f: EvtxFilter): CompiledFilter | null {
  const ids = f.eventIds && f.eventIds.length ? new Set(f.eventIds) : null;
  const channels = f.channels && f.channels.length ? new Set(f.channels.map((c) => c.toLowerCase())) : null;
  const providers = f.providers && f.providers.length ? new Set(f.providers.map((c) => c.toLowerCase())) : null;
  if (!ids && !channels && !providers) return null;
  return { ids, channels, providers };
}

/** Evaluated field by field, cheapest first, decoding only what the filter asks about. */
export function matches(f: CompiledFilter, r: EvtxRecord): boolean {
  if (f.ids) {
    const id = r.eventId;
    if (id === null || !f.ids.has(id)) return false;
  }
  if (f.channels) {
    const c = r.channel;
    if (c === null || !f.channels.has(c.toLowerCase())) return false;
  }
  if (f.providers) {
    const p = r.provider;
    if (p === null || !f.providers.has(p.toLowerCase())) return false;
  }
  return true;
}
