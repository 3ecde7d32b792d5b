/**
 * Reading a subscription's parts, shared by the analysis (allowlist matching, rules) and the reports (the HTML
 * report's known-good entries): the properties that decide what a filter or consumer does, what a binding points
 * at, a consumer's class. Object paths and the consumer-class table are the model's WMI vocabulary (wmi.ts).
 */
import type { SubscriptionObject } from './types.js';
import { consumerClassFacts, parseObjectRef } from './wmi.js';

/** The filter properties that decide what a filter does (compared exactly by the allowlist). */
export const FILTER_KEY_PROPERTIES = ['Name', 'Query', 'QueryLanguage', 'EventNamespace'] as const;

/** Properties of every consumer that say nothing about what it does. */
export const CONSUMER_BOOKKEEPING = ['CreatorSID', 'MachineName', 'MaximumQueueSize', 'InsertionStringTemplates', 'NumberOfInsertionStrings'];

/**
 * What a binding points at. Repository, collector and Velociraptor bindings hold object paths
 * (`Filter: __EventFilter.Name="x"`, usually with `FilterName`, `ConsumerName` and `ConsumerClass` beside
 * them); Sysmon 21 and WMI-Activity 5861 hold bare names (`Filter: x`, `Consumer: y`) with `ConsumerClass`
 * beside them. A bare name is a name, never a class.
 */
export function bindingTarget(binding: SubscriptionObject | null | undefined, part: 'Filter' | 'Consumer'): { className: string | null; name: string | null } | null {
  if (!binding) return null;
  const get = (key: string): unknown => {
    if (key in binding.values) return binding.values[key];
    const k = Object.keys(binding.values).find((x) => x.toLowerCase() === key.toLowerCase());
    return k === undefined ? undefined : binding.values[k];
  };
  const raw = get(part);
  const ref = typeof raw === 'string' ? parseObjectRef(raw) : null;
  const path = ref && ref.name !== null ? ref : null;
  const bare = !path && typeof raw === 'string' && raw.trim() !== '' ? raw : null;
  const name = strOf(get(`${part}Name`)) ?? path?.name ?? bare;
  const className = (part === 'Consumer' ? strOf(get('ConsumerClass')) : null) ?? path?.className ?? null;
  return name === null && className === null ? null : { className, name };
}

/** The consumer's class: as known, else from the binding, else from the properties it has. */
export function consumerClassOf(consumer: SubscriptionObject | null, binding: SubscriptionObject | null, chain?: string[]): string | null {
  if (consumer?.className) return consumer.className;
  if (chain && chain.length > 0) return chain[chain.length - 1]!;
  const ref = bindingTarget(binding, 'Consumer');
  if (ref?.className) return ref.className;
  const v = consumer?.values ?? {};
  if (v['CommandLineTemplate'] || v['ExecutablePath']) return 'CommandLineEventConsumer';
  if (v['ScriptText'] || v['ScriptFileName']) return 'ActiveScriptEventConsumer';
  if (v['Filename'] && v['Text'] !== undefined) return 'LogFileEventConsumer';
  if (v['SourceName']) return 'NTEventLogEventConsumer';
  if (v['SMTPServer']) return 'SMTPEventConsumer';
  return null;
}


/**
 * The key properties of a consumer of class `cls` that has the values `values`: for a standard class its
 * table entry's, for any other class every property except {@link CONSUMER_BOOKKEEPING}.
 */
export function consumerKeyProperties(cls: string, values: Record<string, unknown>): string[] {
  const std = consumerClassFacts(cls)?.keyProperties;
  if (std) return [...std];
  return ['Name', ...Object.keys(values).filter((k) => k !== 'Name' && !k.startsWith('__') && !CONSUMER_BOOKKEEPING.includes(k))];
}


export function strOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  return String(v);
}

