/**
 * One exit-code scheme for every command (README "Exit codes"):
 *   0  the input was read (warnings allowed) and, for `scan`, no finding is at or above `--fail-on`;
 *   1  `scan`: findings at or above `--fail-on`; `diff`: new or changed subscriptions at or above it (or
 *      rescored ones that rose to it);
 *   2  nothing readable, a given path missing or unreadable, a usage error, an unusable output path (one of
 *      the inputs, or inside an input folder, included), or an output that could not be written.
 * The given paths and the output path are checked before anything is read, so a typo fails fast. The lines
 * that explain a 2 go to stderr even under `--quiet`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { escapeText } from '../model/text.js';
import type { EvidenceNote } from '../model/types.js';
import { VERBOSE_NOTE_CODES } from '../model/types.js';

export const EXIT_CLEAN = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_UNUSABLE = 2;

/** The help text every command shows after its own (commander `afterAll`). */
export const EXIT_HELP = `
Exit codes (the same for every command):
  0  something was read and, for scan, no finding is at or above --fail-on;
     a file that could not be read is an error note (stderr, the report's
     notes), not another exit code: check the notes before calling it clean
  1  scan: findings at or above --fail-on; diff: new or changed
     subscriptions at or above --fail-on, or rescored ones that rose to it
  2  nothing readable, a given path missing or unreadable, a usage error, an
     unusable output path (missing folder, an input, inside an input folder) or
     an output that could not be written (full disk, closed pipe); paths are
     checked before anything is read; the reason is printed on stderr, also
     with --quiet`;

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

/**
 * Write a report to `output` (or stdout); false, with the error printed and the exit code set to 2, when it cannot be
 * written. A write error on stdout arrives later, as an 'error' event: {@link guardOutputStreams} turns it into exit 2.
 */
export function writeReport(output: string | undefined, text: string): boolean {
  try {
    if (output) fs.writeFileSync(output, text);
    else process.stdout.write(text);
    return true;
  } catch (e) {
    process.exitCode = printError(`output ${output ?? '(stdout)'}: cannot be written (${errorCode(e)})`);
    return false;
  }
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | null)?.code ?? (e instanceof Error ? e.message : String(e));
}

/**
 * Stdout that cannot be written (a full disk, `> /dev/full`, a closed pipe: ENOSPC, EPIPE, EIO…) ends the command
 * at once with exit 2, never a stack trace and never exit 1 (which means findings), and with one error line unless
 * the pipe was closed by its reader (`| head`, quitting `less`): that reader asked for no more, and there is nothing
 * wrong to say. A broken stderr ends it with exit 2 and nothing more to say. Installed once, before any command runs.
 */
export function guardOutputStreams(): void {
  process.stdout.on('error', (e: unknown) => {
    if (errorCode(e) !== 'EPIPE') printError(`output (stdout): cannot be written (${errorCode(e)})`);
    process.exit(EXIT_UNUSABLE);
  });
  process.stderr.on('error', () => process.exit(EXIT_UNUSABLE));
}

/** One evidence note on stderr with its level and code, display-safe (file names and messages come from the evidence). */
export function printNote(n: EvidenceNote): void {
  process.stderr.write(`wmiscope: ${escapeText(n.file)}: ${n.level} (${n.code}): ${escapeText(n.message)}\n`);
}

/** Notes shown on stderr only with `-v`: files skipped as not evidence, and symbolic links met by the folder walk. */
export { VERBOSE_NOTE_CODES };

/** The notes on stderr (not under `--quiet`); those of {@link VERBOSE_NOTE_CODES} only with `--verbose`. */
export function printNotes(notes: readonly EvidenceNote[], o: { quiet?: boolean; verbose?: boolean }): void {
  if (o.quiet) return;
  for (const n of notes) if (o.verbose || !VERBOSE_NOTE_CODES.has(n.code)) printNote(n);
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

/** The real path of `file`, or of its folder joined with its name when it does not exist yet; null when neither resolves. */
function realOrPlanned(file: string): string | null {
  try {
    return fs.realpathSync(file);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(path.resolve(file))), path.basename(file));
    } catch {
      return null;
    }
  }
}

/**
 * Why `output` must not be written: it is one of the `inputs` (the same path, a link to it, a hard link), or it
 * lies inside an input folder (where the report would overwrite or add to the evidence). Null when it is apart.
 * Evidence is never written to: the output goes elsewhere.
 */
export function outputOverInput(output: string, inputs: readonly string[]): string | null {
  const out = realOrPlanned(output);
  if (out === null) return null;
  let outStat: fs.Stats | null = null;
  try {
    outStat = fs.statSync(out);
  } catch {
    // not there yet: only its place can collide
  }
  // a character device (/dev/null, /dev/stdout, a terminal) is not a file that holds evidence
  if (outStat?.isCharacterDevice()) return null;
  for (const input of inputs) {
    let real: string;
    let st: fs.Stats;
    try {
      real = fs.realpathSync(input);
      st = fs.statSync(real);
    } catch {
      continue; // the input's own check says why
    }
    if (real === out || (outStat !== null && st.isFile() && outStat.ino === st.ino && outStat.dev === st.dev)) return `output ${output}: is the input ${input}; the report would overwrite the evidence (write it elsewhere)`;
    if (st.isDirectory() && out.startsWith(real.endsWith(path.sep) ? real : real + path.sep)) return `output ${output}: inside the input folder ${input}; the report would be written into the evidence (write it elsewhere)`;
  }
  return null;
}

/**
 * Check before reading: every given path can be read and the output path (when given) can be written. Prints
 * one error line per problem, even under `--quiet`. False when the command must stop with exit code 2.
 */
export function preflight(inputs: readonly string[], output?: string): boolean {
  const problems = [...(output !== undefined ? [outputProblem(output) ?? outputOverInput(output, inputs)] : []), ...inputs.map(inputProblem)].filter((p): p is string => p !== null);
  for (const p of problems) printError(p);
  return problems.length === 0;
}

/**
 * The error line for nothing readable, with why (the notes may be hidden by --quiet): up to three notes quoted,
 * else how many are not evidence and how many of each level the others have.
 */
export function nothingReadableMessage(notes: readonly EvidenceNote[], o: { quiet?: boolean; verbose?: boolean } = {}): string {
  // "recognized" only when nothing was: a recognized input that failed or was refused is not "no evidence"
  const head = notes.some((n) => n.code !== 'not-evidence' && n.code !== 'link') ? 'nothing readable in the given path(s)' : 'nothing readable: no evidence recognized in the given path(s)';
  if (notes.length === 0) return `${head}: no files found`;
  if (notes.length <= 3) return `${head}: ${notes.map((n) => `${n.file}: ${n.message}`).join('; ')}`;
  const notEvidence = notes.filter((n) => n.code === 'not-evidence').length;
  const count = (level: EvidenceNote['level']): number => notes.filter((n) => n.level === level && n.code !== 'not-evidence').length;
  const parts = ([[notEvidence, 'skipped as not evidence'], [count('skipped'), 'skipped'], [count('warning'), 'warning(s)'], [count('error'), 'error(s)']] as const)
    .filter(([n]) => n !== 0)
    .map(([n, what]) => `${n} ${what}`);
  const hint = [o.quiet ? 'run without -q to see them' : '', o.verbose ? '' : '-v lists the files skipped as not evidence'].filter(Boolean).join('; ');
  return `${head}: ${parts.join(', ')}${hint ? ` (${hint})` : ''}`;
}
