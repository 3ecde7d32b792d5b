/**
 * The field view of one event record in the EVTX layer's JSON shape (the Rust `evtx` crate's):
 * `{ Event: { System: {...}, EventData: {...} | UserData: { <Element>: {...} } } }`.
 *
 * What a Sigma field name reads:
 * - `System` values under their own names (`EventID`, `Channel`, `Computer`, `Level`, `Task`, `Keywords`,
 *   `EventRecordID`, …), `Provider_Name` (the provider's Name attribute, as the Sigma taxonomy spells it);
 * - every `EventData` field, and every field of the one element under `UserData` (WMI-Activity writes its
 *   fields there: `Operation`, `Consumer`, `PossibleCause`, …);
 * - unnamed `<Data>` items (classic PowerShell 400/600/800) as the one multi-valued field `Data`, plus the
 *   `Key=Value` lines of those items (`HostApplication`, `HostName`, `EngineVersion`, …) as fields of their own
 *   when the event does not already have a field of that name (as Hayabusa and Chainsaw extract them);
 * - for Security 4688, the names Sigma's Windows audit pipeline maps to: `Image` → `NewProcessName`,
 *   `ParentImage` → `ParentProcessName`, `LogonId` → `SubjectLogonId`, and `IntegrityLevel` from
 *   `MandatoryLabel` (S-1-16-8192 → Medium, …).
 * Field names are matched case-insensitively. A value is the text of a string, number or boolean, or the `#text`
 * of an element; a field holding a list has several values (a test matches when any value does).
 * Counts are bounded: an attacker-written event cannot make the view large.
 */

/** At most this many fields are read from one event (the rest are ignored). */
export const MAX_FIELDS = 512;
/** At most this many values per field (a `Data` list), and Key=Value lines parsed from classic data. */
export const MAX_VALUES = 64;

export interface Field {
  /** The field name as the event spells it. */
  name: string;
  /** Text values; a field present with no value (JSON null: an empty element) has one empty string. */
  values: string[];
  /** Present with no value (JSON null): matches `null` and `''` in a rule. */
  empty?: boolean;
  /** Values case-folded, computed on first use. */
  lower?: string[];
}

export interface EventView {
  /** By lower-case field name. */
  fields: Map<string, Field>;
  /** Names of the fields from EventData/UserData (what keyword lists search). */
  data: Field[];
  channel: string | null;
  provider: string | null;
  eventId: number | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Text of a scalar or `{ "#text": … }` element; null for null/absent, undefined for shapes that carry no text. */
function textOf(v: unknown): string | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (isRecord(v) && '#text' in v) return textOf(v['#text']);
  return undefined;
}

/**
 * The texts of a JSON field; null when it holds no value (JSON null: an empty element); undefined when it carries no
 * text (a nested element).
 */
function valuesOf(v: unknown): string[] | null | undefined {
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const item of v.slice(0, MAX_VALUES)) {
      const t = textOf(item);
      if (typeof t === 'string') out.push(t);
    }
    return out;
  }
  if (isRecord(v) && Array.isArray(v['#text'])) return valuesOf(v['#text']);
  const t = textOf(v);
  return t === undefined ? undefined : t === null ? null : [t];
}

/** An EventID of any shape the reader writes (number, digit string, `{ "#text": … }`), or null. */
export function eventIdOf(v: unknown): number | null {
  const t = textOf(v);
  if (typeof t !== 'string' || !/^\d{1,10}$/.test(t.trim())) return null;
  return Number(t.trim());
}

/** The System facts logsource resolution needs, without building the whole view. */
export function systemOf(event: unknown): { channel: string | null; provider: string | null; eventId: number | null } {
  const sys = isRecord(event) && isRecord(event['Event']) && isRecord(event['Event']['System']) ? event['Event']['System'] : null;
  if (!sys) return { channel: null, provider: null, eventId: null };
  const channel = textOf(sys['Channel']);
  const prov = sys['Provider'];
  const attrs = isRecord(prov) && isRecord(prov['#attributes']) ? prov['#attributes'] : null;
  const provider = attrs ? textOf(attrs['Name']) : undefined;
  return {
    channel: typeof channel === 'string' ? channel : null,
    provider: typeof provider === 'string' ? provider : null,
    eventId: eventIdOf(sys['EventID']),
  };
}

/** Sysmon's IntegrityLevel words for the mandatory-label SIDs Security 4688 writes. */
const INTEGRITY_BY_SID: Record<string, string> = {
  'S-1-16-0': 'Untrusted',
  'S-1-16-4096': 'Low',
  'S-1-16-8192': 'Medium',
  'S-1-16-12288': 'High',
  'S-1-16-16384': 'System',
};

/** Sigma field names of Security 4688 (Windows audit pipeline) → the event's field names. */
const SECURITY_4688_ALIASES: Record<string, string> = {
  Image: 'NewProcessName',
  ParentImage: 'ParentProcessName',
  LogonId: 'SubjectLogonId',
};

export function buildView(event: unknown): EventView {
  const fields = new Map<string, Field>();
  const data: Field[] = [];
  const sys = systemOf(event);
  const view: EventView = { fields, data, ...sys };
  const ev = isRecord(event) && isRecord(event['Event']) ? event['Event'] : null;
  if (!ev) return view;
  const add = (name: string, values: string[] | null, isData: boolean): void => {
    if (fields.size >= MAX_FIELDS) return;
    const key = name.toLowerCase();
    if (fields.has(key)) return;
    const f: Field = values === null ? { name, values: [''], empty: true } : { name, values };
    fields.set(key, f);
    if (isData) data.push(f);
  };
  const system = isRecord(ev['System']) ? ev['System'] : {};
  for (const [k, v] of Object.entries(system)) {
    if (k === 'EventID') {
      if (sys.eventId !== null) add('EventID', [String(sys.eventId)], false);
      continue;
    }
    const vals = valuesOf(v);
    if (vals !== undefined) add(k, vals, false);
  }
  if (sys.provider !== null) add('Provider_Name', [sys.provider], false);
  const readData = (obj: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (k === '#attributes') continue;
      const vals = valuesOf(v);
      if (vals !== undefined) add(k, vals, true);
    }
  };
  const ed = ev['EventData'];
  if (isRecord(ed)) readData(ed);
  else if (ed !== undefined && ed !== null) {
    const vals = valuesOf(ed);
    if (vals !== undefined) add('Data', vals, true);
  }
  const ud = ev['UserData'];
  if (isRecord(ud)) {
    for (const [k, v] of Object.entries(ud)) {
      if (k === '#attributes') continue;
      if (isRecord(v)) readData(v);
    }
  }
  // classic PowerShell: Key=Value lines inside the unnamed Data items
  const dataField = fields.get('data');
  if (dataField) {
    let n = 0;
    for (const item of dataField.values) {
      if (!item.includes('=')) continue;
      for (const line of item.split(/\r?\n/)) {
        const m = /^\s*([A-Za-z][A-Za-z0-9]{0,63})=(.*)$/.exec(line);
        if (!m) continue;
        if (++n > MAX_VALUES) break;
        add(m[1]!, [m[2]!.trimEnd()], true);
      }
    }
  }
  if (sys.eventId === 4688 && sys.channel?.toLowerCase() === 'security') {
    for (const [sigmaName, eventName] of Object.entries(SECURITY_4688_ALIASES)) {
      const f = fields.get(eventName.toLowerCase());
      if (f && !fields.has(sigmaName.toLowerCase())) fields.set(sigmaName.toLowerCase(), f);
    }
    const label = fields.get('mandatorylabel');
    const word = label?.values[0] !== undefined ? INTEGRITY_BY_SID[label.values[0].toUpperCase()] : undefined;
    if (word && !fields.has('integritylevel')) fields.set('integritylevel', { name: 'IntegrityLevel', values: [word] });
  }
  return view;
}

/** The field's values case-folded (computed once per event). */
export function lowerValues(f: Field): string[] {
  return (f.lower ??= f.values.map((v) => v.toLowerCase()));
}
