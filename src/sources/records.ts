/**
 * Event records in the shape of the EVTX layer's JSON (`Event.System`, `Event.EventData`, `Event.UserData`),
 * from any source: EVTX files, JSON/XML exports, Velociraptor rows. One tally per input keeps the per-host
 * record counts, time span, channels and event ids that coverage and the evidence list need.
 */
import type { EvtxJsonObject } from '../evtx/index.js';
import { eventHeader } from '../events/index.js';
import type { EvidenceItem } from '../model/types.js';
import { WMI_EVENT_IDS } from '../model/wmi.js';
import type { LogSummary, ObserveResult } from './input.js';
import { fromRecord } from './events.js';

interface ChannelCounts {
  records: number;
  first: string | null;
  last: string | null;
  ids: Set<number>;
  oldestRecordId: number | null;
  newestRecordId: number | null;
}

interface HostCounts {
  channels: Set<string>;
  records: number;
  first: string | null;
  last: string | null;
  ids: Set<number>;
  perChannel: Map<string, ChannelCounts>;
}

function mergeChannel(into: ChannelCounts, c: ChannelCounts): void {
  into.records += c.records;
  c.ids.forEach((i) => into.ids.add(i));
  if (c.first && (!into.first || c.first < into.first)) into.first = c.first;
  if (c.last && (!into.last || c.last > into.last)) into.last = c.last;
  if (c.oldestRecordId !== null && (into.oldestRecordId === null || c.oldestRecordId < into.oldestRecordId)) into.oldestRecordId = c.oldestRecordId;
  if (c.newestRecordId !== null && (into.newestRecordId === null || c.newestRecordId > into.newestRecordId)) into.newestRecordId = c.newestRecordId;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** Per-host bookkeeping of an input's records. Host '' = the record did not say. */
export class HostTally {
  readonly perHost = new Map<string, HostCounts>();

  /**
   * One record. `countTime` false for records carved from slack (their times do not bound the log);
   * `recordId` = the record's EventRecordID, for the oldest/newest record of each channel (roll-over).
   */
  add(host: string, channel: string | null, eventId: number | null, time: string | null, countTime = true, recordId: number | null = null): void {
    let h = this.perHost.get(host);
    if (!h) this.perHost.set(host, (h = { channels: new Set(), records: 0, first: null, last: null, ids: new Set(), perChannel: new Map() }));
    if (channel) h.channels.add(channel);
    h.records++;
    if (eventId !== null) h.ids.add(eventId);
    // zeroed times (1601-01-01) from damaged records and times that are not ISO bound no span
    const t = countTime && time && time >= '1990' && ISO.test(time) ? time : null;
    if (t) {
      if (!h.first || t < h.first) h.first = t;
      if (!h.last || t > h.last) h.last = t;
    }
    // per channel, without allocating per record (this runs for every record of every log)
    const ck = channel ?? '';
    let c = h.perChannel.get(ck);
    if (!c) h.perChannel.set(ck, (c = { records: 0, first: null, last: null, ids: new Set(), oldestRecordId: null, newestRecordId: null }));
    c.records++;
    if (eventId !== null) c.ids.add(eventId);
    if (!countTime) return;
    if (t) {
      if (!c.first || t < c.first) c.first = t;
      if (!c.last || t > c.last) c.last = t;
    }
    if (recordId !== null) {
      if (c.oldestRecordId === null || recordId < c.oldestRecordId) c.oldestRecordId = recordId;
      if (c.newestRecordId === null || recordId > c.newestRecordId) c.newestRecordId = recordId;
    }
  }

  /** Records without a host go to the input's single named host, when there is exactly one. */
  private merge(): void {
    const named = [...this.perHost.keys()].filter((k) => k !== '');
    const anon = this.perHost.get('');
    if (!anon || named.length !== 1) return;
    const h = this.perHost.get(named[0]!)!;
    h.records += anon.records;
    anon.channels.forEach((c) => h.channels.add(c));
    anon.ids.forEach((c) => h.ids.add(c));
    if (anon.first && (!h.first || anon.first < h.first)) h.first = anon.first;
    if (anon.last && (!h.last || anon.last > h.last)) h.last = anon.last;
    for (const [k, c] of anon.perChannel) {
      const into = h.perChannel.get(k);
      if (into) mergeChannel(into, c);
      else h.perChannel.set(k, c);
    }
    this.perHost.delete('');
  }

  items(file: string, kind: EvidenceItem['kind'], prefix = ''): EvidenceItem[] {
    this.merge();
    return [...this.perHost].map(([host, h]) => ({
      file,
      kind,
      host,
      detail: `${prefix}${[...h.channels].join(', ')}; event ids ${[...h.ids].sort((a, b) => a - b).join(',')}`,
      records: h.records,
      first: h.first,
      last: h.last,
    }));
  }

  /** Per host: channels and event ids, and per channel the record span (for coverage). `full` = the EVTX header's log-full flag. */
  logs(file?: string, kind?: EvidenceItem['kind'], full?: boolean): LogSummary[] {
    this.merge();
    return [...this.perHost].map(([host, h]) => ({
      host,
      channels: [...h.channels],
      eventIds: [...h.ids],
      ...(file !== undefined ? { file } : {}),
      ...(kind !== undefined ? { kind } : {}),
      ...(full !== undefined ? { full } : {}),
      perChannel: [...h.perChannel].map(([channel, c]) => ({ channel, records: c.records, first: c.first, last: c.last, eventIds: [...c.ids].sort((a, b) => a - b), oldestRecordId: c.oldestRecordId, newestRecordId: c.newestRecordId })),
    }));
  }
}

/**
 * Observations from event records already in the EVTX JSON shape (exports, Velociraptor rows). `host`
 * overrides the records' Computer. Call {@link add} per record, then {@link result}.
 */
export class EventRecordSink {
  private readonly tally = new HostTally();
  private readonly observations: ObserveResult['observations'] = [];

  constructor(
    private readonly file: string,
    private readonly kind: EvidenceItem['kind'],
    private readonly host?: string,
  ) {}

  /** One record; `location` says where it is in the input (`line 12`, `record 3`). False when it has no `Event.System`. */
  add(json: EvtxJsonObject, location: string): boolean {
    const h = eventHeader(json);
    if (!h) return false;
    const host = this.host ?? h.computer ?? '';
    this.tally.add(host, h.channel, h.eventId, isoTime(h.time), true, h.recordId);
    if (WMI_EVENT_IDS.includes(h.eventId)) for (const o of fromRecord(json, host, this.file, location)) this.observations.push(o);
    return true;
  }

  result(prefix = ''): ObserveResult {
    return { observations: this.observations, items: this.tally.items(this.file, this.kind, prefix), logs: this.tally.logs(this.file, this.kind) };
  }
}

/** A time as ISO-8601 UTC when it parses (`2019-03-19T23:34:25.9362720Z`, `2019-03-19 23:34:25.936`), else as given. */
export function isoTime(t: string | null): string | null {
  if (!t) return null;
  const s = t.trim();
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s)) return s;
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]00:?00| UTC)?$/.exec(s);
  if (m) return `${m[1]}T${m[2]}Z`;
  const d = Date.parse(s);
  return Number.isFinite(d) ? new Date(d).toISOString() : s;
}
