/**
 * The HTML report's page script. It reads the JSON island `#data` (written by `htmlData`, ../../html.ts) and
 * draws, findings first: a one-row summary, the findings table with its filters and sorting, one finding's
 * details, then the SVG timeline, the namespace trees, the triage panel, and last the hosts, the evidence
 * read, the notes and each host's coverage (behind disclosures).
 *
 * Every value it shows comes from evidence. The rules (see ./dom.ts for how nodes are made):
 * - text only through text nodes, attributes from fixed lists, links only to `#…` anchors and to ATT&CK
 *   technique pages built from ids matching `^T\d{4}(\.\d{3})?$`;
 * - control, bidirectional, separator and invisible characters are shown as visible escapes (`\u202e`: the
 *   model's `escapeVisible`), so a name cannot reorder or hide what the reader sees.
 *
 * Compiled with tsconfig.page.json (DOM library) and bundled into the one inline script the page's CSP allows
 * by scripts/build-page.mjs: imports are limited to this folder and `model/`.
 */
import type { Finding, HiddenFindings, Severity, SubscriptionObject, WmiValue } from '../../../model/types.js';
import type { HtmlData } from '../data.js';
import { SEVERITIES } from '../../../model/types.js';
import { escapeVisible, escapeVisibleBlock } from '../../../model/text.js';
import { compareName, compareText } from '../../../model/order.js';
import { namespaceKey } from '../../../model/wmi.js';
import { isIsoTime, parseIsoTime, shortUtcTime, utcDateAndTime } from '../../../model/time.js';
import { isRun, ranText } from '../../../model/runs.js';
import { powershellNotes } from '../../../model/subscription.js';
import { add, ATTACK_ID, clear, el, svg } from './dom.js';
import type { Child } from './dom.js';
import { allowEntryLines, yq } from './yaml.js';

// ------------------------------------------------------------------------------------------ text helpers

/** One line of display text (see the module comment). */
function vis(v: unknown): string {
  return v === null || v === undefined ? '' : escapeVisible(String(v));
}

/** A block (payloads, scripts): line breaks and tabs kept. */
function visBlock(v: unknown): string {
  return v === null || v === undefined ? '' : escapeVisibleBlock(String(v));
}

function dash(v: unknown): string {
  return v === null || v === undefined || v === '' ? '\u2014' : vis(v);
}

/** A long value cut for a table cell (the full text is in the cell's title and in the finding's detail). */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  // never between the halves of a surrogate pair (an emoji cut in two shows as U+FFFD)
  const end = /[\ud800-\udbff]/.test(s.charAt(max - 2)) ? max - 2 : max - 1;
  return s.slice(0, end) + '\u2026';
}

/**
 * A name with line-break opportunities after its separators (`.`, `\`, `/`, `_`, `-`, `:`), so a narrow cell
 * breaks it where a reader would, not inside a word.
 */
function breakable(s: string): Child[] {
  const out: Child[] = [];
  const re = /[.\\/_:-]+/g;
  let at = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const end = m.index + m[0].length;
    if (end >= s.length) break;
    out.push(s.slice(at, end), el('wbr'));
    at = end;
  }
  out.push(s.slice(at));
  return out;
}

/** A class name with line-break opportunities between its CamelCase words (`Command·Line·Event·Consumer`). */
function breakableClass(s: string): Child[] {
  const out: Child[] = [];
  const re = /[a-z0-9](?=[A-Z])/g;
  let at = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    out.push(s.slice(at, m.index + 1), el('wbr'));
    at = m.index + 1;
  }
  out.push(s.slice(at));
  return out;
}

/** `2019-05-11T17:58:23.3400000Z` → `2019-05-11 17:58:23` (the full value goes in the title or the detail). */
function shortTime(v: unknown): string {
  if (typeof v !== 'string' || v === '') return '\u2014';
  return shortUtcTime(v) ?? vis(v);
}

function plural(n: number, one: string, many?: string): string {
  return n + ' ' + (n === 1 ? one : many ?? one + 's');
}

function getProp(values: Record<string, WmiValue> | null | undefined, name: string): WmiValue | undefined {
  if (!values) return undefined;
  if (Object.prototype.hasOwnProperty.call(values, name)) return values[name];
  const k = Object.keys(values).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : values[k];
}

/** root\subscription and root\default (any case, either slash) are where subscriptions normally live. */
function isDefaultNs(ns: string): boolean {
  const k = namespaceKey(ns);
  return k === 'root\\subscription' || k === 'root\\default';
}

function uniq<T>(list: T[]): T[] {
  return [...new Set(list)];
}

// ------------------------------------------------------------------------------------------ data
const app = document.getElementById('app')!;

function readData(): HtmlData | null {
  try {
    const island = document.getElementById('data');
    const d = JSON.parse(island ? island.textContent || 'null' : 'null') as HtmlData | null;
    return d && d.format === 'wmiscope-html-report' && Array.isArray(d.findings) ? d : null;
  } catch {
    return null;
  }
}

const data = readData();
if (data) start(data);
else add(app, el('p', { class: 'notice' }, 'The data of this report could not be read.'));

function start(D: HtmlData): void {
  const F = D.findings;
  const SEVS: readonly Severity[] = SEVERITIES;
  const KNOWN_STATUS = ['active', 'deleted', 'residual', 'logged-only', 'orphan'];

  /** Latest plausible time: a day after the scan (or now when the scan time is unreadable). */
  const scanned = parseIsoTime(D.scannedAt);
  const LATEST = (scanned === null ? Date.now() : scanned) + 86_400_000;
  /** A time anything happened at: 1990 to a day after the scan (zeroed FILETIMEs and far futures would flatten the timeline). */
  const plausibleTime = (s: unknown): number | null => {
    const ms = parseIsoTime(s);
    return ms === null || ms < Date.UTC(1990, 0, 1) || ms > LATEST ? null : ms;
  };

  const sevRank = (s: string | null): number => {
    const i = SEVS.indexOf(s as Severity);
    return i < 0 ? -1 : SEVS.length - 1 - i;
  };
  const sevChip = (s: string): HTMLElement => el('span', { class: SEVS.includes(s as Severity) ? 'sev sev-' + s : 'sev sev-info' }, vis(s));

  const bindingName = (i: number, part: 'filter' | 'consumer'): string | null => {
    const t = Array.isArray(D.targets) ? D.targets[i] : undefined;
    const v = t ? t[part] : null;
    return typeof v === 'string' && v !== '' ? v : null;
  };

  const objName = (o: SubscriptionObject): WmiValue | undefined => (o.name !== null && o.name !== undefined ? o.name : getProp(o.values, 'Name'));

  /** The consumer's name and class, apart (the class is drawn on its own line in the table). */
  const consumerParts = (i: number): [string, string] => {
    const f = F[i]!;
    const c = f.consumer;
    if (!c) {
      const b = f.binding ? bindingName(i, 'consumer') : null;
      return [b ? '(binding only) ' + vis(b) : '(none found)', ''];
    }
    const name = objName(c);
    return [name !== null && name !== undefined ? vis(name) : '(unnamed)', c.className ? ' [' + vis(c.className) + ']' : ''];
  };
  const consumerLabel = (i: number): string => consumerParts(i).join('');

  const filterLabel = (i: number): string => {
    const f = F[i]!;
    const o = f.filter;
    if (!o) {
      const b = f.binding ? bindingName(i, 'filter') : null;
      return b ? '(binding only) ' + vis(b) : '(none found)';
    }
    const name = objName(o);
    return name !== null && name !== undefined ? vis(name) : '(unnamed)';
  };

  interface Meta {
    sources: string[];
    namespaces: string[];
    hay: string;
    seen: string[];
  }
  const META: Meta[] = F.map((f, i) => {
    const parts = [f.filter, f.consumer, f.binding];
    const hay = [f.id, f.host, f.namespace ?? '', f.status, f.severity, f.summary, filterLabel(i), consumerLabel(i)]
      .concat(f.reasons.map((r) => r.id + ' ' + r.title + ' ' + r.evidence))
      .concat(f.decoded ?? [])
      .concat(parts.map((p) => (p ? Object.keys(p.values).map((k) => k + ' ' + String(p.values[k])).join('\n') : '')))
      .concat((f.observations ?? []).map((o) => o.file + ' ' + o.location + ' ' + (o.user ?? '')))
      .concat(f.who ?? [])
      .join('\n')
      .toLowerCase();
    return {
      sources: uniq((f.observations ?? []).map((o) => o.source as string)).sort(compareText),
      namespaces: uniq([f.namespace, ...parts.map((p) => (p ? p.namespace : null))].filter((n): n is string => typeof n === 'string' && n !== '')),
      hay,
      seen: f.coverage.filter((c) => c.saw).map((c) => c.source),
    };
  });

  // ---------------------------------------------------------------------------------------- triage marks
  const STORE_KEY = 'wmiscope:' + D.reportId;
  const storage = { ok: true, error: '', restored: 0, unreadable: false };
  const marks = new Set<string>();
  const errName = (e: unknown): string => String(e && typeof e === 'object' && 'name' in e ? (e as { name: unknown }).name : e);

  function loadMarks(): void {
    let raw: string | null;
    try {
      raw = window.localStorage.getItem(STORE_KEY);
    } catch (e) {
      storage.ok = false;
      storage.error = errName(e);
      return;
    }
    if (!raw) return;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch {
      storage.unreadable = true;
      return;
    }
    const known = o && typeof o === 'object' && Array.isArray((o as { known?: unknown }).known) ? (o as { known: unknown[] }).known : [];
    const present = new Set(F.map((f) => f.id));
    for (const id of known) if (typeof id === 'string' && present.has(id)) marks.add(id);
    storage.restored = marks.size;
  }

  function saveMarks(): void {
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify({ v: 1, known: Array.from(marks) }));
      storage.ok = true;
    } catch (e) {
      storage.ok = false;
      storage.error = errName(e);
    }
  }

  const isMarked = (i: number): boolean => marks.has(F[i]!.id);

  function setMark(i: number, on: boolean): void {
    if (on) marks.add(F[i]!.id);
    else marks.delete(F[i]!.id);
    saveMarks();
    refreshMarks();
  }

  // ---------------------------------------------------------------------------------------- allowlist YAML
  /** The entry's lines without its note, or null when none can be written (the shared writer, ./yaml.ts). */
  const entryBody = (i: number): { head: string[]; rest: string[] } | null => allowEntryLines(D.allow[i], F[i]!);

  /** An allowlist file for these findings; the same subscription on several hosts is one entry. */
  function allowlistYaml(indices: number[]): string {
    const groups: Array<{ body: { head: string[]; rest: string[] }; hosts: string[] }> = [];
    const byKey = new Map<string, (typeof groups)[number]>();
    for (const i of indices) {
      const b = entryBody(i);
      if (!b) continue;
      const key = b.head.concat(b.rest).join('\n');
      let g = byKey.get(key);
      if (!g) {
        g = { body: b, hosts: [] };
        byKey.set(key, g);
        groups.push(g);
      }
      if (!g.hosts.includes(F[i]!.host)) g.hosts.push(F[i]!.host);
    }
    if (groups.length === 0) return '';
    const when = isIsoTime(D.scannedAt) ? ', scanned ' + D.scannedAt : '';
    const out = [
      '# wmiscope allowlist: ' + plural(groups.length, 'entry', 'entries') + ' marked known-good in HTML report ' + D.reportId + when,
      '# Exact match: save as a .yaml file and pass it to "wmiscope scan --allowlist FILE",',
      '# or copy the entries under "entries:" of an existing allowlist.',
      'name: ' + yq('known-good-' + D.reportId),
      'entries:',
    ];
    for (const g of groups) {
      out.push(...g.body.head);
      out.push('    note: ' + yq('marked known-good in wmiscope HTML report ' + D.reportId + ' on ' + (g.hosts.length === 1 ? 'host ' : 'hosts ') + g.hosts.join(', ')));
      out.push(...g.body.rest);
    }
    return out.join('\n') + '\n';
  }

  // ---------------------------------------------------------------------------------------- state
  type FilterKey = 'severity' | 'host' | 'namespace' | 'status' | 'source' | 'triage' | 'q';
  const state: { sort: string | null; dir: number; selected: number } = { sort: null, dir: 1, selected: -1 };
  const filters: Record<FilterKey, string> = { severity: '', host: '', namespace: '', status: '', source: '', triage: '', q: '' };
  let qTimer: ReturnType<typeof setTimeout> | null = null;
  const nsOf = (f: Finding): string => f.namespace ?? '';
  const lists = {
    severity: SEVS.filter((s) => F.some((f) => f.severity === s)) as string[],
    host: uniq(F.map((f) => f.host)).sort(compareName),
    namespace: uniq(F.map(nsOf)).sort(compareName),
    status: uniq(F.map((f) => f.status as string)).sort((a, b) => KNOWN_STATUS.indexOf(a) - KNOWN_STATUS.indexOf(b) || compareText(a, b)),
    source: uniq(META.flatMap((m) => m.sources)).sort(compareText),
  };
  const TRIAGE: Array<[string, string]> = [['unmarked', 'not marked known-good'], ['marked', 'marked known-good'], ['allowlisted', 'allow-listed by the scan'], ['open', 'not marked, not allow-listed']];

  function matches(i: number): boolean {
    const f = F[i]!;
    const m = META[i]!;
    const pick = (k: 'severity' | 'host' | 'namespace' | 'status' | 'source'): string | undefined => lists[k][Number(filters[k])];
    if (filters.severity !== '' && f.severity !== pick('severity')) return false;
    if (filters.host !== '' && f.host !== pick('host')) return false;
    if (filters.namespace !== '' && nsOf(f) !== pick('namespace')) return false;
    if (filters.status !== '' && f.status !== pick('status')) return false;
    if (filters.source !== '' && !m.sources.includes(pick('source') ?? '')) return false;
    if (filters.triage === 'unmarked' && isMarked(i)) return false;
    if (filters.triage === 'marked' && !isMarked(i)) return false;
    if (filters.triage === 'allowlisted' && !f.allowlisted) return false;
    if (filters.triage === 'open' && (isMarked(i) || f.allowlisted)) return false;
    if (filters.q) {
      for (const w of filters.q.toLowerCase().split(/\s+/).filter(Boolean)) if (!m.hay.includes(w)) return false;
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------- layout
  const fleet = D.fleet ?? null;
  const sections: Record<string, HTMLElement> = {};
  function section(id: string, title: string): HTMLElement {
    const s = el('section', { id }, el('h2', null, title));
    sections[id] = s;
    return s;
  }

  add(app, el('nav', { class: 'toc', 'aria-label': 'sections' },
    el('a', { href: '#findings' }, 'Findings'),
    el('a', { href: '#timeline' }, 'Timeline'),
    el('a', { href: '#namespaces' }, 'Namespaces'),
    el('a', { href: '#triage' }, 'Triage'),
    el('a', { href: '#evidence' }, 'Hosts and evidence')));

  // ---------------------------------------------------------------------------------------- summary (one row)
  /** What a narrowing (--min-severity, --since/--until, --only-host) hid, in words; null when nothing. */
  function hiddenText(h: HiddenFindings | null, total: number): string | null {
    if (!h) return total > 0 ? plural(total, 'finding') + ' below ' + vis(D.minSeverity) + ' not included' : null;
    if (h.total === 0) return null;
    const why: string[] = [];
    if (h.belowMinSeverity) why.push(h.belowMinSeverity + ' below ' + vis(h.narrowedBy.minSeverity));
    if (h.outsideWindow) why.push(h.outsideWindow + ' outside ' + (h.narrowedBy.since ? vis(h.narrowedBy.since) : '\u2026') + ' to ' + (h.narrowedBy.until ? vis(h.narrowedBy.until) : '\u2026'));
    if (h.otherHosts) why.push(h.otherHosts + ' on other hosts');
    const sev = SEVS.filter((s) => h.bySeverity[s] > 0).map((s) => h.bySeverity[s] + ' ' + s).join(', ');
    return plural(h.total, 'finding') + ' hidden (' + sev + '): ' + why.join('; ');
  }

  function renderSummary(): void {
    const s = el('section', { id: 'summary', 'aria-label': 'summary' });
    const records = D.evidence.reduce((n, e) => n + (e.records || 0), 0);
    // a file holding several hosts' records is one evidence entry per host: count the files once
    const evidenceFiles = new Set(D.evidence.map((e) => e.file)).size;
    const levels = (['error', 'warning', 'skipped'] as const).map((l) => [l, D.notes.filter((n) => n.level === l).length] as const);
    const allowlisted = F.filter((f) => f.allowlisted).length;
    const hidden = hiddenText(D.hiddenDetail ?? null, D.hidden || 0);
    const undated = D.hiddenDetail && D.hiddenDetail.undated.length ? plural(D.hiddenDetail.undated.length, 'finding') + ' without a time kept (undated)' : null;
    add(s, el('div', { class: 'cards' },
      el('div', { class: 'card', id: 'card-hosts' }, el('div', { class: 'big' }, String(D.hosts.length)), D.hosts.length === 1 ? 'host' : 'hosts'),
      el('div', { class: 'card', id: 'card-findings' }, el('div', { class: 'big' }, String(F.length)), F.length === 1 ? 'finding' : 'findings',
        allowlisted ? el('div', { class: 'muted' }, allowlisted + ' allow-listed') : null),
      el('div', { class: 'card', id: 'card-severity' }, F.length === 0 ? el('span', { class: 'muted' }, 'no findings') : SEVS.map((sv) => {
        const n = F.filter((f) => f.severity === sv).length;
        return n > 0 ? el('span', { class: 'sev-count', 'data-prop': sv }, sevChip(sv), ' ', String(n)) : null;
      })),
      el('div', { class: 'card', id: 'card-evidence' }, el('div', { class: 'big' }, String(evidenceFiles)), 'evidence ' + (evidenceFiles === 1 ? 'file' : 'files') + ', ' + plural(records, 'record')),
      el('div', { class: 'card', id: 'card-notes' }, el('div', { class: 'big' }, String(D.notes.length)), D.notes.length === 1 ? 'note' : 'notes',
        el('div', { class: 'muted' }, levels.filter((l) => l[1] > 0).map((l) => (l[0] === 'skipped' ? l[1] + ' skipped' : plural(l[1], l[0]))).join(', ') || 'none')),
      hidden || undated ? el('div', { class: 'card card-hidden', id: 'card-hidden' }, el('div', { class: 'big' }, String(D.hidden || 0)), 'hidden by the narrowing',
        hidden ? el('div', { class: 'muted' }, hidden) : null, undated ? el('div', { class: 'muted' }, undated) : null) : null));
    add(app, s);
  }

  // ---------------------------------------------------------------------------------------- hosts and evidence
  function renderEvidence(): void {
    const s = section('evidence', 'Hosts and evidence');
    add(s, el('h3', null, 'Hosts'));
    const per = fleet && Array.isArray(fleet.perHost)
      ? fleet.perHost
      : D.hosts.map((h) => {
          const mine = F.filter((f) => f.host === h);
          let worst: Severity | null = null;
          for (const f of mine) if (worst === null || sevRank(f.severity) > sevRank(worst)) worst = f.severity;
          return { host: h, findings: mine.length, worst, rare: 0, allowlisted: mine.filter((f) => f.allowlisted).length };
        });
    const filesOf = (h: string): number => D.evidence.filter((e) => e.host === h).length;
    add(s, el('div', { class: 'table-wrap' }, el('table', { id: 'hosts-table' },
      el('thead', null, el('tr', null, el('th', null, 'Host'), el('th', { class: 'num' }, 'Findings'), el('th', null, 'Worst'), fleet ? el('th', { class: 'num' }, 'Rare in fleet') : null, el('th', { class: 'num' }, 'Allow-listed'), el('th', { class: 'num' }, 'Evidence files'))),
      el('tbody', null, per.map((h) => {
        const al = (D.hostAliases ?? []).find((a) => a.host === h.host);
        const also = al ? al.aliases.map((x) => el('div', { class: 'muted' }, 'also named ' + vis(x.name) + ': ' + vis(x.why))) : [];
        return el('tr', null, el('td', { class: 'any' }, vis(h.host), also), el('td', { class: 'num' }, String(h.findings)), el('td', null, h.worst ? sevChip(h.worst) : '\u2014'),
          fleet ? el('td', { class: 'num' }, String(h.rare)) : null, el('td', { class: 'num' }, String(h.allowlisted)), el('td', { class: 'num' }, String(filesOf(h.host))));
      })))));

    // evidence read, behind a disclosure (a collection has dozens of files)
    const notesFor = (file: string): HtmlData['notes'] => D.notes.filter((n) => n.file === file);
    const records = D.evidence.reduce((n, e) => n + (e.records || 0), 0);
    add(s, el('details', { id: 'evidence-list', class: 'block' }, el('summary', null, el('h3', null, 'Evidence read: ' + plural(new Set(D.evidence.map((e) => e.file)).size, 'file') + ', ' + plural(records, 'record'))),
      el('div', { class: 'table-wrap' }, el('table', { id: 'evidence-table' },
        el('thead', null, el('tr', null, el('th', null, 'File'), el('th', null, 'Kind'), el('th', null, 'Host'), el('th', { class: 'num' }, 'Records'), el('th', null, 'First'), el('th', null, 'Last'), el('th', null, 'Detail'), el('th', null, 'Warnings'))),
        el('tbody', null, D.evidence.map((e) => {
          const ns = notesFor(e.file);
          return el('tr', null, el('td', { class: 'mono any' }, vis(e.file)), el('td', null, vis(e.kind)), el('td', { class: 'any' }, vis(e.host)), el('td', { class: 'num' }, String(e.records)),
            el('td', { class: 'mono time', title: vis(e.first) }, shortTime(e.first)), el('td', { class: 'mono time', title: vis(e.last) }, shortTime(e.last)), el('td', { class: 'any' }, dash(e.detail)),
            el('td', null, ns.length === 0 ? '\u2014' : el('details', null, el('summary', null, plural(ns.length, 'warning')),
              el('ul', { class: 'plain' }, ns.map((n) => el('li', null, vis(n.level) + ' (' + vis(n.code) + '): ' + vis(n.message)))))));
        }))))));

    // notes about files that are not evidence entries: errors in sight, the skipped ones behind a disclosure
    const files = new Set(D.evidence.map((e) => e.file));
    const other = D.notes.filter((n) => !files.has(n.file));
    const loud = other.filter((n) => n.code !== 'not-evidence');
    const skipped = other.filter((n) => n.code === 'not-evidence');
    if (loud.length > 0) {
      add(s, el('details', { id: 'notes-read', class: 'block', open: loud.some((n) => n.level === 'error') },
        el('summary', null, el('h3', null, 'Files not read, or read in part: ' + loud.length)),
        el('ul', { class: 'plain', id: 'notes-errors' }, loud.map((n) => el('li', null, el('strong', null, vis(n.level)), ' (' + vis(n.code) + ') ', el('span', { class: 'mono any' }, vis(n.file)), ': ', vis(n.message))))));
    }
    if (skipped.length > 0) {
      add(s, el('details', { id: 'notes-skipped', class: 'block' }, el('summary', null, el('h3', null, plural(skipped.length, 'note') + ': skipped as not evidence')),
        el('ul', { class: 'plain' }, skipped.map((n) => el('li', null, el('span', { class: 'mono any' }, vis(n.file)), ': ', vis(n.message))))));
    }

    // coverage blind spots over the findings
    const spots = new Map<string, { source: string; reason: string | null; findings: number[]; worst: Severity | null }>();
    F.forEach((f, i) => {
      for (const c of f.coverage) {
        if (c.saw) continue;
        const key = c.source + '\u0000' + (c.reason ?? '');
        let g = spots.get(key);
        if (!g) {
          g = { source: c.source, reason: c.reason, findings: [], worst: null };
          spots.set(key, g);
        }
        g.findings.push(i);
        if (g.worst === null || sevRank(f.severity) > sevRank(g.worst)) g.worst = f.severity;
      }
    });
    const rows = Array.from(spots.values()).sort((a, b) => sevRank(b.worst) - sevRank(a.worst) || b.findings.length - a.findings.length || compareName(a.source, b.source));
    const hc = D.coverage ?? [];
    add(s, el('details', { id: 'coverage', class: 'block' }, el('summary', null, el('h3', null, 'Coverage: ' + plural(rows.length, 'blind spot') + ' over the findings, ' + plural(hc.length, 'host') + ' described')),
      rows.length === 0
        ? el('p', { class: 'muted' }, 'Every source that could have seen the findings saw them (or there are no findings).')
        : el('table', { id: 'blind-spots' },
            el('thead', null, el('tr', null, el('th', null, 'Source'), el('th', null, 'Why it could not see'), el('th', { class: 'num' }, 'Findings'), el('th', null, 'Worst'))),
            el('tbody', null, rows.map((g) => el('tr', null, el('td', null, vis(g.source)), el('td', null, g.reason ? vis(g.reason) : '(no reason recorded)'), el('td', { class: 'num' }, String(g.findings.length)), el('td', null, g.worst ? sevChip(g.worst) : '\u2014'))))),
      hc.length > 0 ? [el('h4', null, 'What each host\'s evidence cannot show'), el('div', { id: 'host-coverage' }, hc.map((h) => {
        const present = [h.sysmon.present ? 'Sysmon' + (h.sysmon.wmiEventIds.length ? ' (' + h.sysmon.wmiEventIds.join(', ') + ')' : ' (no 19-21)') : '',
          h.wmiActivity.present ? 'WMI-Activity' + (h.wmiActivity.ids.length ? ' (' + h.wmiActivity.ids.join(', ') + ')' : '') : '',
          h.powershell.present ? 'PowerShell' : '', h.repositories.length ? 'repository' : ''].filter((x) => x);
        return el('details', { class: 'host-coverage' },
          el('summary', null, vis(h.host) + ': ' + plural(h.blindSpots.length, 'blind spot') + (present.length ? ' \u00b7 has ' + present.join(', ') : '')),
          el('ul', { class: 'plain' }, h.blindSpots.map((b) => el('li', null, vis(b)))));
      }))] : null));

    // Sigma: what loaded, what was refused, and the hits on records of no finding (a finding shows its own as reasons)
    const sg = D.sigma ?? null;
    if (sg) {
      const SHOWN = 1000;
      add(s, el('details', { id: 'sigma', class: 'block' },
        el('summary', null, el('h3', null, 'Sigma: ' + plural(sg.loaded, 'rule') + ' loaded of ' + plural(sg.files, 'file') + ', ' + plural(sg.events.length + sg.eventsNotListed, 'hit') + ' on records of no finding')),
        el('p', { class: 'muted' }, String(sg.notApplicable.count) + ' for log sources wmiscope does not read (' + Object.entries(sg.notApplicable.byLogsource).sort((a, b) => b[1] - a[1]).map(([k, n]) => vis(k) + ' ' + n).join(', ') + '); ' + plural(sg.eventHits, 'event hit') + ' in all. Hits on the records of a finding are among its reasons (sigma:<id>).'),
        sg.notLoaded.length ? el('details', { class: 'block' }, el('summary', null, plural(sg.notLoaded.length, 'rule') + ' not loaded'), el('ul', { class: 'plain', id: 'sigma-not-loaded' }, sg.notLoaded.map((n) => el('li', null, el('span', { class: 'mono any' }, vis(n.file)), n.id ? ' (' + vis(n.id) + ')' : '', ': ', vis(n.why))))) : null,
        sg.events.length === 0 ? null : el('div', { class: 'table-wrap' }, el('table', { id: 'sigma-events' },
          el('thead', null, el('tr', null, el('th', null, 'Level'), el('th', null, 'Rule'), el('th', null, 'Host'), el('th', null, 'Time'), el('th', null, 'Record'), el('th', null, 'Matched'))),
          el('tbody', null, sg.events.slice(0, SHOWN).map((h) => el('tr', null, el('td', null, vis(h.rule.level)),
            el('td', { class: 'any', title: vis(h.rule.id) + (h.rule.author ? ' \u00b7 rule by ' + vis(h.rule.author) : '') }, vis(h.rule.title)),
            el('td', { class: 'any' }, vis(h.host)), el('td', { class: 'mono time', title: vis(h.time) }, shortTime(h.time)),
            el('td', { class: 'mono any' }, vis(h.location) + ' of ' + vis(h.file)),
            el('td', { class: 'mono any' }, h.matched.map((m) => vis(m.field) + '=' + vis(m.value)).join('; '))))))),
        sg.events.length > SHOWN || sg.eventsNotListed ? el('p', { class: 'muted' }, 'The first ' + Math.min(SHOWN, sg.events.length) + ' are shown; ' + (sg.events.length + sg.eventsNotListed - Math.min(SHOWN, sg.events.length)) + ' more are in the JSON report (up to 5,000 listed, the rest counted).') : null));
    }

    // fleet stacking
    if (fleet) {
      add(s, el('h3', null, 'Stacking across hosts'));
      add(s, el('p', { class: 'muted' }, plural(fleet.hosts, 'host') + ', ' + plural(fleet.stacks.length, 'distinct subscription') + ', rarest first' +
        (fleet.hosts < fleet.minHostsForRanking ? ' (fewer than ' + fleet.minHostsForRanking + ' hosts: nothing is ranked rare or common)' : '') + '.'));
      add(s, el('div', { class: 'table-wrap' }, el('table', { id: 'stacks-table', class: 'fixed' },
        el('thead', null, el('tr', null, el('th', { class: 'num w-hosts' }, 'Hosts'), el('th', { class: 'w-sev' }, 'Severity'), el('th', { class: 'w-ns' }, 'Namespace'), el('th', null, 'Consumer'), el('th', null, 'Payload'), el('th', { class: 'w-hash' }, 'Payload hash'), el('th', null, 'On'))),
        el('tbody', null, fleet.stacks.map((st) => el('tr', null,
          el('td', { class: 'num' }, st.count + ' / ' + fleet.hosts, st.rare ? el('span', { class: 'tag tag-rare' }, 'rare') : null, st.common ? el('span', { class: 'tag tag-common' }, 'common') : null),
          el('td', null, sevChip(st.severity)), el('td', { class: 'mono name' }, st.namespace ? breakable(vis(st.namespace)) : '\u2014'),
          el('td', { class: 'name' }, st.name ? breakable(cut(vis(st.name), 80)) : '\u2014', st.className ? el('span', { class: 'cls' }, breakableClass(' [' + vis(st.className) + ']')) : null),
          el('td', { class: 'mono runs', title: vis(st.summary) }, el('div', { class: 'clamp' }, st.summary ? cut(vis(st.summary), 240) : '\u2014')),
          el('td', { class: 'mono any' }, vis(st.payloadHash)),
          el('td', { class: 'name' }, st.hosts.slice(0, 8).map(vis).join(', ') + (st.hosts.length > 8 ? ' \u2026 +' + (st.hosts.length - 8) : ''))))))));
    }
    add(app, s);
  }

  // ---------------------------------------------------------------------------------------- findings
  interface Column {
    key: string;
    label: string;
    num?: boolean;
    fleet?: boolean;
    sort: (i: number) => number | string;
  }
  const timeKey = (v: string | null): number => plausibleTime(v) ?? parseIsoTime(v) ?? -Infinity;
  const COLS: Column[] = ([
    { key: 'mark', label: 'Known good', sort: (i) => (isMarked(i) ? 1 : 0) },
    { key: 'severity', label: 'Severity', sort: (i) => sevRank(F[i]!.severity) },
    { key: 'score', label: 'Score', num: true, sort: (i) => F[i]!.score },
    { key: 'host', label: 'Host', sort: (i) => F[i]!.host },
    { key: 'namespace', label: 'Namespace', sort: (i) => nsOf(F[i]!) },
    { key: 'status', label: 'Status', sort: (i) => F[i]!.status },
    { key: 'filter', label: 'Filter', sort: (i) => filterLabel(i) },
    { key: 'consumer', label: 'Consumer', sort: (i) => consumerLabel(i) },
    { key: 'summary', label: 'Payload', sort: (i) => F[i]!.summary || '' },
    { key: 'seen', label: 'Seen by', sort: (i) => META[i]!.seen.join(', ') },
    { key: 'stack', label: 'Hosts with it', num: true, fleet: true, sort: (i) => (F[i]!.stack ? F[i]!.stack!.hosts : 0) },
    { key: 'first', label: 'First seen', sort: (i) => timeKey(F[i]!.firstSeen) },
    { key: 'last', label: 'Last seen', sort: (i) => timeKey(F[i]!.lastSeen) },
  ] as Column[]).filter((c) => !c.fleet || fleet !== null);

  const tbody = el('tbody');
  const countLabel = el('p', { id: 'findings-count', 'aria-live': 'polite' });
  const detailBox = el('div', { id: 'detail' });
  const rowsByIndex: HTMLTableRowElement[] = [];

  function makeSelect(id: 'severity' | 'host' | 'namespace' | 'status' | 'source', label: string, values: string[], labelOf?: (v: string) => string): HTMLElement {
    const sel = el('select', { id: 'filter-' + id, name: id });
    const all = el('option', null, 'all');
    all.value = '';
    sel.appendChild(all);
    values.forEach((v, k) => {
      const o = el('option', null, labelOf ? labelOf(v) : vis(v));
      o.value = String(k);
      sel.appendChild(o);
    });
    sel.addEventListener('change', () => {
      filters[id] = sel.value;
      update();
    });
    return el('label', { for: 'filter-' + id }, label, sel);
  }

  function renderFindings(): void {
    const s = section('findings', 'Findings');
    const q = el('input', { id: 'filter-q', type: 'search', placeholder: 'names, commands, files, rule ids\u2026', spellcheck: 'false' });
    // typing redraws after a short pause, not on every key
    q.addEventListener('input', () => {
      if (qTimer !== null) clearTimeout(qTimer);
      qTimer = setTimeout(() => {
        qTimer = null;
        filters.q = q.value;
        update();
      }, 150);
    });
    const triage = el('select', { id: 'filter-triage', name: 'triage' });
    const allT = el('option', null, 'all');
    allT.value = '';
    triage.appendChild(allT);
    for (const [value, text] of TRIAGE) {
      const o = el('option', null, text);
      o.value = value;
      triage.appendChild(o);
    }
    triage.addEventListener('change', () => {
      filters.triage = triage.value;
      update();
    });
    const reset = el('button', { type: 'button', id: 'filter-reset' }, 'Clear filters');
    reset.addEventListener('click', () => {
      if (qTimer !== null) {
        clearTimeout(qTimer);
        qTimer = null;
      }
      for (const k of Object.keys(filters) as FilterKey[]) filters[k] = '';
      s.querySelectorAll<HTMLSelectElement>('.filters select').forEach((x) => {
        x.value = '';
      });
      q.value = '';
      update();
    });
    add(s, el('div', { class: 'filters', role: 'search' },
      makeSelect('severity', 'Severity', lists.severity),
      makeSelect('host', 'Host', lists.host),
      makeSelect('status', 'Status', lists.status),
      makeSelect('namespace', 'Namespace', lists.namespace, (v) => (v === '' ? '(unknown)' : vis(v))),
      makeSelect('source', 'Source', lists.source),
      el('label', { for: 'filter-triage' }, 'Triage', triage),
      el('label', { for: 'filter-q' }, 'Search', q),
      reset));
    add(s, countLabel);
    const headRow = el('tr');
    for (const c of COLS) {
      const th = el('th', { class: 'sortable col-' + c.key + (c.num ? ' num' : ''), scope: 'col', tabindex: '0', 'data-prop': c.key, title: 'sort by ' + c.label.toLowerCase() }, c.label);
      const go = (): void => {
        if (state.sort === c.key) state.dir = -state.dir;
        else {
          state.sort = c.key;
          state.dir = c.key === 'severity' || c.key === 'score' || c.key === 'stack' ? -1 : 1;
        }
        update();
      };
      th.addEventListener('click', go);
      th.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          go();
        }
      });
      headRow.appendChild(th);
    }
    add(s, el('div', { class: 'table-wrap' }, el('table', { id: 'findings-table' }, el('thead', null, headRow), tbody)));
    if (F.length === 0) add(s, el('p', { class: 'muted' }, 'No WMI event subscription was found in the evidence read.'));
    F.forEach((_f, i) => {
      rowsByIndex[i] = makeRow(i);
    });
    add(s, detailBox);
    add(app, s);
  }

  function cell(c: Column, i: number): HTMLTableCellElement {
    const f = F[i]!;
    switch (c.key) {
      case 'mark': {
        const box = el('input', { type: 'checkbox', class: 'mark', 'aria-label': 'mark known-good', title: 'mark known-good (builds its allowlist entry)' });
        box.checked = isMarked(i);
        box.addEventListener('click', (ev) => ev.stopPropagation());
        box.addEventListener('change', () => setMark(i, box.checked));
        return el('td', null, box);
      }
      case 'severity':
        return el('td', null, sevChip(f.severity), f.allowlisted ? (f.allowlisted.justification !== undefined ? el('span', { class: 'tag tag-known', title: 'suppressed by rule ' + vis(f.allowlisted.entry) + ': ' + vis(f.allowlisted.justification) }, 'suppressed') : el('span', { class: 'tag tag-known', title: 'allow-listed by ' + vis(f.allowlisted.by) }, 'allow-listed')) : null);
      case 'score':
        return el('td', { class: 'num' }, String(f.score));
      case 'host':
        return el('td', { class: 'name', title: vis(f.host) }, breakable(cut(vis(f.host), 60)));
      case 'namespace':
        return el('td', { class: 'mono name', title: f.namespace ? vis(f.namespace) : null }, f.namespace ? breakable(cut(vis(f.namespace), 80)) : '(unknown)',
          f.namespace && !isDefaultNs(f.namespace) ? el('span', { class: 'tag tag-custom', title: 'not root\\subscription or root\\default' }, 'custom') : null);
      case 'status':
        return el('td', null, vis(f.status));
      case 'filter': {
        const label = filterLabel(i);
        return el('td', { class: 'name', title: label }, el('div', { class: 'clamp' }, breakable(cut(label, 100))));
      }
      case 'consumer': {
        const [name, cls] = consumerParts(i);
        return el('td', { class: 'name', title: name + cls }, el('div', { class: 'clamp' }, breakable(cut(name, 100))), cls ? el('span', { class: 'cls' }, breakableClass(cut(cls, 60))) : null);
      }
      case 'summary':
        return el('td', { class: 'mono runs', title: vis(f.summary) }, el('div', { class: 'clamp' }, f.summary ? cut(vis(f.summary), 240) : '\u2014'));
      case 'seen':
        return el('td', null, META[i]!.seen.length ? META[i]!.seen.map(vis).join(', ') : '(no source)');
      case 'stack':
        return el('td', { class: 'num' }, f.stack ? f.stack.hosts + ' / ' + f.stack.fleetHosts : '\u2014',
          f.stack && f.stack.rare ? el('span', { class: 'tag tag-rare' }, 'rare') : null, f.stack && f.stack.common ? el('span', { class: 'tag tag-common' }, 'common') : null);
      case 'first':
        return el('td', { class: 'mono time', title: vis(f.firstSeen) }, shortTime(f.firstSeen));
      case 'last':
        return el('td', { class: 'mono time', title: vis(f.lastSeen) }, shortTime(f.lastSeen));
    }
    return el('td');
  }

  function makeRow(i: number): HTMLTableRowElement {
    const tr = el('tr', { class: 'finding-row', tabindex: '0', 'data-i': String(i) });
    for (const c of COLS) {
      const td = cell(c, i);
      td.classList.add('col-' + c.key);
      tr.appendChild(td);
    }
    tr.addEventListener('click', () => select(i, true));
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        select(i, true);
      }
    });
    return tr;
  }

  /** The findings the filters keep, in the order the analyst chose (text case-insensitive, as everywhere). */
  function visibleOrder(): number[] {
    const idx = F.map((_f, i) => i).filter(matches);
    const col = state.sort ? COLS.find((c) => c.key === state.sort) : undefined;
    if (col) {
      idx.sort((a, b) => {
        const x = col.sort(a);
        const y = col.sort(b);
        const r = typeof x === 'number' && typeof y === 'number' ? (x === y ? 0 : x < y ? -1 : 1) : compareName(String(x), String(y));
        return r * state.dir || a - b;
      });
    }
    return idx;
  }

  function rowClass(i: number): string {
    return 'finding-row' + (isMarked(i) ? ' known' : '') + (state.selected === i ? ' selected' : '');
  }

  function renderRows(order: number[]): void {
    clear(tbody);
    for (const i of order) {
      const tr = rowsByIndex[i]!;
      tr.className = rowClass(i);
      const box = tr.querySelector<HTMLInputElement>('input.mark');
      if (box) box.checked = isMarked(i);
      tbody.appendChild(tr);
    }
    document.querySelectorAll('#findings-table th').forEach((th) => {
      if (th.getAttribute('data-prop') === state.sort) th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    countLabel.setAttribute('data-q', filters.q);
    countLabel.textContent = order.length + ' of ' + plural(F.length, 'finding') + ' shown' + (marks.size ? ', ' + marks.size + ' marked known-good' : '');
  }

  // ---------------------------------------------------------------------------------------- one finding
  const PAYLOAD_KEYS = ['commandlinetemplate', 'executablepath', 'workingdirectory', 'scripttext', 'scriptfilename', 'text', 'filename', 'message', 'subject', 'query'];

  const isBlock = (k: string, v: WmiValue): boolean => typeof v === 'string' && (PAYLOAD_KEYS.includes(k.toLowerCase()) || v.length > 100 || /[\r\n]/.test(v));

  /** dt/dd pairs of an object's values; payloads, scripts and long or multi-line values as code blocks. */
  function valuePairs(values: Record<string, WmiValue> | null | undefined, skip?: string[]): Child[] {
    const keys = Object.keys(values ?? {}).filter((k) => !skip || !skip.includes(k.toLowerCase()));
    return keys.map((k) => {
      const v = values![k]!;
      const shown = v === null ? '(null)' : typeof v === 'string' ? v : String(v);
      return [el('dt', null, vis(k)), el('dd', null, isBlock(k, v) ? el('pre', { class: 'payload', 'data-prop': k }, el('code', null, visBlock(shown))) : el('span', { class: 'mono' }, vis(shown)))];
    });
  }

  function valueRows(values: Record<string, WmiValue> | null | undefined): HTMLElement | null {
    const pairs = valuePairs(values);
    return pairs.length ? el('dl', { class: 'kv' }, pairs) : null;
  }

  function partBlock(id: string, title: string, o: SubscriptionObject | null, missing: string): Child[] {
    if (!o) return [el('h4', null, title), el('p', { class: 'muted', id: 'detail-' + id }, missing)];
    return [el('h4', null, title),
      el('dl', { class: 'kv', id: 'detail-' + id },
        el('dt', null, 'Name'), el('dd', null, dash(o.name)),
        el('dt', null, 'Class'), el('dd', null, dash(o.className)),
        el('dt', null, 'Namespace'), el('dd', { class: 'mono' }, dash(o.namespace)),
        valuePairs(o.values, ['name']))];
  }

  function attackLinks(ids: string[]): Child[] {
    return ids.map((id, k) => {
      const t = String(id);
      const node = ATTACK_ID.test(t)
        ? el('a', { href: 'https://attack.mitre.org/techniques/' + t.replace('.', '/') + '/', rel: 'noopener noreferrer', target: '_blank', class: 'attack' }, t)
        : el('span', null, vis(t));
      return k === 0 ? node : [', ', node];
    });
  }

  function select(i: number, scroll: boolean): void {
    state.selected = i;
    for (const tr of Array.from(tbody.children)) {
      const k = Number(tr.getAttribute('data-i'));
      tr.className = rowClass(k);
    }
    renderDetail();
    if (scroll && detailBox.scrollIntoView) detailBox.scrollIntoView({ block: 'start' });
  }

  function renderDetail(): void {
    clear(detailBox);
    const i = state.selected;
    const f = F[i];
    if (i < 0 || !f) {
      detailBox.className = '';
      return;
    }
    detailBox.className = 'detail';
    const markBtn = el('button', { type: 'button', id: 'detail-mark', class: isMarked(i) ? '' : 'primary' }, isMarked(i) ? 'Unmark known-good' : 'Mark known-good');
    markBtn.addEventListener('click', () => setMark(i, !isMarked(i)));
    const close = el('button', { type: 'button', id: 'detail-close' }, 'Close');
    close.addEventListener('click', () => {
      state.selected = -1;
      update();
    });
    const who = (f.who ?? []).map(vis).join('; ');
    const st = f.stack;
    const plan = D.allow[i];
    add(detailBox,
      el('h3', null, sevChip(f.severity), ' ', filterLabel(i), ' \u2192 ', consumerLabel(i)),
      el('div', { class: 'row-actions' }, markBtn, close, isMarked(i) ? el('span', { class: 'tag tag-known' }, 'marked known-good') : null),
      el('dl', { class: 'kv', id: 'detail-facts' },
        el('dt', null, 'Finding id'), el('dd', { class: 'mono' }, vis(f.id)),
        el('dt', null, 'Host'), el('dd', null, vis(f.host)),
        el('dt', null, 'Namespace'), el('dd', { class: 'mono' }, dash(f.namespace), f.namespace && !isDefaultNs(f.namespace) ? el('span', { class: 'tag tag-custom' }, 'custom namespace') : null),
        el('dt', null, 'Status'), el('dd', null, vis(f.status)),
        el('dt', null, 'Score'), el('dd', null, String(f.score)),
        el('dt', null, 'First seen'), el('dd', { class: 'mono' }, dash(f.firstSeen)),
        el('dt', null, 'Last seen'), el('dd', { class: 'mono' }, dash(f.lastSeen)),
        el('dt', null, 'Who'), el('dd', null, who || '\u2014'),
        el('dt', null, 'Allow-listed'), el('dd', null, f.allowlisted ? (f.allowlisted.justification !== undefined ? 'suppressed by rule ' + vis(f.allowlisted.entry) + ' (' + vis(f.allowlisted.by) + '): ' + vis(f.allowlisted.justification) : 'yes, by ' + vis(f.allowlisted.by) + ': ' + vis(f.allowlisted.entry)) : 'no'),
        st ? [el('dt', null, 'Fleet'), el('dd', { id: 'detail-stack' }, 'on ' + st.hosts + ' of ' + plural(st.fleetHosts, 'host') + (st.rare ? ' (rare)' : st.common ? ' (common)' : '') + ' \u00b7 payload ' + vis(st.payloadHash))] : null),
      el('h4', null, 'Payload'), el('pre', { class: 'summary' }, el('code', null, f.summary ? visBlock(f.summary) : '(nothing recorded)')),
      runsBlock(f),
      partBlock('filter', 'Filter', f.filter, 'No filter was found.'),
      partBlock('consumer', 'Consumer', f.consumer, 'No consumer was found.'),
      f.decoded && f.decoded.length ? [el('h4', null, 'Decoded payloads'), f.decoded.map((d) => el('pre', { class: 'decoded' }, el('code', null, visBlock(d))))] : null,
      partBlock('binding', 'Binding', f.binding, 'No binding was found.'),
      el('h4', null, 'Reasons'),
      f.reasons.length === 0 ? el('p', { class: 'muted' }, '(none)') : el('div', { class: 'table-wrap' }, el('table', { class: 'reasons' },
        el('thead', null, el('tr', null, el('th', null, 'Rule'), el('th', null, 'Title'), el('th', null, 'ATT&CK'), el('th', { class: 'num' }, 'Score'), el('th', null, 'Evidence'))),
        el('tbody', null, f.reasons.map((r) => el('tr', null, el('td', { class: 'mono' }, vis(r.id)), el('td', null, vis(r.title)), el('td', null, attackLinks(r.attack ?? [])),
          el('td', { class: 'num' }, (r.score >= 0 ? '+' : '') + r.score), el('td', { class: 'any' }, el('span', { class: 'mono' }, vis(r.evidence)))))))),
      el('h4', null, 'Coverage'),
      el('dl', { class: 'kv', id: 'detail-coverage' },
        el('dt', null, 'Seen by'), el('dd', null, el('ul', { class: 'plain' }, f.coverage.filter((c) => c.saw).map((c) => el('li', { class: 'saw' }, vis(c.source))))),
        el('dt', null, 'Missed by'), el('dd', null, el('ul', { class: 'plain' }, f.coverage.filter((c) => !c.saw).map((c) => el('li', null, el('span', { class: 'missed' }, vis(c.source)), c.reason ? ': ' + vis(c.reason) : ''))))),
      el('h4', null, 'Observations (' + f.observations.length + ')'),
      el('div', { class: 'table-wrap' }, el('table', { class: 'observations' },
        el('thead', null, el('tr', null, el('th', null, 'Time'), el('th', null, 'Source'), el('th', null, 'Action'), el('th', null, 'Part'), el('th', null, 'Object'), el('th', null, 'User'), el('th', null, 'File'), el('th', null, 'Record'), el('th', null, 'Properties'), el('th', null, 'Source details'))),
        el('tbody', null, f.observations.map((o) => {
          const props = Object.keys(o.properties ?? {});
          const meta = Object.keys(o.meta ?? {});
          return el('tr', null, el('td', { class: 'mono time', title: vis(o.time) }, shortTime(o.time)), el('td', null, vis(o.source)), el('td', null, vis(o.action)), el('td', null, dash(o.part)),
            el('td', { class: 'any' }, (o.className ? vis(o.className) + ' ' : '') + (o.name !== null && o.name !== undefined ? '"' + vis(o.name) + '"' : ''), o.namespace ? el('div', { class: 'muted mono' }, vis(o.namespace)) : null),
            el('td', { class: 'any' }, dash(o.user)), el('td', { class: 'mono any' }, vis(o.file)), el('td', { class: 'mono any' }, dash(o.location)),
            el('td', null, props.length ? el('details', null, el('summary', null, plural(props.length, 'property', 'properties')), valueRows(o.properties)) : '\u2014'),
            el('td', null, powershellNotes(o) ? el('div', { class: 'ps-notes' }, vis(powershellNotes(o))) : null, meta.length ? el('details', null, el('summary', null, plural(meta.length, 'value')), valueRows(o.meta)) : '\u2014'));
        })))),
      el('h4', null, 'Allowlist entry'),
      plan && plan.problem
        ? el('p', { class: 'notice', id: 'detail-allow-problem' }, 'No exact allowlist entry can be written for this finding: ' + vis(plan.problem) + '.')
        : yamlBox('detail-yaml', allowlistYaml([i])));
  }

  /**
   * What the subscription demonstrably ran (model/runs.ts): "ran N times between A and B" and each record (time, what
   * it is, command line, user, parent, file @ record). Nothing when no record ties a run: that says nothing either way.
   */
  function runsBlock(f: Finding): Child {
    const r = f.runs;
    if (!r) return null;
    return [
      el('h4', null, 'Ran'),
      el('p', { id: 'detail-ran' }, vis(ranText(r))),
      el('div', { class: 'table-wrap' }, el('table', { class: 'runs-table', id: 'detail-runs' },
        el('thead', null, el('tr', null, el('th', { class: 'num' }, 'Run'), el('th', null, 'Time'), el('th', null, 'Record'), el('th', null, 'Command line'), el('th', null, 'User'), el('th', null, 'Parent'), el('th', null, 'File @ record'))),
        el('tbody', null, r.records.map((x) => el('tr', null,
          el('td', { class: 'num' }, String(x.run)),
          el('td', { class: 'mono time', title: vis(x.time) }, shortTime(x.time)),
          el('td', null, vis(x.kind)),
          el('td', { class: 'mono any' }, dash(x.commandLine ?? x.image)),
          el('td', { class: 'any' }, dash(x.user)),
          el('td', { class: 'mono any' }, dash(x.parent), x.parentFrom ? el('div', { class: 'muted' }, 'by process id, from ' + vis(x.parentFrom)) : null),
          el('td', { class: 'mono any', title: vis(x.location) }, vis(x.file) + ' @ ' + (x.recordId !== null ? 'record ' + vis(x.recordId) : vis(x.location)))))))),
    ];
  }

  function yamlBox(id: string, text: string): HTMLTextAreaElement {
    const t = el('textarea', { id, class: 'yaml', readonly: true, spellcheck: 'false', rows: '10', 'aria-label': 'allowlist YAML' });
    t.value = text;
    return t;
  }

  // ---------------------------------------------------------------------------------------- timeline
  const timelineBox = el('div', { class: 'timeline-wrap', id: 'timeline-box' });
  const timelineNote = el('p', { class: 'muted', id: 'timeline-count' });
  const TL_ACTIONS = ['created', 'modified', 'deleted'];

  function renderTimelineSection(): void {
    const s = section('timeline', 'Timeline');
    add(s, el('p', { class: 'muted' }, 'Every created, modified and deleted observation with a time, and every process a subscription ran, one lane per host, for the findings the filters show. Point at a marker for its details; click it to open its finding.'));
    add(s, el('div', { class: 'legend' },
      el('span', null, el('span', { class: 'sw sw-created' }), 'created'),
      el('span', null, el('span', { class: 'sw sw-modified' }), 'modified'),
      el('span', null, el('span', { class: 'sw sw-deleted' }), 'deleted'),
      el('span', null, el('span', { class: 'sw sw-ran' }), 'ran a process'),
      el('span', { class: 'muted' }, 'within a lane: filter above, consumer in the middle, binding below')));
    add(s, timelineNote, timelineBox);
    add(app, s);
  }

  function renderTimeline(order: number[]): void {
    clear(timelineBox);
    const events: Array<{ i: number; o: Finding['observations'][number]; t: number; host: string }> = [];
    let untimed = 0;
    for (const i of order) {
      for (const o of F[i]!.observations) {
        if (!TL_ACTIONS.includes(o.action) && !isRun(o)) continue;
        const t = plausibleTime(o.time);
        if (t === null) {
          untimed++;
          continue;
        }
        events.push({ i, o, t, host: o.host || F[i]!.host });
      }
    }
    if (events.length === 0) {
      timelineNote.textContent = 'No created, modified or deleted observation or run with a time among the findings shown' + (untimed ? ' (' + untimed + ' without a usable time)' : '') + '.';
      timelineBox.hidden = true;
      return;
    }
    timelineBox.hidden = false;
    const hosts = uniq(events.map((e) => e.host)).sort(compareName);
    timelineNote.textContent = plural(events.length, 'event') + ' on ' + plural(hosts.length, 'host') + (untimed ? '; ' + untimed + ' without a usable time are not drawn' : '') + '.';
    const W = 1100, LEFT = 200, RIGHT = 40, TOP = 44, LANE = 36, BOTTOM = 12;
    const H = TOP + hosts.length * LANE + BOTTOM;
    // a loop, not Math.min(...events): a spread of some 150,000 events overflows the stack
    let t0 = events.reduce((m, e) => Math.min(m, e.t), Infinity);
    let t1 = events.reduce((m, e) => Math.max(m, e.t), -Infinity);
    if (t1 - t0 < 1000) {
      t0 -= 30000;
      t1 += 30000;
    }
    const pad = (t1 - t0) * 0.03;
    t0 -= pad;
    t1 += pad;
    const x = (t: number): number => LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - RIGHT);
    const root = svg('svg', { class: 'timeline', width: String(W), height: String(H), viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'timeline of created, modified and deleted WMI objects and the processes they ran' });
    hosts.forEach((h, k) => {
      const y = TOP + k * LANE;
      root.appendChild(svg('rect', { class: k % 2 ? 'lane-alt' : 'lane', x: '0', y: String(y), width: String(W), height: String(LANE) }));
      const label = vis(h);
      root.appendChild(svg('text', { x: '8', y: String(y + LANE / 2 + 4) }, cut(label, 28), svg('title', null, label)));
    });
    const TICKS = 6;
    for (let k = 0; k <= TICKS; k++) {
      const tt = t0 + ((t1 - t0) * k) / TICKS;
      const xx = x(tt);
      const [day, time] = utcDateAndTime(tt);
      root.appendChild(svg('line', { class: 'grid', x1: String(xx), x2: String(xx), y1: String(TOP), y2: String(H - BOTTOM) }));
      root.appendChild(svg('text', { class: 'tick', x: String(xx), y: '16', 'text-anchor': 'middle' }, day));
      root.appendChild(svg('text', { class: 'tick', x: String(xx), y: '30', 'text-anchor': 'middle' }, time + 'Z'));
    }
    root.appendChild(svg('line', { class: 'axis', x1: String(LEFT), x2: String(W - RIGHT), y1: String(TOP), y2: String(TOP) }));
    const OFFSET: Record<string, number> = { filter: -9, consumer: 0, binding: 9 };
    for (const e of events.sort((a, b) => a.t - b.t)) {
      const cx = x(e.t);
      const cy = TOP + hosts.indexOf(e.host) * LANE + LANE / 2 + (OFFSET[e.o.part ?? ''] ?? 0);
      const tip = [vis(e.o.time) + '  ' + vis(e.host), vis(e.o.source) + ' ' + vis(e.o.part || 'object') + ' ' + vis(e.o.action) + (e.o.user ? ' by ' + vis(e.o.user) : ''),
        (e.o.className ? vis(e.o.className) + ' ' : '') + (e.o.name !== null && e.o.name !== undefined ? '"' + vis(e.o.name) + '"' : ''),
        vis(e.o.file) + (e.o.location ? ' @ ' + vis(e.o.location) : ''),
        'finding: ' + vis(F[e.i]!.severity) + ' \u00b7 ' + filterLabel(e.i) + ' \u2192 ' + consumerLabel(e.i)].join('\n');
      const ran = isRun(e.o);
      const attrs: Record<string, string> = { class: 'ev ev-' + (ran ? 'ran' : e.o.action), tabindex: '0', role: 'button', 'data-i': String(e.i), 'aria-label': ran ? 'ran a process' : e.o.action + ' ' + (e.o.part || 'object') };
      let mark: SVGElement;
      if (ran) {
        const what = typeof e.o.meta['CommandLine'] === 'string' && e.o.meta['CommandLine'] ? e.o.meta['CommandLine'] : typeof e.o.meta['Image'] === 'string' ? e.o.meta['Image'] : typeof e.o.meta['ProviderPath'] === 'string' ? e.o.meta['ProviderPath'] : 'a process';
        const runTip = [vis(e.o.time) + '  ' + vis(e.host), 'ran: ' + vis(what) + (e.o.user ? ' as ' + vis(e.o.user) : ''),
          vis(e.o.file) + (e.o.location ? ' @ ' + vis(e.o.location) : ''),
          'finding: ' + vis(F[e.i]!.severity) + ' \u00b7 ' + filterLabel(e.i) + ' \u2192 ' + consumerLabel(e.i)].join('\n');
        mark = svg('polygon', { ...attrs, points: cx - 5.5 + ',' + (cy + 5) + ' ' + (cx + 5.5) + ',' + (cy + 5) + ' ' + cx + ',' + (cy - 5.5) }, svg('title', null, runTip));
      } else if (e.o.action === 'created') mark = svg('circle', { ...attrs, cx: String(cx), cy: String(cy), r: '5' }, svg('title', null, tip));
      else if (e.o.action === 'modified') mark = svg('rect', { ...attrs, x: String(cx - 4.5), y: String(cy - 4.5), width: '9', height: '9' }, svg('title', null, tip));
      else mark = svg('polygon', { ...attrs, points: cx - 5.5 + ',' + (cy - 5) + ' ' + (cx + 5.5) + ',' + (cy - 5) + ' ' + cx + ',' + (cy + 5.5) }, svg('title', null, tip));
      mark.addEventListener('click', () => select(e.i, true));
      mark.addEventListener('keydown', (ev) => {
        if ((ev as KeyboardEvent).key === 'Enter') select(e.i, true);
      });
      root.appendChild(mark);
    }
    timelineBox.appendChild(root);
  }

  // ---------------------------------------------------------------------------------------- namespaces
  interface NsNode {
    seg: string;
    path: string;
    kids: NsNode[];
    byKey: Map<string, NsNode>;
    holds: number[];
  }

  function renderNamespaces(): void {
    const s = section('namespaces', 'Namespaces');
    add(s, el('p', { class: 'muted' }, 'Where the subscriptions live, per host. Namespaces other than ROOT\\subscription and ROOT\\default are marked custom: Sysmon, Autoruns and many collectors do not look there. Click a namespace to show its findings.'));
    const hostsWith = uniq(F.map((f) => f.host)).sort(compareName);
    for (const h of hostsWith) {
      const root: NsNode = { seg: '', path: '', kids: [], byKey: new Map(), holds: [] };
      const unknown: number[] = [];
      F.forEach((f, i) => {
        if (f.host !== h) return;
        if (META[i]!.namespaces.length === 0) {
          unknown.push(i);
          return;
        }
        for (const ns of META[i]!.namespaces) {
          const segs = String(ns).replace(/\//g, '\\').split('\\').filter((x) => x !== '');
          let node = root;
          const path: string[] = [];
          for (const seg of segs) {
            path.push(seg);
            const key = seg.toLowerCase();
            let next = node.byKey.get(key);
            if (!next) {
              next = { seg, path: path.join('\\'), kids: [], byKey: new Map(), holds: [] };
              node.byKey.set(key, next);
              node.kids.push(next);
            }
            node = next;
          }
          if (!node.holds.includes(i)) node.holds.push(i);
        }
      });
      const draw = (node: NsNode): HTMLElement =>
        el('ul', { class: node === root ? 'tree root' : 'tree' }, node.kids.sort((a, b) => compareName(a.seg, b.seg)).map((n) => {
          const custom = n.holds.length > 0 && !isDefaultNs(n.path);
          const label = el('span', { class: 'ns-node' + (n.holds.length ? ' ns-holds' : '') + (custom ? ' ns-custom' : ''), title: vis(n.path) }, vis(n.seg));
          let count: HTMLElement | null = null;
          if (n.holds.length) {
            count = el('button', { type: 'button', class: 'ns-count', title: 'show these findings' }, plural(n.holds.length, 'subscription'));
            count.addEventListener('click', () => showNamespace(h, n.holds));
          }
          return el('li', null, label, ' ', count, custom ? el('span', { class: 'tag tag-custom' }, 'custom namespace') : null, n.kids.length ? draw(n) : null);
        }));
      add(s, el('div', { class: 'host-tree' }, el('h4', null, vis(h)), draw(root),
        unknown.length ? el('p', { class: 'muted' }, plural(unknown.length, 'subscription') + ' in a namespace the evidence does not name') : null));
    }
    const without = D.hosts.filter((h) => !hostsWith.includes(h));
    if (F.length === 0) add(s, el('p', { class: 'muted' }, 'No subscription was found.'));
    if (without.length) add(s, el('p', { class: 'muted', id: 'hosts-without' }, 'No subscription on ' + without.map(vis).join(', ') + '.'));
    add(app, s);
  }

  function showNamespace(host: string, indices: number[]): void {
    const ns = nsOf(F[indices[0]!]!);
    const same = indices.every((i) => nsOf(F[i]!) === ns);
    filters.host = String(lists.host.indexOf(host));
    filters.namespace = same ? String(lists.namespace.indexOf(ns)) : '';
    const hs = document.getElementById('filter-host') as HTMLSelectElement | null;
    const nsSel = document.getElementById('filter-namespace') as HTMLSelectElement | null;
    if (hs) hs.value = filters.host;
    if (nsSel) nsSel.value = filters.namespace;
    update();
    sections['findings']?.scrollIntoView?.({ block: 'start' });
  }

  // ---------------------------------------------------------------------------------------- triage
  const triageYaml = el('textarea', { id: 'triage-yaml', class: 'yaml', readonly: true, spellcheck: 'false', rows: '16', 'aria-label': 'allowlist YAML of the findings marked known-good', placeholder: 'Mark findings known-good (the first column of the findings table, or the button in a finding) to build their allowlist entries here.' });
  const triageList = el('ul', { class: 'plain', id: 'triage-list' });
  const triageStatus = el('p', { class: 'muted', id: 'triage-status', 'aria-live': 'polite' });
  const storageNote = el('p', { class: 'muted', id: 'storage-note' });

  function renderTriageSection(): void {
    const s = section('triage', 'Triage: known-good');
    add(s, el('p', null, 'Marking a finding known-good writes its exact allowlist entry (namespace, filter name and query, consumer class and what it runs) below. Save the text as a .yaml file and scan again with ',
      el('code', null, '--allowlist FILE'), ': the same subscription is then reported as allow-listed at info, and anything that differs in one character is not.'));
    add(s, storageNote);
    const copy = el('button', { type: 'button', id: 'triage-copy', class: 'primary' }, 'Copy YAML');
    copy.addEventListener('click', () => {
      const text = triageYaml.value;
      if (!text) {
        triageStatus.textContent = 'Nothing is marked yet.';
        return;
      }
      const fallback = (): void => {
        triageYaml.focus();
        triageYaml.select();
        let ok = false;
        try {
          ok = document.execCommand('copy');
        } catch {
          ok = false;
        }
        triageStatus.textContent = ok ? 'Copied.' : 'The text is selected: copy it with Ctrl+C.';
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(() => { triageStatus.textContent = 'Copied.'; }, fallback);
      else fallback();
    });
    const clearAll = el('button', { type: 'button', id: 'triage-clear' }, 'Clear all marks');
    clearAll.addEventListener('click', () => {
      marks.clear();
      saveMarks();
      refreshMarks();
    });
    add(s, el('div', { class: 'row-actions' }, copy, clearAll), triageStatus, triageYaml, el('h3', null, 'Marked findings'), triageList);
    add(app, s);
  }

  function renderTriage(): void {
    const marked = F.map((_f, i) => i).filter(isMarked);
    triageYaml.value = allowlistYaml(marked);
    clear(triageList);
    if (marked.length === 0) add(triageList, el('li', { class: 'muted' }, 'none'));
    for (const i of marked) {
      const f = F[i]!;
      const p = D.allow[i];
      const un = el('button', { type: 'button', class: 'unmark' }, 'unmark');
      un.addEventListener('click', () => setMark(i, false));
      const open = el('button', { type: 'button', class: 'open' }, 'open');
      open.addEventListener('click', () => select(i, true));
      add(triageList, el('li', null, sevChip(f.severity), ' ', vis(f.host), ': ', filterLabel(i), ' \u2192 ', consumerLabel(i), ' ',
        f.stack ? el('span', { class: 'tag' + (f.stack.rare ? ' tag-rare' : f.stack.common ? ' tag-common' : '') }, 'on ' + f.stack.hosts + ' of ' + f.stack.fleetHosts + ' hosts') : null,
        p && p.problem ? el('span', { class: 'notice' }, 'no exact entry possible: ' + vis(p.problem)) : null, ' ', open, ' ', un));
    }
    storageNote.textContent = (storage.ok
      ? 'Marks are kept in this browser (local storage, key wmiscope:' + D.reportId + ') and come back when this report is opened again.'
      : 'This browser does not let the page keep marks (' + storage.error + '): they last until the page is closed.') +
      (storage.restored ? ' ' + plural(storage.restored, 'mark was', 'marks were') + ' restored from this browser\'s storage: check them before copying the entries (any other local page opened in this browser can write that storage).' : '') +
      (storage.unreadable ? ' Marks stored for this report could not be read and were ignored.' : '');
  }

  function refreshMarks(): void {
    // with a triage filter the visible set changes: redraw everything; otherwise only what shows the marks
    // (a full redraw rebuilds the timeline, which is slow with thousands of findings)
    if (filters.triage) {
      update();
      return;
    }
    rowsByIndex.forEach((tr, i) => {
      tr.className = rowClass(i);
      const box = tr.querySelector<HTMLInputElement>('input.mark');
      if (box) box.checked = isMarked(i);
    });
    renderDetail();
    renderTriage();
  }

  // ---------------------------------------------------------------------------------------- go
  function update(): void {
    const order = visibleOrder();
    renderRows(order);
    renderTimeline(order);
    renderDetail();
    renderTriage();
  }

  loadMarks();
  renderSummary();
  renderFindings();
  renderTimelineSection();
  renderNamespaces();
  renderTriageSection();
  renderEvidence();
  update();
  document.body.setAttribute('data-ready', 'true');
}
