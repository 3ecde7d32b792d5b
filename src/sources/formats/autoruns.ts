/**
 * autorunsc output as evidence: the CSV of `autorunsc -a m -c` / `-a * -c` (optionally `-h -s -t`, `-ct` for tabs;
 * UTF-16LE with a BOM or UTF-8), and the same columns as Velociraptor `Windows.Sysinternals.Autoruns` rows
 * (read by `velociraptor.ts` through {@link autorunsRowObservations}). Recognized by the header row
 * (`Entry Location`, `Entry`, `Category`, `Launch String`), never by the file name.
 *
 * Only WMI rows (Category `WMI`, Entry Location `WMI Database Entries…`) give observations: one consumer
 * each, source `autoruns`, action `present`. autorunsc lists the consumers it finds (Entry = the consumer's
 * Name, Launch String = its command line or script file) — not their filters or bindings, which the CSV has
 * no columns for. When a row carries a WMI object path (`\\HOST\ROOT\subscription:Class.Name="x"`), the
 * namespace, class and name come from it; otherwise the class is inferred from the launch string. Every other
 * row is counted in the evidence item and gives nothing.
 */
import { createRequire } from 'node:module';
import type * as CsvSync from 'csv-parse/sync';
import type { EvidenceItem, Observation } from '../../model/types.js';
import type { Adapter, EvidenceInput, ObserveContext, ObserveResult } from '../input.js';
import { headText, MAX_WHOLE_INPUT } from '../input.js';
import { normalizeNamespace } from '../../model/wmi.js';

// csv-parse is loaded when the first Autoruns CSV is read
const load = createRequire(import.meta.url);
let csv: typeof CsvSync | null = null;

type Values = Observation['properties'];
type Cell = string | number | boolean | null | undefined | object;

/** Columns every autorunsc CSV header has (wmi-tradecraft §1; Velociraptor testdata `autoruns.csv`). */
export const AUTORUNS_COLUMNS_REQUIRED = ['Entry Location', 'Entry', 'Category', 'Launch String'];

/** What autorunsc writes for an ActiveScript consumer whose script is stored in the repository. */
const EMBEDDED_SCRIPT = /^Script embedded in WMI database$/i;
const BROKEN_SCRIPT = /^Incorrectly created script entry$/i;

function cell(row: Record<string, Cell>, name: string): string {
  const l = name.toLowerCase();
  for (const k of Object.keys(row)) {
    if (k.toLowerCase() !== l) continue;
    const v = row[k];
    return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return '';
}

/** True for a row of autorunsc's WMI category. */
export function isWmiRow(row: Record<string, Cell>): boolean {
  return cell(row, 'Category').trim().toLowerCase() === 'wmi' || /^\s*WMI Database Entries/i.test(cell(row, 'Entry Location'));
}

/**
 * `Class.Name="` where a word starts (the class; leading digits skipped). Tried only at the start of a word run,
 * so a long run of word characters is scanned once, not once per position.
 */
const WMI_CLASS_NAME = /(?<!\w)\d*([A-Za-z_]\w*)\.Name="/g;
const ROOT = /^[Rr][Oo][Oo][Tt]$/;
const isWord = (c: string | undefined): boolean => c !== undefined && /\w/.test(c);

/**
 * Where the namespace before the colon at `colon` starts, or -1: the leftmost `\\host\path` (host without `\`,
 * `:`, `"`; path without `:`, `"`) or `root(\segment)*` (at a word start, case-insensitive `root`, segments
 * without `:`, `"`, `\`) that ends there. A linear scan of what
 * `(\\\\[^\\:"]+\\[^:"]+|\b[Rr][Oo][Oo][Tt](?:\\[^:"\\]+)*):` matches (that pattern is quadratic when it is
 * tried at every position of a long path).
 */
function namespaceStart(t: string, colon: number): number {
  // neither form holds a `:` or `"`: both start after the last one before the colon
  let from = colon;
  while (from > 0 && t[from - 1] !== ':' && t[from - 1] !== '"') from--;
  // \\host\path: the last two backslashes of the first run of two or more, then a host, `\`, and a path
  let unc = -1;
  for (let i = from; i < colon; i++) {
    if (t[i] !== '\\') continue;
    let j = i;
    while (j < colon && t[j] === '\\') j++;
    if (j - i >= 2) {
      // the next backslash ends the host; the path after it is not empty
      const h = t.indexOf('\\', j);
      if (j < colon && h >= 0 && h <= colon - 2) unc = j - 2;
      break;
    }
    i = j;
  }
  // root(\segment)*: the rest up to the colon is empty, or `\`-led non-empty segments without `\\` or a trailing `\`
  let lastDouble = -1;
  for (let k = colon - 2; k >= from; k--) {
    if (t[k] === '\\' && t[k + 1] === '\\') {
      lastDouble = k;
      break;
    }
  }
  let root = -1;
  for (let p = from; p + 4 <= colon && (unc < 0 || p < unc); p++) {
    if (!ROOT.test(t.slice(p, p + 4)) || isWord(t[p - 1])) continue;
    if (p + 4 === colon || (t[p + 4] === '\\' && p + 4 > lastDouble && t[colon - 1] !== '\\')) {
      root = p;
      break;
    }
  }
  return root >= 0 ? root : unc;
}

/**
 * Index of the `"` closing a quoted value that starts at `from`, or -1. `\` escapes any character but a line
 * break (as `(?:[^"\\]|\\.)*"` without the s flag: a `\` before a line break ends the value unclosed).
 */
function quoteEnd(t: string, from: number): number {
  for (let i = from; i < t.length; i++) {
    const ch = t[i];
    if (ch === '"') return i;
    if (ch === '\\') {
      const next = t[i + 1];
      if (next === undefined || next === '\n' || next === '\r' || next === '\u2028' || next === '\u2029') return -1;
      i++;
    }
  }
  return -1;
}

/**
 * A WMI object path in a cell: namespace (when given), class, Name. What
 * `(?:(\\\\[^\\:"]+\\[^:"]+|\b[Rr][Oo][Oo][Tt](?:\\[^:"\\]+)*):)?([A-Za-z_]\w*)\.Name="((?:[^"\\]|\\.)*)"` finds
 * first, read in linear time and stack (attacker-controlled cells): the first `Class.Name="…"` whose value is
 * closed, and its namespace when a `\\host\ns:` or `root\…:` prefix ends right before the class.
 */
export function wmiPathIn(text: string): { namespace: string | null; className: string; name: string } | null {
  const re = new RegExp(WMI_CLASS_NAME);
  for (let m: RegExpExecArray | null; (m = re.exec(text)); ) {
    const from = re.lastIndex;
    const close = quoteEnd(text, from);
    // unclosed: no match starts inside this class or `.Name="`; the search goes on after it
    if (close < 0) continue;
    const className = m[1]!;
    const classStart = from - 7 - className.length; // `.Name="` is 7 characters
    let namespace: string | null = null;
    // a namespace prefix ends in the colon right before the class (no leading digits between)
    if (classStart === m.index && text[classStart - 1] === ':') {
      const start = namespaceStart(text, classStart - 1);
      if (start >= 0) namespace = normalizeNamespace(text.slice(start, classStart - 1));
    }
    return { namespace, className, name: text.slice(from, close).replace(/\\(.)/g, '$1') };
  }
  return null;
}

/** autorunsc `-t` time (`20190721-172300`, UTC) or an ISO time → ISO-8601; other (locale) spellings → null. */
export function autorunsTime(t: string): string | null {
  const s = t.trim();
  const m = /^(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)$/.exec(s);
  if (m) return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s)) return s;
  return null;
}

/** Columns a Velociraptor hunt download adds to every row: where the row was collected, never what was found. */
const HUNT_COLUMNS = new Set(['clientid', 'flowid', 'fqdn', '_orgid', '_source']);

/**
 * The collection a hunt row came from, for an observation's location (`, client C.… flow F.…`; '' without hunt
 * columns). Said in the location only: the observations of the same subscription collected on many clients stay
 * alike (they are also read twice as one record when a log is copied twice).
 */
export function collectionWhere(row: Record<string, Cell>): string {
  const client = cell(row, 'ClientId').trim();
  const flow = cell(row, 'FlowId').trim();
  const bits = [client ? `client ${client}` : '', flow ? `flow ${flow}` : ''].filter(Boolean).join(' ');
  return bits ? `, ${bits}` : '';
}

/**
 * Observations from one autorunsc row (CSV record or Velociraptor row): a consumer for a WMI row with an
 * entry, nothing otherwise. `unnamed` = a WMI row that names no consumer (kept out: it cannot be joined).
 */
export function autorunsRowObservations(row: Record<string, Cell>, host: string, file: string, location: string): Observation[] {
  if (!isWmiRow(row)) return [];
  const entry = cell(row, 'Entry').trim();
  if (!entry) return []; // the location's own header row
  const launch = cell(row, 'Launch String');
  // the row's columns describe Autoruns' entry (location, signer, hashes, …): meta; the consumer's properties are
  // only what its launch string is (below)
  const d: Values = {};
  const properties: Values = {};
  for (const k of Object.keys(row)) {
    if (k === '__proto__') continue;
    if (HUNT_COLUMNS.has(k.toLowerCase())) continue; // bookkeeping of the collection: in the location
    const v = cell(row, k);
    if (v !== '') d[k] = v;
  }
  const path = [launch, entry, cell(row, 'Image Path'), cell(row, 'Description')].map(wmiPathIn).find((p) => p !== null) ?? null;
  const entryIsClass = /^[A-Za-z_]\w*EventConsumer$/.test(entry);
  let className = path?.className ?? (entryIsClass ? entry : null);
  const name = path?.name ?? (entryIsClass ? null : entry);
  const launchIsPath = path !== null && wmiPathIn(launch) !== null;
  if (!className) {
    // autorunsc shows a script file (or a placeholder for embedded script text) for ActiveScript consumers,
    // the command line for CommandLine consumers (the two classes it lists)
    className = EMBEDDED_SCRIPT.test(launch) || BROKEN_SCRIPT.test(launch) || /\.(vbs|vbe|js|jse|wsf|wsh)"?\s*$/i.test(launch) ? 'ActiveScriptEventConsumer' : 'CommandLineEventConsumer';
    d['ConsumerClassInferred'] = true;
  }
  if (!launchIsPath && launch) {
    const cls = className.toLowerCase();
    if (cls === 'activescripteventconsumer') {
      if (EMBEDDED_SCRIPT.test(launch)) d['ScriptEmbedded'] = true;
      else if (!BROKEN_SCRIPT.test(launch)) properties['ScriptFileName'] = launch;
    } else if (cls === 'commandlineeventconsumer') properties['CommandLineTemplate'] = launch;
  }
  return [
    {
      host,
      source: 'autoruns',
      action: 'present',
      part: 'consumer',
      namespace: path?.namespace ?? null,
      className,
      name,
      time: null,
      user: null,
      file,
      location: location + collectionWhere(row),
      properties,
      meta: d,
    },
  ];
}

// ---- the CSV adapter -------------------------------------------------------------------------------------------

function splitHeader(line: string): { cells: string[]; delimiter: string } {
  const delimiter = line.includes('\t') && !line.includes(',') ? '\t' : ',';
  return { cells: line.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, '$1').trim()), delimiter };
}

function isHeader(line: string): boolean {
  const { cells } = splitHeader(line);
  const low = new Set(cells.map((c) => c.toLowerCase()));
  return AUTORUNS_COLUMNS_REQUIRED.every((c) => low.has(c.toLowerCase()));
}

function detect(head: string): boolean {
  const t = head.replace(/\0/g, '');
  if (/^\s*[[{<]/.test(t)) return false;
  // autorunsc prints a banner before the header unless -nobanner
  return t.split(/\r?\n/, 20).some(isHeader);
}

/** Text of a CSV: BOM-marked UTF-16/UTF-8 via headText; BOM-less UTF-16LE recognized by its zero bytes. */
function decode(b: Buffer): string {
  if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff) || (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf)) return headText(b);
  const n = Math.min(b.length, 4096) & ~1;
  let zeros = 0;
  for (let i = 1; i < n; i += 2) if (b[i] === 0) zeros++;
  return n && zeros > n / 4 ? b.subarray(0, b.length & ~1).toString('utf16le') : b.toString('utf8');
}

interface HostCount {
  rows: number;
  wmi: number;
  first: string | null;
  last: string | null;
}

async function observe(input: EvidenceInput, ctx: ObserveContext): Promise<ObserveResult> {
  const file = input.name;
  if (input.size > MAX_WHOLE_INPUT) {
    ctx.notes.add({ file, level: 'error', code: 'over-limit', message: `${input.size} bytes: autorunsc CSV over the ${MAX_WHOLE_INPUT}-byte limit; not read` });
    return { observations: [], items: [], logs: [] };
  }
  const text = decode(await input.read());
  const lines = text.split(/\r?\n/);
  const at = lines.slice(0, 50).findIndex((l) => isHeader(l.replace(/^\ufeff/, '')));
  if (at < 0) {
    ctx.notes.add({ file, level: 'skipped', code: 'not-evidence', message: 'no autorunsc CSV header (Entry Location, Entry, Category, Launch String) in the first 50 lines' });
    return { observations: [], items: [], logs: [] };
  }
  const { delimiter } = splitHeader(lines[at]!.replace(/^\ufeff/, ''));
  const body = lines.slice(at).join('\n').replace(/^\ufeff/, '');
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = (csv ??= load('csv-parse/sync') as typeof CsvSync).parse(body, {
    delimiter,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    on_skip: (err) => {
      // one note per record (the sink caps repeats); csv-parse counts lines from the header
      ctx.notes.add({ file, level: 'warning', code: 'damaged', message: `unreadable CSV record skipped (${err?.message ?? 'unreadable record'}${at ? `; lines counted from the header, file line ${at + 1}` : ''})` });
      return undefined;
    },
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (e) {
    ctx.notes.add({ file, level: 'error', code: 'failed', message: `autorunsc CSV does not parse (${e instanceof Error ? e.message : String(e)})` });
    return { observations: [], items: [], logs: [] };
  }
  const header = (records.shift()?.record ?? []).map((c) => c.trim());
  const observations: Observation[] = [];
  const perHost = new Map<string, HostCount>();
  let unnamed = 0;
  for (const { record, info } of records) {
    const row: Record<string, string> = {};
    header.forEach((h, i) => {
      if (h && h !== '__proto__') row[h] = record[i] ?? '';
    });
    const fqdn = (row['Fqdn'] ?? '').trim();
    const id = (row['ClientId'] ?? '').trim();
    const host = ctx.host ?? (fqdn && id ? `${fqdn} (${id})` : fqdn || id);
    let h = perHost.get(host);
    if (!h) perHost.set(host, (h = { rows: 0, wmi: 0, first: null, last: null }));
    h.rows++;
    const t = autorunsTime(row['Time'] ?? '');
    if (t) {
      if (!h.first || t < h.first) h.first = t;
      if (!h.last || t > h.last) h.last = t;
    }
    if (!isWmiRow(row) || !(row['Entry'] ?? '').trim()) continue;
    h.wmi++;
    const obs = autorunsRowObservations(row, host, file, `line ${info.lines + at}`);
    if (obs.some((o) => o.name === null)) unnamed++;
    observations.push(...obs.filter((o) => o.name !== null));
  }
  if (unnamed) ctx.notes.add({ file, level: 'warning', code: 'damaged', message: `${unnamed} WMI row(s) name a consumer class but no consumer name (no WMI object path in the row); not joinable, left out` });
  const items: EvidenceItem[] = [...perHost].map(([host, h]) => ({
    file,
    kind: 'autoruns',
    host,
    sources: ['autoruns'],
    detail: `autorunsc CSV: ${h.rows} row${h.rows === 1 ? '' : 's'}, ${h.wmi} WMI entr${h.wmi === 1 ? 'y' : 'ies'}`,
    records: h.rows,
    first: h.first,
    last: h.last,
  }));
  return { observations, items, logs: [] };
}

export const autorunsAdapter: Adapter = { format: 'autoruns', detect, observe };

export const adapters: Adapter[] = [autorunsAdapter];
