/**
 * Adapters from evidence to observations: EVTX files (Sysmon 1/19/20/21, WMI-Activity 5857-5861,
 * PowerShell 800/4103/4104, Security 4688) and WMI repositories (live and residual subscription objects).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { EvtxFormatError, EvtxReader } from '../evtx/index.js';
import type { EvtxJsonObject } from '../evtx/index.js';
import { CimFormatError, CimRepository } from '../cim/index.js';
import type { CimResidualObject, CimSubscriptionObject, CimValue } from '../cim/index.js';
import { eventHeader, normalizeNamespace, powershellWmiEvidence, sysmonWmiEvent, wmiActivityEvent } from '../events/index.js';
import type { EvidenceItem, EvidenceNote, Observation, Part } from '../model/types.js';

/** Event ids worth reading for WMI subscriptions: the filter is pushed down to the reader. */
export const WMI_EVENT_IDS = [1, 19, 20, 21, 800, 4103, 4104, 4688, 5857, 5858, 5859, 5860, 5861];

type Details = Observation['details'];

function flat(v: CimValue): string | number | boolean | null {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(', ');
  return JSON.stringify(v);
}

function actionOf(op: string): Observation['action'] {
  const o = op.toLowerCase();
  return o === 'created' ? 'created' : o === 'deleted' ? 'deleted' : o === 'modified' ? 'modified' : 'mentioned';
}

/** `YYYY-MM-DD HH:MM:SS.mmm` (Sysmon UtcTime) → ISO-8601. */
function sysmonUtc(t: string | null): string | null {
  if (!t) return null;
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)$/.exec(t.trim());
  return m ? `${m[1]}T${m[2]}Z` : null;
}

function consumerClassOfType(type: string | null): string | null {
  if (!type) return null;
  const t = type.toLowerCase();
  if (t === 'command line') return 'CommandLineEventConsumer';
  if (t === 'script') return 'ActiveScriptEventConsumer';
  return null;
}

const PROCESS = /\\(scrcons|wmiprvse|mofcomp)\.exe$/i;

/** Observations from one EVTX file; the file's hosts and record span for the evidence list. */
/** What one log holds for one host: its channels and event ids (for coverage). */
export interface LogSummary {
  host: string;
  channels: string[];
  eventIds: number[];
}

export function observeEvtx(file: string, notes: EvidenceNote[], gzip = false): { observations: Observation[]; items: EvidenceItem[]; logs: LogSummary[] } {
  const obs: Observation[] = [];
  let reader: EvtxReader;
  try {
    // a gzip'd copy is decompressed in memory, bounded to 2 GiB
    reader = gzip ? EvtxReader.fromBuffer(gunzipSync(readFileSync(file), { maxOutputLength: 2 ** 31 - 1 }), { name: file }) : EvtxReader.open(file);
  } catch (e) {
    notes.push({ file, level: e instanceof EvtxFormatError ? 'skipped' : 'error', message: e instanceof Error ? e.message : String(e) });
    return { observations: [], items: [], logs: [] };
  }
  const perHost = new Map<string, { channels: Set<string>; records: number; first: string | null; last: string | null; ids: Set<number> }>();
  let firstComputer: string | null = null;
  try {
    for (const rec of reader.records({ recovered: true })) {
      // cheap per-record bookkeeping for coverage (which logs, which span), WMI records rendered only
      const channel = rec.channel ?? '';
      const wanted = WMI_EVENT_IDS.includes(rec.eventId ?? -1);
      let host = '';
      let json: EvtxJsonObject | null = null;
      if (wanted || firstComputer === null) {
        json = rec.toJSON();
        host = eventHeader(json)?.computer ?? '';
        if (firstComputer === null) firstComputer = host;
        if (!wanted) json = null;
      }
      const time = rec.timestamp;
      const key = host || '\u0000';
      let h = perHost.get(key);
      if (!h) perHost.set(key, (h = { channels: new Set(), records: 0, first: null, last: null, ids: new Set() }));
      h.channels.add(channel);
      h.records++;
      if (rec.eventId !== null) h.ids.add(rec.eventId);
      if (!rec.recovered) {
        if (!h.first || time < h.first) h.first = time;
        if (!h.last || time > h.last) h.last = time;
      }
      if (!json) continue;
      const where = `record ${rec.recordId} at offset ${rec.offset}${rec.recovered ? ' (recovered from slack)' : ''}`;
      obs.push(...fromRecord(json, host, file, where));
    }
  } catch (e) {
    notes.push({ file, level: 'error', message: `reading stopped: ${e instanceof Error ? e.message : String(e)}` });
  } finally {
    reader.close();
  }
  // one note per kind of damage; carved slack that no longer parses is expected and only counted
  const byCode = new Map<string, string[]>();
  for (const w of reader.warnings) byCode.set(w.code, [...(byCode.get(w.code) ?? []), w.message]);
  for (const [code, msgs] of byCode) {
    if (code === 'recovered-unparsable') notes.push({ file, level: 'warning', message: `[${code}] ${msgs.length} record signature(s) in slack did not parse (overwritten data); first: ${msgs[0]}` });
    else if (msgs.length > 3) notes.push({ file, level: 'warning', message: `[${code}] ${msgs.length} times; first: ${msgs[0]}` });
    else for (const m of msgs) notes.push({ file, level: 'warning', message: `[${code}] ${m}` });
  }
  // records without a WMI event id were not rendered: give them the file's (single) host when there is one
  const named = [...perHost.keys()].filter((k) => k !== '\u0000');
  const anon = perHost.get('\u0000');
  if (anon && named.length === 1) {
    const h = perHost.get(named[0]!)!;
    h.records += anon.records;
    anon.channels.forEach((c) => h.channels.add(c));
    anon.ids.forEach((c) => h.ids.add(c));
    if (anon.first && (!h.first || anon.first < h.first)) h.first = anon.first;
    if (anon.last && (!h.last || anon.last > h.last)) h.last = anon.last;
    perHost.delete('\u0000');
  }
  const items: EvidenceItem[] = [...perHost].map(([host, h]) => ({
    file,
    kind: 'evtx',
    host: host === '\u0000' ? '' : host,
    detail: `${[...h.channels].filter(Boolean).join(', ')}; event ids ${[...h.ids].sort((a, b) => a - b).join(',')}`,
    records: h.records,
    first: h.first,
    last: h.last,
  }));
  const logs: LogSummary[] = [...perHost].map(([host, h]) => ({ host: host === '\u0000' ? '' : host, channels: [...h.channels].filter(Boolean), eventIds: [...h.ids] }));
  return { observations: obs, items, logs };
}

function fromRecord(json: EvtxJsonObject, host: string, file: string, location: string): Observation[] {
  const base = { host, file, location };
  const s = sysmonWmiEvent(json);
  if (s) {
    const part: Part = s.part;
    const details: Details = { eventId: s.eventId, operation: s.operation, ruleName: s.ruleName };
    let className: string | null = null;
    let namespace = 'ROOT\\subscription'; // Sysmon logs subscriptions of root\subscription only
    if (part === 'filter') {
      className = '__EventFilter';
      details['Query'] = s.query;
      details['EventNamespace'] = s.eventNamespace;
    } else if (part === 'consumer') {
      className = consumerClassOfType(s.consumerType);
      details['Type'] = s.consumerType;
      details[className === 'ActiveScriptEventConsumer' ? 'ScriptText' : 'CommandLineTemplate'] = s.destination;
    } else {
      className = '__FilterToConsumerBinding';
      details['Filter'] = s.filter?.name ?? null;
      details['Consumer'] = s.consumer?.name ?? null;
      details['ConsumerClass'] = s.consumer?.className ?? null;
      if (s.consumer?.namespace) namespace = s.consumer.namespace;
    }
    return [{ ...base, source: 'sysmon', action: actionOf(s.operation), part, namespace, className, name: part === 'binding' ? null : s.name, time: sysmonUtc(s.utcTime) ?? s.time, user: s.user, details }];
  }
  const w = wmiActivityEvent(json);
  if (w) {
    const out: Observation[] = [];
    const time = w.time;
    const user = w.fields['User'] ?? null;
    if (w.eventId === 5861) {
      const ns = w.namespace ?? null;
      const fi = w.filterInstance;
      const ci = w.consumerInstance;
      const consumerClass = ci?.className ?? w.consumer?.className ?? null;
      const consumerName = (ci?.properties['Name'] as string | undefined) ?? w.consumer?.name ?? null;
      out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'binding', namespace: ns, className: '__FilterToConsumerBinding', name: null, time, user, details: { eventId: 5861, Filter: w.filterName ?? null, Consumer: consumerName, ConsumerClass: consumerClass, PossibleCause: w.fields['PossibleCause'] ?? null } });
      if (fi) {
        const d: Details = { eventId: 5861 };
        for (const [k, v] of Object.entries(fi.properties)) d[k] = Array.isArray(v) ? v.join(', ') : (v as string | number | boolean | null);
        out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'filter', namespace: ns, className: '__EventFilter', name: (fi.properties['Name'] as string) ?? w.filterName ?? null, time, user: w.filterCreatorSid ?? user, details: d });
      }
      if (ci) {
        const d: Details = { eventId: 5861 };
        for (const [k, v] of Object.entries(ci.properties)) d[k] = Array.isArray(v) ? v.join(', ') : (v as string | number | boolean | null);
        out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'consumer', namespace: ns, className: ci.className, name: consumerName, time, user: w.consumerCreatorSid ?? user, details: d });
      }
      return out;
    }
    if (w.eventId === 5859) return [{ ...base, source: 'wmi-activity', action: 'activated', part: 'filter', namespace: w.namespace ?? null, className: '__EventFilter', name: null, time, user, details: { eventId: 5859, Query: w.query ?? null, Provider: w.fields['Provider'] ?? null, PossibleCause: w.fields['PossibleCause'] ?? null } }];
    if (w.eventId === 5857 && /eventconsumer|scrcons|wbemcons/i.test(`${w.providerName ?? ''} ${w.providerPath ?? ''}`))
      return [{ ...base, source: 'wmi-activity', action: 'executed', part: 'consumer', namespace: null, className: w.providerName ?? null, name: null, time, user, details: { eventId: 5857, ProviderName: w.providerName ?? null, ProviderPath: w.providerPath ?? null, HostProcess: w.fields['HostProcess'] ?? null } }];
    return [];
  }
  const ps = powershellWmiEvidence(json);
  if (ps.length) {
    return ps.map((p) => {
      const part: Part | null = p.className === '__EventFilter' ? 'filter' : p.className === '__FilterToConsumerBinding' ? 'binding' : p.className ? 'consumer' : null;
      // a literal Name in the arguments (`@{Name='x'; …}`), not the ParameterBinding lines (`name="Namespace"; value=…`)
      const name = /(?<![\w"])Name\s*=\s*(["'])([^"'$]+)\1(?!;\s*value=)/i.exec(p.text)?.[2] ?? null;
      return { ...base, source: 'powershell', action: 'created', part, namespace: p.namespace, className: p.className, name, time: p.time, user: null, details: { eventId: p.eventId, technique: p.technique, text: p.text.slice(0, 4000) } };
    });
  }
  // process creation: the consumer hosts running, or mofcomp
  const h = eventHeader(json);
  if (h && (h.eventId === 1 || h.eventId === 4688)) {
    const ed = (json['Event'] as EvtxJsonObject)['EventData'] as EvtxJsonObject | null;
    if (!ed) return [];
    const str = (k: string): string | null => (typeof ed[k] === 'string' ? (ed[k] as string) : null);
    const image = str('Image') ?? str('NewProcessName');
    const parent = str('ParentImage') ?? str('ParentProcessName');
    const cmd = str('CommandLine');
    const hit = (image && PROCESS.test(image)) || (parent && /\\(scrcons|wmiprvse)\.exe$/i.test(parent));
    if (!hit) return [];
    return [{ ...base, source: 'process', action: 'executed', part: 'consumer', namespace: null, className: null, name: null, time: h.time, user: str('User') ?? str('SubjectUserName'), details: { eventId: h.eventId, Image: image, ParentImage: parent, CommandLine: cmd } }];
  }
  return [];
}

// ---- repository ------------------------------------------------------------------------------------------

function objDetails(values: Record<string, CimValue>): Details {
  const d: Details = {};
  for (const [k, v] of Object.entries(values)) d[k] = flat(v);
  return d;
}

function bindingDetails(o: { values: Record<string, CimValue> }): Details {
  const d = objDetails(o.values);
  const f = parseRef(typeof o.values['Filter'] === 'string' ? (o.values['Filter'] as string) : '');
  const c = parseRef(typeof o.values['Consumer'] === 'string' ? (o.values['Consumer'] as string) : '');
  d['FilterName'] = f?.name ?? null;
  d['ConsumerName'] = c?.name ?? null;
  d['ConsumerClass'] = c?.className ?? null;
  return d;
}

function parseRef(ref: string): { className: string; name: string | null; namespace: string | null } | null {
  const m = /^(?:(.*):)?([A-Za-z_]\w*)\.Name="((?:[^"\\]|\\.)*)"/s.exec(ref.trim());
  if (!m) return null;
  return { namespace: m[1] ? normalizeNamespace(m[1]) : null, className: m[2]!, name: m[3]!.replace(/\\(.)/g, '$1') };
}

/** Observations from a repository: every live subscription object and every residual one. */
export function observeRepository(dir: string, host: string, notes: EvidenceNote[]): { observations: Observation[]; item: EvidenceItem | null; chains: Map<string, string[]> } {
  let repo: CimRepository;
  try {
    repo = CimRepository.open(dir);
  } catch (e) {
    notes.push({ file: dir, level: e instanceof CimFormatError ? 'skipped' : 'error', message: e instanceof Error ? e.message : String(e) });
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
      details: o.kind === 'binding' ? bindingDetails(o) : objDetails(o.values),
    });
  };
  [...subs.filters, ...subs.consumers, ...subs.bindings].forEach(live);
  const residual = (r: CimResidualObject): void => {
    obs.push({
      host,
      source: 'cim-residue',
      action: 'residual',
      part: r.kind,
      namespace: r.namespace,
      className: r.className,
      name: r.kind === 'binding' ? null : typeof r.values['Name'] === 'string' ? (r.values['Name'] as string) : null,
      time: r.timestamp1,
      user: r.creatorSid,
      file: `${dir}/${r.file}`,
      location: `${r.source} at offset ${r.offset} (confidence ${r.confidence})`,
      details: r.kind === 'binding' ? bindingDetails(r) : objDetails(r.values),
    });
  };
  repo.residue().forEach(residual);
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
      details: { [b.property]: b.value },
    });
  }
  for (const w of repo.warnings) notes.push({ file: dir, level: 'warning', message: `[${w.code}] ${w.message}` });
  const item: EvidenceItem = { file: dir, kind: 'cim', host, detail: `WMI repository ${repo.version}, ${repo.mapping.current}, ${repo.namespaces().length} namespaces`, records: repo.keys().length, first, last };
  return { observations: obs, item, chains };
}
