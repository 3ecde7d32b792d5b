/**
 * Evidence discovery: walk files and folders; find folders holding the WMI repository file set (any letter
 * case, gzip'd copies too) by content. Every other file is a candidate that `dispatch.ts` recognizes by content.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NoteSink } from '../notes.js';
import { hostFromParts, indexHeadOk, mappingHeadOk, repositorySet, REPO_FILE } from './layout.js';

/**
 * `file`: a candidate file, classified by content when it is read (EVTX, gzip, zip, exports, rows, collector
 * output); `cim`: a folder holding a WMI repository.
 */
export type Discovered = { kind: 'file'; file: string; size: number } | { kind: 'cim'; dir: string };

const MAX_DEPTH = 40;

/** The note on a 0-byte file (in a folder or given by name). */
export const EMPTY_FILE = 'empty file (0 bytes)';

function head(file: string, n: number): Buffer | null {
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
function isRepositoryDir(dir: string, names: string[]): boolean {
  const set = repositorySet(names);
  if (!set) return false;
  const m = head(path.join(dir, names[set.map]!), 4);
  const i = head(path.join(dir, names[set.index]!), 4);
  return m !== null && mappingHeadOk(m) && i !== null && indexHeadOk(i);
}

/** Walk `paths`; return the evidence found; notes for what was skipped or unreadable. */
export function discover(paths: string[], notes: NoteSink): Discovered[] {
  const out: Discovered[] = [];
  const seen = new Set<string>();
  const seenFiles = new Set<string>();
  const visitFile = (file: string, size: number): void => {
    // repository files are read with their folder
    if (REPO_FILE.test(path.basename(file))) return;
    // the same file given twice (a folder and a file in it, a link) is read once: its records are counted once
    let real = file;
    try {
      real = fs.realpathSync(file);
    } catch {
      // unreadable: read (and fail) as given
    }
    if (seenFiles.has(real)) return;
    seenFiles.add(real);
    // an empty file holds nothing, but was collected: a failed copy or a placeholder is worth saying
    if (size === 0) {
      notes.add({ file, level: 'warning', code: 'empty-file', message: EMPTY_FILE });
      return;
    }
    out.push({ kind: 'file', file, size });
  };
  const visitDir = (dir: string, depth: number): void => {
    let real: string;
    try {
      real = fs.realpathSync(dir);
    } catch {
      notes.add({ file: dir, level: 'warning', code: 'unreadable', message: 'unreadable folder; skipped' });
      return;
    }
    if (seen.has(real)) return; // a link loop or the same folder given twice
    seen.add(real);
    if (depth > MAX_DEPTH) {
      notes.add({ file: dir, level: 'warning', code: 'unreadable', message: `deeper than ${MAX_DEPTH} levels; not walked` });
      return;
    }
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      notes.add({ file: dir, level: 'warning', code: 'unreadable', message: `unreadable folder (${(e as NodeJS.ErrnoException).code ?? String(e)}); skipped` });
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    if (isRepositoryDir(dir, entries.filter((e) => e.isFile()).map((e) => e.name))) out.push({ kind: 'cim', dir });
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && isDir(p))) visitDir(p, depth + 1);
      else if (e.isFile()) visitFile(p, sizeOf(p));
    }
  };
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      notes.add({ file: p, level: 'error', code: 'unreadable', message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})` });
      continue;
    }
    if (st.isDirectory()) visitDir(p, 0);
    else visitFile(p, st.size);
  }
  return out;
}

function sizeOf(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Host name from the folder layout of a repository (`HOST\C\Windows\System32\wbem\Repository`, Velociraptor
 * `…\<client id>\uploads\auto\C%3A\Windows\…`): see {@link hostFromParts}. Null when nothing fits.
 */
export function hostFromLayout(dir: string): string | null {
  return hostFromParts(path.resolve(dir).split(path.sep).filter(Boolean));
}
