/**
 * Stacking across a fleet: the same subscription (namespace, consumer class, name, payload) on many hosts is
 * software that was deployed; on one host of fifty it is worth a look first. Counts are by distinct host.
 * Common entries are marked, never allow-listed automatically.
 */
import { createHash } from 'node:crypto';
import type { Finding, FleetStack, FleetSummary, Severity, StackInfo } from '../model/types.js';
import { SEVERITIES } from '../model/types.js';
import { consumerClassFacts } from '../model/wmi.js';
import { scoreOf } from './score.js';
import { FLEET_MIN_HOSTS, fleetRank, fleetReasons } from './rules/index.js';
import { customConsumerProperties } from '../model/subscription.js';
import { compareName, compareText } from '../model/order.js';

const norm = (v: string | number | boolean): string => String(v).replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * Hash of what the subscription does: the payload properties of its consumer (command line, script, log
 * text, …; for another class every property it has but its name and the `__EventConsumer` base properties). A
 * filter without consumer hashes its query. Names and creators never count.
 */
export function payloadHash(f: Finding): string {
  const parts: string[] = [];
  const cls = (f.consumer?.className ?? '').toLowerCase();
  const values = f.consumer?.values ?? {};
  if (f.consumer) {
    const keys = consumerClassFacts(cls)?.payloadProperties ?? customConsumerProperties(values);
    for (const k of [...keys].sort(compareName)) {
      const v = Object.entries(values).find(([x]) => x.toLowerCase() === k.toLowerCase())?.[1];
      if (v !== null && v !== undefined && v !== '') parts.push(`${k.toLowerCase()}=${norm(v)}`);
    }
  } else {
    const q = f.filter?.values['Query'];
    if (typeof q === 'string') parts.push(`query=${norm(q)}`);
  }
  return createHash('sha256').update(`${cls}\n${parts.join('\n')}`).digest('hex').slice(0, 16);
}

export function stackKey(f: Finding, hash = payloadHash(f)): { key: string; className: string | null; name: string | null } {
  const className = f.consumer?.className ?? (f.filter ? '__EventFilter' : null);
  const name = f.consumer?.name ?? f.filter?.name ?? null;
  return { key: `${(f.namespace ?? '').toLowerCase()}|${(className ?? '').toLowerCase()}|${(name ?? '').toLowerCase()}|${hash}`, className, name };
}

/** The fleet: `hosts` and every host with a finding, each once (case-insensitive, first spelling kept). */
export function fleetOf(hosts: string[], findings: Finding[]): string[] {
  const out = new Map<string, string>();
  for (const h of [...hosts, ...findings.map((f) => f.host)]) if (!out.has(h.toLowerCase())) out.set(h.toLowerCase(), h);
  return [...out.values()];
}

/**
 * Count each subscription across the fleet; mark rare and common entries on the findings (in place: `stack`,
 * a reason, score and severity for rare ones that are not allow-listed) and return the fleet summary. The fleet
 * (the denominator) is `hosts` — the hosts whose evidence can show a subscription (`canShowSubscriptions`: a
 * repository, a live listing, a Sysmon or WMI-Activity log), never every host with any log — plus every host
 * with a finding.
 */
export function stack(findings: Finding[], hosts: string[]): FleetSummary {
  hosts = fleetOf(hosts, findings);
  const fleet = hosts.length;
  const groups = new Map<string, { entry: FleetStack; members: Finding[] }>();
  // findings whose namespace no source gave (Autoruns rows) join the one group of the same class, name and
  // payload in any namespace, if there is exactly one
  const ordered = [...findings].sort((a, b) => Number(a.namespace === null) - Number(b.namespace === null));
  for (const f of ordered) {
    if (!f.consumer && !f.filter) continue; // a payload class on its own is not a subscription
    const hash = payloadHash(f);
    const sk = stackKey(f, hash);
    const { className, name } = sk;
    let key = sk.key;
    if (f.namespace === null) {
      const same = [...groups.keys()].filter((k) => k.slice(k.indexOf('|')) === key.slice(key.indexOf('|')));
      if (same.length === 1) key = same[0]!;
    }
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { entry: { key, namespace: f.namespace, className, name, payloadHash: hash, summary: f.summary, severity: f.severity, hosts: [], count: 0, common: false, rare: false }, members: [] }));
    g.members.push(f);
    if (!g.entry.hosts.some((h) => h.toLowerCase() === f.host.toLowerCase())) g.entry.hosts.push(f.host);
  }
  for (const { entry, members } of groups.values()) {
    entry.hosts.sort();
    entry.count = entry.hosts.length;
    ({ rare: entry.rare, common: entry.common } = fleetRank(entry.count, fleet));
    const info: StackInfo = { key: entry.key, payloadHash: entry.payloadHash, hosts: entry.count, fleetHosts: fleet, rare: entry.rare, common: entry.common };
    for (const f of members) {
      f.stack = info;
      const reasons = fleetReasons({ count: entry.count, hosts: entry.hosts, fleet, rare: entry.rare, common: entry.common, allowlisted: f.allowlisted !== null });
      f.reasons.push(...reasons);
      if (reasons.length > 0) ({ score: f.score, severity: f.severity } = scoreOf(f.reasons, { quiet: f.allowlisted !== null }));
    }
  }
  const stacks = [...groups.values()].map((g) => g.entry).sort((a, b) => a.count - b.count || compareText(a.key, b.key));
  const summary: FleetSummary = { hosts: fleet, minHostsForRanking: FLEET_MIN_HOSTS, stacks, perHost: hosts.map((host) => ({ host, findings: 0, worst: null, rare: 0, allowlisted: 0 })) };
  refreshFleet(summary, findings);
  return summary;
}

/**
 * The parts of a fleet summary that follow from the findings' severities and allow-list verdicts, computed (again)
 * from the findings as they are: each stack's worst severity, and each host's line (findings, worst, rare,
 * allow-listed), worst first. {@link stack} ends with it; a scan calls it again after user rules changed findings.
 */
export function refreshFleet(summary: FleetSummary, findings: readonly Finding[]): void {
  const byKey = new Map<string, Finding[]>();
  for (const f of findings) {
    if (!f.stack) continue;
    const list = byKey.get(f.stack.key);
    if (list) list.push(f);
    else byKey.set(f.stack.key, [f]);
  }
  for (const entry of summary.stacks) {
    const members = byKey.get(entry.key) ?? [];
    if (members.length) entry.severity = members.reduce((w, f) => (SEVERITIES.indexOf(f.severity) < SEVERITIES.indexOf(w) ? f.severity : w), members[0]!.severity);
  }
  const perHost: FleetSummary['perHost'] = [];
  for (const { host } of summary.perHost) {
    const key = host.toLowerCase();
    const mine = findings.filter((f) => f.host.toLowerCase() === key);
    const live = mine.filter((f) => !f.allowlisted);
    const worst = live.length ? SEVERITIES.find((s) => live.some((f) => f.severity === s))! : null;
    perHost.push({ host, findings: mine.length, worst, rare: mine.filter((f) => f.stack?.rare).length, allowlisted: mine.length - live.length });
  }
  const rank = (s: Severity | null): number => (s ? SEVERITIES.indexOf(s) : SEVERITIES.length);
  perHost.sort((a, b) => rank(a.worst) - rank(b.worst) || b.rare - a.rare || b.findings - a.findings || compareName(a.host, b.host));
  summary.perHost = perHost;
}
