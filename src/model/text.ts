/**
 * Display-safe text, shared by the analysis (evidence quoted in reasons) and the reports. Evidence is
 * attacker-controlled: nothing from it may reach a terminal or a spreadsheet raw.
 */

/**
 * Characters that must never be shown raw: C0 controls (ESC starts terminal escape sequences), DEL, C1
 * controls (U+009B is a one-byte CSI on some terminals), bidirectional overrides and isolates (they reorder
 * what the reader sees, "Trojan Source"), line/paragraph separators, BOM and lone surrogates. With the `u`
 * flag the surrogate range only matches unpaired halves.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/gu;

function escapeChar(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
  }
  const code = c.codePointAt(0)!;
  if (code > 0xffff) return `\\u{${code.toString(16)}}`;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of display text: every unsafe character (including newlines and tabs) shown as a visible escape. */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/**
 * For a reader comparing names (the HTML report): besides {@link escapeText}'s set, every character that shows
 * as nothing or as a plain space, so a name with one never looks like the name without it: zero-width and
 * other format characters, soft hyphen, no-break and other spaces, variation selectors, Hangul fillers, tags,
 * private use and noncharacters.
 */
const INVISIBLE = String.raw`\u061c\u00a0\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ue000-\uf8ff\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}\u{f0000}-\u{10ffff}\ud800-\udfff`;
const UNSAFE_VISIBLE = new RegExp(String.raw`[\u0000-\u001f\u007f-\u009f${INVISIBLE}]`, 'gu');
/** The same without line feed, carriage return and tab (kept in blocks). */
const UNSAFE_VISIBLE_BLOCK = new RegExp(String.raw`[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f${INVISIBLE}]`, 'gu');

/** One line for a reader comparing names: control, bidi, separator and invisible characters as visible escapes. */
export function escapeVisible(s: string): string {
  return s.replace(UNSAFE_VISIBLE, escapeChar);
}

/** A block (payloads, scripts): line breaks and tabs kept, every other unsafe or invisible character escaped. */
export function escapeVisibleBlock(s: string): string {
  return s.replace(UNSAFE_VISIBLE_BLOCK, escapeChar);
}

/**
 * The unsafe characters JSON.stringify leaves raw (C1 controls, bidi controls, U+2028/2029, BOM) as `\uXXXX`.
 * Applied to stringify output, where such characters can only occur inside string literals, so the result is
 * still valid JSON and parses back to the same values; C0 controls and lone surrogates are escaped by
 * JSON.stringify itself. Every JSON the tool prints goes through it, so JSON on a terminal is as safe as text.
 */
export function jsonSafe(json: string): string {
  return json.replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The note on a file of 0 bytes. */
export const EMPTY_FILE = 'empty file (0 bytes)';
