/**
 * A Timesketch timeline: JSON lines, one per timed observation of every finding, with Timesketch's fields
 * (`message`, `datetime`, `timestamp_desc`, and `timestamp` in microseconds since the epoch, which older
 * Timesketch importers require) plus wmiscope's own (host, finding_id, severity, source, action, part,
 * namespace, class, name, file, location). Lines are ordered by time, ties in finding order.
 *
 * Observations without a time (most repository objects, residue) have no place on a timeline and are skipped,
 * as are times that are not ISO-8601 with a zone: guessing a zone for a forensic timeline would be worse than
 * leaving the event out. They are all still in the json / jsonl outputs, attached to their finding.
 */
import type { Finding, Observation, ScanResult, Severity, SourceKind } from '../model/types.js';
import { parseIsoTime } from '../model/time.js';
import { baseName, isMofcompContext, isRun, isScriptHostLoad } from '../model/runs.js';
import { jsonSafe } from './text.js';
import { powershellNotes } from '../model/subscription.js';
import { narrowFindings } from './select.js';
import type { Narrowing } from './select.js';

export interface TimelineEvent {
  message: string;
  datetime: string;
  timestamp: number;
  timestamp_desc: string;
  host: string;
  finding_id: string;
  severity: Severity;
  score: number;
  status: Finding['status'];
  source: SourceKind;
  action: Observation['action'];
  part: Observation['part'];
  namespace: string | null;
  class: string | null;
  name: string | null;
  user: string | null;
  file: string;
  location: string;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Microseconds since the epoch for an ISO-8601 time with zone, or null when it is not one. */
export function isoToMicros(iso: string): number | null {
  const m = ISO.exec(iso);
  // an impossible instant (February 30, hour 24, a zone over 23:59) is none: Date.parse would roll it into another
  if (!m || parseIsoTime(iso) === null) return null;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]}`);
  if (Number.isNaN(ms)) return null;
  const frac = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  return ms * 1000 + Number(frac);
}

const SOURCE_LABEL: Record<SourceKind, string> = {
  sysmon: 'Sysmon WMI',
  'wmi-activity': 'WMI-Activity',
  powershell: 'PowerShell',
  process: 'Process',
  cim: 'Repository',
  'cim-residue': 'Repository residue',
  collector: 'Live WMI (collector)',
  velociraptor: 'Velociraptor PermanentWMIEvents',
  autoruns: 'Autoruns',
  'wmi-trace': 'WMI-Activity trace',
};

/** "Sysmon WMI consumer created", "WMI-Activity binding activated", "Repository record timestamp", … */
export function timestampDesc(o: Observation): string {
  if (o.source === 'cim') return 'Repository record timestamp';
  if (o.source === 'cim-residue') return 'Repository residue record timestamp';
  if (isScriptHostLoad(o)) return 'Script consumer host loaded (scrcons.exe)';
  if (o.source === 'process') return isRun(o) ? 'Process created by consumer' : isMofcompContext(o) ? 'mofcomp.exe started before creation' : `Process ${o.action}`;
  if (o.source === 'powershell' && o.action === 'mentioned') return typeof o.meta['temporary'] === 'string' ? 'PowerShell temporary WMI event subscription (session only)' : `PowerShell script block mentioning WMI ${o.part ?? 'subscription'}${typeof o.meta['notCreated'] === 'string' ? ' (not created)' : ''}`;
  return `${SOURCE_LABEL[o.source] ?? o.source} ${o.part ?? 'subscription'} ${o.action}`;
}

function message(f: Finding, o: Observation): string {
  if (isRun(o)) {
    // a process start the subscription ran (model/runs.ts): what started, as whom, from which parent
    const str = (k: string): string | null => (typeof o.meta[k] === 'string' && o.meta[k] !== '' ? (o.meta[k] as string) : null);
    const name = f.consumer?.name ?? f.filter?.name;
    if (isScriptHostLoad(o)) return [`[${f.severity}]`, `WMI subscription${name ? ` "${name}"` : ''} ran: script host ${str('ProviderPath') ?? str('HostProcess') ?? 'scrcons.exe'} loaded (WMI-Activity 5857)`].join(' ');
    const what = str('CommandLine') ?? str('Image') ?? 'a process';
    const parent = str('ParentImage');
    return [`[${f.severity}]`, `WMI subscription${name ? ` "${name}"` : ''} ran: ${what}`, o.user ? `as ${o.user}` : '', parent ? `(parent ${baseName(parent)})` : ''].filter(Boolean).join(' ');
  }
  if (isMofcompContext(o)) {
    const name = f.consumer?.name ?? f.filter?.name;
    const cmd = typeof o.meta['CommandLine'] === 'string' && o.meta['CommandLine'] ? o.meta['CommandLine'] : (o.meta['Image'] ?? 'mofcomp.exe');
    return [`[${f.severity}]`, `mofcomp.exe started ${o.meta['SecondsBeforeCreation']} s before WMI subscription${name ? ` "${name}"` : ''} was created: ${String(cmd)}`, o.user ? `as ${o.user}` : ''].filter(Boolean).join(' ');
  }
  const obj = [o.className, o.name !== null ? `"${o.name}"` : null].filter((x) => x !== null).join(' ');
  const ns = o.namespace ?? f.namespace;
  const ps = powershellNotes(o);
  const parts = [`[${f.severity}]`, `WMI ${o.part ?? 'subscription'}`, obj, o.action, ns ? `in ${ns}` : '', o.user ? `by ${o.user}` : '', ps ? `(PowerShell ${ps})` : ''];
  const text = parts.filter(Boolean).join(' ');
  return f.summary ? `${text}: ${f.summary}` : text;
}

export function timelineEvents(result: ScanResult, opts: Narrowing = {}): TimelineEvent[] {
  const events: { e: TimelineEvent; order: number }[] = [];
  let order = 0;
  for (const f of narrowFindings(result, opts).findings) {
    for (const o of f.observations) {
      order++;
      if (o.time === null) continue; // no time: not a timeline event (still in json/jsonl with its finding)
      const us = isoToMicros(o.time);
      if (us === null) continue; // not ISO-8601 with a zone: see the module comment
      events.push({
        order,
        e: {
          message: message(f, o),
          datetime: o.time,
          timestamp: us,
          timestamp_desc: timestampDesc(o),
          host: o.host || f.host,
          finding_id: f.id,
          severity: f.severity,
          score: f.score,
          status: f.status,
          source: o.source,
          action: o.action,
          part: o.part,
          namespace: o.namespace,
          class: o.className,
          name: o.name,
          user: o.user,
          file: o.file,
          location: o.location,
        },
      });
    }
  }
  return events.sort((a, b) => a.e.timestamp - b.e.timestamp || a.order - b.order).map(({ e }) => e);
}

export function formatTimeline(result: ScanResult, opts: Narrowing = {}): string {
  return timelineEvents(result, opts)
    .map((e) => jsonSafe(JSON.stringify(e)) + '\n')
    .join('');
}
