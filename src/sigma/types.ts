/**
 * The Sigma engine's public types (the contract between the engine in `sigma/` and the scan that feeds it events).
 * The engine reads SigmaHQ-format rules and matches them against event records in the EVTX layer's JSON shape (the
 * Rust `evtx` crate's: `{ Event: { System: { EventID, Channel, Computer, … }, EventData: { Field: value, … } } }`).
 * It imports nothing of ours: events are plain JSON values.
 */

/** The log sources wmiscope evaluates; every other logsource is counted as not applicable. */
export type SigmaLogsource =
  | 'wmi_event' // category: wmi_event — Sysmon 19/20/21
  | 'wmi' // service: wmi — Microsoft-Windows-WMI-Activity/Operational
  | 'ps_script' // category: ps_script — PowerShell 4104
  | 'ps_module' // category: ps_module — PowerShell 4103
  | 'ps_classic' // service: powershell (classic Windows PowerShell log) — 400/600/800 (ps_classic_start / provider_start)
  | 'process_creation'; // category: process_creation — Sysmon 1 / Security 4688

export type SigmaLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';

/** A loaded rule's metadata (its compiled detection stays inside the engine). */
export interface SigmaRuleInfo {
  id: string;
  title: string;
  level: SigmaLevel;
  status: string | null;
  /**
   * The rule's `author` field as written (null when absent). The Detection Rule License (DRL 1.1) of SigmaHQ's rules
   * requires messages based on a rule's matches to keep this attribution: show it with every hit.
   */
  author: string | null;
  /** The rule's tags as written (`attack.persistence`, `attack.t1546.003`, …). */
  tags: string[];
  /** ATT&CK technique ids from its `attack.tNNNN[.NNN]` tags, upper case (`T1546.003`). */
  attack: string[];
  logsource: SigmaLogsource;
  /** File it was read from (as given). */
  file: string;
}

/** One field value that made a rule match (for the evidence text). */
export interface SigmaFieldMatch {
  field: string;
  value: string;
}

export interface SigmaHit {
  rule: SigmaRuleInfo;
  matched: SigmaFieldMatch[];
}

/** A rule file that was read and not loaded, and why (one line). */
export interface SigmaNotLoaded {
  file: string;
  id: string | null;
  title: string | null;
  why: string;
}

/** Rules read, loaded, refused and not applicable. */
export interface SigmaLoadSummary {
  files: number;
  loaded: number;
  /** Rules of a logsource wmiscope does not read, counted (by `product/category/service`), never listed one by one. */
  notApplicable: { count: number; byLogsource: Record<string, number> };
  notLoaded: SigmaNotLoaded[];
}
