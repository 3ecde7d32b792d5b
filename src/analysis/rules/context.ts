/**
 * The pieces of a subscription the rules read, computed once per subscription: consumer class and chain, payload
 * texts (decoded and undecoded), trigger query, namespace and its kind, part names, creators with their account
 * names, creation times, runs, status and the allow-list verdicts. Checks only read it.
 */
import type { JoinedSubscription, Observation, SubscriptionObject } from '../../model/types.js';
import { allowlistNames, DEFAULT_ALLOWLIST, matchAllowlists } from '../allowlist.js';
import type { Allowlist } from '../allowlist.js';
import { decodePayloads, sidText, undecodedCommands } from '../decode.js';
import type { DecodedPayload, UndecodedCommand } from '../decode.js';
import { consumerClassFacts } from '../../model/wmi.js';
import { parseIsoTime } from '../../model/time.js';
import { runsOf } from '../../model/runs.js';
import type { Runs } from '../../model/types.js';
import { sidAccountNames } from '../../model/subscription.js';
import { consumerClassOf, customConsumerProperties, namespaceKind, partNames, strOf } from '../known-good.js';
import type { NamespaceKind } from '../known-good.js';

/** A labelled text the consumer would run (a property, or a decoded payload). */
export interface LabelledText {
  label: string;
  text: string;
}

export type PartName = 'filter' | 'consumer' | 'binding';

export interface RuleContext {
  observations: readonly Observation[];
  status: JoinedSubscription['status'];
  filter: SubscriptionObject | null;
  consumer: SubscriptionObject | null;
  binding: SubscriptionObject | null;
  /** The consumer's class (from the consumer, the binding's reference or the class chain). */
  consumerClass: string | null;
  /** `consumerClass` in lower case, '' when unknown. */
  consumerClassLow: string;
  consumerChain: readonly string[] | undefined;
  /** Command line / script / other payload text of the consumer, labelled. */
  payloads: LabelledText[];
  /** The script text of an ActiveScript consumer. */
  script: string | null;
  decoded: DecodedPayload[];
  /** Encoded-command arguments that do not decode (only read when none decodes). */
  undecoded: UndecodedCommand[];
  /** Payload texts plus decoded texts, for the rules that look at everything the consumer would run. */
  everything: LabelledText[];
  /** The filter's WQL query. */
  query: string | null;
  namespace: string | null;
  namespaceKind: NamespaceKind | null;
  names: { filter: string | null; consumer: string | null };
  /** Who created or modified a part (SIDs and account names, each once), with the account name a SID is paired with. */
  creators: Array<{ principal: string; account: string | null }>;
  /** The earliest logged creation of each part, quoted as the evidence gave it. */
  createdAt: Partial<Record<PartName, { ms: number; time: string }>>;
  runs: Runs | null;
  /** The allow-list entry (built-in or loaded) this subscription matches. */
  allowlisted: { by: string; entry: string } | null;
  /** Matched by an allowlist entry, or by the built-in one even when that is switched off. */
  matchesKnownEntry: boolean;
  /** Names with an allowlist entry, built-in or loaded, in lower case. */
  namesWithEntry: string[];
  /** Loaded allowlists' names (imitation of these counts like imitation of the built-in known-good names). */
  loadedNames: string[];
}

/** A string value, `null` when missing or empty. */
export function str(v: unknown): string | null {
  const s = strOf(v);
  return s === null || s === '' ? null : s;
}

/**
 * What the consumer would run, labelled. For a class other than the five standard ones every string property
 * counts; when the evidence gives none (a consumer known only from the PowerShell that created it), the text of
 * that PowerShell (its records' meta) is read instead, so the payload arguments written there are still checked.
 */
function payloadTexts(cls: string | null, consumer: SubscriptionObject | null, observations: readonly Observation[]): LabelledText[] {
  if (!consumer) return [];
  const v = consumer.values;
  const out: LabelledText[] = [];
  const add = (prop: string): void => {
    const t = str(v[prop]);
    if (t) out.push({ label: prop, text: t });
  };
  // a standard class: the properties its table entry names (NTEventLog and SMTP: none, they run nothing)
  const facts = consumerClassFacts(cls);
  if (facts) facts.scannedProperties.forEach(add);
  else {
    for (const k of customConsumerProperties(v)) {
      const val = v[k];
      if (typeof val === 'string' && val !== '') out.push({ label: k, text: val });
    }
    if (out.length === 0)
      for (const o of observations) {
        const text = o.meta['text'];
        if (o.source === 'powershell' && o.part === 'consumer' && typeof text === 'string' && text !== '') out.push({ label: `PowerShell ${String(o.meta['technique'] ?? '')} text`.replace(/\s+/g, ' '), text });
      }
  }
  // A source that could not map a logged destination to a property leaves it under its log name.
  if (out.length === 0) add('Destination');
  return out;
}

/** Who created or modified a part: CreatorSID values and the users of creating records, each once. */
function creatorsOf(input: JoinedSubscription): RuleContext['creators'] {
  const creators = new Set<string>();
  for (const part of [input.filter, input.consumer, input.binding]) {
    const sid = sidText(strOf(part?.values['CreatorSID']));
    if (sid) creators.add(sid);
  }
  for (const o of input.observations) if (o.user && (o.action === 'created' || o.action === 'modified') && o.part !== null) creators.add(o.user);
  // a SID its PowerShell records pair with an account name is that account
  const named = sidAccountNames(input.observations);
  return [...creators].map((principal) => ({ principal, account: named.get(`${input.host.toLowerCase()}|${principal.toLowerCase()}`) ?? null }));
}

/** The earliest creation of each part, quoted as the evidence gave it (the model's times are already in one form). */
function createdAtOf(observations: readonly Observation[]): RuleContext['createdAt'] {
  const createdAt: RuleContext['createdAt'] = {};
  for (const o of observations) {
    if (!o.part || !o.time || o.action !== 'created') continue;
    // a time the model kept as text is no instant (Date.parse would read it in the machine's zone)
    const ms = parseIsoTime(o.time);
    if (ms === null) continue;
    const cur = createdAt[o.part];
    if (cur === undefined || ms < cur.ms) createdAt[o.part] = { ms, time: o.time };
  }
  return createdAt;
}

/** Compute what the rules read, once. */
export function ruleContext(input: JoinedSubscription, allowlists: Allowlist[]): RuleContext {
  const { filter, consumer, binding } = input;
  const cls = consumerClassOf(consumer, binding, input.consumerChain);
  const payloads = payloadTexts(cls, consumer, input.observations);
  const decoded = payloads.flatMap((p) => decodePayloads(p.text));
  const undecoded = decoded.length ? [] : payloads.flatMap((p) => undecodedCommands(p.text));
  const isScript = (cls ?? '').toLowerCase() === 'activescripteventconsumer';
  const script = isScript ? str(consumer?.values['ScriptText']) ?? str(consumer?.values['Destination']) : null;
  const everything = [...payloads, ...decoded.map((d, i) => ({ label: `decoded payload ${i + 1}`, text: d.text }))];
  const allowlisted = matchAllowlists(input, allowlists);
  return {
    observations: input.observations,
    status: input.status,
    filter,
    consumer,
    binding,
    consumerClass: cls,
    consumerClassLow: (cls ?? '').toLowerCase(),
    consumerChain: input.consumerChain,
    payloads,
    script,
    decoded,
    undecoded,
    everything,
    query: str(filter?.values['Query']),
    namespace: input.namespace,
    namespaceKind: input.namespace ? namespaceKind(input.namespace) : null,
    names: partNames(filter, consumer, binding),
    creators: creatorsOf(input),
    createdAt: createdAtOf(input.observations),
    runs: runsOf(input.observations),
    allowlisted,
    // Names with an allowlist entry (built-in or loaded) can be checked for reuse with other content; the
    // other known-good names (no exact values published) only for imitation.
    matchesKnownEntry: allowlisted !== null || matchAllowlists(input, [DEFAULT_ALLOWLIST]) !== null,
    namesWithEntry: allowlistNames([DEFAULT_ALLOWLIST, ...allowlists]).map((n) => n.toLowerCase()),
    loadedNames: allowlistNames(allowlists),
  };
}
