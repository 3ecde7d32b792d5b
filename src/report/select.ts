/**
 * Which findings a report shows: the one place where `--min-severity`, `--since` / `--until` and `--only-host`
 * narrow a scan result, and where what they hid is counted, so every format says the same thing about it. The
 * narrowing never changes a finding (its host, score or attribution): it only leaves findings out of the view.
 */
import type { DiffEntry, DiffHost, Finding, HiddenFindings, HostAliases, ScanDiff, ScanResult, Severity, SigmaScan } from '../model/types.js';
import { SEVERITIES } from '../model/types.js';
import { compareFindings } from '../model/order.js';
import { parseIsoTime, timeFromMs } from '../model/time.js';

export interface Narrowing {
  /** Keep findings at or above this severity. */
  minSeverity?: Severity;
  /** Keep findings with activity at or after this instant (ISO-8601; see {@link parseTimeBound}). */
  since?: string;
  /** Keep findings with activity at or before this instant (ISO-8601). */
  until?: string;
  /** Keep findings whose host, or one of the host's other names, matches one of these globs (`*`, `?`; case-insensitive). */
  onlyHost?: readonly string[];
}

export interface Selection {
  /** The findings shown, in the one order ({@link compareFindings}). */
  findings: Finding[];
  /** What was hidden, and which kept findings are undated. */
  hidden: HiddenFindings;
  /** True when any narrowing was asked for (then reports say what it hid, even nothing). */
  narrowed: boolean;
  /**
   * The scan's Sigma part with its hits on records of no finding narrowed alike: by host, by time (a hit without a time
   * is kept, as an undated finding is) and by the rule's level read as a severity (`informational` is `info`); how
   * many it hid is `eventsNarrowedOut`. Undefined when the scan ran no Sigma rules.
   */
  sigma?: SigmaScan;
  /** The comparison with the scan's baseline (`scan --baseline`) narrowed alike ({@link narrowChanges}); undefined without one. */
  changes?: ScanDiff;
}

/** A Sigma level as a severity, for `--min-severity` (`informational` is `info`; an unknown level counts as info). */
const levelSeverity = (level: string): Severity => (level === 'informational' ? 'info' : (SEVERITIES as readonly string[]).includes(level) ? (level as Severity) : 'info');

/** Findings at or above `minSeverity`, ranked (severity, score, host case-insensitive, id). */
export function selectFindings(result: ScanResult, minSeverity?: Severity): Finding[] {
  return narrowFindings(result, { minSeverity }).findings;
}

/** The findings a report shows under `n`, ranked, with what was hidden and which kept findings are undated. */
export function narrowFindings(result: ScanResult, n: Narrowing = {}): Selection {
  const floor = n.minSeverity === undefined ? SEVERITIES.length : SEVERITIES.indexOf(n.minSeverity);
  const since = n.since !== undefined ? Date.parse(n.since) : -Infinity;
  const until = n.until !== undefined ? Date.parse(n.until) : Infinity;
  const windowed = n.since !== undefined || n.until !== undefined;
  const hostOk = hostMatcher(n.onlyHost, result.hostAliases);
  const narrowedBy: HiddenFindings['narrowedBy'] = {
    // `info` (the CLI's default) hides nothing: it is no narrowing
    ...(n.minSeverity !== undefined && n.minSeverity !== 'info' ? { minSeverity: n.minSeverity } : {}),
    ...(n.since !== undefined ? { since: n.since } : {}),
    ...(n.until !== undefined ? { until: n.until } : {}),
    ...(n.onlyHost?.length ? { onlyHost: [...n.onlyHost] } : {}),
  };
  const hidden: HiddenFindings = { narrowedBy, total: 0, bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 }, otherHosts: 0, outsideWindow: 0, belowMinSeverity: 0, undated: [] };
  const undated = new Set<string>();
  const kept: Finding[] = [];
  // the findings host and time keep, whatever their severity (what the comparison's entries of this scan are judged by)
  const inView = new Set<string>();
  for (const f of result.findings) {
    let why: 'otherHosts' | 'outsideWindow' | 'belowMinSeverity' | null = null;
    if (!hostOk(f.host)) why = 'otherHosts';
    else if (windowed) {
      const times = findingTimes(f);
      if (times.length === 0) undated.add(f.id);
      else if (!times.some((t) => t >= since && t <= until)) why = 'outsideWindow';
    }
    if (why === null) inView.add(f.id);
    if (why === null && SEVERITIES.indexOf(f.severity) > floor) why = 'belowMinSeverity';
    if (why === null) {
      kept.push(f);
      continue;
    }
    undated.delete(f.id);
    hidden.total++;
    hidden[why]++;
    if (f.severity in hidden.bySeverity) hidden.bySeverity[f.severity]++;
  }
  hidden.undated = [...undated].sort();
  const narrowed = Object.keys(narrowedBy).length > 0;
  let sigma = result.sigma;
  if (sigma && narrowed) {
    const events = sigma.events.filter((h) => {
      if (!hostOk(h.host) || SEVERITIES.indexOf(levelSeverity(h.rule.level)) > floor) return false;
      const t = windowed ? parseIsoTime(h.time) : null;
      return t === null || (t >= since && t <= until);
    });
    sigma = { ...sigma, events, eventsNarrowedOut: (sigma.eventsNarrowedOut ?? 0) + sigma.events.length - events.length };
  }
  let changes = result.changes;
  if (changes && narrowed) changes = narrowChanges(changes, { hostOk, floor, since, until, inView });
  return { findings: kept.sort(compareFindings), hidden, narrowed, ...(sigma ? { sigma } : {}), ...(changes ? { changes } : {}) };
}

/** How many subscriptions a host's comparison lists (everything but the unchanged ones, which are counted). */
export const listed = (h: DiffHost): number => h.new.length + h.gone.length + h.changed.length + h.rescored.length + h.notScannedInNew.length + h.notShownInNew.length;

/**
 * The comparison with the baseline narrowed as the findings are, so a narrowed report claims nothing its view does
 * not show: a host none of whose names matches `--only-host` is left out whole (nothing new, gone or unchanged is
 * said of it); a new subscription is kept when its finding is (host, time, severity); a changed or rescored one when
 * its finding passes host and time and either side is at or above `--min-severity` (a drop below it is a change
 * worth seeing); a gone one — or one of a host this scan did not read, or whose evidence could not have shown it —
 * when the baseline's finding is at or above the severity and its first–last activity meets the time window (or it
 * has none). What is left out is counted in `narrowedOut`; the totals are those of what is kept.
 */
function narrowChanges(d: ScanDiff, v: { hostOk: (h: string) => boolean; floor: number; since: number; until: number; inView: ReadonlySet<string> }): ScanDiff {
  const sev = (e: DiffEntry): number => SEVERITIES.indexOf(e.severity);
  const oldInWindow = (e: DiffEntry): boolean => {
    const a = parseIsoTime(e.firstSeen);
    const b = parseIsoTime(e.lastSeen);
    if (a === null && b === null) return true;
    return (b ?? a!) >= v.since && (a ?? b!) <= v.until;
  };
  let out = 0;
  const keep = <T>(list: T[], ok: (x: T) => boolean): T[] => {
    const k = list.filter(ok);
    out += list.length - k.length;
    return k;
  };
  const totals = { new: 0, gone: 0, changed: 0, rescored: 0, unchanged: 0, notScannedInNew: 0, notShownInNew: 0 };
  const hosts: ScanDiff['hosts'] = [];
  for (const h of d.hosts) {
    if (!v.hostOk(h.host) && !(h.oldName !== undefined && v.hostOk(h.oldName))) {
      out += listed(h);
      continue;
    }
    const n = {
      ...h,
      new: keep(h.new, (e) => v.inView.has(e.id) && sev(e) <= v.floor),
      changed: keep(h.changed, (c) => v.inView.has(c.new.id) && Math.min(sev(c.old), sev(c.new)) <= v.floor),
      rescored: keep(h.rescored, (r) => v.inView.has(r.new.id) && Math.min(sev(r.old), sev(r.new)) <= v.floor),
      gone: keep(h.gone, (e) => sev(e) <= v.floor && oldInWindow(e)),
      notScannedInNew: keep(h.notScannedInNew, (e) => sev(e) <= v.floor && oldInWindow(e)),
      notShownInNew: keep(h.notShownInNew, (e) => sev(e) <= v.floor && oldInWindow(e)),
    };
    for (const k of ['new', 'gone', 'changed', 'rescored', 'notScannedInNew', 'notShownInNew'] as const) totals[k] += n[k].length;
    totals.unchanged += n.unchanged;
    hosts.push(n);
  }
  return { ...d, hosts, totals, narrowedOut: (d.narrowedOut ?? 0) + out };
}

/**
 * Every instant a finding carries (observations, first and last seen), in ms since the epoch. A time the model could
 * not bring to its one form stays text and is no instant here: `Date.parse` would read `5/11/2019 5:58 PM` in the
 * machine's zone and February 30 as March 2.
 */
function findingTimes(f: Finding): number[] {
  const out: number[] = [];
  for (const s of [f.firstSeen, f.lastSeen, ...f.observations.map((o) => o.time)]) {
    const t = parseIsoTime(s);
    if (t !== null) out.push(t);
  }
  return out;
}

/**
 * A host test from glob patterns, matched against the host and every other name the scan linked to it (`aliases`);
 * every host passes when there is no pattern. `scan --only-host` and `coverage --only-host` use it. A glob of host
 * names needs `*` and `?` only (no path separators, braces or classes), so it is a small anchored regular expression
 * rather than a path-glob library whose `/` and `.` rules do not apply.
 */
export function hostMatcher(patterns: readonly string[] | undefined, aliases: readonly HostAliases[] | undefined): (host: string) => boolean {
  if (!patterns || patterns.length === 0) return () => true;
  const globs = patterns.map((p) => [...p.toLowerCase()]);
  const names = new Map<string, string[]>();
  for (const a of aliases ?? []) names.set(a.host.toLowerCase(), [a.host, ...a.aliases.map((x) => x.name)]);
  return (host) => (names.get(host.toLowerCase()) ?? [host]).some((name) => globs.some((g) => globMatch(g, [...name.toLowerCase()])));
}

/**
 * `*` (any run) and `?` (one character) against a whole name, in time proportional to pattern × name at worst: a
 * regular expression of `.*` runs backtracks exponentially in the stars (`*-*-*-*-*-x` against a long hostile host
 * name ran for seconds).
 */
function globMatch(p: readonly string[], s: readonly string[]): boolean {
  let i = 0;
  let j = 0;
  let star = -1;
  let from = 0;
  while (j < s.length) {
    if (i < p.length && (p[i] === '?' || (p[i] !== '*' && p[i] === s[j]))) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      from = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++from;
    } else return false;
  }
  while (i < p.length && p[i] === '*') i++;
  return i === p.length;
}

/** An instant in the model's one form (`model/time.ts`), as the JSON's `hidden.narrowedBy` shows it; RangeError outside years 0-9999. */
function bound(text: string, ms: number): string {
  const t = timeFromMs(ms);
  if (t === null) throw new RangeError(`"${text}" is out of range: expected a time in years 0000-9999`);
  return t;
}

/**
 * An instant given on the command line: ISO-8601 (`2026-11-01`, `2026-11-01T08:00`, `…Z`, `…+02:00`; a time without
 * a zone is UTC) or relative to `now` (`30d`, `12h`, `90m`, `45s`, `2w`). A date alone means its first instant, or with
 * `end` its last (so `--until 2026-11-01` keeps that whole day). Returns ISO-8601 UTC with seven fractional digits, or
 * throws RangeError.
 */
export function parseTimeBound(text: string, now: Date, end = false): string {
  const s = text.trim();
  const rel = /^(\d{1,9})\s*([smhdw])$/i.exec(s);
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[rel[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
    return bound(text, now.getTime() - Number(rel[1]) * unit);
  }
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s);
  const m = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  if (!m) throw new RangeError(`"${text}" is not a time: expected ISO-8601 (2026-11-01, 2026-11-01T08:00:00Z) or a relative time (30d, 12h, 90m, 2w)`);
  // more than milliseconds cannot be compared here: cut to 3 fractional digits; no zone = UTC
  const iso = s.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1') + (dateOnly ? 'T00:00:00Z' : m[4] ? '' : 'Z');
  const t = Date.parse(iso);
  // Date.parse rolls a day past the month's end over (2026-02-30 → March 2): refuse it rather than move the bound
  const [y, mo, d] = s.slice(0, 10).split('-').map(Number) as [number, number, number];
  if (!Number.isFinite(t) || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) throw new RangeError(`"${text}" is not a valid date`);
  // in the model's one form (seven fractional digits), as the JSON's `hidden.narrowedBy` shows it; a day's end is its
  // last 100 ns tick, as written (times are compared in milliseconds, so .999 keeps all of that last millisecond)
  if (dateOnly && end) return bound(text, t + 86400e3 - 1).replace(/\.\d{7}Z$/, '.9999999Z');
  return bound(text, t);
}

/** `--fail-on`: a severity, or `never`. */
export type FailOn = Severity | 'never';

/**
 * The findings that make `scan` exit 1 under `--fail-on`: not allow-listed and at or above `failOn`, among all the
 * findings of the result (a report's narrowing hides findings from the view, not from the exit code).
 */
export function failingFindings(result: ScanResult, failOn: FailOn): Finding[] {
  if (failOn === 'never') return [];
  const at = SEVERITIES.indexOf(failOn);
  return result.findings.filter((f) => !f.allowlisted && SEVERITIES.indexOf(f.severity) <= at).sort(compareFindings);
}

/**
 * The finding a user names by its id or a unique prefix of it (case-insensitive), or why there is none: no such id,
 * or a prefix shared by several (up to five of them named).
 */
export function findingById(findings: readonly Finding[], id: string): { finding: Finding } | { problem: string } {
  const want = id.trim().toLowerCase();
  if (want === '') return { problem: 'no finding id given' };
  const exact = findings.find((f) => f.id.toLowerCase() === want);
  if (exact) return { finding: exact };
  const matches = findings.filter((f) => f.id.toLowerCase().startsWith(want));
  if (matches.length === 1) return { finding: matches[0]! };
  if (matches.length === 0) return { problem: `no finding has this id (the scan has ${findings.length} finding${findings.length === 1 ? '' : 's'}; the table's ID column shows their ids)` };
  return { problem: `the start of ${matches.length} finding ids (${matches.slice(0, 5).map((f) => f.id).join(', ')}${matches.length > 5 ? ', …' : ''}): give more of it` };
}
