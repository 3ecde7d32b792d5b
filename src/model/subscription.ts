/**
 * Reading a subscription's parts, shared by the sources (object paths they write), the analysis (graph joins,
 * allowlist matching, payload hash, rules) and the reports (the HTML report's known-good entries): the property
 * names of the subscription classes, the properties that decide what a filter or consumer does, object references,
 * what a binding points at, a consumer's class. Object paths and the consumer-class table are the model's WMI
 * vocabulary (wmi.ts).
 */
import type { Observation, SubscriptionObject } from './types.js';
import { consumerClassFacts, parseObjectRef } from './wmi.js';

/** The filter properties that decide what a filter does (compared exactly by the allowlist). */
export const FILTER_KEY_PROPERTIES = ['Name', 'Query', 'QueryLanguage', 'EventNamespace'] as const;

/** The properties every consumer inherits from `__EventConsumer`: who made it and how WMI queues its events, not what it does. */
export const EVENT_CONSUMER_BASE_PROPERTIES = ['CreatorSID', 'MachineName', 'MaximumQueueSize'] as const;

/**
 * The non-system properties the WMI classes of a subscription declare (their own and inherited), by lower-case
 * class name: the filter, the binding, the consumer base class, the five standard consumer classes and the timer
 * instructions a filter can wait for (Microsoft's class documentation; the names as the Windows 10 repository spells
 * them). An observation's `properties` hold only such names for these classes.
 */
export const WMI_CLASS_PROPERTIES: Record<string, readonly string[]> = {
  __eventfilter: ['CreatorSID', 'EventAccess', 'EventNamespace', 'Name', 'Query', 'QueryLanguage'],
  __filtertoconsumerbinding: ['Consumer', 'CreatorSID', 'DeliverSynchronously', 'DeliveryQoS', 'Filter', 'MaintainSecurityContext', 'SlowDownProviders'],
  __eventconsumer: [...EVENT_CONSUMER_BASE_PROPERTIES],
  activescripteventconsumer: [...EVENT_CONSUMER_BASE_PROPERTIES, 'KillTimeout', 'Name', 'ScriptFileName', 'ScriptingEngine', 'ScriptText'],
  commandlineeventconsumer: [
    ...EVENT_CONSUMER_BASE_PROPERTIES, 'CommandLineTemplate', 'CreateNewConsole', 'CreateNewProcessGroup', 'CreateSeparateWowVdm', 'CreateSharedWowVdm',
    // Windows declares both FillAttribute and FillAttributes (the class's documented syntax; wmi() lists both)
    'DesktopName', 'ExecutablePath', 'FillAttribute', 'FillAttributes', 'ForceOffFeedback', 'ForceOnFeedback', 'KillTimeout', 'Name', 'Priority', 'RunInteractively',
    'ShowWindowCommand', 'UseDefaultErrorMode', 'WindowTitle', 'WorkingDirectory', 'XCoordinate', 'XNumCharacters', 'XSize', 'YCoordinate', 'YNumCharacters', 'YSize',
  ],
  logfileeventconsumer: [...EVENT_CONSUMER_BASE_PROPERTIES, 'Filename', 'IsUnicode', 'MaximumFileSize', 'Name', 'Text'],
  nteventlogeventconsumer: [
    ...EVENT_CONSUMER_BASE_PROPERTIES, 'Category', 'EventID', 'EventType', 'InsertionStringTemplates', 'Name', 'NameOfRawDataProperty', 'NameOfUserSIDProperty',
    'NumberOfInsertionStrings', 'SourceName', 'UNCServerName',
  ],
  smtpeventconsumer: [...EVENT_CONSUMER_BASE_PROPERTIES, 'BccLine', 'CcLine', 'FromLine', 'HeaderFields', 'Message', 'Name', 'ReplyToLine', 'SMTPServer', 'Subject', 'ToLine'],
  __intervaltimerinstruction: ['IntervalBetweenEvents', 'SkipIfPassed', 'TimerId'],
  __absolutetimerinstruction: ['EventDateTime', 'SkipIfPassed', 'TimerId'],
};

/**
 * The properties of a consumer of a class this table does not describe that say what it does: every property it
 * has except `Name`, the `__EventConsumer` base properties and system properties (`__…`).
 */
export function customConsumerProperties(values: Record<string, unknown>): string[] {
  const base = new Set<string>(EVENT_CONSUMER_BASE_PROPERTIES.map((p) => p.toLowerCase()));
  return Object.keys(values).filter((k) => k.toLowerCase() !== 'name' && !k.startsWith('__') && !base.has(k.toLowerCase()));
}

/** The relative object path `Class.Name="x"` of an object keyed by its name (backslashes and quotes escaped). */
export function objectPath(className: string, name: string): string {
  return `${className}.Name="${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * What a binding points at, from its `Filter` or `Consumer` property: an object path (`__EventFilter.Name="x"`,
 * `\\.\ROOT\subscription:CommandLineEventConsumer.Name="y"`, as the repository, Sysmon 21, the collector and
 * Velociraptor give it) or a bare name (WMI-Activity 5861 gives the filter's name only). A bare name is a name, never a class.
 */
export function referenceTarget(values: Record<string, unknown>, part: 'Filter' | 'Consumer'): { className: string | null; name: string | null } | null {
  const k = part in values ? part : Object.keys(values).find((x) => x.toLowerCase() === part.toLowerCase());
  const raw = k === undefined ? undefined : values[k];
  const ref = typeof raw === 'string' ? parseObjectRef(raw) : null;
  if (ref && ref.name !== null) return { className: ref.className, name: ref.name };
  return typeof raw === 'string' && raw.trim() !== '' ? { className: null, name: raw } : null;
}

/** What a binding object points at (see {@link referenceTarget}). */
export function bindingTarget(binding: SubscriptionObject | null | undefined, part: 'Filter' | 'Consumer'): { className: string | null; name: string | null } | null {
  return binding ? referenceTarget(binding.values, part) : null;
}

/** The consumer's class: as known, else from the binding, else from the properties it has. */
export function consumerClassOf(consumer: SubscriptionObject | null, binding: SubscriptionObject | null, chain?: string[]): string | null {
  if (consumer?.className) return consumer.className;
  if (chain && chain.length > 0) return chain[chain.length - 1]!;
  const ref = bindingTarget(binding, 'Consumer');
  if (ref?.className) return ref.className;
  const v = consumer?.values ?? {};
  if (v['CommandLineTemplate'] || v['ExecutablePath']) return 'CommandLineEventConsumer';
  if (v['ScriptText'] || v['ScriptFileName']) return 'ActiveScriptEventConsumer';
  if (v['Filename'] && v['Text'] !== undefined) return 'LogFileEventConsumer';
  if (v['SourceName']) return 'NTEventLogEventConsumer';
  if (v['SMTPServer']) return 'SMTPEventConsumer';
  return null;
}


/** The key properties of a consumer of class `cls` that has the values `values`. */
export function consumerKeyProperties(cls: string, values: Record<string, unknown>): string[] {
  const std = consumerClassFacts(cls)?.keyProperties;
  if (std) return [...std];
  return ['Name', ...customConsumerProperties(values)];
}

export function strOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  return String(v);
}


/** The EventRecordID an observation's location cites (`record 16108 (header #3, …)`), or null when it cites none. */
export function recordIdOf(location: string): string | null {
  return /^record (\d{1,20})\b/.exec(location)?.[1] ?? null;
}

const SCRIPT_BLOCK = '; script block of ';

/**
 * Where a PowerShell script block logged over several 4104 records is cited: its first part's place, naming the other
 * parts by EventRecordID (or, without one, by their place).
 */
export function scriptBlockLocation(first: string, others: readonly string[]): string {
  const ids = others.map((w) => recordIdOf(w) ?? w);
  return `${first}${SCRIPT_BLOCK}${others.length + 1} parts, the others in record${ids.length > 1 ? 's' : ''} ${ids.join(', ')}`;
}

/**
 * The records a location cites: the one record, or for a script block joined from several records
 * ({@link scriptBlockLocation}) its first part's place and the EventRecordIDs of the other parts.
 */
export function locationRecords(location: string): { first: string; otherRecordIds: string[] } {
  const at = location.indexOf(SCRIPT_BLOCK);
  if (at < 0) return { first: location, otherRecordIds: [] };
  const m = /^\d+ parts, the others in records? (.*)$/s.exec(location.slice(at + SCRIPT_BLOCK.length));
  return { first: location.slice(0, at), otherRecordIds: m ? m[1]!.split(', ').filter((x) => /^\d{1,20}$/.test(x)) : [] };
}

/**
 * What a PowerShell observation says of itself beyond its action, for the table and the timeline: the technique
 * that made it, a temporary subscription, an object never committed, and the values computed at run time (not
 * literals, so not rebuilt): `Set-WmiInstance; computed at run time: (all properties)`. Empty for other sources.
 */
export function powershellNotes(o: Observation): string {
  if (o.source !== 'powershell') return '';
  const str = (k: string): string | null => (typeof o.meta[k] === 'string' && o.meta[k] !== '' ? (o.meta[k] as string) : null);
  const computed = str('computedAtRunTime');
  const notCreated = str('notCreated');
  return [
    str('technique'),
    str('temporary') !== null ? 'temporary: session only, not persistence' : null,
    notCreated !== null ? `not created: ${notCreated}` : null,
    computed !== null ? `computed at run time: ${computed}` : null,
  ]
    .filter((x): x is string => x !== null)
    .join('; ');
}

/**
 * The account names that PowerShell records pair with a SID on a host: an 800 `UserId` / 4103 `User` beside the
 * record's security SID (`meta.UserSid`). Keyed by `host|SID` in lower case; a SID paired with two names maps to
 * null (not resolved).
 */
export function sidAccountNames(observations: Iterable<Observation>): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const o of observations) {
    const sid = o.meta['UserSid'];
    if (typeof sid !== 'string' || !o.user) continue;
    const k = `${o.host.toLowerCase()}|${sid.toLowerCase()}`;
    const prev = out.get(k);
    out.set(k, prev === undefined || prev?.toLowerCase() === o.user.toLowerCase() ? o.user : null);
  }
  return out;
}
