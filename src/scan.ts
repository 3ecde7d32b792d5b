/**
 * The main job as a library call: evidence paths in, explained findings out. Discovery and observation
 * (sources), the subscription graph, coverage and rules (analysis); formatting is left to `report/`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discover, hostFromLayout, rawPath } from './sources/containers/folder.js';
import { collectionRoot, HostIdentity } from './sources/hosts.js';
import { NoteSink } from './sources/notes.js';
import { mergeLogs } from './sources/records/tally.js';
import { append } from './sources/result.js';
import type { HostLink } from './sources/input.js';
import type { Task, TaskResult } from './sources/run.js';
import type { LogSummary, ObserveResult, RepositorySummary } from './sources/input.js';
import { buildSubscriptions, coverage as subscriptionCoverage } from './analysis/graph.js';
import { canShowSubscriptions, hostCoverage, hostSources } from './analysis/hostcoverage.js';
import { evaluate } from './analysis/rules/index.js';
import { applySigma } from './analysis/sigma.js';
import { compileSigma, readSigmaSources } from './sigma/index.js';
import type { SigmaRuleSet, SigmaSource } from './sigma/index.js';
import type { WorkerData } from './sources/worker.js';
import { runsOf } from './model/runs.js';
import { fleetOf, refreshFleet, stack } from './analysis/stack.js';
import { applyRules, loadRules } from './analysis/custom/index.js';
import { DEFAULT_ALLOWLIST, loadAllowlist } from './analysis/allowlist.js';
import { asScanResult, diffScans } from './analysis/diff.js';
import type { Allowlist } from './analysis/allowlist.js';
import type { EvidenceItem, EvidenceNote, Finding, HostAliases, HostCoverage, InputTotals, JoinedSubscription, Observation, ScanResult, SigmaEventHit } from './model/types.js';
import { UNKNOWN_HOST } from './model/types.js';
import { compareFindings, compareName } from './model/order.js';
import { canonicalTime, timeFromMs } from './model/time.js';
import { DEFAULT_TASK_TIMEOUT, LIVE_TEMP_FOLDERS } from './sources/budget.js';
import { largestFirst, MAX_AUTO_THREADS, scanThreads } from './sources/threads.js';
export { DEFAULT_TASK_TIMEOUT, LIVE_TEMP_FOLDERS };

export interface ScanOptions {
  /** Attribute all evidence to this host. */
  host?: string;
  /** User allowlist files (YAML). */
  allowlists?: string[];
  /** Use the built-in known-good list (default true). */
  defaultAllowlist?: boolean;
  /**
   * User rules files or folders (YAML, `schema/rules.schema.json`; a folder: its *.yml/*.yaml files by name), applied
   * in order after coverage and fleet stacking. Loaded before any evidence is read: a broken file throws a
   * `RulesError` whose problems each say `file:line:column: message`.
   */
  rules?: string[];
  /**
   * Worker threads reading evidence in parallel (one file or repository per task, the largest first). Default: the
   * automatic count of `sources/threads.ts` ({@link scanThreads}: workers only on 4 cores or more and when each gets
   * at least 256 MB of input, at most the machine's cores and 8); 1 (or fewer than 4 inputs) = read in this thread.
   * Output is the same either way.
   */
  threads?: number;
  /**
   * The per-file time budget: seconds one file or repository may take to read before it is stopped and gets an
   * error note, the others read on (default {@link DEFAULT_TASK_TIMEOUT}; 0 = none). In worker threads a worker past
   * its budget is stopped whatever it is doing; in this thread (`threads: 1` or under 4 inputs) the readers check
   * the clock between records, chunks, members and repository steps (`sources/budget.ts`).
   */
  taskTimeout?: number;
  /** Follow symbolic links to folders outside the given folders (default false: noted, not followed). See `discover`. */
  followSymlinks?: boolean;
  /**
   * Stack each subscription across the hosts whose evidence can show subscriptions (default true); false = no
   * fleet counts, no rare or common marks.
   */
  stacking?: boolean;
  /**
   * Sigma rule files or folders (`--sigma`): SigmaHQ-format rules of the log sources wmiscope reads, matched against
   * every event record they may match and against each finding's synthesized Sysmon 19/20/21 and WMI-Activity 5861
   * records; hits become `sigma:<id>` reasons, and hits on records of no finding are listed in `result.sigma`.
   */
  sigma?: string[];
  /** `--host-alias NAME=CANONICAL`: names the evidence gives one machine, forced together (NAME is shown as CANONICAL). */
  hostAliases?: Record<string, string>;
  /** Link names the evidence shows to be one machine (renames, short name and FQDN, client and its logs); default true. */
  hostMerge?: boolean;
  /**
   * Called after each piece of evidence is read: files and repositories done and found, the one just read, and the
   * bytes on disk done and found (a file's size; a repository's: the files directly in its folder).
   */
  onProgress?: (done: number, total: number, file: string, bytes: { done: number; total: number }) => void;
  version?: string;
  /**
   * An earlier scan result (`scan -f json`, parsed) to compare this scan with: the result's `changes` says, per host,
   * what is new, gone, changed and rescored since (analysis/diff.ts `diffScans`, this scan as NEW). It changes no
   * finding. Its shape is checked before any evidence is read (`asScanResult`): a value that is not a scan result
   * throws a TypeError naming the first wrong field.
   */
  baseline?: ScanResult;
}


/** The machine's cores, as Node counts them for this process. */
function machineCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * The most worker threads the automatic count uses: the machine's cores, at most 8. The count a scan uses by
 * default is smaller when the input is (see {@link scanThreads}).
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(MAX_AUTO_THREADS, machineCores()));
}


/** The error note of a task that did not finish in a worker (stopped past its budget, or the worker failed). */
function workerFailure(t: Task, e: unknown, timeoutSeconds: number): TaskResult {
  const timedOut = e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
  const message = timedOut ? `not read: still running after ${timeoutSeconds} s (the per-file time budget, --file-timeout); stopped, the other files are read` : `worker failed: ${e instanceof Error ? e.message : String(e)}`;
  return { result: null, notes: [{ file: t.kind === 'cim' ? t.dir : t.file, level: 'error', code: 'failed', message }] };
}

/**
 * Run tasks; results come back in the order of submission whatever the threads. `threads` undefined is the automatic
 * count from the tasks' sizes in bytes and the cores ({@link scanThreads}). With one thread or few tasks
 * (a pool's start-up and second JIT warm-up cost more than it gains: ~15 % CPU on one 31 MB log) they are read in
 * this thread, where the readers check the time budget themselves (`sources/budget.ts`). Otherwise each runs in a
 * worker thread, stopped from here past its budget, each task's budget starting when a worker takes it up: a lane
 * hands a worker one task at a time, so a task waiting in the queue never spends its budget, and a worker's
 * start-up is spent on an empty warm-up task rather than on a file's budget. Workers take the largest tasks first.
 */
async function runAll(given: Task[], sizes: number[], threads: number | undefined, progress: (t: Task) => void, timeoutSeconds = DEFAULT_TASK_TIMEOUT, sigma?: LoadedSigma): Promise<TaskResult[]> {
  if (given.length === 0) return [];
  // one temporary folder for the run's inputs, removed whole afterwards (also what a stopped worker left)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wmiscope-run-'));
  LIVE_TEMP_FOLDERS.add(tmp);
  try {
    return await runTasks(
      given.map((t) => ({ ...t, tmp })),
      sizes,
      threads ?? scanThreads(sizes, machineCores()),
      progress,
      timeoutSeconds,
      sigma,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    LIVE_TEMP_FOLDERS.delete(tmp);
  }
}


async function runTasks(tasks: Task[], sizes: number[], threads: number, progress: (t: Task) => void, timeoutSeconds: number, sigma: LoadedSigma | undefined): Promise<TaskResult[]> {
  if (threads <= 1 || tasks.length < 4) {
    // the readers are loaded here only when read in this thread (a worker loads its own)
    const { runTask } = await import('./sources/run.js');
    const { withTimeBudget } = await import('./sources/budget.js');
    const out: TaskResult[] = [];
    for (const t of tasks) {
      out.push(await withTimeBudget(timeoutSeconds, () => runTask(t, sigma ? { sigma: sigma.set } : {})));
      progress(t);
    }
    return out;
  }
  const lanes = Math.max(1, Math.min(threads, tasks.length));
  // the worker pool is loaded only when files are read on more than one thread
  const { Piscina: Pool } = await import('piscina');
  // each worker compiles the loaded Sigma rules once, from their texts (the pool's data)
  const workerData: WorkerData = sigma ? { sigma: sigma.sources, budgetSeconds: timeoutSeconds } : {};
  const pool = new Pool<Task | null, TaskResult | null>({ filename: new URL('./sources/worker.js', import.meta.url).href, maxThreads: lanes, minThreads: lanes, idleTimeout: 1000, workerData });
  // a worker that dies outside a task (out of memory after its task was given up) is an event of the pool, not a
  // crash of the scan: the task it ran already has its error note
  pool.on('error', () => undefined);
  const out: TaskResult[] = new Array<TaskResult>(tasks.length);
  // the largest first, so a large file taken up last does not keep one lane busy while the others wait; results
  // keep the order of submission
  const order = largestFirst(sizes, tasks.length);
  let next = 0;
  const warm = (): Promise<unknown> => pool.run(null).catch(() => null);
  const lane = async (): Promise<void> => {
    await warm();
    while (next < tasks.length) {
      const i = order[next++]!;
      const t = tasks[i]!;
      try {
        out[i] = (await pool.run(t, timeoutSeconds > 0 ? { signal: AbortSignal.timeout(timeoutSeconds * 1000) } : {})) ?? workerFailure(t, new Error('no result'), timeoutSeconds);
      } catch (e) {
        out[i] = workerFailure(t, e, timeoutSeconds);
        // the stopped worker is replaced: its start-up goes to a warm-up, not to the next file's budget
        await warm();
      }
      progress(t);
    }
  };
  try {
    await Promise.all(Array.from({ length: lanes }, lane));
    return out;
  } finally {
    await pool.destroy();
  }
}

/** Entries of a repository folder whose sizes are added up (a repository holds a handful of files). */
const MAX_REPOSITORY_ENTRIES = 256;

/** Bytes of the files directly in a repository folder (the first {@link MAX_REPOSITORY_ENTRIES} entries); 0 when it cannot be listed. */
function repositoryBytes(dir: string, raw: string | undefined): number {
  const base = raw !== undefined ? rawPath(raw) : Buffer.from(dir);
  let total = 0;
  try {
    const names = fs.readdirSync(base, { encoding: 'buffer' }).slice(0, MAX_REPOSITORY_ENTRIES);
    for (const n of names) {
      try {
        const st = fs.statSync(Buffer.concat([base, Buffer.from(path.sep), n]));
        if (st.isFile()) total += st.size;
      } catch {
        // gone or unreadable: its reader says so
      }
    }
  } catch {
    // unreadable: its reader says so
  }
  return total;
}

/** Everything read from the evidence, before any analysis. */
interface Collected {
  read: InputTotals;
  notes: EvidenceNote[];
  evidence: EvidenceItem[];
  observations: Observation[];
  logs: LogSummary[];
  repositories: RepositorySummary[];
  chains: Map<string, string[]>;
  state: NonNullable<ObserveResult['state']>;
  hostOf: (h: string) => string;
  hostAliases: HostAliases[];
  /** Event records the Sigma rules matched (none without rules). */
  sigmaHits: SigmaEventHit[];
}

/** The scan's Sigma rules: compiled here, and the texts of the loaded ones for worker threads to compile. */
export interface LoadedSigma {
  set: SigmaRuleSet;
  sources: SigmaSource[];
}

/** Read and compile Sigma rule files and folders; a path that cannot be read is a rule file not loaded, with why. */
export function loadSigma(paths: string[]): LoadedSigma {
  const { sources, errors } = readSigmaSources(paths);
  const set = compileSigma(sources);
  for (const e of errors) set.summary.notLoaded.push({ file: e.file, id: null, title: null, why: e.why });
  const loaded = new Set(set.rules.map((r) => r.file));
  return { set, sources: sources.filter((s) => loaded.has(s.file)) };
}

/** Discover and read every piece of evidence (files first, then repositories), hosts spelled one way. */
async function collect(paths: string[], opts: ScanOptions, sigma?: LoadedSigma): Promise<Collected> {
  // discovery writes to a sink; each task's notes come capped by its own sink (different tasks, different files)
  const discovered = new NoteSink();
  const found = discover(paths, discovered, { followSymlinks: opts.followSymlinks === true });
  const notes: EvidenceNote[] = discovered.list();
  const threads = opts.threads;
  const evidence: EvidenceItem[] = [];
  const observations: Observation[] = [];
  const logs: LogSummary[] = [];
  const repositories: RepositorySummary[] = [];
  const chains = new Map<string, string[]>();
  const state: NonNullable<ObserveResult['state']> = [];
  const links: HostLink[] = [];
  const sigmaHits: SigmaEventHit[] = [];
  // sizes on disk, for the progress in bytes and the result's `read` (a task is known by its kind and path)
  const taskKey = (t: { kind: 'file'; file: string; raw?: string } | { kind: 'cim'; dir: string; raw?: string }): string => (t.kind === 'file' ? `f:${t.raw ?? t.file}` : `c:${t.raw ?? t.dir}`);
  const sizes = new Map<string, number>();
  const read: InputTotals = { files: 0, repositories: 0, bytes: 0 };
  for (const d of found) {
    const size = d.kind === 'file' ? d.size : repositoryBytes(d.dir, d.raw);
    sizes.set(taskKey(d), size);
    if (d.kind === 'file') read.files++;
    else read.repositories++;
    read.bytes += size;
  }
  let done = 0;
  let doneBytes = 0;
  const progress = (t: Task): void => {
    doneBytes += sizes.get(taskKey(t)) ?? 0;
    opts.onProgress?.(++done, found.length, t.kind === 'cim' ? t.dir : t.file, { done: doneBytes, total: read.bytes });
  };
  const take = (r: TaskResult): void => {
    // by loops (append): push(...all) overflows the stack for one file of some 120,000 observations
    append(notes, r.notes);
    if (!r.result) return;
    append(evidence, r.result.items);
    append(observations, r.result.observations);
    append(logs, r.result.logs);
    append(repositories, r.result.repositories ?? []);
    for (const [k, v] of r.result.chains ?? []) chains.set(k, v);
    append(state, r.result.state ?? []);
    append(links, r.result.hostLinks ?? []);
    append(sigmaHits, r.result.sigmaHits ?? []);
  };
  // files first (their hosts name the repositories collected beside them), then repositories
  const fileTasks: Task[] = found.flatMap((d) => (d.kind === 'file' ? [{ kind: 'file' as const, file: d.file, ...(d.raw !== undefined ? { raw: d.raw } : {}), ...(opts.host ? { host: opts.host } : {}) }] : []));
  (await runAll(fileTasks, fileTasks.map((t) => sizes.get(taskKey(t)) ?? 0), threads, progress, opts.taskTimeout, sigma)).forEach(take);
  // the host of what names no machine (an empty log, a repository): --host, else the host of the event logs
  // collected beside it (same folder above `Windows`), else the folder layout of a collection
  const hostBeside = (file: string): string | null => {
    const root = collectionRoot(file);
    if (!root) return null;
    const counts = new Map<string, number>();
    for (const i of evidence) if (i.host && collectionRoot(i.file) === root) counts.set(i.host, (counts.get(i.host) ?? 0) + Math.max(1, i.records));
    return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? hostFromLayout(path.dirname(file));
  };
  const unnamed = new Map<string, string>();
  for (const f of new Set([...evidence.filter((e) => !e.host).map((e) => e.file), ...logs.filter((l) => !l.host && l.file).map((l) => l.file!)])) {
    const h = hostBeside(f);
    if (h) unnamed.set(f, h);
  }
  for (const e of evidence) if (!e.host) e.host = unnamed.get(e.file) ?? '';
  for (const l of logs) if (!l.host && l.file) l.host = unnamed.get(l.file) ?? '';
  const repoTasks: Task[] = [];
  for (const r of found) {
    if (r.kind !== 'cim') continue;
    repoTasks.push({ kind: 'cim', dir: r.dir, ...(r.raw !== undefined ? { raw: r.raw } : {}), host: opts.host ?? hostBeside(r.dir) ?? hostFromLayout(r.dir) ?? UNKNOWN_HOST });
  }
  (await runAll(repoTasks, repoTasks.map((t) => sizes.get(taskKey(t)) ?? 0), threads, progress, opts.taskTimeout)).forEach(take);
  // one machine, one name: spellings, renames, short names and FQDNs, clients and their logs (see sources/hosts.ts)
  // --host puts everything on one host: names, links and aliases do not matter then
  const identity = new HostIdentity(opts.host ? {} : opts.hostAliases, opts.hostMerge !== false && !opts.host);
  identity.addLinks(links);
  identity.linkSightings([...evidence.map((e) => ({ host: e.host, file: e.file })), ...observations.map((o) => ({ host: o.host, file: o.file }))]);
  if (!opts.host) for (const name of identity.unseenAliases(opts.hostAliases)) notes.push({ file: name, level: 'warning', code: 'assumption', message: `--host-alias ${name}=${opts.hostAliases![name]}: no evidence read names a machine ${name}; the alias changes nothing` });
  const canonical = identity.resolver();
  const hostOf = (h: string): string => canonical(h) || UNKNOWN_HOST;
  const nameless = evidence.filter((e) => !e.host);
  if (nameless.length) notes.push({ file: nameless[0]!.file, level: 'warning', code: 'host-unknown', message: `${nameless.length} evidence item(s) name no machine and lie in no host collection: shown under host 'unknown'${nameless.length > 1 ? ` (first: this file)` : ''}` });
  for (const o of observations) o.host = hostOf(o.host);
  for (const e of evidence) e.host = hostOf(e.host);
  for (const l of logs) l.host = hostOf(l.host);
  for (const r of repositories) r.host = hostOf(r.host);
  for (const st of state) st.host = hostOf(st.host);
  for (const h of sigmaHits) h.host = hostOf(h.host);
  canonicalTimes(observations, evidence, logs, repositories);
  const rekeyed = new Map<string, string[]>();
  for (const [k, v] of chains) {
    // keys are `host|namespace|class`; the host may hold `|`, namespace and class are taken from the right
    const parts = k.split('|');
    rekeyed.set(`${hostOf(parts.slice(0, -2).join('|')).toLowerCase()}|${parts.slice(-2).join('|')}`, v);
  }
  return { read, notes, evidence, observations, logs: mergeLogs(logs), repositories, chains: rekeyed, state, hostOf, hostAliases: identity.aliases(), sigmaHits };
}

/**
 * Every time the sources read, in the model's one form (ISO-8601 UTC, seven fractional digits: `model/time.ts`), here
 * where they enter the model: observations, evidence spans, log spans per channel, repository object spans and file
 * times. Whatever a report shows or compares is then in one form; a text that is no time stays as the evidence gave it.
 */
function canonicalTimes(observations: Observation[], evidence: EvidenceItem[], logs: LogSummary[], repositories: RepositorySummary[]): void {
  for (const o of observations) o.time = canonicalTime(o.time);
  for (const e of evidence) {
    e.first = canonicalTime(e.first);
    e.last = canonicalTime(e.last);
  }
  for (const l of logs)
    for (const c of l.perChannel ?? []) {
      c.first = canonicalTime(c.first);
      c.last = canonicalTime(c.last);
    }
  for (const r of repositories) {
    r.objectsFirst = canonicalTime(r.objectsFirst);
    r.objectsLast = canonicalTime(r.objectsLast);
    for (const f of r.files) f.modified = canonicalTime(f.modified) ?? f.modified;
  }
}

/** Now, in the model's one form. */
const now = (): string => timeFromMs(Date.now())!;

/**
 * Nothing readable: no evidence item came from any input (every given path was empty, missing, not evidence or
 * unreadable). `scan` and `coverage` exit 2 on it; a result with at least one item was read, even with warnings.
 */
export function nothingReadable(result: { evidence: readonly EvidenceItem[] }): boolean {
  return result.evidence.length === 0;
}

/** Result of {@link coverage}: per host, what the evidence can and cannot show. */
export interface CoverageResult {
  tool: { name: 'wmiscope'; version: string };
  scannedAt: string;
  hosts: HostCoverage[];
  /** Hosts known by more than one name, and why the names were linked. */
  hostAliases?: HostAliases[];
  evidence: EvidenceItem[];
  notes: EvidenceNote[];
}

/**
 * `wmiscope coverage` as a library call: read the evidence like {@link scan} does and report, per host, which
 * sources are present, each log's span and roll-over, the repository's time span and the blind spots.
 */
export async function coverage(paths: string[], opts: Omit<ScanOptions, 'allowlists' | 'defaultAllowlist' | 'rules'> = {}): Promise<CoverageResult> {
  const c = await collect(paths, opts);
  const hosts = [...new Set(c.evidence.map((e) => e.host).filter(Boolean))];
  return { tool: { name: 'wmiscope', version: opts.version ?? '0.0.0' }, scannedAt: now(), hosts: hostCoverage(hosts, c.evidence, c.logs, c.repositories), ...(c.hostAliases.length ? { hostAliases: c.hostAliases } : {}), evidence: c.evidence, notes: c.notes };
}

export async function scan(paths: string[], opts: ScanOptions = {}): Promise<ScanResult> {
  if (opts.baseline !== undefined) {
    const checked = asScanResult(opts.baseline);
    if (typeof checked === 'string') throw new TypeError(`baseline: ${checked}`);
  }
  const allowlists: Allowlist[] = [];
  if (opts.defaultAllowlist !== false) allowlists.push(DEFAULT_ALLOWLIST);
  for (const f of opts.allowlists ?? []) allowlists.push(loadAllowlist(f));
  const rules = opts.rules?.length ? loadRules(opts.rules) : [];
  const sigma = opts.sigma && opts.sigma.length > 0 ? loadSigma(opts.sigma) : undefined;
  const { read, notes, evidence, observations, logs, repositories, chains, state, hostOf, hostAliases, sigmaHits } = await collect(paths, opts, sigma);
  // where the host's whole WMI state was read (a repository: every namespace; a collector document: the
  // namespaces it read without errors), what is absent was deleted
  // (each read with its time when known: it shows the absence only of what was logged before it)
  const stateRead = new Map<string, Array<{ namespaces: 'all' | Set<string>; at: string | null }>>();
  for (const st of state) {
    const h = hostOf(st.host).toLowerCase();
    const reads = stateRead.get(h) ?? [];
    reads.push({ namespaces: st.namespaces === 'all' ? 'all' : new Set(st.namespaces.map((n) => n.toLowerCase())), at: st.at ?? null });
    stateRead.set(h, reads);
  }
  const drafts = buildSubscriptions(observations, (host, ns) =>
    (stateRead.get(host.toLowerCase()) ?? []).filter((r) => r.namespaces === 'all' || (ns !== null && r.namespaces.has(ns.toLowerCase()))).map((r) => r.at),
  );
  const hostList = [...new Set([...evidence.map((e) => e.host), ...drafts.map((d) => d.host)].filter(Boolean))];
  const hostCov = hostCoverage(hostList, evidence, logs, repositories);
  const covByHost = new Map(hostCov.map((c) => [c.host.toLowerCase(), c]));
  const joined = new Map<string, JoinedSubscription>();
  const findings: Finding[] = drafts.map((d) => {
    const consumerChain = d.consumer?.className ? chains.get(`${d.host.toLowerCase()}|${(d.consumer.namespace ?? '').toLowerCase()}|${d.consumer.className.toLowerCase()}`) : undefined;
    const runs = runsOf(d.observations);
    const subscription: JoinedSubscription = { host: d.host, namespace: d.namespace, status: d.status, filter: d.filter, consumer: d.consumer, binding: d.binding, observations: d.observations, ...(consumerChain ? { consumerChain } : {}) };
    joined.set(d.id, subscription);
    const v = evaluate(subscription, allowlists);
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
      coverage: subscriptionCoverage(d, hostSources(covByHost.get(d.host.toLowerCase()))),
      ...(runs ? { runs } : {}),
    };
  });
  // the views get half the per-file time budget in all (0: none), as the records' matching gets half of each file's
  const sigmaScan = sigma ? applySigma(findings, joined, sigmaHits, sigma.set, sigma.set.summary, { budgetMs: ((opts.taskTimeout ?? DEFAULT_TASK_TIMEOUT) * 1000) / 2 }) : undefined;
  const hosts = [...new Set([...evidence.map((e) => e.host), ...findings.map((f) => f.host)].filter(Boolean))].sort(compareName);
  // stacking: counts across the hosts whose evidence could show a subscription (a host with a Security log
  // only would dilute the counts), ranks rare entries up before sorting
  const stackHosts = hosts.filter((h) => {
    const c = covByHost.get(h.toLowerCase());
    return c !== undefined && canShowSubscriptions(c);
  });
  const fleetHosts = fleetOf(stackHosts, findings);
  const fleet = opts.stacking !== false && fleetHosts.length > 1 ? stack(findings, fleetHosts) : undefined;
  // user rules see the finding joined, covered and stacked; what they change in severity shows in the fleet summary too
  if (rules.length) {
    applyRules(findings, rules);
    if (fleet) refreshFleet(fleet, findings);
  }
  findings.sort(compareFindings);
  const result: ScanResult = { tool: { name: 'wmiscope', version: opts.version ?? '0.0.0' }, scannedAt: now(), hosts, ...(hostAliases.length ? { hostAliases } : {}), evidence, read, notes, findings, ...(fleet ? { fleet } : {}), coverage: hostCov, ...(sigmaScan ? { sigma: sigmaScan } : {}) };
  // the comparison reads the finished result and changes nothing in it
  if (opts.baseline !== undefined) result.changes = diffScans(opts.baseline, result);
  return result;
}

