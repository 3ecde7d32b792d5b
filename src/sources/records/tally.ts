/**
 * Event records in the shape of the EVTX layer's JSON (`Event.System`, `Event.EventData`, `Event.UserData`),
 * from any source: EVTX files, JSON/XML exports, Velociraptor rows. One tally per input keeps the per-host
 * record counts, time span, channels and event ids that coverage and the evidence list need.
 */
import type { EvtxJsonObject } from '../../evtx/index.js';
import { filetimeIso } from '../../evtx/bytes.js';
import { eventHeader } from '../../events/index.js';
import type { ChannelSummary, EvidenceItem } from '../../model/types.js';
import { WMI_EVENT_IDS } from '../../model/wmi.js';
import { canonicalTime } from '../../model/time.js';
import type { EventMatcher, LogSummary, ObserveResult } from '../input.js';
import type { NoteSink } from '../notes.js';
import { SigmaHits } from './sigma.js';
import { fromRecord } from './observations.js';

/** Most EventRecordIDs one input keeps to count distinct ids and gaps (8 bytes each); past it they are not counted. */
export const MAX_TRACKED_RECORD_IDS = 4_000_000;

/**
 * The earliest and latest FILETIME seen, as exact halves `[firstLo, firstHi, lastLo, lastHi]`, turned into text once,
 * when the tally is read. A typed array: the halves are unsigned 32-bit numbers that an object's fields would keep
 * changing representation for (small integer / heap number), deoptimizing the per-record code.
 */
type FiletimeSpan = Float64Array;

/** A span that bounds nothing yet (every time widens it). */
const noSpan = (): FiletimeSpan => Float64Array.of(Infinity, Infinity, -Infinity, -Infinity);

/*
 * The counts are updated for every record: every field holds one type from the start (-1 for "none" rather than
 * null, a span rather than null), since a field that changes type makes V8 throw away the compiled per-record code.
 */
interface ChannelCounts {
  records: number;
  first: string | null;
  last: string | null;
  ft: FiletimeSpan;
  ids: Set<number>;
  /** Lowest and highest EventRecordID, -1 while none was seen. */
  oldest: number;
  newest: number;
  /** EventRecordIDs seen, for distinct ids and gaps; null once the input's budget is spent. */
  recordIds: number[] | null;
  /** EVTX: 1 when a record whose header number differs from its EventRecordID was seen, 0 when none, -1 not EVTX / not known. */
  renumbered: number;
  recovered: number;
}

const idOrNull = (id: number): number | null => (id < 0 ? null : id);

interface HostCounts {
  channels: Set<string>;
  records: number;
  recovered: number;
  first: string | null;
  last: string | null;
  ft: FiletimeSpan;
  ids: Set<number>;
  perChannel: Map<string, ChannelCounts>;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** A time that may bound a log's span: ISO-8601 UTC and not a zeroed FILETIME (1601) from a damaged record. */
export function spanTime(t: string | null): string | null {
  if (!t || t < '1990') return null;
  // the shape checked by character first (this runs for every record), the pattern only for what passes
  const n = t.length;
  if (n < 20 || t.charCodeAt(4) !== 45 || t.charCodeAt(10) !== 84 || t.charCodeAt(n - 1) !== 90) return null;
  if (n === 28 && t.charCodeAt(19) === 46) return ISO.test(t) ? t : null;
  // other precisions (a WEC export's nanoseconds, a converter's milliseconds) in the one form, so spans compare as text
  return ISO.test(t) ? canonicalTime(t) : null;
}

/** A channel name as a damaged record may give it (NULs, control characters, replacement characters) is no channel. */
function plausibleChannel(channel: string | null): string | null {
  // eslint-disable-next-line no-control-regex
  return channel !== null && channel.length <= 255 && !/[\u0000-\u001f\u007f\ufffd]/.test(channel) ? channel : null;
}

/** 1990-01-01T00:00:00Z as FILETIME ticks: earlier times (zeroed FILETIMEs of damaged records) bound no span. */
const FILETIME_1990 = (Date.UTC(1990, 0, 1) / 1000 + 11644473600) * 1e7;

function widen(span: FiletimeSpan, lo: number, hi: number): void {
  if (hi < span[1]! || (hi === span[1] && lo < span[0]!)) {
    span[0] = lo;
    span[1] = hi;
  }
  if (hi > span[3]! || (hi === span[3] && lo > span[2]!)) {
    span[2] = lo;
    span[3] = hi;
  }
}

/** `first`/`last` widened by a FILETIME span (written as text now), which is then spent. */
function settleSpan(x: { first: string | null; last: string | null; ft: FiletimeSpan }): void {
  if (x.ft[1] === Infinity) return;
  const a = filetimeIso(x.ft[0]!, x.ft[1]!);
  const b = filetimeIso(x.ft[2]!, x.ft[3]!);
  if (!x.first || a < x.first) x.first = a;
  if (!x.last || b > x.last) x.last = b;
  x.ft = noSpan();
}

/**
 * Distinct values among a log's EventRecordIDs. Ids within a range at most 8x their count (any real log) are counted
 * on a bitmap of that range in one pass; others are sorted first.
 */
const distinctCount = (ids: number[]): number => {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo + 1;
  if (range <= Math.max(1 << 16, 8 * ids.length)) {
    const bits = new Uint32Array(Math.ceil(range / 32));
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const d = ids[i]! - lo;
      const w = d >>> 5;
      const m = 1 << (d & 31);
      if ((bits[w]! & m) === 0) {
        bits[w] = bits[w]! | m;
        n++;
      }
    }
    return n;
  }
  const a = Float64Array.from(ids).sort();
  let n = 0;
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[i - 1]) n++;
  return n;
};

/**
 * Per-host bookkeeping of an input's records (host = the record's Computer; '' = the record did not say): per
 * channel the record count, the events' own time span, the EventRecordID range with distinct ids (gaps show a filtered
 * export), whether EVTX record headers were renumbered, and records carved from slack.
 */
export class HostTally {
  readonly perHost = new Map<string, HostCounts>();
  private idBudget = MAX_TRACKED_RECORD_IDS;

  // the last host and channel looked up: consecutive records of a log mostly share both
  private last: { host: string; channel: string | null; h: HostCounts; c: ChannelCounts } | null = null;

  private counts(host: string, raw: string | null): { host: string; channel: string | null; h: HostCounts; c: ChannelCounts } {
    const last = this.last;
    if (last && last.host === host && last.channel === raw) return last;
    const channel = plausibleChannel(raw);
    let h = this.perHost.get(host);
    if (!h) this.perHost.set(host, (h = { channels: new Set(), records: 0, recovered: 0, first: null, last: null, ft: noSpan(), ids: new Set(), perChannel: new Map() }));
    if (channel) h.channels.add(channel);
    const ck = channel ?? '';
    let c = h.perChannel.get(ck);
    if (!c) h.perChannel.set(ck, (c = { records: 0, first: null, last: null, ft: noSpan(), ids: new Set(), oldest: -1, newest: -1, recordIds: [], renumbered: -1, recovered: 0 }));
    return (this.last = { host, channel: raw, h, c });
  }

  /**
   * One allocated record (this runs for every record of every log: no allocation per record): its Computer ('' when
   * it names none), channel, event id, the event's own time (TimeCreated, ISO-8601 UTC; or, from EVTX, its FILETIME
   * halves `timeLo`/`timeHi`), its EventRecordID and, for EVTX, its record-header number (exports renumber it;
   * compared with the EventRecordID).
   */
  add(host: string, channel: string | null, eventId: number | null, time: string | null, recordId: number | null, headerNumber?: number, timeLo = -1, timeHi = -1): void {
    const { h, c } = this.counts(host, channel);
    h.records++;
    c.records++;
    if (eventId !== null) {
      h.ids.add(eventId);
      c.ids.add(eventId);
    }
    if (timeLo >= 0) {
      // an EVTX TimeCreated as FILETIME halves: compared as numbers, written as text once (zeroed times bound nothing)
      if (timeHi * 4294967296 + timeLo >= FILETIME_1990) {
        widen(h.ft, timeLo, timeHi);
        widen(c.ft, timeLo, timeHi);
      }
    }
    const t = spanTime(time);
    if (t) {
      if (!h.first || t < h.first) h.first = t;
      if (!h.last || t > h.last) h.last = t;
      if (!c.first || t < c.first) c.first = t;
      if (!c.last || t > c.last) c.last = t;
    }
    if (recordId !== null && Number.isSafeInteger(recordId) && recordId >= 0) {
      if (c.oldest < 0 || recordId < c.oldest) c.oldest = recordId;
      if (recordId > c.newest) c.newest = recordId;
      if (c.recordIds) {
        if (this.idBudget-- > 0) c.recordIds.push(recordId);
        else c.recordIds = null;
      }
    }
    if (headerNumber !== undefined) c.renumbered = c.renumbered === 1 || recordId !== headerNumber ? 1 : 0;
  }

  /** A record carved from slack that is not a copy of an allocated one: counted apart, it bounds no span or id range. */
  addRecovered(host: string, channel: string | null, eventId: number | null): void {
    const { h, c } = this.counts(host, channel);
    h.recovered++;
    c.recovered++;
    if (eventId !== null) {
      h.ids.add(eventId);
      c.ids.add(eventId);
    }
  }

  /** Named hosts of the input (Computer values seen). */
  hosts(): string[] {
    return [...this.perHost.keys()].filter((k) => k !== '');
  }

  /**
   * Computer names of one native EVTX log that are one machine renamed: in some channel the second name's records
   * continue the first's EventRecordID sequence (first id = last id + 1), and no channel holds overlapping id ranges
   * under the two names (two machines' logs merged into one file do not continue each other). Times are not compared:
   * a clock set back during setup is common and proves nothing against the ids.
   */
  renames(): Array<{ from: string; to: string; why: string }> {
    // only a native EVTX log proves it: one writer numbers its records, and the header numbers agree with the
    // EventRecordIDs. Exports, forwarded and renumbered files hold records of several machines whose ids may touch.
    // Candidates come from neighbours in each channel's id order (n log n, whatever the number of names).
    const candidates = new Map<string, { a: string; b: string; why: string }>();
    const byChannel = new Map<string, Array<{ name: string; c: ChannelCounts }>>();
    for (const [name, h] of this.perHost) {
      if (!name) continue;
      for (const [ch, c] of h.perChannel) if (c.oldest >= 0) byChannel.set(ch, [...(byChannel.get(ch) ?? []), { name, c }]);
    }
    for (const [ch, list] of byChannel) {
      list.sort((x, y) => x.c.oldest - y.c.oldest);
      for (let i = 1; i < list.length; i++) {
        const a = list[i - 1]!;
        const b = list[i]!;
        if (a.c.renumbered !== 0 || b.c.renumbered !== 0 || b.c.oldest !== a.c.newest + 1) continue;
        const k = `${a.name}\u0000${b.name}`;
        if (!candidates.has(k)) candidates.set(k, { a: a.name, b: b.name, why: `${ch || 'the log'}: record #${a.c.newest} names ${a.name}, the next record #${b.c.oldest} names ${b.name}` });
      }
    }
    const out: Array<{ from: string; to: string; why: string }> = [];
    for (const { a, b, why } of candidates.values()) {
      // no channel may hold overlapping id ranges under the two names
      const ha = this.perHost.get(a)!;
      const hb = this.perHost.get(b)!;
      let overlaps = false;
      for (const [ch, ca] of ha.perChannel) {
        const cb = hb.perChannel.get(ch);
        if (!cb || ca.oldest < 0 || cb.oldest < 0) continue;
        if (cb.oldest <= ca.newest && ca.oldest <= cb.newest) overlaps = true;
      }
      if (!overlaps) out.push({ from: a, to: b, why: `one log renamed its computer (${why})` });
    }
    return out;
  }

  /** Records without a host go to the input's single named host, when there is exactly one. */
  private merge(): void {
    for (const h of this.perHost.values()) {
      settleSpan(h);
      for (const c of h.perChannel.values()) settleSpan(c);
    }
    const named = this.hosts();
    const anon = this.perHost.get('');
    if (!anon || named.length !== 1) return;
    const h = this.perHost.get(named[0]!)!;
    h.records += anon.records;
    h.recovered += anon.recovered;
    anon.channels.forEach((c) => h.channels.add(c));
    anon.ids.forEach((c) => h.ids.add(c));
    if (anon.first && (!h.first || anon.first < h.first)) h.first = anon.first;
    if (anon.last && (!h.last || anon.last > h.last)) h.last = anon.last;
    for (const [k, c] of anon.perChannel) {
      const into = h.perChannel.get(k);
      if (!into) {
        h.perChannel.set(k, c);
        continue;
      }
      into.records += c.records;
      into.recovered += c.recovered;
      c.ids.forEach((i) => into.ids.add(i));
      if (c.first && (!into.first || c.first < into.first)) into.first = c.first;
      if (c.last && (!into.last || c.last > into.last)) into.last = c.last;
      if (c.oldest >= 0 && (into.oldest < 0 || c.oldest < into.oldest)) into.oldest = c.oldest;
      if (c.newest > into.newest) into.newest = c.newest;
      into.recordIds = into.recordIds && c.recordIds ? into.recordIds.concat(c.recordIds) : null;
      if (c.renumbered >= 0) into.renumbered = into.renumbered === 1 || c.renumbered === 1 ? 1 : 0;
    }
    this.perHost.delete('');
    this.last = null;
  }

  items(file: string, kind: EvidenceItem['kind'], prefix = ''): EvidenceItem[] {
    this.merge();
    return [...this.perHost].map(([host, h]) => ({
      file,
      kind,
      host,
      detail: `${prefix}${[...h.channels].join(', ')}; event ids ${[...h.ids].sort((a, b) => a - b).join(',')}${h.recovered ? `; ${h.recovered} more carved from slack` : ''}`,
      records: h.records,
      first: h.first,
      last: h.last,
    }));
  }

  /** Per host: channels and event ids, and per channel the completeness facts (for coverage). `full` = the EVTX header's log-full flag. */
  logs(file?: string, kind?: EvidenceItem['kind'], full?: boolean): LogSummary[] {
    this.merge();
    // names of one machine renamed (their ids continue): each channel judged whole, once, for all of them; names of
    // different machines merged into one file are judged apart
    const group = new Map<string, string>();
    const root = (n: string): string => {
      let r = n;
      while (group.has(r) && group.get(r) !== r) r = group.get(r)!;
      return r;
    };
    for (const r of this.renames()) group.set(root(r.from), root(r.to));
    const whole = new Map<string, { names: number; records: number; oldestRecordId: number | null; newestRecordId: number | null; ids: number[] | null }>();
    for (const [host, h] of this.perHost)
      for (const [channel, c] of h.perChannel) {
        if (!c.records) continue;
        const ch = `${root(host)}\u0000${channel}`;
        const w = whole.get(ch) ?? { names: 0, records: 0, oldestRecordId: null, newestRecordId: null, ids: [] };
        w.names++;
        w.records += c.records;
        const oldest = idOrNull(c.oldest);
        const newest = idOrNull(c.newest);
        if (oldest !== null && (w.oldestRecordId === null || oldest < w.oldestRecordId)) w.oldestRecordId = oldest;
        if (newest !== null && (w.newestRecordId === null || newest > w.newestRecordId)) w.newestRecordId = newest;
        w.ids = w.ids && c.recordIds ? w.ids.concat(c.recordIds) : null;
        whole.set(ch, w);
      }
    return [...this.perHost].map(([host, h]) => ({
      host,
      channels: [...h.channels],
      eventIds: [...h.ids],
      ...(file !== undefined ? { file } : {}),
      ...(kind !== undefined ? { kind } : {}),
      ...(full !== undefined ? { full } : {}),
      perChannel: [...h.perChannel].map(([channel, c]): ChannelSummary => {
        const w = whole.get(`${root(host)}\u0000${channel}`);
        return {
          channel,
          channelFrom: 'records',
          records: c.records,
          first: c.first,
          last: c.last,
          eventIds: [...c.ids].sort((a, b) => a - b),
          oldestRecordId: idOrNull(c.oldest),
          newestRecordId: idOrNull(c.newest),
          distinctRecordIds: c.recordIds && c.recordIds.length ? distinctCount(c.recordIds) : null,
          ...(c.renumbered >= 0 ? { renumbered: c.renumbered === 1 } : {}),
          ...(c.recovered ? { recovered: c.recovered } : {}),
          ...(w && w.names > 1 ? { log: { names: w.names, records: w.records, oldestRecordId: w.oldestRecordId, newestRecordId: w.newestRecordId, distinctRecordIds: w.ids && w.ids.length ? distinctCount(w.ids) : null } } : {}),
        };
      }),
    }));
  }

}

/** Two summaries of one channel as one (names of one machine, or one log read in parts). */
export function mergeChannel(into: ChannelSummary, c: ChannelSummary): void {
  into.records += c.records;
  into.eventIds = [...new Set([...into.eventIds, ...c.eventIds])].sort((a, b) => a - b);
  if (c.first && (!into.first || c.first < into.first)) into.first = c.first;
  if (c.last && (!into.last || c.last > into.last)) into.last = c.last;
  if (c.oldestRecordId !== null && (into.oldestRecordId === null || c.oldestRecordId < into.oldestRecordId)) into.oldestRecordId = c.oldestRecordId;
  if (c.newestRecordId !== null && (into.newestRecordId === null || c.newestRecordId > into.newestRecordId)) into.newestRecordId = c.newestRecordId;
  // distinct ids add up when the parts do not share ids (two names of one log never do: see HostTally.renames)
  const sum = into.distinctRecordIds != null && c.distinctRecordIds != null ? into.distinctRecordIds + c.distinctRecordIds : null;
  into.distinctRecordIds = sum !== null && into.oldestRecordId !== null && into.newestRecordId !== null && sum <= into.newestRecordId - into.oldestRecordId + 1 ? sum : null;
  if (c.renumbered !== undefined) into.renumbered = into.renumbered === true || c.renumbered;
  if (c.recovered) into.recovered = (into.recovered ?? 0) + c.recovered;
  if (c.channelFrom === 'records' || into.channelFrom === 'records') into.channelFrom = 'records';
}

/** Log summaries of the same host and file merged into one, channel by channel. */
export function mergeLogs(logs: LogSummary[]): LogSummary[] {
  const out = new Map<string, LogSummary>();
  for (const l of logs) {
    const k = `${l.host.toLowerCase()}|${l.file ?? ''}|${l.kind ?? ''}`;
    const m = out.get(k);
    if (!m) {
      out.set(k, { ...l, channels: [...l.channels], eventIds: [...l.eventIds], ...(l.perChannel ? { perChannel: l.perChannel.map((c) => ({ ...c, eventIds: [...c.eventIds] })) } : {}) });
      continue;
    }
    m.channels = [...new Set([...m.channels, ...l.channels])];
    m.eventIds = [...new Set([...m.eventIds, ...l.eventIds])];
    if (l.full) m.full = true;
    for (const c of l.perChannel ?? []) {
      const into = (m.perChannel ??= []).find((x) => x.channel === c.channel);
      if (into) mergeChannel(into, c);
      else m.perChannel.push({ ...c, eventIds: [...c.eventIds] });
    }
  }
  return [...out.values()];
}

/**
 * Observations from event records already in the EVTX JSON shape (exports, Velociraptor rows). `host`
 * overrides the records' Computer. Call {@link add} per record, then {@link result}.
 */
export class EventRecordSink {
  private readonly tally = new HostTally();
  private readonly observations: ObserveResult['observations'] = [];
  private readonly sigma: SigmaHits | null;

  /** `sigma`: the scan's Sigma rules, run on every record they may match. */
  constructor(
    private readonly file: string,
    private readonly kind: EvidenceItem['kind'],
    private readonly host?: string,
    sigma?: EventMatcher,
  ) {
    this.sigma = sigma ? new SigmaHits(sigma, file) : null;
  }

  /** One record; `location` says where it is in the input (`line 12`, `record 3`). False when it has no `Event.System`. */
  add(json: EvtxJsonObject, location: string): boolean {
    const h = eventHeader(json);
    if (!h) return false;
    const host = this.host ?? h.computer ?? '';
    this.tally.add(host, h.channel, h.eventId, isoTime(h.time), h.recordId);
    const matched = this.sigma !== null && this.sigma.wants(h.channel, h.eventId);
    if (!matched && !WMI_EVENT_IDS.includes(h.eventId)) return true;
    // cited by its EventRecordID (what Event Viewer, Hayabusa and Chainsaw show) first, where in the export second
    const rid = h.recordId;
    const where = rid === null || location.includes(`record ${rid}`) ? location : `record ${rid} (${location})`;
    if (matched) this.sigma!.check(json, host, where);
    if (!WMI_EVENT_IDS.includes(h.eventId)) return true;
    for (const o of fromRecord(json, host, this.file, where)) this.observations.push(o);
    return true;
  }

  /** `notes` hears of Sigma hits past the limit. */
  result(prefix = '', notes?: NoteSink): ObserveResult {
    const sigmaHits = this.sigma && notes ? this.sigma.finish(notes) : this.sigma?.hits;
    return { observations: this.observations, items: this.tally.items(this.file, this.kind, prefix), logs: this.tally.logs(this.file, this.kind), hostLinks: this.tally.renames().map((r) => ({ names: [r.from, r.to] as [string, string], why: r.why })), ...(sigmaHits ? { sigmaHits } : {}) };
  }
}

/**
 * A time as ISO-8601 UTC with seven fractional digits when it parses (`2019-03-19T23:34:25.9362720Z`,
 * `2019-03-19 23:34:25.936` → `…25.9360000Z`), else as given: the model's one form, `canonicalTime` (model/time.ts).
 */
export function isoTime(t: string | null): string | null {
  return canonicalTime(t);
}
