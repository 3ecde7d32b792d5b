/**
 * Sysmon configuration: read the WmiEvent rules, audit what they log of WMI persistence, recommend and merge a
 * log-everything section. Imports nothing of ours (fast-xml-parser only, for well-formedness and its errors).
 */
import { readFileSync, statSync } from 'node:fs';
import { auditSysmonConfig } from './audit.js';
import type { SysmonAudit } from './audit.js';
import { parseSysmonConfig } from './config.js';
import { decodeConfig, MAX_CONFIG_CHARS, SysmonConfigError } from './xml.js';

export { auditSysmonConfig, OPERATIONS, SYSMON_BLIND_SPOTS } from './audit.js';
export type { Ambiguity, MatrixRow, SysmonAudit } from './audit.js';
export { CONDITIONS, WMI_FIELDS, parseSysmonConfig } from './config.js';
export { schemaNumber } from './schema.js';
export type { CompoundRule, FieldRule, RuleNode, SysmonConfig, SysmonConfigWarning, WmiFilterSet } from './config.js';
export { conditionMatches, decide, PRIMARY_READING } from './evaluate.js';
export type { Decision, Reading, WmiEventSample } from './evaluate.js';
export { mergeWmiSection, recommendedConfig, recommendedWmiSection } from './recommend.js';
export { DEFAULT_SCHEMA, schemaProblem, SCHEMA_RANGE } from './schema.js';
export type { MergeResult } from './recommend.js';
export { formatSysmonAudit } from './format.js';
export { decodeConfig, encodeConfig, SysmonConfigError } from './xml.js';

/** Read a configuration file (UTF-8 or UTF-16 with BOM), bounded in size. */
export function readSysmonConfigFile(file: string): { text: string; encoding: ReturnType<typeof decodeConfig>['encoding'] } {
  const size = statSync(file).size;
  if (size > MAX_CONFIG_CHARS * 2) throw new SysmonConfigError(`the file is ${size} bytes; a Sysmon configuration is far smaller`);
  return decodeConfig(readFileSync(file));
}

/** Audit a configuration file. Throws {@link SysmonConfigError} (line and column) for malformed XML. */
export function auditSysmonFile(file: string): SysmonAudit {
  return auditSysmonConfig(parseSysmonConfig(readSysmonConfigFile(file).text), file);
}
