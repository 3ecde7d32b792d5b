/**
 * Writers of a comparison of two scan results (`wmiscope diff`, `scan --baseline`): the table (escaped text, as the
 * other terminal reports), the short "Changes since baseline" part of the scan table, and the HTML of the comparison
 * — one fragment ({@link diffHtml}, every value escaped for HTML and made visible, no script) that is both the body
 * of the standalone `diff -f html` page and the "Changes since baseline" section of the scan report. Imports only the
 * model and the report helpers.
 */
import { SEVERITIES } from '../model/types.js';
import type { DiffEntry, DiffHost, DiffRescored, ScanDiff, Severity } from '../model/types.js';
import { escapeVisible } from '../model/text.js';
import { cspHash, escapeHtml } from './html/escape.js';
import { listed } from './select.js';

const MAX_VALUE = 160;
const cut = (s: string, w: number): string => (s.length > w ? `${s.slice(0, Math.max(1, w - 1))}…` : s);
const show = (s: string | null, w = MAX_VALUE): string => (s === null ? '(none)' : escapeVisible(cut(s, w)));

/** `diff -a` marks its own verdicts, so a reader can tell them from the scan's. */
const allowText = (e: DiffEntry): string => `${e.allowlistedBy === 'diff' ? 'by diff -a ' : ''}${e.allowlisted ?? ''}`;

function entryLine(e: DiffEntry, width: number): string {
  const allow = e.allowlisted !== null ? ` [allow-listed ${escapeVisible(cut(allowText(e), 90))}]` : '';
  const head = `${e.severity.padEnd(8)} ${show(e.namespace ?? '(namespace unknown)', 60)} ${show(e.className, 60)} ${show(e.name, 80)} (${escapeVisible(e.status)}, id ${escapeVisible(e.id.slice(0, 12))})${allow}`;
  return `${head}\n      ${show(e.summary, Math.max(20, width - 6))}`;
}

/** `high → critical (score 40 → 75); status deleted → active; reasons added: a, b; reasons removed: c`. */
function rescoreText(r: DiffRescored): string {
  const parts = [`${r.old.severity} → ${r.new.severity} (score ${r.old.score} → ${r.new.score})`];
  if (r.old.status !== r.new.status) parts.push(`status ${escapeVisible(r.old.status)} → ${escapeVisible(r.new.status)}`);
  if (r.reasonsAdded.length) parts.push(`reasons added: ${r.reasonsAdded.map((x) => escapeVisible(cut(x, 80))).join(', ')}`);
  if (r.reasonsRemoved.length) parts.push(`reasons removed: ${r.reasonsRemoved.map((x) => escapeVisible(cut(x, 80))).join(', ')}`);
  return parts.join('; ');
}

/** The totals in one line: `4 new, 1 gone, 0 changed, 0 rescored, 1 unchanged; …` (what was not compared, when any). */
export const totalsText = (t: ScanDiff['totals'], newLabel = 'NEW'): string =>
  `${t.new} new, ${t.gone} gone, ${t.changed} changed, ${t.rescored} rescored, ${t.unchanged} unchanged${t.notScannedInNew ? `; ${t.notScannedInNew} on hosts not scanned in ${newLabel} (not compared)` : ''}${t.notShownInNew ? `; ${t.notShownInNew} not shown by ${newLabel}'s evidence (not compared)` : ''}`;

const scanText = (s: ScanDiff['old']): string => `${escapeVisible(s.tool)} ${escapeVisible(s.version)}, scanned ${escapeVisible(s.scannedAt)}: ${s.hosts} host(s), ${s.findings} finding(s)${s.narrowed ? ' (narrowed)' : ''}`;

/** What else is said about the comparison: caveats, the `diff -a` lists, what a narrowing hid. */
function notesOf(d: ScanDiff): string[] {
  const out = [...d.caveats];
  if (d.allowlists?.length) out.push(`allow-listing judged also with ${d.allowlists.map((n) => escapeVisible(n)).join(', ')} (diff -a), besides the verdicts in the results`);
  if (d.narrowedOut) out.push(`${d.narrowedOut} change(s) hidden by the narrowing (--only-host, --since/--until, --min-severity)`);
  return out;
}

/**
 * The hosts in the order a reader needs them: the one with the most severe new, changed, rescored or gone subscription
 * first (then by name, the order of the result); hosts with only subscriptions not compared come after them.
 */
function byWeight(hosts: readonly DiffHost[]): DiffHost[] {
  const rank = (x: DiffHost): number => Math.min(SEVERITIES.length, ...[...x.new, ...x.changed.map((c) => c.new), ...x.rescored.map((r) => r.new), ...x.gone].map((e) => SEVERITIES.indexOf(e.severity)));
  return [...hosts].sort((a, b) => rank(a) - rank(b));
}

const hostWhere = (h: DiffHost): string => (!h.inNew ? ' — host not scanned in NEW' : !h.inOld ? ' — host not scanned in OLD (everything on it is new to the comparison)' : '');

/** The diff as text: which scans were compared, the totals, then per host (the most severe change first) what is new, gone, changed, rescored and not scanned. Every value escaped. */
export function formatDiffTable(d: ScanDiff, width = 100): string {
  const lines: string[] = [];
  lines.push(`OLD ${scanText(d.old)}`, `NEW ${scanText(d.new)}`);
  lines.push(totalsText(d.totals));
  for (const c of notesOf(d)) lines.push(`note: ${escapeVisible(c)}`);
  for (const h of byWeight(d.hosts)) {
    const parts = listed(h);
    const where = hostWhere(h);
    const also = h.oldName !== undefined ? ` (OLD: ${escapeVisible(h.oldName)})` : '';
    if (parts === 0 && where === '') continue;
    lines.push('', `${escapeVisible(h.host)}${also}${where}${h.unchanged ? ` · ${h.unchanged} unchanged` : ''}`);
    for (const e of h.new) lines.push(`  + new      ${entryLine(e, width)}`);
    for (const c of h.changed) {
      lines.push(`  ~ changed  ${entryLine(c.new, width)}`);
      if (c.old.severity !== c.new.severity) lines.push(`      severity: ${c.old.severity} → ${c.new.severity}`);
      for (const x of c.changes) lines.push(`      ${escapeVisible(x.what)}: ${show(x.old)} → ${show(x.new)}`);
      if (!c.changes.length) lines.push(`      payload hash ${c.old.payloadHash} → ${c.new.payloadHash}`);
    }
    for (const r of h.rescored) lines.push(`  ^ rescored ${entryLine(r.new, width)}`, `      ${rescoreText(r)}`);
    for (const e of h.gone) lines.push(`  - gone     ${entryLine(e, width)}`);
    for (const e of h.notScannedInNew) lines.push(`  ? not scanned in NEW ${entryLine(e, width)}`);
    for (const e of h.notShownInNew) lines.push(`  ? not shown by NEW's evidence ${entryLine(e, width)}`);
  }
  // hosts where nothing changed: one line at the end (as the HTML has it), so that the hosts with changes come first
  const unchangedOnly = unchangedHosts(d);
  if (unchangedOnly.length) lines.push('', `Unchanged: ${unchangedOnly.map((h) => `${h.unchanged} on ${escapeVisible(h.host)}${h.oldName !== undefined ? ` (OLD: ${escapeVisible(h.oldName)})` : ''}`).join(', ')}`);
  return lines.join('\n') + '\n';
}

/** Hosts in both results where every subscription is unchanged. */
const unchangedHosts = (d: ScanDiff): DiffHost[] => d.hosts.filter((x) => x.inNew && x.inOld && listed(x) === 0 && x.unchanged > 0);

/**
 * Why `wmiscope diff` exits as it does, as the scan table's `Exit` line says it: `failing` is what
 * `failingChanges(d, failOn)` returns (new and changed subscriptions, and rescored ones that rose, at or above
 * `failOn` and not allow-listed).
 */
export function diffExitText(failing: readonly DiffEntry[], failOn: Severity | 'never'): string {
  if (failOn === 'never') return 'Exit 0    --fail-on never';
  if (!failing.length) return `Exit 0    nothing new, changed or risen to at or above --fail-on ${failOn} that is not allow-listed`;
  const bySeverity = SEVERITIES.map((s) => [s, failing.filter((e) => e.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  return `Exit 1    ${failing.length} subscription${failing.length === 1 ? '' : 's'} new, changed or risen to at or above --fail-on ${failOn}, not allow-listed (${bySeverity})`;
}

/**
 * The "Changes since baseline" part of the scan table: the baseline, the totals, per host the counts, and the new,
 * changed, rescored and gone subscriptions listed (those not compared are counted; `wmiscope diff` lists them).
 * Lines, every value escaped.
 */
export function changesTableLines(d: ScanDiff, width = 100): string[] {
  const lines = [`Changes since baseline: ${totalsText(d.totals, 'this scan')}`, `  baseline: ${scanText(d.old)}`];
  for (const c of notesOf(d)) lines.push(`  note: ${escapeVisible(c)}`);
  const sub = (l: string): string => l.replace(/\n {6}/, '\n          ');
  for (const h of byWeight(d.hosts)) {
    if (listed(h) === 0) continue;
    const where = !h.inNew ? ' (not read by this scan: nothing compared)' : !h.inOld ? ' (not in the baseline)' : '';
    const counts = !h.inNew ? `${h.notScannedInNew.length} in the baseline` : `${h.new.length} new, ${h.gone.length} gone, ${h.changed.length} changed, ${h.rescored.length} rescored, ${h.unchanged} unchanged${h.notShownInNew.length ? `, ${h.notShownInNew.length} not shown by this scan's evidence` : ''}`;
    lines.push(`  ${escapeVisible(cut(h.host, 80))}${h.oldName !== undefined ? ` (baseline: ${escapeVisible(cut(h.oldName, 80))})` : ''}${where}: ${counts}`);
    for (const e of h.new) lines.push(`    + new      ${sub(entryLine(e, width - 4))}`);
    for (const c of h.changed) {
      lines.push(`    ~ changed  ${sub(entryLine(c.new, width - 4))}`);
      if (c.old.severity !== c.new.severity) lines.push(`          severity: ${c.old.severity} → ${c.new.severity}`);
      for (const x of c.changes) lines.push(`          ${escapeVisible(x.what)}: ${show(x.old, 80)} → ${show(x.new, 80)}`);
    }
    for (const r of h.rescored) lines.push(`    ^ rescored ${sub(entryLine(r.new, width - 4))}`, `          ${rescoreText(r)}`);
    for (const e of h.gone) lines.push(`    - gone     ${sub(entryLine(e, width - 4))}`);
  }
  return lines;
}

/**
 * The comparison as HTML: the scans compared, the totals, the notes, then per host its lists. `level` is the heading
 * level of the hosts (the page's sections are one above). No script, no attribute from the data: every value is
 * escaped for HTML after being made visible (controls, bidi and invisible characters as `\x..`/`\u....`).
 */
export function diffHtml(d: ScanDiff, opts: { level?: 2 | 3; old?: string; new?: string } = {}): string {
  const h = (s: string | null): string => escapeHtml(escapeVisible(s ?? '(none)'));
  const lv = opts.level ?? 2;
  const oldLabel = opts.old ?? 'OLD';
  const newLabel = opts.new ?? 'NEW';
  const scan = (label: string, s: ScanDiff['old']): string => `<li>${label}: ${h(s.tool)} ${h(s.version)}, scanned ${h(s.scannedAt)}: ${s.hosts} host(s), ${s.findings} finding(s)${s.narrowed ? ' (narrowed)' : ''}</li>`;
  const entry = (e: DiffEntry): string =>
    `<span class="diff-sev sev sev-${e.severity}">${e.severity}</span> ${h(e.namespace ?? '(namespace unknown)')} ${h(e.className)} <b>${h(e.name)}</b> (${h(e.status)}, id ${h(e.id.slice(0, 12))})${e.allowlisted !== null ? ` [allow-listed ${h(allowText(e))}]` : ''}<br><code>${h(e.summary)}</code>`;
  const body: string[] = [`<ul class="diff-scans">${scan(oldLabel, d.old)}${scan(newLabel, d.new)}</ul>`, `<p class="diff-totals">${escapeHtml(totalsText(d.totals, newLabel))}</p>`, ...notesOf(d).map((c) => `<p class="diff-note">${h(c)}</p>`)];
  for (const x of byWeight(d.hosts)) {
    const parts = listed(x);
    const where = !x.inNew ? ` — host not scanned in ${newLabel}` : !x.inOld ? ` — host not scanned in ${oldLabel}` : '';
    if (parts === 0 && where === '') continue;
    const counts = !x.inNew
      ? `${x.notScannedInNew.length} in ${oldLabel}, not compared`
      : `${x.new.length} new, ${x.gone.length} gone, ${x.changed.length} changed, ${x.rescored.length} rescored, ${x.unchanged} unchanged${x.notShownInNew.length ? `, ${x.notShownInNew.length} not shown by ${newLabel}'s evidence (not compared)` : ''}`;
    body.push(`<h${lv}>${h(x.host)}${x.oldName !== undefined ? ` (${oldLabel}: ${h(x.oldName)})` : ''}${where}</h${lv}>`, `<p>${counts}</p>`, '<ul class="diff-list">');
    for (const e of x.new) body.push(`<li class="diff-new">new: ${entry(e)}</li>`);
    for (const c of x.changed)
      body.push(`<li class="diff-changed">changed: ${entry(c.new)}<ul>${c.old.severity !== c.new.severity ? `<li>severity: ${c.old.severity} → ${c.new.severity}</li>` : ''}${c.changes.map((ch) => `<li>${h(ch.what)}: <code>${h(ch.old)}</code> → <code>${h(ch.new)}</code></li>`).join('')}${c.changes.length ? '' : `<li>payload hash ${h(c.old.payloadHash)} → ${h(c.new.payloadHash)}</li>`}</ul></li>`);
    for (const r of x.rescored) body.push(`<li class="diff-rescored">rescored: ${entry(r.new)}<ul><li>${escapeHtml(rescoreText(r))}</li></ul></li>`);
    for (const e of x.gone) body.push(`<li class="diff-gone">gone: ${entry(e)}</li>`);
    for (const e of x.notScannedInNew) body.push(`<li class="diff-gone">not scanned in ${newLabel}: ${entry(e)}</li>`);
    for (const e of x.notShownInNew) body.push(`<li class="diff-gone">not shown by ${newLabel}'s evidence (none of the sources that saw it): ${entry(e)}</li>`);
    body.push('</ul>');
  }
  const unchangedOnly = unchangedHosts(d);
  if (unchangedOnly.length) body.push(`<p class="diff-unchanged">Unchanged: ${unchangedOnly.map((x) => `${x.unchanged} on ${h(x.host)}`).join(', ')}</p>`);
  return body.join('\n');
}

/** The style of {@link diffHtml} (the scan report's style sheet includes it; the standalone page adds its own). */
export const DIFF_STYLE =
  '.diff-list li{margin:.3em 0}.diff-list code{white-space:pre-wrap;word-break:break-all}.diff-new{color:#a40000}.diff-gone{color:#555}.diff-changed{color:#8a4b00}.diff-rescored{color:#5a3d8a}.diff-note{background:#fff4d6;padding:.4em}.diff-sev{font-weight:bold}';

const PAGE_STYLE = 'body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}h2{margin-top:1.5em}' + DIFF_STYLE;

/** The comparison as one HTML page (no script; a Content-Security-Policy that allows only its own style). */
export function formatDiffHtml(d: ScanDiff): string {
  const csp = `default-src 'none'; style-src ${cspHash(PAGE_STYLE)}; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}"><title>wmiscope diff</title><style>${PAGE_STYLE}</style></head><body>\n<h1>wmiscope diff</h1>\n${diffHtml(d)}\n</body></html>\n`;
}
