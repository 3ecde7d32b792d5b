/**
 * Writers of a comparison of two scan results (`wmiscope diff`): the table (escaped text, as the other terminal
 * reports) and a self-contained HTML page (no script; every value escaped for HTML and made visible). Imports only
 * the model and the report helpers.
 */
import type { DiffEntry, ScanDiff } from '../model/diff.js';
import { escapeVisible } from '../model/text.js';
import { cspHash, escapeHtml } from './html.js';

const MAX_VALUE = 160;
const cut = (s: string, w: number): string => (s.length > w ? `${s.slice(0, Math.max(1, w - 1))}…` : s);
const show = (s: string | null, w = MAX_VALUE): string => (s === null ? '(none)' : escapeVisible(cut(s, w)));

function entryLine(e: DiffEntry, width: number): string {
  const allow = e.allowlisted !== null ? ` [allow-listed: ${escapeVisible(cut(e.allowlisted, 80))}]` : '';
  const head = `${e.severity.padEnd(8)} ${show(e.namespace ?? '(namespace unknown)', 60)} ${show(e.className, 60)} ${show(e.name, 80)} (${e.status}, id ${e.id.slice(0, 12)})${allow}`;
  return `${head}\n      ${show(e.summary, Math.max(20, width - 6))}`;
}

/** The diff as text: which scans were compared, the totals, then per host what is new, gone, changed and not scanned. Every value escaped. */
export function formatDiffTable(d: ScanDiff, width = 100): string {
  const lines: string[] = [];
  const scan = (label: string, s: ScanDiff['old']): string => `${label} ${escapeVisible(s.tool)} ${escapeVisible(s.version)}, scanned ${escapeVisible(s.scannedAt)}: ${s.hosts} host(s), ${s.findings} finding(s)${s.narrowed ? ' (narrowed)' : ''}`;
  lines.push(scan('OLD', d.old), scan('NEW', d.new));
  const t = d.totals;
  lines.push(`${t.new} new, ${t.gone} gone, ${t.changed} changed, ${t.unchanged} unchanged${t.notScannedInNew ? `; ${t.notScannedInNew} on hosts NEW did not scan (not compared)` : ''}`);
  for (const c of d.caveats) lines.push(`note: ${c}`);
  for (const h of d.hosts) {
    const parts = h.new.length + h.gone.length + h.changed.length + h.notScannedInNew.length;
    const where = !h.inNew ? ' — host not scanned in NEW' : !h.inOld ? ' — host not scanned in OLD (everything on it is new to the comparison)' : '';
    const also = h.oldName !== undefined ? ` (OLD: ${escapeVisible(h.oldName)})` : '';
    if (parts === 0 && where === '') {
      if (h.unchanged) lines.push('', `${escapeVisible(h.host)}${also}: ${h.unchanged} unchanged`);
      continue;
    }
    lines.push('', `${escapeVisible(h.host)}${also}${where}${h.unchanged ? ` · ${h.unchanged} unchanged` : ''}`);
    for (const e of h.new) lines.push(`  + new     ${entryLine(e, width)}`);
    for (const c of h.changed) {
      lines.push(`  ~ changed ${entryLine(c.new, width)}`);
      if (c.old.severity !== c.new.severity) lines.push(`      severity: ${c.old.severity} → ${c.new.severity}`);
      for (const x of c.changes) lines.push(`      ${escapeVisible(x.what)}: ${show(x.old)} → ${show(x.new)}`);
      if (!c.changes.length) lines.push(`      payload hash ${c.old.payloadHash} → ${c.new.payloadHash}`);
    }
    for (const e of h.gone) lines.push(`  - gone    ${entryLine(e, width)}`);
    for (const e of h.notScannedInNew) lines.push(`  ? not scanned in NEW ${entryLine(e, width)}`);
  }
  return lines.join('\n') + '\n';
}

const PAGE_STYLE = 'body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}h2{margin-top:1.5em}li{margin:.3em 0}code{white-space:pre-wrap;word-break:break-all}.sev{font-weight:bold}.new{color:#a40000}.gone{color:#555}.changed{color:#8a4b00}.note{background:#fff4d6;padding:.4em}';

/** The comparison as one HTML page (no script; a Content-Security-Policy that allows only its own style). */
export function formatDiffHtml(d: ScanDiff): string {
  const h = (s: string | null): string => escapeHtml(escapeVisible(s ?? '(none)'));
  const scan = (label: string, s: ScanDiff['old']): string => `<li>${label}: ${h(s.tool)} ${h(s.version)}, scanned ${h(s.scannedAt)}: ${s.hosts} host(s), ${s.findings} finding(s)${s.narrowed ? ' (narrowed)' : ''}</li>`;
  const entry = (e: DiffEntry): string =>
    `<span class="sev">${e.severity}</span> ${h(e.namespace ?? '(namespace unknown)')} ${h(e.className)} <b>${h(e.name)}</b> (${h(e.status)}, id ${h(e.id.slice(0, 12))})${e.allowlisted !== null ? ` [allow-listed: ${h(e.allowlisted)}]` : ''}<br><code>${h(e.summary)}</code>`;
  const t = d.totals;
  const body: string[] = [
    '<h1>wmiscope diff</h1>',
    `<ul>${scan('OLD', d.old)}${scan('NEW', d.new)}</ul>`,
    `<p>${t.new} new, ${t.gone} gone, ${t.changed} changed, ${t.unchanged} unchanged${t.notScannedInNew ? `; ${t.notScannedInNew} on hosts NEW did not scan (not compared)` : ''}</p>`,
    ...d.caveats.map((c) => `<p class="note">${h(c)}</p>`),
  ];
  for (const x of d.hosts) {
    const where = !x.inNew ? ' — host not scanned in NEW' : !x.inOld ? ' — host not scanned in OLD' : '';
    body.push(`<h2>${h(x.host)}${x.oldName !== undefined ? ` (OLD: ${h(x.oldName)})` : ''}${where}</h2>`, `<p>${x.unchanged} unchanged</p>`, '<ul>');
    for (const e of x.new) body.push(`<li class="new">new: ${entry(e)}</li>`);
    for (const c of x.changed)
      body.push(`<li class="changed">changed: ${entry(c.new)}<ul>${c.old.severity !== c.new.severity ? `<li>severity: ${c.old.severity} → ${c.new.severity}</li>` : ''}${c.changes.map((ch) => `<li>${h(ch.what)}: <code>${h(ch.old)}</code> → <code>${h(ch.new)}</code></li>`).join('')}</ul></li>`);
    for (const e of x.gone) body.push(`<li class="gone">gone: ${entry(e)}</li>`);
    for (const e of x.notScannedInNew) body.push(`<li class="gone">not scanned in NEW: ${entry(e)}</li>`);
    body.push('</ul>');
  }
  const csp = `default-src 'none'; style-src ${cspHash(PAGE_STYLE)}; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}"><title>wmiscope diff</title><style>${PAGE_STYLE}</style></head><body>\n${body.join('\n')}\n</body></html>\n`;
}
