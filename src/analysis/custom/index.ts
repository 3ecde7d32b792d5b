/**
 * User rules (`--rules FILE|DIR`): the YAML format of `schema/rules.schema.json`, loaded with `file:line:column`
 * problems (load.ts), matched over the joined finding's fields (fields.ts, match.ts) and applied after coverage and
 * fleet stacking (apply.ts). README "Your own rules" documents the format.
 */
export { loadRules, parseRules, rulesFiles, RulesError, problemText, RULES_SCHEMA_URL, MAX_RULES_FILE_BYTES } from './load.js';
export type { RulesProblem } from './load.js';
export { applyRules, traceRules } from './apply.js';
export type { RuleTrace } from './apply.js';
export { evaluate, testText } from './match.js';
export type { Outcome } from './match.js';
export { FIELDS, fieldKind, fieldValues } from './fields.js';
export type { FieldKind, FieldValue } from './fields.js';
export { OPERATORS } from './types.js';
export type { Condition, Operator, Place, Test, UserRule } from './types.js';
