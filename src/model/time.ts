/**
 * The one time format of the scan's model and of every report: ISO-8601 UTC with exactly seven fractional digits
 * and `Z` (`2019-03-19T23:34:25.9362720Z`), the precision of a Windows FILETIME and of the EVTX renderer's
 * `SystemTime`. Sources give times in other precisions (Sysmon's `UtcTime` has milliseconds, WEC/Winlogbeat exports
 * nanoseconds, `Date#toISOString` milliseconds); they are brought to this form where they enter the model, so every
 * report shows one form and canonical times order correctly as text. Also how reports read and show those times
 * (the HTML page script is compiled from this module too), so a time reads the same in every view; nothing here
 * uses the machine's zone or locale. Imports nothing.
 */

/** A canonical time: `YYYY-MM-DDTHH:MM:SS.fffffffZ`. */
const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/;

/** Date, hours and minutes, seconds and their fraction (both optional), and zone of an ISO-8601-like time (`T` or a space between date and time). */
const PARTS = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(?::(\d\d)(?:[.,](\d+))?)? ?(Z|[+-]\d\d:?\d\d|UTC)?$/i;

/** RFC 2822 with a zone: `Sat, 11 May 2019 17:58:23 GMT` (day, month, year, time, zone). */
const RFC2822 = /^[A-Za-z]{3}, (\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d:\d\d)(?::(\d\d))? (GMT|UTC|[+-]\d{4})$/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Minutes east of UTC of a zone (`Z`, `UTC`, `GMT`, `±HH:MM`, `±HHMM`), or null for an offset no clock has (hour over 23, minute over 59). */
function zoneMinutes(zone: string): number | null {
  if (/^(Z|UTC|GMT)$/i.test(zone)) return 0;
  const digits = zone.slice(1).replace(':', '');
  const h = Number(digits.slice(0, 2));
  const m = Number(digits.slice(2, 4));
  if (h > 23 || m > 59) return null;
  return (zone.startsWith('-') ? -1 : 1) * (h * 60 + m);
}

/** `YYYY-MM-DD`, `HH:MM:SS`, fraction and zone as the canonical form, or null when they name no instant of years 0-9999. */
function fromFields(date: string, hm: string, sec: string | undefined, frac: string | undefined, zone: string): string | null {
  const hms = `${hm}:${sec ?? '00'}`;
  if (!validFields(date, hms)) return null;
  const offset = zoneMinutes(zone);
  if (offset === null) return null;
  // UTC already (the usual case, once per record of an export): written as it is, no Date
  if (offset === 0) return `${date}T${hms}.${seven(frac)}Z`;
  const base = new Date(Date.parse(`${date}T${hms}Z`) - offset * 60_000).toISOString();
  // years before 0 or after 9999 are written with six digits and a sign: not a time any evidence holds
  return base.length === 24 ? `${base.slice(0, 19)}.${seven(frac)}Z` : null;
}

/** Fractional seconds as exactly seven digits: padded with zeros, or cut (never rounded: 100 ns is the finest a FILETIME holds). */
function seven(frac: string | undefined): string {
  return (frac ?? '').slice(0, 7).padEnd(7, '0');
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DD` and `HH:MM:SS` name a real instant (a leap day only in a leap year; no leap second: Windows writes none). */
function validFields(date: string, time: string): boolean {
  const y = Number(date.slice(0, 4));
  const mo = Number(date.slice(5, 7));
  const d = Number(date.slice(8, 10));
  if (mo < 1 || mo > 12 || d < 1 || d > DAYS[mo - 1]!) return false;
  if (mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return false;
  return Number(time.slice(0, 2)) < 24 && Number(time.slice(3, 5)) < 60 && Number(time.slice(6, 8)) < 60;
}

/** True when `t` is already in the canonical form. */
export function isCanonicalTime(t: string | null | undefined): boolean {
  return typeof t === 'string' && t.length === 28 && CANONICAL.test(t) && validFields(t.slice(0, 10), t.slice(11, 19));
}

/**
 * A time in the canonical form (see the module comment), or null when there is none. Accepted: ISO-8601 with `T` or
 * a space, any number of fractional digits (cut or padded to seven, never rounded), a zone of `Z`, `±HH:MM`, `±HHMM`
 * or ` UTC`, or no zone (taken as UTC: the sources give UTC times, and note where that was an assumption), seconds
 * optional; and RFC 2822 with a zone (`Sat, 11 May 2019 17:58:23 GMT`). Nothing is read in the machine's zone. A text
 * that is no time (or names no real instant: month 13, February 30, hour 24, a leap second, a zone offset over
 * 23:59, a year outside 0-9999 once in UTC) is returned as given, trimmed, so what
 * the evidence said is never lost (it orders after every real time, see {@link compareTimes}).
 */
export function canonicalTime(t: string | null | undefined): string | null {
  if (t === null || t === undefined) return null;
  if (isCanonicalTime(t)) return t;
  const s = t.trim();
  if (s === '') return null;
  if (s.length > 64) return s;
  const m = PARTS.exec(s);
  if (m) return fromFields(m[1]!, m[2]!, m[3], m[4], m[5] ?? 'Z') ?? s;
  // RFC 2822 only when it names its zone; nothing else goes to Date.parse, which reads almost anything (`invalid.0Z`
  // as the year 2000, `5/11/2019` or `2019-05-11T17:58` in the machine's zone, February 30 as March 2)
  const r = RFC2822.exec(s);
  const month = r ? MONTHS.indexOf(r[2]!.toLowerCase()) + 1 : 0;
  if (!r || month === 0) return s;
  return fromFields(`${r[3]}-${String(month).padStart(2, '0')}-${r[1]!.padStart(2, '0')}`, r[4]!, r[5], undefined, r[6]!) ?? s;
}

/** Milliseconds since the epoch in the canonical form (`…T08:00:00.1230000Z`), or null for an instant outside years 0-9999. */
export function timeFromMs(ms: number): string | null {
  // beyond ±8.64e15 ms a Date is invalid and toISOString throws
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  const iso = new Date(ms).toISOString();
  return iso.length === 24 ? `${iso.slice(0, 23)}0000Z` : null;
}

/**
 * The order of observations and events in time: canonical times earliest first; then texts that are no time (in
 * their given order); then no time at all. Undated last, so a sorted list begins with what can be placed. Meant for
 * a stable sort: equal keys keep their order.
 */
export function compareTimes(a: string | null | undefined, b: string | null | undefined): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra !== 0) return 0;
  return a! < b! ? -1 : a! > b! ? 1 : 0;
}

function rank(t: string | null | undefined): number {
  return isCanonicalTime(t) ? 0 : t ? 1 : 2;
}

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
  if (!isIsoTime(s)) return null;
  const c = canonicalTime(s);
  if (c === null || !isCanonicalTime(c)) return null;
  const ms = Date.parse(c.slice(0, 23) + 'Z');
  return Number.isFinite(ms) ? ms : null;
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
