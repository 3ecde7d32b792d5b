/**
 * The fields a user rule can test: each a path into the joined finding (after coverage and fleet stacking), with
 * the kind of its values and how to read them. A field may have several values (seenBy, who, reasons, …): a test
 * passes when any value does. A field with no value (no consumer, no fleet, no time) has none: only
 * `exists: false` passes then.
 *
 * Besides the fixed fields, `filter.<Property>`, `consumer.<Property>` and `binding.<Property>` read a WMI property
 * of that part by name, case-insensitively (`consumer.CommandLineTemplate`, `filter.Query`).
 */
import type { Finding, SourceKind, SubscriptionObject, WmiValue } from '../../model/types.js';
import { coverageLabel, SOURCE_KINDS } from '../../model/sources.js';
import { bindingTarget, consumerClassOf } from '../../model/subscription.js';
import { sidText } from '../decode.js';

/** A value a test compares. */
export type FieldValue = string | number | boolean;

/** What a field's values are: `text` (compared as text), `number`, `time` (ISO-8601 UTC), `boolean`, `any` (a WMI property: as the evidence gives it). */
export type FieldKind = 'text' | 'number' | 'time' | 'boolean' | 'any';

interface FieldDef {
  kind: FieldKind;
  /** For README and `rules list --format json`: what the field holds. */
  doc: string;
  read: (f: Finding) => Array<FieldValue | null | undefined>;
}

const one = <T>(v: T): T[] => [v];

const sourceByLabel = new Map<string, SourceKind>(SOURCE_KINDS.map((k) => [coverageLabel(k), k]));
/** A coverage entry's source as its kind (`sysmon`, `cim`, …); a label no kind has stays as written. */
const sourceKind = (label: string): string => sourceByLabel.get(label) ?? label;

const parts = (f: Finding): SubscriptionObject[] => [f.filter, f.consumer, f.binding].filter((p): p is SubscriptionObject => p !== null);

/** The fixed fields, by path. */
export const FIELDS: Readonly<Record<string, FieldDef>> = {
  id: { kind: 'text', doc: 'the finding id', read: (f) => one(f.id) },
  host: { kind: 'text', doc: 'the host', read: (f) => one(f.host) },
  namespace: { kind: 'text', doc: 'the subscription namespace (ROOT\\subscription)', read: (f) => one(f.namespace) },
  status: { kind: 'text', doc: 'active, deleted, residual, logged-only or orphan', read: (f) => one(f.status) },
  severity: { kind: 'text', doc: 'the severity so far (built-in rules, fleet, earlier user rules)', read: (f) => one(f.severity) },
  score: { kind: 'number', doc: 'the score so far', read: (f) => one(f.score) },
  summary: { kind: 'text', doc: 'what the consumer runs, in one line', read: (f) => one(f.summary) },
  decoded: { kind: 'text', doc: 'each decoded payload (base64 PowerShell, …)', read: (f) => f.decoded },
  reasons: { kind: 'text', doc: 'the ids of the reasons fired so far (built-in, WMI-STACK-*, sigma:<id> of --sigma hits, custom:<id> of earlier rules)', read: (f) => f.reasons.map((r) => r.id) },
  'filter.name': { kind: 'text', doc: "the filter's name", read: (f) => one(f.filter?.name) },
  'filter.namespace': { kind: 'text', doc: "the filter's namespace", read: (f) => one(f.filter?.namespace) },
  'filter.class': { kind: 'text', doc: "the filter's class (__EventFilter)", read: (f) => one(f.filter?.className) },
  'consumer.name': { kind: 'text', doc: "the consumer's name", read: (f) => one(f.consumer?.name) },
  'consumer.namespace': { kind: 'text', doc: "the consumer's namespace", read: (f) => one(f.consumer?.namespace) },
  'consumer.class': { kind: 'text', doc: "the consumer's class (CommandLineEventConsumer, a custom class, …), from the binding when the consumer is not in the evidence", read: (f) => one(consumerClassOf(f.consumer, f.binding)) },
  'binding.namespace': { kind: 'text', doc: "the binding's namespace", read: (f) => one(f.binding?.namespace) },
  'binding.filter': { kind: 'text', doc: 'the name of the filter the binding points at', read: (f) => one(bindingTarget(f.binding, 'Filter')?.name) },
  'binding.consumer': { kind: 'text', doc: 'the name of the consumer the binding points at', read: (f) => one(bindingTarget(f.binding, 'Consumer')?.name) },
  'creator.sid': { kind: 'text', doc: "each part's CreatorSID, as a SID (S-1-5-…)", read: (f) => parts(f).map((p) => sidText(propertyOf(p, 'CreatorSID'))) },
  who: { kind: 'text', doc: 'the accounts and SIDs the sources name as creator', read: (f) => f.who },
  seenBy: { kind: 'text', doc: 'the coverage sources that saw it: sysmon, wmi-activity, powershell, cim (repository residue included), collector, velociraptor, autoruns, wmi-trace', read: (f) => f.coverage.filter((c) => c.saw).map((c) => sourceKind(c.source)) },
  missedBy: { kind: 'text', doc: 'the coverage sources that did not see it (the finding says why: not supplied, not covered, …)', read: (f) => f.coverage.filter((c) => !c.saw).map((c) => sourceKind(c.source)) },
  firstSeen: { kind: 'time', doc: 'the earliest time in the evidence', read: (f) => one(f.firstSeen) },
  lastSeen: { kind: 'time', doc: 'the latest time in the evidence', read: (f) => one(f.lastSeen) },
  'runs.count': { kind: 'number', doc: 'the process starts it demonstrably ran (none when no record ties one to it)', read: (f) => one(f.runs?.count) },
  'fleet.hosts': { kind: 'number', doc: 'hosts of the scan with the same subscription (fleet scans only)', read: (f) => one(f.stack?.hosts) },
  'fleet.fleetHosts': { kind: 'number', doc: 'hosts in the fleet', read: (f) => one(f.stack?.fleetHosts) },
  'fleet.share': { kind: 'number', doc: 'fleet.hosts / fleet.fleetHosts (0 to 1)', read: (f) => one(f.stack && f.stack.fleetHosts > 0 ? f.stack.hosts / f.stack.fleetHosts : null) },
  'fleet.rare': { kind: 'boolean', doc: 'ranked rare in the fleet', read: (f) => one(f.stack?.rare) },
  'fleet.common': { kind: 'boolean', doc: 'ranked common in the fleet', read: (f) => one(f.stack?.common) },
};

/** `filter.<Property>`, `consumer.<Property>`, `binding.<Property>`: a WMI property of that part. */
const PROPERTY_FIELD = /^(filter|consumer|binding)\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** A WMI property by name, case-insensitively. */
function propertyOf(o: SubscriptionObject, name: string): WmiValue | undefined {
  if (name in o.values) return o.values[name];
  const k = Object.keys(o.values).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : o.values[k];
}

/** The kind of a field's values, or null when the path names no field. */
export function fieldKind(path: string): FieldKind | null {
  if (Object.hasOwn(FIELDS, path)) return FIELDS[path]!.kind;
  return PROPERTY_FIELD.test(path) ? 'any' : null;
}

/** The values of a field of a finding: empty text and absent values left out. */
export function fieldValues(f: Finding, path: string): FieldValue[] {
  let raw: Array<FieldValue | null | undefined>;
  if (Object.hasOwn(FIELDS, path)) raw = FIELDS[path]!.read(f);
  else {
    const m = PROPERTY_FIELD.exec(path);
    const part = m ? f[m[1] as 'filter' | 'consumer' | 'binding'] : null;
    raw = part ? [m![2]!.toLowerCase() === 'name' ? (part.name ?? propertyOf(part, 'Name')) : propertyOf(part, m![2]!)] : [];
  }
  return raw.filter((v): v is FieldValue => v !== null && v !== undefined && v !== '');
}
