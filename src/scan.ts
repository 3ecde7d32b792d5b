/**
 * The main job as a library call: evidence paths in, explained findings out. Discovery and observation
 * (sources), the subscription graph, coverage and rules (analysis); formatting is left to `report/`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { discover, hostFromLayout } from './sources/discover.js';
import { runTask } from './sources/run.js';
import type { Task, TaskResult } from './sources/run.js';
import type { LogSummary, ObserveResult } from './sources/input.js';
import { buildSubscriptions, coverage } from './analysis/graph.js';
import type { HostSources } from './analysis/graph.js';
import { evaluate } from './analysis/rules.js';
import { stack } from './analysis/stack.js';
import { DEFAULT_ALLOWLIST, loadAllowlist } from './analysis/allowlist.js';
import type { Allowlist } from './analysis/allowlist.js';
import type { EvidenceItem, EvidenceNote, Finding, Observation, ScanResult, Severity } from './model/types.js';

export interface ScanOptions {
  /** Attribute all evidence to this host. */
  host?: string;
  /** User allowlist files (YAML). */
  allowlists?: string[];
  /** Use the built-in known-good list (default true). */
  defaultAllowlist?: boolean;
  /**
   * Worker threads reading evidence in parallel (one file or repository per task). Default: the machine's cores,
   * at most 8; 1 = everything in this thread. Output is the same either way.
   */
  threads?: number;
  /**
   * With worker threads: seconds one file or repository may take before its worker is stopped and the input
   * gets an error note (default 1800). Without workers (`threads: 1`) there is no time limit.
   */
  taskTimeout?: number;
  /** Called after each piece of evidence is read. */
  onProgress?: (done: number, total: number, file: string) => void;
  version?: string;
}

const SEVERITY_ORDER: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** The folder above the Windows tree (the collection root of one host), or null. */
function collectionRoot(p: string): string | null {
  const parts = path.resolve(p).split(path.sep);
  const i = parts.map((x) => x.toLowerCase()).lastIndexOf('windows');
  return i > 0 ? parts.slice(0, i).join(path.sep) : null;
}

/**
 * Default worker count: the machine's cores, at most 8. On a 2-core VM the fleet bench measured two workers
 * at 1.16-1.27x the speed of one thread when the machine was otherwise idle (0.75x under outside load), at
 * about twice the peak memory.
 */
export function defaultThreads(): number {
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, cpus));
}

/** Run tasks in order of submission; results come back in the same order whatever the threads. */
async function runAll(tasks: Task[], threads: number, progress: (t: Task) => void, timeoutSeconds = 1800): Promise<TaskResult[]> {
  // a pool costs a worker start-up and a cold JIT per thread: worth it only with enough tasks
  if (threads <= 1 || tasks.length < 4) {
    const out: TaskResult[] = [];
    for (const t of tasks) {
      out.push(await runTask(t));
      progress(t);
    }
    return out;
  }
  const pool = new Piscina<Task, TaskResult>({ filename: new URL('./sources/worker.js', import.meta.url).href, maxThreads: Math.min(threads, tasks.length), minThreads: 1, idleTimeout: 1000 });
  try {
    return await Promise.all(
      tasks.map((t) =>
        pool.run(t, { signal: AbortSignal.timeout(timeoutSeconds * 1000) }).then(
          (r) => {
            progress(t);
            return r;
          },
          (e: unknown): TaskResult => {
            progress(t);
            const timedOut = e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
            const message = timedOut ? `not read: still running after ${timeoutSeconds} s; its worker was stopped` : `worker failed: ${e instanceof Error ? e.message : String(e)}`;
            return { result: null, notes: [{ file: t.kind === 'cim' ? t.dir : t.file, level: 'error', message }] };
          },
        ),
      ),
    );
  } finally {
    await pool.destroy();
  }
}

export async function scan(paths: string[], opts: ScanOptions = {}): Promise<ScanResult> {
  const notes: EvidenceNote[] = [];
  const found = discover(paths, notes);
  const allowlists: Allowlist[] = [];
  if (opts.defaultAllowlist !== false) allowlists.push(DEFAULT_ALLOWLIST);
  for (const f of opts.allowlists ?? []) allowlists.push(loadAllowlist(f));
  const threads = opts.threads ?? defaultThreads();
  const evidence: EvidenceItem[] = [];
  const observations: Observation[] = [];
  const logs: LogSummary[] = [];
  const chains = new Map<string, string[]>();
  const state: NonNullable<ObserveResult['state']> = [];
  let done = 0;
  const progress = (t: Task): void => opts.onProgress?.(++done, found.length, t.kind === 'cim' ? t.dir : t.file);
  const take = (r: TaskResult): void => {
    notes.push(...r.notes);
    if (!r.result) return;
    evidence.push(...r.result.items);
    observations.push(...r.result.observations);
    logs.push(...r.result.logs);
    for (const [k, v] of r.result.chains ?? []) chains.set(k, v);
    state.push(...(r.result.state ?? []));
  };
  // files first (their hosts name the repositories collected beside them), then repositories
  const fileTasks: Task[] = found.flatMap((d) => (d.kind === 'file' ? [{ kind: 'file' as const, file: d.file, ...(opts.host ? { host: opts.host } : {}) }] : []));
  (await runAll(fileTasks, threads, progress, opts.taskTimeout)).forEach(take);
  const repoTasks: Task[] = [];
  for (const r of found) {
    if (r.kind !== 'cim') continue;
    // host: --host, else the host of the event logs collected beside it, else the folder layout
    let host = opts.host ?? null;
    if (!host) {
      const root = collectionRoot(r.dir);
      const near = root ? evidence.filter((i) => i.host && collectionRoot(i.file) === root) : [];
      const counts = new Map<string, number>();
      for (const i of near) counts.set(i.host, (counts.get(i.host) ?? 0) + i.records);
      host = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? hostFromLayout(r.dir) ?? 'unknown';
    }
    repoTasks.push({ kind: 'cim', dir: r.dir, host });
  }
  (await runAll(repoTasks, threads, progress, opts.taskTimeout)).forEach(take);
  // one spelling per host (case-insensitive)
  const display = new Map<string, string>();
  for (const h of [...evidence.map((e) => e.host), ...observations.map((o) => o.host)]) if (h && !display.has(h.toLowerCase())) display.set(h.toLowerCase(), h);
  const hostOf = (h: string): string => display.get(h.toLowerCase()) ?? (h || 'unknown');
  for (const o of observations) o.host = hostOf(o.host);
  for (const e of evidence) e.host = hostOf(e.host);
  for (const l of logs) l.host = hostOf(l.host);
  const sources = new Map<string, HostSources>();
  const src = (h: string): HostSources => {
    let s = sources.get(h.toLowerCase());
    if (!s) sources.set(h.toLowerCase(), (s = { sysmon: { present: false, wmiEvents: false }, wmiActivity: { present: false, ids: [] }, powershell: false, repository: false }));
    return s;
  };
  for (const e of evidence) {
    const s = src(e.host);
    if (e.kind === 'cim') s.repository = true;
    if (e.kind === 'collector') s.collector = true;
    if (e.kind === 'autoruns' || (e.kind === 'velociraptor' && /Autoruns/i.test(e.detail))) s.autoruns = true;
    if (e.kind === 'velociraptor' && /PermanentWMIEvents/i.test(e.detail)) s.velociraptor = true;
    if (e.kind === 'velociraptor' && /WMIEventing/i.test(e.detail)) s.trace = true;
  }
  for (const l of logs) {
    const s = src(l.host);
    const has = (re: RegExp): boolean => l.channels.some((c) => re.test(c));
    if (has(/^Microsoft-Windows-Sysmon\/Operational$/i)) {
      s.sysmon.present = true;
      if (l.eventIds.some((i) => i >= 19 && i <= 21)) s.sysmon.wmiEvents = true;
    }
    if (has(/^Microsoft-Windows-WMI-Activity\/Operational$/i)) {
      s.wmiActivity.present = true;
      s.wmiActivity.ids = [...new Set([...s.wmiActivity.ids, ...l.eventIds.filter((i) => i >= 5857 && i <= 5861)])];
    }
    if (has(/PowerShell/i)) s.powershell = true;
  }
  // where the host's whole WMI state was read (a repository: every namespace; a collector document: the
  // namespaces it read without errors), what is absent was deleted
  const stateRead = new Map<string, 'all' | Set<string>>();
  for (const st of state) {
    const h = hostOf(st.host).toLowerCase();
    const prev = stateRead.get(h);
    if (prev === 'all' || st.namespaces === 'all') stateRead.set(h, 'all');
    else stateRead.set(h, new Set([...(prev ?? []), ...st.namespaces.map((n) => n.toLowerCase())]));
  }
  const drafts = buildSubscriptions(observations, (host, ns) => {
    const s = stateRead.get(host.toLowerCase());
    return s === 'all' || (s !== undefined && ns !== null && s.has(ns.toLowerCase()));
  });
  const findings: Finding[] = drafts.map((d) => {
    const consumerChain = d.consumer?.className ? chains.get(`${d.host.toLowerCase()}|${(d.consumer.namespace ?? '').toLowerCase()}|${d.consumer.className.toLowerCase()}`) : undefined;
    const v = evaluate({ host: d.host, namespace: d.namespace, status: d.status, filter: d.filter, consumer: d.consumer, binding: d.binding, observations: d.observations, ...(consumerChain ? { consumerChain } : {}) }, allowlists);
    return {
      id: d.id,
      host: d.host,
      namespace: d.namespace,
      status: d.status,
      severity: v.severity,
      score: v.score,
      filter: d.filter,
      consumer: d.consumer,
      binding: d.binding,
      summary: v.summary,
      reasons: v.reasons,
      decoded: v.decoded,
      observations: d.observations,
      firstSeen: d.firstSeen,
      lastSeen: d.lastSeen,
      who: d.who,
      allowlisted: v.allowlisted,
      coverage: coverage(d, src(d.host)),
    };
  });
  const hosts = [...new Set([...evidence.map((e) => e.host), ...findings.map((f) => f.host)].filter(Boolean))].sort();
  // stacking: counts across hosts (ranks rare entries up before sorting)
  const fleet = hosts.length > 1 ? stack(findings, hosts) : undefined;
  findings.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || b.score - a.score || a.host.localeCompare(b.host) || a.id.localeCompare(b.id));
  return { tool: { name: 'wmiscope', version: opts.version ?? '0.0.0' }, scannedAt: new Date().toISOString(), hosts, evidence, notes, findings, ...(fleet ? { fleet } : {}) };
}

export { SEVERITY_ORDER };
