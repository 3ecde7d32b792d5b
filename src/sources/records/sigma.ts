/**
 * Sigma on the event records of one input, as Hayabusa and Chainsaw run it: every record a loaded rule may match
 * (by channel and event id) is matched; each hit is kept with where the record is, cited as observations cite it, so
 * the scan can tie it to the finding the record is part of. At most {@link MAX_HITS_PER_FILE} hits are kept per input;
 * the rest are counted and noted.
 */
import type { EvtxJsonObject } from '../../evtx/index.js';
import { eventHeader } from '../../events/index.js';
import type { SigmaEventHit } from '../../model/types.js';
import type { SigmaHit } from '../../sigma/types.js';
import { canonicalTime } from '../../model/time.js';
import type { EventMatcher } from '../input.js';
import type { NoteSink } from '../notes.js';
import { timeBudgetSeconds } from '../budget.js';

/** Hits kept per input file (a log where a noisy rule matches every record must not exhaust memory). */
export const MAX_HITS_PER_FILE = 20_000;
/** Characters of a matched value kept as evidence. */
const MAX_VALUE = 300;

/** The hits of one record, waiting for its host. */
export interface PendingHits {
  found: SigmaHit[];
  time: string | null;
  channel: string | null;
  eventId: number | null;
}

export class SigmaHits {
  readonly hits: SigmaEventHit[] = [];
  private over = 0;
  /** Milliseconds spent matching, and the most it may spend: half the file's time budget (none without a budget). */
  private spent = 0;
  private readonly limit: number;
  private stopped = false;

  constructor(
    private readonly matcher: EventMatcher,
    private readonly file: string,
  ) {
    const budget = timeBudgetSeconds();
    this.limit = budget > 0 ? (budget * 1000) / 2 : Infinity;
  }

  /**
   * Could a rule match a record of this channel and event id (else it need not be rendered)? False for every record
   * once matching has taken half the file's time budget: rules that slow cost the rest of the file's hits, not the file.
   */
  wants(channel: string | null, eventId: number | null): boolean {
    return !this.stopped && this.matcher.wants(channel, eventId);
  }

  /** Match one record; `host` and `where` as its observations would say them. */
  check(json: EvtxJsonObject, host: string, where: string): void {
    const found = this.matched(json);
    if (found) this.keep(found, host, where);
  }

  /**
   * Match one record whose host is known only later (a record carved from slack): the hits, or null when no rule
   * matched, to {@link keep} then. Only the hits are kept meanwhile, never the record.
   */
  matched(json: EvtxJsonObject): PendingHits | null {
    if (this.stopped) return null;
    const t0 = performance.now();
    const found = this.matcher.match(json);
    this.spent += performance.now() - t0;
    if (this.spent > this.limit) this.stopped = true;
    if (found.length === 0) return null;
    const h = eventHeader(json);
    return { found, time: canonicalTime(h?.time ?? null), channel: h?.channel ?? null, eventId: h?.eventId ?? null };
  }

  /** Keep the hits of one record. */
  keep(p: PendingHits, host: string, where: string): void {
    for (const hit of p.found) {
      if (this.hits.length >= MAX_HITS_PER_FILE) {
        this.over++;
        continue;
      }
      const r = hit.rule;
      this.hits.push({
        rule: { id: r.id, title: r.title, level: r.level, attack: r.attack, author: r.author, file: r.file },
        host,
        file: this.file,
        location: where,
        time: p.time,
        channel: p.channel,
        eventId: p.eventId,
        matched: hit.matched.map((m) => ({ field: m.field, value: m.value.length > MAX_VALUE ? `${m.value.slice(0, MAX_VALUE)}…` : m.value })),
      });
    }
  }

  /** The hits, after noting those past the limit. */
  finish(notes: NoteSink): SigmaEventHit[] {
    if (this.stopped) notes.add({ file: this.file, level: 'warning', code: 'over-limit', message: `Sigma matching stopped after ${Math.round(this.spent / 1000)} s, half this file's time budget (--file-timeout): the records after that were not matched by the Sigma rules; the file itself was read in full` });
    if (this.over) notes.add({ file: this.file, level: 'warning', code: 'over-limit', message: `${this.over} Sigma hit(s) past the first ${MAX_HITS_PER_FILE} of this input were counted out, not kept` });
    return this.hits;
  }
}
