/**
 * Shared helpers for the formatters: severity order and filtering, escaping of untrusted text for terminals
 * and spreadsheets, and width-aware wrapping. Everything here is pure and imports only the model.
 */
import type { CoverageEntry, Severity } from '../model/types.js';
import { SEVERITIES } from '../model/types.js';
import { escapeText, escapeVisible, jsonSafe } from '../model/text.js';

/** Higher is worse: critical = 4 … info = 0. Unknown values rank below info so they never hide real findings' order. */
export function severityRank(s: Severity): number {
  const i = SEVERITIES.indexOf(s);
  return i < 0 ? -1 : SEVERITIES.length - 1 - i;
}

export { escapeText, escapeVisible, jsonSafe };

/** Like `escapeVisible` but keeps line structure: returns the escaped lines of a multi-line value (the terminal report's blocks). */
export function escapeLines(s: string): string[] {
  return s.split(/\r\n|\n|\r/).map(escapeVisible);
}


/**
 * Terminal columns a code point takes: 0 for combining marks and zero-width joiners, 2 for East Asian wide/fullwidth
 * characters and for emoji shown as emoji by default (Emoji_Presentation: 🚀 ⚡ ⌚ 🪐, not only the 1F300-1F64F block),
 * else 1. When unsure it says 2: a line laid out a column short is harmless, one a column too wide wraps.
 */
function cpWidth(cp: number, ch: string): number {
  if (cp < 0x300) return 1;
  if (cp === 0x200b || cp === 0x200c || cp === 0x200d || /\p{Mn}|\p{Me}/u.test(ch)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2329 && cp <= 0x232a) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xa960 && cp <= 0xa97f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe10 && cp <= 0xfe19) ||
    (cp >= 0xfe30 && cp <= 0xfe6f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x16fe0 && cp <= 0x18cff) ||
    (cp >= 0x1b000 && cp <= 0x1b2ff) ||
    (cp >= 0x1f000 && cp <= 0x1faff && /\p{Emoji_Presentation}|\p{Extended_Pictographic}/u.test(ch)) ||
    (cp >= 0x1f200 && cp <= 0x1f2ff) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd) ||
    /\p{Emoji_Presentation}/u.test(ch)
  )
    return 2;
  return 1;
}

export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += cpWidth(ch.codePointAt(0)!, ch);
  return w;
}

/** Cuts `s` to at most `width` columns, ending with an ellipsis when something was cut. */
export function truncate(s: string, width: number): string {
  if (textWidth(s) <= width) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = cpWidth(ch.codePointAt(0)!, ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}

/**
 * Greedy wrap of one (already escaped) line to `width` columns, breaking after spaces when possible and
 * hard-breaking long tokens (command lines, base64) otherwise. Never returns an empty array.
 */
export function wrap(s: string, width: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  let chars = [...s];
  while (chars.length > 0) {
    let used = 0;
    let i = 0;
    let lastBreak = -1;
    for (; i < chars.length; i++) {
      const ch = chars[i]!;
      const cw = cpWidth(ch.codePointAt(0)!, ch);
      if (used + cw > w) break;
      used += cw;
      if (ch === ' ') lastBreak = i + 1;
    }
    if (i >= chars.length) {
      lines.push(chars.join(''));
      break;
    }
    const cut = lastBreak > 0 ? lastBreak : Math.max(i, 1);
    lines.push(chars.slice(0, cut).join('').trimEnd());
    chars = chars.slice(cut);
    while (chars[0] === ' ') chars.shift();
  }
  return lines.length ? lines : [''];
}

/** Sources that saw the subscription. */
export function seenBy(c: CoverageEntry[]): string[] {
  return c.filter((e) => e.saw).map((e) => e.source);
}

/** Sources that could not see it, with the reason: `Sysmon (namespace not covered)`. */
export function missedBy(c: CoverageEntry[]): string[] {
  return c.filter((e) => !e.saw).map((e) => (e.reason ? `${e.source} (${e.reason})` : e.source));
}

/** Cuts `s` to at most `width` columns from the start, opening with an ellipsis when something was cut (for paths: their end names the file). */
export function truncateStart(s: string, width: number): string {
  if (textWidth(s) <= width) return s;
  const chars = [...s];
  let out = '';
  let w = 0;
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i]!;
    const cw = cpWidth(ch.codePointAt(0)!, ch);
    if (w + cw > width - 1) break;
    out = ch + out;
    w += cw;
  }
  return '…' + out;
}

/**
 * How many characters of `files` they all share as a folder: the longest common start that ends with a separator
 * (`/`, `\\`), 0 when there is none. With one file, its folder.
 */
export function commonFolder(files: readonly string[]): number {
  if (files.length === 0) return 0;
  let n = files[0]!.length;
  for (const f of files) {
    let i = 0;
    while (i < n && i < f.length && f[i] === files[0]![i]) i++;
    n = i;
  }
  if (n === 0) return 0;
  const cut = Math.max(files[0]!.lastIndexOf('/', n - 1), files[0]!.lastIndexOf('\\', n - 1));
  return cut < 0 ? 0 : cut + 1;
}

/**
 * A file name cut to `width` columns so that it can still be told apart from the other files listed with it (damaged
 * logs of the same name in several host folders or archives). Cut from the start while what follows the folder they
 * all share (their first `common` characters, see {@link commonFolder}) stays whole; else the middle goes, keeping the
 * first part after that folder (a host's folder, an archive: `…/HOST1.zip!/…Logs/Application.evtx`) when the file's
 * own name still fits whole beside it; else from the start. Names that fit are left whole.
 */
export function truncatePath(s: string, width: number, common = 0): string {
  if (textWidth(s) <= width) return s;
  const rest = s.slice(common);
  if (textWidth(rest) < width) return truncateStart(s, width);
  const lead = common > 0 ? `…${s[common - 1]}` : '';
  const head = /^[^/\\]+[/\\]/.exec(rest)?.[0];
  const name = rest.slice(Math.max(rest.lastIndexOf('/'), rest.lastIndexOf('\\')) + 1);
  if (head === undefined || textWidth(lead) + textWidth(head) + 1 + textWidth(name) > width) return truncateStart(s, width);
  return lead + head + truncateStart(rest.slice(head.length), width - textWidth(lead) - textWidth(head));
}

/** `s` followed by spaces up to `width` columns (nothing added when it is already as wide). */
export function padText(s: string, width: number): string {
  const w = textWidth(s);
  return w >= width ? s : s + ' '.repeat(width - w);
}

/** A whole number with thousands separators, the same on every machine and locale: 38018 → `38,018`. */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A size in bytes for reading: `812 B`, `4.2 KiB`, `46.2 MiB`, `2.5 GiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.max(0, n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
