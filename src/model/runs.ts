/**
 * What a subscription demonstrably ran: the process starts (Sysmon 1, Security 4688) the graph tied to it
 * (analysis/graph.ts, "process start"). Only records say "ran"; no record never says "did not run".
 */
import type { Observation, ProcessRun, Runs } from './types.js';
import { recordIdOf } from './subscription.js';
import { compareTimes } from './time.js';

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

/** "ran once, at A" / "ran N times between A and B", the words every report uses. */
export function ranText(runs: Runs): string {
  if (runs.count === 1) return runs.first ? `ran once, at ${runs.first}` : 'ran once (the record carries no time)';
  if (!runs.first || !runs.last) return `ran ${runs.count} times (the records carry no times)`;
  return `ran ${runs.count} times between ${runs.first} and ${runs.last}`;
}

/** The last part of a Windows or POSIX path (an image or evidence file name, for a one-line mention). */
export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/')) + 1);
}
