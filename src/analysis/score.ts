/**
 * Score and severity: the one place they are computed, for built-in rules, fleet stacking, user rules and Sigma
 * hits alike. A finding's score is the sum of its reasons' scores, capped at {@link MAX_SCORE}; its severity follows
 * from the score ({@link SEVERITY_THRESHOLDS}), then any severity bounds a user rule sets (a minimum raises it, a
 * maximum lowers it); an allow-listed or suppressed finding keeps its reasons and gets score 0 and severity `info`.
 */
import type { Reason, Severity, SeverityBound } from '../model/types.js';
import { SEVERITIES } from '../model/types.js';

/**
 * Severity from score: critical ≥ 80, high ≥ 50, medium ≥ 25, low ≥ 10, info below 10.
 * Calibration, from the built-in rule scores: a consumer that runs code is 25 (medium on its own — executing
 * subscriptions are rare on clean machines); a look-alike of a known-good name is 50 (high on its own — nobody
 * imitates the SCM entry by accident); encoded PowerShell with stealth flags, a download cradle or a script that
 * spawns processes on top of an executing consumer reaches critical.
 */
export const SEVERITY_THRESHOLDS: ReadonlyArray<{ severity: Severity; min: number }> = [
  { severity: 'critical', min: 80 },
  { severity: 'high', min: 50 },
  { severity: 'medium', min: 25 },
  { severity: 'low', min: 10 },
  { severity: 'info', min: 0 },
];

export const MAX_SCORE = 100;

export function severityFor(score: number): Severity {
  for (const t of SEVERITY_THRESHOLDS) if (score >= t.min) return t.severity;
  return 'info';
}

/* A bound a rule puts on a finding's severity: declared in the model (a finding carries its bounds). */
export type { SeverityBound } from '../model/types.js';

/** Is `a` worse than `b` (critical is worst)? */
const worse = (a: Severity, b: Severity): boolean => SEVERITIES.indexOf(a) < SEVERITIES.indexOf(b);

/**
 * Score and severity of a finding from its reasons. `quiet` (allow-listed or suppressed): score 0, severity info,
 * whatever the bounds. Bounds apply in order: every minimum first (the worst wins), then every maximum (the mildest
 * wins), so a maximum an analyst sets always holds.
 */
export function scoreOf(reasons: readonly Pick<Reason, 'score'>[], opts: { quiet?: boolean; bounds?: readonly SeverityBound[] } = {}): { score: number; severity: Severity } {
  if (opts.quiet) return { score: 0, severity: 'info' };
  const score = Math.min(MAX_SCORE, reasons.reduce((s, r) => s + r.score, 0));
  let severity = severityFor(score);
  for (const b of opts.bounds ?? []) if (b.min && worse(b.min, severity)) severity = b.min;
  for (const b of opts.bounds ?? []) if (b.max && worse(severity, b.max)) severity = b.max;
  return { score, severity };
}
