/**
 * Sigma hits as reasons. A rule that matched an event record which is part of a finding (a Sysmon 20 of its consumer,
 * the 4104 that created it, a process start it ran) gives that finding a reason `sigma:<rule id>`, citing the record;
 * beyond what Hayabusa and Chainsaw do, every finding is also matched through the records a fully-logging Sysmon and
 * WMI-Activity would have written for it (sigma-views.ts), so a rule written for Sysmon fires on a subscription only
 * the repository holds, and the reason says which view matched and what built it. One reason per rule and finding:
 * a logged record first, else the first view. Score from the rule's level; score and severity via `scoreOf`.
 */
import * as path from 'node:path';
import type { Finding, JoinedSubscription, Reason, SigmaEventHit, SigmaRuleRef, SigmaScan } from '../model/types.js';
import { SIGMA_EVENT_HITS_LISTED } from '../model/types.js';
import { locationRecords, recordIdOf } from '../model/subscription.js';
import type { SigmaFieldMatch, SigmaHit, SigmaLevel, SigmaLoadSummary } from '../sigma/types.js';
import { oneLine } from './decode.js';
import { scoreOf } from './score.js';
import { sigmaViews } from './sigma-views.js';

/** Points a Sigma hit adds, by the rule's level: a level alone reaches the severity of the same name. */
export const SIGMA_LEVEL_SCORE: Record<SigmaLevel, number> = { informational: 0, low: 10, medium: 25, high: 50, critical: 80 };

/** How long matching the synthesized views may take in all (milliseconds; 0 or absent: no limit), and the clock. */
export interface ViewBudget {
  budgetMs?: number;
  now?: () => number;
}

/** What the scan needs of a rule set: matching one record. */
export interface SigmaMatcher {
  match(event: unknown): SigmaHit[];
}

const levelScore = (level: string): number => SIGMA_LEVEL_SCORE[level as SigmaLevel] ?? 0;

/** `Destination=" \"c:\\…\""; Name=…`: the matched fields, bounded. */
function matchedText(matched: readonly SigmaFieldMatch[]): string {
  if (matched.length === 0) return '(the rule matched without naming a field)';
  return matched
    .slice(0, 6)
    .map((m) => `${m.field}=${oneLine(m.value, 160)}`)
    .join('; ');
}

/** `Sysmon 20`, `WMI-Activity 5861`, `PowerShell 4104`, `Security 4688`: a record's kind, from its channel and id. */
function recordKind(channel: string | null, eventId: number | null): string {
  const c = (channel ?? '').toLowerCase();
  const name = c.includes('sysmon') ? 'Sysmon' : c.includes('wmi-activity') ? 'WMI-Activity' : c.includes('powershell') ? 'PowerShell' : c === 'security' ? 'Security' : channel ?? 'event';
  return eventId === null ? name : `${name} ${eventId}`;
}

function reason(rule: SigmaRuleRef, evidence: string): Reason {
  // the rule's author stays with every hit (SigmaHQ's Detection Rule License asks for it)
  return { id: `sigma:${rule.id}`, title: `Sigma: ${rule.title} (${rule.level}${rule.author ? `; rule by ${oneLine(rule.author, 120)}` : ''})`, attack: [...rule.attack], evidence: oneLine(evidence, 600), score: levelScore(rule.level) };
}

/**
 * Give `findings` their Sigma reasons (in place: reasons, score, severity) from the event hits of the scan and from
 * each finding's synthesized views; `joined` gives each finding's subscription as the rules saw it. Returns the Sigma
 * part of the result: what was loaded, and the hits on records of no finding (listed up to a bound, the rest counted).
 */
export function applySigma(findings: Finding[], joined: ReadonlyMap<string, JoinedSubscription>, hits: readonly SigmaEventHit[], rules: SigmaMatcher, summary: SigmaLoadSummary, opts: ViewBudget = {}): SigmaScan {
  // the records each finding is made of, by file and place; a script block joined from several 4104 records is cited
  // by its first part's place, naming the other parts by EventRecordID: those are indexed by file and id
  const byRecord = new Map<string, Finding[]>();
  const key = (file: string, location: string): string => `${file}\u0000${location}`;
  const partKey = (file: string, recordId: string): string => `${file}\u0000\u0000${recordId}`;
  const index = (k: string, f: Finding): void => {
    const list = byRecord.get(k);
    if (!list) byRecord.set(k, [f]);
    else if (!list.includes(f)) list.push(f);
  };
  for (const f of findings)
    for (const o of f.observations) {
      const { first, otherRecordIds } = locationRecords(o.location);
      index(key(o.file, first), f);
      for (const id of otherRecordIds) index(partKey(o.file, id), f);
    }
  const findingsOf = (h: SigmaEventHit): Finding[] | undefined => {
    const of = byRecord.get(key(h.file, h.location));
    if (of || h.eventId !== 4104) return of;
    const id = recordIdOf(h.location);
    return id === null ? undefined : byRecord.get(partKey(h.file, id));
  };
  const fired = new Map<Finding, Set<string>>();
  const fire = (f: Finding, rule: SigmaRuleRef, evidence: string): void => {
    let ids = fired.get(f);
    if (!ids) fired.set(f, (ids = new Set(f.reasons.filter((r) => r.id.startsWith('sigma:')).map((r) => r.id))));
    if (ids.has(`sigma:${rule.id}`)) return;
    ids.add(`sigma:${rule.id}`);
    f.reasons.push(reason(rule, evidence));
  };
  const events: SigmaEventHit[] = [];
  let notListed = 0;
  for (const h of hits) {
    const of = findingsOf(h);
    if (!of) {
      if (events.length < SIGMA_EVENT_HITS_LISTED) events.push(h);
      else notListed++;
      continue;
    }
    for (const f of of) fire(f, h.rule, `${recordKind(h.channel, h.eventId)} ${h.location} of ${path.basename(h.file)}: ${matchedText(h.matched)}`);
  }
  // the views of every finding, until the time budget is spent (a rule pack slow on them must not hold the scan forever)
  const clock = opts.now ?? ((): number => performance.now());
  const start = clock();
  let viewsNotMatched = 0;
  for (const f of findings) {
    const s = joined.get(f.id);
    if (!s) continue;
    if (opts.budgetMs && clock() - start > opts.budgetMs) {
      viewsNotMatched++;
      continue;
    }
    for (const view of sigmaViews(s))
      for (const hit of rules.match(view.event)) {
        const r = hit.rule;
        fire(f, { id: r.id, title: r.title, level: r.level, attack: r.attack, author: r.author, file: r.file }, `${view.kind} view synthesized from ${view.from.length ? view.from.join(', ') : 'the joined subscription'} (not a logged record): ${matchedText(hit.matched)}`);
      }
  }
  for (const [f] of fired) ({ score: f.score, severity: f.severity } = scoreOf(f.reasons, { quiet: f.allowlisted !== null }));
  return { files: summary.files, loaded: summary.loaded, notApplicable: summary.notApplicable, notLoaded: summary.notLoaded, eventHits: hits.length, events, eventsNotListed: notListed, ...(viewsNotMatched ? { viewsNotMatched } : {}) };
}
