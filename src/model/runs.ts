/**
 * What a subscription demonstrably ran: the process starts (Sysmon 1, Security 4688, Velociraptor process rows) and
 * the WMI-Activity 5857 loads of scrcons.exe the graph tied to it
 * (analysis/graph.ts, "process start"). Only records say "ran"; no record never says "did not run".
 */
import type { Observation, ProcessRun, Runs } from './types.js';
import { recordIdOf } from './subscription.js';
import { canonicalTime, compareTimes, parseIsoTime } from './time.js';

/**
 * A process start tied to a subscription (the graph attaches no other executed process observation to one), or a
 * WMI-Activity 5857 load of `scrcons.exe` tied the same way: the script host ran.
 */
export function isRun(o: Observation): boolean {
  return (o.source === 'process' && o.action === 'executed') || isScriptHostLoad(o);
}

/** WMI-Activity 5857: `scrcons.exe`, the script consumer's host, loaded as a provider (its ProviderPath or HostProcess). */
export function isScriptHostLoad(o: Observation): boolean {
  if (o.source !== 'wmi-activity' || o.action !== 'executed' || o.meta['eventId'] !== 5857) return false;
  return [o.meta['ProviderPath'], o.meta['HostProcess']].some((v) => typeof v === 'string' && /(^|[\\/\s=])scrcons\.exe$/i.test(v.trim()));
}

const LOAD = 'WMI-Activity 5857';

/**
 * A `mofcomp.exe` start the graph shows beside a subscription created shortly after it (analysis/graph.ts,
 * MOFCOMP_WINDOW_MS): context, never a run — the log does not say which objects the MOF held.
 */
export function isMofcompContext(o: Observation): boolean {
  return o.source === 'process' && o.action === 'mentioned' && typeof o.meta['SecondsBeforeCreation'] === 'number';
}

/** What a run's record is, in words (`Sysmon 1`, `Security 4688`, `WMI-Activity 5857`, or the row kind its source named). */
function kindOf(o: Observation): string {
  if (typeof o.meta['RowKind'] === 'string') return o.meta['RowKind'];
  if (o.source === 'wmi-activity') return LOAD;
  return o.meta['eventId'] === 4688 ? 'Security 4688' : o.meta['eventId'] === 1 ? 'Sysmon 1' : 'process start';
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * Records closer than this are looked at as one process start seen by several logs (Sysmon 1 and Security 4688 are
 * written by the same process creation, milliseconds apart; exports may time them by their arrival, seconds apart).
 */
export const SAME_RUN_MS = 10_000;
/** How many runs still open (within {@link SAME_RUN_MS}) a record is compared with: bounds the work on packed logs. */
const LOOK_BACK = 64;

const pidOf = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);

/**
 * The runs among a subscription's observations, or null when none is tied to it. Records of one process start are
 * one run: a Sysmon 1 and a Security 4688 of the same image with the same process id within {@link SAME_RUN_MS}; a
 * WMI-Activity 5857 load of scrcons.exe within that of a scrcons.exe start (the provider starting in it). Two records
 * of the same kind are never one run, nor are records without a time or a process id to compare; so the count may
 * only err high (a start seen by two logs not recognised as one), never merge two starts one log shows apart.
 */
export function runsOf(observations: readonly Observation[]): Runs | null {
  const tied = observations.filter(isRun).sort((a, b) => compareTimes(a.time, b.time));
  if (!tied.length) return null;
  const records: ProcessRun[] = [];
  const open: Array<{ run: number; at: number; kinds: Set<string>; pid: number | null; image: string }> = [];
  let count = 0;
  for (const o of tied) {
    const kind = kindOf(o);
    const image = str(o.meta['Image']) ?? str(o.meta['ProviderPath']) ?? str(o.meta['HostProcess']);
    const base = baseName(image ?? '').toLowerCase();
    const pid = pidOf(o.meta['ProcessId']);
    const at = o.time === null ? null : parseIsoTime(canonicalTime(o.time));
    const load = isScriptHostLoad(o);
    let run: number | null = null;
    if (at !== null) {
      while (open.length && (at - open[0]!.at > SAME_RUN_MS || open.length > LOOK_BACK)) open.shift();
      const same = open.find((g) => {
        if (g.kinds.has(kind) || g.image !== base) return false;
        if (pid !== null && g.pid !== null) return g.pid === pid;
        // a 5857 load names no process id: it joins the scrcons.exe start near it (or that start joins it)
        const loadOnly = g.kinds.size === 1 && g.kinds.has(LOAD);
        return base === 'scrcons.exe' && (load || loadOnly);
      });
      if (same) {
        same.kinds.add(kind);
        if (same.pid === null) same.pid = pid;
        run = same.run;
      }
    }
    if (run === null) {
      run = ++count;
      if (at !== null) open.push({ run, at, kinds: new Set([kind]), pid, image: base });
    }
    records.push({
      file: o.file,
      recordId: recordIdOf(o.location),
      location: o.location,
      time: o.time,
      image,
      commandLine: str(o.meta['CommandLine']),
      user: o.user,
      parent: str(o.meta['ParentImage']),
      parentFrom: str(o.meta['ParentFrom']),
      processId: pid,
      kind,
      run,
    });
  }
  const times = records.map((r) => r.time).filter((t): t is string => t !== null);
  return { count, first: times[0] ?? null, last: times[times.length - 1] ?? null, records };
}

/** "ran once, at A" / "ran N times between A and B" (and how many records show it when more than one a run), the words every report uses. */
export function ranText(runs: Runs): string {
  const more = runs.records.length > runs.count ? ` (${runs.records.length} records: ${[...new Set(runs.records.map((r) => r.kind))].join(', ')})` : '';
  if (runs.count === 1) return (runs.first ? `ran once, at ${runs.first}` : 'ran once (the record carries no time)') + more;
  if (!runs.first || !runs.last) return `ran ${runs.count} times (the records carry no times)${more}`;
  return `ran ${runs.count} times between ${runs.first} and ${runs.last}${more}`;
}

/** `Sysmon 1, run 2 of 3: ` — what a run record is, for the line that cites it. */
export function runLabel(runs: Runs, r: ProcessRun): string {
  return `${r.kind}${runs.count > 1 ? `, run ${r.run} of ${runs.count}` : ''}: `;
}

/** The last part of a Windows or POSIX path (an image or evidence file name, for a one-line mention). */
export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/')) + 1);
}
