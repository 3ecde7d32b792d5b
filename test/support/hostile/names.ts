/**
 * Hostile names and trees for the discovery and output tests, generated at test time in a temporary folder:
 * file names carrying terminal escape sequences, names that are not valid UTF-8, symbolic links (to a file, to
 * a folder outside the tree, a loop, a dangling one). Everything is small: copies of {@link GOOD_LOG} and a
 * few bytes of text.
 */
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOOD_LOG } from '../child.js';
import { scratchDir } from '../tmp.js';

/** OSC 0 (set the window title) ended by BEL, then SGR red: what a hostile collection would name a file. */
export const HOSTILE_NAME = 'x\u001b]0;pwned\u0007\u001b[31m';

/** A new temporary folder (removed at exit, see `scratchDir`; callers may remove it sooner). */
export function tempDir(tag: string): string {
  return scratchDir(tag);
}

/**
 * A folder holding, under hostile names: a copy of GOOD_LOG (`<name>.evtx`, read, with its finding), a text
 * file that is not evidence (`<name>.txt`, a note with -v), a truncated copy of GOOD_LOG (`<name>-cut.evtx`,
 * damage notes), and a subfolder `<name>-dir` holding another copy.
 */
export function hostileNameTree(root: string): { dir: string; log: string; text: string; cut: string; sub: string } {
  const dir = join(root, 'evidence');
  mkdirSync(dir);
  const log = join(dir, `${HOSTILE_NAME}.evtx`);
  copyFileSync(GOOD_LOG, log);
  const text = join(dir, `${HOSTILE_NAME}.txt`);
  writeFileSync(text, 'not evidence\n');
  const cut = join(dir, `${HOSTILE_NAME}-cut.evtx`);
  const data = readFileSync(GOOD_LOG);
  // the file header and part of the first chunk: the reader warns about what is missing
  writeFileSync(cut, data.subarray(0, 4096 + 6000));
  const sub = join(dir, `${HOSTILE_NAME}-dir`);
  mkdirSync(sub);
  copyFileSync(GOOD_LOG, join(sub, 'inner.evtx'));
  return { dir, log, text, cut, sub };
}

/** Bytes that are not valid UTF-8 (a lone continuation byte, a byte never in UTF-8, a cut sequence). */
export const NON_UTF8 = { file: Buffer.from('bad\xff\xfe.evtx', 'latin1'), folder: Buffer.from('dir\xc3', 'latin1'), fileLabel: 'bad\\xff\\xfe.evtx', folderLabel: 'dir\\xc3' };

/** A folder with GOOD_LOG copied under a non-UTF-8 file name, and in a folder with a non-UTF-8 name. */
export function nonUtf8Tree(root: string): string {
  const dir = join(root, 'evidence');
  mkdirSync(dir);
  const d = Buffer.from(dir);
  const sep = Buffer.from('/');
  copyFileSync(GOOD_LOG, Buffer.concat([d, sep, NON_UTF8.file]));
  const folder = Buffer.concat([d, sep, NON_UTF8.folder]);
  mkdirSync(folder);
  copyFileSync(GOOD_LOG, Buffer.concat([folder, sep, Buffer.from('inner.evtx')]));
  return dir;
}

/**
 * `in/` (the folder scanned): `link.evtx` → GOOD_LOG (a file outside), `outside` → `out/` (a folder outside
 * holding a copy of GOOD_LOG), `loop` → `in/` itself, `dangling` → nowhere, and `readme.txt` (not evidence).
 */
export function symlinkTree(root: string): { input: string; outside: string } {
  const input = join(root, 'in');
  const outside = join(root, 'out');
  mkdirSync(input);
  mkdirSync(join(outside, 'sub'), { recursive: true });
  copyFileSync(GOOD_LOG, join(outside, 'sub', 'outside.evtx'));
  writeFileSync(join(input, 'readme.txt'), 'not evidence\n');
  mkdirSync(join(input, 'data'));
  copyFileSync(GOOD_LOG, join(input, 'data', 'a.evtx'));
  symlinkSync(join(input, 'data', 'a.evtx'), join(input, 'link.evtx'));
  symlinkSync(GOOD_LOG, join(input, 'outlink.evtx'));
  symlinkSync(outside, join(input, 'outside'));
  symlinkSync(input, join(input, 'loop'));
  symlinkSync(join(root, 'nowhere'), join(input, 'dangling'));
  return { input, outside };
}
