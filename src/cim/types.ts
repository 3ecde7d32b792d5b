/**
 * Public types of the WMI/CIM repository reader (`wmiscope/cim`). Zero runtime dependencies.
 */

/** A problem found in the repository. Data problems are warnings with a location; reading goes on. */
export interface CimWarning {
  code: CimWarningCode;
  message: string;
  /** File the problem is in. */
  file?: string;
  /** Byte offset in that file, when known. */
  offset?: number;
  /** Logical page, when known. */
  page?: number;
}

export type CimWarningCode =
  | 'mapping'
  | 'mapping-history'
  | 'index-page'
  | 'index-cycle'
  | 'object-page'
  | 'object-record'
  | 'class-definition'
  | 'instance'
  | 'namespace'
  | 'value';

/** Which on-disk format: 2.1 = Windows XP/2003 (`Repository\FS`, MD5 keys), 2.2 = Vista and later (SHA-256 keys). */
export type CimFormatVersion = '2.1' | '2.2';

/**
 * A decoded CIM value. Arrays are JS arrays; booleans are booleans; 64-bit integers beyond 2^53 are decimal
 * strings; an embedded object (CIM type `object`) is `{ embeddedObject }`: its MS-WMIO encoding, base64.
 */
export type CimValue = string | number | boolean | null | CimValue[] | { embeddedObject: string };

/** How a property got its value. */
export type CimValueSource = 'set' | 'default' | 'null';

export interface CimProperty {
  name: string;
  /** CIM type name, e.g. `string`, `uint32`, `boolean[]`, `reference`, `datetime`. */
  type: string;
  value: CimValue;
  source: CimValueSource;
}

export interface CimLocation {
  /** Logical OBJECTS.DATA page of the record's start. */
  page: number;
  recordId: number;
  size: number;
  /** The index key the record was found by. */
  key: string;
}

export interface CimNamespace {
  /** Full path, e.g. `ROOT\subscription`; null when only the hash is known. */
  name: string | null;
  /** Upper-hex hash of the uppercased name, as in `NS_` keys. */
  hash: string;
  /** How the name was found: the root itself, the `__NAMESPACE` walk, a guess of a common leaf, the system pseudo-namespace, or not at all. */
  namedBy: 'root' | 'walk' | 'guess' | 'system' | null;
  classes: number;
  instances: number;
}

export interface CimQualifier {
  name: string;
  value: CimValue;
}

export interface CimPropertyDefinition {
  name: string;
  type: string;
  /** Slot index in the full layout (including inherited properties). */
  index: number;
  /** Class that introduced it. */
  definedBy: string;
  qualifiers: CimQualifier[];
  isKey: boolean;
  /** Default value, null when the class gives none. */
  default: CimValue;
}

export interface CimClass {
  namespace: string | null;
  namespaceHash: string;
  name: string;
  superclass: string | null;
  /** From the root class down to this class. */
  chain: string[];
  /** Class definition timestamp (ISO-8601, 7 fractional digits). */
  timestamp: string;
  qualifiers: CimQualifier[];
  /** Every property of the full layout, in slot order. */
  properties: CimPropertyDefinition[];
  location: CimLocation;
}

export interface CimInstance {
  namespace: string | null;
  namespaceHash: string;
  className: string;
  /** From the root class down to the instance's class (empty when the class definition is missing). */
  classChain: string[];
  properties: CimProperty[];
  /** The two record timestamps (ISO-8601); their meaning is undocumented (python-cim calls them timestamp1/2). */
  timestamp1: string;
  timestamp2: string;
  location: CimLocation;
}

export type SubscriptionKind = 'filter' | 'consumer' | 'binding';

export interface CimSubscriptionObject extends CimInstance {
  kind: SubscriptionKind;
  /** Property values by name, for convenience. */
  values: Record<string, CimValue>;
  /** Owner SID rendered from `CreatorSID`, when present and well-formed. */
  creatorSid: string | null;
}

export interface CimBinding extends CimSubscriptionObject {
  kind: 'binding';
  /** The filter and consumer the binding's references resolve to (null when not found). */
  filter: CimSubscriptionObject | null;
  consumer: CimSubscriptionObject | null;
}

export interface CimSubscriptions {
  filters: CimSubscriptionObject[];
  consumers: CimSubscriptionObject[];
  bindings: CimBinding[];
}

/** Where residue was found. */
export type CimResidueSource =
  /** an OBJECTS.DATA page no current mapping entry points to */
  | 'unmapped-page'
  /** bytes of a mapped page outside every record its table of contents lists */
  | 'page-slack'
  /** a record listed in a page's table of contents that no index key points to */
  | 'unreferenced-record'
  /** a key in an INDEX.BTR page the current B-tree no longer reaches */
  | 'stale-key';

/**
 * How a residual object relates to the live repository (its key: namespace when the residue names one, class,
 * and the key properties — `Name` for filters and consumers, `Filter` + `Consumer` for bindings):
 * - `copy-of-live`: a live object has the same key and the same values (an old page version, a stale index key
 *   of a record the live object still uses): not a deletion;
 * - `older-version-of-live`: a live object has the same key and other values (the object was modified since),
 *   or — for a key whose record is gone — the same key only: history of a live object, not a deletion;
 * - `no-live-object`: nothing live has that key: the object was deleted.
 */
export type CimResidueRelation = 'copy-of-live' | 'older-version-of-live' | 'no-live-object';

/** A live object a residual object is a copy or an older version of. */
export interface CimResidueLiveLink {
  /** The live object's index key (its `location.key`). */
  key: string;
  namespace: string | null;
  namespaceHash: string;
  className: string;
  /** The residual record's bytes equal the live record's bytes (timestamps included). */
  identicalBytes: boolean;
}

/** One place a residual object was found. */
export interface CimResidueProvenance {
  source: CimResidueSource;
  file: 'OBJECTS.DATA' | 'INDEX.BTR';
  /** Byte offset in that file (for stale keys: of the INDEX.BTR page holding the key). */
  offset: number;
  /** Logical OBJECTS.DATA page in the current map, when mapped. */
  logicalPage: number | null;
  /** For stale keys: the key text. */
  key?: string;
  /**
   * For stale keys: the mapping file that still maps the record the key names (the current one or an older
   * MAPPINGn.MAP), with the record's OBJECTS.DATA offset and its logical page in that mapping; null when no
   * mapping file holds it (the record is gone).
   */
  record?: { mapping: string; offset: number; logicalPage: number } | null;
}

/**
 * A subscription object (or a trace of one) that the live repository does not list at this place: deleted,
 * overwritten, or an old copy of a live object, carved from residue. Values are decoded with the live class layout.
 */
export interface CimResidualObject {
  kind: SubscriptionKind;
  className: string;
  /** Known from a stale key's `NS_` part (also when the key is linked to a carved record); carved records alone do not name their namespace. */
  namespace: string | null;
  namespaceHash: string | null;
  /** Decoded values (empty when the record could not be decoded). */
  values: Record<string, CimValue>;
  properties: CimProperty[];
  creatorSid: string | null;
  timestamp1: string | null;
  timestamp2: string | null;
  /** Where it was found first (the carved record when a stale key is linked to it); every place is in `provenance`. */
  source: CimResidueSource;
  file: 'OBJECTS.DATA' | 'INDEX.BTR';
  /** Byte offset in that file. */
  offset: number;
  /** Logical OBJECTS.DATA page in the current map, when mapped. */
  logicalPage: number | null;
  /** For stale keys: the key text. */
  key?: string;
  /** Every place this object was found: a carved record and the stale index key naming it are one object. */
  provenance: CimResidueProvenance[];
  /** high: the record decodes fully with plausible timestamps; medium: decodes with problems; low: a trace only. */
  confidence: 'high' | 'medium' | 'low';
  /** Whether a live object explains it (only `no-live-object` is a deletion). */
  relation: CimResidueRelation;
  /** The live objects with the same key: for copies those with the same values, for older versions all of them. */
  live: CimResidueLiveLink[];
  /** For older versions: the properties whose values differ from the (first) live object's; null when the old values are not known. */
  changed: string[] | null;
  notes: string[];
}

/** A key of an older state: in an INDEX.BTR page the live B-tree does not reach, and not in the live index. */
export interface CimStaleKey {
  key: string;
  /** Byte offset in INDEX.BTR of the page holding it. */
  offset: number;
  /** The record location a data-bearing key carries (`.page.id.size`), else null. */
  location: { page: number; recordId: number; size: number } | null;
  /**
   * The first mapping file (the current one, then the older ones, newest first) whose objects map still holds a
   * record of that id and size on that logical page: the record's OBJECTS.DATA offset; `live` when a live key
   * points to the same record. Null when no mapping file holds it (or the key carries no location).
   */
  record: { mapping: string; offset: number; logicalPage: number; live: boolean } | null;
}
