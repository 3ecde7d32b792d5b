/**
 * Applying user rules to the joined findings (after coverage and fleet stacking): each rule, in order, over every
 * finding; a rule that matches adds its reason `custom:<id>` and applies its effects; the finding's score and
 * severity are then computed again by `scoreOf` (score.ts), with the severity bounds and suppression it now has.
 * A finding no rule matches is left exactly as it was.
 */
import type { Finding, Reason } from '../../model/types.js';
import { oneLine } from '../decode.js';
import { scoreOf } from '../score.js';
import { fieldValues } from './fields.js';
import { PLACEHOLDER } from './load.js';
import { evaluate } from './match.js';
import type { UserRule } from './types.js';

/** What one rule did: the findings it matched and why, and those it did not, with the test that failed. */
export interface RuleTrace {
  rule: UserRule;
  matched: Array<{ finding: Finding; why: string[] }>;
  unmatched: Array<{ finding: Finding; why: string[] }>;
}

/** Longest evidence text a user rule writes. */
const MAX_EVIDENCE = 1000;

/** Apply the rules in order to the findings (in place), as a scan does. */
export function applyRules(findings: readonly Finding[], rules: readonly UserRule[]): void {
  run(findings, rules, null);
}

/** Apply the rules as {@link applyRules} does and keep, per rule, what it matched and why and what it did not (`rules test`). */
export function traceRules(findings: readonly Finding[], rules: readonly UserRule[]): RuleTrace[] {
  const traces: RuleTrace[] = [];
  run(findings, rules, traces);
  return traces;
}

function run(findings: readonly Finding[], rules: readonly UserRule[], traces: RuleTrace[] | null): void {
  for (const rule of rules) {
    const trace: RuleTrace | null = traces ? { rule, matched: [], unmatched: [] } : null;
    for (const f of findings) {
      const o = evaluate(rule.match, f, trace !== null);
      if (!o.matched) {
        trace?.unmatched.push({ finding: f, why: o.why });
        continue;
      }
      trace?.matched.push({ finding: f, why: o.why });
      f.reasons.push(reasonOf(rule, f, o.why));
      if (rule.severity) f.severityBounds = [...(f.severityBounds ?? []), { rule: rule.reasonId, ...rule.severity }];
      // an allow-listed finding stays as the allowlist put it: the first verdict that made it quiet is the one shown
      if (rule.suppress && !f.allowlisted) f.allowlisted = { by: rule.at.file, entry: rule.reasonId, justification: rule.suppress.justification };
      ({ score: f.score, severity: f.severity } = scoreOf(f.reasons, { quiet: f.allowlisted !== null, ...(f.severityBounds ? { bounds: f.severityBounds } : {}) }));
    }
    if (trace) traces!.push(trace);
  }
}

function reasonOf(rule: UserRule, f: Finding, why: string[]): Reason {
  const effects: string[] = [];
  if (rule.severity?.min) effects.push(`severity at least ${rule.severity.min}`);
  if (rule.severity?.max) effects.push(`severity at most ${rule.severity.max}`);
  if (rule.suppress) effects.push(`suppressed: ${rule.suppress.justification}`);
  const template = rule.reason?.evidence;
  const text = template !== undefined ? template.replace(PLACEHOLDER, (_m, field: string) => fieldValues(f, field).map((v) => (typeof v === 'string' ? oneLine(v, 300) : String(v))).join(', ')) : why.join('; ');
  return {
    id: rule.reasonId,
    title: rule.reason?.title ?? rule.title,
    attack: rule.reason?.attack ?? rule.attack,
    evidence: oneLine([text, ...effects].filter(Boolean).join('; '), MAX_EVIDENCE),
    score: rule.reason?.score ?? 0,
  };
}
