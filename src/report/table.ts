/**
 * The human report. By default one line per finding (severity, host, namespace, filter → consumer [class], what it
 * runs, status, seen by, id), info and allow-listed findings folded to one line per subscription, the notes about
 * damaged or unreadable evidence, and a summary at the end (findings, what a narrowing hid, hosts, evidence read,
 * notes, why the exit code is what it is). `details` prints one block per finding (or one finding's block).
 *
 * Every value that came from evidence goes through `escapeVisible`, so a consumer named with terminal escape sequences
 * is shown as `\x1b[2J…`, never executed, and a name with a zero-width, bidi or other invisible character never looks
 * like the name without it (nor takes a width the layout cannot know). No line is wider than `width`. Color (ANSI SGR) is added only when asked
 * for, and only around text whose width was already laid out without it.
 */
import type { EvidenceItem, Finding, Observation, ScanResult, Severity, SigmaEventHit, SigmaScan, SubscriptionObject } from '../model/types.js';
import { SEVERITIES, VERBOSE_NOTE_CODES } from '../model/types.js';
import { consumerClassFacts } from '../model/wmi.js';
import { ranText, runLabel } from '../model/runs.js';
import { powershellNotes } from '../model/subscription.js';
import { commonFolder, escapeLines, escapeVisible, formatBytes, formatCount, missedBy, padText, seenBy, textWidth, truncate, truncatePath, wrap } from './text.js';
import { failingFindings, findingById, narrowFindings } from './select.js';
import { changesTableLines } from './diff.js';
import type { FailOn, Narrowing, Selection } from './select.js';

export interface TableOptions extends Narrowing {
  /** ANSI color (severity, headings). Default false. */
  color?: boolean;
  /** Columns; no line is wider. Default 100, at least 40. */
  width?: number;
  /**
   * `true`: one full block per finding (query, reasons, decoded payloads, coverage, every observation), then the
   * fleet and the blind spots of the hosts with findings. A finding id or a unique start of one: that finding's block
   * alone (RangeError when no finding or several have it). Default: one line per finding.
   */
  details?: boolean | string;
  /** Also list the evidence read, every note (the files skipped as not evidence and the links met too) and the hosts' other names. */
  verbose?: boolean;
  /** The findings and the summary only (no notes listed, no header). */
  quiet?: boolean;
  /** The `--fail-on` of the run: the summary then says why the exit code is what it is. */
  failOn?: FailOn;
}

/** Lines kept per payload before it is cut with an ellipsis; reasons' id/title lines are never cut. */
const MAX_LINES = { query: 3, summary: 3, evidence: 3, decoded: 8, values: 2 } as const;
/** Observations listed per finding; the rest are counted (all are in the json/timeline output). */
const MAX_OBSERVATIONS = 12;
const LABEL = 12;
/** Note lines (one per file and level) listed without `-v`. */
const MAX_NOTE_LINES = 10;
/** Fleet entries shown in the details (all are in JSON). */
const MAX_FLEET = 40;

const SGR: Record<Severity, string> = {
  critical: '\x1b[1;97;41m',
  high: '\x1b[1;31m',
  medium: '\x1b[1;33m',
  low: '\x1b[36m',
  info: '\x1b[2m',
};
const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** Severity in the one-line view, four columns wide (as Hayabusa and Chainsaw abbreviate). */
const SHORT_SEVERITY: Record<Severity, string> = { critical: 'crit', high: 'high', medium: 'med', low: 'low', info: 'info' };

class Out {
  readonly lines: string[] = [];
  constructor(
    readonly width: number,
    readonly color: boolean,
  ) {}

  paint(s: string, sgr: string): string {
    return this.color && s ? sgr + s + RESET : s;
  }

  /** A raw line the caller built from already-escaped text; cut to the width. */
  line(s = ''): void {
    this.lines.push(truncate(s, this.width));
  }

  /** A line in parts, each painted after the whole was cut to the width: `[text, sgr]`. */
  painted(parts: ReadonlyArray<readonly [string, string | null]>): void {
    let room = this.width;
    let out = '';
    for (const [text, sgr] of parts) {
      if (room <= 0) break;
      const cut = textWidth(text) <= room ? text : truncate(text, room);
      room -= textWidth(cut);
      out += sgr ? this.paint(cut, sgr) : cut;
    }
    this.lines.push(out.trimEnd());
  }

  /** `  Label      : value` with the value escaped, wrapped under itself and cut after `max` lines. */
  field(label: string, value: string, opts: { max?: number; multiline?: boolean; indent?: number } = {}): void {
    const indent = opts.indent ?? 2;
    const head = ' '.repeat(indent) + label.padEnd(LABEL - 1) + ': ';
    this.block(head, value, opts);
  }

  /** Text under a prefix: first line after `head`, following lines aligned under it. */
  block(head: string, value: string, opts: { max?: number; multiline?: boolean; escaped?: boolean; headSgr?: string } = {}): void {
    const avail = Math.max(10, this.width - textWidth(head));
    const src = opts.escaped ? [value] : opts.multiline ? escapeLines(value) : [escapeVisible(value)];
    let lines = src.flatMap((l) => wrap(l, avail));
    if (opts.max !== undefined && lines.length > opts.max) {
      lines = lines.slice(0, opts.max);
      const last = lines[lines.length - 1]!;
      lines[lines.length - 1] = textWidth(last) + 1 <= avail ? last + '…' : truncate(last + '…', avail);
    }
    const pad = ' '.repeat(textWidth(head));
    lines.forEach((l, i) => {
      const line = truncate((i === 0 ? head : pad) + l, this.width);
      // the head is painted after the cut (it is whole: the value has at least 10 columns)
      this.lines.push(i === 0 && opts.headSgr && line.startsWith(head) ? this.paint(head, opts.headSgr) + line.slice(head.length) : line);
    });
  }

  rule(title = ''): void {
    const head = title ? `── ${title} ` : '';
    const cut = truncate(head, this.width);
    this.lines.push(this.paint(cut + '─'.repeat(Math.max(0, this.width - textWidth(cut))), DIM));
  }
}

function valueOf(obj: SubscriptionObject | null, key: string): string | null {
  if (!obj) return null;
  const k = Object.keys(obj.values).find((x) => x.toLowerCase() === key.toLowerCase());
  const v = k === undefined ? null : obj.values[k];
  return v === null || v === undefined ? null : String(v);
}

function objectLine(o: SubscriptionObject | null, missing: string): string {
  if (!o) return missing;
  const name = o.name ?? '(unnamed)';
  return o.className ? `${name}  [${o.className}]` : name;
}

/** `time  source action part "name" by user`; the class is on the finding's Filter/Consumer lines and in json. */
function observationLine(o: Observation): string {
  const what = [o.source, o.action, o.part ?? 'object', o.name !== null ? `"${o.name}"` : ''].filter(Boolean).join(' ');
  const ps = powershellNotes(o);
  return `${o.time ?? '(no time)'}  ${what}${o.user ? ` by ${o.user}` : ''}${ps ? `  (${ps})` : ''}`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function renderFinding(out: Out, f: Finding, index: number, total: number): void {
  const w = out.width;
  const tag = ` ${escapeVisible(String(f.severity).toUpperCase())} `;
  const rest = escapeVisible(` score ${f.score} · ${f.status} · ${f.host}`);
  const tail = `  (${index}/${total})`;
  const headPlain = truncate(tag + rest, Math.max(tag.length + 1, w - tail.length)) + tail;
  const restFit = headPlain.slice(tag.length, headPlain.length - tail.length);
  out.lines.push('─'.repeat(w));
  out.lines.push(out.paint(tag, SGR[f.severity] ?? BOLD) + out.paint(restFit, BOLD) + tail);

  out.field('Host', f.host);
  out.field('Status', f.status);
  out.field('Namespace', f.namespace ?? '(unknown)');
  out.field('Filter', objectLine(f.filter, '(none found)'));
  const query = valueOf(f.filter, 'Query');
  if (query !== null) out.field('Query', query, { max: MAX_LINES.query });
  const eventNs = valueOf(f.filter, 'EventNamespace');
  if (eventNs !== null) out.field('Event NS', eventNs, { max: MAX_LINES.values });
  out.field('Consumer', objectLine(f.consumer, '(none found)'));
  out.field('Binding', f.binding ? (f.binding.name ?? f.binding.className ?? 'present') : '(none found)');
  out.field('Payload', f.summary || '(nothing recorded)', { max: MAX_LINES.summary });

  if (f.reasons.length === 0) out.field('Reasons', '(none)');
  else {
    out.field('Reasons', count(f.reasons.length, 'reason'));
    for (const r of f.reasons) {
      const attack = r.attack.length ? `  ${r.attack.join(', ')}` : '';
      const score = r.score >= 0 ? `+${r.score}` : String(r.score);
      out.block('    • ', `${r.id} — ${r.title} (${score})${attack}`);
      if (r.evidence) out.block('      evidence: ', r.evidence, { max: MAX_LINES.evidence, multiline: true });
    }
  }
  f.decoded.forEach((d, i) => out.field(i === 0 ? 'Decoded' : `Decoded ${i + 1}`, d, { max: MAX_LINES.decoded, multiline: true }));
  if (f.runs) {
    // only logged process starts: a finding without them says nothing about whether it ran
    out.field('Ran', ranText(f.runs));
    for (const r of f.runs.records.slice(0, MAX_OBSERVATIONS)) {
      const who = [r.user ? `as ${r.user}` : '', r.parent ? `parent ${r.parent}${r.parentFrom ? ` (by process id, from ${r.parentFrom})` : ''}` : ''].filter(Boolean).join(', ');
      out.block('    ', `${r.time ?? '(no time)'}  ${r.commandLine ?? r.image ?? '(no command line)'}${who ? `  (${who})` : ''}`, { max: 2 });
      out.block('        in ', `${runLabel(f.runs, r)}${r.file} @ ${r.recordId !== null ? `record ${r.recordId}` : r.location}`, { max: 3 });
    }
    if (f.runs.records.length > MAX_OBSERVATIONS) out.line(`    … ${f.runs.records.length - MAX_OBSERVATIONS} more (all are in --format json / timeline)`);
  }

  const seen = seenBy(f.coverage);
  const missed = missedBy(f.coverage);
  out.field('Seen by', seen.length ? seen.join('; ') : '(no source)');
  out.field('Missed by', missed.length ? missed.join('; ') : '(none)');
  out.field('First seen', f.firstSeen ?? '(unknown)');
  out.field('Last seen', f.lastSeen ?? '(unknown)');
  if (f.who.length) out.field('Who', f.who.join('; '));
  out.field('Allowlisted', f.allowlisted ? (f.allowlisted.justification !== undefined ? `suppressed by rule ${f.allowlisted.entry} (${f.allowlisted.by}): ${f.allowlisted.justification}` : `yes, by ${f.allowlisted.by}: ${f.allowlisted.entry}`) : 'no');
  if (f.stack) out.field('Fleet', `on ${f.stack.hosts} of ${f.stack.fleetHosts} hosts${f.stack.rare ? ' (rare)' : f.stack.common ? ' (common)' : ''} · payload ${f.stack.payloadHash}`);
  out.field('Observed', count(f.observations.length, 'observation'));
  for (const o of f.observations.slice(0, MAX_OBSERVATIONS)) {
    out.block('    ', observationLine(o), { max: 3 });
    out.block('        in ', o.location ? `${o.file} @ ${o.location}` : o.file, { max: 3 });
  }
  if (f.observations.length > MAX_OBSERVATIONS)
    out.line(`    … ${f.observations.length - MAX_OBSERVATIONS} more (all are in --format json / timeline)`);
  out.field('Finding id', f.id);
}

// ---- the one-line view ---------------------------------------------------------------------------------------

/** A column of the one-line view: its heading, and how narrow and how wide it may be laid out. */
interface Column {
  head: string;
  min: number;
  max: number;
}

/**
 * Column widths for `rows` in `width` columns (`gap` between columns): each as wide as its widest cell within
 * [min, max]; when they do not fit, columns give up width in the order of `steps` (column, down to), then the widest
 * over its minimum first.
 */
function layout(columns: readonly Column[], rows: readonly string[][], width: number, gap: number, steps: ReadonlyArray<readonly [number, number]>): number[] {
  // a loop, not Math.max(...rows): a spread of some 150,000 rows overflows the stack
  const natural = columns.map((c, i) => rows.reduce((m, r) => Math.max(m, textWidth(r[i] ?? '')), textWidth(c.head)));
  const widths = natural.map((n, i) => Math.max(columns[i]!.min, Math.min(columns[i]!.max, n)));
  const avail = width - gap * (columns.length - 1);
  let total = widths.reduce((a, b) => a + b, 0);
  for (const [i, floor] of steps) {
    if (total <= avail) break;
    const give = Math.min(total - avail, Math.max(0, widths[i]! - Math.max(floor, columns[i]!.min)));
    widths[i]! -= give;
    total -= give;
  }
  while (total > avail) {
    let pick = -1;
    for (let i = 0; i < widths.length; i++) if (widths[i]! > columns[i]!.min && (pick < 0 || widths[i]! - columns[i]!.min > widths[pick]! - columns[pick]!.min)) pick = i;
    if (pick < 0) break; // every column at its minimum: the line is cut to the width
    widths[pick]!--;
    total--;
  }
  // room left: to the columns cut by their maximum, in column order
  for (let i = 0; i < widths.length && total < avail; i++) {
    const more = Math.min(avail - total, natural[i]! - widths[i]!);
    if (more > 0) {
      widths[i]! += more;
      total += more;
    }
  }
  return widths;
}

/** A namespace as the one-line view names it: below ROOT without `ROOT\\` (`subscription`, `default`, `totallylegit`). */
function shortNamespace(ns: string): string {
  return ns.replace(/^root[\\/]+(?=.)/i, '');
}

/** A consumer class as the one-line view names it: the classes Windows ships without their `EventConsumer` ending. */
function shortClass(cls: string | null | undefined): string | null {
  if (!cls) return null;
  const std = consumerClassFacts(cls);
  return std ? std.className.replace(/EventConsumer$/, '') : cls;
}

/** `filter → consumer [class]` in `width` columns: both names cut before the class is. */
function subscriptionCell(f: Finding, width: number): string {
  const filter = escapeVisible(f.filter ? (f.filter.name ?? '(unnamed)') : '(no filter)');
  const consumer = escapeVisible(f.consumer ? (f.consumer.name ?? '(unnamed)') : '(no consumer)');
  const cls = shortClass(f.consumer?.className);
  const tail = cls ? ` [${escapeVisible(cls)}]` : '';
  const whole = `${filter} → ${consumer}${tail}`;
  if (textWidth(whole) <= width) return whole;
  // the names share what the class leaves (the class goes first when too little is left); the consumer gets more
  const keepTail = width - textWidth(tail) - 3 >= 10;
  const names = width - 3 - (keepTail ? textWidth(tail) : 0);
  if (names < 6) return truncate(whole, width);
  const fw = Math.max(3, Math.min(textWidth(filter), Math.max(Math.floor(names * 0.4), names - textWidth(consumer))));
  const left = truncate(filter, fw);
  return truncate(`${left} → ${truncate(consumer, names - textWidth(left))}${keepTail ? tail : ''}`, width);
}

/** The source names that saw a finding, without what of them counted: `Sysmon, WMI repository`. */
function seenShort(findings: readonly Finding[]): string {
  const names = new Set<string>();
  for (const f of findings) for (const s of seenBy(f.coverage)) names.add(s.replace(/\s*\(.*\)$/, ''));
  return names.size ? [...names].join(', ') : '(none)';
}

/** The shortest start of the ids (at least 6 characters) that tells every finding of the result apart. */
function idLength(findings: readonly Finding[]): number {
  const ids = new Set(findings.map((f) => f.id.toLowerCase()));
  const longest = [...ids].reduce((m, id) => Math.max(m, id.length), 6);
  for (let n = 6; n < longest; n++) if (new Set([...ids].map((id) => id.slice(0, n))).size === ids.size) return n;
  return longest;
}

/**
 * Findings that fold into one line per subscription: `info` (allow-listed findings are info). The same subscription is
 * one stack across hosts (the fleet's key when there is one, else namespace, class, names and payload).
 */
function foldKey(f: Finding): string {
  if (f.stack) return f.stack.key;
  return [f.namespace, f.filter?.name, f.consumer?.className, f.consumer?.name, f.summary].map((x) => (x ?? '').toLowerCase()).join('|');
}

interface Line {
  severity: Severity;
  findings: Finding[];
}

function renderLines(out: Out, result: ScanResult, sel: Selection): void {
  const lines: Line[] = [];
  const folded = new Map<string, Line>();
  for (const f of sel.findings) {
    if (f.severity !== 'info') {
      lines.push({ severity: f.severity, findings: [f] });
      continue;
    }
    const key = foldKey(f);
    const line = folded.get(key);
    if (line) line.findings.push(f);
    else {
      const l: Line = { severity: f.severity, findings: [f] };
      folded.set(key, l);
      lines.push(l);
    }
  }
  const undated = new Set(sel.hidden.undated);
  const idLen = idLength(result.findings);
  const columns: Column[] = [
    { head: 'SEV', min: 4, max: 4 },
    { head: 'HOST', min: 6, max: 28 },
    { head: 'NAMESPACE', min: 6, max: 28 },
    { head: 'FILTER → CONSUMER [CLASS]', min: 12, max: 64 },
    { head: 'PAYLOAD', min: 8, max: 400 },
    { head: 'STATUS', min: 6, max: 24 },
    { head: 'SEEN BY', min: 6, max: 32 },
    { head: 'ID', min: idLen, max: idLen },
  ];
  const cells = lines.map((l): string[] => {
    const f = l.findings[0]!;
    const hosts = new Set(l.findings.map((x) => x.host.toLowerCase()));
    const status = [...new Set(l.findings.map((x) => (x.allowlisted ? (x.allowlisted.justification !== undefined ? 'suppressed' : 'allow-listed') : x.status) + (undated.has(x.id) ? ' undated' : '')))].join(', ');
    return [
      SHORT_SEVERITY[l.severity] ?? escapeVisible(String(l.severity)),
      hosts.size === 1 ? escapeVisible(f.host) : `on ${hosts.size} hosts`,
      escapeVisible(f.namespace === null ? '?' : shortNamespace(f.namespace)),
      subscriptionCell(f, 400),
      escapeVisible(f.summary || '—'),
      status,
      seenShort(l.findings),
      l.findings.length === 1 ? escapeVisible(f.id.slice(0, idLen)) : `${l.findings.length}×`,
    ];
  });
  // narrow terminals: one space between columns; what it runs gives up width first, then the sources that saw it and
  // the namespace, and the filter and consumer names last (they say which subscription it is)
  const gap = out.width < 140 ? 1 : 2;
  const [HOST, NS, SUB, PAYLOAD, STATUS, SEEN] = [1, 2, 3, 4, 5, 6];
  const steps = [[PAYLOAD, 24], [SEEN, 12], [NS, 16], [HOST, 18], [PAYLOAD, 16], [SEEN, 8], [SUB, 40], [STATUS, 12], [NS, 12], [HOST, 14], [SUB, 32], [PAYLOAD, 12], [STATUS, 11], [SUB, 24], [HOST, 12], [STATUS, 8], [SUB, 18], [NS, 10], [PAYLOAD, 10], [SUB, 14], [NS, 8], [SEEN, 6], [HOST, 10]] as const;
  // below 90 columns the sources that saw each finding are left to --details
  const seenColumn = out.width >= 90;
  if (!seenColumn) {
    columns.splice(SEEN, 1);
    for (const c of cells) c.splice(SEEN, 1);
  }
  const widths = layout(columns, cells, out.width, gap, seenColumn ? steps : steps.filter(([i]) => i !== SEEN));
  const row = (texts: string[], sgrs: Array<string | null>): void => {
    const parts: Array<[string, string | null]> = [];
    texts.forEach((t, i) => {
      const w = widths[i]!;
      const fit = textWidth(t) <= w ? t : truncate(t, w);
      parts.push([fit, sgrs[i] ?? null]);
      if (i < texts.length - 1) parts.push([' '.repeat(w - textWidth(fit) + gap), null]);
    });
    out.painted(parts);
  };
  row(
    columns.map((c) => c.head),
    columns.map(() => BOLD),
  );
  lines.forEach((l, i) => {
    const c = [...cells[i]!];
    c[3] = subscriptionCell(l.findings[0]!, widths[3]!);
    row(c, [SGR[l.severity] ?? null]);
  });
}

// ---- notes, evidence, fleet, coverage -------------------------------------------------------------------------

const LEVEL_ORDER = ['error', 'warning', 'skipped'] as const;

/**
 * The notes: without `verbose`, one line per file and level (errors first), the files skipped as not evidence and the
 * links met left to the counts; with it, every note in full.
 */
function renderNotes(out: Out, result: ScanResult, verbose: boolean): void {
  const shown = result.notes.filter((n) => verbose || !VERBOSE_NOTE_CODES.has(n.code));
  if (shown.length === 0) return;
  if (verbose) {
    out.lines.push(out.paint('Notes', BOLD));
    for (const n of shown) {
      out.block(`  ${n.level.padEnd(8)} `, n.file, { max: 2 });
      out.block('           ', `${n.code}: ${n.message}`, { max: 4, multiline: true });
    }
    return;
  }
  const groups = new Map<string, { level: string; file: string; notes: typeof shown }>();
  for (const level of LEVEL_ORDER)
    for (const n of shown) {
      if (n.level !== level) continue;
      const key = `${level}\u0000${n.file}`;
      const g = groups.get(key);
      if (g) g.notes.push(n);
      else groups.set(key, { level, file: n.file, notes: [n] });
    }
  const list = [...groups.values()];
  // file names cut so that each stays told apart (the folder they share gives way first, not a host folder or archive)
  const listed = list.slice(0, MAX_NOTE_LINES).map((g) => escapeVisible(g.file));
  const common = commonFolder(listed);
  list.slice(0, MAX_NOTE_LINES).forEach((g, i) => {
    const head = `${g.level.padEnd(7)}  `;
    const file = truncatePath(listed[i]!, Math.max(16, Math.floor((out.width - head.length) * 0.4)), common);
    const first = g.notes[0]!;
    const codes = new Map<string, number>();
    for (const n of g.notes) codes.set(n.code, (codes.get(n.code) ?? 0) + 1);
    // `damaged ×4: first message`: the codes with their counts, then the first note's message
    const what = `${[...codes].map(([c, k]) => (k > 1 ? `${c} ×${k}` : c)).join(', ')}: ${escapeVisible(first.message)}`;
    out.painted([
      [head, first.level === 'error' ? SGR.high : first.level === 'warning' ? SGR.medium : null],
      [`${file}  ${what}`, null],
    ]);
  });
  if (list.length > MAX_NOTE_LINES) out.line(`… ${count(list.length - MAX_NOTE_LINES, 'more file')} with notes (-v lists every note; -f json has them all)`);
}

function renderEvidence(out: Out, result: ScanResult): void {
  const records = result.evidence.reduce((n, e) => n + e.records, 0);
  const hosts = new Set(result.evidence.map((e) => e.host));
  out.painted([
    ['Evidence read', BOLD],
    [`: ${count(new Set(result.evidence.map((e) => e.file)).size, 'file')}, ${count(hosts.size, 'host')}, ${count(records, 'record')}`, null],
  ]);
  for (const e of result.evidence) {
    const span = e.first || e.last ? `  ${e.first ?? '?'} → ${e.last ?? '?'}` : '';
    out.block('  ', `${e.kind}  ${e.host}  ${count(e.records, 'record')}${span}`);
    out.block('      ', e.file, { max: 2 });
    if (e.detail) out.block('      ', e.detail, { max: 2 });
  }
}

function renderAliases(out: Out, result: ScanResult): void {
  for (const a of result.hostAliases ?? []) out.block('', `${a.host} is also named ${a.aliases.map((x) => `${x.name} (${x.why})`).join(', ')}`);
}

function renderFleet(out: Out, result: ScanResult): void {
  const fl = result.fleet;
  if (!fl) return;
  out.lines.push('─'.repeat(out.width));
  const ranked = fl.hosts >= fl.minHostsForRanking ? '' : ` (fewer than ${fl.minHostsForRanking} hosts: nothing ranked rare or common)`;
  out.block('Fleet: ', `${count(fl.hosts, 'host')}, ${count(fl.stacks.length, 'distinct subscription')}, rarest first${ranked}`, { headSgr: BOLD });
  for (const st of fl.stacks.slice(0, MAX_FLEET)) {
    const mark = st.rare ? ' rare' : st.common ? ' common' : '';
    out.block('  ', `${String(st.count).padStart(4)}/${fl.hosts}${mark}  ${st.severity}  ${st.namespace ?? '?'}  ${st.className ?? '?'} "${st.name ?? '?'}"  ${st.payloadHash}`, { max: 2 });
    out.block('        ', st.summary || '(nothing recorded)', { max: 1 });
    if (st.count <= 5) out.block('        on ', st.hosts.join(', '), { max: 2 });
  }
  if (fl.stacks.length > MAX_FLEET) out.line(`  … ${fl.stacks.length - MAX_FLEET} more (all are in --format json)`);
  out.painted([
    ['Per host', BOLD],
    [': worst first', null],
  ]);
  for (const h of fl.perHost.slice(0, MAX_FLEET)) {
    const extra = [h.rare ? `${h.rare} rare` : '', h.allowlisted ? `${h.allowlisted} allow-listed` : ''].filter(Boolean).join(', ');
    out.block('  ', `${(h.worst ?? '-').padEnd(8)} ${h.host}  ${count(h.findings, 'finding')}${extra ? ` (${extra})` : ''}`, { max: 1 });
  }
  if (fl.perHost.length > MAX_FLEET) out.line(`  … ${fl.perHost.length - MAX_FLEET} more hosts (all are in --format json)`);
}

/** Sigma rule levels, worst first (an unknown one sorts first: indexOf -1). */
const SIGMA_LEVELS_WORST_FIRST: readonly string[] = ['critical', 'high', 'medium', 'low', 'informational'];

/** Lines of each Sigma list the table shows (all are in --format json). */
const MAX_SIGMA_LINES = 10;

/** The Sigma rules not loaded (one line each) and the hits on records of no finding, by rule. */
function renderSigma(out: Out, sg: SigmaScan | undefined): void {
  if (!sg || (sg.notLoaded.length === 0 && sg.events.length === 0 && !sg.eventsNarrowedOut && !sg.viewsNotMatched)) return;
  out.lines.push('─'.repeat(out.width));
  if (sg.notLoaded.length) {
    out.block('Sigma rules not loaded: ', `${formatCount(sg.notLoaded.length)}`, { headSgr: BOLD });
    const shown = sg.notLoaded.slice(0, MAX_SIGMA_LINES);
    const common = commonFolder(shown.map((n) => n.file));
    for (const n of shown) {
      const id = n.id ? ` (${n.id})` : '';
      out.block('  ', `${truncatePath(n.file, Math.max(24, out.width - 2 - textWidth(id)), common)}${id}`, { max: 2 });
      out.block('      why: ', n.why, { max: 2 });
    }
    if (sg.notLoaded.length > MAX_SIGMA_LINES) out.line(`  … ${formatCount(sg.notLoaded.length - MAX_SIGMA_LINES)} more (all are in --format json and in wmiscope rules list)`);
  }
  if (sg.events.length) {
    const byRule = new Map<string, { hits: SigmaEventHit[] }>();
    for (const h of sg.events) {
      const g = byRule.get(h.rule.id);
      if (g) g.hits.push(h);
      else byRule.set(h.rule.id, { hits: [h] });
    }
    const total = sg.events.length + sg.eventsNotListed;
    out.block('Sigma hits on records of no finding: ', `${count(total, 'hit')} by ${count(byRule.size, 'rule')}, worst level first, then most hits${sg.eventsNotListed ? ` (${formatCount(sg.eventsNotListed)} past the first ${formatCount(sg.events.length)} only counted)` : ''}`, { headSgr: BOLD });
    // worst level first (a critical rule's one hit is not hidden under a noisy medium one), then most hits
    const rank = (g: { hits: SigmaEventHit[] }): number => SIGMA_LEVELS_WORST_FIRST.indexOf(g.hits[0]!.rule.level);
    const groups = [...byRule.values()].sort((a, b) => rank(a) - rank(b) || b.hits.length - a.hits.length).slice(0, MAX_SIGMA_LINES);
    const common = commonFolder(groups.map((g) => g.hits[0]!.file));
    for (const g of groups) {
      const r = g.hits[0]!;
      const where = ` ${r.location}, ${r.host}`;
      // wrapped under the level; the first hit names its file before the record, so a cut never loses the file
      out.block(`  ${String(g.hits.length).padStart(5)}  `, `${r.rule.level}  ${r.rule.title} (${r.rule.id}${r.rule.author ? `; rule by ${r.rule.author}` : ''})`, { max: 2 });
      out.block('         first: ', `${truncatePath(r.file, Math.max(24, out.width - 16 - textWidth(where)), common)}${where}`, { max: 2 });
    }
    if (byRule.size > MAX_SIGMA_LINES) out.line(`  … ${formatCount(byRule.size - MAX_SIGMA_LINES)} more rules (all hits are in --format json)`);
  }
  if (sg.viewsNotMatched) out.block('Sigma views not matched: ', viewsNotMatchedText(sg.viewsNotMatched), { headSgr: BOLD });
  if (sg.eventsNarrowedOut) out.line(`  ${count(sg.eventsNarrowedOut, 'hit')} on records of no finding hidden by the narrowing (host, time or the rule's level below --min-severity)`);
}

/** Blind spots of the hosts with findings (every host's are in JSON and in `wmiscope coverage`). */
function renderCoverage(out: Out, result: ScanResult, findings: readonly Finding[]): void {
  const withFindings = new Set(findings.map((f) => f.host.toLowerCase()));
  const cov = (result.coverage ?? []).filter((c) => withFindings.has(c.host.toLowerCase()));
  if (!cov.length) return;
  out.lines.push('─'.repeat(out.width));
  out.block('', 'Coverage: what the evidence of each host with findings cannot show (all hosts: wmiscope coverage)', { escaped: true });
  for (const c of cov.slice(0, MAX_FLEET)) {
    out.block('  ', c.host, { max: 1 });
    for (const b of c.blindSpots) out.block('    - ', b, { max: 3 });
  }
  if (cov.length > MAX_FLEET) out.line(`  … ${cov.length - MAX_FLEET} more hosts (all are in --format json)`);
}

// ---- the summary ----------------------------------------------------------------------------------------------

/** What each kind of evidence item is called in the summary: one, many. */
const KIND_NAMES: Record<EvidenceItem['kind'], [string, string]> = {
  evtx: ['EVTX log', 'EVTX logs'],
  cim: ['repository', 'repositories'],
  export: ['event export', 'event exports'],
  velociraptor: ['Velociraptor result', 'Velociraptor results'],
  autoruns: ['Autoruns listing', 'Autoruns listings'],
  collector: ['collector document', 'collector documents'],
};

/** `1 critical, 2 high` from counts by severity, worst first, zeros left out. */
function bySeverity(counts: Partial<Record<Severity, number>>): string {
  return SEVERITIES.filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${formatCount(counts[s]!)} ${s}`)
    .join(', ');
}

function tally(findings: readonly Finding[]): Partial<Record<Severity, number>> {
  const c: Partial<Record<Severity, number>> = {};
  for (const f of findings) c[f.severity] = (c[f.severity] ?? 0) + 1;
  return c;
}

/** What the narrowing hid, in words: `2 below high (1 medium, 1 info), 1 on other hosts; 1 kept undated`. */
function hiddenText(sel: Selection): string {
  const h = sel.hidden;
  const by = h.narrowedBy;
  const parts: string[] = [];
  if (h.otherHosts) parts.push(`${formatCount(h.otherHosts)} on other hosts (--only-host)`);
  // in the flags' own words: `3 before --since T`, `1 after --until T`, `4 outside --since T --until U`
  if (h.outsideWindow) parts.push(`${formatCount(h.outsideWindow)} ${by.since && by.until ? 'outside' : by.since ? 'before' : 'after'}${by.since ? ` --since ${by.since}` : ''}${by.until ? ` --until ${by.until}` : ''}`);
  if (h.belowMinSeverity) parts.push(`${formatCount(h.belowMinSeverity)} below ${by.minSeverity ?? '?'}`);
  const total = h.total ? `${formatCount(h.total)} (${bySeverity(h.bySeverity)}): ${parts.join(', ')}` : 'none';
  const undated = h.undated.length ? `; ${count(h.undated.length, 'finding')} with no time kept (marked undated)` : '';
  return total + undated;
}

function renderSummary(out: Out, result: ScanResult, sel: Selection, o: TableOptions): void {
  out.rule(`${escapeVisible(result.tool.name)} ${escapeVisible(result.tool.version)} · scanned ${escapeVisible(result.scannedAt)}`);
  const label = (name: string, value: string, sgr: string | null = BOLD): void => out.block(padText(name, 10), value, { escaped: true, max: 3, ...(sgr ? { headSgr: sgr } : {}) });

  const shown = sel.findings;
  const suppressed = shown.filter((f) => f.allowlisted?.justification !== undefined).length;
  const allow = shown.filter((f) => f.allowlisted).length - suppressed;
  const quiet = [allow ? `${formatCount(allow)} allow-listed` : '', suppressed ? `${formatCount(suppressed)} suppressed by rules` : ''].filter(Boolean).join(', ');
  const sev = bySeverity(tally(shown));
  label('Findings', shown.length === 0 ? (result.findings.length === 0 ? 'none' : 'none shown') : `${formatCount(shown.length)}: ${sev}${quiet ? ` (${quiet})` : ''}`);
  if (sel.narrowed) label('Hidden', hiddenText(sel));

  const withFindings = [...new Set(shown.map((f) => f.host))];
  const aliases = result.hostAliases?.length ?? 0;
  const aliasText = aliases ? `; ${formatCount(aliases)} known by other names${o.verbose || o.details === true ? '' : ' (-v)'}` : '';
  label('Hosts', `${formatCount(result.hosts.length)}${withFindings.length ? ` (findings on ${withFindings.length}: ${withFindings.map(escapeVisible).join(', ')})` : ''}${aliasText}`);
  // "none" must not read as "clean" where nothing read could have shown a subscription
  const blind = (result.coverage ?? []).filter((c) => !c.repositories.length && !c.live.length && !c.sysmon.present && !c.wmiActivity.present && !c.powershell.present).map((c) => c.host);
  if (blind.length)
    label(
      'Blind',
      `${blind.length === result.hosts.length ? (blind.length === 1 ? 'the host' : `all ${formatCount(blind.length)} hosts`) : `${formatCount(blind.length)} of ${formatCount(result.hosts.length)} hosts`}${blind.length <= 3 ? ` (${blind.map(escapeVisible).join(', ')})` : ''}: no repository, live listing, Sysmon, WMI-Activity or PowerShell log read, so nothing here can show a subscription on ${blind.length === 1 ? 'it' : 'them'} (wmiscope coverage)`,
      SGR.medium,
    );

  // each piece of evidence once (a log may hold several hosts' records), by kind
  const kinds = new Map<EvidenceItem['kind'], Set<string>>();
  for (const e of result.evidence) kinds.set(e.kind, (kinds.get(e.kind) ?? new Set()).add(e.file));
  const records = result.evidence.reduce((n, e) => n + e.records, 0);
  const read = result.read ? `${formatBytes(result.read.bytes)} read in ${[count(result.read.files, 'file'), result.read.repositories ? count(result.read.repositories, 'repository', 'repositories') : ''].filter(Boolean).join(' and ')}` : '';
  const evidence = result.evidence.length
    ? `${[...kinds].map(([k, files]) => count(files.size, ...KIND_NAMES[k])).join(', ')}; ${count(records, 'record')}${read ? `; ${read}` : ''}${o.verbose ? '' : ' (-v lists them)'}`
    : `nothing readable${read ? `; ${read}` : ''}`;
  label('Evidence', evidence);

  const levels = LEVEL_ORDER.map((l) => [l, result.notes.filter((n) => n.level === l).length] as const).filter(([, n]) => n > 0);
  const quietOnes = result.notes.filter((n) => VERBOSE_NOTE_CODES.has(n.code)).length;
  const listed = o.quiet ? ' (not listed with -q)' : quietOnes && !o.verbose ? ` (${formatCount(quietOnes)} not evidence or links: -v lists them)` : '';
  label('Notes', levels.length ? `${levels.map(([l, n]) => (l === 'skipped' ? `${formatCount(n)} skipped` : count(n, l))).join(', ')}${listed}` : 'none');

  if (result.fleet) {
    const fl = result.fleet;
    const rare = fl.stacks.filter((s) => s.rare).length;
    const common = fl.stacks.filter((s) => s.common).length;
    const ranked = fl.hosts >= fl.minHostsForRanking ? `${formatCount(rare)} rare, ${formatCount(common)} common` : `fewer than ${fl.minHostsForRanking} hosts: none ranked rare or common`;
    label('Fleet', `${count(fl.stacks.length, 'distinct subscription')} on ${count(fl.hosts, 'host')} (${ranked})${o.details === true ? '' : '; --details lists them'}`);
  }

  if (result.sigma) {
    const sg = result.sigma;
    const na = sg.notApplicable.count ? `, ${formatCount(sg.notApplicable.count)} for log sources wmiscope does not read` : '';
    const nl = sg.notLoaded.length ? `, ${formatCount(sg.notLoaded.length)} not loaded` : '';
    const tied = sg.eventHits - sg.events.length - sg.eventsNotListed;
    out.block(padText('Sigma', 10), `${count(sg.loaded, 'rule')} loaded of ${count(sg.files, 'file')}${na}${nl}; ${count(sg.eventHits, 'event hit')} (${formatCount(tied)} on records of findings)`, { headSgr: BOLD, max: 3 });
  }

  if (o.failOn !== undefined) {
    const failing = failingFindings(result, o.failOn);
    const shownIds = new Set(shown.map((f) => f.id));
    const hiddenFailing = failing.filter((f) => !shownIds.has(f.id)).length;
    if (result.evidence.length === 0) label('Exit 2', 'nothing readable in the given paths', SGR.high);
    else if (o.failOn === 'never') label('Exit 0', '--fail-on never');
    else if (failing.length)
      label('Exit 1', `${count(failing.length, 'finding')} at or above --fail-on ${o.failOn}, not allow-listed (${bySeverity(tally(failing))})${hiddenFailing ? `, ${formatCount(hiddenFailing)} of them hidden by the narrowing` : ''}`, SGR.high);
    else label('Exit 0', `no finding at or above --fail-on ${o.failOn} that is not allow-listed`);
  }
}

/**
 * The notes as the table shows them, for stderr when the report goes elsewhere (`-f json`, `-o FILE`): one line per file
 * and level (at most 10, then a count), files not evidence and links only counted; with `verbose`, every note in full.
 * Empty when there is nothing to say.
 */
export function formatNotes(result: ScanResult, opts: { width?: number; color?: boolean; verbose?: boolean } = {}): string {
  const out = new Out(Math.max(40, Math.floor(opts.width ?? 100)), opts.color === true);
  renderNotes(out, result, opts.verbose === true);
  renderSigmaRefused(out, result);
  return out.lines.length ? out.lines.join('\n') + '\n' : '';
}

/** The Sigma rules not loaded, in two lines at most: for stderr beside a format with no Sigma section (json has them all). */
export function formatSigmaRefused(result: ScanResult, opts: { width?: number } = {}): string {
  const out = new Out(Math.max(40, Math.floor(opts.width ?? 100)), false);
  renderSigmaRefused(out, result);
  return out.lines.length ? out.lines.join('\n') + '\n' : '';
}

/** The findings whose synthesized views were not matched, in words. */
const viewsNotMatchedText = (n: number): string => `${count(n, 'finding')}: the views' time budget (half of --file-timeout) ran out first; a Sigma rule that would fire on them only through a view is not observable for them`;

function renderSigmaRefused(out: Out, result: ScanResult): void {
  const views = result.sigma?.viewsNotMatched;
  if (views) out.block('Sigma views not matched: ', viewsNotMatchedText(views), { max: 2 });
  const refused = result.sigma?.notLoaded ?? [];
  if (refused.length === 0) return;
  const first = refused[0]!;
  out.block('Sigma rules not loaded: ', `${formatCount(refused.length)} (wmiscope rules list --sigma shows each): ${first.file}: ${first.why}${refused.length > 1 ? '; …' : ''}`, { max: 2 });
}

// ---- entry ----------------------------------------------------------------------------------------------------

export function formatTable(result: ScanResult, opts: TableOptions = {}): string {
  const width = Math.max(40, Math.floor(opts.width ?? 100));
  const out = new Out(width, opts.color === true);

  if (typeof opts.details === 'string') {
    const hit = findingById(result.findings, opts.details);
    if ('problem' in hit) throw new RangeError(`finding ${opts.details}: ${hit.problem}`);
    const all = narrowFindings(result).findings;
    renderFinding(out, hit.finding, all.indexOf(hit.finding) + 1, all.length);
    return out.lines.join('\n') + '\n';
  }

  const sel = narrowFindings(result, opts);
  const findings = sel.findings;
  if (opts.details === true) {
    // the findings first; which names are one machine after them, with the fleet and the blind spots
    if (findings.length === 0) out.line(result.findings.length ? 'No finding in the narrowed view.' : 'No WMI event subscription found in the evidence read.');
    findings.forEach((f, i) => renderFinding(out, f, i + 1, findings.length));
    if (!opts.quiet) {
      if (result.hostAliases?.length) {
        out.lines.push('');
        renderAliases(out, result);
      }
      renderFleet(out, result);
      renderCoverage(out, result, findings);
    }
  } else if (findings.length === 0) out.line(result.findings.length ? 'No finding in the narrowed view.' : result.evidence.length ? 'No WMI event subscription found in the evidence read.' : 'No evidence read.');
  else renderLines(out, result, sel);

  if (!opts.quiet) {
    if (opts.verbose) {
      out.lines.push('');
      if (opts.details !== true) renderAliases(out, result);
      renderEvidence(out, result);
    }
    const before = out.lines.length;
    out.lines.push('');
    renderNotes(out, result, opts.verbose === true);
    if (out.lines.length === before + 1) out.lines.pop();
    renderSigma(out, sel.sigma);
  }
  if (sel.changes) {
    out.lines.push('');
    for (const l of changesTableLines(sel.changes, width)) for (const x of l.split('\n')) out.line(x);
  }
  renderSummary(out, result, sel, opts);
  return out.lines.join('\n') + '\n';
}
