/**
 * Orderings for sorting text in reports. Code-point order, not the locale's: the same evidence sorts the same way on
 * every machine and locale, ISO-8601 times sort by time, and no ICU collator is loaded (its first use costs tens of
 * milliseconds per process).
 */

/** Code-point order (`<` on strings): for times, ids and keys. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Names as a reader looks them up: case-insensitive first, then by case so the order is total. */
export function compareName(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : compareText(a, b);
}

/** Severity names, worst first (the same list as `SEVERITIES` in ./types.ts, whose index is the rank). */
const SEVERITY_ORDER: readonly string[] = ['critical', 'high', 'medium', 'low', 'info'];

/**
 * The one order of findings, used by the scan result, the library and every report: severity (worst first), score
 * (highest first), host (case-insensitive), then id. Unknown severities sort after `info`.
 */
export function compareFindings(a: { severity: string; score: number; host: string; id: string }, b: { severity: string; score: number; host: string; id: string }): number {
  return severityIndex(a.severity) - severityIndex(b.severity) || b.score - a.score || compareName(a.host, b.host) || compareText(a.id, b.id);
}

function severityIndex(s: string): number {
  const i = SEVERITY_ORDER.indexOf(s);
  return i < 0 ? SEVERITY_ORDER.length : i;
}
