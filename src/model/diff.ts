/**
 * The shape of a comparison of two scan results (`wmiscope diff`, schema/diff.schema.json): built by
 * `analysis/diff.ts`, written by `report/diff.ts`. Imports only the model.
 */
import type { Finding, Severity } from './types.js';

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
  /** The finding's id in its result (NEW's for new and changed, OLD's for gone). */
  id: string;
  namespace: string | null;
  className: string | null;
  name: string | null;
  status: Finding['status'];
  severity: Severity;
  payloadHash: string;
  summary: string;
  /** The allow-list entry or user rule that quieted it in its scan, null when none. */
  allowlisted: string | null;
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

export interface DiffHost {
  /** The host as NEW names it (as OLD does when NEW does not have it). */
  host: string;
  /** Its name in OLD when OLD spells it differently (another case, or an alias NEW linked). */
  oldName?: string;
  inOld: boolean;
  inNew: boolean;
  new: DiffEntry[];
  /** In OLD, not in NEW, and NEW has evidence for the host. */
  gone: DiffEntry[];
  changed: DiffChanged[];
  unchanged: number;
  /** OLD's subscriptions on a host NEW did not scan (not in NEW's `hosts`): nothing is said about them. */
  notScannedInNew: DiffEntry[];
}

export interface ScanDiff {
  old: DiffScan;
  new: DiffScan;
  hosts: DiffHost[];
  totals: { new: number; gone: number; changed: number; unchanged: number; notScannedInNew: number };
  /** What limits the comparison, in words (a narrowed scan). */
  caveats: string[];
}
