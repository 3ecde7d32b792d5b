/**
 * `wmiscope rules list [--rules FILE|DIR…]`: every rule a scan would run, a section per source (built-in, user
 * rules; another source adds a section to {@link RULE_SECTIONS}). `wmiscope rules test FILE EVIDENCE…`: scan the
 * evidence, apply the rules of FILE and show, per rule, the findings it matched and why (the values that passed)
 * and those it did not (the test that failed). Exit codes: as every command (./exit.ts).
 */
import { existsSync } from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { Finding } from '../model/types.js';
import type { RuleTrace, UserRule } from '../analysis/custom/index.js';
import { escapeText, jsonSafe } from '../model/text.js';
import { EXIT_UNUSABLE, exitCode, nothingReadableMessage, preflight, printError, printNotes, writeReport } from './exit.js';
import { rulesLoad } from './scan.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** One rule as `rules list` shows it. */
export interface RuleRow {
  /** The id reasons carry (`consumer-exec`, `custom:<id>`). */
  id: string;
  title: string;
  attack: string[];
  /** What it does when it fires, in a few words: `+25`, `+20, severity ≥ high`, `suppress`. */
  effect: string;
  /** Where it is written (`file:line:column`), for rules read from files. */
  where?: string;
  /** Everything else a source knows (JSON only). */
  details?: Record<string, unknown>;
}

/** One source of rules: a heading and its rules. */
export interface RuleSection {
  source: string;
  heading: string;
  rules: RuleRow[];
}

interface ListOpts {
  rules?: string[];
  sigma?: string[];
}

/** The sections of `rules list`, in order. A new source of rules (Sigma, …) adds one function here. */
export const RULE_SECTIONS: ReadonlyArray<(o: ListOpts) => Promise<RuleSection | null>> = [builtInSection, userSection, sigmaSection, sigmaNotLoadedSection];

/** The Sigma rules of `--sigma`, read once for both of their sections. */
let sigmaLoaded: { paths: readonly string[]; loaded: import('../scan.js').LoadedSigma } | null = null;
async function loadedSigma(paths: readonly string[]): Promise<import('../scan.js').LoadedSigma> {
  if (sigmaLoaded?.paths !== paths) {
    const { loadSigma } = await import('../scan.js');
    sigmaLoaded = { paths, loaded: loadSigma([...paths]) };
  }
  return sigmaLoaded.loaded;
}

/** Loaded Sigma rules: their reason id, the points their level gives, ATT&CK ids, title and file; not-applicable ones counted in the heading. */
async function sigmaSection(o: ListOpts): Promise<RuleSection | null> {
  if (!o.sigma?.length) return null;
  const { set } = await loadedSigma(o.sigma);
  const [{ SIGMA_LEVEL_SCORE }, { formatCount: n }] = await Promise.all([import('../analysis/sigma.js'), import('../report/text.js')]);
  const sm = set.summary;
  const na = Object.entries(sm.notApplicable.byLogsource)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, c]) => `${k || '(none)'} ${n(c)}`);
  const heading = `Sigma rules (${n(sm.loaded)} loaded of ${n(sm.files)} files${sm.notApplicable.count ? `; ${n(sm.notApplicable.count)} for log sources wmiscope does not read, counted by product/category/service: ${na.slice(0, 8).join(', ')}${na.length > 8 ? `, … ${na.length - 8} more` : ''}` : ''}${sm.notLoaded.length ? `; ${n(sm.notLoaded.length)} not loaded, below` : ''})`;
  return {
    source: 'sigma',
    heading,
    rules: set.rules.map((r) => ({ id: `sigma:${r.id}`, title: r.title, attack: [...r.attack], effect: `+${SIGMA_LEVEL_SCORE[r.level]} (${r.level})`, where: r.file, details: { logsource: r.logsource, status: r.status, author: r.author, tags: r.tags } })),
  };
}

/** Sigma rule files read and not loaded, one line each with why. */
async function sigmaNotLoadedSection(o: ListOpts): Promise<RuleSection | null> {
  if (!o.sigma?.length) return null;
  const { set } = await loadedSigma(o.sigma);
  if (!set.summary.notLoaded.length) return null;
  return { source: 'sigma-not-loaded', heading: `Sigma rules not loaded (${set.summary.notLoaded.length})`, rules: set.summary.notLoaded.map((n) => ({ id: n.id ? `sigma:${n.id}` : '-', title: n.why, attack: [], effect: 'not loaded', where: n.file })) };
}

async function builtInSection(): Promise<RuleSection> {
  const { RULES } = await import('../analysis/rules/index.js');
  return { source: 'built-in', heading: `Built-in rules (${RULES.length})`, rules: RULES.map((r) => ({ id: r.id, title: r.title, attack: [...r.attack], effect: `+${r.score}` })) };
}

async function userSection(o: ListOpts): Promise<RuleSection | null> {
  if (!o.rules?.length) return null;
  const { loadRules } = await import('../analysis/custom/index.js');
  const rules = loadRules(o.rules);
  return { source: 'user', heading: `Your rules (${rules.length}, from ${o.rules.join(', ')})`, rules: rules.map(userRow) };
}

function effectText(r: UserRule): string {
  const parts: string[] = [];
  if (r.reason) parts.push(`+${r.reason.score}`);
  if (r.severity?.min) parts.push(`severity >= ${r.severity.min}`);
  if (r.severity?.max) parts.push(`severity <= ${r.severity.max}`);
  if (r.suppress) parts.push('suppress');
  return parts.join(', ');
}

function userRow(r: UserRule): RuleRow {
  return {
    id: r.reasonId,
    title: r.title,
    attack: r.reason?.attack ?? r.attack,
    effect: effectText(r),
    where: `${r.at.file}:${r.at.line}:${r.at.column}`,
    details: {
      ...(r.description !== undefined ? { description: r.description } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.severity ? { severity: r.severity } : {}),
      ...(r.suppress ? { suppress: r.suppress } : {}),
    },
  };
}

/** Columns padded to their widest cell (display-safe); the last column is not padded. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** ATT&CK ids shown in a `rules list` table cell (JSON has them all): one rule with many would widen every row. */
const MAX_ATTACK_SHOWN = 3;

function attackCell(ids: readonly string[]): string {
  if (!ids.length) return '-';
  return ids.length > MAX_ATTACK_SHOWN ? `${ids.slice(0, MAX_ATTACK_SHOWN).join(',')},+${ids.length - MAX_ATTACK_SHOWN}` : ids.join(',');
}

export function formatSections(sections: readonly RuleSection[]): string {
  const out: string[] = [];
  for (const s of sections) {
    if (out.length) out.push('');
    out.push(escapeText(s.heading));
    if (!s.rules.length) {
      out.push('  (none)');
      continue;
    }
    const where = s.rules.some((r) => r.where !== undefined);
    // a refused Sigma rule's "title" is why it was refused
    const title = s.source === 'sigma-not-loaded' ? 'WHY' : 'TITLE';
    const rows = [['ID', 'EFFECT', 'ATT&CK', title, ...(where ? ['WHERE'] : [])], ...s.rules.map((r) => [r.id, r.effect, attackCell(r.attack), r.title, ...(where ? [r.where ?? ''] : [])].map(escapeText))];
    out.push(...columns(rows).map((l) => `  ${l}`));
  }
  return out.join('\n') + '\n';
}

/** `filter → consumer` of a finding, as names (display-safe). */
function finding(f: Finding): string {
  return `${f.id.slice(0, 8)}  ${escapeText(f.host)}  ${escapeText(f.filter?.name ?? '(no filter)')} → ${escapeText(f.consumer?.name ?? '(no consumer)')}`;
}

/** How many findings a rule did not match are listed in the text (JSON lists every one). */
const MAX_UNMATCHED_SHOWN = 20;

/** A finding's verdict before the rules ran, to show what they changed. */
export interface Before {
  severity: Finding['severity'];
  score: number;
}

export function formatTraces(traces: readonly RuleTrace[], total: number, before: ReadonlyMap<Finding, Before>): string {
  const out: string[] = [];
  for (const t of traces) {
    const r = t.rule;
    if (out.length) out.push('');
    out.push(`${escapeText(r.reasonId)} — ${escapeText(r.title)}`);
    out.push(`  ${escapeText(`${r.at.file}:${r.at.line}:${r.at.column}`)} · ${effectText(r)}`);
    out.push(`  matched ${t.matched.length} of ${total} finding${total === 1 ? '' : 's'}${t.matched.length ? ':' : ''}`);
    for (const m of t.matched) {
      out.push(`    ${finding(m.finding)}`);
      for (const w of m.why) out.push(`      ${escapeText(w)}`);
    }
    if (t.unmatched.length) {
      out.push(`  not matched (${t.unmatched.length}):`);
      for (const m of t.unmatched.slice(0, MAX_UNMATCHED_SHOWN)) {
        out.push(`    ${finding(m.finding)}`);
        for (const w of m.why) out.push(`      ${escapeText(w)}`);
      }
      if (t.unmatched.length > MAX_UNMATCHED_SHOWN) out.push(`    … ${t.unmatched.length - MAX_UNMATCHED_SHOWN} more (--format json lists them all)`);
    }
  }
  const changed = changes(traces, before);
  out.push('', changed.length ? `Verdicts the rules changed (${changed.length}):` : 'The rules changed no verdict.');
  for (const c of changed) out.push(`  ${finding(c.finding)}: ${c.from.severity} ${c.from.score} -> ${c.finding.severity} ${c.finding.score}${c.finding.allowlisted?.justification !== undefined ? ' (suppressed)' : ''}`);
  return out.join('\n') + '\n';
}

/** The findings whose severity, score or suppression the rules changed, in the order the rules first matched them. */
function changes(traces: readonly RuleTrace[], before: ReadonlyMap<Finding, Before>): Array<{ finding: Finding; from: Before }> {
  const out: Array<{ finding: Finding; from: Before }> = [];
  const seen = new Set<Finding>();
  for (const t of traces)
    for (const { finding: f } of t.matched) {
      const from = before.get(f);
      if (seen.has(f) || !from) continue;
      seen.add(f);
      if (from.severity !== f.severity || from.score !== f.score || f.allowlisted?.justification !== undefined) out.push({ finding: f, from });
    }
  return out;
}

function traceJson(traces: readonly RuleTrace[], total: number, before: ReadonlyMap<Finding, Before>): object {
  const one = (m: { finding: Finding; why: string[] }): object => ({ finding: m.finding.id, host: m.finding.host, filter: m.finding.filter?.name ?? null, consumer: m.finding.consumer?.name ?? null, why: m.why });
  return {
    findings: total,
    rules: traces.map((t) => ({ id: t.rule.reasonId, title: t.rule.title, file: t.rule.at.file, line: t.rule.at.line, column: t.rule.at.column, effect: effectText(t.rule), matched: t.matched.map(one), unmatched: t.unmatched.map(one) })),
    changed: changes(traces, before).map((c) => ({ finding: c.finding.id, before: c.from, after: { severity: c.finding.severity, score: c.finding.score }, suppressed: c.finding.allowlisted?.justification !== undefined })),
  };
}

export function addRulesCommands(program: Command, version: string): void {
  const rules = program.command('rules').description('list the rules a scan runs, and test your own rules (README "Your own rules") on evidence');
  rules
    .command('list')
    .description('list the built-in rules (id, score, ATT&CK ids, title), the rules of --rules files (id custom:<id>, effect, where they are written) and the Sigma rules of --sigma (loaded, counted as not applicable, or not loaded with why)')
    .option('--rules <file|dir>', 'your rules files or folders (as for scan --rules); repeatable', collect)
    .option('--sigma <path>', 'Sigma rule files or folders (as for scan --sigma); repeatable: the loaded rules (id sigma:<id>, points from their level, file), the count of those for log sources wmiscope does not read by log source, and every rule not loaded with why', collect)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (o: ListOpts & { format: 'table' | 'json' }) => {
      if (o.rules?.length && !(await rulesLoad(o.rules))) return void (process.exitCode = EXIT_UNUSABLE);
      const noSigma = (o.sigma ?? []).find((p) => !existsSync(p));
      if (noSigma !== undefined) return void (process.exitCode = printError(`--sigma ${noSigma}: no such file or folder`));
      const sections = (await Promise.all(RULE_SECTIONS.map((s) => s(o)))).filter((s): s is RuleSection => s !== null);
      const text = o.format === 'json' ? jsonSafe(JSON.stringify({ sections }, null, 2)) + '\n' : formatSections(sections);
      if (writeReport(undefined, text)) process.exitCode = exitCode({ readable: true });
    });
  rules
    .command('test')
    .description('scan the evidence, apply the rules of FILE (in order, as scan --rules does) and show, per rule, the findings it matched with the values that passed and the findings it did not with the test that failed, then the verdicts the rules changed')
    .argument('<file>', 'your rules file (or folder)')
    .argument('<evidence...>', 'evidence files or folders (as for scan)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--host <name>', 'attribute all evidence to this host')
    .option('-a, --allowlist <file>', 'allowlist file (YAML), as for scan; repeatable', collect)
    .option('--no-default-allowlist', 'do not use the built-in known-good entries')
    .option('--sigma <path>', 'Sigma rule files or folders, as for scan --sigma (their sigma:<id> reasons are there before your rules run); repeatable', collect)
    .option('-q, --quiet', 'no notes on stderr (errors behind exit code 2 are still printed)')
    .action(async (file: string, paths: string[], o: { format: 'table' | 'json'; host?: string; allowlist?: string[]; defaultAllowlist: boolean; sigma?: string[]; quiet?: boolean }) => {
      const noSigma = (o.sigma ?? []).find((p) => !existsSync(p));
      if (noSigma !== undefined) return void (process.exitCode = printError(`--sigma ${noSigma}: no such file or folder`));
      // a broken rules file or a typo'd path fails before any evidence is read
      if (!(await rulesLoad([file]))) return void (process.exitCode = EXIT_UNUSABLE);
      if (!preflight(paths)) return void (process.exitCode = EXIT_UNUSABLE);
      const [{ nothingReadable, scan }, { loadRules, traceRules }] = await Promise.all([import('../scan.js'), import('../analysis/custom/index.js')]);
      let result;
      try {
        // the scan without the rules, then the rules applied as the scan applies them, keeping what each matched
        result = await scan(paths, { ...(o.host ? { host: o.host } : {}), allowlists: o.allowlist ?? [], defaultAllowlist: o.defaultAllowlist, ...(o.sigma ? { sigma: o.sigma } : {}), version });
      } catch (e) {
        process.exitCode = printError(e instanceof Error ? e.message : String(e));
        return;
      }
      printNotes(result.notes, o);
      const before = new Map<Finding, Before>(result.findings.map((f) => [f, { severity: f.severity, score: f.score }]));
      const traces = traceRules(result.findings, loadRules([file]));
      const total = result.findings.length;
      const text = o.format === 'json' ? jsonSafe(JSON.stringify(traceJson(traces, total, before), null, 2)) + '\n' : formatTraces(traces, total, before);
      if (!writeReport(undefined, text)) return;
      if (nothingReadable(result)) process.exitCode = printError(nothingReadableMessage(result.notes, o));
      else process.exitCode = exitCode({ readable: true });
    });
}
