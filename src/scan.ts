/**
 * The main job as a library call: evidence paths in, explained findings out. Discovery and observation
 * (sources), the subscription graph, coverage and rules (analysis); formatting is left to `report/`.
 */
import * as path from 'node:path';
import { discover, hostFromLayout } from './sources/discover.js';
import { observeEvtx, observeRepository } from './sources/observe.js';
import type { LogSummary } from './sources/input.js';
import { buildSubscriptions, coverage } from './analysis/graph.js';
import type { HostSources } from './analysis/graph.js';
import { evaluate } from './analysis/rules.js';
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

export function scan(paths: string[], opts: ScanOptions = {}): ScanResult {
  const notes: EvidenceNote[] = [];
  const found = discover(paths, notes);
  const allowlists: Allowlist[] = [];
  if (opts.defaultAllowlist !== false) allowlists.push(DEFAULT_ALLOWLIST);
  for (const f of opts.allowlists ?? []) allowlists.push(loadAllowlist(f));
  const evidence: EvidenceItem[] = [];
  const observations: Observation[] = [];
  const logs: LogSummary[] = [];
  const chains = new Map<string, string[]>();
  let done = 0;
  const evtx = found.filter((d): d is { kind: 'evtx'; file: string; gzip?: boolean } => d.kind === 'evtx');
  const repos = found.filter((d): d is { kind: 'cim'; dir: string } => d.kind === 'cim');
  for (const e of evtx) {
    const r = observeEvtx(e.file, notes, e.gzip === true);
    for (const item of r.items) evidence.push(opts.host ? { ...item, host: opts.host } : item);
    for (const o of r.observations) observations.push(opts.host ? { ...o, host: opts.host } : o);
    for (const l of r.logs) logs.push(opts.host ? { ...l, host: opts.host } : l);
    opts.onProgress?.(++done, found.length, e.file);
  }
  for (const r of repos) {
    // host: --host, else the host of the event logs collected beside it, else the folder layout
    let host = opts.host ?? null;
    if (!host) {
      const root = collectionRoot(r.dir);
      const near = root ? evidence.filter((i) => i.host && collectionRoot(i.file) === root) : [];
      const counts = new Map<string, number>();
      for (const i of near) counts.set(i.host, (counts.get(i.host) ?? 0) + i.records);
      host = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? hostFromLayout(r.dir) ?? 'unknown';
    }
    const res = observeRepository(r.dir, host, notes);
    if (res.item) evidence.push(res.item);
    observations.push(...res.observations);
    for (const [k, v] of res.chains) chains.set(`${host.toLowerCase()}|${k}`, v);
    opts.onProgress?.(++done, found.length, r.dir);
  }
  // one spelling per host (case-insensitive)
  const display = new Map<string, string>();
  for (const h of [...evidence.map((e) => e.host), ...observations.map((o) => o.host)]) if (h && !display.has(h.toLowerCase())) display.set(h.toLowerCase(), h);
  const hostOf = (h: string): string => display.get(h.toLowerCase()) ?? (h || 'unknown');
  for (const o of observations) o.host = hostOf(o.host);
  for (const e of evidence) e.host = e.host ? hostOf(e.host) : e.host;
  const sources = new Map<string, HostSources>();
  const src = (h: string): HostSources => {
    let s = sources.get(h.toLowerCase());
    if (!s) sources.set(h.toLowerCase(), (s = { sysmon: { present: false, wmiEvents: false }, wmiActivity: { present: false, ids: [] }, powershell: false, repository: false }));
    return s;
  };
  for (const e of evidence) if (e.kind === 'cim') src(e.host).repository = true;
  for (const l of logs) {
    const s = src(l.host ? hostOf(l.host) : l.host);
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
  const reposByHost = new Set([...sources].filter(([, s]) => s.repository).map(([h]) => h));
  const drafts = buildSubscriptions(observations, reposByHost);
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
  findings.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || b.score - a.score || a.host.localeCompare(b.host));
  const hosts = [...new Set([...evidence.map((e) => e.host), ...findings.map((f) => f.host)].filter(Boolean))].sort();
  return { tool: { name: 'wmiscope', version: opts.version ?? '0.0.0' }, scannedAt: new Date().toISOString(), hosts, evidence, notes, findings };
}

export { SEVERITY_ORDER };
