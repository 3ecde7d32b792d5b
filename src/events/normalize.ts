/**
 * Value normalization shared by the typed event views: Sysmon's quoting and the MOF text WMI-Activity 5861
 * carries. Namespace spelling, object paths and SIDs are the model's (src/model/wmi.ts). Facts:
 * shared/reference/evtx-notes.md §6.5, wmi-tradecraft.md §2–3.
 */
import { objectPath } from '../model/subscription.js';

/**
 * A Sysmon WMI value as the creator wrote it: Sysmon adds a leading space and outer double quotes and doubles
 * every backslash (` "root\\cimv2"` → `root\cimv2`). Values without the quotes (e.g. `Type`) are only trimmed.
 */
export function unquoteSysmon(v: string): string {
  const t = v.replace(/^ +/, '');
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(\\|")/g, '$1');
  return t;
}

// ---- MOF text (WMI-Activity 5861 PossibleCause) ----------------------------------------------------------

export type MofValue = string | number | boolean | null | MofValue[];

export interface MofInstance {
  className: string;
  properties: Record<string, MofValue>;
  /** The namespace a preceding `#pragma namespace("…")` names (as written, unescaped), when there is one. */
  namespace?: string;
  /** The `as $Alias` of the instance, when it has one. */
  alias?: string;
}

/**
 * The `instance of Class [as $Alias] { Prop = value; … };` blocks of a MOF text (strings with `\"` escapes,
 * numbers, `{a, b}` arrays, TRUE/FALSE/NULL), each with the namespace of the `#pragma namespace` before it. A value
 * `$Alias` naming an earlier instance is that instance's relative object path (`__EventFilter.Name="x"`, as mofcomp
 * resolves it) when the instance has a string `Name`, else null. Whatever does not parse is skipped; nothing throws.
 */
export function parseMofInstances(text: string): MofInstance[] {
  const out: MofInstance[] = [];
  const re = /#pragma[ \t]+namespace[ \t]*\([ \t]*"((?:[^"\\\n]|\\.){0,1024})"[ \t]*\)|instance\s+of\s+([A-Za-z_]\w*)(?:\s+as\s+\$([A-Za-z_]\w*))?\s*\{/g;
  const aliases = new Map<string, string | null>();
  let namespace: string | undefined;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m[1] !== undefined) {
      namespace = m[1].replace(/\\(.)/g, '$1');
      continue;
    }
    // no prototype: a MOF property named __proto__ is just a property
    const props: Record<string, MofValue> = Object.create(null) as Record<string, MofValue>;
    let p = m.index + m[0].length;
    for (let guard = 0; guard < 1000; guard++) {
      p = skipWs(text, p);
      if (p >= text.length || text[p] === '}') break;
      const nm = /^([A-Za-z_]\w*)\s*=\s*/.exec(text.slice(p, p + 300));
      if (!nm) break;
      p += nm[0].length;
      const ref = text[p] === '$' ? /^\$([A-Za-z_]\w*)/.exec(text.slice(p, p + 300)) : null;
      const v = ref ? { value: aliases.get(ref[1]!.toLowerCase()) ?? null, end: p + ref[0].length } : mofValue(text, p);
      if (!v) break;
      props[nm[1]!] = v.value;
      p = skipWs(text, v.end);
      if (text[p] === ';') p++;
    }
    // own data properties only (fromEntries defines `__proto__` as a key, it never sets the prototype)
    const inst: MofInstance = { className: m[2]!, properties: Object.fromEntries(Object.entries(props)) };
    if (namespace !== undefined) inst.namespace = namespace;
    if (m[3] !== undefined) {
      inst.alias = m[3];
      const name = inst.properties['Name'];
      // a few thousand aliases at most: a text cannot grow the map past its own instance count
      aliases.set(m[3].toLowerCase(), typeof name === 'string' ? objectPath(m[2]!, name) : null);
    }
    out.push(inst);
    re.lastIndex = Math.max(re.lastIndex, p);
  }
  return out;
}

function skipWs(t: string, p: number): number {
  while (p < t.length && /[\s,]/.test(t[p]!)) p++;
  return p;
}

/** Deepest array nesting read in MOF text (MOF values are flat or arrays; deeper is damage or hostile). */
const MOF_MAX_DEPTH = 8;

function mofValue(t: string, p: number, depth = 0): { value: MofValue; end: number } | null {
  const c = t[p];
  if (c === '"') {
    // runs between escapes, joined once: a string grown a character at a time is a rope of one node per character
    // (a 29 KB script held 1 MB, and a 60 MB export of such records ran out of memory)
    const parts: string[] = [];
    let i = p + 1;
    let run = i;
    while (i < t.length && t[i] !== '"') {
      if (t[i] === '\\' && i + 1 < t.length) {
        const n = t[i + 1]!;
        parts.push(t.slice(run, i), n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n);
        i += 2;
        run = i;
      } else i++;
    }
    parts.push(t.slice(run, i));
    return i < t.length ? { value: parts.join(''), end: i + 1 } : null;
  }
  if (c === '{') {
    if (depth >= MOF_MAX_DEPTH) return null;
    const arr: MofValue[] = [];
    let i = p + 1;
    for (let guard = 0; guard < 100000; guard++) {
      i = skipWs(t, i);
      if (i >= t.length) return null;
      if (t[i] === '}') return { value: arr, end: i + 1 };
      const v = mofValue(t, i, depth + 1);
      if (!v) return null;
      arr.push(v.value);
      i = v.end;
    }
    return null;
  }
  const lit = /^(-?(?:0x[0-9a-f]+|\d+(?:\.\d+)?)|TRUE|FALSE|NULL)/i.exec(t.slice(p, p + 40));
  if (!lit) return null;
  const w = lit[1]!.toUpperCase();
  const value = w === 'TRUE' ? true : w === 'FALSE' ? false : w === 'NULL' ? null : Number(lit[1]);
  return { value, end: p + lit[0].length };
}
