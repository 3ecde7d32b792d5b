/**
 * Runs the wmiscope CLI in a child process under a heap cap and a wall-clock guard, and reports how it ended and
 * its peak resident memory. Hostile-input tests use it to prove that one bad file costs bounded memory and time
 * and that the run still finishes (a crash, an abort or an out-of-memory kill shows as `signal`/`code`, never as
 * a hung test).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './samples.js';

export interface ChildRun {
  /** Exit code, or null when the process was killed (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size in MiB (from the child's own `process.resourceUsage()` at exit), or null when it never exited normally. */
  peakRssMb: number | null;
  /** True when the wall-clock guard killed the child. */
  timedOut: boolean;
  wallMs: number;
}

export interface ChildOptions {
  /** V8 heap cap of the child, MiB (default 512). */
  maxOldSpaceMb?: number;
  /** Kill the child after this many ms (default 120 000). */
  timeoutMs?: number;
  /** Where stdout goes: captured (default), or a file descriptor/path such as `/dev/full`. */
  stdoutTo?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Cap on captured output, bytes per stream (default 32 MiB); the rest is dropped. */
  maxOutput?: number;
}

/** The built CLI entry point. */
export const CLI = join(repoRoot(), 'dist/src/cli/main.js');

/**
 * `node --max-old-space-size=N CLI ...args`, with peak RSS recorded by a preload module that writes
 * `process.resourceUsage().maxRSS` to a side file when the process exits.
 */
export function runCli(args: string[], opts: ChildOptions = {}): Promise<ChildRun> {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-child-'));
  const rssFile = join(dir, 'rss');
  const preload = join(dir, 'rss.mjs');
  // the preload is written by us (no evidence in it); it only records the peak RSS at exit
  const preloadText = `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { try { writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)); } catch {} });\n`;
  return import('node:fs').then(({ writeFileSync, openSync, closeSync }) => {
    writeFileSync(preload, preloadText);
    const max = opts.maxOutput ?? 32 << 20;
    const outFd = opts.stdoutTo ? openSync(opts.stdoutTo, 'w') : null;
    const started = Date.now();
    const child = spawn(process.execPath, [`--max-old-space-size=${opts.maxOldSpaceMb ?? 512}`, '--import', preload, CLI, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', outFd ?? 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => {
      if (stdout.length < max) stdout += b.toString('utf8');
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < max) stderr += b.toString('utf8');
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    return new Promise<ChildRun>((resolve, reject) => {
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (outFd !== null) closeSync(outFd);
        let peakRssMb: number | null = null;
        try {
          peakRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
        } catch {
          peakRssMb = null;
        }
        rmSync(dir, { recursive: true, force: true });
        resolve({ code, signal, stdout, stderr, peakRssMb, timedOut, wallMs: Date.now() - started });
      });
    });
  });
}

/** A small real log (in the repo) with one subscription: put it beside a hostile file and its finding must survive. */
export const GOOD_LOG = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
/** The consumer name of {@link GOOD_LOG}'s one finding. */
export const GOOD_LOG_CONSUMER = 'BotConsumer23';

/** Consumer names of the findings in a `scan -f json` report (throws when stdout is not that JSON). */
export function consumersOf(stdout: string): string[] {
  const report = JSON.parse(stdout) as { findings: Array<{ consumer?: { name?: string | null } | null }> };
  return report.findings.map((f) => f.consumer?.name ?? '');
}
