/**
 * Evidence discovery: walk files and folders; find folders holding the WMI repository file set (any letter
 * case, gzip'd copies too) by content. Every other file is a candidate that `dispatch.ts` recognizes by content.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NoteSink } from '../notes.js';
import { hostFromParts, indexHeadOk, mappingHeadOk, repositorySet, REPO_FILE } from './layout.js';
import { EMPTY_FILE } from '../../model/text.js';

/**
 * `file`: a candidate file, classified by content when it is read (EVTX, gzip, zip, exports, rows, collector
 * output); `cim`: a folder holding a WMI repository. `file`/`dir` is the path as text; when the path is not valid
 * UTF-8 (a name Node cannot spell as a string) it is a display label (each stray byte as `\xNN`) and `raw` holds
 * the path's bytes (base64) to open it with ({@link rawPath}).
 */
export type Discovered = { kind: 'file'; file: string; size: number; raw?: string } | { kind: 'cim'; dir: string; raw?: string };

/** How the walk treats symbolic links found inside the given folders. */
export interface DiscoverOptions {
  /**
   * Follow links to files and folders outside the scanned tree too (default false: such a link is noted and not
   * followed). Links inside the tree are read or walked; loops are cut either way.
   */
  followSymlinks?: boolean;
}

const MAX_DEPTH = 40;

/** The note on a 0-byte file (in a folder or given by name). */
export { EMPTY_FILE };

const SEP = Buffer.from(path.sep);

/**
 * A display label for a path given as bytes: UTF-8 text as it is, every byte that is not part of valid UTF-8 as
 * `\xNN`. Null when the bytes are valid UTF-8 (the path is an ordinary string). For display and notes only.
 */
export function bytesLabel(b: Buffer): string | null {
  const s = b.toString('utf8');
  if (!s.includes('\ufffd') || Buffer.from(s, 'utf8').equals(b)) return null;
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = utf8Len(b, i);
    if (n > 0) {
      out += b.toString('utf8', i, i + n);
      i += n;
    } else {
      out += `\\x${b[i]!.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence at `i` (1-4), or 0 when the byte there does not start one. */
function utf8Len(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  const c1 = b[i + 1]!;
  // overlong, surrogate and beyond-U+10FFFF forms are not valid UTF-8
  if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return 0;
  return n;
}

/** The bytes of a discovered path that is not valid UTF-8 (see {@link Discovered}). */
export function rawPath(raw: string): Buffer {
  return Buffer.from(raw, 'base64');
}

function head(file: Buffer, n: number): Buffer | null {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const b = Buffer.alloc(n);
    const got = fs.readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } catch {
    return null;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** A folder is a repository when it holds INDEX.BTR and a MAPPINGn.MAP whose content looks right. */
function isRepositoryDir(dir: Buffer, names: string[]): boolean {
  const set = repositorySet(names);
  if (!set) return false;
  const m = head(join(dir, names[set.map]!), 4);
  const i = head(join(dir, names[set.index]!), 4);
  return m !== null && mappingHeadOk(m) && i !== null && indexHeadOk(i);
}

const join = (dir: Buffer, name: Buffer | string): Buffer => Buffer.concat([dir, SEP, typeof name === 'string' ? Buffer.from(name) : name]);
const errCode = (e: unknown): string => (e as NodeJS.ErrnoException | null)?.code ?? String(e);

/** True when `p` is `root` or lies under it (both real paths). */
function within(p: Buffer, root: Buffer): boolean {
  if (p.equals(root)) return true;
  const r = root.length && root[root.length - 1] === SEP[0] ? root : Buffer.concat([root, SEP]);
  return p.length > r.length && p.subarray(0, r.length).equals(r);
}

/**
 * Walk `paths`; return the evidence found; notes for what was skipped or unreadable. Paths are handled as bytes,
 * so a file whose name is not valid UTF-8 is read too (shown with `\xNN`). Policy for symbolic links inside the
 * given folders (paths given by name are always followed): a link to a file inside the scanned tree is read, with a
 * `link` note; a link to a folder inside it is walked (once); a link to a file or folder outside it is not followed
 * unless `followSymlinks`, with a `link` note; a dangling link is a `link` note; loops are cut by real path. Every
 * skip is a note (the CLI shows `not-evidence` and `link` notes with `-v`).
 */
export function discover(paths: string[], notes: NoteSink, opts: DiscoverOptions = {}): Discovered[] {
  const out: Discovered[] = [];
  const seen = new Set<string>();
  const seenFiles = new Map<string, string>();
  // the real paths of the given folders (all of them, before any walk): links leading out of these are not followed by default
  const roots: Buffer[] = [];
  for (const p of paths) {
    try {
      const real = fs.realpathSync.native(Buffer.from(p), { encoding: 'buffer' });
      if (fs.statSync(real).isDirectory()) roots.push(real);
    } catch {
      // reported when it is walked
    }
  }
  const visitFile = (file: Buffer, label: string, size: number, inRepository: boolean | null): void => {
    // repository files are read with their folder
    if (REPO_FILE.test(path.basename(label))) {
      if (inRepository !== true) notes.add({ file: label, level: 'skipped', code: 'not-evidence', message: 'a WMI repository file without the rest of its set beside it (INDEX.BTR and a MAPPINGn.MAP); give its folder to read the repository' });
      return;
    }
    // the same file given twice (a folder and a file in it, a link) is read once: its records are counted once
    let real = file;
    try {
      real = fs.realpathSync.native(file, { encoding: 'buffer' });
    } catch {
      // unreadable: read (and fail) as given
    }
    const key = real.toString('base64');
    const first = seenFiles.get(key);
    if (first !== undefined) {
      if (first !== label) notes.add({ file: label, level: 'skipped', code: 'link', message: `the same file as ${first}; read once` });
      return;
    }
    seenFiles.set(key, label);
    // an empty file holds nothing, but was collected: a failed copy or a placeholder is worth saying
    if (size === 0) {
      notes.add({ file: label, level: 'warning', code: 'empty-file', message: EMPTY_FILE });
      return;
    }
    const raw = bytesLabel(file) === null ? undefined : file.toString('base64');
    out.push({ kind: 'file', file: label, size, ...(raw !== undefined ? { raw } : {}) });
  };
  const visitDir = (dir: Buffer, label: string, depth: number): void => {
    let real: Buffer;
    try {
      real = fs.realpathSync.native(dir, { encoding: 'buffer' });
    } catch (e) {
      notes.add({ file: label, level: 'warning', code: 'unreadable', message: `unreadable folder (${errCode(e)}); skipped` });
      return;
    }
    const key = real.toString('base64');
    if (seen.has(key)) return; // the same folder given twice, or reached again through a link (noted where the link is)
    seen.add(key);
    if (depth > MAX_DEPTH) {
      notes.add({ file: label, level: 'warning', code: 'unreadable', message: `deeper than ${MAX_DEPTH} levels; not walked` });
      return;
    }
    let entries: Array<{ name: Buffer; label: string; dirent: fs.Dirent }>;
    try {
      entries = (fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' }) as unknown as fs.Dirent[]).map((d) => {
        const name = d.name as unknown as Buffer;
        return { name, label: bytesLabel(name) ?? name.toString('utf8'), dirent: d };
      });
    } catch (e) {
      notes.add({ file: label, level: 'warning', code: 'unreadable', message: `unreadable folder (${errCode(e)}); skipped` });
      return;
    }
    entries.sort((a, b) => a.label.localeCompare(b.label));
    // what each link points to, looked up once
    const linked = new Map<number, fs.Stats | null>();
    entries.forEach((e, i) => {
      if (!e.dirent.isSymbolicLink()) return;
      try {
        linked.set(i, fs.statSync(join(dir, e.name)));
      } catch {
        linked.set(i, null);
      }
    });
    const files = entries.filter((e, i) => e.dirent.isFile() || linked.get(i)?.isFile() === true).map((e) => e.label);
    const repository = isRepositoryDir(dir, files);
    if (repository) out.push({ kind: 'cim', ...cimPath(dir, label) });
    entries.forEach((e, i) => {
      const p = join(dir, e.name);
      const pl = path.join(label, e.label);
      if (e.dirent.isDirectory()) return visitDir(p, pl, depth + 1);
      if (e.dirent.isFile()) return visitFile(p, pl, sizeOf(p), repository);
      if (!e.dirent.isSymbolicLink()) {
        notes.add({ file: pl, level: 'skipped', code: 'not-evidence', message: 'not a regular file or folder (a FIFO, socket or device); not read' });
        return;
      }
      const st = linked.get(i) ?? null;
      const target = linkTarget(p);
      // where the link leads, and whether that is inside the scanned folders (unreadable: visitFile/visitDir say so)
      let realTarget: Buffer | null = null;
      try {
        if (st !== null) realTarget = fs.realpathSync.native(p, { encoding: 'buffer' });
      } catch {
        realTarget = null;
      }
      const inside = realTarget !== null && roots.some((r) => within(realTarget!, r));
      if (st === null) {
        notes.add({ file: pl, level: 'skipped', code: 'link', message: `a symbolic link to ${target}, which does not exist or cannot be read; skipped` });
      } else if (st.isFile()) {
        // like a folder link: a file outside the scanned folders (in a mounted image, an absolute link points into
        // the analyst's own machine) is not read unless --follow-symlinks
        if (inside || opts.followSymlinks) {
          notes.add({ file: pl, level: 'warning', code: 'link', message: `a symbolic link to the file ${target}; read` });
          visitFile(p, pl, st.size, repository);
        } else notes.add({ file: pl, level: 'skipped', code: 'link', message: `a symbolic link to the file ${target}, outside the scanned folders; not read (--follow-symlinks reads it)` });
      } else if (st.isDirectory()) {
        if (realTarget !== null && seen.has(realTarget.toString('base64'))) notes.add({ file: pl, level: 'skipped', code: 'link', message: `a symbolic link to the folder ${target}, already walked (a loop or a second way in); not walked again` });
        else if (inside || opts.followSymlinks) visitDir(p, pl, depth + 1);
        else notes.add({ file: pl, level: 'skipped', code: 'link', message: `a symbolic link to the folder ${target}, outside the scanned folders; not followed (--follow-symlinks follows it)` });
      } else {
        notes.add({ file: pl, level: 'skipped', code: 'not-evidence', message: `a symbolic link to ${target}, not a regular file or folder; not read` });
      }
    });
  };
  for (const p of paths) {
    const b = Buffer.from(p);
    let st: fs.Stats;
    try {
      st = fs.statSync(b);
    } catch (e) {
      notes.add({ file: p, level: 'error', code: 'unreadable', message: `cannot be read (${errCode(e)})` });
      continue;
    }
    if (st.isDirectory()) visitDir(b, p, 0);
    else visitFile(b, p, st.size, null);
  }
  return out;
}

function cimPath(dir: Buffer, label: string): { dir: string; raw?: string } {
  return bytesLabel(dir) === null ? { dir: label } : { dir: label, raw: dir.toString('base64') };
}

/** Where a link points, as written in the link (display text). */
function linkTarget(p: Buffer): string {
  try {
    const t = fs.readlinkSync(p, { encoding: 'buffer' });
    return bytesLabel(t) ?? t.toString('utf8');
  } catch {
    return '?';
  }
}

function sizeOf(p: Buffer): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

/**
 * Host name from the folder layout of a repository (`HOST\C\Windows\System32\wbem\Repository`, Velociraptor
 * `…\<client id>\uploads\auto\C%3A\Windows\…`): see {@link hostFromParts}. Null when nothing fits.
 */
export function hostFromLayout(dir: string): string | null {
  return hostFromParts(path.resolve(dir).split(path.sep).filter(Boolean));
}
