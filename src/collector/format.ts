/**
 * The document `wmiscope collector powershell` writes: one JSON object per host with every WMI permanent
 * event subscription object of every namespace. Described for people in docs/collector.md and as a JSON
 * Schema in schema/collector.schema.json; these types mirror that schema. Imports nothing.
 */

/**
 * The `format` marker of the current document version. Readers accept `wmiscope-collector/1` and `/1.x`: a minor
 * version only adds fields, so a version-1 reader reads any of them and an older document lacks the newer fields.
 * 1.1 added `host.languageMode`.
 */
export const COLLECTOR_FORMAT = 'wmiscope-collector/1.1';

/** Major version of {@link COLLECTOR_FORMAT}: a reader refuses documents of any other major version. */
export const COLLECTOR_FORMAT_MAJOR = 1;

/** Version of the collector script itself (in `collector.version`). */
export const COLLECTOR_VERSION = '1.1.0';

/** `wmiscope-collector/<major>[.<minor>]` → the major version, or null when the text is not such a marker. */
export function collectorFormatMajor(format: unknown): number | null {
  if (typeof format !== 'string') return null;
  const m = /^wmiscope-collector\/(\d{1,6})(?:\.\d{1,6})?$/.exec(format);
  return m ? Number(m[1]) : null;
}

/** What a query in one namespace returned: `timer` = `__TimerInstruction` subclasses. */
export type CollectorKind = 'filter' | 'consumer' | 'binding' | 'timer';

export type CollectorScalar = string | number | boolean | null;

/**
 * A reference property (a binding's `Filter` and `Consumer`): the class, the namespace the reference names
 * (null when it names none), its key properties and the object path WMI shows, e.g.
 * `__EventFilter.Name="SCM Event Log Filter"`. `class`/`keys` are null when only the path is known.
 */
export interface CollectorReference {
  class: string | null;
  namespace: string | null;
  keys: Record<string, CollectorScalar> | null;
  path: string;
}

/** An embedded object (CIM type `Instance`). */
export interface CollectorEmbedded {
  class: string;
  properties: Record<string, CollectorValue>;
  types: Record<string, string>;
}

/**
 * A property value. Which shape an object value has is told by the property's CIM type in `types`
 * (`Reference` / `ReferenceArray` vs `Instance` / `InstanceArray`). 64-bit integers are decimal strings;
 * datetimes are ISO-8601 UTC strings, intervals ISO-8601 durations.
 */
export type CollectorValue = CollectorScalar | CollectorReference | CollectorEmbedded | CollectorValue[];

export interface CollectorObject {
  /** The namespace the object was read from, as walked: `ROOT\subscription`, `ROOT\cimv2\x`. */
  namespace: string;
  kind: CollectorKind;
  /** The object's own class (`__CLASS`): `CommandLineEventConsumer`, a custom consumer class, … */
  class: string;
  /** Superclasses, nearest first (like WMI's `__DERIVATION`); null when the class could not be read. */
  derivation: string[] | null;
  /** `CreatorSID` as a SID string (`S-1-5-32-544`), when the object has a well-formed one. */
  creatorSid: string | null;
  /** Every property of the instance, null ones included, by name. */
  properties: Record<string, CollectorValue>;
  /** The CIM type name of each property (`String`, `UInt8Array`, `Reference`, `DateTime`, …). */
  types: Record<string, string>;
}

/** A query that failed in a namespace. */
export interface CollectorError {
  /** The class queried (`__NAMESPACE`, `__EventFilter`, …), or `<class> instance` for one object that did not convert. */
  query: string;
  message: string;
  /** PowerShell error category (`PermissionDenied`, `InvalidArgument`, …). */
  category: string | null;
  /** PowerShell's fully qualified error id. */
  errorId: string | null;
  /** The WMI / MI native error code when there is one (`AccessDenied`, `InvalidNamespace`, …). */
  code: string | null;
}

export interface CollectorNamespace {
  name: string;
  /** Child namespaces listed (`__NAMESPACE` instances); all of them were walked unless `truncated`. */
  children: number;
  counts: { filters: number; consumers: number; bindings: number; timers: number };
  /** Empty when every query worked. */
  errors: CollectorError[];
}

export interface CollectorDocument {
  format: string;
  collector: { name: string; version: string; api: string; includeTimers: boolean; maxNamespaces: number };
  host: {
    /** `$env:COMPUTERNAME`. */
    computerName: string;
    /** DNS host name plus domain (`pc04.example.corp`), or the DNS host name alone off a domain. */
    fqdn: string | null;
    domain: string | null;
    os: { caption: string | null; version: string | null; build: string | null };
    powershell: { version: string | null; edition: string | null };
    /** Whether the collector ran with administrator rights (null when unknown). */
    elevated: boolean | null;
    /** Account the collector ran as (`DOMAIN\user`). */
    user: string | null;
    /**
     * PowerShell's language mode the script ran in (`FullLanguage`, `ConstrainedLanguage`, …; format 1.1 on, absent
     * before). Outside FullLanguage `elevated` is null (it cannot be asked) and `fqdn` comes from Win32_ComputerSystem.
     */
    languageMode?: string | null;
  };
  /** When the walk started / ended (ISO-8601 UTC). */
  collectedAt: string;
  completedAt: string;
  /** True when the walk stopped at `collector.maxNamespaces`. */
  truncated: boolean;
  namespaces: CollectorNamespace[];
  objects: CollectorObject[];
}
