/**
 * The built-in rules, in the order their reasons are reported (the order of `RULE_IDS`): the subscription rules,
 * theme by theme, then the fleet rules stacking runs once every host is counted.
 */
import type { RuleContext } from './context.js';
import { CONSUMER_RULES } from './consumer.js';
import { CREATOR_RULES } from './creator.js';
import { FLEET_RULES } from './fleet.js';
import { NAME_RULES } from './names.js';
import { NAMESPACE_RULES } from './namespace.js';
import { PAYLOAD_RULES } from './payload.js';
import type { Rule, RuleInfo } from './rule.js';
import { STATUS_RULES } from './status.js';
import { TIMING_RULES } from './timing.js';
import { TRIGGER_RULES } from './trigger.js';

/** Rules judging one subscription, run by `evaluate()`. */
export const SUBSCRIPTION_RULES: ReadonlyArray<Rule<RuleContext>> = [
  ...CONSUMER_RULES,
  ...PAYLOAD_RULES,
  ...TRIGGER_RULES,
  ...NAMESPACE_RULES,
  ...NAME_RULES,
  ...CREATOR_RULES,
  ...TIMING_RULES,
  ...STATUS_RULES,
];

export { FLEET_RULES };

/** Every built-in rule's facts (id, title, ATT&CK ids, score, theme), in report order: what `wmiscope rules list` prints. */
export const RULES: ReadonlyArray<RuleInfo> = [...SUBSCRIPTION_RULES, ...FLEET_RULES].map(({ id, title, attack, score, theme }) => ({ id, title, attack, score, theme }));
