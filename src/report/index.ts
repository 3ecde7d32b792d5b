/**
 * Report formatters: pure functions from a ScanResult to a string. They never re-read evidence and import
 * nothing but the model. Every format applies `minSeverity` and ranks findings the same way (severity, then
 * score, both descending; then host and id), except the timeline, which is ordered by time.
 *
 * - `table`: for a responder at a terminal: one line per finding and a summary (`details`: full blocks); control
 *   characters from evidence are escaped, ANSI color only when `color` is set, no line wider than `width` (default
 *   100); see `table.ts`.
 * - `json`: the whole ScanResult (2-space indent), valid against `schema/finding.schema.json`.
 * - `jsonl`: one Finding per line, compact; each line is valid against `#/$defs/Finding` of the schema.
 * - `csv`: one row per finding (RFC 4180, CRLF), formula injection neutralised, a UTF-8 BOM with `csvBom`; see `csv.ts`.
 * - `timeline`: Timesketch JSON lines, one per timed observation; see `timeline.ts`.
 * - `html`: one self-contained page (summary, findings with filters and details, SVG timeline, namespace
 *   trees, known-good triage that writes allowlist YAML), no network, strict CSP; see `html.ts`.
 */
import type { ScanResult } from '../model/types.js';
import { formatCsv } from './csv.js';
import { formatHtml } from './html.js';
import { formatTable } from './table.js';
import type { TableOptions } from './table.js';
import { jsonSafe } from './text.js';
import { narrowFindings } from './select.js';
import type { Narrowing } from './select.js';
import { formatTimeline } from './timeline.js';

import type { ReportFormat } from './formats.js';
import { REPORT_FORMATS } from './formats.js';
export type { ReportFormat };
export { REPORT_FORMATS };

/**
 * Every format shows the findings `narrowFindings` keeps under these options (./select.ts); the table's own options
 * (color, width, details, verbose, quiet, failOn) are ignored by the other formats.
 */
export interface ReportOptions extends TableOptions {
  /** CSV only: start with a UTF-8 byte order mark, so Excel reads the file as UTF-8 (`--csv-bom`). Default false. */
  csvBom?: boolean;
}

/**
 * The ScanResult with only the selected findings, ranked; pretty-printed, 2 spaces, trailing newline. When a narrowing
 * was asked for, `hidden` says what it left out (by severity and by rule) and which kept findings are undated, and
 * the comparison with a baseline (`changes`) is narrowed alike.
 */
export function formatJson(result: ScanResult, opts: Narrowing = {}): string {
  const sel = narrowFindings(result, opts);
  const out: ScanResult = { ...result, findings: sel.findings, ...(sel.narrowed ? { hidden: sel.hidden } : {}), ...(sel.sigma ? { sigma: sel.sigma } : {}), ...(sel.changes ? { changes: sel.changes } : {}) };
  return jsonSafe(JSON.stringify(out, null, 2)) + '\n';
}

/** One compact Finding per line (a Finding carries its host, so each line stands alone). */
export function formatJsonl(result: ScanResult, opts: Narrowing = {}): string {
  return narrowFindings(result, opts).findings
    .map((f) => jsonSafe(JSON.stringify(f)) + '\n')
    .join('');
}

export function formatReport(result: ScanResult, format: ReportFormat, opts: ReportOptions = {}): string {
  switch (format) {
    case 'table':
      return formatTable(result, opts);
    case 'json':
      return formatJson(result, opts);
    case 'jsonl':
      return formatJsonl(result, opts);
    case 'csv':
      return formatCsv(result, { ...opts, bom: opts.csvBom === true });
    case 'timeline':
      return formatTimeline(result, opts);
    case 'html':
      return formatHtml(result, opts);
    default:
      throw new RangeError(`unknown report format: ${String(format as unknown)} (expected one of ${REPORT_FORMATS.join(', ')})`);
  }
}

export { formatCsv, csvField, csvSafe, CSV_COLUMNS, UTF8_BOM } from './csv.js';
export type { CsvOptions } from './csv.js';
export { formatNotes, formatSigmaRefused, formatTable } from './table.js';
export type { TableOptions } from './table.js';
export { formatHtml, htmlData, reportIdOf, contentSecurityPolicy, cspHash, escapeHtml, scriptSafeJson } from './html.js';
export type { HtmlData, HtmlOptions } from './html.js';
export { formatTimeline, timelineEvents, timestampDesc, isoToMicros } from './timeline.js';
export type { TimelineEvent } from './timeline.js';
export { escapeText, severityRank } from './text.js';
export { failingFindings, findingById, hostMatcher, narrowFindings, parseTimeBound, selectFindings } from './select.js';
export type { FailOn, Narrowing, Selection } from './select.js';
