/**
 * Finding and loading repository files: the folder may be the repository itself or any folder above it
 * (a triage collection); names are matched in any letter case; gzip'd copies are read transparently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as crypto from 'node:crypto';

import { CimFormatError } from './errors.js';

export { CimFormatError };

export interface RepositoryFiles {
  dir: string;
  /** Upper-cased base name (without `.gz`) → full path. */
  files: Map<string, string>;
}

const NEEDED = ['INDEX.BTR'];

function listRepoFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const up = e.name.toUpperCase().replace(/\.GZ$/, '');
    if (up === 'INDEX.BTR' || up === 'OBJECTS.DATA' || /^MAPPING\d?\.(MAP|VER)$/.test(up) || up === 'INDEX.MAP' || up === 'OBJECTS.MAP') {
      if (!out.has(up) || !e.name.toLowerCase().endsWith('.gz')) out.set(up, path.join(dir, e.name));
    }
  }
  return out;
}

/**
 * The key (`MAPPING3.MAP`) of a mapping file asked for by name (any case, `.gz` or not) or by a path, absolute or
 * relative, to one of the repository's own files; null when the path names another file (a mapping file describes
 * the pages of its own OBJECTS.DATA and INDEX.BTR, so one from another folder cannot be read with this repository).
 */
export function mappingKey(given: string, files: ReadonlyMap<string, string>, onDisk: boolean): string | null {
  const key = (given.split(/[\\/]/).pop() ?? '').toUpperCase().replace(/\.GZ$/, '');
  if (!onDisk || !/[\\/]/.test(given)) return key;
  const mine = files.get(key);
  if (mine === undefined) return null;
  try {
    return fs.realpathSync.native(given) === fs.realpathSync.native(mine) ? key : null;
  } catch {
    return null;
  }
}

/** Locate the repository under `dir` (itself, `FS\`, or any folder below, breadth-first, a few levels deep). */
export function findRepository(dir: string, maxDepth = 8): RepositoryFiles {
  const st = fs.statSync(dir);
  if (!st.isDirectory()) throw new CimFormatError(`${dir}: not a folder`);
  let level = [dir];
  for (let depth = 0; depth <= maxDepth && level.length; depth++) {
    const next: string[] = [];
    for (const d of level) {
      const files = listRepoFiles(d);
      if (NEEDED.every((n) => files.has(n)) && [...files.keys()].some((k) => k.endsWith('.MAP'))) return { dir: d, files };
      try {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) next.push(path.join(d, e.name));
      } catch {
        // unreadable folder: skip
      }
    }
    level = next.sort();
  }
  throw new CimFormatError(`${dir}: no WMI repository found (INDEX.BTR and MAPPING*.MAP in one folder, normally with OBJECTS.DATA)`);
}

/**
 * Read a file, gunzipping it when it starts with the gzip signature. The decompressed size is bounded
 * (`maxBytes`): a small gzip "bomb" in the evidence cannot exhaust memory.
 */
export function readMaybeGzip(file: string, maxBytes = 2 ** 31 - 1): Buffer {
  const raw = fs.readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw, { maxOutputLength: maxBytes });
    } catch (e) {
      throw new CimFormatError(`${file}: gzip data does not decompress (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return raw;
}

/** True when the file starts with the gzip signature (two bytes read). */
export function isGzipFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return fs.readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A small repository file (a mapping file, MAPPING.VER) read whole, refused when it is larger than `maxBytes`
 * (before anything is read; gunzipped copies are bounded by readMaybeGzip).
 */
export function readBounded(file: string, maxBytes: number): Buffer {
  if (isGzipFile(file)) return readMaybeGzip(file, maxBytes);
  const size = fs.statSync(file).size;
  if (size > maxBytes) throw new CimFormatError(`${size} bytes, more than a file of its kind holds (at most ${maxBytes} read); not read`);
  return fs.readFileSync(file);
}

/** Upper-hex hash of the UTF-16LE of the uppercased name: SHA-256 (Vista+) or MD5 (XP/2003). */
export function nameHash(name: string, algorithm: 'sha256' | 'md5'): string {
  const bytes = Buffer.from(name.toUpperCase(), 'utf16le');
  return (oneShot ? oneShot(algorithm, bytes, 'hex') : crypto.createHash(algorithm).update(bytes).digest('hex')).toUpperCase();
}

/** `crypto.hash` (Node 20.12+): one call per digest, without a Hash object; createHash where it is missing. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash;
