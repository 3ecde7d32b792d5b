/**
 * The Sysmon schema versions `sysmon config` writes for, and the reading of a version number: no imports, so that the
 * CLI can define its options without loading the configuration reader.
 */

/** Schema version as a number for comparisons (`4.22` → 4.22), or null. */
export function schemaNumber(v: string | null): number | null {
  if (!v || !/^\d+(\.\d+)?$/.test(v.trim())) return null;
  return Number(v.trim());
}

/** Schema version used when none is given: the one `<Rule>` and `contains any` need, understood by Sysmon 10.4 and later. */
export const DEFAULT_SCHEMA = '4.22';

/**
 * The schema versions `sysmon config` writes for: from 3.40 (Sysmon 6.10, the first with WmiEvent, events 19-21) to
 * the newest wmiscope knows (4.91, Sysmon 15.15). A newer Sysmon prints its own with `sysmon -s`; a merge keeps the
 * configuration's own version whatever it is.
 */
export const SCHEMA_RANGE = { first: '3.40', newest: '4.91' } as const;

/** Why `schema` cannot be written for, or null when it can (see {@link SCHEMA_RANGE}). */
export function schemaProblem(schema: string): string | null {
  const v = schemaNumber(schema);
  if (v === null) return `"${schema}" is not a schema version number (for example 4.22 or 4.90)`;
  if (v < Number(SCHEMA_RANGE.first)) return `schema ${schema} is older than ${SCHEMA_RANGE.first} (Sysmon 6.10), the first with WmiEvent (events 19, 20, 21)`;
  if (v > Number(SCHEMA_RANGE.newest)) return `schema ${schema} is newer than any wmiscope knows (${SCHEMA_RANGE.first} to ${SCHEMA_RANGE.newest}); \`sysmon -s\` prints the one your Sysmon uses`;
  return null;
}
