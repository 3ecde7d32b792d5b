/**
 * The subscription graph: observations joined into subscriptions keyed by (host, namespace, class, name),
 * filter + consumer + binding with any of them missing, a status and the full history.
 */
import { LIVE_KINDS, SOURCE_KINDS, blindByDesign, coverageLabel, sourceOf, wouldNot } from '../model/sources.js';
import type { SubscriptionShape } from '../model/sources.js';
import { namespaceKey } from '../model/wmi.js';
import type { CoverageEntry, JoinedSubscription, LogCoverage, Observation, Part, SourceKind, Status, SubscriptionObject, WmiValue } from '../model/types.js';
import { UNKNOWN_HOST } from '../model/types.js';
import { referenceTarget, sidAccountNames } from '../model/subscription.js';
import { isMofcompContext, isRun, isScriptHostLoad } from '../model/runs.js';
import { compareText } from '../model/order.js';
import { canonicalTime, compareTimes, isCanonicalTime, parseIsoTime } from '../model/time.js';

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

/** PowerShell text that names an object without creating it (built and never committed, or a temporary subscription). */
const mention = (o: Observation): boolean => o.source === 'powershell' && o.action === 'mentioned';

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
const live = (o: Observation): boolean => LIVE_KINDS.includes(o.source) && o.action === 'present';

function values(obs: Observation[]): Record<string, WmiValue> {
  const order = (o: Observation): number => RANK[o.source] ?? 1;
  // an object the repository holds has its current values there; residue of it (an older version) is history only
  const inRepository = obs.some((o) => o.source === 'cim' && o.action === 'present');
  const sorted = obs.filter((o) => !(inRepository && o.source === 'cim-residue')).sort((a, b) => order(a) - order(b) || compareText(a.time ?? '', b.time ?? ''));
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

/**
 * Status from what the evidence says: active, deleted, residual, logged-only, orphan. Orphan (a filter or consumer
 * with no binding) only where a source that lists every part (the repository, a collector document: `unbound:
 * 'state'` in the source table) read the host's state in that namespace (`stateRead`) and shows no binding; from
 * logs alone a part whose binding is not in the evidence is logged-only (its binding is not observable here).
 */
function statusOf(parts: Array<Obj | undefined>, stateRead: boolean): Status {
  const all = parts.flatMap((p) => p?.observations ?? []);
  const present = all.some(live);
  if (present) {
    // what Velociraptor's PermanentWMIEvents lists is bound, Autoruns lists consumers only: only a source that
    // lists every object, bound or not, can show that a part has no binding
    const whole = all.some((o) => live(o) && sourceOf(o.source).unbound === 'state');
    if (!whole || !stateRead) return 'active';
    const bindingLive = parts[2]?.observations.some(live) ?? false;
    return bindingLive ? 'active' : 'orphan';
  }
  const logged = all.filter((o) => o.source !== 'cim-residue' && o.time).sort((a, b) => compareText(a.time ?? '', b.time ?? ''));
  const lastAction = logged.length ? logged[logged.length - 1]!.action : null;
  if (lastAction === 'deleted') return 'deleted';
  if (all.length && all.every((o) => o.source === 'cim-residue')) return 'residual';
  if (stateRead && all.some((o) => o.source === 'cim-residue')) return 'deleted';
  if (stateRead && !present && logged.length) return 'deleted';
  return 'logged-only';
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
 * subscription absent there was deleted. A set holds lower-case host names read in every namespace (when, not
 * known); a function gives, for a host and namespace, the time of each read of its whole state (null: not known),
 * none when it was not read. A read shows the absence only of what was logged no later than it: a subscription whose
 * latest logged record is after every read of known time may have been made after them.
 */
export type StateRead = Set<string> | ((host: string, namespace: string | null) => ReadonlyArray<string | null>);

/** Join observations into subscriptions. */
export function buildSubscriptions(observations: Observation[], stateRead: StateRead): Draft[] {
  const readAt = typeof stateRead === 'function' ? stateRead : (host: string): Array<string | null> => (stateRead.has(low(host)) ? [null] : []);
  /** Whether a read of the host's whole state in `ns` came no earlier than the latest logged record of `obs`. */
  const readAfter = (host: string, ns: string | null, obs: Observation[]): boolean => {
    const logged = obs.filter((o) => o.source !== 'cim-residue' && !live(o) && o.time && isoKey(o.time) !== null).map((o) => isoKey(o.time!)!);
    const last = logged.sort(compareText)[logged.length - 1] ?? null;
    return readAt(host, ns).some((at) => at === null || last === null || !isoBefore(at, last));
  };
  // objects by (host, part, class, name), one per namespace: the same names in two namespaces are two objects
  const byName = new Map<string, Obj[]>();
  const all: Obj[] = [];
  const context: Observation[] = [];
  const unplaced: Array<[string, Observation]> = [];
  const mentions: Array<[string, Observation]> = [];
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
    else if (mention(o)) mentions.push([k, o]);
    else if (!o.namespace) unplaced.push([k, o]);
    else add(k, o);
  }
  // an object a script builds but never commits (no Put()), or a temporary subscription, is no subscription: it joins
  // the object of its names that other evidence shows, and makes none of its own
  for (const [k, o] of mentions) {
    const list = byName.get(k) ?? [];
    const same = list.find((x) => nsKey(x.namespace) === nsKey(o.namespace)) ?? (list.length === 1 && !o.namespace ? list[0] : undefined);
    if (same) add(k, o, same);
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
    const times = obs.map((o) => o.time).filter((t): t is string => isCanonicalTime(t)).sort();
    const who = [...new Set(obs.map((o) => o.user).filter((u): u is string => !!u))];
    const key = `${low(host)}|${low(ns)}|${low(f?.name)}|${low(c?.className)}|${low(c?.name ?? b?.consumerName)}`;
    drafts.push({
      id: stableId(key),
      host,
      namespace: ns,
      status: statusOf([f, c, b], readAfter(host, ns, obs)),
      filter: toSubObject(f),
      consumer: toSubObject(c),
      binding: toSubObject(b),
      observations: obs,
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
  // subscription of that host and namespace whose part was created within an hour of it, if there is one; only
  // times in the model's form are placed (Date.parse would read a text time such as `5/11/2019 5:58 PM` in the
  // machine's zone)
  const at = (y: Observation): number | null => parseIsoTime(y.time);
  for (const o of context.filter((x) => x.source === 'powershell' && x.part && !mention(x) && at(x) !== null)) {
    const t = at(o)!;
    const near = drafts.filter(
      (x) =>
        low(x.host) === low(o.host) &&
        (!o.namespace || !x.namespace || nsKey(x.namespace) === nsKey(o.namespace)) &&
        x.observations.some((y) => y.part === o.part && at(y) !== null && Math.abs(at(y)! - t) <= 3600_000),
    );
    if (near.length === 1) {
      near[0]!.observations.push(o);
      attached.add(o);
    }
  }
  // the rest: a subscription whose names the log does not give (e.g. Set-WmiInstance -Arguments $variable),
  // one per host, namespace and hour
  const groups = new Map<string, Observation[]>();
  for (const o of context.filter((x) => x.source === 'powershell' && x.part && !mention(x) && !attached.has(x))) {
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
  // context: a temporary subscription (Register-WmiEvent) belongs to the subscriptions the same PowerShell session
  // (host, log file, process, within the hour: process ids are reused) made; it is never one of its own
  for (const o of context.filter((x) => x.source === 'powershell' && x.part === null && typeof x.meta['temporary'] === 'string' && typeof x.meta['processId'] === 'number' && at(x) !== null)) {
    const t = at(o)!;
    const same = (y: Observation): boolean => y.source === 'powershell' && y.file === o.file && y.meta['processId'] === o.meta['processId'] && at(y) !== null && Math.abs(at(y)! - t) <= 3600_000;
    for (const d of drafts) if (low(d.host) === low(o.host) && d.observations.some(same)) d.observations.push(o);
  }
  // context: a consumer provider loaded (WMI-Activity 5857, e.g. CommandLineEventConsumer / wbemcons.dll)
  // belongs to the one subscription of that host with a consumer of that class, if there is exactly one
  for (const o of context.filter((x) => x.source === 'wmi-activity' && x.part === 'consumer' && x.className && !isScriptHostLoad(x))) {
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
  // context: a process start is what a subscription ran (model/runs.ts) when it is on the subscription's host,
  // within its lifetime (not before it was made; not after it was deleted) and its consumer matches: `scrcons.exe`
  // (the script host) for the one script consumer of that host that could have run it; a `WmiPrvSE.exe` child whose
  // command line holds the consumer's CommandLineTemplate (its %variables% as wildcards), or whose image is the
  // consumer's ExecutablePath when it has no template, for the one subscription that matches. Several candidates
  // would make the tie a guess, so none is made. WMI-Activity 5857 logging scrcons.exe loaded as a provider host is
  // tied as a scrcons.exe start is: the script host ran. On the host of evidence naming no machine, only within one file.
  const tiedRuns = new Set<Observation>();
  for (const o of context.filter((x) => (x.source === 'process' && x.action === 'executed') || isScriptHostLoad(x))) {
    const image = typeof o.meta['Image'] === 'string' ? o.meta['Image'] : '';
    const parent = typeof o.meta['ParentImage'] === 'string' ? o.meta['ParentImage'] : '';
    const cmd = typeof o.meta['CommandLine'] === 'string' ? o.meta['CommandLine'] : '';
    const scrcons = /(^|\\)scrcons\.exe$/i.test(image) || isScriptHostLoad(o);
    const wmiChild = /(^|\\)wmiprvse\.exe$/i.test(parent);
    if (!scrcons && !wmiChild) continue;
    const cands = drafts.filter((d) => {
      if (low(d.host) !== low(o.host) || !d.consumer || !during(d, o.time)) return false;
      // evidence that names no machine is all shown under one host, but two such files may be two machines: a
      // start there is tied only to a subscription the same file shows
      if (low(o.host) === UNKNOWN_HOST && !d.observations.some((x) => x.file === o.file)) return false;
      const cls = low(d.consumer.className);
      if (scrcons) return cls === 'activescripteventconsumer' && madeAt(d) !== null;
      return cls === 'commandlineeventconsumer' && commandMatches(d.consumer.values, cmd, image);
    });
    if (cands.length === 1) {
      cands[0]!.observations.push(o);
      tiedRuns.add(o);
    }
  }
  // context, not a run: a `mofcomp.exe` start (not tied above as what a command-line consumer ran) shortly before a
  // subscription of its host was created. mofcomp compiles a .mof file into the repository, so a subscription created
  // within MOFCOMP_WINDOW after it may be what it compiled; the log does not show which objects a MOF held (installers
  // compile many), so it is shown beside the subscription as a start that preceded its creation, never as a run.
  const created = new Map<Draft, number | null>();
  const createdMs = (d: Draft): number | null => {
    if (!created.has(d)) {
      const made = createdAt(d);
      created.set(d, made === null ? null : parseIsoTime(made));
    }
    return created.get(d)!;
  };
  for (const o of context.filter((x) => x.source === 'process' && x.action === 'executed' && !tiedRuns.has(x))) {
    const image = typeof o.meta['Image'] === 'string' ? o.meta['Image'] : '';
    const at = o.time === null ? null : parseIsoTime(canonicalTime(o.time));
    if (!/(^|\\)mofcomp\.exe$/i.test(image) || at === null) continue;
    for (const d of drafts) {
      if (low(d.host) !== low(o.host)) continue;
      const m = createdMs(d);
      const gap = m === null ? NaN : m - at;
      if (gap >= 0 && gap <= MOFCOMP_WINDOW_MS) d.observations.push({ ...o, action: 'mentioned', part: null, meta: { ...o.meta, SecondsBeforeCreation: Math.round(gap / 100) / 10 } });
    }
  }
  // who: the users of the PowerShell records attached above count too; a SID that the host's PowerShell records
  // pair with one account name (800 UserId / 4103 User beside the record's security SID) is shown by that name
  const sidName = sidAccountNames(observations);
  for (const d of drafts) {
    const users = [...d.who, ...d.observations.filter((o) => o.source === 'powershell' && o.part && o.user).map((o) => o.user!)];
    d.who = [...new Set(users.map((u) => sidName.get(`${low(d.host)}|${low(u)}`) ?? u))];
  }
  // each finding's observations in time order, undated last (a stable sort: ties keep the order the sources gave);
  // first and last seen span every observation of a part of it, those attached above too (a Set-WmiInstance record
  // a few ms after the script block that named it), not the processes it ran or context without a part
  for (const d of drafts) {
    d.observations.sort((x, y) => compareTimes(x.time, y.time));
    const times = d.observations.filter((o) => o.part !== null && !isRun(o) && !isMofcompContext(o)).map((o) => o.time).filter((t): t is string => isCanonicalTime(t)).sort();
    if (times.length) [d.firstSeen, d.lastSeen] = [times[0]!, times[times.length - 1]!];
  }
  return drafts;
}

/**
 * Whether a process started at `time` falls within the subscription's lifetime as the evidence shows it: not before
 * it was made ({@link madeAt}, when known) and not after the earliest deletion logged after that. An undated start
 * cannot be placed, so it is never within.
 */
function during(d: Draft, time: string | null): boolean {
  const t = time === null ? null : isoKey(time);
  if (t === null) return false;
  const made = madeAt(d);
  if (made !== null && isoBefore(t, made)) return false;
  const gone = d.observations
    .filter((o) => o.action === 'deleted' && o.time && isoKey(o.time) !== null && (made === null || !isoBefore(o.time, made)))
    .map((o) => isoKey(o.time!)!)
    .sort(compareText)[0];
  return gone === undefined || !isoBefore(gone, t);
}

/** Longest template read as a pattern, and most %variables% in it (bounds the matching work on attacker text). */
const MAX_TEMPLATE = 4096;
const MAX_VARIABLES = 32;

/**
 * Whether a process's command line is one a command-line consumer runs. WMI starts the process with the
 * CommandLineTemplate, its `%Variable%` parts filled in from the event, as the whole command line: so the command line
 * must be the template, each variable standing for any text — anchored at both ends, the literal pieces in order,
 * each found once from left to right (linear, no backtracking). A consumer without a template runs its ExecutablePath
 * with no arguments: the image is that path and the command line is the path (or the program's name) alone. A start whose record carries no
 * command line is never matched (a `WmiPrvSE.exe` child of the same program may be anything WMI was asked to run,
 * e.g. `Win32_Process.Create`).
 */
function commandMatches(values: Record<string, WmiValue>, cmd: string, image: string): boolean {
  const text = low(cmd.trim());
  if (!text) return false;
  const tpl = typeof values['CommandLineTemplate'] === 'string' ? values['CommandLineTemplate'].trim() : '';
  if (tpl) {
    if (tpl.length > MAX_TEMPLATE) return false;
    const pieces = low(tpl).split(/%[A-Za-z_][\w.]*%/);
    if (pieces.length - 1 > MAX_VARIABLES || pieces.join('').replace(/\s+/g, '').length < 4) return false;
    if (pieces.length === 1) return text === pieces[0];
    const first = pieces[0]!;
    const last = pieces[pieces.length - 1]!;
    const end = text.length - last.length;
    if (!text.startsWith(first) || !text.endsWith(last) || end < first.length) return false;
    let at = first.length;
    for (const p of pieces.slice(1, -1)) {
      if (!p) continue;
      const i = text.indexOf(p, at);
      if (i < 0 || i + p.length > end) return false;
      at = i + p.length;
    }
    return true;
  }
  const exe = typeof values['ExecutablePath'] === 'string' ? low(values['ExecutablePath'].trim()) : '';
  const bare = (t: string): string => t.replace(/^"(.*)"$/, '$1');
  return exe.length > 3 && low(image) === exe && (bare(text) === exe || bare(text) === exe.slice(exe.lastIndexOf('\\') + 1));
}

/** Where a subscription's filter listens: its EventNamespace, or (when it has none) its own namespace; lower case. */
function eventNamespaceKey(d: Draft): string {
  const ens = d.filter?.values['EventNamespace'];
  const ns = typeof ens === 'string' && ens.trim() ? ens : (d.filter?.namespace ?? d.namespace ?? '');
  return namespaceKey(ns);
}

/** The sources a host's evidence holds and its event logs, for a subscription's coverage ("seen by / missed by"). */
export interface HostSources {
  /** Every event log channel of the host (see {@link LogCoverage}: span, ids, completeness). */
  logs: LogCoverage[];
  /** Kinds of evidence supplied for the host (a log with 0 records counts: it was collected). */
  supplied: SourceKind[];
  /** Every repository of the host was read without OBJECTS.DATA: it shows no object, so none is missing from it. */
  repositoryWithoutObjects?: boolean;
}

/** The source kind a log channel's coverage row stands for (Security is the process-creation log). */
export function logKind(s: LogCoverage['source']): SourceKind | null {
  return s === 'security' ? 'process' : s === 'other' ? null : s;
}

/** `a` strictly before `b`, for ISO-8601 times with any number of fractional digits; false when either is not one. */
export function isoBefore(a: string, b: string): boolean {
  const x = isoKey(a);
  const y = isoKey(b);
  return x !== null && y !== null && x < y;
}

/** A time in the model's one form (`model/time.ts`), which orders as text; null when it is not a time. */
function isoKey(t: string): string | null {
  const c = canonicalTime(t);
  return isCanonicalTime(c) ? c : null;
}

/**
 * When the subscription was made or changed, as far as the evidence tells: the earliest creation or modification
 * a source recorded, or a repository object's timestamp (its last write). Activations (5859/5861) and process
 * starts only show it existed later, so they do not count.
 */
/**
 * How long after a `mofcomp.exe` start a subscription's creation is shown beside it: 60 s. Compiling a MOF file and
 * putting its objects takes well under that (the put is logged when it happens: Sysmon 19-21, WMI-Activity 5861), and a
 * minute keeps an installer's MOF compiled minutes earlier from being shown.
 */
export const MOFCOMP_WINDOW_MS = 60_000;

/** The earliest logged creation (or modification) of any of the subscription's objects, in the model's time form. */
function createdAt(d: Draft): string | null {
  const times = d.observations
    .filter((o) => o.time && (o.action === 'created' || o.action === 'modified'))
    .map((o) => isoKey(o.time!))
    .filter((t): t is string => t !== null)
    .sort(compareText);
  return times[0] ?? null;
}

function madeAt(d: Draft): string | null {
  const times = d.observations
    .filter((o) => o.time && isoKey(o.time) !== null && (o.action === 'created' || o.action === 'modified' || o.source === 'cim' || o.source === 'cim-residue'))
    .map((o) => o.time!)
    .sort((a, b) => compareText(isoKey(a)!, isoKey(b)!));
  return times[0] ?? null;
}

/** Whether the subscription is bound, as far as the evidence shows. */
function bindingOf(d: Draft): SubscriptionShape['binding'] {
  if (d.status === 'orphan') return 'unbound';
  return d.binding !== null || d.observations.some((o) => o.part === 'binding') ? 'bound' : 'unknown';
}

/** Per logged source: what "not logged although the log covers that time" can add. */
const COVERED_WHY: Partial<Record<SourceKind, (logs: LogCoverage[]) => string>> = {
  sysmon: (logs) =>
    logs.some((l) => l.wmiEventIds.some((i) => i >= 19 && i <= 21))
      ? ': excluded by the configuration (check it with `wmiscope sysmon audit`), or Sysmon was not running then'
      : ': the log holds no WMI events (19/20/21) at all, so its configuration may not log them (check it with `wmiscope sysmon audit`), or Sysmon was not running then',
  'wmi-activity': (logs) => (logs.some((l) => l.wmiEventIds.includes(5861)) ? '' : ': the log holds no 5861 events (5861 exists only on Windows 10 / Server 2016 and later)'),
  powershell: () => ': made by other means than PowerShell, or script-block logging was off',
};

/** Why a logged source that was supplied and could see the subscription has no record of it: from its logs' spans and completeness. */
function notLogged(kind: SourceKind, d: Draft, shape: SubscriptionShape, logs: LogCoverage[]): string {
  const desc = sourceOf(kind);
  const noun = `the ${desc.evidence}`;
  const withRecords = logs.filter((l) => l.records > 0);
  if (!logs.length) return desc.missed;
  if (!withRecords.length) return logs.some((l) => l.recovered) ? `not observable in this evidence: ${noun} is known only from records carved from the slack of another log file` : `${noun} supplied holds no records (present, 0 records)`;
  if (desc.unbound === 'bound-only' && shape.binding === 'unknown') return `not observable in this evidence: ${desc.label} logs only bound subscriptions, and a binding of this one is not in the evidence`;
  const t = madeAt(d);
  if (!t) return `${desc.missed}; when it was made is not in the evidence, so whether ${noun} covers that time cannot be told`;
  const timed = withRecords.filter((l) => l.first && l.last && isoKey(l.first) && isoKey(l.last));
  if (!timed.length) return `not observable in this evidence: the records of ${noun} carry no times`;
  const inside = timed.filter((l) => !isoBefore(t, l.first!) && !isoBefore(l.last!, t));
  if (inside.some((l) => l.completeness === 'complete' || l.completeness === 'rolled-over')) return `not logged although ${noun} covers that time (${t})${COVERED_WHY[kind]?.(withRecords) ?? ''}`;
  const part = inside.find((l) => l.completeness === 'excerpt') ?? inside[0];
  if (part)
    return part.completeness === 'excerpt'
      ? `not observable in this evidence: ${noun} spans that time (${t}) but is an ${part.completenessWhy}: the record may be among those it leaves out`
      : `not observable in this evidence: ${noun} spans that time (${t}) but whether it holds every record of its span cannot be told (${part.completenessWhy})`;
  const oldest = timed.map((l) => l.first!).sort((a, b) => compareText(isoKey(a)!, isoKey(b)!))[0]!;
  const newest = timed.map((l) => l.last!).sort((a, b) => compareText(isoKey(b)!, isoKey(a)!))[0]!;
  if (isoBefore(t, oldest)) {
    const first = timed.find((l) => l.first === oldest)!;
    const lost = first.completeness === 'rolled-over' ? `; the log ${first.completenessWhy}` : '';
    return `it dates from ${t}; it predates the log (oldest record ${oldest})${lost}`;
  }
  if (isoBefore(newest, t)) return `it dates from ${t}; the log ends before it (last record ${newest})`;
  return `it dates from ${t}, between the spans of the ${desc.evidence}s supplied: none of them covers that time`;
}

/**
 * Coverage, the product's thesis: which sources saw the subscription, which could not, and why. Generated from
 * the source table (model/sources.ts): a source's design blindness (namespace, consumer class, unbound parts) is
 * said whether or not its evidence was supplied; a claim that a log missed it although it covers that time is
 * made only for a log that is complete or rolled over (contiguous records) and whose span holds that time.
 */
export function coverage(d: Draft, src: HostSources): CoverageEntry[] {
  const shape: SubscriptionShape = { namespace: d.namespace, consumerClass: d.consumer?.className ?? null, binding: bindingOf(d), hasConsumer: d.consumer !== null };
  const out: CoverageEntry[] = [];
  for (const kind of SOURCE_KINDS) {
    const desc = sourceOf(kind);
    if (desc.coverage === 'never') continue;
    const members = [kind, ...SOURCE_KINDS.filter((k) => sourceOf(k).partOf === kind)];
    const saw = d.observations.some((o) => members.includes(o.source));
    const supplied = members.some((k) => src.supplied.includes(k));
    const blind = blindByDesign(kind, shape);
    if (desc.coverage !== 'always' && !saw && !supplied && !blind) continue;
    let reason: string | null = null;
    if (saw) reason = null;
    else if (!supplied) reason = `no ${desc.evidence} supplied${blind ? `; ${wouldNot(kind)} anyway: ${blind}` : ''}`;
    else if (blind) reason = `${wouldNot(kind)}: ${blind}`;
    else if ((kind === 'cim' || kind === 'cim-residue') && src.repositoryWithoutObjects) reason = 'not observable in this evidence: the repository was read without OBJECTS.DATA (index keys only, no object)';
    else if (desc.state === 'logged') reason = notLogged(kind, d, shape, src.logs.filter((l) => logKind(l.source) === kind));
    else reason = desc.unbound === 'bound-only' && shape.binding === 'unknown' ? `${desc.missed}, or it is not bound: a binding of it is not observable in this evidence` : desc.missed;
    out.push({ source: coverageLabel(kind), saw, reason });
  }
  return out;
}
