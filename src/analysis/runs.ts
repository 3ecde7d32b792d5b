/**
 * What a subscription demonstrably ran: the process starts (Sysmon 1, Security 4688) the graph tied to it
 * (graph.ts, "process starts"). Only records say "ran"; no record never says "did not run".
 */
import type { Observation, ProcessRun, Runs } from '../model/types.js';
import { recordIdOf } from '../model/subscription.js';
import { compareTimes } from '../model/time.js';

/** A process start tied to a subscription (the graph attaches no other process observation to one). */
export function isRun(o: Observation): boolean {
  return o.source === 'process' && o.action === 'executed';
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The runs among a subscription's observations, or null when none is tied to it. */
export function runsOf(observations: readonly Observation[]): Runs | null {
  const records: ProcessRun[] = observations
    .filter(isRun)
    .sort((a, b) => compareTimes(a.time, b.time))
    .map((o) => ({ file: o.file, recordId: recordIdOf(o.location), time: o.time, image: str(o.meta['Image']), commandLine: str(o.meta['CommandLine']), user: o.user, parent: str(o.meta['ParentImage']) }));
  if (!records.length) return null;
  const times = records.map((r) => r.time).filter((t): t is string => t !== null);
  return { count: records.length, first: times[0] ?? null, last: times[times.length - 1] ?? null, records };
}
