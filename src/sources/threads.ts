/**
 * The automatic thread count (`--threads auto`, the default of `scan` and `evtx dump`): worker threads only where
 * they are measured to pay for themselves, from the input sizes and the machine's cores, never from the load of the
 * moment (the same input on the same machine always gets the same count). Imports nothing: the callers pass
 * `availableParallelism()` and the sizes, so a test can ask about any machine.
 *
 * What a worker costs, measured on a 2-core VM shared with other jobs (issue 16; whole-process CPU seconds, medians
 * of 3 to 5 interleaved runs):
 * - `scan`, one task per file or repository: a worker's start-up and second JIT warm-up cost ~0.15 s CPU, and
 *   reading in two workers 16-25 % more CPU than in one thread. 30 copies of a 31.5 MB log: 8.0-9.0 -> 10.1-10.5 s
 *   CPU, and in wall time 1.3x faster in one series, level in another, 0.81x in a third (the load of the others
 *   decides), at ~1.5x the peak memory; 85 small logs (34 MB): 1.6 -> 2.5 s CPU and slower in wall time in every
 *   series. On 2 cores the main thread (which takes the workers' results) and two workers share two cores: workers
 *   start only with {@link MIN_CORES} cores or more, a worker must get at least {@link SCAN_BYTES_PER_WORKER} of
 *   input, and there are never more workers than the input over its largest file (a file is read by one worker:
 *   more lanes would wait on it).
 * - `evtx dump`, one file split by chunks: two workers cost ~1.7-1.8x the CPU of one thread whatever the file size
 *   (31.5 MB: 1.06 -> 1.85 s; 94 MB: 2.1 -> 3.55 s), so on 2 cores they cannot be faster even on an idle machine
 *   (at best 1.7 / 2 = 0.85 of the wall time; measured 0.53x). A file is split only with at least
 *   {@link MIN_CORES} cores and {@link DUMP_BYTES_PER_WORKER} of file per worker.
 * On 4 cores or more two workers have cores of their own beside the main thread, and their extra CPU is paid back
 * (not measured here: `npm run bench` prints the 1, 2, 4, 8 thread curve on such a machine).
 */

/** At most this many workers, whatever the cores (as the explicit default always was). */
export const MAX_AUTO_THREADS = 8;
/** `scan`: input bytes each worker must get before a worker is started for it. */
export const SCAN_BYTES_PER_WORKER = 256 * 1024 * 1024;
/** Workers start only on a machine with at least this many cores (on 2 they were not reliably faster, and cost more CPU). */
export const MIN_CORES = 4;
/** `evtx dump`: bytes of the file each chunk worker must get. */
export const DUMP_BYTES_PER_WORKER = 64 * 1024 * 1024;

/**
 * Whole workers of `perWorker` bytes in `bytes`, bounded by the cores and {@link MAX_AUTO_THREADS}; 1 below
 * {@link MIN_CORES} cores or below 2 workers.
 */
function fit(cores: number, bytes: number, perWorker: number): number {
  if (!(cores >= MIN_CORES)) return 1;
  const n = Math.min(Math.floor(cores), MAX_AUTO_THREADS, Math.floor(bytes / perWorker));
  return Number.isFinite(n) && n >= 2 ? n : 1;
}

/**
 * Worker threads for a scan whose tasks (files, repositories) have these sizes in bytes, on a machine with `cores`
 * cores: 1 (read in this thread) below {@link MIN_CORES} cores or unless every worker gets
 * {@link SCAN_BYTES_PER_WORKER}; never more than the tasks, nor than the total over the largest task.
 */
export function scanThreads(sizes: readonly number[], cores: number): number {
  let total = 0;
  let largest = 0;
  for (const s of sizes) {
    const b = Number.isFinite(s) && s > 0 ? s : 0;
    total += b;
    if (b > largest) largest = b;
  }
  if (largest === 0) return 1;
  const n = Math.min(fit(cores, total, SCAN_BYTES_PER_WORKER), sizes.length, Math.floor(total / largest));
  return n >= 2 ? n : 1;
}

/** Chunk workers for `evtx dump` of one file of `bytes` bytes on a machine with `cores` cores (1 = this thread). */
export function dumpThreads(bytes: number, cores: number): number {
  return fit(cores, bytes, DUMP_BYTES_PER_WORKER);
}

/** Task indexes `0..count-1` in the order to start them: the largest first (equal or unknown sizes keep their order). */
export function largestFirst(sizes: readonly number[], count: number): number[] {
  const size = (i: number): number => {
    const s = sizes[i];
    return s !== undefined && Number.isFinite(s) && s > 0 ? s : 0;
  };
  return Array.from({ length: count }, (_, i) => i).sort((a, b) => size(b) - size(a) || a - b);
}
