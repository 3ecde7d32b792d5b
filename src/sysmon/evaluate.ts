/**
 * Would Sysmon log this WMI event under this configuration? Sysmon's documented rules (Sysinternals,
 * "Sysmon - The rules about rules", 2019, and "Sysmon 10.4 rule enhancements"; Microsoft Learn, Sysmon
 * configuration files):
 *
 * - `onmatch="include"`: only events a rule matches are logged; `onmatch="exclude"`: every event is logged
 *   except those a rule matches. With both for one event type, exclude matches win.
 * - An include with no rules logs nothing; an exclude with no rules logs everything.
 * - Rules on the same field are OR'd. A `<RuleGroup>` (and a `<Rule>`) combines its rules with its
 *   `groupRelation`, `and` when not written.
 *
 * What the documentation leaves open is a {@link Reading} switch, so the audit can show a case both ways.
 */
import type { FieldRule, RuleNode, SysmonConfig, WmiFilterSet } from './config.js';

/** A Sysmon 19/20/21 event as the filter engine would see it. */
export interface WmiEventSample {
  id: 19 | 20 | 21;
  /** Raw values (unquoted). */
  fields: Record<string, string>;
}

/**
 * Fields Sysmon writes in MOF form: a leading space, double quotes, backslashes and quotes escaped
 * (` "root\\cimv2"`, ` "CommandLineEventConsumer.Name=\"Updater\""`), as in the real records of
 * test/fixtures/exports (Sysmon 19/20/21 of EVTX-ATTACK-SAMPLES and OTRF).
 */
export const QUOTED_FIELDS = ['EventNamespace', 'Name', 'Query', 'Destination', 'Consumer', 'Filter'];

/** A value as Sysmon logs it in a quoted field. */
export function asLogged(v: string): string {
  return ` "${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The choices the documentation does not settle. */
export interface Reading {
  /**
   * Rules compare against values as Sysmon logs them in the quoted fields (leading space, double quotes,
   * backslashes doubled: ` "root\\cimv2"`) rather than the bare value. Matters for `is`, `begin with`,
   * `end with` and `image`, and for any value holding a backslash or a quote.
   */
  quotedValues: boolean;
  /** `is`-family comparisons are case-sensitive (Sysmon compares case-insensitively otherwise). */
  caseSensitiveIs: boolean;
  /** An exclude set with no rules next to include rules logs everything (rather than adding nothing). */
  emptyExcludeLogsAll: boolean;
  /** Outside a RuleGroup, rules on different fields are AND'd (the old documentation) rather than OR'd. */
  bareFieldsAnd: boolean;
  /** A configuration without any WmiEvent element logs WMI events (rather than not). */
  absentLogsAll: boolean;
}

/** The reading the audit reports first: the documented behaviour where there is one. */
export const PRIMARY_READING: Reading = { quotedValues: true, caseSensitiveIs: false, emptyExcludeLogsAll: false, bareFieldsAnd: true, absentLogsAll: true };

export interface Decision {
  logged: boolean;
  /** Plain words: which rule decided, or which default applied. */
  because: string;
  /** The rules that decided (empty when a default did). */
  rules: FieldRule[];
}

export function describeRule(r: FieldRule): string {
  return `${r.field} ${r.condition} "${r.value}" (line ${r.line})`;
}

function list(v: string): string[] {
  return v.split(';').filter((x) => x.length > 0);
}

/** One condition against one value. Comparisons are case-insensitive unless the reading says `is` is not. */
export function conditionMatches(condition: string, fieldValue: string, ruleValue: string, caseSensitiveIs = false): boolean {
  const exact = caseSensitiveIs && (condition === 'is' || condition === 'is not' || condition === 'is any');
  const v = exact ? fieldValue : fieldValue.toLowerCase();
  const r = exact ? ruleValue : ruleValue.toLowerCase();
  switch (condition) {
    case 'is':
      return v === r;
    case 'is not':
      return v !== r;
    case 'is any':
      return list(r).some((x) => v === x);
    case 'contains':
      return v.includes(r);
    case 'contains any':
      return list(r).some((x) => v.includes(x));
    case 'contains all':
      return list(r).every((x) => v.includes(x));
    case 'excludes':
      return !v.includes(r);
    case 'excludes any':
      return list(r).some((x) => !v.includes(x));
    case 'excludes all':
      return list(r).every((x) => !v.includes(x));
    case 'begin with':
      return v.startsWith(r);
    case 'not begin with':
      return !v.startsWith(r);
    case 'end with':
      return v.endsWith(r);
    case 'not end with':
      return !v.endsWith(r);
    case 'less than':
    case 'more than': {
      const a = Number(v);
      const b = Number(r);
      const cmp = Number.isFinite(a) && Number.isFinite(b) && v.trim() !== '' && r.trim() !== '' ? a - b : v < r ? -1 : v > r ? 1 : 0;
      return condition === 'less than' ? cmp < 0 : cmp > 0;
    }
    case 'image':
      return v === r || v.endsWith('\\' + r);
    default:
      return false;
  }
}

/** The value of `field` as the filter engine sees it under `reading`, or null when the event has no such field. */
export function fieldValue(e: WmiEventSample, field: string, reading: Reading): string | null {
  if (!Object.hasOwn(e.fields, field)) return null;
  const v = e.fields[field]!;
  return reading.quotedValues && QUOTED_FIELDS.includes(field) ? asLogged(v) : v;
}

function ruleMatches(r: FieldRule, e: WmiEventSample, reading: Reading): boolean {
  if (!r.known) return false;
  const v = fieldValue(e, r.field, reading);
  // a field the event does not have never matches (include rules on Destination keep no 19 or 21 events)
  return v !== null && conditionMatches(r.condition, v, r.value, reading.caseSensitiveIs);
}

/** The rules of a node that matched (empty = the node did not match). */
function nodeMatch(n: RuleNode, e: WmiEventSample, reading: Reading): FieldRule[] {
  if (n.kind === 'field') return ruleMatches(n, e, reading) ? [n] : [];
  const hits = n.rules.map((r) => (ruleMatches(r, e, reading) ? r : null));
  if (n.rules.length === 0) return [];
  if (n.relation === 'or') return hits.filter((h): h is FieldRule => h !== null);
  return hits.every((h) => h !== null) ? (hits as FieldRule[]) : [];
}

/** The rules by which a filter set matches the event; empty when it does not. A set with no rules matches nothing. */
export function setMatch(s: WmiFilterSet, e: WmiEventSample, reading: Reading): FieldRule[] {
  if (s.rules.length === 0) return [];
  const relation = s.groupRelation ?? (reading.bareFieldsAnd ? 'and' : 'or');
  if (relation === 'or') {
    for (const n of s.rules) {
      const m = nodeMatch(n, e, reading);
      if (m.length) return m;
    }
    return [];
  }
  // and: same-field rules are OR'd, then every field (and every <Rule>) must match
  const byField = new Map<string, FieldRule[]>();
  const out: FieldRule[] = [];
  for (const n of s.rules) {
    if (n.kind === 'rule') {
      const m = nodeMatch(n, e, reading);
      if (!m.length) return [];
      out.push(...m);
    } else {
      const same = byField.get(n.field);
      if (same) same.push(n);
      else byField.set(n.field, [n]);
    }
  }
  for (const rules of byField.values()) {
    const m = rules.find((r) => ruleMatches(r, e, reading));
    if (!m) return [];
    out.push(m);
  }
  return out;
}

/** Sysmon's decision for one event. */
export function decide(config: Pick<SysmonConfig, 'wmi'>, e: WmiEventSample, reading: Reading = PRIMARY_READING): Decision {
  const sets = config.wmi;
  if (sets.length === 0) {
    return reading.absentLogsAll
      ? { logged: true, because: 'the configuration has no WmiEvent rules; Sysmon logs event types it is not told to filter', rules: [] }
      : { logged: false, because: 'the configuration has no WmiEvent rules, read as "not logged"', rules: [] };
  }
  for (const s of sets) {
    if (s.onmatch !== 'exclude') continue;
    const m = setMatch(s, e, reading);
    if (m.length) return { logged: false, because: `excluded by ${m.map(describeRule).join(' and ')}`, rules: m };
  }
  const includes = sets.filter((s) => s.onmatch === 'include');
  if (reading.emptyExcludeLogsAll && includes.length) {
    const empty = sets.find((s) => s.onmatch === 'exclude' && s.rules.length === 0);
    if (empty) return { logged: true, because: `the empty exclude list (line ${empty.line}) read as "log everything", over the include rules`, rules: [] };
  }
  if (includes.length === 0) return { logged: true, because: 'only exclude rules, and none matches', rules: [] };
  for (const s of includes) {
    const m = setMatch(s, e, reading);
    if (m.length) return { logged: true, because: `included by ${m.map(describeRule).join(' and ')}`, rules: m };
  }
  const all = includes.flatMap((s) => s.rules.flatMap((n) => (n.kind === 'field' ? [n] : n.rules)));
  return {
    logged: false,
    because: all.length ? `no include rule matches (include rules: ${all.slice(0, 4).map(describeRule).join('; ')}${all.length > 4 ? `; ${all.length - 4} more` : ''})` : `the include list has no rules (line ${includes[0]!.line}): nothing is logged`,
    rules: [],
  };
}
