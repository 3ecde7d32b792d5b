/**
 * Observations from one event record in the EVTX layer's JSON shape: Sysmon 1/19/20/21, WMI-Activity
 * 5857-5861, PowerShell 800/4103/4104, Security 4688. Every event source (EVTX, exports, Velociraptor rows) ends here.
 */
import type { EvtxJsonObject } from '../../evtx/index.js';
import { eventHeader, powershellProcessId, powershellReconstructed, powershellTemporary, powershellUser, powershellWmiEvidence, sysmonWmiEvent, wmiActivityEvent } from '../../events/index.js';
import type { Observation, Part } from '../../model/types.js';
import { CONSUMER_CLASSES, normalizeNamespace } from '../../model/wmi.js';
import { objectPath } from '../../model/subscription.js';
import { canonicalTime } from '../../model/time.js';

type Values = Observation['properties'];

/** A MOF instance's properties (WMI-Activity 5861 PossibleCause) as observation properties: arrays joined with `, `. */
function mofProperties(props: Record<string, unknown>): Values {
  const d: Values = {};
  for (const [k, v] of Object.entries(props)) d[k] = Array.isArray(v) ? v.join(', ') : (v as string | number | boolean | null);
  return d;
}

function actionOf(op: string): Observation['action'] {
  const o = op.toLowerCase();
  return o === 'created' ? 'created' : o === 'deleted' ? 'deleted' : o === 'modified' ? 'modified' : 'mentioned';
}

/** `YYYY-MM-DD HH:MM:SS.mmm` (Sysmon UtcTime, milliseconds) → ISO-8601 UTC with seven fractional digits; null when not that shape. */
function sysmonUtc(t: string | null): string | null {
  if (!t) return null;
  return /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?$/.test(t.trim()) ? canonicalTime(t) : null;
}

function consumerClassOfType(type: string | null): string | null {
  if (!type) return null;
  const t = type.toLowerCase();
  return CONSUMER_CLASSES.find((c) => c.sysmonType?.toLowerCase() === t)?.className ?? null;
}

const PROCESS = /\\(scrcons|wmiprvse|mofcomp)\.exe$/i;

export function fromRecord(json: EvtxJsonObject, host: string, file: string, location: string): Observation[] {
  const base = { host, file, location };
  const s = sysmonWmiEvent(json);
  if (s) {
    const part: Part = s.part;
    // Sysmon's own fields (event id, Operation, RuleName, consumer Type) describe the record, not the object
    const meta: Values = { eventId: s.eventId, operation: s.operation, ruleName: s.ruleName };
    const properties: Values = {};
    let className: string | null = null;
    let namespace = 'ROOT\\subscription'; // Sysmon logs subscriptions of root\subscription only
    if (part === 'filter') {
      className = '__EventFilter';
      properties['Query'] = s.query;
      properties['EventNamespace'] = s.eventNamespace;
    } else if (part === 'consumer') {
      className = consumerClassOfType(s.consumerType);
      meta['Type'] = s.consumerType;
      properties[className === 'ActiveScriptEventConsumer' ? 'ScriptText' : 'CommandLineTemplate'] = s.destination;
    } else {
      className = '__FilterToConsumerBinding';
      // the binding's references as logged (object paths), so the consumer's class travels with its name
      properties['Filter'] = s.filterPath;
      properties['Consumer'] = s.consumerPath;
      if (s.consumer?.namespace) namespace = s.consumer.namespace;
    }
    return [{ ...base, source: 'sysmon', action: actionOf(s.operation), part, namespace, className, name: part === 'binding' ? null : s.name, time: sysmonUtc(s.utcTime) ?? s.time, user: s.user, properties, meta }];
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
      // the binding's Consumer property as logged (`CommandLineEventConsumer="X"`), else the path of the consumer
      // the MOF text shows; of the filter 5861 gives only the name
      const consumerRef = w.consumerPath ?? (consumerName !== null && consumerClass ? objectPath(consumerClass, consumerName) : consumerName);
      out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'binding', namespace: ns, className: '__FilterToConsumerBinding', name: null, time, user, properties: { Filter: w.filterName ?? null, Consumer: consumerRef }, meta: { eventId: 5861, PossibleCause: w.fields['PossibleCause'] ?? null } });
      if (fi) out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'filter', namespace: ns, className: '__EventFilter', name: (fi.properties['Name'] as string) ?? w.filterName ?? null, time, user: w.filterCreatorSid ?? user, properties: mofProperties(fi.properties), meta: { eventId: 5861 } });
      if (ci) out.push({ ...base, source: 'wmi-activity', action: 'activated', part: 'consumer', namespace: ns, className: ci.className, name: consumerName, time, user: w.consumerCreatorSid ?? user, properties: mofProperties(ci.properties), meta: { eventId: 5861 } });
      return out;
    }
    if (w.eventId === 5859) return [{ ...base, source: 'wmi-activity', action: 'activated', part: 'filter', namespace: w.namespace ?? null, className: '__EventFilter', name: null, time, user, properties: { Query: w.query ?? null }, meta: { eventId: 5859, Provider: w.fields['Provider'] ?? null, PossibleCause: w.fields['PossibleCause'] ?? null } }];
    if (w.eventId === 5857 && /eventconsumer|scrcons|wbemcons/i.test(`${w.providerName ?? ''} ${w.providerPath ?? ''}`))
      return [{ ...base, source: 'wmi-activity', action: 'executed', part: 'consumer', namespace: null, className: w.providerName ?? null, name: null, time, user, properties: {}, meta: { eventId: 5857, ProviderName: w.providerName ?? null, ProviderPath: w.providerPath ?? null, HostProcess: w.fields['HostProcess'] ?? null } }];
    return [];
  }
  const ps = powershellWmiEvidence(json);
  const rebuilt = powershellReconstructed(json);
  const temporary = powershellTemporary(json);
  if (ps.length || rebuilt.length || temporary.length) {
    // the record's security SID travels in meta when the text names the user, so the graph can name a 4104's SID;
    // the PowerShell process (the session) so that a temporary subscription joins what the same session made
    const { user, sid } = powershellUser(json);
    const pid = powershellProcessId(json);
    const userSid: Values = { ...(sid !== null && sid !== user ? { UserSid: sid } : {}), ...(pid !== null ? { processId: pid } : {}) };
    const time = eventHeader(json)?.time ?? null;
    const eventId = eventHeader(json)?.eventId ?? null;
    // objects rebuilt from the literals of the text: their names and values are what the script passed
    // an object the text builds without committing it is mentioned, not created (it makes no subscription of its own);
    // Set-CimInstance and Set-WmiInstance on a selected instance modify one
    const out: Observation[] = rebuilt.map((r) => ({ ...base, source: 'powershell', action: r.uncommitted ? 'mentioned' : r.modifies ? 'modified' : 'created', part: r.part, namespace: r.namespace, className: r.className, name: r.name, time, user, properties: { ...r.properties }, meta: { eventId, technique: r.technique, computedAtRunTime: r.computed.length ? r.computed.join(', ') : null, ...(r.uncommitted ? { notCreated: r.uncommitted } : {}), text: r.text.slice(0, 4000), ...userSid } }));
    // a temporary subscription is no WMI object: a mention of its query and action, tied to the session that made it
    for (const t of temporary)
      out.push({ ...base, source: 'powershell', action: 'mentioned', part: null, namespace: t.namespace === null ? null : normalizeNamespace(t.namespace), className: null, name: null, time, user, properties: {}, meta: { eventId, technique: t.technique, temporary: `temporary subscription: lives only in the PowerShell session that registered it${pid !== null ? ` (process ${pid})` : ''}, never in the repository; not persistence`, Query: t.query, SourceIdentifier: t.sourceIdentifier, Action: t.action, text: t.query ?? '', ...userSid } });
    const covered = (part: Part | null, cls: string | null): boolean => rebuilt.some((r) => r.part === part && r.className.toLowerCase() === (cls ?? '').toLowerCase());
    for (const p of ps) {
      const part: Part | null = p.className === '__EventFilter' ? 'filter' : p.className === '__FilterToConsumerBinding' ? 'binding' : p.className ? 'consumer' : null;
      if (covered(part, p.className)) continue;
      // a temporary subscription's query names classes (`… ISA '__EventConsumer'`) but creates none of them
      if (/^Register-(WmiEvent|CimIndicationEvent)$/.test(p.technique) && temporary.length) continue;
      // a literal Name in the arguments (`@{Name='x'; …}`), not the ParameterBinding lines (`name="Namespace"; value=…`)
      const name = /(?<![\w"])Name\s*=\s*(["'])([^"'$]+)\1(?!;\s*value=)/i.exec(p.text)?.[2] ?? null;
      // the command text names the object but gives no property values the analysis could trust: all of it is meta
      out.push({ ...base, source: 'powershell', action: 'created', part, namespace: p.namespace, className: p.className, name, time: p.time, user, properties: {}, meta: { eventId: p.eventId, technique: p.technique, text: p.text.slice(0, 4000), ...userSid } });
    }
    return out;
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
    return [{ ...base, source: 'process', action: 'executed', part: 'consumer', namespace: null, className: null, name: null, time: h.time, user: str('User') ?? str('SubjectUserName'), properties: {}, meta: { eventId: h.eventId, Image: image, ParentImage: parent, CommandLine: cmd } }];
  }
  return [];
}

