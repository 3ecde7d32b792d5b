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
