/** Quoting what a pattern matched in evidence text, for a reason's evidence (one line, control characters escaped). */
import { escapeControl } from '../decode.js';

/** A quoted excerpt of `text` around `index` (one line, control characters escaped). */
function excerpt(text: string, index: number, length: number, context = 40): string {
  const start = Math.max(0, index - context);
  const end = Math.min(text.length, index + length + context);
  return `${start > 0 ? '…' : ''}${escapeControl(text.slice(start, end))}${end < text.length ? '…' : ''}`;
}

export interface Hit {
  what: string;
  where: string;
}

/** Every match of `re` (global) in `text`, as the matched text and an excerpt. */
export function hits(re: RegExp, text: string, limit = 5): Hit[] {
  const out: Hit[] = [];
  for (const m of text.matchAll(re)) {
    out.push({ what: m[0], where: excerpt(text, m.index ?? 0, m[0].length) });
    if (out.length >= limit) break;
  }
  return out;
}

/** The distinct matched texts (up to five), where they were found, and the first excerpt. */
export function describe(hs: Hit[], label: string): string {
  const what = [...new Set(hs.map((h) => escapeControl(h.what.trim())))].slice(0, 5);
  return `${what.map((w) => `"${w}"`).join(', ')} in ${label}: ${hs[0]!.where}`;
}
