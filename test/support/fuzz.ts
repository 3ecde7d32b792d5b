/**
 * Shared machinery of the fuzz tests (evtx-fuzz, cim-fuzz): running a fast-check property inside a worker
 * thread that a watchdog kills when it stops reporting progress (so even a synchronous infinite loop fails
 * the test instead of hanging it), per-case time and memory guards, and small byte helpers.
 *
 * Usage, in a test module that is also the worker's entry point:
 * ```ts
 * if (!isMainThread && workerData) runJob(workerData as Job);   // in the worker: uses CaseGuard + finishJob
 * else if (isMainThread) { ... const stats = await inWorker<Stats>(import.meta.url, job, { seed }); ... }
 * ```
 */
import assert from 'node:assert/strict';
import { Worker, parentPort } from 'node:worker_threads';
import fc from 'fast-check';

export function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}

export interface Outcome {
  failed: boolean;
  report: string;
}

/** fast-check run details → a printable report that names the seed and the counterexample path. */
export function outcome<T>(d: fc.RunDetails<T>): Outcome {
  if (!d.failed) return { failed: false, report: '' };
  const err = d.errorInstance instanceof Error ? (d.errorInstance.stack ?? d.errorInstance.message) : String(d.errorInstance);
  return { failed: true, report: `${fc.defaultReportMessage(d) ?? 'property failed'}\n(fast-check seed ${d.seed}, path "${d.counterexamplePath}")\nError: ${err}` };
}

/** Messages a fuzz worker sends: progress (one per case) and the final result. */
export type FromWorker<S> = { type: 'case'; n: number; desc: string } | { type: 'done'; failed: false; stats: S } | { type: 'done'; failed: true; report: string };

export interface WorkerOptions {
  /** Printed in watchdog / crash messages. */
  seed: number;
  /** The watchdog gives up on the worker when it reports nothing for this long (default 30 s). */
  watchdogMs?: number;
  /** Heap cap of the worker (default 1024 MB): a runaway JS allocation kills the worker, which fails the test. */
  maxOldGenerationSizeMb?: number;
}

/**
 * Runs `moduleUrl` (normally the calling test file's `import.meta.url`) as a worker with `job` as its
 * `workerData`, and resolves with the stats the worker reports via {@link finishJob}. Rejects with the
 * worker's failure report, when the worker crashes or exits, or when it makes no progress for `watchdogMs`.
 */
export function inWorker<S>(moduleUrl: string | URL, job: unknown, opts: WorkerOptions): Promise<S> {
  const watchdogMs = opts.watchdogMs ?? 30000;
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(moduleUrl), { workerData: job, resourceLimits: { maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb ?? 1024 } });
    let last = '(no case started)';
    let settled = false;
    const finish = (err: Error | null, v?: S): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      if (err) reject(err);
      else resolve(v!);
    };
    const arm = (): NodeJS.Timeout => setTimeout(() => finish(new Error(`no progress for ${watchdogMs} ms (hang?) in case ${last}\nseed ${opts.seed}`)), watchdogMs);
    let timer = arm();
    w.on('message', (m: FromWorker<S>) => {
      clearTimeout(timer);
      timer = arm();
      if (m.type === 'case') last = `#${m.n}: ${m.desc}`;
      else if (m.failed) finish(new Error(m.report));
      else finish(null, m.stats);
    });
    w.on('error', (e) => finish(new Error(`worker died in case ${last}: ${describeError(e)}\nseed ${opts.seed}`)));
    w.on('exit', (code) => finish(new Error(`worker exited (${code}) in case ${last}\nseed ${opts.seed}`)));
  });
}

/** In the worker: report the property's outcome (with a reproduce hint on failure) or the stats. */
export function finishJob<S>(details: Outcome, stats: S, reproduce: string): void {
  const port = parentPort!;
  if (details.failed) port.postMessage({ type: 'done', failed: true, report: `${details.report}\nReproduce: ${reproduce}` } satisfies FromWorker<S>);
  else port.postMessage({ type: 'done', failed: false, stats } satisfies FromWorker<S>);
}

export interface GuardLimits {
  /** Hang guard (not a speed bound) for one case. */
  caseMs: number;
  /** No single case may grow `arrayBuffers` by more than this (plus the allowance given per case). */
  caseArrayBuffers: number;
  /** RSS growth allowed over the whole property. */
  rss: number;
}

export interface GuardStats {
  cases: number;
  maxCaseMs: number;
  /** Largest per-case `arrayBuffers` growth beyond the case's allowance (0 when none grew). */
  maxCaseAb: number;
  rssGrowth: number;
}

/**
 * Times and measures each case run in a worker: posts a progress message (the watchdog's heartbeat and the
 * description printed when the worker hangs), then asserts the time and memory bounds.
 */
export class CaseGuard {
  private readonly rss0 = process.memoryUsage.rss();
  private rssMax = this.rss0;
  readonly stats: GuardStats = { cases: 0, maxCaseMs: 0, maxCaseAb: 0, rssGrowth: 0 };

  constructor(readonly limits: GuardLimits) {}

  /**
   * Run one case. `allowance` = arrayBuffers growth the case legitimately needs (e.g. the bytes of the
   * files it reads), added to `limits.caseArrayBuffers`; `caseMs` overrides the time bound for this case.
   */
  run<R>(desc: () => string, fn: () => R, opts: { allowance?: number; caseMs?: number } = {}): R {
    const s = this.stats;
    s.cases++;
    parentPort?.postMessage({ type: 'case', n: s.cases, desc: desc() } satisfies FromWorker<never>);
    const ab0 = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const r = fn();
    const ms = performance.now() - t0;
    const grew = process.memoryUsage().arrayBuffers - ab0 - (opts.allowance ?? 0);
    const rss = process.memoryUsage.rss();
    s.maxCaseMs = Math.max(s.maxCaseMs, ms);
    s.maxCaseAb = Math.max(s.maxCaseAb, grew);
    this.rssMax = Math.max(this.rssMax, rss);
    s.rssGrowth = this.rssMax - this.rss0;
    const caseMs = opts.caseMs ?? this.limits.caseMs;
    assert.ok(ms < caseMs, `case took ${ms.toFixed(0)} ms (hang guard ${caseMs} ms)`);
    assert.ok(grew < this.limits.caseArrayBuffers, `case grew arrayBuffers by ${grew} bytes beyond its allowance of ${opts.allowance ?? 0} (limit ${this.limits.caseArrayBuffers})`);
    assert.ok(rss - this.rss0 < this.limits.rss, `RSS grew by ${rss - this.rss0} bytes over the property (limit ${this.limits.rss})`);
    return r;
  }
}

// ---- bytes -------------------------------------------------------------------------------------------------

export function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

/** Little-endian write of `value` (taken modulo 2^(8·width)), clipped at the end of the buffer. */
export function put(b: Uint8Array, o: number, value: number, width: 1 | 2 | 4): void {
  for (let i = 0; i < width && o + i < b.length; i++) b[o + i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
}

/** Integer environment variable, or the default. */
export function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name}=${v} is not a number`);
  return n;
}
