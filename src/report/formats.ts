/** The report formats, apart from their writers (no imports: the CLI defines its options without loading them). */
export type ReportFormat = 'table' | 'json' | 'jsonl' | 'csv' | 'timeline' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['table', 'json', 'jsonl', 'csv', 'timeline', 'html'];
