/**
 * What a built-in rule is: a compile-checked id, its title, every ATT&CK id it can report, the points it adds, the
 * theme it belongs to, and a small check over a context computed once (per subscription, or per fleet place).
 */

/**
 * Every built-in rule id, in the order reasons are reported. An id written anywhere else is checked against this
 * list by the compiler, so a typo does not compile. The fleet ids keep the spelling they have in the output.
 */
export const RULE_IDS = [
  'consumer-exec',
  'consumer-activescript',
  'consumer-custom-class',
  'consumer-logfile-script',
  'payload-powershell',
  'payload-encoded-command',
  'payload-stealth-flags',
  'payload-download',
  'payload-lolbin',
  'payload-user-writable-path',
  'payload-network-indicator',
  'payload-dynamic-code',
  'payload-obfuscation',
  'payload-fileless-storage',
  'script-process-start',
  'static-class-payload',
  'trigger-uptime',
  'trigger-schedule',
  'trigger-timer',
  'trigger-logon',
  'trigger-process-start',
  'trigger-failed-logon',
  'trigger-eventlog',
  'namespace-default',
  'namespace-nonstandard',
  'namespace-custom',
  'name-lookalike',
  'name-windows-task',
  'creator-user-account',
  'created-together',
  'ran',
  'orphan',
  'binding-not-observed',
  'WMI-STACK-RARE',
  'WMI-STACK-COMMON',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

/** The file a rule lives in, and what it looks at. */
export type Theme = 'consumer' | 'payload' | 'trigger' | 'namespace' | 'names' | 'creator' | 'timing' | 'status' | 'fleet';

/** A rule as `wmiscope rules list` shows it. */
export interface RuleInfo {
  id: RuleId;
  title: string;
  /** Every ATT&CK id the rule can report (a reason carries the ones that apply). */
  attack: readonly string[];
  /** Points the rule adds to the score. */
  score: number;
  theme: Theme;
}

/** What a check found: the evidence quoted from the subscription, and the ATT&CK ids that apply when fewer than the rule's. */
export interface Fire {
  evidence: string;
  attack?: readonly string[];
  /** A title saying more than the rule's, with this finding's numbers (the fleet rules: "on 1 of 40 hosts"). */
  title?: string;
  /** Points when not the rule's (a fleet reason of an allow-listed finding adds none). */
  score?: number;
}

/** A rule: its facts and its check. A check gives at most one reason; `null` when the rule does not apply. */
export interface Rule<C> extends RuleInfo {
  check: (ctx: C) => Fire | null;
}
