/**
 * Event fields recovered from a record's rendered message text, for exports that keep only the message
 * (NXLog `im_msvistalog` drops WMI-Activity's UserData; some pipelines drop Sysmon's EventData fields).
 *
 * Message templates (Microsoft-Windows-WMI-Activity provider manifest, as published in
 * nasbench/EVTX-ETW-Resources; field order from the UserData elements named in EricZimmerman/evtx maps):
 * - 5857 `%1 provider started with result code %2. HostProcess = %3; ProcessID = %4; ProviderPath = %5`
 *   → Operation_StartedOperational { ProviderName, Code, HostProcess, ProcessID, ProviderPath }
 * - 5858 `Id = %1; ClientMachine = %2; User = %3; ClientProcessId = %4; Component = %5; Operation = %6; ResultCode = %7; PossibleCause = %8`
 *   → Operation_ClientFailure { Id, ClientMachine, User, ClientProcessId, Component, Operation, ResultCode, PossibleCause }
 * - 5859 `Namespace = %1; NotificationQuery = %2; OwnerName = %3; HostProcessID = %4;  Provider= %5, queryID = %6; PossibleCause = %7`
 *   → Operation_EssStarted { NamespaceName, Query, User, Processid, Provider, queryid, PossibleCause }
 * - 5860 `Namespace = %1; NotificationQuery = %2; UserName = %3; ClientProcessID = %4, ClientMachine = %5; PossibleCause = %6`
 *   → Operation_TemporaryEssStarted { NamespaceName, Query, User, Processid, ClientMachine, PossibleCause }
 * - 5861 `Namespace = %1; Eventfilter = %2 (refer to its activate eventid:5859); Consumer = %3; PossibleCause = %4`
 *   → Operation_ESStoConsumerBinding { Namespace, ESS, CONSUMER, PossibleCause }
 *
 * Sysmon 19/20/21 messages are `<title>:` then one `Field: value` line per EventData field, in manifest order;
 * the value keeps its own leading space (`Name:  "x"`), and the last field may span lines.
 *
 * Values are attacker-controlled: labels are matched left to right at their first occurrence after the previous
 * field, and the last field takes the rest of the text. Nothing here throws.
 */

/** The UserData element of each WMI-Activity event id. */
export const WMI_ACTIVITY_ELEMENTS: Readonly<Record<number, string>> = {
  5857: 'Operation_StartedOperational',
  5858: 'Operation_ClientFailure',
  5859: 'Operation_EssStarted',
  5860: 'Operation_TemporaryEssStarted',
  5861: 'Operation_ESStoConsumerBinding',
};

/** One template: the text before the first field, then (field name, delimiter that follows it) pairs. */
interface Template {
  /** Pattern that must match at the start (label of the first field). */
  start: RegExp;
  fields: Array<{ name: string; next: RegExp | null }>;
}

const T: Record<number, Template> = {
  5858: {
    start: /^\s*Id\s*=\s?/,
    fields: [
      { name: 'Id', next: /;\s*ClientMachine\s*=\s?/ },
      { name: 'ClientMachine', next: /;\s*User\s*=\s?/ },
      { name: 'User', next: /;\s*ClientProcessId\s*=\s?/ },
      { name: 'ClientProcessId', next: /;\s*Component\s*=\s?/ },
      { name: 'Component', next: /;\s*Operation\s*=\s?/ },
      { name: 'Operation', next: /;\s*ResultCode\s*=\s?/ },
      { name: 'ResultCode', next: /;\s*PossibleCause\s*=\s?/ },
      { name: 'PossibleCause', next: null },
    ],
  },
  5859: {
    start: /^\s*Namespace\s*=\s?/,
    fields: [
      { name: 'NamespaceName', next: /;\s*NotificationQuery\s*=\s?/ },
      { name: 'Query', next: /;\s*OwnerName\s*=\s?/ },
      { name: 'User', next: /;\s*HostProcessID\s*=\s?/ },
      { name: 'Processid', next: /;\s*Provider\s*=\s?/ },
      { name: 'Provider', next: /,\s*queryID\s*=\s?/ },
      { name: 'queryid', next: /;\s*PossibleCause\s*=\s?/ },
      { name: 'PossibleCause', next: null },
    ],
  },
  5860: {
    start: /^\s*Namespace\s*=\s?/,
    fields: [
      { name: 'NamespaceName', next: /;\s*NotificationQuery\s*=\s?/ },
      { name: 'Query', next: /;\s*UserName\s*=\s?/ },
      { name: 'User', next: /;\s*ClientProcessID\s*=\s?/ },
      { name: 'Processid', next: /[,;]\s*ClientMachine\s*=\s?/ },
      { name: 'ClientMachine', next: /;\s*PossibleCause\s*=\s?/ },
      { name: 'PossibleCause', next: null },
    ],
  },
  5861: {
    start: /^\s*Namespace\s*=\s?/,
    fields: [
      { name: 'Namespace', next: /;\s*Eventfilter\s*=\s?/ },
      { name: 'ESS', next: /\s*\(refer to its activate eventid:5859\);\s*Consumer\s*=\s?/ },
      { name: 'CONSUMER', next: /;\s*PossibleCause\s*=\s?/ },
      { name: 'PossibleCause', next: null },
    ],
  },
};

/** Splits `text` by the template; null when the first label or any delimiter is missing. */
function byTemplate(text: string, t: Template): Record<string, string> | null {
  const m = t.start.exec(text);
  if (!m) return null;
  let pos = m[0].length;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const f of t.fields) {
    if (!f.next) {
      out[f.name] = text.slice(pos);
      break;
    }
    const re = new RegExp(f.next.source, 'g');
    re.lastIndex = pos;
    const d = re.exec(text);
    if (!d) return null;
    out[f.name] = text.slice(pos, d.index);
    pos = d.index + d[0].length;
  }
  return out;
}

/** 5857: the provider name comes first, before a fixed sentence. */
function provider5857(text: string): Record<string, string> | null {
  const s = /^\s*([\s\S]*?) provider started with result code (\S*?)\.\s+HostProcess\s*=\s?/.exec(text);
  if (!s) return null;
  const rest = byTemplate(text.slice(s[0].length), {
    start: /^/,
    fields: [
      { name: 'HostProcess', next: /;\s*ProcessID\s*=\s?/ },
      { name: 'ProcessID', next: /;\s*ProviderPath\s*=\s?/ },
      { name: 'ProviderPath', next: null },
    ],
  });
  if (!rest) return null;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  out['ProviderName'] = s[1]!;
  out['Code'] = s[2]!;
  for (const k of Object.keys(rest)) out[k] = rest[k]!;
  return out;
}

/**
 * The UserData element of a WMI-Activity 5857–5861 record rebuilt from its message text, or null when the
 * text does not follow the event's template.
 */
export function wmiActivityFromMessage(eventId: number, message: string): { element: string; fields: Record<string, string> } | null {
  const element = WMI_ACTIVITY_ELEMENTS[eventId];
  if (!element || typeof message !== 'string') return null;
  const fields = eventId === 5857 ? provider5857(message) : T[eventId] ? byTemplate(message, T[eventId]!) : null;
  return fields ? { element, fields } : null;
}

/** Sysmon WMI event fields in manifest order (wmi-tradecraft.md §2). */
export const SYSMON_WMI_FIELDS: Readonly<Record<number, readonly string[]>> = {
  19: ['RuleName', 'EventType', 'UtcTime', 'Operation', 'User', 'EventNamespace', 'Name', 'Query'],
  20: ['RuleName', 'EventType', 'UtcTime', 'Operation', 'User', 'Name', 'Type', 'Destination'],
  21: ['RuleName', 'EventType', 'UtcTime', 'Operation', 'User', 'Consumer', 'Filter'],
};

/**
 * Sysmon 19/20/21 EventData fields read back from the message (`WmiEventFilter activity detected:` then
 * `Field: value` lines). A field is cut at the next expected label at a line start; the last field takes the
 * rest (Destination may be a multi-line script). Labels that do not appear are left out. Null when the text
 * has none of the labels.
 */
export function sysmonWmiFromMessage(eventId: number, message: string): Record<string, string> | null {
  const names = SYSMON_WMI_FIELDS[eventId];
  if (!names || typeof message !== 'string') return null;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  // positions of each label at a line start, in order
  let pos = 0;
  const found: Array<{ name: string; at: number; value: number }> = [];
  for (const name of names) {
    const re = new RegExp(`(?:^|\\r?\\n)${name}: ?`, 'g');
    re.lastIndex = pos;
    const m = re.exec(message);
    if (!m) continue;
    found.push({ name, at: m.index, value: m.index + m[0].length });
    pos = m.index + m[0].length;
  }
  if (!found.length) return null;
  for (let i = 0; i < found.length; i++) {
    const end = i + 1 < found.length ? found[i + 1]!.at : message.length;
    out[found[i]!.name] = message.slice(found[i]!.value, end).replace(/\r?\n$/, '');
  }
  return out;
}
