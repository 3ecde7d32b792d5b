/**
 * One unit of scan work, the same in-process and in a worker thread: a candidate file (recognized by content)
 * or a repository folder. Results are plain data (structured-clone safe) so workers can return them.
 */
import * as fs from 'node:fs';
import { setTempParent } from './containers/inflate.js';
import type { EvidenceNote } from '../model/types.js';
import { rawPath } from './containers/folder.js';
import type { EventMatcher, ObserveResult } from './input.js';
import { NOT_EVIDENCE, NoteSink } from './notes.js';
import { fileInput } from './input.js';
import { observeInput } from './dispatch.js';
import { observeRepositoryFolder } from './formats/repository.js';

/** `raw`: the path's bytes (base64) when it is not valid UTF-8; `file`/`dir` is then a display label (see `discover`). */
/** `tmp`: the run's temporary folder, where the readers make theirs (see `setTempParent`). */
export type Task = ({ kind: 'file'; file: string; raw?: string; host?: string } | { kind: 'cim'; dir: string; raw?: string; host: string }) & { tmp?: string };

export interface TaskResult {
  /** Null when the file is not evidence. */
  result: ObserveResult | null;
  /** The task's notes, already capped by its sink. */
  notes: EvidenceNote[];
}

/** `extra.sigma`: the scan's Sigma rules, run on every event record read. */
export async function runTask(task: Task, extra: { sigma?: EventMatcher } = {}): Promise<TaskResult> {
  setTempParent(task.tmp ?? null);
  const label = task.kind === 'cim' ? task.dir : task.file;
  if (task.raw === undefined) return runAt(task, label, extra);
  // a name that is not valid UTF-8 cannot be spelled as a string path: open it by its bytes and read it through
  // the descriptor's own path, then name everything read after the label
  let fd: number;
  try {
    fd = fs.openSync(rawPath(task.raw), 'r');
  } catch (e) {
    return { result: null, notes: [{ file: label, level: 'error', code: 'unreadable', message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})` }] };
  }
  try {
    const alias = fdPath(fd, task.kind === 'cim');
    if (alias === null) return { result: null, notes: [{ file: label, level: 'error', code: 'unreadable', message: 'its name is not valid UTF-8 and this system offers no way to read it by descriptor; not read' }] };
    const r = await runAt(task, alias, extra);
    return renamed(r, alias, label);
  } finally {
    fs.closeSync(fd);
  }
}

/** A string path that opens what `fd` holds: /proc/self/fd/N (Linux, files and folders), /dev/fd/N (files elsewhere); null when neither exists. */
function fdPath(fd: number, folder: boolean): string | null {
  for (const p of folder ? [`/proc/self/fd/${fd}`] : [`/proc/self/fd/${fd}`, `/dev/fd/${fd}`]) if (fs.existsSync(p)) return p;
  return null;
}

/** `r` with every string starting with `alias` (file names, messages quoting them) rewritten to start with `label`. */
function renamed<T>(r: T, alias: string, label: string): T {
  const fix = (v: unknown): unknown => {
    if (typeof v === 'string') return v.includes(alias) ? v.split(alias).join(label) : v;
    if (Array.isArray(v)) return v.map(fix);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [fix(k), fix(x)]));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fix(x)]));
    return v;
  };
  return fix(r) as T;
}

async function runAt(task: Task, at: string, extra: { sigma?: EventMatcher }): Promise<TaskResult> {
  const notes = new NoteSink();
  try {
    if (task.kind === 'cim') {
      const r = await observeRepositoryFolder(at, task.host, notes);
      const chains = new Map<string, string[]>();
      for (const [k, v] of r.chains) chains.set(`${task.host.toLowerCase()}|${k}`, v);
      return { result: { observations: r.observations, items: r.item ? [r.item] : [], logs: [], chains, ...(r.whole ? { state: [{ host: task.host, namespaces: 'all' as const }] } : {}), ...(r.repository ? { repositories: [r.repository] } : {}) }, notes: notes.list() };
    }
    const result = await observeInput(fileInput(at), { notes, ...(task.host ? { host: task.host } : {}), ...(extra.sigma ? { sigma: extra.sigma } : {}) }, at);
    if (result === null && !notes.wroteAbout(at)) notes.add({ file: at, level: 'skipped', code: 'not-evidence', message: NOT_EVIDENCE });
    return { result, notes: notes.list() };
  } catch (e) {
    // one broken input never costs the others
    notes.add({ file: at, level: 'error', code: 'failed', message: e instanceof Error ? e.message : String(e) });
    return { result: null, notes: notes.list() };
  }
}
