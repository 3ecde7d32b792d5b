/** Worker-thread entry for the scan's pool (piscina): runs one task; null is a warm-up (the modules load, nothing is read). */
import { workerData } from 'piscina';
import { runTask } from './run.js';
import type { Task, TaskResult } from './run.js';
import type { EventMatcher } from './input.js';
import { setWorkerTimeBudget } from './budget.js';
import { compileSigma } from '../sigma/index.js';
import type { SigmaSource } from '../sigma/index.js';

/** The pool's data: the texts of the scan's loaded Sigma rules, compiled once per worker on its first task. */
export interface WorkerData {
  sigma?: SigmaSource[];
  /** The scan's per-file time budget, seconds (the main thread enforces it; Sigma matching stops at half of it). */
  budgetSeconds?: number;
}

let sigma: EventMatcher | undefined | null = null;
setWorkerTimeBudget((workerData as WorkerData | undefined)?.budgetSeconds ?? 0);

function sigmaRules(): EventMatcher | undefined {
  if (sigma === null) {
    const sources = (workerData as WorkerData | undefined)?.sigma;
    sigma = sources && sources.length > 0 ? compileSigma(sources) : undefined;
  }
  return sigma;
}

export default function run(task: Task | null): Promise<TaskResult | null> | null {
  if (task === null) return null;
  const rules = sigmaRules();
  return runTask(task, rules ? { sigma: rules } : {});
}
