/**
 * Value normalization shared by the typed event views: Sysmon's quoting, namespace spellings, object paths,
 * and the MOF text WMI-Activity 5861 carries. Facts: shared/reference/evtx-notes.md §6.5, wmi-tradecraft.md §2–3.
 */

/**
 * A Sysmon WMI value as the creator wrote it: Sysmon adds a leading space and outer double quotes and doubles
 * every backslash (` "root\\cimv2"` → `root\cimv2`). Values without the quotes (e.g. `Type`) are only trimmed.
 */
export function unquoteSysmon(v: string): string {
  const t = v.replace(/^ +/, '');
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(\\|")/g, '$1');
  return t;
}

/**
 * Canonical namespace text: backslashes, no `\\.\` / `//./` machine prefix, no trailing `:`, `ROOT` upper-cased.
 * Comparison is case-insensitive; use {@link namespaceKey} for joining.
 */
export function normalizeNamespace(ns: string): string {
  let t = ns.trim().replace(/\//g, '\\');
  t = t.replace(/^\\\\[^\\]*\\/, '').replace(/:$/, '');
  t = t.replace(/\\+/g, '\\').replace(/^\\/, '');
  return t.replace(/^root(?=\\|$)/i, 'ROOT');
}

export function namespaceKey(ns: string): string {
  return normalizeNamespace(ns).toLowerCase();
}

/** A parsed object path: `\\.\ROOT\subscription:CommandLineEventConsumer.Name="x"`. */
export interface ObjectRef {
  namespace: string | null;
  className: string;
  keys: Record<string, string>;
  /** The `Name` key, the one subscriptions are joined by (null for other key shapes). */
  name: string | null;
}

export function parseObjectRef(path: string): ObjectRef | null {
  let rest = path.trim();
  let namespace: string | null = null;
  const colon = rest.search(/:(?=[A-Za-z_]\w*(\.|=|$))/);
  if (colon > 0) {
    namespace = normalizeNamespace(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const m = /^([A-Za-z_]\w*)(?:\.(.*)|=@|=(".*"))?$/s.exec(rest);
  if (!m) return null;
  const keys: Record<string, string> = {};
  const body = m[2] ?? (m[3] !== undefined ? `Name=${m[3]}` : '');
  // `key=value` pairs, as /([A-Za-z_]\w*)=("((?:[^"\\]|\\.)*)"|[^,]*)/gs read them, in linear time and stack: a key
  // is tried only where a word starts ((?<!\w)\d*: leading digits skipped, as that pattern did; unguarded, every
  // position of a long word run starts a scan to its end), and quoted values are scanned by hand (the regex
  // engine's backtracking stack overflows on a value of a few million characters)
  const re = /(?<!\w)\d*([A-Za-z_]\w*)=/g;
  let k: RegExpExecArray | null;
  while ((k = re.exec(body))) {
    const at = re.lastIndex;
    let close = -1;
    if (body[at] === '"') {
      for (let i = at + 1; i < body.length; i++) {
        if (body[i] === '"') {
          close = i;
          break;
        }
        if (body[i] === '\\') i++;
      }
    }
    if (close >= 0) {
      keys[k[1]!] = body.slice(at + 1, close).replace(/\\(.)/g, '$1');
      re.lastIndex = close + 1;
    } else {
      const comma = body.indexOf(',', at);
      const end = comma < 0 ? body.length : comma;
      keys[k[1]!] = body.slice(at, end);
      re.lastIndex = end;
    }
  }
  const nameKey = Object.keys(keys).find((x) => x.toLowerCase() === 'name');
  return { namespace, className: m[1]!, keys, name: nameKey ? keys[nameKey]! : null };
}

// ---- MOF text (WMI-Activity 5861 PossibleCause) ----------------------------------------------------------

export type MofValue = string | number | boolean | null | MofValue[];

export interface MofInstance {
  className: string;
  properties: Record<string, MofValue>;
}

/**
 * The `instance of Class { Prop = value; … };` blocks of a MOF text (strings with `\"` escapes, numbers,
 * `{a, b}` arrays, TRUE/FALSE/NULL). Whatever does not parse is skipped; nothing throws.
 */
export function parseMofInstances(text: string): MofInstance[] {
  const out: MofInstance[] = [];
  const re = /instance\s+of\s+([A-Za-z_]\w*)\s*\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    // no prototype: a MOF property named __proto__ is just a property
    const props: Record<string, MofValue> = Object.create(null) as Record<string, MofValue>;
    let p = m.index + m[0].length;
    for (let guard = 0; guard < 1000; guard++) {
      p = skipWs(text, p);
      if (p >= text.length || text[p] === '}') break;
      const nm = /^([A-Za-z_]\w*)\s*=\s*/.exec(text.slice(p, p + 300));
      if (!nm) break;
      p += nm[0].length;
      const v = mofValue(text, p);
      if (!v) break;
      props[nm[1]!] = v.value;
      p = skipWs(text, v.end);
      if (text[p] === ';') p++;
    }
    // own data properties only (fromEntries defines `__proto__` as a key, it never sets the prototype)
    out.push({ className: m[1]!, properties: Object.fromEntries(Object.entries(props)) });
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
    let s = '';
    let i = p + 1;
    while (i < t.length && t[i] !== '"') {
      if (t[i] === '\\' && i + 1 < t.length) {
        const n = t[i + 1]!;
        s += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
        i += 2;
      } else s += t[i++];
    }
    return i < t.length ? { value: s, end: i + 1 } : null;
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

/** A binary SID as a MOF/CIM byte array (`{1, 5, 0, …}`) → `S-1-…`, or null. */
export function sidFromByteArray(v: unknown): string | null {
  if (!Array.isArray(v) || v.length < 8 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255)) return null;
  const b = v as number[];
  const n = b[1]!;
  if (b.length < 8 + 4 * n) return null;
  let auth = 0;
  for (let i = 2; i < 8; i++) auth = auth * 256 + b[i]!;
  let s = `S-${b[0]}-${auth}`;
  for (let i = 0; i < n; i++) {
    const o = 8 + 4 * i;
    s += '-' + ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000);
  }
  return s;
}
