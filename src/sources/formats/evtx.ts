/**
 * The EVTX adapter: one Windows event log file (on disk, from an archive, or gzip'd) in, observations of its
 * WMI-relevant records (through `records/observations.ts`), and the per-host, per-channel facts coverage needs.
 */
import * as path from 'node:path';
import { EvtxFormatError, EvtxReader } from '../../evtx/index.js';
import type { EvtxJsonObject, EvtxRecord } from '../../evtx/index.js';
import { WMI_EVENT_IDS } from '../../model/wmi.js';
import { PROCESS_START_NAME_FIELDS } from '../../events/index.js';
import type { Observation } from '../../model/types.js';
import type { NoteSink } from '../notes.js';
import { emptyResult } from '../input.js';
import { INFLATE_POLICY, withMaterialized } from '../containers/inflate.js';
import type { BinaryAdapter, EventMatcher, ObserveResult } from '../input.js';
import { fromRecord, ProcessParents, readsNothing, ScriptBlocks } from '../records/observations.js';
import { checkTime, TimeBudgetError } from '../budget.js';
import { HostTally } from '../records/tally.js';
import { SigmaHits, type PendingHits } from '../records/sigma.js';

/** `Microsoft-Windows-WMI-Activity%4Operational.evtx` → `Microsoft-Windows-WMI-Activity/Operational` (how Windows names log files). */
export function channelFromFileName(file: string): string | null {
  const base = path.basename(file).replace(/\.evtx$/i, '');
  if (!base || base.length > 255) return null;
  return base.replace(/%4/g, '/');
}

/**
 * Observations from one EVTX file; the file's hosts, per-channel completeness facts and record span. Every record's
 * Computer, EventRecordID and TimeCreated are read from its template slots (cheap); only WMI-relevant records are
 * rendered. Records carved from slack that repeat an allocated record (same header number and EventRecordID) are
 * dropped; other carved records are counted apart and never bound a span.
 */
export function observeEvtx(file: string, notes: NoteSink, from?: { data: Buffer } | { path: string }, sigma?: EventMatcher): ObserveResult {
  let reader: EvtxReader;
  try {
    // `file` labels the log; its bytes are in memory (a small archive member), or at a path (the file itself, or a
    // temporary copy of a large member or of an inflated gzip'd log), read chunk by chunk
    if (from && 'data' in from) reader = EvtxReader.fromBuffer(from.data, { name: file });
    else reader = EvtxReader.open(from?.path ?? file, { name: file });
  } catch (e) {
    notes.add({ file, level: e instanceof EvtxFormatError ? 'skipped' : 'error', code: e instanceof EvtxFormatError ? 'not-evidence' : 'failed', message: e instanceof Error ? e.message : String(e) });
    return emptyResult();
  }
  const walk = new EvtxWalk(file, sigma ? new SigmaHits(sigma, file) : null);
  try {
    walk.run(reader);
    walk.finish();
  } catch (e) {
    // past the time budget the whole input is given up (a part read would understate its spans)
    if (e instanceof TimeBudgetError) throw e;
    notes.add({ file, level: 'error', code: 'failed', message: `reading stopped: ${e instanceof Error ? e.message : String(e)}` });
  } finally {
    reader.close();
  }
  const { obs, tally, allocatedHeaders, allocatedIds, chunkHost, carved, unnamed } = walk;
  // carved records: the host of their chunk's allocated records, else the file's one machine (its only name, or the
  // last name of a log whose names are all one machine renamed), else none
  const names = tally.hosts();
  const renames = names.length > 1 ? tally.renames() : [];
  const renamedFrom = new Set(renames.map((r) => r.from));
  const newest = names.filter((n) => !renamedFrom.has(n));
  const connected = renames.length === names.length - 1 && newest.length === 1;
  const only = names.length === 1 ? names[0]! : connected ? newest[0]! : '';
  let carvedUnnamed = 0;
  const allocated = new Map<number, number>();
  if (carved.length) allocatedHeaders.forEach((h, i) => allocated.set(h, allocatedIds[i]!));
  for (const c of carved) {
    if (allocated.get(c.header) === c.eventRecordId) continue;
    const host = chunkHost[c.chunk] || only;
    if (!host) carvedUnnamed++;
    tally.addRecovered(host, c.channel, c.eventId);
    if (c.hits) walk.sigma?.keep(c.hits, host, c.where);
    if (c.json) for (const o of fromRecord(c.json, host, file, c.where)) obs.push(o);
  }
  if (unnamed || carvedUnnamed) notes.add({ file, level: 'warning', code: 'host-unknown', message: `${unnamed ? `${unnamed} record(s) name no computer` : ''}${unnamed && carvedUnnamed ? '; ' : ''}${carvedUnnamed ? `${carvedUnnamed} record(s) carved from slack name no computer and lie in no chunk of one computer` : ''}: their host is not known` });
  const logs = tally.logs(file, 'evtx', reader.header?.full ?? false);
  const items = tally.items(file, 'evtx');
  if (!items.length) {
    // a log with no record is still a log: collected and empty is a fact coverage states
    const channel = channelFromFileName(file);
    items.push({ file, kind: 'evtx', host: '', detail: `present, 0 records${channel ? ` (${channel}, named by its file name)` : ''}`, records: 0, first: null, last: null });
    logs.push({ host: '', channels: channel ? [channel] : [], eventIds: [], file, kind: 'evtx', full: reader.header?.full ?? false, perChannel: channel ? [{ channel, channelFrom: 'file-name', records: 0, first: null, last: null, eventIds: [], oldestRecordId: null, newestRecordId: null, distinctRecordIds: null }] : [] });
  }
  const sigmaHits = walk.sigma?.finish(notes);
  return finishEvtx(file, notes, reader, { observations: obs, items, logs, hostLinks: renames.map((r) => ({ names: [r.from, r.to], why: r.why })), ...(sigmaHits ? { sigmaHits } : {}) });
}

const READ_OPTIONS = { recovered: true, reuseBuffers: true } as const;

/** The EventData fields {@link readsNothing} needs of a record: of a process start its names only, else all. */
const slotFieldsFor = (eventId: number | null): ReadonlySet<string> | undefined => (eventId === 1 || eventId === 4688 ? PROCESS_START_NAME_FIELDS : undefined);

/** A record carved from slack, kept until the allocated records are all known (to drop copies of them). */
interface Carved {
  header: number;
  eventRecordId: number;
  chunk: number;
  channel: string | null;
  eventId: number | null;
  /** The record, when it is read for observations. */
  json: EvtxJsonObject | null;
  /** The Sigma hits on it, matched when it was carved (the record itself is not kept for them). */
  hits: PendingHits | null;
  where: string;
}

/**
 * One pass over an EVTX file's records. The loop ({@link run}) is kept small and the rare paths (WMI records,
 * carved records) out of line: it runs for every record, and V8 compiles (and on-stack-replaces) the function that
 * holds it as a whole.
 */
class EvtxWalk {
  readonly obs: Observation[] = [];
  readonly tally = new HostTally();
  // allocated records' header numbers and EventRecordIDs (-1: none), to tell slack copies of them from records only
  // slack holds (looked up only when something was carved); plain arrays: this runs for every record
  readonly allocatedHeaders: number[] = [];
  readonly allocatedIds: number[] = [];
  // the Computer of each chunk's allocated records ('' once two differ), by chunk slot: carved records name none
  readonly chunkHost: Array<string | undefined> = [];
  readonly carved: Carved[] = [];
  // the WmiPrvSE.exe / scrcons.exe starts read so far, to name a 4688's parent that its record gives only by id
  readonly parents = new ProcessParents();
  // the parts of PowerShell script blocks logged over several 4104 records, joined before they are read
  readonly scriptBlocks = new ScriptBlocks();
  unnamed = 0;

  constructor(
    private readonly file: string,
    readonly sigma: SigmaHits | null,
  ) {}

  run(reader: EvtxReader): void {
    const tally = this.tally;
    const chunkHost = this.chunkHost;
    let n = 0;
    // each record is read (or rendered) before the next: the chunk buffer can be reused
    for (const rec of reader.records(READ_OPTIONS)) {
      if ((++n & 1023) === 0) checkTime();
      const eventId = rec.eventId;
      const wanted = WMI_EVENT_IDS.includes(eventId ?? -1);
      const matched = this.sigma !== null && this.sigma.wants(rec.channel, eventId);
      if (rec.recovered) {
        this.carve(rec, eventId, wanted, matched);
        continue;
      }
      // Computer, EventRecordID and TimeCreated from the template slots: no string for the time unless it is not a FILETIME
      const eventRecordId = rec.eventRecordId;
      this.allocatedHeaders.push(rec.recordId);
      this.allocatedIds.push(eventRecordId ?? -1);
      const host = rec.computer ?? '';
      if (!host) this.unnamed++;
      const ch = chunkHost[rec.chunk];
      if (ch === undefined) chunkHost[rec.chunk] = host;
      else if (ch !== host) chunkHost[rec.chunk] = '';
      if (rec.readTimeCreatedFiletime()) tally.add(host, rec.channel, eventId, null, eventRecordId, rec.recordId, rec.timeCreatedLo, rec.timeCreatedHi);
      else tally.add(host, rec.channel, eventId, rec.identity.timeCreated, eventRecordId, rec.recordId);
      if (matched) this.match(rec, host, eventRecordId, wanted);
      else if (wanted) this.observe(rec, host, eventRecordId);
    }
  }

  /** A record the Sigma rules may match: rendered, matched, then read for observations like any other. */
  private match(rec: EvtxRecord, host: string, eventRecordId: number | null, wanted: boolean): void {
    const json = rec.toJSON();
    const where = recordWhere(eventRecordId, rec.recordId, rec.offset, false);
    this.sigma!.check(json, host, where);
    if (wanted) this.observeJson(rec.eventId, json, host, where);
  }

  private observe(rec: EvtxRecord, host: string, eventRecordId: number | null): void {
    // most process starts and script blocks give nothing, told from their EventData slots without rendering them
    const ed = rec.eventDataFromSlots(slotFieldsFor(rec.eventId));
    if (ed && readsNothing(rec.eventId, ed, host, this.parents)) return;
    this.observeJson(rec.eventId, rec.toJSON(), host, recordWhere(eventRecordId, rec.recordId, rec.offset, false));
  }

  private observeJson(eventId: number | null, json: EvtxJsonObject, host: string, where: string): void {
    const read = eventId === 4104 ? this.scriptBlocks.take(json, where, host) : [{ json, where, host }];
    for (const r of read) for (const o of fromRecord(r.json, r.host, this.file, r.where, this.parents)) this.obs.push(o);
  }

  /** At the end of the log: the parts of script blocks never completed, each read as it stands. */
  finish(): void {
    for (const r of this.scriptBlocks.rest()) for (const o of fromRecord(r.json, r.host, this.file, r.where, this.parents)) this.obs.push(o);
  }

  private carve(rec: EvtxRecord, eventId: number | null, wanted: boolean, sigma: boolean): void {
    const id = rec.identity;
    // a carved record is read later without the process parents (fromRecord without them): passed over alike
    const ed = wanted ? rec.eventDataFromSlots(slotFieldsFor(eventId)) : undefined;
    const read = wanted && !(ed && readsNothing(eventId, ed, ''));
    const json = read || sigma ? rec.toJSON() : null;
    const hits = sigma && json ? this.sigma!.matched(json) : null;
    this.carved.push({ header: rec.recordId, eventRecordId: id.eventRecordId ?? -1, chunk: rec.chunk, channel: rec.channel, eventId, json: read ? json : null, hits, where: recordWhere(id.eventRecordId, rec.recordId, rec.offset, true) });
  }
}

/** Where an EVTX record is: its EventRecordID first (what Event Viewer, Hayabusa and Chainsaw show), then the header number and offset. */
function recordWhere(eventRecordId: number | null, header: number, offset: number, recovered: boolean): string {
  const head = eventRecordId === null ? `record (no EventRecordID; header #${header}` : `record ${eventRecordId} (${eventRecordId === header ? '' : `header #${header}, `}`;
  return `${head}offset ${offset})${recovered ? ' (recovered from slack)' : ''}`;
}

function finishEvtx(file: string, notes: NoteSink, reader: EvtxReader, result: ObserveResult): ObserveResult {
  // the reader's warnings, kind = its code (the sink caps repeats); carved slack that no longer parses is expected and only counted
  let unparsable = 0;
  let first = '';
  for (const w of reader.warnings) {
    if (w.code !== 'recovered-unparsable') notes.add({ file, level: 'warning', code: 'damaged', kind: w.code, message: `[${w.code}] ${w.message}` });
    else if (!unparsable++) first = w.message;
  }
  if (unparsable) notes.add({ file, level: 'warning', code: 'damaged', kind: 'recovered-unparsable', message: `[recovered-unparsable] ${unparsable} record signature(s) in slack did not parse (overwritten data); first: ${first}` });
  return result;
}

/** The EVTX file signature. */
export function isEvtx(head: Uint8Array): boolean {
  return head.length >= 8 && Buffer.from(head.buffer, head.byteOffset, 8).toString('latin1') === 'ElfFile\0';
}

/**
 * EVTX as an ordinary adapter: a file on disk (or a temporary copy) is read in place, chunk by chunk; a small archive
 * member from memory; a larger member is streamed to a temporary file first (the one policy of `containers/inflate.ts`).
 */
export const evtxAdapter: BinaryAdapter = {
  format: 'evtx',
  detectBytes: isEvtx,
  async observe(input, ctx) {
    if (input.path) return observeEvtx(input.name, ctx.notes, { path: input.path }, ctx.sigma);
    if (input.size <= INFLATE_POLICY.inMemory) return observeEvtx(input.name, ctx.notes, { data: await input.read() }, ctx.sigma);
    return withMaterialized(input.name, input.chunks(), async (copy) => observeEvtx(input.name, ctx.notes, copy.path ? { path: copy.path } : { data: await copy.read() }, ctx.sigma), input.size);
  },
};
