/**
 * One exit-code scheme for every command (README "Exit codes"):
 *   0  the input was read (warnings allowed) and, for `scan`, no finding is at or above `--fail-on`;
 *   1  `scan` only: findings at or above `--fail-on`;
 *   2  nothing readable, a given path missing or unreadable, a usage error, or an unusable output path.
 * The given paths and the output path are checked before anything is read, so a typo fails fast. The lines
 * that explain a 2 go to stderr even under `--quiet`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { escapeText } from '../model/text.js';
import type { EvidenceNote } from '../model/types.js';

export const EXIT_CLEAN = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_UNUSABLE = 2;

/** The help text every command shows after its own (commander `afterAll`). */
export const EXIT_HELP = `
Exit codes (the same for every command):
  0  the input was read (warnings allowed); for scan: no finding at or above --fail-on
  1  scan only: findings at or above --fail-on
  2  nothing readable, a given path missing or unreadable, a usage error, or an
     unusable output path (paths are checked before anything is read; the reason
     is printed on stderr, also with --quiet)`;

/** The exit code of a finished command: nothing read → 2, else findings at or above --fail-on → 1, else 0. */
export function exitCode(o: { readable: boolean; failing?: boolean }): number {
  if (!o.readable) return EXIT_UNUSABLE;
  return o.failing ? EXIT_FINDINGS : EXIT_CLEAN;
}

/** One error line on stderr (always, whatever `--quiet` says), display-safe; returns exit code 2. */
export function printError(message: string): number {
  process.stderr.write(`wmiscope: error: ${escapeText(message)}\n`);
  return EXIT_UNUSABLE;
}

/** Write a report to `output` (or stdout); false, with the error printed and the exit code set to 2, when it cannot be written. */
export function writeReport(output: string | undefined, text: string): boolean {
  try {
    if (output) fs.writeFileSync(output, text);
    else process.stdout.write(text);
    return true;
  } catch (e) {
    process.exitCode = printError(e instanceof Error ? e.message : String(e));
    return false;
  }
}

/** One evidence note on stderr with its level and code, display-safe (file names and messages come from the evidence). */
export function printNote(n: EvidenceNote): void {
  process.stderr.write(`wmiscope: ${escapeText(n.file)}: ${n.level} (${n.code}): ${escapeText(n.message)}\n`);
}

/** The error text of a failed file-system call: its code (ENOENT…) when it has one. */
function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such file or folder';
  return code ? `cannot be read (${code})` : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
}

/** Why a path given to be read cannot be read (missing, no permission), or null when it can. */
export function inputProblem(p: string): string | null {
  try {
    const st = fs.statSync(p);
    fs.accessSync(p, st.isDirectory() ? fs.constants.R_OK | fs.constants.X_OK : fs.constants.R_OK);
    return null;
  } catch (e) {
    return `${p}: ${reason(e)}`;
  }
}

/**
 * Why `file` cannot be written as the output (its folder is missing or not a folder, it is a folder itself,
 * or it is not writable), or null when it can. Nothing is created or truncated here.
 */
export function outputProblem(file: string): string | null {
  const where = `output ${file}`;
  if (file === '') return `${where}: no file name`;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) return `${where}: is a folder`;
    fs.accessSync(file, fs.constants.W_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    if (code !== 'ENOENT') return `${where}: not writable (${code ?? String(e)})`;
  }
  const dir = path.dirname(path.resolve(file));
  try {
    if (!fs.statSync(dir).isDirectory()) return `${where}: ${dir} is not a folder`;
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? `${where}: folder ${dir} does not exist` : `${where}: folder ${dir} is not writable (${code ?? String(e)})`;
  }
}

/**
 * Check before reading: every given path can be read and the output path (when given) can be written. Prints
 * one error line per problem, even under `--quiet`. False when the command must stop with exit code 2.
 */
export function preflight(inputs: readonly string[], output?: string): boolean {
  const problems = [...(output !== undefined ? [outputProblem(output)] : []), ...inputs.map(inputProblem)].filter((p): p is string => p !== null);
  for (const p of problems) printError(p);
  return problems.length === 0;
}

/**
 * The error line for nothing readable, with why (the notes may be hidden by --quiet): up to three notes quoted,
 * else how many are not evidence and how many of each level the others have.
 */
export function nothingReadableMessage(notes: readonly EvidenceNote[]): string {
  const head = 'nothing readable: no evidence recognised in the given path(s)';
  if (notes.length === 0) return `${head}: no files found`;
  if (notes.length <= 3) return `${head}: ${notes.map((n) => `${n.file}: ${n.message}`).join('; ')}`;
  const notEvidence = notes.filter((n) => n.code === 'not-evidence').length;
  const count = (level: EvidenceNote['level']): number => notes.filter((n) => n.level === level && n.code !== 'not-evidence').length;
  const parts = ([[notEvidence, 'skipped as not evidence'], [count('skipped'), 'skipped'], [count('warning'), 'warning(s)'], [count('error'), 'error(s)']] as const)
    .filter(([n]) => n !== 0)
    .map(([n, what]) => `${n} ${what}`);
  return `${head}: ${parts.join(', ')} (run without -q to see them; -v lists the files skipped as not evidence)`;
}
