/**
 * Reference side of the differential EVTX tests.
 *
 * Runs the two Debian reference parsers on an EVTX file and turns their XML into
 * normalized {@link RefRecord}s that can be compared with each other and with ours:
 *
 *   - python-evtx 0.6.1 (`evtx_dump.py FILE`)
 *   - libevtx 20181227 (`evtxexport -f xml [-m recovered] FILE`)
 *
 * What the tools actually print (observed on /work/shared/samples/evtx, see
 * reference-expectations.md for per-file counts):
 *
 * python-evtx
 *   - stdout: `<?xml version="1.1" ...?>`, blank line, `<Events>`, then each record as
 *     `<Event xmlns=...><System><Provider ...></Provider>\n<EventID ...>` (a newline after
 *     every closing tag, no indentation), a blank line, and `</Events>` at the end.
 *   - A record is rendered completely before it is printed, so a failure never leaves a
 *     half record; the run just stops: no `</Events>`, Python traceback on **stderr**, exit
 *     code 1. Examples: `AttributeError: 'NullTypeNode' object has no attribute
 *     'find_end_of_stream'` (template-less files), `UnicodeDecodeError: 'utf-16-le' codec can't
 *     decode bytes in position 0-1: illegal UTF-16 surrogate` (python-evtx/issue_43.evtx after
 *     507 records), `Evtx.BinaryParser.OverrunBufferException` (2-vss_0-… after 188 records).
 *   - Text and attribute values go through `xml.sax.saxutils.escape` (only & < >, never
 *     quotes, not even inside attributes), then every non-ASCII char becomes a decimal char
 *     ref (`Microsoft&#174; Windows&#174;`), and the "restricted" control chars
 *     [\x01-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F] are deleted.
 *
 * libevtx (evtxexport)
 *   - stdout starts with the line `evtxexport 20181227` and a blank line (not XML), then each
 *     record pretty-printed with 2-space indentation, `<Empty/>` elements, a blank line after
 *     `</Event>`. There is no root element.
 *   - On an unreadable record it stops: `Unable to export file.` plus a libyal error back
 *     trace on **stderr**, exit code 1 (e.g. CAPI2 after 24 records: `libfwevt_xml_document_
 *     read_attribute: invalid binary XML sub token - unsupported type: 0x49.`).
 *   - In `-m recovered` mode the exit code is 0 but records can be cut off in the middle of
 *     a tag and contain garbage names, e.g. from EVTX-ATTACK-SAMPLES/LM_WMIC_4648_rpcss.evtx:
 *     `<Provider Name="Microsoft-Windows-Security-Kerberos" ="{98E6…}" 切="Kerberos"/>` followed
 *     directly by the next `<Event xmlns=…>`. Such blocks are counted in `RefResult.unparsed`.
 *   - Text is UTF-8 (no char refs). `& < >` are usually escaped, but NOT always: in
 *     python-evtx/issue_39.evtx libevtx prints `<Data Name="Value"><DeviceAddRequest><ClientInfo
 *     name="IDCRL" version="1.0"/>…</Data>` raw, where python-evtx prints `&lt;DeviceAddRequest&gt;…`.
 *     So Data/Binary contents are taken as raw text up to the next `</Data>`/`</Binary>`.
 *   - Control characters are printed raw (security.evtx, dns_log_malformed.evtx).
 *
 * The XML is parsed by a small lenient hand parser (below) rather than fast-xml-parser:
 * neither tool's output is reliably well-formed XML (unescaped quotes in python-evtx
 * attributes, raw markup and control chars in libevtx text, truncated recovered records),
 * and we need the text of `Data` exactly as stored (leading spaces, quotes, newlines).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { repoRoot } from './samples.js';

// ---------------------------------------------------------------------------------------
// Types

export interface RefRecord {
  recordId: number;
  eventId: number;
  /** EventID Qualifiers attribute; absent when the tool printed none or an empty one. */
  qualifiers?: number;
  channel: string;
  provider: string;
  computer: string;
  /** TimeCreated/@SystemTime exactly as the tool printed it. */
  systemTime: string;
  /**
   * 'YYYY-MM-DDTHH:MM:SS.ffffff'. For libevtx this is the exact FILETIME truncated to µs.
   * For python-evtx it is what python printed, which is NOT exact: python-evtx converts
   * FILETIME through a float (`utcfromtimestamp(float(ft) * 1e-7 - 11644473600)`), so its µs
   * are off by up to ~2 µs, e.g. libevtx `2019-05-11T17:58:22.809409600Z` vs python-evtx
   * `2019-05-11 17:58:22.809408`. Compare with {@link timesMatch}, not `===`.
   */
  timeMicros: string;
  /**
   * The tool's XML for this record was cut off after a complete `<System>` (libevtx
   * recovered mode, e.g. 29 Security/7xxx records in LM_WMIC_4648_rpcss.evtx end in
   * `<UserData>\n    <漀ⴀ渀猀㌀`); `data` then holds only the elements that were complete.
   */
  truncated?: true;
  /** libevtx only: exact FILETIME (100 ns ticks since 1601) as a decimal string. */
  filetime?: string;
  /**
   * EventData `Data Name` => text; unnamed Data as 'Data[0]', 'Data[1]', …; `Binary` as
   * 'Binary' (upper-case hex); UserData leaves as a path below UserData, e.g.
   * 'Operation_ClientFailure/Id'. Values normalized by {@link normalizeValue}; empty values
   * are dropped (see {@link extractData}).
   */
  data: Record<string, string>;
}

export interface RefResult {
  records: RefRecord[];
  /** Process exit code; -1 when it was killed (timeout) or could not be started. */
  exitCode: number;
  /** One-line summary of the tool's failure (last traceback line / first libyal error). */
  error?: string;
  /** Full stderr of the tool. */
  stderr: string;
  /**
   * `<Event` blocks without a complete `<System>` (cut-off / garbage recovered records); not
   * in `records`. Blocks cut off after `</System>` are in `records` with `truncated: true`.
   */
  unparsed: number;
  /** Wall time of the tool run (0 when served from the cache). */
  durationMs: number;
  /** True when the raw output came from the on-disk cache. */
  cached: boolean;
}

export type EvtxexportMode = 'items' | 'recovered';

// ---------------------------------------------------------------------------------------
// Tool discovery and execution

const EVTX_DUMP = 'evtx_dump.py';
const EVTXEXPORT = 'evtxexport';

function findOnPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const full = path.join(dir, cmd);
    try {
      accessSync(full, fsConstants.X_OK);
      return full;
    } catch {
      /* next */
    }
  }
  return undefined;
}

let toolCache: { evtxDump?: string; evtxexport?: string } | undefined;
function tools(): { evtxDump?: string; evtxexport?: string } {
  toolCache ??= { evtxDump: findOnPath(EVTX_DUMP), evtxexport: findOnPath(EVTXEXPORT) };
  return toolCache;
}

/** Which reference tools are installed (on PATH and executable). */
export function referenceToolsAvailable(): { evtxDump: boolean; evtxexport: boolean } {
  const t = tools();
  return { evtxDump: t.evtxDump !== undefined, evtxexport: t.evtxexport !== undefined };
}

export interface RunOptions {
  /** Kill the tool after this many ms (default 120 s; python-evtx needs ~20-30 s for 3 MB). */
  timeoutMs?: number;
  /** Use/refresh the raw-output cache (default: on unless WMISCOPE_REF_CACHE=0). */
  cache?: boolean;
}

interface RawRun {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
  cached: boolean;
}

// At most one tool process per core (the VM has 2); callers can fire off all files at once.
const maxConcurrent = Math.max(1, os.availableParallelism());
let running = 0;
const waiting: Array<() => void> = [];
async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= maxConcurrent) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const MAX_BUFFER = 1024 * 1024 * 1024; // the 30 MB bench file gives ~150 MB of XML

function exec(file: string, args: string[], timeoutMs: number): Promise<RawRun> {
  return withSlot(
    () =>
      new Promise<RawRun>((resolve) => {
        const start = performance.now();
        execFile(
          file,
          args,
          {
            encoding: 'buffer',
            maxBuffer: MAX_BUFFER,
            timeout: timeoutMs,
            killSignal: 'SIGKILL',
            // python-evtx output is pure ASCII anyway (non-ASCII becomes &#NNN;); make the
            // traceback text independent of the caller's locale.
            env: { ...process.env, PYTHONIOENCODING: 'utf-8', LC_ALL: 'C.UTF-8' },
          },
          (err, stdout, stderr) => {
            const durationMs = performance.now() - start;
            let exitCode = 0;
            let extra = '';
            if (err) {
              const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string };
              if (typeof e.code === 'number') exitCode = e.code;
              else {
                exitCode = -1;
                extra = e.killed || e.signal ? `killed (${e.signal ?? 'timeout'} after ${timeoutMs} ms)` : String(e.message);
              }
            }
            const errText = Buffer.isBuffer(stderr) ? stderr.toString('utf8') : String(stderr ?? '');
            resolve({
              stdout: Buffer.isBuffer(stdout) ? stdout.toString('utf8') : String(stdout ?? ''),
              stderr: extra ? `${errText}${errText && !errText.endsWith('\n') ? '\n' : ''}${extra}\n` : errText,
              exitCode,
              durationMs,
              cached: false,
            });
          },
        );
      }),
  );
}

// Raw-output cache: test-artifacts/reference-cache/<sha256>.json.gz (test-artifacts/ is
// git-ignored). Keyed by file content, tool binary (path+size+mtime) and arguments, so a
// changed sample or tool upgrade re-runs the tool; parsing/normalization always re-runs.
function cacheEnabled(opt: boolean | undefined): boolean {
  if (opt !== undefined) return opt;
  return process.env.WMISCOPE_REF_CACHE !== '0';
}

function cacheKey(tool: string, args: string[], file: string): string {
  const st = statSync(tool);
  const h = createHash('sha256');
  h.update(JSON.stringify([tool, st.size, st.mtimeMs, args.slice(0, -1)]));
  h.update(readFileSync(file));
  return h.digest('hex');
}

async function runCached(tool: string, args: string[], file: string, opts: RunOptions): Promise<RawRun> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  if (!cacheEnabled(opts.cache)) return exec(tool, args, timeoutMs);
  const dir = path.join(repoRoot(), 'test-artifacts', 'reference-cache');
  const key = cacheKey(tool, args, file);
  const cacheFile = path.join(dir, `${key}.json.gz`);
  if (existsSync(cacheFile)) {
    try {
      const raw = JSON.parse(gunzipSync(readFileSync(cacheFile)).toString('utf8')) as RawRun;
      return { ...raw, cached: true };
    } catch {
      /* corrupt cache entry: re-run */
    }
  }
  const run = await exec(tool, args, timeoutMs);
  if (run.exitCode !== -1) {
    // never cache timeouts/spawn failures
    mkdirSync(dir, { recursive: true });
    writeFileSync(cacheFile, gzipSync(JSON.stringify(run)));
  }
  return run;
}

function missingTool(name: string): RefResult {
  return { records: [], exitCode: -1, error: `${name} not found on PATH`, stderr: '', unparsed: 0, durationMs: 0, cached: false };
}

/** python-evtx: `evtx_dump.py FILE`. */
export async function runEvtxDump(file: string, opts: RunOptions = {}): Promise<RefResult> {
  const tool = tools().evtxDump;
  if (!tool) return missingTool(EVTX_DUMP);
  const run = await runCached(tool, [file], file, opts);
  const parsed = parseEvtxDumpOutput(run.stdout);
  return finish(run, parsed, pythonError(run));
}

/** libevtx: `evtxexport -f xml FILE` (items) or `evtxexport -f xml -m recovered FILE`. */
export async function runEvtxexport(file: string, mode: EvtxexportMode = 'items', opts: RunOptions = {}): Promise<RefResult> {
  const tool = tools().evtxexport;
  if (!tool) return missingTool(EVTXEXPORT);
  const args = mode === 'recovered' ? ['-f', 'xml', '-m', 'recovered', file] : ['-f', 'xml', file];
  const run = await runCached(tool, args, file, opts);
  const parsed = parseEvtxexportOutput(run.stdout);
  return finish(run, parsed, libevtxError(run));
}

function finish(run: RawRun, parsed: ParsedOutput, error: string | undefined): RefResult {
  const res: RefResult = {
    records: parsed.records,
    exitCode: run.exitCode,
    stderr: run.stderr,
    unparsed: parsed.unparsed,
    durationMs: run.durationMs,
    cached: run.cached,
  };
  if (error !== undefined) res.error = error;
  return res;
}

/** Last non-empty stderr line, i.e. the exception line of the traceback. */
function pythonError(run: RawRun): string | undefined {
  if (run.exitCode === 0 && !run.stderr.trim()) return undefined;
  const lines = run.stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  return lines.at(-1) ?? `exit code ${run.exitCode}`;
}

/** `Unable to export file.` + first libyal error (the innermost cause). */
function libevtxError(run: RawRun): string | undefined {
  if (run.exitCode === 0 && !run.stderr.trim()) return undefined;
  const lines = run.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) return `exit code ${run.exitCode}`;
  return lines.slice(0, 2).join(' ');
}

// ---------------------------------------------------------------------------------------
// Output → records

export interface ParsedOutput {
  records: RefRecord[];
  unparsed: number;
}

/**
 * Split a tool's stdout into `<Event …>…</Event>` blocks. A block runs from one
 * `<Event xmlns=` to the next (or end of output); anything outside blocks (XML header,
 * `<Events>`, `evtxexport 20181227`) is ignored.
 */
function eventBlocks(stdout: string): string[] {
  const marker = '<Event xmlns=';
  const out: string[] = [];
  let i = stdout.indexOf(marker);
  while (i >= 0) {
    const next = stdout.indexOf(marker, i + marker.length);
    out.push(stdout.slice(i, next < 0 ? undefined : next));
    i = next;
  }
  return out;
}

function parseBlocks(stdout: string, flavor: Flavor): ParsedOutput {
  const records: RefRecord[] = [];
  let unparsed = 0;
  for (const block of eventBlocks(stdout)) {
    const rec = parseEventXml(block, flavor);
    if (rec) records.push(rec);
    else unparsed++;
  }
  return { records, unparsed };
}

export function parseEvtxDumpOutput(stdout: string): ParsedOutput {
  return parseBlocks(stdout, 'python-evtx');
}

export function parseEvtxexportOutput(stdout: string): ParsedOutput {
  return parseBlocks(stdout, 'libevtx');
}

type Flavor = 'python-evtx' | 'libevtx';

/** Parse one `<Event>` block; undefined when it is not a complete, sane event. */
export function parseEventXml(block: string, flavor: Flavor): RefRecord | undefined {
  let root: XmlElement;
  try {
    const p = new LenientXmlParser(block);
    root = p.parseElement();
  } catch {
    return undefined;
  }
  if (root.name !== 'Event') return undefined;
  const system = child(root, 'System');
  if (!system || system.incomplete) return undefined;

  const recordIdText = text(child(system, 'EventRecordID'));
  const eventIdEl = child(system, 'EventID');
  const timeEl = child(system, 'TimeCreated');
  // A rendered but empty EventRecordID/EventID becomes -1 rather than dropping the record:
  // python-evtx prints one such record in evtx/sample_with_a_bad_chunk_magic.evtx
  // (`<Provider Name="" Guid="">`, `<EventID Qualifiers="">0</EventID>`,
  // `<EventRecordID></EventRecordID>`, `<TimeCreated SystemTime="">`, `<Channel></Channel>`).
  if (recordIdText === undefined && eventIdEl === undefined) return undefined;
  const recordId = parseIntStrict(recordIdText ?? '') ?? -1;
  const eventId = parseIntStrict(text(eventIdEl) ?? '') ?? -1;

  const systemTime = timeEl?.attrs.SystemTime ?? '';
  const t = parseSystemTime(systemTime);

  const rec: RefRecord = {
    recordId,
    eventId,
    channel: normalizeValue(text(child(system, 'Channel')) ?? ''),
    provider: normalizeValue(child(system, 'Provider')?.attrs.Name ?? ''),
    computer: normalizeValue(text(child(system, 'Computer')) ?? ''),
    systemTime,
    timeMicros: t?.micros ?? '',
    data: extractData(root, flavor),
  };
  if (root.incomplete) rec.truncated = true;
  // python-evtx prints `Qualifiers=""` when the record has none; libevtx omits the attribute.
  const q = eventIdEl?.attrs.Qualifiers;
  if (q !== undefined && q !== '') {
    const qn = parseIntStrict(q);
    if (qn !== undefined) rec.qualifiers = qn;
  }
  if (t?.filetime !== undefined) rec.filetime = t.filetime.toString();
  return rec;
}

function parseIntStrict(s: string): number | undefined {
  const v = s.trim();
  if (/^\d+$/.test(v)) return Number(v);
  if (/^0x[0-9a-f]+$/i.test(v)) return Number.parseInt(v.slice(2), 16);
  return undefined;
}

/**
 * Record payload as a flat map.
 *
 * - `<EventData><Data Name="X">v</Data>` → `X: v`; unnamed `<Data>` → `Data[0]`, `Data[1]`…;
 *   `<Binary>` → `Binary`. A Name that occurs more than once → `X`, `X[1]`, `X[2]`…
 * - python-evtx renders a string-array substitution (type 0x81) as ONE Data whose text is
 *   `<string>a</string>\n<string>b</string>\n` (escaped in the XML); libevtx renders one
 *   `<Data>` per string. Example, evtx/Application_no_crc32.evtx record 427: python-evtx
 *   `<Data>&lt;string&gt;Windows Defender&lt;/string&gt;\n&lt;string&gt;SECURITY_PRODUCT_STATE_ON…`
 *   vs libevtx `<Data>Windows Defender</Data><Data>SECURITY_PRODUCT_STATE_ON</Data>`.
 *   We expand python's form into separate Data entries.
 * - Empty values are dropped: python-evtx prints `<Data></Data>\n<Binary></Binary>` for NULL
 *   substitutions where libevtx prints `<EventData/>` (Application_no_crc32.evtx record 426),
 *   and prints `<Data Name="RuleName"></Data>` where libevtx prints `<Data Name="RuleName"/>`.
 *   Unnamed Data are numbered after dropping empties.
 * - `<UserData>` and any other payload element: leaf elements by path below UserData, e.g.
 *   `Operation_ClientFailure/Id`; attributes as `path/@attr`; repeated sibling names get
 *   `[n]` from the second one on. libevtx's recovered mode drops the `<UserData>` wrapper
 *   (ID4781-…evtx: `</System>` then `<Operation_ClientFailure xmlns=…>` directly), so every
 *   child of Event other than System/EventData/UserData/RenderingInfo is treated as UserData content.
 */
/** A setter for flattened data: empty values are skipped, repeated keys become `key[1]`, `key[2]`, …. */
export function dataPutter(out: Record<string, string>): (key: string, value: string) => void {
  return (key, value) => {
    if (value === '') return;
    let k = key;
    for (let n = 1; k in out; n++) k = `${key}[${n}]`;
    out[k] = value;
  };
}

export function extractData(root: XmlElement, flavor: Flavor): Record<string, string> {
  const out: Record<string, string> = {};
  const put = dataPutter(out);
  let unnamed = 0;
  for (const section of root.children) {
    if (section.name === 'System' || section.name === 'RenderingInfo') continue;
    if (section.incomplete && section.children.length === 0) continue;
    if (section.name === 'EventData') {
      for (const el of section.children) {
        if (el.incomplete) continue;
        if (el.name === 'Data') {
          const raw = el.rawText ?? '';
          const name = el.attrs.Name;
          const values = flavor === 'python-evtx' ? splitPythonStringArray(raw) : [raw];
          for (const v0 of values) {
            const v = normalizeValue(v0);
            if (v === '') continue;
            if (name !== undefined && name !== '') put(name, v);
            else put(`Data[${unnamed++}]`, v);
          }
        } else if (el.name === 'Binary') {
          put('Binary', normalizeBinary(el.rawText ?? '', flavor));
        } else {
          leaves(el, el.name, put);
        }
      }
    } else if (section.name === 'UserData') {
      for (const el of section.children) leaves(el, el.name, put);
    } else {
      leaves(section, section.name, put);
    }
  }
  return out;
}

function leaves(el: XmlElement, pathSoFar: string, put: (k: string, v: string) => void): void {
  if (el.incomplete && el.children.length === 0) return;
  for (const [a, v] of Object.entries(el.attrs)) {
    if (a === 'xmlns' || a.startsWith('xmlns:')) continue;
    put(`${pathSoFar}/@${a}`, normalizeValue(v));
  }
  if (el.rawText !== undefined || el.children.length === 0) {
    put(pathSoFar, normalizeValue(el.rawText ?? el.text));
    return;
  }
  for (const c of el.children) leaves(c, `${pathSoFar}/${c.name}`, put);
}

/** `<string>a</string>\n<string>b</string>\n` (already entity-decoded) → ['a', 'b']. */
function splitPythonStringArray(raw: string): string[] {
  const decoded = decodeEntities(raw);
  if (!/^(<string>[^<]*<\/string>\n)+$/.test(decoded)) return [raw];
  return [...decoded.matchAll(/<string>([^<]*)<\/string>\n/g)].map((m) => encodeForReparse(m[1] ?? ''));
}

// splitPythonStringArray returns text that normalizeValue will entity-decode again.
function encodeForReparse(s: string): string {
  return s.replace(/&/g, '&amp;');
}

/**
 * Binary element: libevtx prints upper-case hex (`0F01040004002C00…`), python-evtx base64
 * (`DwEEAAQALAAAAAAAmQAEgAAA…`, same record in security.evtx). Normalized to upper-case hex.
 */
function normalizeBinary(raw: string, flavor: Flavor): string {
  const v = decodeEntities(raw).trim();
  if (v === '') return '';
  if (flavor === 'python-evtx') return Buffer.from(v, 'base64').toString('hex').toUpperCase();
  return v.toUpperCase();
}

// ---------------------------------------------------------------------------------------
// Normalization

// python-evtx deletes these from every value (Views.RESTRICTED_CHARS); libevtx prints them raw.
// eslint-disable-next-line no-control-regex
const RESTRICTED_CHARS = /[\x01-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F]/g;
const GUID_RE = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

/**
 * Normalize one value (text of a leaf element or attribute, raw from the tool output).
 * Apply the same function to our own parser's values before comparing.
 *
 * 1. Entity/char refs decoded: python-evtx `Microsoft&#174; Windows&#174;` and libevtx
 *    `Microsoft® Windows®` both → `Microsoft® Windows®`; `2&gt;&amp;1` → `2>&1`.
 * 2. Restricted control chars deleted (python-evtx does; libevtx prints them raw, e.g. in
 *    evtx/security.evtx and python-evtx/dns_log_malformed.evtx). NULs: python-evtx strips
 *    trailing NULs of strings (`rstrip("\x00")`), so trailing U+0000 are removed too.
 * 3. A value that is exactly a GUID → `{UPPER-CASE}`: python-evtx
 *    `{365abb72-0d1d-5cd7-0000-001020ef1500}` vs libevtx `{365ABB72-0D1D-5CD7-0000-001020EF1500}`;
 *    libevtx itself prints lower case where the GUID is template text, not a GUID value
 *    (recovered `Provider Guid="{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}"`).
 * 4. Booleans: python-evtx `True`/`False`, libevtx `true`/`false` → `true`/`false`.
 * 5. Whitespace is NOT touched inside values: Sysmon's `Name` is ` "BotFilter82"` (leading
 *    space and quotes) in both tools. Indentation between elements is ignored by the parser.
 */
export function normalizeValue(raw: string): string {
  let v = decodeEntities(raw).replace(RESTRICTED_CHARS, '').replace(/\u0000+$/, '');
  const g = GUID_RE.exec(v);
  if (g) v = `{${(g[1] ?? '').toUpperCase()}}`;
  else if (v === 'True' || v === 'False') v = v.toLowerCase();
  return v;
}

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (m, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const cp = e.startsWith('#x') ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    if (!Number.isFinite(cp) || cp > 0x10ffff) return m;
    return String.fromCodePoint(cp);
  });
}

// ---------------------------------------------------------------------------------------
// Time

const FILETIME_UNIX_EPOCH = 116444736000000000n; // 100 ns ticks from 1601-01-01 to 1970-01-01

/**
 * Parse TimeCreated/@SystemTime:
 * - libevtx `2019-05-11T17:57:49.903159600Z` (100 ns digits) → exact FILETIME + truncated µs;
 * - python-evtx `2019-05-11 17:57:49.903160` (µs; python's `isoformat(' ')` omits `.000000`
 *   entirely when µs == 0, e.g. `2019-05-11 17:57:49`) → µs only.
 */
export function parseSystemTime(s: string): { micros: string; filetime?: bigint } | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$/.exec(s.trim());
  if (!m) return undefined;
  const [, date, time, frac = ''] = m;
  const micros = `${date}T${time}.${frac.padEnd(6, '0').slice(0, 6)}`;
  if (frac.length < 7) return { micros };
  const ms = Date.parse(`${date}T${time}Z`);
  if (Number.isNaN(ms)) return { micros };
  const ticks = BigInt(ms) * 10_000n + BigInt(frac.padEnd(9, '0').slice(0, 7)) + FILETIME_UNIX_EPOCH;
  return { micros, filetime: ticks };
}

/** Exact FILETIME → 'YYYY-MM-DDTHH:MM:SS.ffffff' (truncated to µs, like libevtx's digits). */
export function timeMicrosFromFiletime(ft: bigint): string {
  const sinceUnix = ft - FILETIME_UNIX_EPOCH;
  let sec = sinceUnix / 10_000_000n;
  let rem = sinceUnix % 10_000_000n;
  if (rem < 0n) {
    rem += 10_000_000n;
    sec -= 1n;
  }
  return `${isoSeconds(Number(sec))}.${(rem / 10n).toString().padStart(6, '0')}`;
}

/**
 * What python-evtx 0.6.1 prints for a FILETIME, as 'YYYY-MM-DDTHH:MM:SS.ffffff'. Emulates
 * `datetime.utcfromtimestamp(float(qword) * 1e-7 - 11644473600)` bit for bit: the same
 * IEEE double arithmetic, then CPython's modf + ×1e6 + round-half-even to µs.
 */
export function pythonEvtxTimeMicros(ft: bigint): string {
  const d = Number(ft) * 1e-7 - 11644473600;
  let intpart = Math.trunc(d);
  let us = roundHalfEven((d - intpart) * 1e6);
  if (us >= 1e6) {
    us -= 1e6;
    intpart += 1;
  } else if (us < 0) {
    us += 1e6;
    intpart -= 1;
  }
  return `${isoSeconds(intpart)}.${String(us).padStart(6, '0')}`;
}

function roundHalfEven(x: number): number {
  const r = Math.sign(x) * Math.round(Math.abs(x)); // C round(): half away from zero
  if (Math.abs(x - r) === 0.5) return 2 * (Math.sign(x / 2) * Math.round(Math.abs(x / 2)));
  return r;
}

function isoSeconds(unixSeconds: number): string {
  const iso = new Date(unixSeconds * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return iso.slice(0, 19);
}

/**
 * Do two records carry the same creation time, to the precision the less precise side has?
 * Both exact (libevtx, ours): the FILETIMEs are equal. One exact, one python-evtx: the python
 * value equals what python-evtx prints for that FILETIME ({@link pythonEvtxTimeMicros}; its
 * float rounding is emulated exactly, so a 100 ns difference is usually caught too). Neither
 * exact (python-evtx vs python-evtx): equal µs.
 */
export function timesMatch(a: RefRecord, b: RefRecord): boolean {
  if (a.filetime !== undefined && b.filetime !== undefined) return a.filetime === b.filetime;
  if (a.filetime !== undefined) return pythonEvtxTimeMicros(BigInt(a.filetime)) === b.timeMicros;
  if (b.filetime !== undefined) return pythonEvtxTimeMicros(BigInt(b.filetime)) === a.timeMicros;
  return a.timeMicros === b.timeMicros;
}

// ---------------------------------------------------------------------------------------
// Comparison

/**
 * Differences between two normalized records (empty array = same record content).
 * Times are compared with {@link timesMatch}. A data value that is hex on one side and
 * base64 of the same bytes on the other (binary substitutions inside `<Data>`: python-evtx
 * base64 `5EoAAAAB…`, libevtx hex) counts as equal.
 */
export function diffRefRecords(a: RefRecord, b: RefRecord): string[] {
  const d: string[] = [];
  const cmp = (k: string, x: unknown, y: unknown): void => {
    if (x !== y) d.push(`${k}: ${JSON.stringify(x)} != ${JSON.stringify(y)}`);
  };
  cmp('recordId', a.recordId, b.recordId);
  cmp('eventId', a.eventId, b.eventId);
  cmp('qualifiers', a.qualifiers, b.qualifiers);
  cmp('channel', a.channel, b.channel);
  cmp('provider', a.provider, b.provider);
  cmp('computer', a.computer, b.computer);
  if (!timesMatch(a, b)) d.push(`time: ${a.timeMicros} != ${b.timeMicros}`);
  const keys = new Set([...Object.keys(a.data), ...Object.keys(b.data)]);
  for (const k of keys) {
    const x = a.data[k];
    const y = b.data[k];
    if (x === y) continue;
    if (x !== undefined && y !== undefined && dataValuesEquivalent(x, y)) continue;
    d.push(`data[${JSON.stringify(k)}]: ${JSON.stringify(x)} != ${JSON.stringify(y)}`);
  }
  return d;
}

export function dataValuesEquivalent(x: string, y: string): boolean {
  if (x === y) return true;
  const hexB64 = (h: string, b: string): boolean =>
    /^(?:[0-9A-Fa-f]{2})+$/.test(h) &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(b) &&
    Buffer.from(b, 'base64').toString('hex').toUpperCase() === h.toUpperCase();
  if (hexB64(x, y) || hexB64(y, x)) return true;
  // FILETIME/SYSTEMTIME substitutions inside data: libevtx `2019-…T…1234567Z`, python-evtx `2019-… ….123456`
  const tx = parseSystemTime(x);
  const ty = parseSystemTime(y);
  // SYSTEMTIME substitutions (ms precision): python-evtx `2017-04-21 10:41:18`, libevtx
  // `2017-04-21T10:41:18.000Z` (python-evtx/issue_39.evtx, Data Name="Created").
  if (tx && ty && tx.filetime === undefined && ty.filetime === undefined) return tx.micros === ty.micros;
  if (tx && ty) {
    const ra: RefRecord = { ...EMPTY, timeMicros: tx.micros, ...(tx.filetime !== undefined ? { filetime: tx.filetime.toString() } : {}) };
    const rb: RefRecord = { ...EMPTY, timeMicros: ty.micros, ...(ty.filetime !== undefined ? { filetime: ty.filetime.toString() } : {}) };
    return timesMatch(ra, rb);
  }
  return false;
}

const EMPTY: RefRecord = { recordId: 0, eventId: 0, channel: '', provider: '', computer: '', systemTime: '', timeMicros: '', data: {} };

/** Count records per event ID, e.g. `{ 1: 9, 19: 2, … }`. */
export function countByEventId(records: readonly RefRecord[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of records) out[r.eventId] = (out[r.eventId] ?? 0) + 1;
  return out;
}

// ---------------------------------------------------------------------------------------
// Lenient XML parser (only what the two tools emit)

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated, entity-encoded text directly inside this element (whitespace kept). */
  text: string;
  /**
   * For Data/Binary (always leaves in EVTX): the raw source between the start and end tag,
   * still entity-encoded, even when it contains markup-like text (libevtx issue_39 case).
   * For other leaf elements: the same as `text`.
   */
  rawText?: string;
  /** The output ended or became garbage before this element's end tag. */
  incomplete?: true;
}

const RAW_ELEMENTS = new Set(['Data', 'Binary']);

class LenientXmlParser {
  private pos = 0;
  constructor(private readonly s: string) {}

  private fail(msg: string): never {
    throw new Error(`${msg} at ${this.pos}`);
  }

  private name(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_.:-]*/.exec(this.s.slice(this.pos, this.pos + 256));
    if (!m) this.fail('expected name');
    this.pos += m[0].length;
    return m[0];
  }

  private ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos] ?? '')) this.pos++;
  }

  parseElement(): XmlElement {
    if (this.s[this.pos] !== '<') this.fail('expected <');
    this.pos++;
    const el: XmlElement = { name: this.name(), attrs: {}, children: [], text: '' };
    for (;;) {
      this.ws();
      const c = this.s[this.pos];
      if (c === undefined) this.fail('eof in tag');
      if (c === '/') {
        if (this.s[this.pos + 1] !== '>') this.fail('expected />');
        this.pos += 2;
        if (RAW_ELEMENTS.has(el.name)) el.rawText = '';
        return el;
      }
      if (c === '>') {
        this.pos++;
        break;
      }
      const an = this.name();
      this.ws();
      if (this.s[this.pos] !== '=') this.fail('expected =');
      this.pos++;
      this.ws();
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'") this.fail('expected quote');
      this.pos++;
      // python-evtx does not escape quotes inside attribute values: the value ends at the
      // first matching quote that is followed by whitespace, `>` or `/>`.
      let end = this.pos;
      for (;;) {
        end = this.s.indexOf(q, end);
        if (end < 0) this.fail('unterminated attribute');
        const after = this.s[end + 1];
        if (after === undefined || after === '>' || after === '/' || /\s/.test(after)) break;
        end++;
      }
      if (an in el.attrs) this.fail('duplicate attribute');
      el.attrs[an] = decodeEntities(this.s.slice(this.pos, end));
      this.pos = end + 1;
    }
    if (RAW_ELEMENTS.has(el.name)) {
      const close = `</${el.name}>`;
      const end = this.s.indexOf(close, this.pos);
      if (end < 0) this.fail(`no ${close}`);
      el.rawText = this.s.slice(this.pos, end);
      el.text = el.rawText;
      this.pos = end + close.length;
      return el;
    }
    // content. Any failure in here (cut-off recovered record, garbage tag name) keeps what
    // was parsed so far and marks this element and its ancestors `incomplete`.
    try {
      this.content(el);
    } catch {
      el.incomplete = true;
      return el;
    }
    if (el.children.length > 0) {
      // element content: drop the indentation/newlines between child elements
      if (el.text.trim() === '') el.text = '';
    } else {
      el.rawText = el.text;
    }
    return el;
  }

  private content(el: XmlElement): void {
    for (;;) {
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) this.fail(`eof inside <${el.name}>`);
      el.text += this.s.slice(this.pos, lt);
      this.pos = lt;
      const next = this.s[lt + 1];
      if (next === '/') {
        this.pos += 2;
        const n = this.name();
        if (n !== el.name) this.fail(`mismatched </${n}> for <${el.name}>`);
        this.ws();
        if (this.s[this.pos] !== '>') this.fail('expected >');
        this.pos++;
        break;
      } else if (this.s.startsWith('<!--', lt)) {
        const e = this.s.indexOf('-->', lt);
        if (e < 0) this.fail('unterminated comment');
        this.pos = e + 3;
      } else if (this.s.startsWith('<![CDATA[', lt)) {
        const e = this.s.indexOf(']]>', lt);
        if (e < 0) this.fail('unterminated CDATA');
        el.text += this.s.slice(lt + 9, e).replace(/&/g, '&amp;').replace(/</g, '&lt;');
        this.pos = e + 3;
      } else if (next === '?') {
        const e = this.s.indexOf('?>', lt);
        if (e < 0) this.fail('unterminated PI');
        this.pos = e + 2;
      } else if (next !== undefined && /[A-Za-z_]/.test(next)) {
        const c = this.parseElement();
        el.children.push(c);
        if (c.incomplete) throw new Error('incomplete child');
      } else {
        // a stray '<' in text (not markup)
        el.text += '<';
        this.pos++;
      }
    }
  }
}

function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

function text(el: XmlElement | undefined): string | undefined {
  return el === undefined ? undefined : (el.rawText ?? el.text);
}
