/**
 * Which events a rule's logsource reads, and which logsource an event belongs to: the one table of both.
 *
 * Rule side (product must be `windows`):
 * | logsource                               | wmiscope   | events                                     |
 * |-----------------------------------------|------------|--------------------------------------------|
 * | category: wmi_event                     | wmi_event  | Sysmon 19, 20, 21                          |
 * | service: wmi                            | wmi        | any Microsoft-Windows-WMI-Activity/Operational |
 * | category: ps_script                     | ps_script  | PowerShell/Operational 4104                |
 * | category: ps_module                     | ps_module  | PowerShell/Operational 4103                |
 * | category: ps_classic_start              | ps_classic | Windows PowerShell 400                     |
 * | category: ps_classic_provider_start     | ps_classic | Windows PowerShell 600                     |
 * | category: ps_classic_script             | ps_classic | Windows PowerShell 800                     |
 * | service: powershell-classic             | ps_classic | any Windows PowerShell event               |
 * | category: process_creation              | process_creation | Sysmon 1, Security 4688              |
 * The event ids a category implies are a condition of the rule (as Sigma's Windows pipelines add them).
 */
import type { SigmaLogsource } from './types.js';

export interface RuleSource {
  logsource: SigmaLogsource;
  /** Event ids the logsource implies (null: any event of the channel). */
  ids: ReadonlySet<number> | null;
}

const ids = (...n: number[]): ReadonlySet<number> => new Set(n);

const BY_CATEGORY: Record<string, RuleSource> = {
  wmi_event: { logsource: 'wmi_event', ids: ids(19, 20, 21) },
  ps_script: { logsource: 'ps_script', ids: ids(4104) },
  ps_module: { logsource: 'ps_module', ids: ids(4103) },
  ps_classic_start: { logsource: 'ps_classic', ids: ids(400) },
  ps_classic_provider_start: { logsource: 'ps_classic', ids: ids(600) },
  ps_classic_script: { logsource: 'ps_classic', ids: ids(800) },
  process_creation: { logsource: 'process_creation', ids: ids(1, 4688) },
};

const BY_SERVICE: Record<string, RuleSource> = {
  wmi: { logsource: 'wmi', ids: null },
  'powershell-classic': { logsource: 'ps_classic', ids: null },
};

/** The key a not-applicable logsource is counted under: `product/category/service` (empty parts kept). */
export function logsourceKey(product: string | null, category: string | null, service: string | null): string {
  return `${product ?? ''}/${category ?? ''}/${service ?? ''}`;
}

/** A rule's logsource, or null when wmiscope does not read it. */
export function ruleSource(product: string | null, category: string | null, service: string | null): RuleSource | null {
  if (product?.toLowerCase() !== 'windows') return null;
  if (category !== null) return BY_CATEGORY[category.toLowerCase()] ?? null;
  if (service !== null) return BY_SERVICE[service.toLowerCase()] ?? null;
  return null;
}

const SYSMON = 'microsoft-windows-sysmon/operational';
const SECURITY = 'security';
const WMI = 'microsoft-windows-wmi-activity/operational';
const POWERSHELL = 'microsoft-windows-powershell/operational';
const CLASSIC = 'windows powershell';

/** Channel implied by a provider name, for records whose channel is missing or forwarded. */
const CHANNEL_OF_PROVIDER: Record<string, string> = {
  'microsoft-windows-sysmon': SYSMON,
  'microsoft-windows-security-auditing': SECURITY,
  'microsoft-windows-wmi-activity': WMI,
  'microsoft-windows-powershell': POWERSHELL,
  powershell: CLASSIC,
};

/** The logsource of a record with this channel (or, when the channel is not one of ours, provider) and event id. */
export function eventSource(channel: string | null, provider: string | null, eventId: number | null): SigmaLogsource | null {
  let ch = channel?.toLowerCase() ?? null;
  if (ch === null || !KNOWN_CHANNELS.has(ch)) ch = provider ? (CHANNEL_OF_PROVIDER[provider.toLowerCase()] ?? null) : null;
  switch (ch) {
    case SYSMON:
      return eventId === 1 ? 'process_creation' : eventId === 19 || eventId === 20 || eventId === 21 ? 'wmi_event' : null;
    case SECURITY:
      return eventId === 4688 ? 'process_creation' : null;
    case WMI:
      return 'wmi';
    case POWERSHELL:
      return eventId === 4104 ? 'ps_script' : eventId === 4103 ? 'ps_module' : null;
    case CLASSIC:
      return 'ps_classic';
    default:
      return null;
  }
}

const KNOWN_CHANNELS = new Set([SYSMON, SECURITY, WMI, POWERSHELL, CLASSIC]);
