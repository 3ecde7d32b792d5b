/**
 * Evidence coverage per host: which telemetry the evidence holds (Sysmon 19-21, WMI-Activity 5857-5861,
 * PowerShell, process creation, repository, live listings, exports), each log's record span and completeness
 * (complete since #1, rolled over, excerpt, unknown: from its EventRecordIDs and header), the repository's time
 * span, and what follows from it in words. `wmiscope coverage` prints it; `scan` derives each finding's "missed
 * by" from it (see {@link hostSources}) and counts the stacking denominator with {@link canShowSubscriptions}.
 * What each source can see comes from the source table (model/sources.ts).
 */
import { SOURCES, sourceOf } from '../model/sources.js';
import type { ChannelSummary, EvidenceItem, HostCoverage, LogCoverage, LogSummary, RepositoryCoverage, RepositorySummary, SourceKind } from '../model/types.js';
import { WMI_EVENT_IDS } from '../model/wmi.js';
import { isoBefore, logKind } from './graph.js';
import type { HostSources } from './graph.js';
import { compareName, compareText } from '../model/order.js';

export function channelSource(channel: string): LogCoverage['source'] {
  if (/^Microsoft-Windows-Sysmon\/Operational$/i.test(channel)) return 'sysmon';
  if (/^Microsoft-Windows-WMI-Activity\//i.test(channel)) return 'wmi-activity';
  if (/PowerShell/i.test(channel)) return 'powershell';
  if (/^Security$/i.test(channel)) return 'security';
  return 'other';
}

/**
 * How much of its log a channel of one file holds, from the facts the reader gathered (EventRecordIDs are
 * `System/EventRecordID`, never the EVTX record-header number):
 * - `excerpt`: an EVTX whose record headers were renumbered (exported or filtered), or ids missing inside the range;
 * - `complete`: ids contiguous from #1;
 * - `rolled-over`: the EVTX header marks the log full, or a native (not renumbered) EVTX whose ids run contiguously
 *   from #N > 1 (earlier records were overwritten or cleared);
 * - `unknown`: no records, no ids, ids not counted, or an export whose ids start after #1 without a gap (rolled over
 *   or cut by the export: it cannot be told).
 */
export function completeness(format: EvidenceItem['kind'], full: boolean | undefined, c: ChannelSummary): Pick<LogCoverage, 'completeness' | 'completenessWhy'> {
  if (c.records === 0 && c.recovered) return { completeness: 'unknown', completenessWhy: `only ${c.recovered} record${c.recovered === 1 ? '' : 's'} carved from slack: the log's own records are not in this file` };
  if (c.records === 0) return { completeness: 'unknown', completenessWhy: 'present, 0 records' };
  if (c.log) {
    // the file's records of this channel name several computers: the log is judged whole, this host's part with it
    const { names, ...log } = c.log;
    const w = completeness(format, full, { ...c, ...log, log: undefined });
    return { completeness: w.completeness, completenessWhy: `${w.completenessWhy} (the whole log in this file: its records name ${names} computers)` };
  }
  const lo = c.oldestRecordId;
  const hi = c.newestRecordId ?? lo;
  if (lo === null || hi === null || !Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) return { completeness: 'unknown', completenessWhy: 'no record ids to tell' };
  const evtx = format === 'evtx';
  const range = hi - lo + 1;
  // distinct ids: counted by the reader; else one id when the range is one; else, in a native EVTX (headers =
  // ids), one per record. Fewer records than the range also proves ids missing (a record has at most one id).
  const distinct = typeof c.distinctRecordIds === 'number' ? c.distinctRecordIds : range === 1 ? 1 : evtx && c.renumbered === false ? c.records : null;
  const missing = distinct !== null ? range - distinct : c.records < range ? range - c.records : 0;
  const why: string[] = [];
  if (evtx && c.renumbered === true) why.push(`record headers renumbered while EventRecordIDs run #${lo}–#${hi}`);
  if (missing > 0) why.push(`${distinct !== null ? missing : `at least ${missing}`} of the ids #${lo}–#${hi} missing`);
  if (why.length) return { completeness: 'excerpt', completenessWhy: `excerpt or filtered export (${why.join('; ')})` };
  const contiguous = distinct !== null && distinct >= range;
  if (contiguous && lo === 1) return { completeness: 'complete', completenessWhy: 'complete since #1' };
  if (evtx && full && lo > 1) return { completeness: 'rolled-over', completenessWhy: `rolled over (oldest #${lo}): the EVTX file header marks the log full, new records overwrite the oldest` };
  if (!contiguous) return { completeness: 'unknown', completenessWhy: `ids #${lo}–#${hi} not counted: whether any are missing cannot be told` };
  if (evtx && c.renumbered === false) return { completeness: 'rolled-over', completenessWhy: `rolled over (oldest #${lo}): records before it are gone, the log wrapped or was cleared` };
  return { completeness: 'unknown', completenessWhy: `ids run from #${lo} without a gap: whether earlier records rolled over or the export left them out cannot be told` };
}

const span = (a: string | null, b: string | null): string => (a && b ? (a === b ? a : `${a} – ${b}`) : a ?? b ?? 'no record times');

function minTime(xs: Array<string | null>): string | null {
  return xs.filter((x): x is string => !!x).sort()[0] ?? null;
}

/** Coverage of every host named in the evidence (hosts with no evidence item are listed with nothing present). */
export function hostCoverage(hosts: string[], evidence: EvidenceItem[], logs: LogSummary[], repositories: RepositorySummary[]): HostCoverage[] {
  const key = (h: string): string => h.toLowerCase();
  const all = new Map<string, string>();
  for (const h of [...hosts, ...evidence.map((e) => e.host), ...logs.map((l) => l.host), ...repositories.map((r) => r.host)]) if (h && !all.has(key(h))) all.set(key(h), h);
  return [...all.values()].sort(compareName).map((host) => {
    const mine = <T extends { host: string }>(xs: T[]): T[] => xs.filter((x) => key(x.host) === key(host));
    const lc: LogCoverage[] = [];
    for (const l of mine(logs)) {
      const per: ChannelSummary[] = l.perChannel ?? l.channels.map((channel) => ({ channel, records: 0, first: null, last: null, eventIds: l.eventIds, oldestRecordId: null, newestRecordId: null }));
      for (const c of per) {
        if (!c.channel) continue;
        const format = l.kind ?? 'export';
        lc.push({
          source: channelSource(c.channel),
          channel: c.channel,
          ...(c.channelFrom ? { channelFrom: c.channelFrom } : {}),
          file: l.file ?? '',
          format,
          records: c.records,
          first: c.first,
          last: c.last,
          wmiEventIds: c.eventIds.filter((i) => WMI_EVENT_IDS.includes(i)),
          oldestRecordId: c.oldestRecordId,
          newestRecordId: c.newestRecordId,
          ...completeness(format, l.full, c),
          ...(c.recovered ? { recovered: c.recovered } : {}),
        });
      }
    }
    lc.sort((a, b) => compareText(a.source, b.source) || compareText(a.channel, b.channel) || compareText(a.file, b.file));
    const repos: RepositoryCoverage[] = mine(repositories).map((r) => {
      const times = r.files.map((f) => f.modified).sort();
      return { file: r.file, objectsFirst: r.objectsFirst, objectsLast: r.objectsLast, filesModifiedFirst: times[0] ?? null, filesModifiedLast: times[times.length - 1] ?? null, ...(r.withoutObjects ? { withoutObjects: true as const } : {}) };
    });
    const items = mine(evidence);
    const live: HostCoverage['live'] = [];
    for (const e of items)
      for (const source of e.sources ?? [])
        if (source === 'collector' || source === 'velociraptor' || source === 'autoruns' || source === 'wmi-trace') {
          if (!live.some((l) => l.source === source && l.file === e.file)) live.push({ source, file: e.file, ...(e.partial ? { partial: true as const } : {}) });
        }
    const ids = (s: LogCoverage['source']): number[] => [...new Set(lc.filter((l) => l.source === s).flatMap((l) => l.wmiEventIds))].sort((a, b) => a - b);
    const has = (s: LogCoverage['source']): boolean => lc.some((l) => l.source === s);
    const c: HostCoverage = {
      host,
      sysmon: { present: has('sysmon'), wmiEventIds: ids('sysmon').filter((i) => i >= 19 && i <= 21) },
      wmiActivity: { present: has('wmi-activity'), ids: ids('wmi-activity').filter((i) => i >= 5857 && i <= 5861) },
      powershell: { present: has('powershell'), ids: ids('powershell') },
      processCreation: { security4688: ids('security').includes(4688), sysmon1: ids('sysmon').includes(1) },
      logs: lc,
      repositories: repos,
      live,
      exports: [...new Set(items.filter((e) => e.kind === 'export').map((e) => e.file))],
      blindSpots: [],
    };
    c.blindSpots = blindSpots(c);
    return c;
  });
}

/**
 * The kinds of evidence a host has. `withRecords`: only logs that hold records (an empty log was collected, but
 * shows nothing).
 */
export function suppliedKinds(c: HostCoverage, withRecords = false): SourceKind[] {
  const out = new Set<SourceKind>();
  for (const l of c.logs) {
    const k = logKind(l.source);
    if (k && (!withRecords || l.records > 0)) out.add(k);
  }
  if (c.processCreation.security4688 || c.processCreation.sysmon1) out.add('process');
  // with records: a repository read without OBJECTS.DATA holds none (keys only), like a log of 0 records
  if (c.repositories.some((r) => !withRecords || r.withoutObjects !== true)) {
    out.add('cim');
    out.add('cim-residue');
  }
  for (const l of c.live) out.add(l.source);
  return [...out];
}

/**
 * Whether the host's evidence can show a subscription at all (a repository, a live listing, a Sysmon or
 * WMI-Activity log with records, …: `showsSubscriptions` in the source table). Hosts that cannot (a Security log
 * only) do not count in the stacking denominator.
 */
export function canShowSubscriptions(c: HostCoverage): boolean {
  return suppliedKinds(c, true).some((k) => SOURCES[k].showsSubscriptions);
}

/** What the host's logs of one source say about their completeness, in words (nothing when a complete log is among them). */
function completenessSpots(c: HostCoverage, s: LogCoverage['source'], name: string): string[] {
  const ls = c.logs.filter((l) => l.source === s && l.records > 0);
  if (!ls.length || ls.some((l) => l.completeness === 'complete')) return [];
  const out: string[] = [];
  const rolled = ls.filter((l) => l.completeness === 'rolled-over');
  if (rolled.length) {
    // the oldest record any of them keeps bounds what is missing
    const first = minTime(ls.map((l) => l.first));
    const last = ls.map((l) => l.last).filter((x): x is string => !!x).sort().at(-1) ?? null;
    out.push(`The ${name} covers only ${span(first, last)} (${rolled[0]!.completenessWhy}): anything earlier is missing from it.`);
  }
  // several logs of one source (Windows PowerShell and PowerShell/Operational in one file): each named by its channel
  const channels = new Set(ls.map((l) => l.channel.toLowerCase()));
  for (const l of ls.filter((x) => x.completeness === 'excerpt'))
    out.push(`The ${name}${channels.size > 1 ? ` (${l.channel})` : ''} spanning ${span(l.first, l.last)} is an ${l.completenessWhy}: a record missing from it proves nothing.`);
  if (!rolled.length && ls.every((l) => l.completeness === 'unknown'))
    out.push(`Whether the ${name} holds every record of its span cannot be told (${ls[0]!.completenessWhy}): a record missing from it proves nothing.`);
  return out;
}

/** What the host's evidence cannot show, in words (the sentences of the source table, and each log's completeness). */
export function blindSpots(c: HostCoverage): string[] {
  const out: string[] = [];
  const logged = (s: LogCoverage['source']): LogCoverage[] => c.logs.filter((l) => l.source === s);
  const spanOf = (s: LogCoverage['source']): string => {
    const ls = logged(s);
    const last = ls.map((l) => l.last).filter((x): x is string => !!x).sort().at(-1) ?? null;
    return span(minTime(ls.map((l) => l.first)), last);
  };
  const each: Array<{ kind: SourceKind; source: LogCoverage['source']; name: string; own?: () => string | null }> = [
    {
      kind: 'sysmon',
      source: 'sysmon',
      name: 'Sysmon log',
      own: () =>
        c.sysmon.wmiEventIds.length
          ? null
          : `The Sysmon log holds no WMI events (19/20/21) in ${spanOf('sysmon')}: its configuration may not log them (check it with \`wmiscope sysmon audit\`), nothing happened then${c.logs.some((l) => l.source === 'sysmon' && l.records > 0 && l.completeness !== 'complete' && l.completeness !== 'rolled-over') ? ', or this excerpt left them out' : ''}.`,
    },
    {
      kind: 'wmi-activity',
      source: 'wmi-activity',
      name: 'WMI-Activity log',
      own: () => (c.wmiActivity.ids.includes(5861) ? null : `The WMI-Activity log holds no 5861 in ${spanOf('wmi-activity')}: Windows before 10 / Server 2016 does not write it, no binding was made then, or it rolled over.`),
    },
    { kind: 'powershell', source: 'powershell', name: 'PowerShell log' },
  ];
  for (const e of each) {
    const ls = logged(e.source);
    const d = sourceOf(e.kind);
    if (!ls.length) {
      if (d.absent) out.push(d.absent);
      continue;
    }
    if (ls.every((l) => l.records === 0)) {
      const carved = ls.reduce((n, l) => n + (l.recovered ?? 0), 0);
      out.push(
        carved
          ? `The ${e.name} is known here only from ${carved} record${carved === 1 ? '' : 's'} carved from the slack of another log file: its own records were not collected, so it proves nothing by what it lacks.`
          : `The ${e.name} was collected but holds no records (present, 0 records): it shows nothing.`,
      );
      continue;
    }
    const own = e.own?.();
    if (own) out.push(own);
    if (d.limits) out.push(d.limits);
    out.push(...completenessSpots(c, e.source, e.name));
  }
  if (!c.processCreation.security4688 && !c.processCreation.sysmon1 && SOURCES.process.absent) out.push(SOURCES.process.absent);
  const state = c.repositories.length > 0 || c.live.some((l) => sourceOf(l.source).state === 'live');
  if (!state) out.push('No WMI repository and no live listing: subscriptions that exist but were never logged (created before logging began, outside root\\subscription, other consumer classes) cannot be seen, and deletions cannot be confirmed.');
  else if (!c.repositories.length) out.push('No WMI repository: carved residue of deleted subscriptions and namespaces the live listing skipped cannot be seen.');
  const logStart = minTime(c.logs.filter((l) => l.source === 'sysmon' || l.source === 'wmi-activity').map((l) => l.first));
  const objFirst = minTime(c.repositories.map((r) => r.objectsFirst));
  if (logStart && objFirst && isoBefore(objFirst, logStart)) out.push(`The repository holds subscription objects from ${objFirst}, before the oldest WMI log record here (${logStart}): how and by whom they were made is not in these logs.`);
  return out;
}

/** The per-source facts the subscription coverage ("seen by / missed by") needs. */
export function hostSources(c: HostCoverage | undefined): HostSources {
  if (!c) return { logs: [], supplied: [] };
  const keysOnly = c.repositories.length > 0 && c.repositories.every((r) => r.withoutObjects === true);
  return { logs: c.logs, supplied: suppliedKinds(c), ...(keysOnly ? { repositoryWithoutObjects: true } : {}) };
}
