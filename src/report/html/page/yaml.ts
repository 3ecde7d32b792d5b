/** YAML scalars for the allowlist entries the page writes (read back by src/analysis/allowlist.ts). */

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
