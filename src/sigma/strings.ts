/**
 * Sigma string values: wildcards (`*`, `?`), the backslash escape, and the one matcher every string test uses.
 *
 * A value is parsed once into parts (literal text, `*`, `?`, and the windash class); a needle is compiled from the
 * parts into the cheapest test that is exact for it (equality, prefix, suffix, substring, or a glob walk). Case is
 * folded once at compile time for the needle and once per event value by the caller.
 */

/** One part of a parsed Sigma string. */
export type Part =
  | string // literal text
  | { w: '*' }
  | { w: '?' }
  | { w: 'dash' }; // windash: any of - / – — ―

export const STAR: Part = { w: '*' };
const QMARK: Part = { w: '?' };
export const DASH: Part = { w: 'dash' };

/** Characters the windash class matches (Sigma modifiers appendix: hyphen, slash, en dash, em dash, horizontal bar). */
export const WINDASH_CHARS = '-/\u2013\u2014\u2015';

/**
 * Parse a rule value per the Sigma specification: `*` and `?` are wildcards; a backslash escapes `*`, `?` and a
 * backslash; any other backslash is literal. So `C:\Windows\x` is plain text, `C:\Windows\\*` is the folder and a
 * wildcard, and `C:\Windows\*` ends in a literal star.
 */
export function parseSigmaString(raw: string): Part[] {
  const out: Part[] = [];
  let lit = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      const n = raw[i + 1];
      if (n === '*' || n === '?' || n === '\\') {
        lit += n;
        i++;
      } else lit += c;
    } else if (c === '*' || c === '?') {
      if (lit) out.push(lit);
      lit = '';
      out.push(c === '*' ? STAR : QMARK);
    } else lit += c;
  }
  if (lit) out.push(lit);
  return out;
}

/** The literal text of parts without wildcards, or null when a wildcard is present. */
export function plainText(parts: readonly Part[]): string | null {
  let s = '';
  for (const p of parts) {
    if (typeof p !== 'string') return null;
    s += p;
  }
  return s;
}

/** Text of the parts as written in a rule (for messages). */
export function partsText(parts: readonly Part[]): string {
  return parts.map((p) => (typeof p === 'string' ? p : p.w === 'dash' ? '-' : p.w)).join('');
}

const isWord = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

/**
 * windash (as pySigma defines it): a `-` or `/` that starts a word (no word character before it, one after it)
 * matches any of the five dash characters; `Set-Content`'s inner hyphen stays literal.
 */
export function windash(parts: readonly Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    if (typeof p !== 'string') {
      out.push(p);
      continue;
    }
    let lit = '';
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!;
      if ((c === '-' || c === '/') && !isWord(p[i - 1]) && isWord(p[i + 1])) {
        if (lit) out.push(lit);
        lit = '';
        out.push(DASH);
      } else lit += c;
    }
    if (lit) out.push(lit);
  }
  return out;
}

/** A compiled string needle: `test(value)` is given the value already case-folded when the needle is not cased. */
export interface Needle {
  /** The needle as written (wildcards shown), for messages and tests. */
  readonly text: string;
  readonly cased: boolean;
  test(value: string): boolean;
  /**
   * A text every matching value contains, lower-cased (the needle's longest literal part, at least 3 characters):
   * the prefilter's key. Absent when the needle has none.
   */
  readonly anchor?: string;
}

/** Compile parts (already wrapped in `*` for contains/startswith/endswith) into the cheapest exact test. */
export function compileNeedle(parts: readonly Part[], cased: boolean): Needle {
  const fold = (p: Part): Part => (typeof p === 'string' && !cased ? p.toLowerCase() : p);
  // merge adjacent literals and collapse runs of stars
  const norm: Part[] = [];
  for (const p0 of parts) {
    const p = fold(p0);
    const last = norm[norm.length - 1];
    if (typeof p === 'string') {
      if (!p) continue;
      if (typeof last === 'string') norm[norm.length - 1] = last + p;
      else norm.push(p);
    } else if (p === STAR && last === STAR) continue;
    else norm.push(p);
  }
  const text = partsText(parts);
  const n = norm.length;
  const lit = (i: number): string | null => (typeof norm[i] === 'string' ? (norm[i] as string) : null);
  let test: (v: string) => boolean;
  if (n === 0) test = (v) => v === '';
  else if (n === 1 && lit(0) !== null) {
    const s = lit(0)!;
    test = (v) => v === s;
  } else if (n === 1 && norm[0] === STAR) test = () => true;
  else if (n === 2 && lit(0) !== null && norm[1] === STAR) {
    const s = lit(0)!;
    test = (v) => v.startsWith(s);
  } else if (n === 2 && norm[0] === STAR && lit(1) !== null) {
    const s = lit(1)!;
    test = (v) => v.endsWith(s);
  } else if (n === 3 && norm[0] === STAR && lit(1) !== null && norm[2] === STAR) {
    const s = lit(1)!;
    test = (v) => v.includes(s);
  } else {
    const frozen = norm.slice();
    test = (v) => globMatch(frozen, v);
  }
  let anchor = '';
  for (const p of norm) if (typeof p === 'string' && p.length > anchor.length) anchor = p;
  // a cased needle's anchor is lower-cased for the folded event text: kept only when plain ASCII (same length, no context)
  if (cased) anchor = /^[\x00-\x7f]*$/.test(anchor) ? anchor.toLowerCase() : '';
  return anchor.length >= 3 ? { text, cased, test, anchor } : { text, cased, test };
}

/**
 * Glob walk over parts: literals, `?` (one UTF-16 unit), the windash class (one of five characters) and `*`.
 * The classic single-backtrack-point algorithm: O(value × needle) time, no recursion, whatever the input.
 */
function globMatch(parts: readonly Part[], v: string): boolean {
  let pi = 0; // part index
  let off = 0; // offset inside a literal part
  let vi = 0;
  let starPi = -1;
  let starVi = 0;
  while (vi < v.length) {
    if (pi < parts.length) {
      const p = parts[pi]!;
      if (typeof p === 'string') {
        if (v.charCodeAt(vi) === p.charCodeAt(off)) {
          vi++;
          off++;
          if (off === p.length) {
            pi++;
            off = 0;
          }
          continue;
        }
      } else if (p === STAR) {
        starPi = pi;
        starVi = vi;
        pi++;
        off = 0;
        continue;
      } else if (p.w === '?' || (p.w === 'dash' && WINDASH_CHARS.includes(v[vi]!))) {
        vi++;
        pi++;
        continue;
      }
    }
    if (starPi < 0) return false;
    // backtrack: let the last star swallow one more character
    pi = starPi + 1;
    off = 0;
    starVi++;
    vi = starVi;
  }
  while (pi < parts.length && parts[pi] === STAR) pi++;
  return pi === parts.length && off === 0;
}
