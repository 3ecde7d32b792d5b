/**
 * Reading and showing the ISO-8601 times a result carries (every report writes UTC with a `Z`; evidence may
 * still hold other zones or nonsense). Shared by the reports and the HTML page script (compiled into the page),
 * so a time reads the same in every view. Nothing here uses the machine's zone or locale.
 */

/** An ISO-8601 date-time with a zone; fractions up to 9 digits (7 is what the reports write). */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** True when `s` is an ISO-8601 date-time with a zone (the form {@link parseIsoTime} reads). */
export function isIsoTime(s: unknown): s is string {
  return typeof s === 'string' && ISO_TIME.test(s);
}

/**
 * Milliseconds since the epoch of an ISO-8601 date-time with a zone, or null when it is not one or names an
 * impossible instant (month 13, hour 24, February 30: never rolled over into another time). Fractions beyond
 * the millisecond are dropped.
 */
export function parseIsoTime(s: unknown): number | null {
  if (typeof s !== 'string') return null;
  const m = ISO_TIME.exec(s);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (hour > 23 || minute > 59 || second > 60) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  d.setUTCHours(hour, minute, second, m[7] ? Number((m[7] + '00').slice(0, 3)) : 0);
  let ms = d.getTime();
  const zone = m[8]!;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return Number.isNaN(ms) ? null : ms;
}

/** `[YYYY-MM-DD, HH:MM:SS]` (UTC) of an instant in milliseconds. */
export function utcDateAndTime(ms: number): [string, string] {
  const iso = new Date(ms).toISOString();
  return [iso.slice(0, 10), iso.slice(11, 19)];
}

/**
 * A UTC time to the second, for a narrow column: `2019-05-11T17:58:23.3400000Z` → `2019-05-11 17:58:23`. Null
 * when `s` is not a UTC ISO-8601 time (show the text as it is then); the full value belongs in the detail.
 */
export function shortUtcTime(s: unknown): string | null {
  if (typeof s !== 'string') return null;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(s);
  return m ? `${m[1]} ${m[2]}` : null;
}
