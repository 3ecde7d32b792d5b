/**
 * Sigma through every source: the records a fully-logging Sysmon (19/20/21) and WMI-Activity (5861) would have
 * written for a joined subscription, synthesized from whatever saw it (the repository, the collector, Velociraptor, a
 * PowerShell reconstruction, …), so a Sigma rule written for those logs can fire on a subscription they never logged.
 * Each view says what it was built from; a hit through a view is reported as such ("Sysmon 20 view synthesized from
 * WMI repository"), never as a logged record.
 *
 * The shapes follow the real records (the EVTX layer's JSON, as the Rust `evtx` crate renders them): Sysmon writes
 * names, namespaces, queries and destinations MOF-quoted with a leading space (` "root\\cimv2"`), WMI-Activity 5861
 * keeps its data in `UserData/Operation_ESStoConsumerBinding` with the two objects' MOF text in `PossibleCause`
 * (shared/reference/wmi-tradecraft.md §3; samples: EVTX-ATTACK-SAMPLES sysmon_20_21_1_CommandLineEventConsumer).
 * A field the evidence does not give (who created it, when) is left out, never invented.
 */
import type { JoinedSubscription, Observation, Part, SubscriptionObject, WmiValue } from '../model/types.js';
import { sourceOf } from '../model/sources.js';
import { objectPath, strOf } from '../model/subscription.js';
import { consumerClassFacts } from '../model/wmi.js';
import { parseIsoTime } from '../model/time.js';
import { sidText } from './decode.js';

/** Which logged record a view stands for. */
export type SigmaViewKind = 'Sysmon 19' | 'Sysmon 20' | 'Sysmon 21' | 'WMI-Activity 5861';

export interface SigmaView {
  kind: SigmaViewKind;
  /** The record, in the EVTX layer's JSON shape. */
  event: { Event: { System: Record<string, unknown>; EventData?: Record<string, string>; UserData?: Record<string, Record<string, string>> } };
  /** The sources whose observations of the part(s) it shows built it, by their labels (`WMI repository`, `PowerShell`). */
  from: string[];
}

const SYSMON_CHANNEL = 'Microsoft-Windows-Sysmon/Operational';
const SYSMON_PROVIDER = 'Microsoft-Windows-Sysmon';
const WMI_CHANNEL = 'Microsoft-Windows-WMI-Activity/Operational';
const WMI_PROVIDER = 'Microsoft-Windows-WMI-Activity';

/** A value as Sysmon writes WMI strings: MOF-quoted (backslash and quote escaped) after one space. */
const sysmonQuoted = (v: string): string => ` "${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** `2019-05-11 17:58:23.340` (Sysmon UtcTime) from an ISO time; null when there is none. */
function sysmonUtc(time: string | null): string | null {
  const ms = parseIsoTime(time);
  if (ms === null) return null;
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** The part's observations (process starts and stored payloads are no part). */
const partObservations = (s: JoinedSubscription, part: Part): Observation[] => s.observations.filter((o) => o.part === part && o.source !== 'process');

/** Labels of the sources that observed `parts`, each once, in the order they first appear. */
function sourcesOf(s: JoinedSubscription, parts: Part[]): string[] {
  const out: string[] = [];
  for (const p of parts) for (const o of partObservations(s, p)) if (!out.includes(sourceOf(o.source).label)) out.push(sourceOf(o.source).label);
  return out;
}

/** Who created the part, as the evidence says: a logged user, else its CreatorSID. */
function creatorOf(s: JoinedSubscription, part: Part, obj: SubscriptionObject): string | null {
  const logged = partObservations(s, part).find((o) => o.user && (o.action === 'created' || o.action === 'modified'));
  return logged?.user ?? sidText(strOf(obj.values['CreatorSID']));
}

/** Its earliest logged creation, as ISO time. */
function createdOf(s: JoinedSubscription, part: Part): string | null {
  let best: { ms: number; t: string } | null = null;
  for (const o of partObservations(s, part)) {
    if (o.action !== 'created' || !o.time) continue;
    const ms = parseIsoTime(o.time);
    if (ms !== null && (best === null || ms < best.ms)) best = { ms, t: o.time };
  }
  return best?.t ?? null;
}

function system(eventId: number, channel: string, provider: string, host: string, time: string | null): Record<string, unknown> {
  return {
    Provider: { '#attributes': { Name: provider } },
    EventID: eventId,
    ...(time ? { TimeCreated: { '#attributes': { SystemTime: time } } } : {}),
    Channel: channel,
    Computer: host,
  };
}

/** Sysmon's common fields of a WMI event: EventType, UtcTime (when known), Operation, User (when known). */
function sysmonHead(eventType: string, utc: string | null, user: string | null): Record<string, string> {
  return { EventType: eventType, ...(utc ? { UtcTime: utc } : {}), Operation: 'Created', ...(user ? { User: user } : {}) };
}

const text = (v: WmiValue | undefined): string | null => (v === null || v === undefined || v === '' ? null : String(v));

/** What Sysmon logs as a consumer's Destination: the command line (or executable) or the script (or its file). */
function destinationOf(cls: string, values: Record<string, WmiValue>): string | null {
  return cls.toLowerCase() === 'activescripteventconsumer' ? text(values['ScriptText']) ?? text(values['ScriptFileName']) : text(values['CommandLineTemplate']) ?? text(values['ExecutablePath']);
}

/** A MOF value as `GetObjectText` writes it (a SID byte array, kept as `1, 2, 0, …` in the model, in braces). */
function mofValue(name: string, v: WmiValue): string {
  if (typeof v === 'number') return String(v);
  if (name.toLowerCase() === 'creatorsid' && typeof v === 'string' && /^\d{1,3}(?:, ?\d{1,3})*$/.test(v)) return `{${v}}`;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `instance of CLASS\n{\n\tProp = value;\n…};\n`, properties in name order (as WMI writes them). */
function mofInstance(cls: string, values: Record<string, WmiValue>): string {
  const props = Object.keys(values)
    .filter((k) => values[k] !== null && values[k] !== '')
    .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0))
    .map((k) => `\t${k} = ${mofValue(k, values[k]!)};\n`)
    .join('');
  return `instance of ${cls}\n{\n${props}};\n`;
}

/** `//./root/subscription`: a namespace as WMI-Activity writes it. */
const wmiNamespace = (ns: string): string => `//./${ns.replace(/\\/g, '/').replace(/^\/+/, '')}`.replace(/^\/\/\.\/ROOT(?=\/|$)/i, '//./root');

/**
 * The records a fully-logging Sysmon and WMI-Activity would have written for `s`: Sysmon 19 for its filter, 20 for a
 * consumer of a class Sysmon logs (CommandLine, ActiveScript), 21 and WMI-Activity 5861 for a binding whose filter and
 * consumer are both known. Nothing for a part the evidence does not show.
 */
export function sigmaViews(s: JoinedSubscription): SigmaView[] {
  const out: SigmaView[] = [];
  const { filter, consumer, binding, host } = s;
  const filterName = filter?.name ?? null;
  const cls = consumer?.className ?? null;
  const consumerName = consumer?.name ?? null;
  if (filter && filterName) {
    const v = filter.values;
    const created = createdOf(s, 'filter');
    const ed = sysmonHead('WmiFilterEvent', sysmonUtc(created), creatorOf(s, 'filter', filter));
    const ns = text(v['EventNamespace']);
    if (ns) ed['EventNamespace'] = sysmonQuoted(ns);
    ed['Name'] = sysmonQuoted(filterName);
    const q = text(v['Query']);
    if (q) ed['Query'] = sysmonQuoted(q);
    out.push({ kind: 'Sysmon 19', event: { Event: { System: system(19, SYSMON_CHANNEL, SYSMON_PROVIDER, host, created), EventData: ed } }, from: sourcesOf(s, ['filter']) });
  }
  const sysmonType = cls ? consumerClassFacts(cls)?.sysmonType ?? null : null;
  if (consumer && cls && consumerName && sysmonType) {
    const created = createdOf(s, 'consumer');
    const ed = sysmonHead('WmiConsumerEvent', sysmonUtc(created), creatorOf(s, 'consumer', consumer));
    ed['Name'] = sysmonQuoted(consumerName);
    ed['Type'] = sysmonType;
    const dest = destinationOf(cls, consumer.values);
    if (dest) ed['Destination'] = sysmonQuoted(dest);
    out.push({ kind: 'Sysmon 20', event: { Event: { System: system(20, SYSMON_CHANNEL, SYSMON_PROVIDER, host, created), EventData: ed } }, from: sourcesOf(s, ['consumer']) });
  }
  if (binding && filter && filterName && consumer && cls && consumerName) {
    const created = createdOf(s, 'binding');
    const ed = sysmonHead('WmiBindingEvent', sysmonUtc(created), creatorOf(s, 'binding', binding));
    ed['Consumer'] = sysmonQuoted(objectPath(cls, consumerName));
    ed['Filter'] = sysmonQuoted(objectPath('__EventFilter', filterName));
    const from = sourcesOf(s, ['binding', 'filter', 'consumer']);
    out.push({ kind: 'Sysmon 21', event: { Event: { System: system(21, SYSMON_CHANNEL, SYSMON_PROVIDER, host, created), EventData: ed } }, from });
    const cause = `Binding EventFilter: \n${mofInstance('__EventFilter', filter.values)}Perm. Consumer: \n${mofInstance(cls, consumer.values)}`;
    const binding5861: Record<string, string> = {
      ...(s.namespace ? { Namespace: wmiNamespace(s.namespace) } : {}),
      ESS: filterName,
      CONSUMER: `${cls}="${consumerName.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`,
      PossibleCause: cause,
    };
    out.push({ kind: 'WMI-Activity 5861', event: { Event: { System: system(5861, WMI_CHANNEL, WMI_PROVIDER, host, created), UserData: { Operation_ESStoConsumerBinding: binding5861 } } }, from });
  }
  return out;
}
