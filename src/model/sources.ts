/**
 * The source descriptor table: what each kind of evidence can see of WMI subscriptions. Per-finding coverage
 * ("seen by / missed by") with its source labels, host blind spots, the status rules that depend on whether a
 * source lists unbound parts, and the stacking denominator are all generated from this one table. Adding a source
 * kind to {@link SourceKind} fails to compile until it has an entry here.
 *
 * Facts (shared reference `wmi-tradecraft.md`): Sysmon 19/20/21 log only `root\subscription` and only CommandLine
 * and ActiveScript consumers; WMI-Activity 5861 logs permanent bindings in every namespace (Windows 10 / Server
 * 2016 and later) and 5859 filter activations; Velociraptor's Windows.Persistence.PermanentWMIEvents walks the
 * first-level children of ROOT (by default only root/subscription and root/default) and lists subscriptions
 * through their bindings; Autoruns reads root\subscription and root\default and lists consumers only.
 * Imports only the model (its types, and the consumer-class table and namespace form of model/wmi.ts).
 */
import type { SourceKind } from './types.js';
import { consumerClassFacts, namespaceKey } from './wmi.js';

/**
 * Which namespaces a source can see: `all`; `subscription` = root\subscription only; `subscription-default` =
 * root\subscription and root\default; `root-children` = first-level children of ROOT (not ROOT itself, not deeper);
 * `none` = it shows no subscription objects at all.
 */
export type NamespaceScope = 'all' | 'subscription' | 'subscription-default' | 'root-children' | 'none';

/**
 * Which consumer classes a source can see: `all`; `commandline-activescript` = the classes Sysmon logs (those with
 * a `sysmonType` in the consumer-class table, model/wmi.ts: CommandLine and ActiveScript); `none`.
 */
export type ConsumerScope = 'all' | 'commandline-activescript' | 'none';

/**
 * Whether a source shows parts that have no binding: `state` = it lists every filter, consumer and binding (the
 * absence of a binding there proves the part is unbound); `each-part` = it logs each part's operation (a missing
 * binding record proves nothing); `bound-only` = it shows only bound subscriptions (bindings and what they join);
 * `consumers-only` = it lists consumers without their filters or bindings (bound or not is unknown); `none`.
 */
export type UnboundListing = 'state' | 'each-part' | 'bound-only' | 'consumers-only' | 'none';

export interface SourceDescriptor {
  /** The source's name, spelled this one way in coverage, blind spots and reports. */
  label: string;
  /** What of the source counts (event ids, artifact), shown after the label in coverage: `Sysmon (19/20/21)`. */
  what: string | null;
  /** `live`: what existed when the evidence was collected; `logged`: operations recorded as they happened. */
  state: 'live' | 'logged';
  namespaces: NamespaceScope;
  /** With its default settings, when narrower than {@link namespaces} (Velociraptor's `Namespaces` parameter). */
  defaultNamespaces?: NamespaceScope;
  consumers: ConsumerScope;
  unbound: UnboundListing;
  /** Its evidence can show a subscription (counts a host in the stacking denominator). */
  showsSubscriptions: boolean;
  /** Whether a finding's coverage lists it: `always`, `supplied-or-blind` (when supplied, or when it could never see it), `never`. */
  coverage: 'always' | 'supplied-or-blind' | 'never';
  /** Coverage of another kind this one is part of (repository residue is part of the repository). */
  partOf?: SourceKind;
  /** The evidence, as in "no Sysmon log supplied". */
  evidence: string;
  /** What it does with a subscription: "log" (Sysmon would not log this), "list". */
  verb: string;
  /** Why it did not show a subscription it could have shown, when nothing more precise is known. */
  missed: string;
  /** Host blind spot when the host has none of this evidence. */
  absent: string | null;
  /** Host blind spot when the host has it: what it can never see. */
  limits: string | null;
}

export const SOURCES = {
  sysmon: {
    label: 'Sysmon',
    what: '19/20/21',
    state: 'logged',
    namespaces: 'subscription',
    consumers: 'commandline-activescript',
    unbound: 'each-part',
    showsSubscriptions: true,
    coverage: 'always',
    evidence: 'Sysmon log',
    verb: 'log',
    missed: 'not in the Sysmon log',
    absent: 'No Sysmon log: no record (19/20/21) of subscriptions being created, modified or deleted in root\\subscription.',
    limits: 'Sysmon sees only root\\subscription and only CommandLine and ActiveScript consumers: subscriptions in other namespaces or with other consumer classes are never in its log.',
  },
  'wmi-activity': {
    label: 'WMI-Activity',
    what: '5857-5861',
    state: 'logged',
    namespaces: 'all',
    consumers: 'all',
    // 5861 is written for a binding, 5859 when a bound filter is activated: an unbound part is never in it
    unbound: 'bound-only',
    showsSubscriptions: true,
    coverage: 'always',
    evidence: 'WMI-Activity/Operational log',
    verb: 'log',
    missed: 'not in the WMI-Activity log',
    absent: 'No WMI-Activity/Operational log: no 5861 (permanent binding, every namespace) or 5859 (filter activation) records.',
    limits: 'WMI-Activity logs bindings (5861, Windows 10 / Server 2016 and later) and filter activations (5859), not filters or consumers on their own: an unbound filter or consumer is never in its log.',
  },
  powershell: {
    label: 'PowerShell',
    what: '800/4103/4104',
    state: 'logged',
    namespaces: 'all',
    consumers: 'all',
    unbound: 'each-part',
    showsSubscriptions: false,
    coverage: 'always',
    evidence: 'PowerShell log',
    verb: 'log',
    missed: 'no PowerShell record of its creation (made by other means, or not logged)',
    absent: 'No PowerShell log: subscriptions made from PowerShell (Set-WmiInstance, New-CimInstance, Register-WmiEvent) leave no script-block record here.',
    limits: null,
  },
  process: {
    label: 'Process creation',
    what: 'Security 4688 / Sysmon 1',
    state: 'logged',
    namespaces: 'none',
    consumers: 'none',
    unbound: 'none',
    showsSubscriptions: false,
    coverage: 'never',
    evidence: 'process-creation log',
    verb: 'log',
    missed: 'no process-creation record',
    absent: 'No process-creation records (Security 4688 or Sysmon 1): what a consumer ran (children of WmiPrvSE.exe or scrcons.exe) cannot be seen.',
    limits: null,
  },
  cim: {
    label: 'WMI repository',
    what: null,
    state: 'live',
    namespaces: 'all',
    consumers: 'all',
    unbound: 'state',
    showsSubscriptions: true,
    coverage: 'always',
    evidence: 'repository',
    verb: 'hold',
    missed: 'not in the repository (deleted and overwritten, or the repository is from another time)',
    absent: null,
    limits: null,
  },
  'cim-residue': {
    label: 'WMI repository residue',
    what: null,
    state: 'logged',
    namespaces: 'all',
    consumers: 'all',
    unbound: 'each-part',
    showsSubscriptions: false,
    coverage: 'never',
    partOf: 'cim',
    evidence: 'repository',
    verb: 'hold',
    missed: 'not in the repository residue',
    absent: null,
    limits: null,
  },
  collector: {
    label: 'wmiscope collector',
    what: 'live WMI query',
    state: 'live',
    namespaces: 'all',
    consumers: 'all',
    unbound: 'state',
    showsSubscriptions: true,
    coverage: 'supplied-or-blind',
    evidence: 'collector document',
    verb: 'list',
    missed: 'not in the collector document: not on the live host when the collector ran (deleted before collection), or in a namespace or hidden from an account the collector could not read with (an error, or a run without administrator rights: see the notes)',
    absent: null,
    limits: null,
  },
  velociraptor: {
    label: 'Velociraptor PermanentWMIEvents',
    what: null,
    state: 'live',
    namespaces: 'root-children',
    defaultNamespaces: 'subscription-default',
    consumers: 'all',
    unbound: 'bound-only',
    showsSubscriptions: true,
    coverage: 'supplied-or-blind',
    evidence: 'Velociraptor PermanentWMIEvents rows',
    verb: 'list',
    missed: 'not listed (deleted before the collection ran)',
    absent: null,
    limits: null,
  },
  autoruns: {
    label: 'Autoruns',
    what: 'WMI entries',
    state: 'live',
    namespaces: 'subscription-default',
    consumers: 'all',
    unbound: 'consumers-only',
    showsSubscriptions: true,
    coverage: 'supplied-or-blind',
    evidence: 'Autoruns output',
    verb: 'list',
    missed: 'not listed (deleted before Autoruns ran)',
    absent: null,
    limits: null,
  },
  'wmi-trace': {
    label: 'WMI-Activity trace',
    what: 'ETW',
    state: 'logged',
    namespaces: 'all',
    consumers: 'all',
    unbound: 'each-part',
    showsSubscriptions: true,
    coverage: 'supplied-or-blind',
    evidence: 'WMI-Activity trace',
    verb: 'trace',
    missed: 'no create or delete traced (made before the trace session started, or the session missed it)',
    absent: null,
    limits: null,
  },
} as const satisfies Record<SourceKind, SourceDescriptor>;

/** Every source kind, in the order coverage lists them. */
export const SOURCE_KINDS = Object.keys(SOURCES) as SourceKind[];

/** The descriptor of a kind (typed as the interface, for code that reads optional fields). */
export function sourceOf(kind: SourceKind): SourceDescriptor {
  return SOURCES[kind];
}

/** `Sysmon (19/20/21)`, `WMI repository`: the label with what of the source counts. */
export function coverageLabel(kind: SourceKind): string {
  const d = sourceOf(kind);
  return d.what ? `${d.label} (${d.what})` : d.label;
}

/** Sources that show what existed at collection time. */
export const LIVE_KINDS: readonly SourceKind[] = SOURCE_KINDS.filter((k) => SOURCES[k].state === 'live');

const NS_WORDS: Record<NamespaceScope, string> = {
  all: 'every namespace',
  subscription: 'only root\\subscription',
  'subscription-default': 'only root\\subscription and root\\default',
  'root-children': 'only first-level namespaces of ROOT (not ROOT itself, not deeper)',
  none: 'no namespace',
};

/** Why a namespace scope cannot see `namespace` (null when it can, or when the namespace is not known). */
function namespaceBlind(scope: NamespaceScope, namespace: string | null, watches: string): string | null {
  if (scope === 'all' || namespace === null || !namespace.trim()) return null;
  const ns = namespaceKey(namespace);
  const parts = ns.split('\\').filter(Boolean);
  const inside =
    scope === 'subscription' ? ns === 'root\\subscription'
    : scope === 'subscription-default' ? ns === 'root\\subscription' || ns === 'root\\default'
    : scope === 'root-children' ? parts.length === 2 && parts[0] === 'root'
    : false;
  return inside ? null : `it ${watches} ${NS_WORDS[scope]}; this is ${namespace}`;
}

/** What a subscription is, as far as the evidence tells, for {@link blindByDesign}. */
export interface SubscriptionShape {
  namespace: string | null;
  consumerClass: string | null;
  /** `unbound`: a whole-state source shows it has no binding; `bound`; `unknown`. */
  binding: 'bound' | 'unbound' | 'unknown';
  /** False when the subscription has no consumer in the evidence (a filter alone); default true. */
  hasConsumer?: boolean;
}

/**
 * Why this source could never see this subscription, whatever evidence was supplied (its namespace, its consumer
 * class, no binding), in words; null when nothing in its design keeps it from seeing it.
 */
export function blindByDesign(kind: SourceKind, s: SubscriptionShape): string | null {
  const d = sourceOf(kind);
  const watches = d.state === 'live' ? 'queries' : 'watches';
  const why: string[] = [];
  const ns = namespaceBlind(d.namespaces, s.namespace, watches);
  if (ns) why.push(ns);
  else if (d.defaultNamespaces) {
    if (namespaceBlind(d.defaultNamespaces, s.namespace, watches)) why.push(`by default it ${watches} ${NS_WORDS[d.defaultNamespaces]} (other first-level namespaces only when told to); this is ${s.namespace}`);
  }
  if (d.consumers === 'commandline-activescript' && s.consumerClass && !consumerClassFacts(s.consumerClass)?.sysmonType)
    why.push(`it ${d.verb}s only CommandLine and ActiveScript consumers; this is ${s.consumerClass}`);
  if (s.binding === 'unbound' && d.unbound === 'bound-only') why.push(`it ${d.verb}s only bound subscriptions; this has no binding`);
  if (s.hasConsumer === false && d.unbound === 'consumers-only') why.push(`it ${d.verb}s only consumers; this is a filter without one`);
  return why.length ? why.join('; ') : null;
}

/** "Sysmon would not log this", "Velociraptor PermanentWMIEvents would not list this". */
export function wouldNot(kind: SourceKind): string {
  const d = sourceOf(kind);
  return `${d.label} would not ${d.verb} this`;
}
