/**
 * The Sigma engine: reads SigmaHQ-format rules and matches them against event records in the EVTX layer's JSON
 * shape. Imports nothing of ours; `yaml` and `re2js` are loaded when rules are compiled.
 */
export type * from './types.js';
export { readSigmaSources, MAX_RULE_FILE, MAX_RULE_FILES, type SigmaReadResult } from './read.js';
export { compileSigma, MAX_MATCH_VALUE, MAX_MATCHES, type CompileOptions, type SigmaRuleSet, type SigmaSource } from './compile.js';
export { MODIFIERS, UNSUPPORTED } from './modifiers.js';
