/**
 * One row per finding, RFC 4180: comma separated, CRLF line ends, a field is quoted when it holds a comma,
 * quote, CR or LF, and quotes inside are doubled. Cells are made safe for spreadsheets: a cell whose first
 * character is = + - @ TAB CR or LF would be read by Excel/LibreOffice as a formula (or DDE), so it gets a
 * leading `'` (OWASP "CSV injection"). So does a cell that starts with their fullwidth forms ＝ ＋ － ＠ (and
 * ー, the long-vowel mark a Japanese IME types for a minus), which Excel in a Japanese locale reads as a formula
 * too (OWASP/www-community issue 1088: `＝cmd|' /C calc'!A0` runs there), and one where any of them follows
 * leading white space (a spreadsheet may trim it before deciding). Control characters other than TAB/CR/LF
 * (ESC, C1, bidi overrides) are written as visible escapes (`\x1b`); the exact values are in the json output.
 * The ellipsis `…` (U+2026, where a long value was cut) is written `...`, which every spreadsheet and code page shows.
 *
 * `bom: true` starts the text with a UTF-8 byte order mark, so Excel opens the file as UTF-8 rather than in the
 * system's ANSI code page (which turns every non-ASCII character of a command line or user name into mojibake).
 */
import type { Finding, ScanResult } from '../model/types.js';
import { recordIdOf } from '../model/subscription.js';
import { missedBy, seenBy } from './text.js';
import { narrowFindings } from './select.js';
import type { Narrowing } from './select.js';

export const CSV_COLUMNS = [
  'id',
  'host',
  'severity',
  'score',
  'status',
  'namespace',
  'filter_name',
  'filter_query',
  'consumer_class',
  'consumer_name',
  'summary',
  'reasons',
  'allowlisted',
  'allowlist',
  'creator',
  'first_seen',
  'last_seen',
  'first_file',
  'first_record',
  'seen_by',
  'missed_by',
  'ran',
] as const;

/** The CSV's options: the narrowing every report takes, and `bom` (see the module comment). */
export interface CsvOptions extends Narrowing {
  /** Start with a UTF-8 byte order mark (U+FEFF) for Excel. Default false. */
  bom?: boolean;
}

/** The UTF-8 byte order mark, as the first character of the text. */
export const UTF8_BOM = '\ufeff';

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/gu;

/** Neutralises formula injection and unsafe control characters in one cell's text (before quoting). */
export function csvSafe(value: string): string {
  const text = value.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  const plain = text.replace(/\u2026/g, '...');
  return FORMULA_START.test(plain) ? `'${plain}` : plain;
}

/** What opens a formula in a spreadsheet cell (see the module comment): ASCII and fullwidth, after any white space. */
const FORMULA_START = /^(?:[\t\r\n]|\s*[=+\-@\uff1d\uff0b\uff0d\uff20\u30fc])/;

/**
 * RFC 4180 quoting of one field; a field holding `;` is quoted too, so a spreadsheet in a locale that separates fields
 * with `;` (Excel in German, French…) keeps it one cell.
 */
export function csvField(value: string): string {
  return /[",;\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Several values in one cell, `;`-joined, each neutralised on its own (a value after a `;` must not start a formula
 * either), and so is each `;`-separated piece of a value that holds `;` itself (a Sigma rule id is any text).
 */
function list(values: readonly string[]): string {
  return values.map((v) => v.split(';').map(csvSafe).join(';')).join(';');
}

function queryOf(f: Finding): string {
  const values = f.filter?.values ?? {};
  const k = Object.keys(values).find((x) => x.toLowerCase() === 'query');
  const v = k === undefined ? null : values[k];
  return v === null || v === undefined ? '' : String(v);
}

/** The EventRecordID an observation's location cites, or '' when it cites none. */
function recordOf(location: string): string {
  return recordIdOf(location) ?? '';
}

function row(f: Finding): string[] {
  // observations are in time order (earliest first, undated last): the first is where the finding was first seen
  const first = f.observations[0];
  return [
    f.id,
    f.host,
    f.severity,
    String(f.score),
    f.status,
    f.namespace ?? '',
    f.filter?.name ?? '',
    queryOf(f),
    f.consumer?.className ?? '',
    f.consumer?.name ?? '',
    f.summary,
    list(f.reasons.map((r) => r.id)),
    f.allowlisted ? 'true' : 'false',
    f.allowlisted ? `${f.allowlisted.by}: ${f.allowlisted.entry}${f.allowlisted.justification !== undefined ? ` (suppressed: ${f.allowlisted.justification})` : ''}` : '',
    list(f.who),
    f.firstSeen ?? '',
    f.lastSeen ?? '',
    first?.file ?? '',
    first ? recordOf(first.location) : '',
    list(seenBy(f.coverage)),
    list(missedBy(f.coverage)),
    ranCell(f),
  ];
}

/**
 * `3 (2019-05-11T17:58:50.0906596Z to 2019-05-11T18:02:00.0000000Z)`, `1 (2019-…)`: the runs tied to the finding
 * (model/runs.ts), empty when none is; an empty cell says nothing about whether it ran.
 */
function ranCell(f: Finding): string {
  const r = f.runs;
  if (!r) return '';
  const span = r.first === null ? '' : r.last === null || r.last === r.first || r.count === 1 ? ` (${r.first})` : ` (${r.first} to ${r.last})`;
  return `${r.count}${span}`;
}

export function formatCsv(result: ScanResult, opts: CsvOptions = {}): string {
  const lines = [(opts.bom ? UTF8_BOM : '') + CSV_COLUMNS.join(',')];
  for (const f of narrowFindings(result, opts).findings) {
    // The score is a number we format ourselves (a negative score must stay a number), every other cell is text.
    lines.push(row(f).map((cell, i) => csvField(CSV_COLUMNS[i] === 'score' ? cell : csvSafe(cell))).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
