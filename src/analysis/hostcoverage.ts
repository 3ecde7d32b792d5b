/**
 * Evidence coverage per host: which telemetry the evidence holds (Sysmon 19-21, WMI-Activity 5857-5861,
 * PowerShell, process creation, repository, live listings, exports), each log's record span and whether it
 * rolled over, the repository's time span, and what follows from it in words. `wmiscope coverage` prints it;
 * `scan` derives each finding's "missed by" from it (see {@link hostSources}).
 */
import type { EvidenceItem, HostCoverage, LogCoverage, LogSummary, RepositoryCoverage, RepositorySummary } from '../model/types.js';
import { isoBefore } from './graph.js';
import type { HostSources, RolledOver } from './graph.js';
import { WMI_EVENT_IDS } from '../model/wmi.js';

export function channelSource(channel: string): LogCoverage['source'] {
  if (/^Microsoft-Windows-Sysmon\/Operational$/i.test(channel)) return 'sysmon';
  if (/^Microsoft-Windows-WMI-Activity\//i.test(channel)) return 'wmi-activity';
  if (/PowerShell/i.test(channel)) return 'powershell';
  if (/^Security$/i.test(channel)) return 'security';
  return 'other';
}

function rollOver(format: EvidenceItem['kind'], full: boolean | undefined, oldest: number | null): Pick<LogCoverage, 'rolledOver' | 'rolledOverWhy'> {
  if (format === 'evtx' && full) return { rolledOver: 'yes', rolledOverWhy: 'the EVTX file header marks the log full: new records overwrite the oldest' };
  if (oldest === null) return { rolledOver: 'unknown', rolledOverWhy: 'no record numbers to tell' };
  if (oldest > 1) {
    return {
      rolledOver: 'likely',
      rolledOverWhy:
        format === 'evtx'
          ? `the oldest record is #${oldest}: records before it are gone (the log wrapped, was cleared, or this file is a filtered export)`
          : `the oldest exported record is #${oldest}: earlier records were overwritten or cleared, or the export was filtered`,
    };
  }
  return { rolledOver: 'no', rolledOverWhy: 'holds the log from its first record (#1)' };
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
  return [...all.values()].sort((a, b) => a.localeCompare(b)).map((host) => {
    const mine = <T extends { host: string }>(xs: T[]): T[] => xs.filter((x) => key(x.host) === key(host));
    const lc: LogCoverage[] = [];
    for (const l of mine(logs)) {
      const per = l.perChannel ?? l.channels.map((channel) => ({ channel, records: 0, first: null, last: null, eventIds: l.eventIds, oldestRecordId: null, newestRecordId: null }));
      for (const c of per) {
        if (!c.channel) continue;
        const format = l.kind ?? 'export';
        lc.push({
          source: channelSource(c.channel),
          channel: c.channel,
          file: l.file ?? '',
          format,
          records: c.records,
          first: c.first,
          last: c.last,
          wmiEventIds: c.eventIds.filter((i) => WMI_EVENT_IDS.includes(i)),
          oldestRecordId: c.oldestRecordId,
          ...rollOver(format, l.full, c.oldestRecordId),
        });
      }
    }
    lc.sort((a, b) => a.source.localeCompare(b.source) || a.channel.localeCompare(b.channel) || a.file.localeCompare(b.file));
    const repos: RepositoryCoverage[] = mine(repositories).map((r) => {
      const times = r.files.map((f) => f.modified).sort();
      return { file: r.file, objectsFirst: r.objectsFirst, objectsLast: r.objectsLast, filesModifiedFirst: times[0] ?? null, filesModifiedLast: times[times.length - 1] ?? null };
    });
    const items = mine(evidence);
    const live: HostCoverage['live'] = [];
    for (const e of items) {
      if (e.kind === 'collector') live.push({ source: 'collector', file: e.file });
      else if (e.kind === 'autoruns' || (e.kind === 'velociraptor' && /Autoruns/i.test(e.detail))) live.push({ source: 'autoruns', file: e.file });
      else if (e.kind === 'velociraptor' && /PermanentWMIEvents/i.test(e.detail)) live.push({ source: 'velociraptor', file: e.file });
      else if (e.kind === 'velociraptor' && /WMIEventing/i.test(e.detail)) live.push({ source: 'wmi-trace', file: e.file });
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

function logSpan(c: HostCoverage, s: LogCoverage['source']): { first: string | null; last: string | null; rolled: RolledOver; why: string } {
  const ls = c.logs.filter((l) => l.source === s);
  const firsts = ls.map((l) => l.first).filter((x): x is string => !!x).sort();
  const lasts = ls.map((l) => l.last).filter((x): x is string => !!x).sort();
  // the source lost its oldest records only when none of its logs starts at record #1 (one full copy is enough)
  const lost = ls.length > 0 && ls.every((l) => l.rolledOver === 'yes' || l.rolledOver === 'likely');
  const rolled: RolledOver = !lost ? false : ls.some((l) => l.rolledOver === 'yes') ? 'yes' : 'likely';
  const why = (ls.find((l) => l.rolledOver === 'yes') ?? ls[0])?.rolledOverWhy ?? '';
  return { first: firsts[0] ?? null, last: lasts[lasts.length - 1] ?? null, rolled, why };
}

/** What the host's evidence cannot show, in words. */
export function blindSpots(c: HostCoverage): string[] {
  const out: string[] = [];
  const state = c.repositories.length > 0 || c.live.some((l) => l.source !== 'wmi-trace');
  if (!c.sysmon.present) out.push('No Sysmon log: no record (19/20/21) of subscriptions being created, modified or deleted in root\\subscription.');
  else {
    const s = logSpan(c, 'sysmon');
    if (!c.sysmon.wmiEventIds.length)
      out.push(`The Sysmon log holds no WMI events (19/20/21) in ${span(s.first, s.last)}: its configuration may not log them (check it with \`wmiscope sysmon audit\`), nothing happened then, or they rolled over.`);
    out.push('Sysmon sees only root\\subscription and only CommandLine and ActiveScript consumers: subscriptions in other namespaces or with other consumer classes are never in its log.');
    if (s.rolled) out.push(`The Sysmon log covers only ${span(s.first, s.last)} (${s.why}): anything earlier ${s.rolled === 'yes' ? 'is' : 'may be'} missing from it.`);
  }
  if (!c.wmiActivity.present) out.push('No WMI-Activity/Operational log: no 5861 (permanent binding, every namespace) or 5859 (filter activation) records.');
  else {
    const s = logSpan(c, 'wmi-activity');
    if (!c.wmiActivity.ids.includes(5861)) out.push(`The WMI-Activity log holds no 5861 in ${span(s.first, s.last)}: Windows before 10 / Server 2016 does not write it, no binding was made then, or it rolled over.`);
    if (s.rolled) out.push(`The WMI-Activity log covers only ${span(s.first, s.last)} (${s.why}): anything earlier ${s.rolled === 'yes' ? 'is' : 'may be'} missing from it.`);
  }
  if (!c.powershell.present) out.push('No PowerShell log: subscriptions made from PowerShell (Set-WmiInstance, New-CimInstance, Register-WmiEvent) leave no script-block record here.');
  if (!c.processCreation.security4688 && !c.processCreation.sysmon1) out.push('No process-creation records (Security 4688 or Sysmon 1): what a consumer ran (children of WmiPrvSE.exe or scrcons.exe) cannot be seen.');
  if (!state) out.push('No WMI repository and no live listing: subscriptions that exist but were never logged (created before logging began, outside root\\subscription, other consumer classes) cannot be seen, and deletions cannot be confirmed.');
  else if (!c.repositories.length) out.push('No WMI repository: carved residue of deleted subscriptions and namespaces the live listing skipped cannot be seen.');
  const logStart = minTime(c.logs.filter((l) => l.source === 'sysmon' || l.source === 'wmi-activity').map((l) => l.first));
  const objFirst = minTime(c.repositories.map((r) => r.objectsFirst));
  if (logStart && objFirst && isoBefore(objFirst, logStart)) out.push(`The repository holds subscription objects from ${objFirst}, before the oldest WMI log record here (${logStart}): how and by whom they were made is not in these logs.`);
  return out;
}

/** The per-source facts the subscription coverage ("seen by / missed by") needs. */
export function hostSources(c: HostCoverage | undefined): HostSources {
  if (!c) return { sysmon: { present: false, wmiEvents: false }, wmiActivity: { present: false, ids: [] }, powershell: false, repository: false };
  const s = logSpan(c, 'sysmon');
  const w = logSpan(c, 'wmi-activity');
  return {
    sysmon: { present: c.sysmon.present, wmiEvents: c.sysmon.wmiEventIds.length > 0, first: s.first, rolledOver: s.rolled },
    wmiActivity: { present: c.wmiActivity.present, ids: c.wmiActivity.ids, first: w.first, rolledOver: w.rolled },
    powershell: c.powershell.present,
    repository: c.repositories.length > 0,
    collector: c.live.some((l) => l.source === 'collector'),
    velociraptor: c.live.some((l) => l.source === 'velociraptor'),
    autoruns: c.live.some((l) => l.source === 'autoruns'),
    trace: c.live.some((l) => l.source === 'wmi-trace'),
  };
}
