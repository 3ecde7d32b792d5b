/**
 * Rules: what makes a WMI subscription look bad, following the tradecraft of shared/reference/wmi-tradecraft.md
 * §4–§7. The rules are a table (table.ts), one themed file each; each rule that fires gives a reason (id, title,
 * ATT&CK ids, the evidence quoted from the subscription, its score); the scores add up to a score and a severity in
 * one place (score.ts). An allow-listed subscription keeps its reasons but gets severity `info` and score 0.
 *
 * Nothing is ever executed: payloads are only matched as text and base64-decoded (decode.ts).
 */
import type { JoinedSubscription, Reason, Severity } from '../../model/types.js';
import type { Allowlist } from '../allowlist.js';
import { oneLine } from '../decode.js';
import { scoreOf } from '../score.js';
import { ruleContext } from './context.js';
import type { Fire, RuleInfo } from './rule.js';
import { summaryOf } from './summary.js';
import { FLEET_RULES, SUBSCRIPTION_RULES } from './table.js';
import type { FleetContext } from './fleet.js';

export { RULES } from './table.js';
export { RULE_IDS } from './rule.js';
export type { RuleId, RuleInfo, Theme } from './rule.js';
export type { FleetContext } from './fleet.js';
export { FLEET_MIN_HOSTS, fleetRank } from './fleet.js';

export interface Verdict {
  reasons: Reason[];
  decoded: string[];
  score: number;
  severity: Severity;
  summary: string;
  allowlisted: { by: string; entry: string } | null;
}

function reasonOf(rule: RuleInfo, fire: Fire, evidence: string): Reason {
  return { id: rule.id, title: fire.title ?? rule.title, attack: [...(fire.attack ?? rule.attack)], evidence, score: fire.score ?? rule.score };
}

/** Judge one subscription: the rules' reasons, decoded payloads, score, severity, summary, allow-list verdict. */
export function evaluate(input: JoinedSubscription, allowlists: Allowlist[]): Verdict {
  const ctx = ruleContext(input, allowlists);
  const reasons: Reason[] = [];
  for (const rule of SUBSCRIPTION_RULES) {
    const fire = rule.check(ctx);
    if (fire) reasons.push(reasonOf(rule, fire, oneLine(fire.evidence, 600)));
  }
  const { score, severity } = scoreOf(reasons, { quiet: ctx.allowlisted !== null });
  return {
    reasons,
    decoded: ctx.decoded.map((d) => d.text),
    score,
    severity,
    summary: summaryOf(ctx.consumerClass, ctx.consumer, ctx.binding),
    allowlisted: ctx.allowlisted,
  };
}

/** The fleet rules' reasons for a finding at this place in the fleet (the evidence is the host list, kept whole). */
export function fleetReasons(ctx: FleetContext): Reason[] {
  const out: Reason[] = [];
  for (const rule of FLEET_RULES) {
    const fire = rule.check(ctx);
    if (fire) out.push(reasonOf(rule, fire, fire.evidence));
  }
  return out;
}
