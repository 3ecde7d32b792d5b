/**
 * Reading a scan result file (`wmiscope scan -f json`) that a command is given: untrusted input, read through one
 * descriptor with its size bounded, parsed, and its shape checked (analysis/diff.ts `asScanResult`), for `diff` and
 * `allowlist from-scan` alike.
 */
import * as fs from 'node:fs';
import type { ScanResult } from '../model/types.js';

/** Largest scan result read: it is held as text and as parsed JSON (about 3.7 times its size in all, measured). */
export const MAX_RESULT_BYTES = 256 * 1024 * 1024;

/** The scan result in `file`, or why it cannot be used (read at most {@link MAX_RESULT_BYTES}). */
export async function readScanResult(file: string, maxBytes = MAX_RESULT_BYTES): Promise<ScanResult | string> {
  let text: string;
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return `${file}: not a file`;
    if (st.size > maxBytes) return `${file}: ${st.size} bytes, over the ${maxBytes}-byte bound for a scan result`;
    // read what is there up to the bound plus one byte (a file growing after the stat is still bounded)
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (let r; n < buf.length && (r = fs.readSync(fd, buf, n, buf.length - n, n)) > 0; ) n += r;
    if (n > maxBytes) return `${file}: over the ${maxBytes}-byte bound for a scan result`;
    if (n === 0) return `${file}: empty file (0 bytes)`;
    text = buf.toString('utf8', 0, n);
  } catch (e) {
    return `${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    // the usual mistake: evidence (a hunt zip, a folder's file) or -f jsonl output given where a result is wanted
    return `${file}: not JSON (${e instanceof Error ? e.message : String(e)}); a scan result is the file "wmiscope scan -f json -o FILE" writes: scan the evidence first`;
  }
  const { asScanResult } = await import('../analysis/diff.js');
  const r = asScanResult(value);
  return typeof r === 'string' ? `${file}: ${r}` : r;
}
