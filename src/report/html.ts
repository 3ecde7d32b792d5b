/**
 * The HTML report: one self-contained file a responder opens from disk (file://) on an isolated analysis
 * machine. No network, no external fonts, scripts or images: the styles and the script are inline and pinned
 * by hash in a strict Content-Security-Policy, and the scan's data travels inside the page as JSON.
 *
 * Every string from evidence is attacker-controlled. The defences, in order:
 * - the data is a JSON island `<script type="application/json" id="data">` in which `<`, `>`, `&`, U+2028 and
 *   U+2029 (and the controls `jsonSafe` escapes) are written as `\uXXXX`, so no `</script>` or `<!--` from
 *   evidence can end or bend it; the browser never executes a JSON script;
 * - the page script builds every node with `createElement` / `createElementNS` / `textContent` and sets only
 *   fixed attribute names; it never uses `innerHTML`, `eval` or `new Function`, and links (ATT&CK only) are
 *   built from technique ids that match `^T\d{4}(\.\d{3})?$`;
 * - the little text rendered here, on the server side, is HTML-escaped (the title, the header, and the "Changes
 *   since baseline" section of a scan with a baseline: `diffHtml` of ./diff.ts, static, every value made visible
 *   and escaped, its style added to the page's and hashed with it);
 * - CSP: `default-src 'none'`, the script and the style allowed by their SHA-256 only, `base-uri 'none'`,
 *   `form-action 'none'`, no `connect-src` (nothing may be fetched).
 *
 * The page script is TypeScript (`./html/page/`, checked against the DOM with tsconfig.page.json) that shares
 * escaping, severities, orders and time reading with `model/`; `npm run build` bundles it into one classic script
 * and computes its hash (scripts/build-page.mjs → `./html/page-script.generated.ts`, not committed).
 *
 * `formatHtml` is pure: the same result gives the same bytes. The report id (a hash of the scan's identity)
 * keys the triage marks the page keeps in local storage (`wmiscope:<reportId>`).
 */
import { createHash } from 'node:crypto';
import { cspHash, escapeHtml } from './html/escape.js';
import { diffHtml, DIFF_STYLE } from './diff.js';
import type { ScanResult } from '../model/types.js';
import type { HtmlData } from './html/data.js';
import { allowPlan } from './html/allow.js';
import { bindingTarget } from '../model/subscription.js';
import { PAGE_SCRIPT, PAGE_SCRIPT_CSP } from './html/page-script.generated.js';
import { STYLE } from './html/style.js';
import { SEVERITIES } from '../model/types.js';
import { jsonSafe } from './text.js';
import { narrowFindings } from './select.js';
import type { Narrowing } from './select.js';

export { cspHash, escapeHtml };

/** The page shows the findings `narrowFindings` keeps under these options. */
export type HtmlOptions = Narrowing;

/** What the page script reads from the JSON island (./html/data.ts). */
export type { HtmlData };

/**
 * JSON that can sit inside a `<script>` element: everything HTML or a JavaScript parser could read as markup or
 * a line end is a `\uXXXX` escape (only possible inside string literals, so the JSON is unchanged in value).
 */
export function scriptSafeJson(value: unknown): string {
  return jsonSafe(JSON.stringify(value)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Stable id of a scan result: the same scan gives the same id, so triage marks come back on reload. */
export function reportIdOf(result: ScanResult): string {
  const identity = {
    tool: result.tool,
    scannedAt: result.scannedAt,
    hosts: result.hosts,
    evidence: result.evidence.map((e) => [e.file, e.kind, e.host, e.records, e.first, e.last]),
    findings: result.findings.map((f) => f.id),
  };
  return createHash('sha256').update(JSON.stringify(identity), 'utf8').digest('hex').slice(0, 16);
}

export function htmlData(result: ScanResult, opts: HtmlOptions = {}): HtmlData {
  const sel = narrowFindings(result, opts);
  const findings = sel.findings;
  return {
    format: 'wmiscope-html-report',
    reportId: reportIdOf(result),
    tool: result.tool,
    scannedAt: result.scannedAt,
    hosts: result.hosts,
    hostAliases: result.hostAliases ?? [],
    evidence: result.evidence,
    notes: result.notes,
    findings,
    allow: findings.map(allowPlan),
    targets: findings.map((f) => ({ filter: bindingTarget(f.binding, 'Filter')?.name ?? null, consumer: bindingTarget(f.binding, 'Consumer')?.name ?? null })),
    fleet: result.fleet ?? null,
    sigma: sel.sigma ?? null,
    coverage: result.coverage ?? [],
    minSeverity: opts.minSeverity ?? null,
    hidden: sel.hidden.total,
    hiddenDetail: sel.narrowed ? sel.hidden : null,
    severities: SEVERITIES,
  };
}

/** The Content-Security-Policy of the page (meta tag value). */
export function contentSecurityPolicy(script: string, style: string): string {
  // the page script's hash is computed when it is built (scripts/build-page.mjs); any other script is hashed here
  const scriptSrc = script === PAGE_SCRIPT ? PAGE_SCRIPT_CSP : cspHash(script);
  return [`default-src 'none'`, `script-src ${scriptSrc}`, `style-src ${cspHash(style)}`, `base-uri 'none'`, `form-action 'none'`].join('; ');
}

/** One self-contained HTML page for the scan result; see the module comment. */
export function formatHtml(result: ScanResult, opts: HtmlOptions = {}): string {
  const data = htmlData(result, opts);
  // the comparison with a baseline (`scan --baseline`), narrowed as the findings are: static HTML, every value escaped
  const changes = result.changes ? narrowFindings(result, opts).changes : undefined;
  const style = changes ? STYLE + DIFF_STYLE : STYLE;
  // the inline script and style are our own constants; they must not be able to end their own element
  if (/<\/script/i.test(PAGE_SCRIPT) || /<!--/.test(PAGE_SCRIPT)) throw new Error('html report: the page script contains </script or <!--');
  if (/<\/style/i.test(style)) throw new Error('html report: the page style contains </style');
  const counts = SEVERITIES.map((s) => [s, data.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const title = `wmiscope report: ${data.findings.length} finding${data.findings.length === 1 ? '' : 's'}${counts ? ` (${counts})` : ''}, ${data.hosts.length} host${data.hosts.length === 1 ? '' : 's'}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(PAGE_SCRIPT, style))}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="${escapeHtml(`${result.tool.name} ${result.tool.version}`)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    `<body data-report-id="${escapeHtml(data.reportId)}">`,
    '<noscript><p class="noscript">This report is drawn by the script inside this file (no network is used). With scripts disabled, the scan data can still be read as JSON in the <code>script id="data"</code> element of the page source, or produced with <code>wmiscope scan --format json</code>.</p></noscript>',
    `<header id="top"><h1>wmiscope report</h1><p class="meta">${escapeHtml(`${result.tool.name} ${result.tool.version} · scanned ${result.scannedAt} · report ${data.reportId}`)}</p></header>`,
    ...(changes ? [`<section id="changes" class="changes"><h2>Changes since baseline</h2>\n${diffHtml(changes, { level: 3, old: 'the baseline', new: 'this scan' })}\n</section>`] : []),
    '<main id="app"></main>',
    `<script type="application/json" id="data">${scriptSafeJson(data)}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
