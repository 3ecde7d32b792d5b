/**
 * What a normal Windows machine has: which standard consumer classes run code (from the model's consumer-class
 * table), the namespaces Windows itself creates, the names of known-good subscriptions (for the
 * look-alike rule) and small helpers to read a subscription's parts. Facts: shared/reference/wmi-tradecraft.md
 * §6–§7, shared/reference/cim-oracle/ (namespaces of the Windows 10 repository sample).
 */
import type { SubscriptionObject } from '../model/types.js';
import { bindingTarget, strOf } from '../model/subscription.js';
import { consumerClassFacts, namespaceKey } from '../model/wmi.js';

export { FILTER_KEY_PROPERTIES, customConsumerProperties, bindingTarget, consumerClassOf, consumerKeyProperties, strOf } from '../model/subscription.js';

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

export type NamespaceKind = 'subscription' | 'default' | 'windows' | 'custom';

export function namespaceKind(ns: string): NamespaceKind {
  const k = namespaceKey(ns).replace(/\\ms_[0-9a-f]+$/, '');
  if (k === 'root\\subscription') return 'subscription';
  if (k === 'root\\default') return 'default';
  if (WINDOWS_NAMESPACES.includes(k)) return 'windows';
  if (WINDOWS_NAMESPACE_PREFIXES.some((p) => k.startsWith(`${p}\\`))) return 'windows';
  return 'custom';
}

export function isStandardConsumerClass(cls: string): boolean {
  return consumerClassFacts(cls) !== undefined;
}

/** The filter's and consumer's names (from the objects, else from the binding). */
export function partNames(filter: SubscriptionObject | null, consumer: SubscriptionObject | null, binding: SubscriptionObject | null): { filter: string | null; consumer: string | null } {
  const fname = filter?.name ?? strOf(filter?.values['Name']) ?? bindingTarget(binding, 'Filter')?.name ?? null;
  const cname = consumer?.name ?? strOf(consumer?.values['Name']) ?? bindingTarget(binding, 'Consumer')?.name ?? null;
  return { filter: fname, consumer: cname };
}
/** Well-known system principals: a subscription they created is how Windows and its setup make them. */
export function isSystemPrincipal(user: string): boolean {
  const u = user.trim().toUpperCase();
  if (/^S-1-5-(18|19|20)$/.test(u) || u === 'S-1-5-32-544') return true;
  return /^(NT AUTHORITY\\)?(SYSTEM|LOCAL SERVICE|NETWORK SERVICE|LOCALSERVICE|NETWORKSERVICE)$/.test(u) || /^(BUILTIN\\)?ADMINISTRATORS$/.test(u) || /^AUTORITE NT\\SYST[EÈ]ME$/.test(u);
}
