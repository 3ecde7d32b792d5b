/**
 * Change over time: two scan results (`wmiscope scan -f json`) compared per host. A subscription's identity is its
 * fleet stack key without the payload hash (host, namespace, consumer class, consumer or filter name,
 * {@link stackKey}); its payload is {@link payloadHash}. Same identity, hash and filter query: unchanged (counted) — or
 * rescored when its severity or score differs (new rules, another wmiscope version: reason ids added and removed said);
 * same identity, another hash or query: changed (with what differs); only in NEW: new; only in OLD: gone — and "gone"
 * only where NEW's evidence could have shown it ({@link couldShow}): a host not in NEW's `hosts` was not scanned in
 * NEW, and a subscription NEW's evidence for its host could not show — or that NEW, narrowed when written, may have
 * hidden — is "not shown in NEW"; neither proves anything.
 * A result is untrusted input: {@link asScanResult} checks its shape before anything reads
 * it. `diff -a` allowlists are matched against each finding as read back (./allowlist.ts `matchAllowlists`).
 */
import type { DiffChange, DiffEntry, DiffHost, DiffScan, Finding, HostCoverage, ScanDiff, ScanResult, Severity } from '../model/types.js';
import { SEVERITIES } from '../model/types.js';
import { compareName } from '../model/order.js';
import { payloadHash, stackKey } from './stack.js';
import { matchAllowlists } from './allowlist.js';
import { suppliedKinds } from './hostcoverage.js';
import { logKind } from './graph.js';
import { parseIsoTime } from '../model/time.js';
import { blindByDesign, LIVE_KINDS, SOURCES } from '../model/sources.js';
import type { Allowlist } from './allowlist.js';

export type { DiffChange, DiffChanged, DiffEntry, DiffHost, DiffRescored, DiffScan, ScanDiff } from '../model/types.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrOrNull = (v: unknown): boolean => v === null || typeof v === 'string';

function objectProblem(v: unknown, where: string): string | null {
  if (v === null) return null;
  if (!isObj(v)) return `${where}: not an object or null`;
  if (!isStrOrNull(v['namespace']) || !isStrOrNull(v['className']) || !isStrOrNull(v['name'])) return `${where}: namespace, className or name is not a string or null`;
  if (!isObj(v['values'])) return `${where}.values: not an object`;
  for (const x of Object.values(v['values'])) if (x !== null && !['string', 'number', 'boolean'].includes(typeof x)) return `${where}.values: a value is not a string, number, boolean or null`;
  return null;
}

/**
 * The value as a scan result when it has the shape the diff reads (tool, scannedAt, hosts, findings with their host,
 * namespace, severity, score, reason ids, status, first/last seen, filter/consumer/binding objects and allow-list
 * verdict), else why not (a sentence naming the
 * first field that is wrong). Nothing beyond what the diff reads is checked.
 */
export function asScanResult(v: unknown): ScanResult | string {
  if (!isObj(v)) return 'not a JSON object';
  const tool = v['tool'];
  if (!isObj(tool) || tool['name'] !== 'wmiscope' || typeof tool['version'] !== 'string') return 'not a wmiscope scan result (no tool.name "wmiscope" with a version; write it with wmiscope scan -f json)';
  if (typeof v['scannedAt'] !== 'string') return 'scannedAt: not a string';
  const cov = v['coverage'];
  if (cov !== undefined && (!Array.isArray(cov) || !(cov as unknown[]).every((c) => isObj(c) && typeof c['host'] === 'string' && Array.isArray(c['logs']) && (c['logs'] as unknown[]).every(isObj) && Array.isArray(c['repositories']) && Array.isArray(c['live']) && (c['live'] as unknown[]).every(isObj) && isObj(c['processCreation'])))) return 'coverage: not a list of host coverage ({host, logs, repositories, live, processCreation})';
  const hosts = v['hosts'];
  if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === 'string')) return 'hosts: not a list of names';
  const findings = v['findings'];
  if (!Array.isArray(findings)) return 'findings: not a list';
  const aliases = v['hostAliases'];
  if (aliases !== undefined) {
    if (!Array.isArray(aliases)) return 'hostAliases: not a list';
    for (const a of aliases as unknown[])
      if (!isObj(a) || typeof a['host'] !== 'string' || !Array.isArray(a['aliases']) || !(a['aliases'] as unknown[]).every((x) => isObj(x) && typeof x['name'] === 'string')) return 'hostAliases: an entry without host and aliases[].name';
  }
  for (let i = 0; i < findings.length; i++) {
    const f: unknown = findings[i];
    const at = `findings[${i}]`;
    if (!isObj(f)) return `${at}: not an object`;
    if (typeof f['id'] !== 'string' || typeof f['host'] !== 'string') return `${at}: id or host is not a string`;
    if (!isStrOrNull(f['namespace'])) return `${at}.namespace: not a string or null`;
    if (!(SEVERITIES as readonly unknown[]).includes(f['severity'])) return `${at}.severity: not one of ${SEVERITIES.join(', ')}`;
    if (typeof f['status'] !== 'string' || typeof f['summary'] !== 'string') return `${at}: status or summary is not a string`;
    if (typeof f['score'] !== 'number') return `${at}.score: not a number`;
    if (!Array.isArray(f['reasons']) || !(f['reasons'] as unknown[]).every((r) => isObj(r) && typeof r['id'] === 'string')) return `${at}.reasons: not a list of {id}`;
    if (!isStrOrNull(f['firstSeen'] ?? null) || !isStrOrNull(f['lastSeen'] ?? null)) return `${at}: firstSeen or lastSeen is not a string or null`;
    if (!Array.isArray(f['observations']) || !(f['observations'] as unknown[]).every((o) => isObj(o) && typeof o['source'] === 'string')) return `${at}.observations: not a list of {source}`;
    for (const part of ['filter', 'consumer', 'binding'] as const) {
      const p = objectProblem(f[part] ?? null, `${at}.${part}`);
      if (p) return p;
    }
    const al = f['allowlisted'] ?? null;
    if (al !== null && (!isObj(al) || typeof al['by'] !== 'string' || typeof al['entry'] !== 'string')) return `${at}.allowlisted: not null or {by, entry}`;
  }
  return v as unknown as ScanResult;
}

/** Lower-case name → lower-case name the result shows the host under (itself, and each of its aliases). */
function hostIndex(r: ScanResult): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of r.hostAliases ?? []) for (const x of a.aliases) m.set(x.name.toLowerCase(), a.host.toLowerCase());
  return m;
}

const identity = (f: Finding): string => {
  const k = stackKey(f, '').key; // `ns|class|name|`
  return k.slice(0, -1);
};

/**
 * The allow-list verdict of a finding: its scan's, else the first `diff -a` entry that matches it exactly. A finding
 * read back from a result has every part the matcher reads (namespace, filter, consumer and binding with their
 * values and the consumer's class); the consumer class chain the scan had is not in the result, but the scan only
 * has one for a consumer whose class is known, and then the class decides.
 */
function verdictOf(f: Finding, allowlists: readonly Allowlist[]): Pick<DiffEntry, 'allowlisted' | 'allowlistedBy'> {
  if (f.allowlisted) return { allowlisted: `${f.allowlisted.by}: ${f.allowlisted.entry}` };
  if (!allowlists.length) return { allowlisted: null };
  const m = matchAllowlists({ host: f.host, namespace: f.namespace, status: f.status, filter: f.filter ?? null, consumer: f.consumer ?? null, binding: f.binding ?? null, observations: [] }, [...allowlists]);
  return m ? { allowlisted: `${m.by}: ${m.entry}`, allowlistedBy: 'diff' } : { allowlisted: null };
}

function entryOf(f: Finding, hash: string, allowlists: readonly Allowlist[]): DiffEntry {
  const sk = stackKey(f, hash);
  return {
    id: f.id,
    namespace: f.namespace,
    className: sk.className,
    name: sk.name,
    status: f.status,
    severity: f.severity,
    score: f.score,
    payloadHash: hash,
    summary: f.summary,
    firstSeen: f.firstSeen ?? null,
    lastSeen: f.lastSeen ?? null,
    ...verdictOf(f, allowlists),
  };
}

/**
 * Whether the evidence NEW read for a host (its coverage; undefined: NEW's result has none, as a hand-made or older one,
 * and then nothing says what its evidence could show, so nothing is gone through it) could have shown this subscription of OLD, so that its absence
 * from NEW says something: NEW read for the host a live listing (repository, collector, Velociraptor, Autoruns) that
 * nothing in its design keeps from listing it (its namespace, its consumer class, `model/sources.ts`), or a log of a
 * source that saw it in OLD and that holds the time OLD's records of it were written (complete or rolled over, its
 * first record no later than the earliest of them: an excerpt, or a log of unknown completeness, proves nothing).
 */
function couldShow(f: Finding, cov: HostCoverage | null | undefined): boolean {
  if (cov === undefined || cov === null) return false;
  const shape = { namespace: f.namespace, consumerClass: f.consumer?.className ?? null, binding: f.binding ? ('bound' as const) : ('unknown' as const), hasConsumer: f.consumer !== null };
  for (const k of suppliedKinds(cov, true)) {
    if (!Object.hasOwn(SOURCES, k)) continue;
    // a live listing that is not the host's whole state (a collector run without administrator rights, …) shows nothing absent
    const whole = k === 'cim' || k === 'cim-residue' || cov.live.some((l) => l.source === k && l.partial !== true);
    if (LIVE_KINDS.includes(k) && blindByDesign(k, shape) === null && whole) return true;
    if (SOURCES[k].state !== 'logged' || !SOURCES[k].showsSubscriptions) continue;
    let earliest = Infinity;
    for (const o of f.observations) {
      const t = o.source === k ? parseIsoTime(o.time) : null;
      if (t !== null && t < earliest) earliest = t;
    }
    if (earliest === Infinity) continue;
    const holds = (l: HostCoverage['logs'][number]): boolean => logKind(l.source) === k && l.records > 0 && (l.completeness === 'complete' || l.completeness === 'rolled-over') && (parseIsoTime(l.first) ?? Infinity) <= earliest;
    if (cov.logs.some(holds)) return true;
  }
  return false;
}

/** Reason ids of `b` not in `a` (sorted, each once). */
const reasonIdsOnlyIn = (b: Finding, a: Finding): string[] => {
  const had = new Set(a.reasons.map((r) => r.id));
  return [...new Set(b.reasons.map((r) => r.id).filter((id) => !had.has(id)))].sort(compareName);
};

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** What differs between two findings of one identity: the consumer class, the filter's query, and each consumer property. */
export function changesOf(a: Finding, b: Finding): DiffChange[] {
  const out: DiffChange[] = [];
  const ca = a.consumer?.className ?? null;
  const cb = b.consumer?.className ?? null;
  if ((ca ?? '').toLowerCase() !== (cb ?? '').toLowerCase()) out.push({ what: 'class', old: ca, new: cb });
  const qa = str(a.filter?.values['Query']);
  const qb = str(b.filter?.values['Query']);
  if (qa !== qb) out.push({ what: 'query', old: qa, new: qb });
  const va = a.consumer?.values ?? {};
  const vb = b.consumer?.values ?? {};
  const keys = new Map<string, string>();
  for (const k of [...Object.keys(va), ...Object.keys(vb)]) if (!keys.has(k.toLowerCase())) keys.set(k.toLowerCase(), k);
  const get = (o: Record<string, unknown>, k: string): string | null => str(Object.entries(o).find(([x]) => x.toLowerCase() === k)?.[1]);
  for (const [low, k] of [...keys].sort((x, y) => compareName(x[1], y[1]))) {
    if (low === 'name' || low === 'creatorsid') continue;
    const x = get(va, low);
    const y = get(vb, low);
    if (x !== y) out.push({ what: k, old: x, new: y });
  }
  return out;
}

function scanOf(r: ScanResult): DiffScan {
  return { tool: r.tool.name, version: r.tool.version, scannedAt: r.scannedAt, hosts: r.hosts.length, findings: r.findings.length, narrowed: r.hidden !== undefined };
}

/** The filter's query as the payload hash normalises values (spaces folded, case ignored), '' when none. */
const queryOf = (f: Finding): string => String(f.filter?.values['Query'] ?? '').replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * Subscriptions (a filter or consumer; a payload class alone is not one) grouped by identity, each with its hash and
 * what makes it the same: the payload hash and the filter's query (the hash of a subscription with a consumer leaves
 * the query out, but another trigger is a change).
 */
function byIdentity(fs: Finding[]): Map<string, Array<{ f: Finding; hash: string; same: string }>> {
  const m = new Map<string, Array<{ f: Finding; hash: string; same: string }>>();
  for (const f of fs) {
    if (!f.consumer && !f.filter) continue;
    const k = identity(f);
    const list = m.get(k) ?? [];
    const hash = payloadHash(f);
    list.push({ f, hash, same: `${hash}\n${queryOf(f)}` });
    m.set(k, list);
  }
  return m;
}

/** Move `side`'s entries of unknown namespace (`|class|name`) under the one key of `other` with that class and name. */
function joinUnknownNamespaces<T>(side: Map<string, T[]>, other: Map<string, T[]>): void {
  for (const [k, list] of [...side]) {
    if (!k.startsWith('|')) continue;
    const same = [...other.keys()].filter((o) => !o.startsWith('|') && o.slice(o.indexOf('|')) === k);
    if (same.length !== 1) continue;
    side.delete(k);
    side.set(same[0]!, [...(side.get(same[0]!) ?? []), ...list]);
  }
}

export interface DiffOptions {
  /**
   * Allowlists (`diff -a`) that judge allow-listing besides the verdicts stored in the results: an entry that matches
   * a finding exactly marks it allow-listed (`allowlistedBy: 'diff'`). They add to the scan's verdicts and never take
   * one away: a finding the scan allow-listed was set to severity info by it, and its severity before is not in the
   * result.
   */
  allowlists?: readonly Allowlist[];
}

/** Compare OLD with NEW, per host. Pure: both results are read, neither is changed. */
export function diffScans(oldR: ScanResult, newR: ScanResult, opts: DiffOptions = {}): ScanDiff {
  const lists = opts.allowlists ?? [];
  const entry = (f: Finding, hash: string): DiffEntry => entryOf(f, hash, lists);
  const oldIdx = hostIndex(oldR);
  const newIdx = hostIndex(newR);
  // one key per machine: NEW's name for it (through NEW's aliases, then OLD's), lower case
  const keyOf = (h: string): string => {
    const low = h.toLowerCase();
    return newIdx.get(low) ?? newIdx.get(oldIdx.get(low) ?? low) ?? oldIdx.get(low) ?? low;
  };
  const hosts = new Map<string, { host: string; oldName?: string; inOld: boolean; inNew: boolean; oldF: Finding[]; newF: Finding[] }>();
  const hostOf = (name: string): NonNullable<ReturnType<typeof hosts.get>> => {
    const k = keyOf(name);
    let h = hosts.get(k);
    if (!h) hosts.set(k, (h = { host: name, inOld: false, inNew: false, oldF: [], newF: [] }));
    return h;
  };
  for (const h of newR.hosts) {
    const e = hostOf(h);
    e.inNew = true;
    e.host = h;
  }
  for (const f of newR.findings) hostOf(f.host).newF.push(f);
  for (const h of oldR.hosts) {
    const e = hostOf(h);
    e.inOld = true;
    if (e.inNew && e.host !== h) e.oldName = h;
  }
  for (const f of oldR.findings) {
    const e = hostOf(f.host);
    e.oldF.push(f);
    // a finding's host is a host of its scan (the fleet is hosts plus every host with a finding)
    e.inOld = true;
  }
  const totals = { new: 0, gone: 0, changed: 0, rescored: 0, unchanged: 0, notScannedInNew: 0, notShownInNew: 0 };
  const newCoverage = newR.coverage ? new Map(newR.coverage.map((c) => [c.host.toLowerCase(), c])) : null;
  // a NEW narrowed when written that hid findings (a count that is not 0, or not a number: untrusted) hides which:
  // any of OLD's may be among them, so nothing missing from it is gone
  const newHid = newR.hidden !== undefined && !(isObj(newR.hidden) && newR.hidden.total === 0);
  const out: DiffHost[] = [];
  for (const h of hosts.values()) {
    const d: DiffHost = { host: h.host, ...(h.oldName !== undefined ? { oldName: h.oldName } : {}), inOld: h.inOld, inNew: h.inNew, new: [], gone: [], changed: [], rescored: [], unchanged: 0, notScannedInNew: [], notShownInNew: [] };
    const before = byIdentity(h.oldF);
    const after = byIdentity(h.newF);
    // a subscription whose namespace no source gave (Autoruns rows) is the one of the same class and name on the other
    // side when there is exactly one, as fleet stacking joins them
    joinUnknownNamespaces(before, after);
    joinUnknownNamespaces(after, before);
    if (!h.inNew) {
      for (const list of before.values()) for (const x of list) d.notScannedInNew.push(entry(x.f, x.hash));
    } else {
      for (const [k, olds] of before) {
        const news = [...(after.get(k) ?? [])];
        const left: typeof olds = [];
        for (const o of olds) {
          // the same payload: judged the same (unchanged) first, else judged otherwise (rescored)
          const judged = (n: (typeof news)[number]): boolean => n.f.severity === o.f.severity && n.f.score === o.f.score;
          let i = news.findIndex((n) => n.same === o.same && judged(n));
          if (i < 0) i = news.findIndex((n) => n.same === o.same);
          if (i < 0) {
            left.push(o);
            continue;
          }
          const n = news.splice(i, 1)[0]!;
          if (judged(n)) d.unchanged++;
          else d.rescored.push({ old: entry(o.f, o.hash), new: entry(n.f, n.hash), reasonsAdded: reasonIdsOnlyIn(n.f, o.f), reasonsRemoved: reasonIdsOnlyIn(o.f, n.f) });
        }
        // same identity, other payload: changed, paired in order; what is left over on either side is gone or new
        while (left.length && news.length) {
          const o = left.shift()!;
          const n = news.shift()!;
          d.changed.push({ old: entry(o.f, o.hash), new: entry(n.f, n.hash), changes: changesOf(o.f, n.f) });
        }
        // gone only where NEW's evidence for the host could have shown it
        const cov = newCoverage ? (newCoverage.get(h.host.toLowerCase()) ?? null) : undefined;
        for (const o of left) (!newHid && couldShow(o.f, cov) ? d.gone : d.notShownInNew).push(entry(o.f, o.hash));
        if (news.length) after.set(k, news);
        else after.delete(k);
      }
      for (const [k, news] of after) {
        if (before.has(k) && news.length === 0) continue;
        for (const n of news) d.new.push(entry(n.f, n.hash));
      }
      // identities NEW has that OLD never had were handled above; those matched in full are deleted from `after`
    }
    const order = (a: DiffEntry, b: DiffEntry): number => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || compareName(a.namespace ?? '', b.namespace ?? '') || compareName(a.name ?? '', b.name ?? '') || compareName(a.id, b.id);
    d.new.sort(order);
    d.gone.sort(order);
    d.notScannedInNew.sort(order);
    d.notShownInNew.sort(order);
    d.changed.sort((a, b) => order(a.new, b.new));
    d.rescored.sort((a, b) => order(a.new, b.new));
    totals.new += d.new.length;
    totals.rescored += d.rescored.length;
    totals.gone += d.gone.length;
    totals.changed += d.changed.length;
    totals.unchanged += d.unchanged;
    totals.notScannedInNew += d.notScannedInNew.length;
    totals.notShownInNew += d.notShownInNew.length;
    out.push(d);
  }
  out.sort((a, b) => compareName(a.host, b.host));
  const caveats: string[] = [];
  if (newHid) {
    const total = isObj(newR.hidden) && typeof newR.hidden.total === 'number' && Number.isSafeInteger(newR.hidden.total) ? newR.hidden.total : null;
    caveats.push(`NEW was narrowed when it was written (--min-severity, --only-host or --since/--until) and hid ${total === null ? 'findings' : `${total} finding${total === 1 ? '' : 's'}`}: nothing missing from it is called gone (what OLD has and NEW lacks is listed as not shown), since it may be among them`);
  } else if (newR.hidden !== undefined) caveats.push('NEW was narrowed when it was written (--min-severity, --only-host or --since/--until), but hid nothing');
  if (!newR.coverage) caveats.push('NEW has no coverage (a hand-made or older result): what its evidence could show is unknown, so nothing missing from it is called gone (what OLD has and NEW lacks is listed as not shown)');
  if (oldR.hidden !== undefined) caveats.push('OLD was narrowed when it was written (--min-severity, --only-host or --since/--until): a subscription it hid is listed as new although it may have been there');
  return { old: scanOf(oldR), new: scanOf(newR), hosts: out, totals, caveats, ...(lists.length ? { allowlists: lists.map((l) => l.name) } : {}) };
}

/**
 * What makes `wmiscope diff` exit 1: the new and changed subscriptions (NEW's side) at or above `failOn`, and the
 * rescored ones whose severity rose to at or above it, that are not allow-listed (in NEW's scan, or by a `diff -a`
 * list); none for `never`.
 */
export function failingChanges(d: ScanDiff, failOn: Severity | 'never'): DiffEntry[] {
  if (failOn === 'never') return [];
  const floor = SEVERITIES.indexOf(failOn);
  const rank = (s: Severity): number => SEVERITIES.indexOf(s);
  const all = d.hosts.flatMap((h) => [...h.new, ...h.changed.map((c) => c.new), ...h.rescored.filter((r) => rank(r.new.severity) < rank(r.old.severity)).map((r) => r.new)]);
  return all.filter((e) => e.allowlisted === null && rank(e.severity) <= floor);
}
