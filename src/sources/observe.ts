/**
 * Adapters from raw evidence to observations: EVTX files (event records go through `events.ts`) and WMI
 * repositories (live and residual subscription objects).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EvtxFormatError, EvtxReader } from '../evtx/index.js';
import type { EvtxJsonObject } from '../evtx/index.js';
import { CimFormatError, CimRepository } from '../cim/index.js';
import type { CimResidualObject, CimSubscriptionObject, CimValue } from '../cim/index.js';
import { WMI_EVENT_IDS } from '../model/wmi.js';
import type { EvidenceItem, Observation } from '../model/types.js';
import type { NoteSink } from './notes.js';
import { emptyResult } from './input.js';
import type { ObserveResult, RepositorySummary } from './input.js';
import { fromRecord } from './events.js';
import { HostTally } from './records.js';

type Values = Observation['properties'];

function flat(v: CimValue): string | number | boolean | null {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(', ');
  return JSON.stringify(v);
}

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
export function observeEvtx(file: string, notes: NoteSink, gzip = false, data?: Buffer): ObserveResult {
  let reader: EvtxReader;
  try {
    // a gzip'd copy is decompressed in memory, bounded to 2 GiB
    if (data) reader = EvtxReader.fromBuffer(gzip ? gunzipSync(data, { maxOutputLength: 2 ** 31 - 1 }) : data, { name: file });
    else reader = gzip ? EvtxReader.fromBuffer(gunzipSync(readFileSync(file), { maxOutputLength: 2 ** 31 - 1 }), { name: file }) : EvtxReader.open(file);
  } catch (e) {
    notes.add({ file, level: e instanceof EvtxFormatError ? 'skipped' : 'error', code: e instanceof EvtxFormatError ? 'not-evidence' : 'failed', message: e instanceof Error ? e.message : String(e) });
    return emptyResult();
  }
  const obs: Observation[] = [];
  const tally = new HostTally();
  // allocated records by header number → EventRecordID (-1: none), to tell slack copies of them from records only slack holds
  const allocated = new Map<number, number>();
  // the Computer of each chunk's allocated records ('' once two differ): carved records name none of their own
  const chunkHost = new Map<number, string>();
  const carved: Array<{ header: number; eventRecordId: number; chunk: number; channel: string | null; eventId: number | null; wanted: boolean; json: EvtxJsonObject | null; where: string; recordId: number | null; time: string | null }> = [];
  let unnamed = 0;
  try {
    for (const rec of reader.records({ recovered: true })) {
      const id = rec.identity;
      const eventId = rec.eventId;
      const wanted = WMI_EVENT_IDS.includes(eventId ?? -1);
      if (rec.recovered) {
        carved.push({ header: rec.recordId, eventRecordId: id.eventRecordId ?? -1, chunk: rec.chunk, channel: rec.channel, eventId, wanted, json: wanted ? rec.toJSON() : null, where: recordWhere(id.eventRecordId, rec.recordId, rec.offset, true), recordId: id.eventRecordId, time: id.timeCreated });
        continue;
      }
      allocated.set(rec.recordId, id.eventRecordId ?? -1);
      const host = id.computer ?? '';
      if (!host) unnamed++;
      const ch = chunkHost.get(rec.chunk);
      if (ch === undefined) chunkHost.set(rec.chunk, host);
      else if (ch !== host) chunkHost.set(rec.chunk, '');
      tally.add(host, rec.channel, eventId, id.timeCreated, id.eventRecordId, rec.recordId);
      if (!wanted) continue;
      for (const o of fromRecord(rec.toJSON(), host, file, recordWhere(id.eventRecordId, rec.recordId, rec.offset, false))) obs.push(o);
    }
  } catch (e) {
    notes.add({ file, level: 'error', code: 'failed', message: `reading stopped: ${e instanceof Error ? e.message : String(e)}` });
  } finally {
    reader.close();
  }
  // carved records: the host of their chunk's allocated records, else the file's only host, else none
  const only = tally.hosts().length === 1 ? tally.hosts()[0]! : '';
  let carvedUnnamed = 0;
  for (const c of carved) {
    if (allocated.get(c.header) === c.eventRecordId) continue;
    const host = chunkHost.get(c.chunk) || only;
    if (!host) carvedUnnamed++;
    tally.addRecovered(host, c.channel, c.eventId);
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
  return finishEvtx(file, notes, reader, { observations: obs, items, logs, hostLinks: tally.renames().map((r) => ({ names: [r.from, r.to], why: r.why })) });
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

// ---- repository ------------------------------------------------------------------------------------------

/** A repository object's property values as observation properties (the binding's references are object paths). */
function objProperties(values: Record<string, CimValue>): Values {
  const d: Values = {};
  for (const [k, v] of Object.entries(values)) d[k] = flat(v);
  return d;
}

/** Where a residual object was found (each place) and what it is to the live repository. */
function residueLocation(r: CimResidualObject): string {
  const where = r.provenance
    .map((p) => `${p.source} at ${p.file} offset ${p.offset}${p.record ? ` (its record held by ${p.record.mapping} at OBJECTS.DATA offset ${p.record.offset})` : p.record === null ? ' (record gone)' : ''}`)
    .join(' + ');
  const what =
    r.relation === 'older-version-of-live'
      ? `older version of the live object${r.changed === null ? '' : r.changed.length ? `; differs in ${r.changed.join(', ')}` : ''}`
      : 'no live object has its key';
  return `${where} (confidence ${r.confidence}; ${what})`;
}

/** What a repository gives: observations, its evidence item, and each consumer class's inheritance chain (`ns|class` → chain). */
export interface RepositoryResult {
  observations: Observation[];
  item: EvidenceItem | null;
  chains: Map<string, string[]>;
  /** For coverage: the span of its subscription objects and its files' last-write times. */
  repository?: RepositorySummary;
}

const REPO_FILE = /^(OBJECTS\.DATA|INDEX\.BTR|MAPPING[1-3]?\.MAP|MAPPING\.VER|INDEX\.MAP|OBJECTS\.MAP)(\.gz)?$/i;

/** Last-write times of the repository files in `dir` (empty when it is not a folder on disk). */
function repositoryFileTimes(dir: string): RepositorySummary['files'] {
  try {
    return readdirSync(dir)
      .filter((n) => REPO_FILE.test(n))
      .sort()
      .flatMap((n) => {
        const st = statSync(path.join(dir, n));
        return st.isFile() ? [{ name: n, modified: st.mtime.toISOString() }] : [];
      });
  } catch {
    return [];
  }
}

/**
 * Observations from a repository (a folder, or its files as bytes with `dir` as the label): every live
 * subscription object and every residual one.
 */
export function observeRepository(dir: string, host: string, notes: NoteSink, files?: ReadonlyMap<string, Uint8Array>): RepositoryResult {
  let repo: CimRepository;
  try {
    repo = CimRepository.open(dir, files ? { files } : {});
  } catch (e) {
    notes.add({ file: dir, level: e instanceof CimFormatError ? 'skipped' : 'error', code: 'failed', message: e instanceof Error ? e.message : String(e) });
    return { observations: [], item: null, chains: new Map() };
  }
  const obs: Observation[] = [];
  const chains = new Map<string, string[]>();
  const subs = repo.subscriptions();
  let first: string | null = null;
  let last: string | null = null;
  const live = (o: CimSubscriptionObject): void => {
    const ns = o.namespace ?? `NS_${o.namespaceHash}`;
    const t = o.timestamp1;
    if (!first || t < first) first = t;
    if (!last || t > last) last = t;
    if (o.kind === 'consumer') chains.set(`${ns.toLowerCase()}|${o.className.toLowerCase()}`, o.classChain);
    obs.push({
      host,
      source: 'cim',
      action: 'present',
      part: o.kind,
      namespace: ns,
      className: o.className,
      name: o.kind === 'binding' ? null : typeof o.values['Name'] === 'string' ? (o.values['Name'] as string) : null,
      time: t,
      user: o.creatorSid,
      file: `${dir} (${repo.mapping.current})`,
      location: o.location.key,
      properties: objProperties(o.values),
      meta: {},
    });
  };
  [...subs.filters, ...subs.consumers, ...subs.bindings].forEach(live);
  // residue: an old copy of a live object is no observation (it is counted); an older version is history of the
  // live object (in its namespace); only what no live object explains is residual evidence of a deletion
  const residue = repo.residue();
  const copies = residue.filter((r) => r.relation === 'copy-of-live').length;
  const residual = (r: CimResidualObject): void => {
    if (r.relation === 'copy-of-live') return;
    const liveNs = [...new Set(r.live.map((l) => l.namespace ?? `NS_${l.namespaceHash}`))];
    obs.push({
      host,
      source: 'cim-residue',
      action: 'residual',
      part: r.kind,
      namespace: r.namespace ?? (liveNs.length === 1 ? liveNs[0]! : null),
      className: r.className,
      name: r.kind === 'binding' ? null : typeof r.values['Name'] === 'string' ? (r.values['Name'] as string) : null,
      time: r.timestamp1,
      user: r.creatorSid,
      file: `${dir}/${r.file}`,
      location: residueLocation(r),
      properties: objProperties(r.values),
      meta: {},
    });
  };
  residue.forEach(residual);
  // payload storage: large strings in class defaults or instances (the rules decide what they mean)
  for (const b of repo.largeStrings()) {
    obs.push({
      host,
      source: 'cim',
      action: 'present',
      part: null,
      namespace: b.namespace ?? `NS_${b.namespaceHash}`,
      className: b.className,
      name: null,
      time: null,
      user: null,
      file: `${dir} (${repo.mapping.current})`,
      location: `${b.where}, ${b.location.key}`,
      properties: { [b.property]: b.value },
      meta: {},
    });
  }
  for (const w of repo.warnings) notes.add({ file: dir, level: 'warning', code: 'damaged', kind: w.code, message: `[${w.code}] ${w.message}` });
  const detail = `WMI repository ${repo.version}, ${repo.mapping.current}, ${repo.namespaces().length} namespaces${copies ? `, ${copies} old ${copies === 1 ? 'copy' : 'copies'} of live subscription objects in residue (not deletions)` : ''}`;
  const item: EvidenceItem = { file: dir, kind: 'cim', host, detail, sources: ['cim'], records: repo.keys().length, first, last };
  const repository: RepositorySummary = { host, file: dir, objectsFirst: first, objectsLast: last, files: files ? [] : repositoryFileTimes(dir) };
  return { observations: obs, item, chains, repository };
}
