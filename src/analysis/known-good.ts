/**
 * What a normal Windows machine has: the standard consumer classes and the properties that decide what each
 * of them does, the namespaces Windows itself creates, the names of known-good subscriptions (for the
 * look-alike rule) and small helpers to read a subscription's parts. Facts: shared/reference/wmi-tradecraft.md
 * §6–§7, shared/reference/cim-oracle/ (namespaces of the Windows 10 repository sample).
 */
import type { SubscriptionObject } from '../model/types.js';

/** The five consumer classes Windows ships (root\subscription, root\default). */
export const STANDARD_CONSUMER_CLASSES = [
  'ActiveScriptEventConsumer',
  'CommandLineEventConsumer',
  'LogFileEventConsumer',
  'NTEventLogEventConsumer',
  'SMTPEventConsumer',
] as const;

/** Consumer classes that run code. */
export const EXECUTING_CONSUMER_CLASSES = ['ActiveScriptEventConsumer', 'CommandLineEventConsumer'];

/** The filter properties that decide what a filter does (compared exactly by the allowlist). */
export const FILTER_KEY_PROPERTIES = ['Name', 'Query', 'QueryLanguage', 'EventNamespace'] as const;

/**
 * The properties that decide what a consumer of a standard class does (compared exactly by the allowlist).
 * For any other class every property except {@link CONSUMER_BOOKKEEPING} counts.
 */
export const CONSUMER_KEY_PROPERTIES: Record<string, readonly string[]> = {
  commandlineeventconsumer: ['Name', 'CommandLineTemplate', 'ExecutablePath', 'WorkingDirectory'],
  activescripteventconsumer: ['Name', 'ScriptingEngine', 'ScriptText', 'ScriptFileName'],
  logfileeventconsumer: ['Name', 'Filename', 'Text'],
  nteventlogeventconsumer: ['Name', 'SourceName', 'EventID', 'EventType', 'Category', 'NameOfUserSIDProperty', 'UNCServerName'],
  smtpeventconsumer: ['Name', 'SMTPServer', 'ToLine', 'CcLine', 'BccLine', 'FromLine', 'ReplyToLine', 'Subject', 'Message', 'HeaderFields'],
};

/** Properties of every consumer that say nothing about what it does. */
export const CONSUMER_BOOKKEEPING = ['CreatorSID', 'MachineName', 'MaximumQueueSize', 'InsertionStringTemplates', 'NumberOfInsertionStrings'];

/**
 * Names of known-good subscriptions: the SCM Event Log pair (the only subscription of a default Windows 10
 * install) and the names Velociraptor's SuspiciousWMIConsumers and PyWMIPersistenceFinder treat as benign
 * (wmi-tradecraft §6). Used to spot look-alikes (`SCM Event8 Log Consumer`, `DSM Event Log Filter`); an exact
 * name alone never allow-lists anything.
 */
export const KNOWN_GOOD_NAMES = [
  'SCM Event Log Filter',
  'SCM Event Log Consumer',
  'BVTFilter',
  'BVTConsumer',
  'TSLogonFilter',
  'RmAssistEventFilter',
  'NTEventLogConsumer',
];

/**
 * Names of Windows scheduled tasks that subscriptions have copied to blend in (APT29 POSHSPY and the ATT&CK
 * evaluation that emulates it, wmi-tradecraft §7).
 */
export const WINDOWS_TASK_NAMES = [
  'BfeOnServiceStartTypeChange',
  'WindowsParentalControlsMigration',
  'WindowsParentalControlMigration',
  'HiveUploadTask',
];

/**
 * Namespaces Windows creates (the Windows 10 repository sample, language sub-namespaces `ms_409` aside) plus
 * well-known product namespaces. Anything else is a custom namespace.
 */
const WINDOWS_NAMESPACES = [
  'root', 'root\\subscription', 'root\\default', 'root\\cimv2', 'root\\cimv2\\mdm', 'root\\cimv2\\mdm\\dmmap',
  'root\\cimv2\\security', 'root\\cimv2\\security\\microsofttpm', 'root\\cimv2\\security\\microsoftvolumeencryption',
  'root\\cimv2\\power', 'root\\cimv2\\terminalservices', 'root\\msdtc', 'root\\cli', 'root\\security',
  'root\\securitycenter', 'root\\securitycenter2', 'root\\rsop', 'root\\rsop\\user', 'root\\rsop\\computer', 'root\\peh',
  'root\\standardcimv2', 'root\\standardcimv2\\embedded', 'root\\wmi', 'root\\directory', 'root\\directory\\ldap',
  'root\\policy', 'root\\interop', 'root\\hardware', 'root\\servicemodel', 'root\\microsoft', 'root\\appv',
  // Windows Server roles and common Microsoft products.
  'root\\microsoftdfs', 'root\\microsoftiisv2', 'root\\webadministration', 'root\\mscluster', 'root\\virtualization',
  'root\\virtualization\\v2', 'root\\ccm', 'root\\sms', 'root\\microsoftactivedirectory', 'root\\aspnet', 'root\\nap',
  'root\\microsoft\\sqlserver',
];

/** Prefixes whose every descendant is Windows' own (`root\Microsoft\Windows\…`, per-user RSOP, SCCM client). */
const WINDOWS_NAMESPACE_PREFIXES = ['root\\microsoft\\windows', 'root\\rsop\\user', 'root\\ccm', 'root\\sms', 'root\\microsoft\\sqlserver'];

/** Namespace comparison key: backslashes, no machine prefix, lower case. */
export function nsKey(ns: string): string {
  return ns
    .trim()
    .replace(/\//g, '\\')
    .replace(/^\\\\[^\\]*\\/, '')
    .replace(/:$/, '')
    .replace(/\\+/g, '\\')
    .replace(/^\\/, '')
    .toLowerCase();
}

export type NamespaceKind = 'subscription' | 'default' | 'windows' | 'custom';

export function namespaceKind(ns: string): NamespaceKind {
  const k = nsKey(ns).replace(/\\ms_[0-9a-f]+$/, '');
  if (k === 'root\\subscription') return 'subscription';
  if (k === 'root\\default') return 'default';
  if (WINDOWS_NAMESPACES.includes(k)) return 'windows';
  if (WINDOWS_NAMESPACE_PREFIXES.some((p) => k.startsWith(`${p}\\`))) return 'windows';
  return 'custom';
}

/** A WMI object reference `[\\.\ROOT\subscription:]Class.Name="x"` split into class and name. */
export function parseRef(ref: unknown): { className: string; name: string | null } | null {
  if (typeof ref !== 'string') return null;
  let t = ref.trim();
  const colon = t.search(/:(?=[A-Za-z_]\w*(\.|=|$))/);
  if (colon > 0) t = t.slice(colon + 1);
  const m = /^([A-Za-z_]\w*)(?:\.[^=]*=\s*"([^"\\]*(?:\\.[^"\\]*)*)"|=\s*"([^"\\]*(?:\\.[^"\\]*)*)")?/s.exec(t);
  if (!m) return null;
  const raw = m[2] ?? m[3];
  return { className: m[1]!, name: raw !== undefined ? raw.replace(/\\(.)/g, '$1') : null };
}

/**
 * What a binding points at. Repository, collector and Velociraptor bindings hold object paths
 * (`Filter: __EventFilter.Name="x"`, usually with `FilterName`, `ConsumerName` and `ConsumerClass` beside
 * them); Sysmon 21 and WMI-Activity 5861 hold bare names (`Filter: x`, `Consumer: y`) with `ConsumerClass`
 * beside them. A bare name is a name, never a class.
 */
export function bindingTarget(binding: SubscriptionObject | null | undefined, part: 'Filter' | 'Consumer'): { className: string | null; name: string | null } | null {
  if (!binding) return null;
  const get = (key: string): unknown => {
    if (key in binding.values) return binding.values[key];
    const k = Object.keys(binding.values).find((x) => x.toLowerCase() === key.toLowerCase());
    return k === undefined ? undefined : binding.values[k];
  };
  const raw = get(part);
  const ref = parseRef(raw);
  const path = ref && ref.name !== null ? ref : null;
  const bare = !path && typeof raw === 'string' && raw.trim() !== '' ? raw : null;
  const name = strOf(get(`${part}Name`)) ?? path?.name ?? bare;
  const className = (part === 'Consumer' ? strOf(get('ConsumerClass')) : null) ?? path?.className ?? null;
  return name === null && className === null ? null : { className, name };
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

export function isStandardConsumerClass(cls: string): boolean {
  return STANDARD_CONSUMER_CLASSES.some((c) => c.toLowerCase() === cls.toLowerCase());
}

/** The key properties of a consumer of class `cls` that has the values `values`. */
export function consumerKeyProperties(cls: string, values: Record<string, unknown>): string[] {
  const std = CONSUMER_KEY_PROPERTIES[cls.toLowerCase()];
  if (std) return [...std];
  return ['Name', ...Object.keys(values).filter((k) => k !== 'Name' && !k.startsWith('__') && !CONSUMER_BOOKKEEPING.includes(k))];
}

/** The filter's and consumer's names (from the objects, else from the binding). */
export function partNames(filter: SubscriptionObject | null, consumer: SubscriptionObject | null, binding: SubscriptionObject | null): { filter: string | null; consumer: string | null } {
  const fname = filter?.name ?? strOf(filter?.values['Name']) ?? bindingTarget(binding, 'Filter')?.name ?? null;
  const cname = consumer?.name ?? strOf(consumer?.values['Name']) ?? bindingTarget(binding, 'Consumer')?.name ?? null;
  return { filter: fname, consumer: cname };
}

export function strOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  return String(v);
}

/** Well-known system principals: a subscription they created is how Windows and its setup make them. */
export function isSystemPrincipal(user: string): boolean {
  const u = user.trim().toUpperCase();
  if (/^S-1-5-(18|19|20)$/.test(u) || u === 'S-1-5-32-544') return true;
  return /^(NT AUTHORITY\\)?(SYSTEM|LOCAL SERVICE|NETWORK SERVICE|LOCALSERVICE|NETWORKSERVICE)$/.test(u) || /^(BUILTIN\\)?ADMINISTRATORS$/.test(u) || /^AUTORITE NT\\SYST[EÈ]ME$/.test(u);
}
