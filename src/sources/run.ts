/**
 * One unit of scan work, the same in-process and in a worker thread: a candidate file (recognized by content)
 * or a repository folder. Results are plain data (structured-clone safe) so workers can return them.
 */
import type { EvidenceNote } from '../model/types.js';
import type { ObserveResult } from './input.js';
import { NOT_EVIDENCE, NoteSink } from './notes.js';
import { fileInput } from './input.js';
import { observeInput } from './dispatch.js';
import { observeRepositoryFolder } from './formats/repository.js';

export type Task = { kind: 'file'; file: string; host?: string } | { kind: 'cim'; dir: string; host: string };

export interface TaskResult {
  /** Null when the file is not evidence. */
  result: ObserveResult | null;
  /** The task's notes, already capped by its sink. */
  notes: EvidenceNote[];
}

export async function runTask(task: Task): Promise<TaskResult> {
  const notes = new NoteSink();
  try {
    if (task.kind === 'cim') {
      const r = await observeRepositoryFolder(task.dir, task.host, notes);
      const chains = new Map<string, string[]>();
      for (const [k, v] of r.chains) chains.set(`${task.host.toLowerCase()}|${k}`, v);
      return { result: { observations: r.observations, items: r.item ? [r.item] : [], logs: [], chains, ...(r.item ? { state: [{ host: task.host, namespaces: 'all' as const }] } : {}), ...(r.repository ? { repositories: [r.repository] } : {}) }, notes: notes.list() };
    }
    const result = await observeInput(fileInput(task.file), { notes, ...(task.host ? { host: task.host } : {}) }, task.file);
    if (result === null && !notes.wroteAbout(task.file)) notes.add({ file: task.file, level: 'skipped', code: 'not-evidence', message: NOT_EVIDENCE });
    return { result, notes: notes.list() };
  } catch (e) {
    // one broken input never costs the others
    notes.add({ file: task.kind === 'cim' ? task.dir : task.file, level: 'error', code: 'failed', message: e instanceof Error ? e.message : String(e) });
    return { result: null, notes: notes.list() };
  }
}
