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

/**
 * A label between two fields, as the template has it: `lead` (one of the literals; `;` in most templates), white
 * space, the label, white space, `=`, and at most one white space, which all belong to the delimiter.
 * `trimBefore`: white space before `lead` belongs to it too (it is not part of the value before it).
 */
interface Delimiter {
  lead: readonly string[];
  label: string;
  trimBefore?: boolean;
}

/** One template: the label of the first field (none: the first field starts the text), then each field and the delimiter that follows it. */
interface Template {
  start: string | null;
  fields: Array<{ name: string; next: Delimiter | null }>;
}

const semi = (label: string): Delimiter => ({ lead: [';'], label });

const T: Record<number, Template> = {
  5858: {
    start: 'Id',
    fields: [
      { name: 'Id', next: semi('ClientMachine') },
      { name: 'ClientMachine', next: semi('User') },
      { name: 'User', next: semi('ClientProcessId') },
      { name: 'ClientProcessId', next: semi('Component') },
      { name: 'Component', next: semi('Operation') },
      { name: 'Operation', next: semi('ResultCode') },
      { name: 'ResultCode', next: semi('PossibleCause') },
      { name: 'PossibleCause', next: null },
    ],
  },
  5859: {
    start: 'Namespace',
    fields: [
      { name: 'NamespaceName', next: semi('NotificationQuery') },
      { name: 'Query', next: semi('OwnerName') },
      { name: 'User', next: semi('HostProcessID') },
      { name: 'Processid', next: semi('Provider') },
      { name: 'Provider', next: { lead: [','], label: 'queryID' } },
      { name: 'queryid', next: semi('PossibleCause') },
      { name: 'PossibleCause', next: null },
    ],
  },
  5860: {
    start: 'Namespace',
    fields: [
      { name: 'NamespaceName', next: semi('NotificationQuery') },
      { name: 'Query', next: semi('UserName') },
      { name: 'User', next: semi('ClientProcessID') },
      { name: 'Processid', next: { lead: [',', ';'], label: 'ClientMachine' } },
      { name: 'ClientMachine', next: semi('PossibleCause') },
      { name: 'PossibleCause', next: null },
    ],
  },
  5861: {
    start: 'Namespace',
    fields: [
      { name: 'Namespace', next: semi('Eventfilter') },
      { name: 'ESS', next: { lead: ['(refer to its activate eventid:5859);'], label: 'Consumer', trimBefore: true } },
      { name: 'CONSUMER', next: semi('PossibleCause') },
      { name: 'PossibleCause', next: null },
    ],
  },
};

// Matching is by indexOf on literals and by stepping over white space, never by a regular expression on the
// message: every character is looked at a bounded number of times, whatever the text (a message is evidence).

/** `\s` of a regular expression, for the character at `i` (false past the end). */
function isSpace(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c !== c) return false; // NaN: past the end
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return c >= 0x80 && /\s/.test(text[i]!);
}

function skipSpace(text: string, i: number): number {
  while (isSpace(text, i)) i++;
  return i;
}

/** At `i`: white space, `label`, white space, `=`, at most one white space; the index after them, or -1. */
function labelAt(text: string, i: number, label: string): number {
  i = skipSpace(text, i);
  if (!text.startsWith(label, i)) return -1;
  i = skipSpace(text, i + label.length);
  if (text[i] !== '=') return -1;
  return isSpace(text, i + 1) ? i + 2 : i + 1;
}

/** The first delimiter `d` at or after `from`: where its lead starts and where the next value starts; null if none. */
function findDelimiter(text: string, d: Delimiter, from: number): { at: number; end: number } | null {
  // the next occurrence of each lead; each only moves forward
  const next = d.lead.map((l) => text.indexOf(l, from));
  for (;;) {
    let k = -1;
    for (let j = 0; j < next.length; j++) if (next[j]! >= 0 && (k < 0 || next[j]! < next[k]!)) k = j;
    if (k < 0) return null;
    const at = next[k]!;
    const end = labelAt(text, at + d.lead[k]!.length, d.label);
    if (end >= 0) return { at, end };
    next[k] = text.indexOf(d.lead[k]!, at + 1);
  }
}

/** Splits `text` by the template; null when the first label or any delimiter is missing. */
function byTemplate(text: string, t: Template): Record<string, string> | null {
  let pos = 0;
  if (t.start !== null) {
    pos = labelAt(text, 0, t.start);
    if (pos < 0) return null;
  }
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const f of t.fields) {
    if (!f.next) {
      out[f.name] = text.slice(pos);
      break;
    }
    const d = findDelimiter(text, f.next, pos);
    if (!d) return null;
    const value = text.slice(pos, d.at);
    out[f.name] = f.next.trimBefore ? value.trimEnd() : value;
    pos = d.end;
  }
  return out;
}

const STARTED = ' provider started with result code ';

const T5857_REST: Template = {
  start: null,
  fields: [
    { name: 'HostProcess', next: semi('ProcessID') },
    { name: 'ProcessID', next: semi('ProviderPath') },
    { name: 'ProviderPath', next: null },
  ],
};

/**
 * 5857: the provider name comes first, before a fixed sentence: `%1 provider started with result code %2.
 * HostProcess = …` (the code is the word before `.` and white space; the first such sentence counts).
 */
function provider5857(text: string): Record<string, string> | null {
  for (let at = text.indexOf(STARTED); at >= 0; at = text.indexOf(STARTED, at + 1)) {
    const codeFrom = at + STARTED.length;
    let i = codeFrom;
    while (i < text.length && !isSpace(text, i)) i++;
    // the code's word ends with `.`, then white space (at least one: the word ended on it) and HostProcess
    if (i === codeFrom || i >= text.length || text[i - 1] !== '.') continue;
    const end = labelAt(text, i, 'HostProcess');
    if (end < 0) continue;
    const rest = byTemplate(text.slice(end), T5857_REST);
    if (!rest) return null;
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    out['ProviderName'] = text.slice(0, at).trimStart();
    out['Code'] = text.slice(codeFrom, i - 1);
    for (const k of Object.keys(rest)) out[k] = rest[k]!;
    return out;
  }
  return null;
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
