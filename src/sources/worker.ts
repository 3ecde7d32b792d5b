/** Worker-thread entry for the scan's pool (piscina): runs one task; null is a warm-up (the modules load, nothing is read). */
import { runTask } from './run.js';
import type { Task, TaskResult } from './run.js';

export default function run(task: Task | null): Promise<TaskResult | null> | null {
  return task === null ? null : runTask(task);
}
