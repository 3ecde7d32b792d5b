/**
 * Our side of the differential EVTX tests: records from `src/evtx` as {@link RefRecord}s, so
 * they can be compared with the reference tools' records by `diffRefRecords`.
 *
 * The conversion maps our JSON (Rust `evtx` crate shape) back to what the XML text of the
 * record would be, then applies exactly the flattening of `extractData` in reference.ts:
 *
 * - System: `EventRecordID`, `EventID` (number, or `{"#attributes": {"Qualifiers": q}, "#text": id}`),
 *   `Channel`, `Computer`, `Provider/#attributes/Name`, `TimeCreated/#attributes/SystemTime`
 *   (7 fractional digits, so `filetime` is exact and `timesMatch` can check python-evtx's
 *   float-rounded µs as well as libevtx's exact digits).
 * - EventData: `"X": v` → `X`; a repeated name `"X_1"` → `X[1]` (reference numbering);
 *   `"Data": {"#text": v | [v, …]}` → `Data[0]`, `Data[1]`, … (string arrays flattened, one
 *   entry per string, as libevtx prints one `<Data>` per string); `"Binary": "HEX"` → `Binary`.
 *   An object value (an element inside EventData) → leaf paths, like `leaves()`.
 * - UserData (and any other payload element): leaf paths below UserData, e.g.
 *   `Operation_ClientFailure/Id`; attributes as `path/@attr` (xmlns skipped); `Name_1` keys are
 *   repeated sibling names and map back to `Name` (the reference adds `[n]` to the full path).
 * - Values as the XML text would print them: strings as they are, numbers in decimal,
 *   booleans `true`/`false`, NULL → '' (dropped like the reference's empty values), then
 *   `normalizeValue` (GUIDs → `{UPPER}`, restricted control chars deleted, …).
 */
import { EvtxReader, type EvtxRecord } from '../../src/evtx/index.js';
import type { EvtxJsonObject, EvtxValue, EvtxWarning } from '../../src/evtx/index.js';
import { dataPutter, dataValuesEquivalent, normalizeValue, parseSystemTime, timesMatch, type RefRecord } from './reference.js';

/** A RefRecord built from one of our records, plus what only our parser knows. */
export interface OurRecord extends RefRecord {
  /** Record id from the record header (`rec.recordId`). */
  headerRecordId: number;
  /** `rec.eventId` (number even for template-less records, null when unknown). */
  ourEventId: number | null;
  recovered: boolean;
  /** `rec.timestamp` (record header time, 7 digits). */
  timestamp: string;
  /** Chunk slot and file offset of the record header (for messages). */
  chunk: number;
  offset: number;
  warnings: string[];
  /** The record's JSON, for targeted assertions. */
  json: EvtxJsonObject;
}

export interface OurResult {
  records: OurRecord[];
  warnings: EvtxWarning[];
  durationMs: number;
}

/** Read a file with our parser (allocated records, or allocated + carved with `recovered`). */
export function readOurs(file: string, opts: { recovered?: boolean } = {}): OurResult {
  const start = performance.now();
  const r = EvtxReader.open(file);
  const records: OurRecord[] = [];
  try {
    for (const rec of r.records({ recovered: opts.recovered === true })) records.push(toRefRecord(rec));
  } finally {
    r.close();
  }
  return { records, warnings: [...r.warnings], durationMs: performance.now() - start };
}

function isObject(v: EvtxValue | undefined): v is EvtxJsonObject {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}

/** Text of a scalar value as the references print it in XML. */
export function valueText(v: EvtxValue | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return v.map(valueText).join(',');
  // an element value {"#attributes": …, "#text": …}
  return valueText(v['#text']);
}

/** `Name_3` → `Name` when `Name` (the first of the repeated siblings) is among `keys`. */
function baseName(key: string, keys: readonly string[]): string {
  const m = /^(.*)_(\d+)$/.exec(key);
  if (m && m[1] !== undefined && keys.includes(m[1])) return m[1];
  return key;
}

export function toRefRecord(rec: EvtxRecord): OurRecord {
  const json = rec.toJSON();
  const ev = isObject(json.Event) ? json.Event : {};
  const sys = isObject(ev.System) ? ev.System : {};
  const eid = sys.EventID;
  let eventIdText: string;
  let qualifiers: number | undefined;
  if (isObject(eid)) {
    eventIdText = valueText(eid['#text']);
    const attrs = isObject(eid['#attributes']) ? eid['#attributes'] : {};
    const q = attrs.Qualifiers;
    if (q !== undefined && q !== null && q !== '') qualifiers = Number(q);
  } else eventIdText = valueText(eid);
  const provider = isObject(sys.Provider) && isObject(sys.Provider['#attributes']) ? sys.Provider['#attributes'].Name : undefined;
  const tc = isObject(sys.TimeCreated) && isObject(sys.TimeCreated['#attributes']) ? sys.TimeCreated['#attributes'].SystemTime : undefined;
  const systemTime = valueText(tc);
  const t = parseSystemTime(systemTime);
  const ridText = valueText(sys.EventRecordID);
  const out: OurRecord = {
    recordId: /^\d+$/.test(ridText) ? Number(ridText) : -1,
    eventId: /^\d+$/.test(eventIdText.trim()) ? Number(eventIdText.trim()) : -1,
    channel: normalizeValue(valueText(sys.Channel)),
    provider: normalizeValue(valueText(provider)),
    computer: normalizeValue(valueText(sys.Computer)),
    systemTime,
    timeMicros: t?.micros ?? '',
    data: extractOurData(ev),
    headerRecordId: rec.recordId,
    ourEventId: rec.eventId,
    recovered: rec.recovered,
    timestamp: rec.timestamp,
    chunk: rec.chunk,
    offset: rec.offset,
    warnings: [...rec.warnings],
    json,
  };
  if (qualifiers !== undefined && Number.isFinite(qualifiers)) out.qualifiers = qualifiers;
  if (t?.filetime !== undefined) out.filetime = t.filetime.toString();
  return out;
}

/** EventData/UserData of our `Event` object, flattened like reference.ts `extractData`. */
export function extractOurData(ev: EvtxJsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  const put = dataPutter(out);
  const evKeys = Object.keys(ev);
  let unnamed = 0;
  for (const sectionKey of evKeys) {
    const section = ev[sectionKey];
    const name = baseName(sectionKey, evKeys);
    if (name === '#attributes' || name === 'System' || name === 'RenderingInfo') continue;
    if (name === 'EventData') {
      if (!isObject(section)) continue;
      const keys = Object.keys(section);
      for (const key of keys) {
        if (key === '#attributes' || key === '#text') continue;
        const v = section[key];
        const k = baseName(key, keys);
        if (k === 'Data' && isObject(v) && Object.keys(v).length === 1 && '#text' in v) {
          // unnamed <Data> elements (one per string of a string array)
          for (const s of flat(v['#text'])) {
            const n = normalizeValue(s);
            if (n !== '') put(`Data[${unnamed++}]`, n);
          }
        } else if (k === 'Binary' && typeof v === 'string') {
          put('Binary', v.toUpperCase());
        } else if (isObject(v)) {
          leaves(v, k, put);
        } else if (Array.isArray(v)) {
          // a string array in a named Data: one <Data Name="k"> per string
          for (const s of flat(v)) put(k, normalizeValue(s));
        } else {
          put(k, normalizeValue(valueText(v)));
        }
      }
    } else if (name === 'UserData') {
      if (!isObject(section)) continue;
      const keys = Object.keys(section);
      for (const key of keys) {
        if (key === '#attributes' || key === '#text') continue;
        leavesOf(section[key], baseName(key, keys), put);
      }
    } else {
      leavesOf(section, name, put);
    }
  }
  return out;
}

function flat(v: EvtxValue | undefined): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => flat(x));
  return [valueText(v)];
}

function leavesOf(v: EvtxValue | undefined, path: string, put: (k: string, v: string) => void): void {
  if (isObject(v)) leaves(v, path, put);
  else if (Array.isArray(v)) for (const s of flat(v)) put(path, normalizeValue(s));
  else put(path, normalizeValue(valueText(v)));
}

/** Like reference.ts `leaves()`: attributes, then either the text (leaf) or the child elements. */
function leaves(el: EvtxJsonObject, path: string, put: (k: string, v: string) => void): void {
  const attrs = el['#attributes'];
  if (isObject(attrs)) {
    for (const [a, v] of Object.entries(attrs)) {
      if (a === 'xmlns' || a.startsWith('xmlns:')) continue;
      put(`${path}/@${a}`, normalizeValue(valueText(v)));
    }
  }
  const keys = Object.keys(el).filter((k) => k !== '#attributes' && k !== '#text');
  if (keys.length === 0) {
    if ('#text' in el) put(path, normalizeValue(valueText(el['#text'])));
    return;
  }
  for (const k of keys) leavesOf(el[k], `${path}/${baseName(k, keys)}`, put);
}

// ---------------------------------------------------------------------------------------
// Comparison

/** One field that differs: `recordId`, `eventId`, …, `time`, or `data:<key>`. */
export interface FieldDiff {
  key: string;
  ours: string | undefined;
  ref: string | undefined;
}

export interface OursVsRef {
  diffs: FieldDiff[];
  /** Data values equal only after {@link hexPaddingEquivalent} (counted, not a difference). */
  hexPadded: number;
}

/**
 * HexInt32/HexInt64 values: we print them like the Rust `evtx` crate and like Windows' own
 * XML rendering, lowercase without padding (`0x3e7`, `0x0`); both reference tools zero-pad to
 * the type's width (python-evtx `"0x%08x"`/`"0x%016x"`, libevtx the same): LogonId
 * `0x00000000000003e7`, Status `0x00000000` (evtx/security.evtx and most Security/Sysmon
 * files). Same number, different print width → equal.
 */
export function hexPaddingEquivalent(ours: string, ref: string): boolean {
  if (!/^0x(?:0|[1-9a-f][0-9a-f]*)$/.test(ours)) return false;
  if (!/^0x(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{16})$/.test(ref)) return false;
  return BigInt(ours) === BigInt(ref);
}

/**
 * A SizeT (value type 0x10) that we print as hex like the Rust evtx crate (`0x4`) where the
 * references print decimal (`4`). See the SizeT note in test/evtx-diff.test.ts.
 */
export function sizeTHexVsDecimal(ours: string | undefined, ref: string | undefined): boolean {
  if (ours === undefined || ref === undefined) return false;
  return /^0x(?:0|[1-9a-f][0-9a-f]*)$/.test(ours) && /^\d+$/.test(ref) && BigInt(ours) === BigInt(ref);
}

/**
 * Compare one of our records with a reference record: System fields exactly (time with
 * `timesMatch`, i.e. exact FILETIME vs libevtx, python-evtx's float rounding emulated), data
 * with `dataValuesEquivalent` (base64 vs hex binary, time formats) plus hex padding.
 */
export function diffOurs(ours: OurRecord, ref: RefRecord): OursVsRef {
  const diffs: FieldDiff[] = [];
  const cmp = (key: string, a: string | number | undefined, b: string | number | undefined): void => {
    if (a !== b) diffs.push({ key, ours: a === undefined ? undefined : String(a), ref: b === undefined ? undefined : String(b) });
  };
  cmp('recordId', ours.recordId, ref.recordId);
  cmp('eventId', ours.eventId, ref.eventId);
  cmp('qualifiers', ours.qualifiers, ref.qualifiers);
  cmp('channel', ours.channel, ref.channel);
  cmp('provider', ours.provider, ref.provider);
  cmp('computer', ours.computer, ref.computer);
  if (!timesMatch(ours, ref)) diffs.push({ key: 'time', ours: ours.systemTime, ref: ref.systemTime });
  let hexPadded = 0;
  for (const k of new Set([...Object.keys(ours.data), ...Object.keys(ref.data)])) {
    const a = ours.data[k];
    const b = ref.data[k];
    if (a === b) continue;
    if (a !== undefined && b !== undefined) {
      if (dataValuesEquivalent(a, b)) continue;
      if (hexPaddingEquivalent(a, b)) {
        hexPadded++;
        continue;
      }
    }
    diffs.push({ key: `data:${k}`, ours: a, ref: b });
  }
  return { diffs, hexPadded };
}
