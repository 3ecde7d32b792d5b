/**
 * Operations on adapter results shared by the dispatcher and the archive walker: attributing a result to one
 * host, and merging results.
 */
import type { EvidenceItem } from '../model/types.js';
import type { ObserveResult } from './input.js';
import { mergeLogs } from './records.js';

/** Every observation, evidence item and log summary attributed to `host`. */
export function forceHost(r: ObserveResult, host: string): ObserveResult {
  const out: ObserveResult = {
    observations: r.observations.map((o) => ({ ...o, host })),
    items: r.items.map((i) => ({ ...i, host })),
    logs: mergeLogs(r.logs.map((l) => ({ ...l, host }))),
  };
  if (r.repositories) out.repositories = r.repositories.map((x) => ({ ...x, host }));
  if (r.state) out.state = r.state.map((s) => ({ ...s, host }));
  if (r.chains) {
    // keys are `host|namespace|class`; the host may hold `|`, namespace and class are taken from the right
    out.chains = new Map();
    for (const [k, v] of r.chains) {
      const parts = k.split('|');
      out.chains.set(`${host.toLowerCase()}|${parts.slice(-2).join('|')}`, v);
    }
  }
  return out;
}

/** `r` appended to `acc`. */
export function mergeInto(acc: ObserveResult, r: ObserveResult): void {
  acc.observations.push(...r.observations);
  acc.items.push(...r.items);
  acc.logs.push(...r.logs);
  if (r.chains) {
    acc.chains ??= new Map();
    for (const [k, v] of r.chains) acc.chains.set(k, v);
  }
  if (r.state) (acc.state ??= []).push(...r.state);
  if (r.repositories) (acc.repositories ??= []).push(...r.repositories);
  if (r.hostLinks) (acc.hostLinks ??= []).push(...r.hostLinks);
}

/** `extra` appended to the detail of every evidence item of `r`. */
export function withDetail(r: ObserveResult, extra: string | null): ObserveResult {
  if (!extra) return r;
  return { ...r, items: r.items.map((i: EvidenceItem) => ({ ...i, detail: i.detail ? `${i.detail}; ${extra}` : extra })) };
}
