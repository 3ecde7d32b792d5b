/**
 * What the HTML report's page script reads from the page's JSON island: written by `htmlData` (../html.ts),
 * read by the page (./page/). Types only.
 */
import type { Finding, HiddenFindings, ScanResult, Severity } from '../../model/types.js';
import type { AllowPlan } from './allow.js';

export interface HtmlData {
  format: 'wmiscope-html-report';
  /** Hash of the scan's identity: tool version, scan time, hosts, evidence and finding ids. */
  reportId: string;
  tool: ScanResult['tool'];
  scannedAt: string;
  hosts: string[];
  /** Hosts known by more than one name, and why the names were linked. */
  hostAliases: NonNullable<ScanResult['hostAliases']>;
  evidence: ScanResult['evidence'];
  notes: ScanResult['notes'];
  /** Selected (minSeverity) and ranked like every other format. */
  findings: Finding[];
  /** The exact allowlist entry the page writes for each finding (same order as `findings`). */
  allow: AllowPlan[];
  /** What each finding's binding points at (same order as `findings`): the names its Filter and Consumer references hold. */
  targets: Array<{ filter: string | null; consumer: string | null }>;
  fleet: ScanResult['fleet'] | null;
  /** The Sigma part of the scan (`--sigma`): what was loaded and the hits on records of no finding; null without rules. */
  sigma: ScanResult['sigma'] | null;
  /** Per host: what its evidence holds and cannot show (the same as `wmiscope coverage`). */
  coverage: NonNullable<ScanResult['coverage']>;
  minSeverity: Severity | null;
  /** Findings the narrowing left out of the page (0 when none). */
  hidden: number;
  /** What the narrowing hid and why, when one was asked for. */
  hiddenDetail: HiddenFindings | null;
  severities: readonly Severity[];
}
