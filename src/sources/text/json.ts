/**
 * JSON text from evidence parsed with a bound on nesting. `JSON.parse` builds every level of `[[[[…` before anyone can
 * look at it: 30 million brackets (60 MB of text) cost about 3 GB. The text is scanned first (one pass, no
 * allocation) and refused when it nests deeper than the bound.
 */

/**
 * Deepest nesting parsed at all: about 30 MB of parsed values at worst. Readers keep a record nested deeper than their
 * own, smaller, limit and drop only its deep parts, after parsing; past this one the record is not parsed.
 */
export const MAX_JSON_NESTING = 200_000;

/** The text nests arrays/objects deeper than `max` (brackets inside strings do not count). */
export function nestsDeeper(text: string, max = MAX_JSON_NESTING): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** `JSON.parse`, refusing text nested deeper than {@link MAX_JSON_NESTING} (a SyntaxError-like Error saying so). */
export function parseJson(text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown): unknown {
  if (nestsDeeper(text)) throw new Error(`nested more than ${MAX_JSON_NESTING} levels deep; not parsed`);
  return reviver ? JSON.parse(text, reviver) : JSON.parse(text);
}
