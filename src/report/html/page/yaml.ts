/**
 * YAML scalars and the lines of one exact allowlist entry, as the HTML page writes them (read back by
 * src/analysis/allowlist.ts). Pure, no DOM: `wmiscope allowlist from-scan` (src/report/allowfile.ts) writes its
 * entries with the same functions, so the page and the command cannot drift apart.
 */
import type { Finding } from '../../../model/types.js';
import type { AllowPlan } from '../allow.js';

const YAML_ESCAPE = /[\u0000-\u001f"\\\u007f-\u009f\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ue000-\uf8ff\ufe00-\ufe0f\ufeff\uffa0\ufff0-\uffff]|[\ud800-\udfff]/g;

/** A JSON-style double-quoted scalar (valid YAML 1.2): quotes, backslashes and every non-printable character escaped. */
export function yq(s: unknown): string {
  return '"' + String(s).replace(YAML_ESCAPE, (c) => {
    if (c === '"') return '\\"';
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
  }) + '"';
}

/** A value: booleans and safe integers as themselves, everything else quoted. */
export function yv(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return yq(String(v));
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The entry of a plan (../allow.ts `allowPlan`) as lines of a list item indented for `entries:`, without its
 * note: `head` is the `- id:` line, `rest` the namespace, filter and consumer. Null when no exact entry can be
 * written (no plan, or the plan says why not).
 */
export function allowEntryLines(p: AllowPlan | undefined, f: Finding): { head: string[]; rest: string[] } | null {
  if (!p || p.problem) return null;
  const rest: string[] = [];
  if (p.namespace !== null && p.namespace !== undefined) rest.push('    namespace: ' + yq(p.namespace));
  if (p.filter) {
    rest.push('    filter:', '      Name: ' + yq(p.filter.name));
    for (const [key, src] of p.filter.keys) if (IDENT.test(key) && f.filter) rest.push('      ' + key + ': ' + yv(f.filter.values[src]));
  }
  if (p.consumer) {
    rest.push('    consumer:', '      class: ' + yq(p.consumer.className), '      Name: ' + yq(p.consumer.name));
    for (const [key, src] of p.consumer.keys) if (IDENT.test(key) && f.consumer) rest.push('      ' + key + ': ' + yv(f.consumer.values[src]));
  }
  return { head: ['  - id: ' + yq(p.id)], rest };
}
