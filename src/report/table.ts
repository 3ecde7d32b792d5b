/**
 * The human report: one block per finding (worst first), then the evidence that was read and the notes about
 * evidence that was damaged or skipped. Every value that came from evidence goes through `escapeText`, so a
 * consumer named with terminal escape sequences is shown as `\x1b[2J…`, never executed. Color (ANSI SGR) is
 * added only when asked for, and only around text whose width was already laid out without it.
 */
import type { Finding, Observation, ScanResult, Severity, SubscriptionObject } from '../model/types.js';
import { SEVERITIES } from '../model/types.js';
import { escapeLines, escapeText, missedBy, seenBy, textWidth, truncate, wrap } from './text.js';
import { selectFindings } from './select.js';

export interface TableOptions {
  minSeverity?: Severity;
  color?: boolean;
  width?: number;
}

/** Lines kept per payload before it is cut with an ellipsis; reasons' id/title lines are never cut. */
const MAX_LINES = { query: 3, summary: 3, evidence: 3, decoded: 8, values: 2 } as const;
/** Observations listed per finding; the rest are counted (all are in the json/timeline output). */
const MAX_OBSERVATIONS = 12;
const LABEL = 12;

const SGR: Record<Severity, string> = {
  critical: '\x1b[1;97;41m',
  high: '\x1b[1;31m',
  medium: '\x1b[1;33m',
  low: '\x1b[36m',
  info: '\x1b[2m',
};
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

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

  /** `  Label      : value` with the value escaped, wrapped under itself and cut after `max` lines. */
  field(label: string, value: string, opts: { max?: number; multiline?: boolean; indent?: number } = {}): void {
    const indent = opts.indent ?? 2;
    const head = ' '.repeat(indent) + label.padEnd(LABEL - 1) + ': ';
    this.block(head, value, opts);
  }

  /** Text under a prefix: first line after `head`, following lines aligned under it. */
  block(head: string, value: string, opts: { max?: number; multiline?: boolean } = {}): void {
    const avail = Math.max(10, this.width - textWidth(head));
    const src = opts.multiline ? escapeLines(value) : [escapeText(value)];
    let lines = src.flatMap((l) => wrap(l, avail));
    if (opts.max !== undefined && lines.length > opts.max) {
      lines = lines.slice(0, opts.max);
      const last = lines[lines.length - 1]!;
      lines[lines.length - 1] = textWidth(last) + 1 <= avail ? last + '…' : truncate(last + '…', avail);
    }
    const pad = ' '.repeat(textWidth(head));
    lines.forEach((l, i) => this.lines.push((i === 0 ? head : pad) + l));
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
  return `${o.time ?? '(no time)'}  ${what}${o.user ? ` by ${o.user}` : ''}`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function renderFinding(out: Out, f: Finding, index: number, total: number): void {
  const w = out.width;
  const tag = ` ${escapeText(String(f.severity).toUpperCase())} `;
  const rest = escapeText(` score ${f.score} · ${f.status} · ${f.host}`);
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
  out.field('Runs', f.summary || '(nothing recorded)', { max: MAX_LINES.summary });

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

  const seen = seenBy(f.coverage);
  const missed = missedBy(f.coverage);
  out.field('Seen by', seen.length ? seen.join('; ') : '(no source)');
  out.field('Missed by', missed.length ? missed.join('; ') : '(none)');
  out.field('First seen', f.firstSeen ?? '(unknown)');
  out.field('Last seen', f.lastSeen ?? '(unknown)');
  if (f.who.length) out.field('Who', f.who.join('; '));
  out.field('Allowlisted', f.allowlisted ? `yes, by ${f.allowlisted.by}: ${f.allowlisted.entry}` : 'no');
  if (f.stack) out.field('Fleet', `on ${f.stack.hosts} of ${f.stack.fleetHosts} hosts${f.stack.rare ? ' (rare)' : f.stack.common ? ' (common)' : ''} · payload ${f.stack.payloadHash}`);
  out.field('Observed', count(f.observations.length, 'observation'));
  for (const o of f.observations.slice(0, MAX_OBSERVATIONS)) {
    out.block('    ', observationLine(o), { max: 2 });
    out.block('        in ', o.location ? `${o.file} @ ${o.location}` : o.file, { max: 3 });
  }
  if (f.observations.length > MAX_OBSERVATIONS)
    out.line(`    … ${f.observations.length - MAX_OBSERVATIONS} more (all are in --format json / timeline)`);
  out.field('Finding id', f.id);
}

/** Fleet entries shown in the table (all are in JSON). */
const MAX_FLEET = 40;

export function formatTable(result: ScanResult, opts: TableOptions = {}): string {
  const width = Math.max(40, Math.floor(opts.width ?? 100));
  const out = new Out(width, opts.color === true);
  const findings = selectFindings(result, opts.minSeverity);
  const hidden = result.findings.length - findings.length;

  const bySev = SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  out.block('', `${result.tool.name} ${result.tool.version} · scanned ${result.scannedAt} · ${count(result.hosts.length, 'host')}: ${result.hosts.join(', ') || '(none)'}`);
  for (const a of result.hostAliases ?? []) out.block('', `${a.host} is also named ${a.aliases.map((x) => `${x.name} (${x.why})`).join(', ')}`);
  out.block('', `${count(findings.length, 'finding')}${bySev.length ? ` (${bySev.join(', ')})` : ''}`);
  if (hidden > 0 && opts.minSeverity) out.block('', `${count(hidden, 'finding')} below ${opts.minSeverity} not shown`);
  if (findings.length === 0) out.line(result.findings.length ? 'No finding at or above the requested severity.' : 'No WMI event subscription found in the evidence read.');

  findings.forEach((f, i) => renderFinding(out, f, i + 1, findings.length));

  if (result.fleet) {
    const fl = result.fleet;
    out.lines.push('─'.repeat(width));
    const ranked = fl.hosts >= fl.minHostsForRanking ? '' : ` (fewer than ${fl.minHostsForRanking} hosts: nothing ranked rare or common)`;
    out.lines.push(out.paint('Fleet', BOLD) + escapeText(`: ${count(fl.hosts, 'host')}, ${count(fl.stacks.length, 'distinct subscription')}, rarest first${ranked}`));
    for (const st of fl.stacks.slice(0, MAX_FLEET)) {
      const mark = st.rare ? ' rare' : st.common ? ' common' : '';
      out.block('  ', `${String(st.count).padStart(4)}/${fl.hosts}${mark}  ${st.severity}  ${st.namespace ?? '?'}  ${st.className ?? '?'} "${st.name ?? '?'}"  ${st.payloadHash}`, { max: 2 });
      out.block('        ', st.summary || '(nothing recorded)', { max: 1 });
      if (st.count <= 5) out.block('        on ', st.hosts.join(', '), { max: 2 });
    }
    if (fl.stacks.length > MAX_FLEET) out.line(`  … ${fl.stacks.length - MAX_FLEET} more (all are in --format json)`);
    out.lines.push(out.paint('Per host', BOLD) + ': worst first');
    for (const h of fl.perHost.slice(0, MAX_FLEET)) {
      const extra = [h.rare ? `${h.rare} rare` : '', h.allowlisted ? `${h.allowlisted} allow-listed` : ''].filter(Boolean).join(', ');
      out.block('  ', `${(h.worst ?? '-').padEnd(8)} ${h.host}  ${count(h.findings, 'finding')}${extra ? ` (${extra})` : ''}`, { max: 1 });
    }
    if (fl.perHost.length > MAX_FLEET) out.line(`  … ${fl.perHost.length - MAX_FLEET} more hosts (all are in --format json)`);
  }

  // blind spots of the hosts with findings (every host's are in JSON and in `wmiscope coverage`)
  const withFindings = new Set(findings.map((f) => f.host.toLowerCase()));
  const cov = (result.coverage ?? []).filter((c) => withFindings.has(c.host.toLowerCase()));
  if (cov.length) {
    out.lines.push('─'.repeat(width));
    out.lines.push(out.paint('Coverage', BOLD) + ': what the evidence of each host with findings cannot show (all hosts: wmiscope coverage)');
    for (const c of cov.slice(0, MAX_FLEET)) {
      out.block('  ', c.host, { max: 1 });
      for (const b of c.blindSpots) out.block('    - ', b, { max: 3 });
    }
    if (cov.length > MAX_FLEET) out.line(`  … ${cov.length - MAX_FLEET} more hosts (all are in --format json)`);
  }

  out.lines.push('─'.repeat(width));
  const records = result.evidence.reduce((n, e) => n + e.records, 0);
  const hosts = new Set(result.evidence.map((e) => e.host));
  out.lines.push(out.paint('Evidence read', BOLD) + escapeText(`: ${count(new Set(result.evidence.map((e) => e.file)).size, 'file')}, ${count(hosts.size, 'host')}, ${count(records, 'record')}`));
  for (const e of result.evidence) {
    const span = e.first || e.last ? `  ${e.first ?? '?'} → ${e.last ?? '?'}` : '';
    out.block('  ', `${e.kind}  ${e.host}  ${count(e.records, 'record')}${span}`);
    out.block('      ', e.file, { max: 2 });
    if (e.detail) out.block('      ', e.detail, { max: 2 });
  }

  const levels = (['error', 'warning', 'skipped'] as const).map((l) => [l, result.notes.filter((n) => n.level === l).length] as const).filter(([, n]) => n > 0);
  out.lines.push(out.paint('Notes', BOLD) + `: ${result.notes.length ? levels.map(([l, n]) => `${n} ${l}`).join(', ') : 'none'}`);
  for (const n of result.notes) {
    out.block(`  ${n.level.padEnd(8)} `, n.file, { max: 2 });
    out.block('           ', `${n.code}: ${n.message}`, { max: 4, multiline: true });
  }
  return out.lines.join('\n') + '\n';
}
