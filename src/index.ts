/**
 * wmiscope library entry point: `scan()` (evidence paths in, explained findings out), the report formats,
 * `coverage()` (per host: which telemetry the evidence holds and its blind spots), the Sysmon configuration
 * audit (`auditSysmonFile`, `mergeWmiSection`, …), user rules (`loadRules`, `applyRules`: README "Your own
 * rules"), the evidence adapters, the live-host collector, and the
 * readers, which are also available on their own:
 * `wmiscope/evtx` (event logs) and `wmiscope/cim` (the WMI repository).
 */
export { scan, coverage, defaultThreads, nothingReadable } from './scan.js';
export type { CoverageResult, ScanOptions } from './scan.js';
export { formatCoverageText } from './report/coverage.js';
export { asScanResult, diffScans, failingChanges } from './analysis/diff.js';
export type { DiffOptions } from './analysis/diff.js';
export { formatDiffHtml, formatDiffTable } from './report/diff.js';
export { applyRules, loadRules, parseRules, RulesError, RULES_SCHEMA_URL, traceRules } from './analysis/custom/index.js';
export type { RuleTrace, RulesProblem, UserRule } from './analysis/custom/index.js';
export * from './sysmon/index.js';
export * from './model/types.js';
export * from './model/sources.js';
export { formatReport, narrowFindings, parseTimeBound, selectFindings } from './report/index.js';
export type { Narrowing, ReportOptions, Selection } from './report/index.js';
export { canonicalTime, compareTimes, timeFromMs } from './model/time.js';
export { compareFindings } from './model/order.js';
export type { ReportFormat } from './report/index.js';
export { observeInput, classify } from './sources/dispatch.js';
export { fileInput, bufferInput } from './sources/input.js';
export { NoteSink, NOTES_PER_KEY } from './sources/notes.js';
export type { Adapter, EvidenceInput, ObserveContext, ObserveResult } from './sources/input.js';
export { ADAPTERS } from './sources/formats/index.js';
export * from './collector/index.js';
export * from './evtx/index.js';
export * from './cim/index.js';
