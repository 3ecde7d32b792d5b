/**
 * The subscription graph: observations joined into subscriptions keyed by (host, namespace, class, name),
 * filter + consumer + binding with any of them missing, a status and the full history.
 */
import { LIVE_SOURCES } from '../model/types.js';
import { CONSUMER_CLASSES, namespaceKey } from '../model/wmi.js';
import type { CoverageEntry, JoinedSubscription, Observation, Part, SourceKind, Status, SubscriptionObject, WmiValue } from '../model/types.js';
import { referenceTarget } from '../model/subscription.js';

/** A subscription before rules run: what the rules read, plus its identity and time span. */
export interface Draft extends Omit<JoinedSubscription, 'consumerChain'> {
  id: string;
  firstSeen: string | null;
  lastSeen: string | null;
  who: string[];
}

const low = (s: string | null | undefined): string => (s ?? '').toLowerCase();

/** Namespace key; a null namespace (the source did not say) matches any. */
const nsKey = (ns: string | null): string => low(ns);

interface Obj {
  part: Part;
  host: string;
  namespace: string | null;
  className: string | null;
  name: string | null;
  /** bindings: the filter and consumer they join */
  filterName?: string | null;
  consumerName?: string | null;
  consumerClass?: string | null;
  observations: Observation[];
}

/** The filter a binding observation joins: the name its `Filter` reference holds. */
function bindingFilterName(o: Observation): string | null {
  return referenceTarget(o.properties, 'Filter')?.name ?? null;
}

/** The consumer a binding observation joins: the name (and class, when the reference gives it) of its `Consumer` reference. */
function bindingConsumer(o: Observation): { className: string | null; name: string | null } {
  return referenceTarget(o.properties, 'Consumer') ?? { className: null, name: null };
}

function bindingConsumerName(o: Observation): string | null {
  return bindingConsumer(o).name;
}

function objKey(o: Observation): string | null {
  if (!o.part) return null;
  if (o.part === 'binding') {
    const f = bindingFilterName(o);
    const c = bindingConsumerName(o);
    if (!f && !c) return null;
    return `${low(o.host)}|binding|${low(f)}|${low(c)}`;
  }
  if (!o.name) return null;
  const cls = o.part === 'filter' ? '__eventfilter' : low(o.className);
  return `${low(o.host)}|${o.part}|${cls}|${low(o.name)}`;
}

/** Latest value of each property across the object's observations; the repository wins over logs. */
const RANK: Partial<Record<SourceKind, number>> = { cim: 5, collector: 4, velociraptor: 3, autoruns: 3, 'cim-residue': 2 };

/** A source that shows the object existed at collection time. */
const live = (o: Observation): boolean => LIVE_SOURCES.includes(o.source) && o.action === 'present';

function values(obs: Observation[]): Record<string, WmiValue> {
  const order = (o: Observation): number => RANK[o.source] ?? 1;
  // an object the repository holds has its current values there; residue of it (an older version) is history only
  const inRepository = obs.some((o) => o.source === 'cim' && o.action === 'present');
  const sorted = obs.filter((o) => !(inRepository && o.source === 'cim-residue')).sort((a, b) => order(a) - order(b) || (a.time ?? '').localeCompare(b.time ?? ''));
  const out: Record<string, WmiValue> = {};
  for (const o of sorted) for (const [k, v] of Object.entries(o.properties)) if (v !== null && v !== '') out[k] = v;
  return out;
}

function toSubObject(o: Obj | undefined): SubscriptionObject | null {
  if (!o) return null;
  const v = values(o.observations);
  if (o.name && v['Name'] === undefined) v['Name'] = o.name;
  return { namespace: pickNamespace(o.observations), className: o.className, name: o.name, values: v };
}

function pickNamespace(obs: Observation[]): string | null {
  const repo = [...obs].sort((a, b) => (RANK[b.source] ?? 1) - (RANK[a.source] ?? 1)).find((o) => live(o) && o.namespace);
  if (repo) return repo.namespace;
  return obs.find((o) => o.namespace)?.namespace ?? null;
}

/** Status from what the evidence says (cim-format / issue: active, deleted, residual, logged-only, orphan). */
function statusOf(parts: Array<Obj | undefined>, repoForHost: boolean): Status {
  const all = parts.flatMap((p) => p?.observations ?? []);
  const present = all.some(live);
  const bound = parts[2] !== undefined;
  if (present) {
    // Velociraptor's PermanentWMIEvents lists subscriptions through their bindings, Autoruns its WMI entries:
    // what they show is bound; the repository and the collector list every object, bound or not
    if (!all.some((o) => live(o) && (o.source === 'cim' || o.source === 'collector'))) return 'active';
    const bindingLive = parts[2]?.observations.some(live) ?? false;
    return bindingLive ? 'active' : 'orphan';
  }
  const logged = all.filter((o) => o.source !== 'cim-residue' && o.time).sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
  const lastAction = logged.length ? logged[logged.length - 1]!.action : null;
  if (lastAction === 'deleted') return 'deleted';
  if (all.length && all.every((o) => o.source === 'cim-residue')) return 'residual';
  if (repoForHost && all.some((o) => o.source === 'cim-residue')) return 'deleted';
  if (repoForHost && !present && logged.length) return 'deleted';
  return bound ? 'logged-only' : 'orphan';
}

function stableId(s: string): string {
  // FNV-1a 64 as hex: stable finding ids across runs (not a security boundary)
  let h1 = 0x811c9dc5;
  let h2 = 0xcbf29ce4;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ (c >> 4) ^ (i & 0xff), 0x01000193) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/**
 * Where the host's whole WMI state was read (a repository, a collector document's clean namespaces): a
 * subscription absent there was deleted. A set holds lower-case host names read in every namespace.
 */
export type StateRead = Set<string> | ((host: string, namespace: string | null) => boolean);

/** Join observations into subscriptions. */
export function buildSubscriptions(observations: Observation[], stateRead: StateRead): Draft[] {
  const readAll = typeof stateRead === 'function' ? stateRead : (host: string): boolean => stateRead.has(low(host));
  // objects by (host, part, class, name), one per namespace: the same names in two namespaces are two objects
  const byName = new Map<string, Obj[]>();
  const all: Obj[] = [];
  const context: Observation[] = [];
  const unplaced: Array<[string, Observation]> = [];
  const add = (k: string, o: Observation, target?: Obj): void => {
    let list = byName.get(k);
    if (!list) byName.set(k, (list = []));
    let obj = target ?? list.find((x) => nsKey(x.namespace) === nsKey(o.namespace));
    if (!obj) {
      obj = { part: o.part!, host: o.host, namespace: o.namespace, className: o.className, name: o.name, observations: [] };
      if (o.part === 'binding') {
        obj.filterName = bindingFilterName(o);
        obj.consumerName = bindingConsumerName(o);
        obj.consumerClass = bindingConsumer(o).className;
      }
      list.push(obj);
      all.push(obj);
    }
    if (!obj.namespace && o.namespace) obj.namespace = o.namespace;
    if ((!obj.className || live(o)) && o.className) obj.className = o.className;
    obj.observations.push(o);
  };
  // the same record read twice (a log copied into the collection twice) counts once
  const seen = new Set<string>();
  for (const o of observations) {
    const dup = `${low(o.host)}|${o.source}|${o.action}|${o.part}|${low(o.namespace)}|${low(o.className)}|${low(o.name)}|${o.time}|${JSON.stringify(o.properties)}|${JSON.stringify(o.meta)}`;
    if (seen.has(dup)) continue;
    seen.add(dup);
    const k = objKey(o);
    if (!k) context.push(o);
    else if (!o.namespace) unplaced.push([k, o]);
    else add(k, o);
  }
  // a source that does not name the namespace joins the one object of those names; when several namespaces
  // have them, the root\\subscription one (where the logging sources look), else an object of its own
  for (const [k, o] of unplaced) {
    const list = byName.get(k) ?? [];
    add(k, o, list.length === 1 ? list[0] : list.find((x) => nsKey(x.namespace) === 'root\\subscription'));
  }
  const list = all;
  const find = (part: Part, host: string, ns: string | null, name: string | null | undefined, cls?: string | null): Obj | undefined => {
    if (!name) return undefined;
    const cands = list.filter((x) => x.part === part && low(x.host) === low(host) && low(x.name) === low(name) && (!cls || !x.className || low(x.className) === low(cls)));
    return cands.find((x) => nsKey(x.namespace) === nsKey(ns)) ?? cands.find((x) => !x.namespace || !ns) ?? undefined;
  };
  const used = new Set<Obj>();
  const drafts: Draft[] = [];
  const make = (host: string, f?: Obj, c?: Obj, b?: Obj): void => {
    [f, c, b].forEach((x) => x && used.add(x));
    const obs = [f, c, b].flatMap((x) => x?.observations ?? []);
    const ns = b?.namespace ?? c?.namespace ?? f?.namespace ?? null;
    const times = obs.map((o) => o.time).filter((t): t is string => !!t).sort();
    const who = [...new Set(obs.map((o) => o.user).filter((u): u is string => !!u))];
    const key = `${low(host)}|${low(ns)}|${low(f?.name)}|${low(c?.className)}|${low(c?.name ?? b?.consumerName)}`;
    drafts.push({
      id: stableId(key),
      host,
      namespace: ns,
      status: statusOf([f, c, b], readAll(host, ns)),
      filter: toSubObject(f),
      consumer: toSubObject(c),
      binding: toSubObject(b),
      observations: obs.sort((x, y) => (x.time ?? '').localeCompare(y.time ?? '')),
      firstSeen: times[0] ?? null,
      lastSeen: times[times.length - 1] ?? null,
      who,
    });
  };
  for (const b of list.filter((x) => x.part === 'binding')) make(b.host, find('filter', b.host, b.namespace, b.filterName), find('consumer', b.host, b.namespace, b.consumerName, b.consumerClass), b);
  // unbound filters and consumers: pair those that share a name (attackers name both alike), else alone
  const rest = list.filter((x) => !used.has(x) && x.part !== 'binding');
  for (const f of rest.filter((x) => x.part === 'filter')) {
    if (used.has(f)) continue;
    const c = rest.find((x) => x.part === 'consumer' && !used.has(x) && low(x.host) === low(f.host) && low(x.name) === low(f.name) && (!x.namespace || !f.namespace || nsKey(x.namespace) === nsKey(f.namespace)));
    make(f.host, f, c);
  }
  for (const c of rest.filter((x) => x.part === 'consumer' && !used.has(x))) make(c.host, undefined, c);
  const attached = new Set<Observation>();
  // context: PowerShell that created a subscription part without a literal name belongs to the one
  // subscription of that host and namespace whose part was created within an hour of it, if there is one
  for (const o of context.filter((x) => x.source === 'powershell' && x.part && x.time)) {
    const t = Date.parse(o.time!);
    const near = drafts.filter(
      (x) =>
        low(x.host) === low(o.host) &&
        (!o.namespace || !x.namespace || nsKey(x.namespace) === nsKey(o.namespace)) &&
        x.observations.some((y) => y.part === o.part && y.time && Math.abs(Date.parse(y.time) - t) <= 3600_000),
    );
    if (near.length === 1) {
      near[0]!.observations.push(o);
      attached.add(o);
    }
  }
  // the rest: a subscription whose names the log does not give (e.g. Set-WmiInstance -Arguments $variable),
  // one per host, namespace and hour
  const groups = new Map<string, Observation[]>();
  for (const o of context.filter((x) => x.source === 'powershell' && x.part && !attached.has(x))) {
    const k = `${low(o.host)}|${low(o.namespace)}|${(o.time ?? '').slice(0, 13)}`;
    const g = groups.get(k);
    if (g) g.push(o);
    else groups.set(k, [o]);
  }
  for (const g of groups.values()) {
    const part = (p: Part): Obj | undefined => {
      const os = g.filter((o) => o.part === p);
      return os.length ? { part: p, host: os[0]!.host, namespace: os[0]!.namespace, className: os[0]!.className, name: null, observations: os } : undefined;
    };
    make(g[0]!.host, part('filter'), part('consumer'), part('binding'));
  }
  // context: a consumer provider loaded (WMI-Activity 5857, e.g. CommandLineEventConsumer / wbemcons.dll)
  // belongs to the one subscription of that host with a consumer of that class, if there is exactly one
  for (const o of context.filter((x) => x.source === 'wmi-activity' && x.part === 'consumer' && x.className)) {
    const same = drafts.filter((x) => low(x.host) === low(o.host) && low(x.consumer?.className) === low(o.className));
    if (same.length === 1) same[0]!.observations.push(o);
  }
  // context: a repository class holding a large string belongs to the subscriptions of that host whose
  // consumer names the class; a class no consumer names is reported on its own
  for (const o of context.filter((x) => x.source === 'cim' && x.part === null && x.className)) {
    const cls = low(o.className);
    const users = drafts.filter((x) => low(x.host) === low(o.host) && x.consumer && Object.values(x.consumer.values).some((v) => typeof v === 'string' && low(v).includes(cls)));
    if (users.length) users.forEach((d) => d.observations.push(o));
    else
      drafts.push({
        id: stableId(`${low(o.host)}|${low(o.namespace)}|class|${cls}|${Object.keys(o.properties).join(',')}`),
        host: o.host,
        namespace: o.namespace,
        status: 'active',
        filter: null,
        consumer: null,
        binding: null,
        observations: [o],
        firstSeen: null,
        lastSeen: null,
        who: [],
      });
  }
  // context: a filter activated (WMI-Activity 5859: namespace and query, no filter name) belongs to the
  // subscriptions of that host whose filter has that query (whitespace and case aside) and, when both say,
  // that event namespace
  const q = (v: unknown): string => (typeof v === 'string' ? v.replace(/\s+/g, ' ').trim().toLowerCase() : '');
  for (const o of context.filter((x) => x.source === 'wmi-activity' && x.part === 'filter' && !x.name && q(x.properties['Query']))) {
    const query = q(o.properties['Query']);
    for (const d of drafts) {
      if (low(d.host) !== low(o.host) || q(d.filter?.values['Query']) !== query) continue;
      if (o.namespace && nsKey(o.namespace) !== eventNamespaceKey(d)) continue;
      d.observations.push(o);
    }
  }
  // context: a timer instruction (`__IntervalTimerInstruction`, `__AbsoluteTimerInstruction`) belongs to the
  // subscriptions of that host whose filter waits for its TimerID (`SELECT * FROM __TimerEvent WHERE TimerID = 'x'`)
  for (const o of context.filter((x) => x.part === null && /TimerInstruction$/i.test(x.className ?? '') && x.name)) {
    const id = low(o.name);
    for (const d of drafts) {
      const q = low(String(d.filter?.values['Query'] ?? ''));
      if (low(d.host) === low(o.host) && (!o.namespace || nsKey(o.namespace) === eventNamespaceKey(d)) && /__timerevent/.test(q) && new RegExp(`timerid\\s*=\\s*["']${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']`).test(q)) d.observations.push(o);
    }
  }
  // context: process starts and provider loads tie to a consumer when the command line matches
  for (const o of context) {
    // a process start's command line is its record's, not a property of any WMI object
    const cmd = low(String(o.meta['CommandLine'] ?? ''));
    if (!cmd) continue;
    const d = drafts.find((x) => low(x.host) === low(o.host) && x.consumer && [x.consumer.values['CommandLineTemplate'], x.consumer.values['ExecutablePath']].some((v) => typeof v === 'string' && v.length > 3 && cmd.includes(low(v))));
    if (d) d.observations.push(o);
  }
  return drafts;
}

/** Where a subscription's filter listens: its EventNamespace, or (when it has none) its own namespace; lower case. */
function eventNamespaceKey(d: Draft): string {
  const ens = d.filter?.values['EventNamespace'];
  const ns = typeof ens === 'string' && ens.trim() ? ens : (d.filter?.namespace ?? d.namespace ?? '');
  return namespaceKey(ns);
}

/** Which telemetry sources a host had, for coverage. */
export interface HostSources {
  /** `first`: the oldest record time of the host's Sysmon logs; `rolledOver`: one of them wrapped, is full, or starts after record #1. */
  sysmon: { present: boolean; wmiEvents: boolean; first?: string | null; rolledOver?: RolledOver };
  wmiActivity: { present: boolean; ids: number[]; first?: string | null; rolledOver?: RolledOver };
  powershell: boolean;
  repository: boolean;
  /** `wmiscope collector powershell` output for the host. */
  collector?: boolean;
  /** Velociraptor Windows.Persistence.PermanentWMIEvents rows for the host. */
  velociraptor?: boolean;
  /** autorunsc output (CSV or Velociraptor rows) for the host. */
  autoruns?: boolean;
  /** WMI-Activity ETW operations (Velociraptor Windows.ETW.WMIEventing) for the host. */
  trace?: boolean;
}

const SYSMON_CONSUMERS = CONSUMER_CLASSES.filter((c) => c.sysmonType !== null).map((c) => c.className.toLowerCase());

/**
 * Whether every log of a source on the host lost its oldest records: `yes` (a header marked full), `likely` (none
 * starts at record #1), false (at least one starts at #1, or nothing tells).
 */
export type RolledOver = 'yes' | 'likely' | false;

const rolledWords = (r: RolledOver | undefined): string => (r === 'yes' ? ': the log rolled over' : r === 'likely' ? ': the log may have rolled over (it does not start at record #1)' : '');

/** `a` strictly before `b`, for ISO-8601 UTC times with any number of fractional digits; false when either is not one. */
export function isoBefore(a: string, b: string): boolean {
  const norm = (t: string): string | null => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(t);
    return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}` : null;
  };
  const x = norm(a);
  const y = norm(b);
  return x !== null && y !== null && x < y;
}

/** Coverage, the seed's thesis: which sources saw the subscription, which could not, and why. */
export function coverage(d: Draft, src: HostSources): CoverageEntry[] {
  const saw = (s: Observation['source']): boolean => d.observations.some((o) => o.source === s);
  const ns = low(d.namespace);
  const out: CoverageEntry[] = [];
  // when it was made, as far as any source tells (repository timestamps included)
  const created = d.firstSeen;
  {
    let reason: string | null = null;
    if (!saw('sysmon')) {
      if (!src.sysmon.present) reason = 'no Sysmon log supplied';
      else if (ns && ns !== 'root\\subscription') reason = `namespace not covered (Sysmon logs only root\\subscription; this is ${d.namespace})`;
      else if (d.consumer?.className && !SYSMON_CONSUMERS.includes(low(d.consumer.className))) reason = `consumer type not logged (Sysmon logs only CommandLine and ActiveScript consumers; this is ${d.consumer.className})`;
      else if (created && src.sysmon.first && isoBefore(created, src.sysmon.first)) reason = `it dates from ${created}, before the oldest Sysmon record (${src.sysmon.first})${rolledWords(src.sysmon.rolledOver)}`;
      else if (!src.sysmon.wmiEvents) reason = `the Sysmon log holds no WMI events (19/20/21): the configuration may not log them (check it with \`wmiscope sysmon audit\`)${src.sysmon.rolledOver ? ', or they rolled over' : ''}`;
      else if (created && src.sysmon.first) reason = 'not in the Sysmon log although the log covers that time: excluded by the configuration (check it with `wmiscope sysmon audit`), or Sysmon was not running then';
      else reason = `not in the Sysmon log (created before logging began${src.sysmon.rolledOver ? ', lost when the log rolled over' : ''}, or excluded by the configuration — check it with \`wmiscope sysmon audit\`)`;
    }
    out.push({ source: 'Sysmon (19/20/21)', saw: saw('sysmon'), reason });
  }
  {
    const hit = d.observations.some((o) => o.source === 'wmi-activity');
    let reason: string | null = null;
    if (!hit) {
      if (!src.wmiActivity.present) reason = 'no WMI-Activity/Operational log supplied';
      else if (created && src.wmiActivity.first && isoBefore(created, src.wmiActivity.first)) reason = `it dates from ${created}, before the oldest WMI-Activity record (${src.wmiActivity.first})${rolledWords(src.wmiActivity.rolledOver)}`;
      else if (!src.wmiActivity.ids.includes(5861)) reason = 'the WMI-Activity log holds no 5861 events (5861 exists only on Windows 10 / Server 2016 and later)';
      else if (created && src.wmiActivity.first) reason = 'not in the WMI-Activity log although the log covers that time';
      else reason = `not in the WMI-Activity log (created before the log began${src.wmiActivity.rolledOver ? ', lost when the log rolled over' : ''})`;
    }
    out.push({ source: 'WMI-Activity (5857-5861)', saw: hit, reason });
  }
  out.push({ source: 'PowerShell (800/4103/4104)', saw: saw('powershell'), reason: saw('powershell') ? null : src.powershell ? 'no PowerShell record of its creation (created by other means, or not logged)' : 'no PowerShell log supplied' });
  {
    const hit = saw('cim') || saw('cim-residue');
    out.push({ source: 'WMI repository', saw: hit, reason: hit ? null : src.repository ? 'not in the repository (deleted and overwritten, or the repository is from another time)' : 'no repository supplied' });
  }
  // live-query tools: what they list, and what they structurally cannot list (wmi-tradecraft §1, §5)
  const depth = d.namespace ? d.namespace.split('\\').filter(Boolean).length : 0;
  const bound = d.binding !== null || d.observations.some((o) => o.part === 'binding');
  // Autoruns rows carry no filter or binding: for what only Autoruns saw, whether it is bound is unknown
  const bindingUnknown = !bound && d.observations.every((o) => o.source === 'autoruns');
  if (src.collector) out.push({ source: 'Live WMI query (wmiscope collector)', saw: saw('collector'), reason: saw('collector') ? null : 'not on the live host when the collector ran (deleted before collection, or in a namespace the collector could not open: see the notes)' });
  {
    let blind: string | null = null;
    if (ns === 'root') blind = 'it does not query ROOT itself';
    else if (depth > 2) blind = `it enumerates only first-level namespaces of ROOT; this is ${d.namespace}`;
    else if (ns && ns !== 'root\\subscription' && ns !== 'root\\default') blind = `by default it queries only root/subscription and root/default (every first-level namespace only with AllRootNamespaces); this is ${d.namespace}`;
    else if (!bound && !bindingUnknown) blind = 'it lists subscriptions through their bindings; an unbound filter or consumer is not listed';
    if (src.velociraptor || blind) {
      const hit = saw('velociraptor');
      out.push({ source: 'Velociraptor PermanentWMIEvents', saw: hit, reason: hit ? null : src.velociraptor ? (blind ? `not listed: ${blind}` : 'not listed (deleted before the collection ran)') : `no rows supplied; it would not list this: ${blind}` });
    }
  }
  {
    const blind = ns && ns !== 'root\\subscription' && ns !== 'root\\default' ? `it looks only in root\\subscription and root\\default; this is ${d.namespace}` : null;
    if (src.autoruns || blind) {
      const hit = saw('autoruns');
      out.push({ source: 'Autoruns (WMI entries)', saw: hit, reason: hit ? null : src.autoruns ? (blind ? `not listed: ${blind}` : 'not listed (deleted before Autoruns ran)') : `no output supplied; it would not list this: ${blind}` });
    }
  }
  if (src.trace) out.push({ source: 'WMI-Activity trace (ETW)', saw: saw('wmi-trace'), reason: saw('wmi-trace') ? null : 'no create or delete traced (created before the trace session started, or the session missed it)' });
  return out;
}
