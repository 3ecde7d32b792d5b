/**
 * The scan's data model: observations (one fact from one source), subscriptions (filter + consumer + binding
 * joined by host, namespace, class and name) and findings (a subscription with its verdict). Imports nothing.
 * The JSON form of a finding is described by `schema/finding.schema.json`.
 */

export type Part = 'filter' | 'consumer' | 'binding';

/**
 * What kind of evidence an observation came from. Event sources (`sysmon`, `wmi-activity`, `powershell`,
 * `process`) are the same whether read from EVTX or from an export. Live state at collection time:
 * `cim` (repository), `collector` (`wmiscope collector powershell` output), `velociraptor`
 * (Windows.Persistence.PermanentWMIEvents rows), `autoruns` (autorunsc WMI rows). `wmi-trace` = WMI-Activity
 * ETW operations (Velociraptor Windows.ETW.WMIEventing: who created or deleted what, with the process).
 */
export type SourceKind = 'sysmon' | 'wmi-activity' | 'powershell' | 'process' | 'cim' | 'cim-residue' | 'collector' | 'velociraptor' | 'autoruns' | 'wmi-trace';

/* What each source kind can see (namespaces, consumer classes, unbound parts, live or logged): `model/sources.ts`. */

/** What the source says happened. `present` = the object exists in the repository; `residual` = carved residue. */
export type Action = 'created' | 'modified' | 'deleted' | 'present' | 'residual' | 'activated' | 'executed' | 'mentioned';

/** The host of evidence that names no machine and lies in no host collection (everything such is shown under it). */
export const UNKNOWN_HOST = 'unknown';

/** One fact from one piece of evidence. */
export interface Observation {
  host: string;
  source: SourceKind;
  action: Action;
  part: Part | null;
  /** Canonical namespace (`ROOT\subscription`), null when the source does not say. */
  namespace: string | null;
  /** Class of the object: `__EventFilter`, `CommandLineEventConsumer`, custom consumer classes, … */
  className: string | null;
  /** Name key of the filter or consumer; for bindings the filter and consumer references are the `Filter` and `Consumer` properties. */
  name: string | null;
  /** ISO-8601 UTC with seven fractional digits (`model/time.ts`) when known. */
  time: string | null;
  /** User / creator (SID or account), when the source gives one. */
  user: string | null;
  /** Evidence file and where in it (record id, offset, key). */
  file: string;
  location: string;
  /**
   * WMI property values of the object as the source gives them, under their WMI property names (Name, Query,
   * EventNamespace, CommandLineTemplate, ScriptText, Filter, Consumer, CreatorSID, …) and nothing else: these
   * become the subscription's values, its payload hash and its allowlist entry.
   */
  properties: Record<string, WmiValue>;
  /**
   * What the source says about the record or row, not about the object: event id, Sysmon Operation/RuleName/Type,
   * PowerShell technique and text, process and client details, MOF text, tool columns, … Never read as a property.
   */
  meta: Record<string, WmiValue>;
}

/** One value of an observation's properties or meta: scalars, arrays joined with `, `, objects as JSON text. */
export type WmiValue = string | number | boolean | null;

export type Status = 'active' | 'deleted' | 'residual' | 'logged-only' | 'orphan';
/** Every severity, worst first: the one order findings are ranked, filtered (`--min-severity`, `--fail-on`) and counted in. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A reason a rule gives for its verdict. */
export interface Reason {
  id: string;
  title: string;
  attack: string[];
  /** The evidence that fired the rule (text quoted from the subscription). */
  evidence: string;
  score: number;
}

/** One side of the coverage question: which sources saw a subscription, which could not, and why. */
export interface CoverageEntry {
  source: string;
  saw: boolean;
  /** Why it did not see it (namespace not covered, consumer type not logged, not supplied, …). */
  reason: string | null;
}

export interface SubscriptionObject {
  namespace: string | null;
  className: string | null;
  name: string | null;
  /** Latest known WMI property values (from the repository when present, else from logs); never source bookkeeping. */
  values: Record<string, WmiValue>;
}

/**
 * A subscription assembled from observations by the graph, before any verdict: what the rules and the
 * allowlist judge. Declared here, owned by neither the graph that builds it nor the rules that read it.
 */
export interface JoinedSubscription {
  host: string;
  namespace: string | null;
  status: Status;
  filter: SubscriptionObject | null;
  consumer: SubscriptionObject | null;
  binding: SubscriptionObject | null;
  observations: Observation[];
  /** Consumer class chain when known from the repository, e.g. ['__SystemClass','__IndicationRelated','__EventConsumer','TotallyLegitConsumer'] */
  consumerChain?: string[];
}

/** A finding: one subscription on one host, scored and explained. */
export interface Finding {
  id: string;
  host: string;
  namespace: string | null;
  status: Status;
  severity: Severity;
  score: number;
  filter: SubscriptionObject | null;
  consumer: SubscriptionObject | null;
  binding: SubscriptionObject | null;
  /** What the consumer runs, in one line (command line, script head, log file, …). */
  summary: string;
  reasons: Reason[];
  /** Decoded payloads (e.g. `-enc` base64 PowerShell). */
  decoded: string[];
  /** In time order, earliest first; observations without a time last, in the order the sources gave them. */
  observations: Observation[];
  firstSeen: string | null;
  lastSeen: string | null;
  who: string[];
  /**
   * The allow-list entry that matched, or the user rule that suppressed the finding (`--rules`: `by` is the rules
   * file, `entry` the reason id `custom:<id>`, `justification` the rule's required reason for it); null when none.
   * Either way the finding keeps its reasons and gets score 0 and severity info.
   */
  allowlisted: Allowlisted | null;
  coverage: CoverageEntry[];
  /**
   * The process starts the subscription demonstrably ran (Sysmon 1 / Security 4688 records, Velociraptor process rows,
   * WMI-Activity 5857 loads of scrcons.exe, tied to it: `scrcons.exe` for a script consumer, a `WmiPrvSE.exe` child matching a command-line consumer, within its lifetime). Present
   * only when at least one such record exists: its absence never means the subscription did not run.
   */
  runs?: Runs;
  /** How many hosts of the scan have the same subscription (present when the scan covered more than one host). */
  stack?: StackInfo;
  /** Severity bounds user rules set (`--rules`, effect `severity`), in the order the rules matched; absent when none did. */
  severityBounds?: SeverityBound[];
}

/** Why a finding is quiet: an allow-list entry, or a user rule's suppression (with its justification). */
export interface Allowlisted {
  /** The allow-list (`default` or the user's file name) or the rules file. */
  by: string;
  /** The entry's id, or the suppressing rule's reason id (`custom:<id>`). */
  entry: string;
  /** A suppression by a user rule: why the rule's author holds the finding to be benign (always given). */
  justification?: string;
}

/** A bound a rule puts on a finding's severity (`min`: at least this bad; `max`: at most), and which rule set it. */
export interface SeverityBound {
  rule: string;
  min?: Severity;
  max?: Severity;
}

/** The process starts tied to a subscription: "ran N times between first and last". */
export interface Runs {
  /** Distinct process starts: the records of one start seen by several logs count once (model/runs.ts). */
  count: number;
  /** Earliest and latest process start (ISO-8601 UTC), null when no record carries a time. */
  first: string | null;
  last: string | null;
  /** One per process record, in time order. */
  records: ProcessRun[];
}

/** One process start a subscription ran. */
export interface ProcessRun {
  file: string;
  /** The record's EventRecordID, null when its location cites none. */
  recordId: string | null;
  /** Where the record or row is in its file, as every observation says it (`record 16116 (header #9, …)`, `line 2`). */
  location: string;
  time: string | null;
  image: string | null;
  commandLine: string | null;
  user: string | null;
  /** The parent process image. */
  parent: string | null;
  /**
   * Where {@link parent} comes from when the record names only the parent's process id (Security 4688 versions 0/1):
   * the earlier start of that process id in the same log (its location); null when the record names the parent.
   */
  parentFrom: string | null;
  /** The new process's id as logged; null when the record has none. */
  processId: number | null;
  /** What the record is: `Sysmon 1`, `Security 4688`, `WMI-Activity 5857` (the script host loaded as provider), … */
  kind: string;
  /** Which run (1 … count) the record shows: records of one start seen by several logs share it. */
  run: number;
}

/** A finding's place in the fleet. */
export interface StackInfo {
  /** `namespace|class|name|payloadHash`, lower case. */
  key: string;
  /** Hash of what the subscription does: the consumer's payload properties for its class (a filter alone: its query). */
  payloadHash: string;
  /** Distinct hosts with this subscription. */
  hosts: number;
  /** Hosts in the scan. */
  fleetHosts: number;
  /** On at most 5 % (at least one host) of a fleet of 10 or more hosts (ranked up). */
  rare: boolean;
  /** On more than half of a fleet of 10 or more hosts (marked, not allow-listed). */
  common: boolean;
}

/** One subscription counted across the fleet. */
export interface FleetStack {
  key: string;
  namespace: string | null;
  className: string | null;
  name: string | null;
  payloadHash: string;
  summary: string;
  /** Worst severity among its findings. */
  severity: Severity;
  hosts: string[];
  count: number;
  common: boolean;
  rare: boolean;
}

export interface FleetSummary {
  /** Distinct hosts in the scan. */
  hosts: number;
  /** Below this many hosts nothing is marked rare or common. */
  minHostsForRanking: number;
  /** Rarest first. */
  stacks: FleetStack[];
  /** One line per host: its findings, the worst severity, how many are rare in the fleet. Worst first. */
  perHost: Array<{ host: string; findings: number; worst: Severity | null; rare: number; allowlisted: number }>;
}

/**
 * What a note is about, one stable code per kind of problem (the message says the particulars):
 * - `not-evidence`: skipped, not a format wmiscope reads;
 * - `empty-file`: a 0-byte file;
 * - `unreadable`: an I/O error, a folder too deep to walk; a collector document's namespace it could not read, or
 *   its run without administrator rights (kinds `namespace-error`, `not-elevated`): what it lists may be incomplete;
 * - `damaged`: damage inside a file that was still read (EVTX reader warnings, bad export lines, elements, rows
 *   or CSV records, repository warnings, a truncated gzip stream);
 * - `over-limit`: recognised but not read, or read in part, because of a bound (size, inflation ratio, nesting,
 *   member count, total bytes) or because it cannot be read as stored (encrypted, unsupported compression);
 * - `failed`: reading stopped (the reader threw, a worker failed or timed out, the file is not what it claims);
 * - `host-unknown`: the evidence names no machine;
 * - `assumption`: values read under an assumption (a time without a zone taken as UTC, a namespace left
 *   unknown, a sparse upload not expanded, a host not taken from unreadable metadata);
 * - `ignored`: rows or records of no interest to WMI left out;
 * - `link`: a symbolic link met in a folder (a file read through it, a folder not followed, a loop or a dangling
 *   link), or a file reached a second way and read once.
 */
export const NOTE_CODES = ['not-evidence', 'empty-file', 'unreadable', 'damaged', 'over-limit', 'failed', 'host-unknown', 'assumption', 'ignored', 'link'] as const;
export type NoteCode = (typeof NOTE_CODES)[number];

/** Notes a reader asks for (`-v`): files skipped as not evidence and symbolic links met; the others are always shown. */
export const VERBOSE_NOTE_CODES: ReadonlySet<NoteCode> = new Set<NoteCode>(['not-evidence', 'link']);

/**
 * A problem with a piece of evidence: unreadable, damaged, skipped. Repeats are aggregated: at most a few notes
 * per file, code and kind, then one note counting the rest.
 */
export interface EvidenceNote {
  file: string;
  level: 'warning' | 'skipped' | 'error';
  code: NoteCode;
  /** A finer sub-code where the reader has one (the EVTX reader's `chunk-crc`, the repository reader's codes). */
  kind?: string;
  message: string;
}

/** What was read, per file. */
export interface EvidenceItem {
  file: string;
  /**
   * `evtx` log file; `cim` repository; `export` event export (JSON/JSONL/ECS/nxlog/XML); `velociraptor`
   * artifact result rows; `autoruns` autorunsc CSV; `collector` `wmiscope collector powershell` output.
   */
  kind: 'evtx' | 'cim' | 'export' | 'velociraptor' | 'autoruns' | 'collector';
  host: string;
  /** EVTX: channel(s) and record counts; CIM: repository folder. */
  detail: string;
  /** The sources of live state this item is (a repository, a collector document, Velociraptor rows of each artifact, Autoruns), for coverage. */
  sources?: SourceKind[];
  /**
   * Present (true) when this live listing is not the host's whole WMI state (a collector document run without
   * administrator rights or not known to have them, with a namespace read with errors, a damaged object or a walk cut
   * short): what it lacks may still exist, so `diff` calls nothing gone through it.
   */
  partial?: true;
  records: number;
  first: string | null;
  last: string | null;
}

/* What the sources layer hands to the analysis for coverage. */

/** What one log (or export) holds for one host: its channels and event ids, and per channel the record span (for coverage). */
export interface LogSummary {
  host: string;
  channels: string[];
  eventIds: number[];
  /** The evidence file and how it was read. */
  file?: string;
  kind?: EvidenceItem['kind'];
  /** EVTX: the file header's "log full" flag. */
  full?: boolean;
  perChannel?: ChannelSummary[];
}

/**
 * One channel of one log file (or export) for one host: what its records show about the log's completeness.
 * Record ids are `System/EventRecordID` (which exports keep), never the EVTX record-header number (which exported
 * and filtered logs renumber 1..N). Times are the events' own `TimeCreated`. Records carved from slack count in
 * `recovered` only: they bound no span and no id range.
 */
export interface ChannelSummary {
  /** The channel; for a log with no records, the channel its file name gives (see `channelFrom`). */
  channel: string;
  /** `records`: the channel came from the records; `file-name`: the log holds no record, so its file name is all that names it. */
  channelFrom?: 'records' | 'file-name';
  /** Allocated (not carved) records. */
  records: number;
  first: string | null;
  last: string | null;
  eventIds: number[];
  /** Lowest and highest EventRecordID of the allocated records; null when none had one. */
  oldestRecordId: number | null;
  newestRecordId: number | null;
  /**
   * Distinct EventRecordIDs among the allocated records (null when not counted: too many records to keep, or no
   * ids). With `oldestRecordId`/`newestRecordId` it tells whether ids are missing inside the range (a filtered export).
   */
  distinctRecordIds?: number | null;
  /**
   * EVTX only: true when record-header numbers differ from EventRecordIDs (the file was exported or filtered and
   * renumbered), false when they agree for every record; undefined for other formats.
   */
  renumbered?: boolean;
  /** Records carved from slack (not duplicates of allocated records) that named this channel. */
  recovered?: number;
  /**
   * When the file's records of this channel name more than one computer (a rename the evidence does not link, or
   * `--no-host-merge`): the whole channel of the file, so completeness is judged on the log, not on one name's part.
   */
  log?: { names: number; records: number; oldestRecordId: number | null; newestRecordId: number | null; distinctRecordIds: number | null };
}

/** A repository read for a host: its file, the time span of its subscription objects, its files' last-write times. */
export interface RepositorySummary {
  host: string;
  file: string;
  objectsFirst: string | null;
  objectsLast: string | null;
  /** Present (true) when OBJECTS.DATA was missing: the index gave keys only, and no object could be read. */
  withoutObjects?: true;
  /** File name → last-modified time (ISO), for repositories read from disk. */
  files: Array<{ name: string; modified: string }>;
}

/**
 * How much of a log a file holds, from its EventRecordID range, gaps and header: `complete` (ids contiguous from #1),
 * `rolled-over` (a native log whose earlier records are gone: the header marks it full, or its ids run contiguously
 * from #N > 1), `excerpt` (an exported or filtered copy: renumbered record headers, or ids missing inside its range),
 * `unknown` (no ids, no records, or an export whose ids start after #1 without a gap: it cannot be told).
 */
export type LogCompleteness = 'complete' | 'rolled-over' | 'excerpt' | 'unknown';

/** One event log channel of one host, from one evidence file (EVTX, export or Velociraptor rows). */
export interface LogCoverage {
  /** What the channel is for WMI coverage. */
  source: 'sysmon' | 'wmi-activity' | 'powershell' | 'security' | 'other';
  channel: string;
  /** `file-name`: the log holds no record, so its channel is taken from its file name. */
  channelFrom?: 'records' | 'file-name';
  file: string;
  format: EvidenceItem['kind'];
  /** Allocated records (0: the log was collected and is empty). */
  records: number;
  /** First and last record time (the events' own times, ISO-8601 UTC); records carved from slack are not counted. */
  first: string | null;
  last: string | null;
  /** Event ids present that matter for WMI (19-21, 5857-5861, 800/4103/4104, 4688, 1). */
  wmiEventIds: number[];
  /** Lowest and highest EventRecordID. */
  oldestRecordId: number | null;
  newestRecordId: number | null;
  completeness: LogCompleteness;
  /** In words: "complete since #1", "rolled over (oldest #1742)", "excerpt or filtered export (…)", … */
  completenessWhy: string;
  /** Records carved from slack for this channel (they bound no span). */
  recovered?: number;
}

/** One WMI repository of one host. */
export interface RepositoryCoverage {
  file: string;
  /** Oldest and newest timestamp of its subscription objects. */
  objectsFirst: string | null;
  objectsLast: string | null;
  /** Last-write times of its files (on disk only): the newest is when the repository was last written. */
  filesModifiedFirst: string | null;
  filesModifiedLast: string | null;
  /** Present (true) when OBJECTS.DATA was missing (a collection that skipped it for its size): it can show no object. */
  withoutObjects?: true;
}

/** What a host's evidence can and cannot show about WMI subscriptions. */
export interface HostCoverage {
  host: string;
  sysmon: { present: boolean; wmiEventIds: number[] };
  wmiActivity: { present: boolean; ids: number[] };
  powershell: { present: boolean; ids: number[] };
  /** Process creation: Security 4688 or Sysmon 1. */
  processCreation: { security4688: boolean; sysmon1: boolean };
  logs: LogCoverage[];
  repositories: RepositoryCoverage[];
  /** Live-state sources: collector, Velociraptor, Autoruns, WMI-Activity trace. */
  /** `partial`: the listing is not the host's whole state (see {@link EvidenceItem.partial}). */
  live: Array<{ source: 'collector' | 'velociraptor' | 'autoruns' | 'wmi-trace'; file: string; partial?: true }>;
  /** Event exports read for this host (JSON/XML/ECS/nxlog). */
  exports: string[];
  /** What this evidence cannot show, in words. */
  blindSpots: string[];
}

/** A host the evidence knows by several names: the name shown, the others, and why each is the same machine. */
export interface HostAliases {
  host: string;
  aliases: Array<{ name: string; why: string }>;
}

export interface ScanResult {
  tool: { name: 'wmiscope'; version: string };
  scannedAt: string;
  hosts: string[];
  /** Hosts known by more than one name, and why the names were linked. */
  hostAliases?: HostAliases[];
  evidence: EvidenceItem[];
  /** What the folder walk handed to the readers: files (each once; not the empty ones, links met again or lone repository files) and repository folders, with their size on disk. */
  read?: InputTotals;
  notes: EvidenceNote[];
  findings: Finding[];
  /** Stacking across hosts, when the scan covered more than one host. */
  fleet?: FleetSummary;
  /** Per host: which telemetry the evidence holds, its time span, roll-over, and the blind spots. */
  coverage?: HostCoverage[];
  /** Written by a report narrowed by `--min-severity`, `--since`/`--until` or `--only-host`: what the narrowing hid. */
  hidden?: HiddenFindings;
  /** Present when Sigma rules were given (`--sigma`): what was loaded, and the event hits tied to no finding. */
  sigma?: SigmaScan;
  /**
   * Present when the scan was given a baseline (`scan --baseline OLD.json`, `scan(paths, { baseline })`): this
   * scan compared with it, per host ({@link ScanDiff}, OLD = the baseline, NEW = this scan). It changes no finding
   * and no exit code; a narrowed report narrows it too (`narrowedOut` counts what it hid).
   */
  changes?: ScanDiff;
}

/** A Sigma rule as a hit names it. */
export interface SigmaRuleRef {
  id: string;
  title: string;
  level: string;
  /** ATT&CK technique ids from its `attack.tNNNN` tags. */
  attack: string[];
  /** The rule's `author` as written, null when it has none (SigmaHQ's licence, DRL 1.1, asks that hits keep it). */
  author: string | null;
  /** The rule file, as given. */
  file: string;
}

/** A Sigma rule that matched one event record of the evidence (as Hayabusa and Chainsaw evaluate rules). */
export interface SigmaEventHit {
  rule: SigmaRuleRef;
  host: string;
  /** Evidence file and where in it, as observations cite records (`record 16116 (header #9, offset …)`). */
  file: string;
  location: string;
  time: string | null;
  channel: string | null;
  eventId: number | null;
  /** The field values that made the rule match (each bounded). */
  matched: Array<{ field: string; value: string }>;
}

/** The Sigma part of a scan. */
export interface SigmaScan {
  /** Rule files read, rules loaded, rules of a log source wmiscope does not read (counted), rules refused (each with why). */
  files: number;
  loaded: number;
  notApplicable: { count: number; byLogsource: Record<string, number> };
  notLoaded: Array<{ file: string; id: string | null; title: string | null; why: string }>;
  /** Hits on event records (a record two rules match is two hits), tied to a finding or not; past the per-file limit only a note counts them. */
  eventHits: number;
  /** The hits on records that are part of no finding (a finding shows its own as `sigma:<id>` reasons), in evidence order, at most {@link SIGMA_EVENT_HITS_LISTED}. */
  events: SigmaEventHit[];
  /** Hits on records of no finding beyond the listed ones (counted, not listed). */
  eventsNotListed: number;
  /** Written by a report narrowed by `--only-host`, `--since`/`--until` or `--min-severity`: listed hits it left out. */
  eventsNarrowedOut?: number;
  /**
   * Findings whose synthesized views were not matched: the views' time budget (half the per-file budget,
   * `--file-timeout`) ran out first. Their reasons from logged records are there; a rule that would fire only through
   * a view is not observable for them. Absent when every finding's views were matched.
   */
  viewsNotMatched?: number;
}

/** At most this many Sigma event hits tied to no finding are listed in a result (the rest are counted). */
export const SIGMA_EVENT_HITS_LISTED = 5000;

/** What a scan gave its readers (see {@link ScanResult.read}). */
export interface InputTotals {
  files: number;
  repositories: number;
  /** Bytes on disk: the files, plus the files directly in each repository folder. */
  bytes: number;
}

/** What a report's narrowing left out of `findings`. Each hidden finding is counted once, under the first rule that hid it (host, then time, then severity). */
export interface HiddenFindings {
  /** The narrowing that was asked for (times as ISO-8601 UTC). */
  narrowedBy: { minSeverity?: Severity; since?: string; until?: string; onlyHost?: string[] };
  total: number;
  /** The hidden findings by their severity. */
  bySeverity: Record<Severity, number>;
  /** Hidden because their host (and its other names) matched no `onlyHost` pattern. */
  otherHosts: number;
  /** Hidden because none of their times falls in [since, until]. */
  outsideWindow: number;
  /** Hidden because they are below `minSeverity`. */
  belowMinSeverity: number;
  /** Ids of findings kept by a time window although they carry no time at all. */
  undated: string[];
}

/* Change over time: two scan results compared (`wmiscope diff`, `scan --baseline`; schema/diff.schema.json). Built
 * by `analysis/diff.ts`, written by `report/diff.ts`. */

/** One side of a compared scan: which tool made it and when. */
export interface DiffScan {
  tool: string;
  version: string;
  scannedAt: string;
  hosts: number;
  findings: number;
  /** The scan was narrowed (`--min-severity`, `--only-host`, `--since`/`--until`): what it hid cannot be compared. */
  narrowed: boolean;
}

/** A subscription as the diff lists it. */
export interface DiffEntry {
  /** The finding's id in its result (NEW's for new, changed and rescored, OLD's for gone). */
  id: string;
  namespace: string | null;
  className: string | null;
  name: string | null;
  status: Status;
  severity: Severity;
  score: number;
  payloadHash: string;
  summary: string;
  /** The finding's first and last activity in its result (what `--since`/`--until` read of a gone one). */
  firstSeen: string | null;
  lastSeen: string | null;
  /** `by: entry` of the allow-list entry or user rule that quieted it in its scan, or of the `diff -a` list that matches it; null when none. */
  allowlisted: string | null;
  /** `diff`: the entry comes from an allowlist given to `wmiscope diff -a` (its scan did not allow-list it). */
  allowlistedBy?: 'diff';
}

/** One property that differs between OLD and NEW of a changed subscription. */
export interface DiffChange {
  /** `class` (the consumer class), `query` (the filter's WQL), or the consumer property (CommandLineTemplate, ScriptText, …). */
  what: string;
  old: string | null;
  new: string | null;
}

export interface DiffChanged {
  old: DiffEntry;
  new: DiffEntry;
  changes: DiffChange[];
}

/** The same subscription with the same payload, judged otherwise: another severity or score (new rules, another version). */
export interface DiffRescored {
  old: DiffEntry;
  new: DiffEntry;
  /** Reason ids NEW gives and OLD did not, and the other way round (sorted). */
  reasonsAdded: string[];
  reasonsRemoved: string[];
}

export interface DiffHost {
  /** The host as NEW names it (as OLD does when NEW does not have it). */
  host: string;
  /** Its name in OLD when OLD spells it differently (another case, or an alias NEW linked). */
  oldName?: string;
  inOld: boolean;
  inNew: boolean;
  new: DiffEntry[];
  /** In OLD, not in NEW, and NEW's evidence for the host could have shown it (see {@link DiffHost.notShownInNew}). */
  gone: DiffEntry[];
  changed: DiffChanged[];
  /** Same identity and payload, another severity or score. */
  rescored: DiffRescored[];
  unchanged: number;
  /** OLD's subscriptions on a host NEW did not scan (not in NEW's `hosts`): nothing is said about them. */
  notScannedInNew: DiffEntry[];
  /**
   * OLD's subscriptions not in NEW on a host NEW scanned, where NEW's evidence for the host could not have shown them:
   * none of the sources that saw them in OLD, and no live listing that lists their namespace and class (a PowerShell
   * log in OLD, only a Sysmon log in NEW). Not called gone: nothing is said about them.
   */
  notShownInNew: DiffEntry[];
}

export interface ScanDiff {
  old: DiffScan;
  new: DiffScan;
  hosts: DiffHost[];
  totals: { new: number; gone: number; changed: number; rescored: number; unchanged: number; notScannedInNew: number; notShownInNew: number };
  /** What limits the comparison, in words (a narrowed scan). */
  caveats: string[];
  /** The allowlists `wmiscope diff -a` judged allow-listing with besides the verdicts in the results (their names). */
  allowlists?: string[];
  /** Listed changes a report's narrowing (`--only-host`, `--since`/`--until`, `--min-severity`) left out; absent when none was asked for. */
  narrowedOut?: number;
}
