/**
 * HTML text and the CSP hash of inline text: what the scan report page (../html.ts) and the diff page (../diff.ts)
 * both write with, in one place.
 */
import { createHash } from 'node:crypto';

/** Text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** `'sha256-…'` of a text, as CSP wants it. */
export function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}
