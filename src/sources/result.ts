/**
 * Operations on adapter results shared by the dispatcher and the archive walker: attributing a result to one
 * host, and merging results.
 */
import type { EvidenceItem } from '../model/types.js';
import type { ObserveResult } from './input.js';
import { mergeLogs } from './records/tally.js';

/**
 * Every observation, evidence item and log summary attributed to `host`. `link` says, for a name the input gave,
 * why it is the same machine as `host` (or null when it is not known to be): those names become host links, so the
 * report can show them as the host's other names.
 */
export function forceHost(r: ObserveResult, host: string, link?: (name: string) => string | null): ObserveResult {
  const links = [...(r.hostLinks ?? [])];
  if (link) {
    const seen = new Set<string>([host.toLowerCase(), '']);
    for (const name of [...r.items.map((i) => i.host), ...r.logs.map((l) => l.host), ...r.observations.map((o) => o.host)]) {
      if (seen.has(name.toLowerCase())) continue;
      seen.add(name.toLowerCase());
      const why = link(name);
      if (why) links.push({ names: [name, host], why });
    }
  }
  const out: ObserveResult = {
    observations: r.observations.map((o) => ({ ...o, host })),
    items: r.items.map((i) => ({ ...i, host })),
    logs: mergeLogs(r.logs.map((l) => ({ ...l, host }))),
  };
  if (r.repositories) out.repositories = r.repositories.map((x) => ({ ...x, host }));
  if (r.state) out.state = r.state.map((s) => ({ ...s, host }));
  if (links.length) out.hostLinks = links;
  if (r.sigmaHits) out.sigmaHits = r.sigmaHits.map((x) => ({ ...x, host }));
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

/** `from` appended to `to` by a loop: `push(...from)` overflows the stack at some 120,000 elements (a file's observations). */
export function append<T>(to: T[], from: readonly T[]): void {
  for (const x of from) to.push(x);
}

/** `r` appended to `acc`. */
export function mergeInto(acc: ObserveResult, r: ObserveResult): void {
  append(acc.observations, r.observations);
  append(acc.items, r.items);
  append(acc.logs, r.logs);
  if (r.chains) {
    acc.chains ??= new Map();
    for (const [k, v] of r.chains) acc.chains.set(k, v);
  }
  if (r.state) append((acc.state ??= []), r.state);
  if (r.repositories) append((acc.repositories ??= []), r.repositories);
  if (r.hostLinks) append((acc.hostLinks ??= []), r.hostLinks);
  if (r.sigmaHits) append((acc.sigmaHits ??= []), r.sigmaHits);
}

/** `extra` appended to the detail of every evidence item of `r`. */
export function withDetail(r: ObserveResult, extra: string | null): ObserveResult {
  if (!extra) return r;
  return { ...r, items: r.items.map((i: EvidenceItem) => ({ ...i, detail: i.detail ? `${i.detail}; ${extra}` : extra })) };
}

/** A Velociraptor client host (`NAME (C.id)`) and a Computer name of its collection's logs: the same machine when the names agree (whole, or first labels). */
export function clientLink(client: string): (name: string) => string | null {
  const m = /^(.*) \((C\.[0-9a-f]+)\)$/i.exec(client);
  const base = (m ? m[1]! : client).toLowerCase();
  return (name: string): string | null => {
    const n = name.toLowerCase();
    return n === base || n.split('.')[0] === base.split('.')[0] ? `the logs of the Velociraptor collection of ${client} name it ${name}` : null;
  };
}
