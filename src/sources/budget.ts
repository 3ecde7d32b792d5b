/**
 * The per-file time budget (`--file-timeout`) for inputs read in this thread. A worker past its budget is stopped
 * from outside (`scan.ts`); in this thread the readers check the clock themselves, between records (EVTX: every
 * 1024), between chunks of text and between the steps of a repository; each member of an archive gets a budget of its
 * own (a slow member costs only itself). One record costs
 * at most the EVTX rendering budget, so a check is never far away. Past the budget {@link checkTime} throws a
 * {@link TimeBudgetError}: the reader stops and the input gets an error note; the other inputs are read.
 */

/** The budget of the input being read was spent. */
export class TimeBudgetError extends Error {
  constructor(seconds: number) {
    super(`still running after ${seconds} s (the per-file time budget, --file-timeout); stopped, the other files are read`);
    this.name = 'TimeBudgetError';
  }
}

let deadline = Infinity;
let seconds = 0;

/** Run `read` (one input) with a budget of `budgetSeconds` (0 or less: none). Inputs are read one at a time here. */
export async function withTimeBudget<T>(budgetSeconds: number, read: () => Promise<T>): Promise<T> {
  deadline = budgetSeconds > 0 ? Date.now() + budgetSeconds * 1000 : Infinity;
  seconds = budgetSeconds;
  try {
    return await read();
  } finally {
    deadline = Infinity;
  }
}

/**
 * A member of an archive read in this thread is a file of its own: its budget starts now (a slow member costs itself,
 * the archive's other members are read). Nothing happens when no budget is set.
 */
export function restartTimeBudget(): void {
  if (deadline !== Infinity) deadline = Date.now() + seconds * 1000;
}

/** In a worker thread: the scan's per-file budget, as the pool's data gives it (the main thread enforces it there). */
let workerSeconds = 0;

/** A worker thread learns the scan's per-file budget (seconds; 0: none). */
export function setWorkerTimeBudget(budgetSeconds: number): void {
  workerSeconds = budgetSeconds > 0 ? budgetSeconds : 0;
}

/** The per-file budget of the input being read, in seconds; 0 when there is none. */
export function timeBudgetSeconds(): number {
  return deadline !== Infinity ? seconds : workerSeconds;
}

/** Throw {@link TimeBudgetError} when the budget of the input being read is spent. */
export function checkTime(): void {
  if (deadline !== Infinity && Date.now() > deadline) throw new TimeBudgetError(seconds);
}

/** Default per-file time budget, seconds (see `ScanOptions.taskTimeout`). */
export const DEFAULT_TASK_TIMEOUT = 1800;

/** The temporary folders of the runs under way: a CLI removes them when it is interrupted (Ctrl-C). */
export const LIVE_TEMP_FOLDERS = new Set<string>();
