/**
 * Payload decoding for display and for the rules: PowerShell `-EncodedCommand` (base64 of UTF-16LE text, any
 * unambiguous prefix of the parameter: `-e`, `-ec`, `-en`, `-enc`, …, `-EncodedCommand`, with `-`, `/` or a
 * dash look-alike), `[Convert]::FromBase64String('…')` literals, nested once more inside the decoded text.
 * Nothing here executes anything: it is text in, text out.
 */
import { escapeText } from '../model/text.js';

/** A decoded payload and where it came from. */
export interface DecodedPayload {
  /** `-enc`, `-EncodedCommand`, `FromBase64String`, … as written. */
  via: string;
  /** The base64 text as written (possibly long). */
  encoded: string;
  /** The decoded text. */
  text: string;
  /** 1 for a payload found in the consumer itself, 2 for one found inside a decoded payload. */
  depth: number;
}

/** At most this many payloads are decoded from one text (and as many again from inside them). */
const MAX_PAYLOADS = 16;

/** Longest payload text decoded (characters); longer base64 is decoded up to this many characters. */
const MAX_DECODED = 1_000_000;

/** `-EncodedCommand` and its prefixes, `-ec`; `-`, `/`, en dash, em dash, horizontal bar; then its separator. */
const ENC_FLAG_PART = String.raw`(?:^|[\s"'(])([-/\u2013\u2014\u2015](?:ec|e(?:n(?:c(?:o(?:d(?:e(?:d(?:c(?:o(?:m(?:m(?:a(?:n(?:d)?)?)?)?)?)?)?)?)?)?)?)?)?))\s*[:\s]\s*["']?`;
/** The flag and a base64 argument. */
const ENC_FLAG = new RegExp(`${ENC_FLAG_PART}([A-Za-z0-9+/_-]{8,}={0,2})`, 'gi');
/** The flag and any argument (quoted or bare), base64 or not. */
const ENC_ANY = new RegExp(`${ENC_FLAG_PART}([^\\s"'\`]{1,4096})`, 'gi');
/** `[Convert]::FromBase64String('…')` / `FromBase64String("…")`. */
const FROM_B64 = /(FromBase64String)\s*\(\s*["']([A-Za-z0-9+/\s]{8,}={0,2})["']\s*\)/gi;

/** Bytes of a base64 (or base64url) text; null when it is not base64. */
export function base64Bytes(text: string): Buffer | null {
  let t = text.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  t = t.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(t) || t.length % 4 === 1) return null;
  return Buffer.from(t, 'base64');
}

/**
 * Share of characters that are plain text (ASCII printable, whitespace, Latin letters). Base64 of random bytes
 * read as UTF-16 gives mostly CJK and other far code points, so this is what tells a script from noise.
 */
function printableRatio(s: string): number {
  if (s.length === 0) return 0;
  let ok = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c === 9 || c === 10 || c === 13 || (c >= 0x20 && c < 0x7f) || (c >= 0xa0 && c <= 0x24f) || c === 0x2018 || c === 0x2019 || c === 0x201c || c === 0x201d || c === 0x2013 || c === 0x2014) ok++;
  }
  return ok / [...s].length;
}

/** UTF-16LE text of base64, or null when it does not decode to text. */
export function decodeUtf16Base64(b64: string): string | null {
  const bytes = base64Bytes(b64);
  if (!bytes || bytes.length < 2) return null;
  const even = bytes.subarray(0, Math.min(bytes.length - (bytes.length % 2), MAX_DECODED * 2));
  const text = even.toString('utf16le').replace(/^\uFEFF/, '');
  return printableRatio(text) >= 0.85 ? text : null;
}

/** UTF-8 text of base64, or null when it does not decode to text. */
function decodeUtf8Base64(b64: string): string | null {
  const bytes = base64Bytes(b64);
  if (!bytes || bytes.length < 2) return null;
  const text = bytes.subarray(0, MAX_DECODED).toString('utf8').replace(/^\uFEFF/, '');
  return printableRatio(text) >= 0.85 ? text : null;
}

function decodeOnce(text: string, depth: number): DecodedPayload[] {
  const out: DecodedPayload[] = [];
  // -enc only means something on a PowerShell command line; an encoded command can also be nested in a
  // decoded script that starts powershell again, so the context is the whole text.
  if (/\b(?:powershell|pwsh)(?:\.exe)?\b|system\.management\.automation/i.test(text)) {
    for (const m of text.matchAll(ENC_FLAG)) {
      const decoded = decodeUtf16Base64(m[2]!);
      if (decoded !== null) out.push({ via: m[1]!, encoded: m[2]!, text: decoded, depth });
      if (out.length >= MAX_PAYLOADS) return out;
    }
  }
  for (const m of text.matchAll(FROM_B64)) {
    const decoded = decodeUtf16Base64(m[2]!) ?? decodeUtf8Base64(m[2]!);
    if (decoded !== null) out.push({ via: m[1]!, encoded: m[2]!.replace(/\s+/g, ''), text: decoded, depth });
    if (out.length >= MAX_PAYLOADS) return out;
  }
  return out;
}

/** An encoded-command argument that does not decode to text, and why. */
export interface UndecodedCommand {
  /** `-enc`, `-EncodedCommand`, … as written. */
  via: string;
  /** The argument as written (at most 4,096 characters). */
  encoded: string;
  /** `a variable: computed at run time`, `not base64`, `not UTF-16LE text`. */
  why: string;
}


/**
 * The `-EncodedCommand` arguments (any of its spellings) of a PowerShell command line in `text` that do not decode
 * to text: an encoded command is there, what it runs cannot be shown. At most 16. An argument that starts with `-`
 * or `/` is the next parameter (no argument), not an encoded command.
 */
export function undecodedCommands(text: string): UndecodedCommand[] {
  if (!/\b(?:powershell|pwsh)(?:\.exe)?\b|system\.management\.automation/i.test(text)) return [];
  const out: UndecodedCommand[] = [];
  for (const m of text.matchAll(ENC_ANY)) {
    const arg = m[2]!;
    if (/^[-/\u2013\u2014\u2015]/.test(arg) || decodeUtf16Base64(arg) !== null) continue;
    const why = /^\$/.test(arg) ? 'a variable: computed at run time' : base64Bytes(arg) === null ? 'not base64' : 'not UTF-16LE text';
    out.push({ via: m[1]!, encoded: arg, why });
    if (out.length >= MAX_PAYLOADS) break;
  }
  return out;
}

/**
 * Every encoded PowerShell payload in `text`, and those inside them (one level of nesting: a decoded command
 * that itself runs `powershell -enc …` is decoded too, and no deeper); at most 16 of each level.
 */
export function decodePayloads(text: string): DecodedPayload[] {
  const first = decodeOnce(text, 1);
  const nested = first.flatMap((p) => decodeOnce(p.text, 2)).slice(0, MAX_PAYLOADS);
  return [...first, ...nested];
}

/** Control characters, bidi overrides and line separators escaped, so the text stays on one line. */
export const escapeControl = escapeText;

/** One line of at most `max` characters (control characters escaped, `…` when cut). */
export function oneLine(s: string, max = 400): string {
  const e = escapeControl(s.trim());
  return e.length > max ? `${e.slice(0, max - 1)}…` : e;
}

/** A SID from its text form or from the byte array WMI stores in CreatorSID (`1,2,0,0,0,0,0,5,32,0,…`). */
export function sidText(v: unknown): string | null {
  if (typeof v !== 'string' || v.trim() === '') return null;
  const t = v.trim();
  if (/^S-1-/i.test(t)) return t.toUpperCase();
  const nums = t.replace(/^[[{(]|[\]})]$/g, '').split(/[\s,;]+/).filter(Boolean).map(Number);
  if (nums.length < 8 || nums.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return null;
  const b = Buffer.from(nums);
  const count = b[1]!;
  if (b[0] !== 1 || b.length < 8 + 4 * count) return null;
  const authority = b.readUIntBE(2, 6);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(b.readUInt32LE(8 + 4 * i));
  return `S-1-${authority}${subs.map((s) => `-${s}`).join('')}`;
}
