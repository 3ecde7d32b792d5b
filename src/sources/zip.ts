/**
 * Zip archives as evidence containers, read in place (never extracted): Velociraptor offline-collector
 * output, flow exports and hunt downloads, or any zip of logs and repositories. Every member is an
 * {@link EvidenceInput} handed to `observeInput` (EVTX, gzip'd EVTX, exports, nested zips, …); a folder of
 * members holding the repository file set is read as a WMI repository from memory.
 *
 * The archive is attacker-controlled. Member names are labels only: they are decoded (UTF-8 when flagged,
 * else CP437), shown escaped, and never joined into a file system path; nothing is written anywhere. Member
 * count, member size, total inflated bytes, compression ratio and nesting depth are bounded; encrypted,
 * oversized or undecodable members are skipped with a note each; a damaged archive is one error note.
 *
 * Velociraptor layouts (see the README): an offline collection or a flow export has `client_info.json`,
 * `collection_context.json`, `log.json`, `results/<Artifact>.json` and `uploads/<accessor>/<escaped path>` at
 * its root; a hunt download has one such tree per client under `<Hostname>-<ClientId>/`; a zipped server file
 * store has `clients/<ClientId>/collections/<FlowId>/uploads/…`. Each client is kept as its own host.
 */
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { EvidenceItem, EvidenceNote } from '../model/types.js';
import { escapeText } from '../model/text.js';
import type { EvidenceInput, ObserveContext, ObserveResult } from './input.js';
import { MAX_WHOLE_INPUT } from './input.js';
import { forceHost, observeInput } from './dispatch.js';
import { observeRepository } from './observe.js';

/** Bounds for one archive (and the archives nested in it). Mutable for tests only. */
export const ZIP_LIMITS = {
  /** Members read from one archive's central directory; the rest are skipped with one note. */
  maxMembers: 100_000,
  /** Zips inside zips: the outer archive is level 0. */
  maxNesting: 2,
  /** Largest member read at all (EVTX); text formats refuse more than {@link MAX_WHOLE_INPUT} themselves. */
  maxMemberBytes: MAX_WHOLE_INPUT * 4,
  /** Largest zip inside a zip (it is opened from memory). */
  maxNestedZipBytes: MAX_WHOLE_INPUT,
  /** Bytes inflated from one top-level archive, nested archives included. */
  maxTotalInflated: 32 * 2 ** 30,
  /** A member over `ratioMinBytes` that inflates more than this many times its stored size is a zip bomb. */
  maxRatio: 1000,
  ratioMinBytes: 16 * 2 ** 20,
  /** `client_info.json` / `collection_context.json` read for the host name. */
  maxInfoBytes: 1 << 20,
  /** Per-member "not evidence" notes per archive before they are summarized. */
  maxSkipNotes: 1000,
};

// ---- state shared between an archive and the archives nested in it ------------------------------------

const STATE = Symbol.for('wmiscope.zip.state');

interface Budget {
  inflated: number;
}

interface ZipState {
  /** Nesting level of the archive whose members carry this state. */
  depth: number;
  budget: Budget;
}

type ZipContext = ObserveContext & { [STATE]?: ZipState };

class LimitError extends Error {}

// ---- names --------------------------------------------------------------------------------------------

/** IBM code page 437, bytes 0x80–0xFF (the zip default when the UTF-8 flag is not set). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function cp437(b: Buffer): string {
  let s = '';
  for (const c of b) s += c < 0x80 ? String.fromCharCode(c) : CP437_HIGH[c - 0x80]!;
  return s;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The member name as text: UTF-8 when flagged (bit 11) or given by an Info-ZIP Unicode Path field, else CP437. */
export function decodeMemberName(raw: Buffer, flags: number, extraFields: ReadonlyArray<{ id: number; data: Buffer }> = []): string {
  if (flags & 0x800) return utf8.decode(raw);
  for (const f of extraFields) {
    // 0x7075: version 1, CRC-32 of the raw name, then the UTF-8 name (used only when the CRC matches)
    if (f.id === 0x7075 && f.data.length >= 5 && f.data[0] === 1 && f.data.readUInt32LE(1) === crc32(raw)) return utf8.decode(f.data.subarray(5));
  }
  return cp437(raw);
}

/** One path component as Velociraptor stored it (`C%3A`, `%5C%5C.%5CC%3A`) decoded back; other text unchanged. */
export function decodeComponent(c: string): string {
  if (!/%[0-9A-Fa-f]{2}/.test(c)) return c;
  const bytes: number[] = [];
  const enc = Buffer.from(c, 'utf8');
  for (let i = 0; i < enc.length; i++) {
    const h = i + 2 < enc.length ? enc.toString('latin1', i + 1, i + 3) : '';
    if (enc[i] === 0x25 && /^[0-9A-Fa-f]{2}$/.test(h)) {
      bytes.push(parseInt(h, 16));
      i += 2;
    } else bytes.push(enc[i]!);
  }
  return utf8.decode(Buffer.from(bytes));
}

/** Member name → decoded path components (split on `/` and `\`, empty and `.` dropped; `..` kept as a label). */
function componentsOf(name: string): string[] {
  return name
    .split(/[/\\]/)
    .filter((c) => c !== '' && c !== '.')
    .map(decodeComponent);
}

const lower = (parts: string[]): string => parts.map((p) => p.toLowerCase()).join('/');

function baseName(display: string): string {
  const parts = display.split(/!\/|[/\\]/).filter(Boolean);
  return parts[parts.length - 1] ?? display;
}

/** Where a Velociraptor upload came from on the host (`uploads/auto/C%3A/Windows/…` → `C:\Windows\…`), or null. */
export function uploadedPath(comps: string[]): string | null {
  const i = comps.findIndex((c) => c.toLowerCase() === 'uploads');
  if (i < 0 || comps.length < i + 3) return null;
  const rest = comps.slice(i + 2);
  if (!/^([A-Za-z]:|\\\\[.?]\\)/.test(rest[0]!)) return null;
  return rest.join('\\');
}

// ---- reading members ----------------------------------------------------------------------------------

function openStream(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    try {
      zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream)));
    } catch (e) {
      reject(e);
    }
  });
}

function charge(budget: Budget, n: number): void {
  budget.inflated += n;
  if (budget.inflated > ZIP_LIMITS.maxTotalInflated) throw new LimitError(`more than ${ZIP_LIMITS.maxTotalInflated} bytes inflated from this archive; reading stopped`);
}

/** An archive member as an evidence input: streamed from the archive, never written out. */
function memberInput(zip: ZipFile, entry: Entry, name: string, budget: Budget): EvidenceInput {
  const size = entry.uncompressedSize;
  return {
    name,
    size,
    async head(n: number): Promise<Buffer> {
      const want = Math.min(n, size);
      if (want <= 0) return Buffer.alloc(0);
      const stream = await openStream(zip, entry);
      const parts: Buffer[] = [];
      let got = 0;
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          charge(budget, chunk.length);
          parts.push(chunk);
          got += chunk.length;
          if (got >= want) break;
        }
      } finally {
        stream.destroy();
      }
      return Buffer.concat(parts).subarray(0, want);
    },
    async read(): Promise<Buffer> {
      if (size > ZIP_LIMITS.maxMemberBytes) throw new LimitError(`${size} bytes is over the ${ZIP_LIMITS.maxMemberBytes}-byte limit for one member`);
      // memory grows with what actually inflates, never with the size the directory claims
      const parts: Buffer[] = [];
      let got = 0;
      const stream = await openStream(zip, entry);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          // the directory's size is checked by yauzl too; this is the bound on what we hold
          if (got + chunk.length > size) throw new LimitError(`inflates to more than the ${size} bytes the zip directory declares`);
          charge(budget, chunk.length);
          parts.push(chunk);
          got += chunk.length;
        }
      } finally {
        stream.destroy();
      }
      return Buffer.concat(parts, got);
    },
    async *chunks(): AsyncIterable<Buffer> {
      if (size > ZIP_LIMITS.maxMemberBytes) throw new LimitError(`${size} bytes is over the ${ZIP_LIMITS.maxMemberBytes}-byte limit for one member`);
      const stream = await openStream(zip, entry);
      let got = 0;
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          got += chunk.length;
          if (got > size) throw new LimitError(`inflates to more than the ${size} bytes the zip directory declares`);
          charge(budget, chunk.length);
          yield chunk;
        }
      } finally {
        stream.destroy();
      }
    },
  };
}

// ---- the archive ----------------------------------------------------------------------------------------

const OPTIONS = { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false, strictFileNames: false } as const;

function openPath(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(path, OPTIONS, (err, zip) => (err || !zip ? reject(err ?? new Error('no zip')) : resolve(zip))));
}

function openBuffer(b: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => yauzl.fromBuffer(b, OPTIONS, (err, zip) => (err || !zip ? reject(err ?? new Error('no zip')) : resolve(zip))));
}

/** The central directory, up to `max` entries; entries read before a damaged record are kept. */
function listEntries(zip: ZipFile, max: number): Promise<{ entries: Entry[]; error: string | null }> {
  return new Promise((resolve) => {
    const entries: Entry[] = [];
    let done = false;
    const finish = (error: string | null): void => {
      if (done) return;
      done = true;
      zip.removeAllListeners('entry');
      resolve({ entries, error });
    };
    zip.on('entry', (e: Entry) => {
      entries.push(e);
      if (entries.length >= max) finish(null);
      else zip.readEntry();
    });
    zip.on('end', () => finish(null));
    zip.on('error', (err: Error) => finish(err.message));
    zip.readEntry();
  });
}

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface Member {
  entry: Entry;
  /** Display name: `archive!/member` with the member name escaped. */
  name: string;
  /** Decoded path components (labels, never a path). */
  comps: string[];
  /** Folder key, lower case. */
  folder: string;
  base: string;
}

/** A folder of the archive that holds a collection of one client: the host of everything below it. */
interface Scope {
  /** Folder key (lower case), '' for the archive root. */
  key: string;
  clientInfo?: Member;
  context?: Member;
  /** Client id from the folder name (`Host-C.1234…`, `clients/C.1234…`). */
  idFromPath?: string;
  /** Host name from the folder name of a hunt download (`Host-C.1234…`). */
  nameFromPath?: string;
  /** The host everything in this scope is attributed to, once known. */
  host?: string;
  /** A client id is known but no name: the name comes from the logs read. */
  deferredId?: string;
}

const REPO_FILE = /^(INDEX\.BTR|OBJECTS\.DATA|MAPPING\d\.MAP|MAPPING\.VER|INDEX\.MAP|OBJECTS\.MAP)(\.GZ)?$/;
const CLIENT_ID = /^C\.[0-9a-f]{4,32}$/i;
const METADATA = new Set(['client_info.json', 'collection_context.json', 'log.json', 'logs.json', 'uploads.json', 'requests.json', 'hunt_info.json', 'log.csv', 'logs.csv', 'uploads.csv', 'task.db']);

function cleanHost(s: unknown): string | undefined {
  if (typeof s !== 'string') return undefined;
  const t = escapeText(s.trim()).slice(0, 255);
  return t || undefined;
}

function field(o: Record<string, unknown>, ...names: string[]): unknown {
  const keys = Object.keys(o);
  for (const n of names) {
    const k = keys.find((x) => x.toLowerCase() === n.toLowerCase());
    if (k !== undefined && o[k] !== '' && o[k] !== null) return o[k];
  }
  return undefined;
}

async function readJsonObject(zip: ZipFile, m: Member, budget: Budget, notes: EvidenceNote[]): Promise<Record<string, unknown> | null> {
  if (m.entry.uncompressedSize > ZIP_LIMITS.maxInfoBytes || m.entry.isEncrypted()) return null;
  try {
    const text = (await memberInput(zip, m.entry, m.name, budget).read()).toString('utf8').replace(/^\ufeff/, '');
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch (e) {
    notes.push({ file: m.name, level: 'warning', message: `Velociraptor collection metadata unreadable (${msg(e)}); host not taken from it` });
    return null;
  }
}

function mergeInto(acc: ObserveResult, r: ObserveResult): void {
  acc.observations.push(...r.observations);
  acc.items.push(...r.items);
  acc.logs.push(...r.logs);
  if (r.chains) {
    acc.chains ??= new Map();
    for (const [k, v] of r.chains) acc.chains.set(k, v);
  }
  if (r.state) (acc.state ??= []).push(...r.state);
  if (r.repositories) (acc.repositories ??= []).push(...r.repositories);
}

function withDetail(r: ObserveResult, extra: string | null): ObserveResult {
  if (!extra) return r;
  return { ...r, items: r.items.map((i: EvidenceItem) => ({ ...i, detail: i.detail ? `${i.detail}; ${extra}` : extra })) };
}

/**
 * Read a zip archive: every member through `observeInput`, repository folders through `observeRepository`,
 * Velociraptor client trees each as their own host. Null (with a note) when nothing in it is evidence; never
 * throws for bad input.
 */
export async function observeZip(input: EvidenceInput, ctx: ObserveContext, path?: string): Promise<ObserveResult | null> {
  const zctx = ctx as ZipContext;
  const parent = zctx[STATE];
  const depth = parent ? parent.depth + 1 : 0;
  const notes = ctx.notes;
  if (depth > ZIP_LIMITS.maxNesting) {
    notes.push({ file: input.name, level: 'skipped', message: `zip nested ${depth} levels deep (limit ${ZIP_LIMITS.maxNesting}); not read` });
    return null;
  }
  const state: ZipState = { depth, budget: parent?.budget ?? { inflated: 0 } };
  let zip: ZipFile;
  try {
    if (path) zip = await openPath(path);
    else {
      if (input.size > ZIP_LIMITS.maxNestedZipBytes) {
        notes.push({ file: input.name, level: 'skipped', message: `zip inside a zip of ${input.size} bytes (over ${ZIP_LIMITS.maxNestedZipBytes}); not read — extract it and scan it` });
        return null;
      }
      zip = await openBuffer(await input.read());
    }
  } catch (e) {
    notes.push({ file: input.name, level: 'error', message: `not a readable zip archive (${msg(e)})` });
    return null;
  }
  try {
    return await readArchive(zip, input.name, ctx, state);
  } catch (e) {
    // not expected: every member is guarded; the archive as a whole still yields one note
    notes.push({ file: input.name, level: 'error', message: `zip reading stopped (${msg(e)})` });
    return null;
  } finally {
    zip.close();
  }
}

async function readArchive(zip: ZipFile, zipName: string, ctx: ObserveContext, state: ZipState): Promise<ObserveResult | null> {
  const notes = ctx.notes;
  const budget = state.budget;
  const { entries, error } = await listEntries(zip, ZIP_LIMITS.maxMembers);
  if (error !== null) {
    notes.push({
      file: zipName,
      level: 'error',
      message: entries.length ? `zip directory damaged after ${entries.length} member(s) (${error}); those are read, the rest is lost` : `zip directory unreadable (${error})`,
    });
  }
  if (entries.length >= ZIP_LIMITS.maxMembers && zip.entryCount > entries.length) {
    notes.push({ file: zipName, level: 'warning', message: `${zip.entryCount} members; only the first ${entries.length} are read (limit)` });
  }

  // ---- members: names as labels, bounds checked before anything is inflated
  const members: Member[] = [];
  const seen = new Map<string, number>();
  for (const entry of entries) {
    const text = decodeMemberName(entry.fileNameRaw, entry.generalPurposeBitFlag, entry.extraFields ?? []);
    if (/[/\\]$/.test(text) && entry.uncompressedSize === 0) continue; // a folder
    let name = `${zipName}!/${escapeText(text)}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) name += ` [duplicate ${n}]`;
    const comps = componentsOf(text);
    const base = comps[comps.length - 1] ?? '';
    members.push({ entry, name, comps, folder: lower(comps.slice(0, -1)), base });
  }

  // ---- Velociraptor client trees (scopes)
  const scopes = new Map<string, Scope>();
  const scopeAt = (parts: string[]): Scope => {
    const key = lower(parts);
    let s = scopes.get(key);
    if (!s) {
      s = { key };
      const last = parts[parts.length - 1] ?? '';
      const hunt = /^(.*)-(C\.[0-9a-f]{4,32})$/i.exec(last);
      if (hunt) {
        s.idFromPath = hunt[2]!;
        s.nameFromPath = hunt[1] || undefined;
      } else if (CLIENT_ID.test(last)) s.idFromPath = last;
      scopes.set(key, s);
    }
    return s;
  };
  for (const m of members) {
    const b = m.base.toLowerCase();
    if (b === 'client_info.json') scopeAt(m.comps.slice(0, -1)).clientInfo ??= m;
    else if (b === 'collection_context.json') scopeAt(m.comps.slice(0, -1)).context ??= m;
    // a zipped server file store: clients/<ClientId>/collections/<FlowId>/…
    const i = m.comps.findIndex((c, j) => c.toLowerCase() === 'clients' && CLIENT_ID.test(m.comps[j + 1] ?? '') && j + 2 < m.comps.length - 1);
    if (i >= 0) scopeAt(m.comps.slice(0, i + 2));
  }
  const scopeOf = (folderParts: string[]): Scope | null => {
    for (let n = folderParts.length; n >= 0; n--) {
      const s = scopes.get(lower(folderParts.slice(0, n)));
      if (s) return s;
    }
    return null;
  };
  for (const s of scopes.values()) {
    const info = s.clientInfo ? await readJsonObject(zip, s.clientInfo, budget, notes) : null;
    const context = s.context ? await readJsonObject(zip, s.context, budget, notes) : null;
    const name = info ? cleanHost(field(info, 'fqdn', 'hostname')) : undefined;
    const idRaw = (info && field(info, 'client_id', 'ClientId')) ?? (context && field(context, 'client_id')) ?? s.idFromPath;
    const id = typeof idRaw === 'string' && CLIENT_ID.test(idRaw.replace(/-.*$/, '')) ? cleanHost(idRaw) : s.idFromPath;
    const hostName = name ?? cleanHost(s.nameFromPath);
    if (ctx.host) s.host = ctx.host;
    else if (hostName && id) s.host = `${hostName} (${id})`;
    else if (hostName) s.host = hostName;
    else if (id) s.deferredId = id;
  }

  // ---- repository folders: INDEX.BTR and a MAPPINGn.MAP (any case, optionally .gz) in one folder
  const byFolder = new Map<string, Member[]>();
  for (const m of members) if (REPO_FILE.test(m.base.toUpperCase())) byFolder.set(m.folder, [...(byFolder.get(m.folder) ?? []), m]);
  const repos: Array<{ folder: string; comps: string[]; label: string; files: Member[] }> = [];
  const inRepo = new Set<Member>();
  for (const [folder, files] of byFolder) {
    const ups = files.map((f) => f.base.toUpperCase());
    const index = files[ups.findIndex((u) => u === 'INDEX.BTR' || u === 'INDEX.BTR.GZ')];
    const map = files[ups.findIndex((u) => /^MAPPING\d\.MAP(\.GZ)?$/.test(u))];
    if (!index || !map) continue;
    let ok = false;
    try {
      const h = await memberInput(zip, map.entry, map.name, budget).head(4);
      ok = h.length === 4 && ((h[0] === 0x1f && h[1] === 0x8b) || h.readUInt32LE(0) === 0xabcd);
    } catch {
      ok = false;
    }
    if (!ok) continue;
    const comps = files[0]!.comps.slice(0, -1);
    const rawName = files[0]!.name;
    const label = rawName.slice(0, Math.max(rawName.lastIndexOf('/'), rawName.lastIndexOf('\\'), zipName.length + 1));
    repos.push({ folder, comps, label, files });
    files.forEach((f) => inRepo.add(f));
  }

  // ---- every other member through the dispatcher
  const perScope = new Map<Scope | null, Array<{ member: Member; result: ObserveResult }>>();
  const results: Array<{ scope: Scope | null; member: Member | null; result: ObserveResult }> = [];
  const memberCtx = (scope: Scope | null): ZipContext => {
    const host = ctx.host ?? scope?.host;
    return { notes, ...(host ? { host } : {}), [STATE]: state };
  };
  let skippedNotEvidence = 0;
  let budgetOut = 0;
  const sparse = new Set(members.filter((m) => m.base.toLowerCase().endsWith('.idx')).map((m) => `${m.folder}/${m.base.slice(0, -4).toLowerCase()}`));
  const hasMetadataJson = members.some((m) => m.comps.length === 1 && m.base.toLowerCase() === 'metadata.json');
  const guard = (m: Member): string | null => {
    const e = m.entry;
    if (e.isEncrypted()) {
      // Velociraptor's encrypted offline collection: metadata.json (the wrapped key) beside an encrypted data.zip
      if (hasMetadataJson && m.comps.length === 1 && m.base.toLowerCase() === 'data.zip') return 'encrypted Velociraptor offline collection (metadata.json + data.zip); not read — decrypt it first (the collection\'s password or key), then scan the result';
      return 'encrypted member; not read (wmiscope does not decrypt)';
    }
    if (e.compressionMethod !== 0 && e.compressionMethod !== 8) return `compression method ${e.compressionMethod} is not supported (only stored and deflate); not read`;
    if (e.uncompressedSize > ZIP_LIMITS.maxMemberBytes) return `${e.uncompressedSize} bytes is over the ${ZIP_LIMITS.maxMemberBytes}-byte limit for one member; not read`;
    if (e.uncompressedSize > ZIP_LIMITS.ratioMinBytes && e.uncompressedSize > ZIP_LIMITS.maxRatio * Math.max(1, e.compressedSize)) {
      return `compression ratio over ${ZIP_LIMITS.maxRatio}:1 (${e.compressedSize} → ${e.uncompressedSize} bytes): zip bomb; not read`;
    }
    return null;
  };
  for (const m of members) {
    if (inRepo.has(m) || m.entry.uncompressedSize === 0) continue;
    if (budget.inflated >= ZIP_LIMITS.maxTotalInflated) {
      budgetOut++;
      continue;
    }
    const why = guard(m);
    if (why) {
      notes.push({ file: m.name, level: 'skipped', message: why });
      continue;
    }
    const scope = scopeOf(m.comps.slice(0, -1));
    let r: ObserveResult | null = null;
    const before = notes.length;
    try {
      r = await observeInput(memberInput(zip, m.entry, m.name, budget), memberCtx(scope));
    } catch (e) {
      notes.push({ file: m.name, level: e instanceof LimitError ? 'skipped' : 'error', message: `not read (${msg(e)})` });
      continue;
    }
    if (r === null) {
      if (notes.slice(before).some((n) => n.file === m.name)) continue;
      if (++skippedNotEvidence <= ZIP_LIMITS.maxSkipNotes) {
        const meta = METADATA.has(m.base.toLowerCase()) || /\.(json|csv)\.index$/i.test(m.base) || /\.json~$/i.test(m.base);
        const sparseIndex = /\.idx$/i.test(m.base) && members.some((o) => o.folder === m.folder && o.base.toLowerCase() === m.base.slice(0, -4).toLowerCase());
        notes.push({
          file: m.name,
          level: 'skipped',
          message: meta ? 'Velociraptor collection metadata; not evidence' : sparseIndex ? 'Velociraptor sparse-upload index; not evidence' : 'not evidence (no EVTX signature, not a WMI repository file, not a recognized export, row or collector format)',
        });
      }
      continue;
    }
    if (sparse.has(`${m.folder}/${m.base.toLowerCase()}`)) {
      notes.push({ file: m.name, level: 'warning', message: 'Velociraptor sparse upload (an .idx beside it): read as stored, the sparse ranges are not expanded' });
    }
    const result = withDetail(r, (() => {
      const p = uploadedPath(m.comps);
      return p ? `collected from ${escapeText(p)}` : null;
    })());
    const list = perScope.get(scope) ?? [];
    list.push({ member: m, result });
    perScope.set(scope, list);
  }
  if (skippedNotEvidence > ZIP_LIMITS.maxSkipNotes) {
    notes.push({ file: zipName, level: 'skipped', message: `${skippedNotEvidence - ZIP_LIMITS.maxSkipNotes} more members are not evidence` });
  }

  // ---- hosts named only by their logs: a client id without client_info.json
  for (const s of scopes.values()) {
    if (s.host || !s.deferredId) continue;
    const computers = new Map<string, string>();
    for (const { result } of perScope.get(s) ?? []) for (const i of result.items) if (i.kind === 'evtx' && i.host) computers.set(i.host.toLowerCase(), i.host);
    s.host = computers.size === 1 ? `${[...computers.values()][0]!} (${s.deferredId})` : s.deferredId;
    perScope.set(s, (perScope.get(s) ?? []).map((x) => ({ ...x, result: forceHost(x.result, s.host!) })));
  }
  for (const [scope, list] of perScope) for (const { member, result } of list) results.push({ scope, member, result });

  // ---- repositories
  for (const repo of repos) {
    if (budget.inflated >= ZIP_LIMITS.maxTotalInflated) {
      budgetOut += repo.files.length;
      continue;
    }
    const scope = scopeOf(repo.comps);
    const host = ctx.host ?? scope?.host ?? repositoryHost(repo.comps, scope, results, zipName);
    const files = new Map<string, Uint8Array>();
    for (const f of repo.files) {
      const key = f.base.toUpperCase();
      if (files.has(key)) continue;
      const why = guard(f);
      if (why) {
        notes.push({ file: f.name, level: 'skipped', message: why });
        continue;
      }
      try {
        files.set(key, await memberInput(zip, f.entry, f.name, budget).read());
      } catch (e) {
        notes.push({ file: f.name, level: e instanceof LimitError ? 'skipped' : 'error', message: `repository file not read (${msg(e)})` });
      }
    }
    let res;
    try {
      res = observeRepository(repo.label, host, notes, files);
    } catch (e) {
      notes.push({ file: repo.label, level: 'error', message: `repository not read (${msg(e)})` });
      continue;
    }
    files.clear();
    if (!res.item && res.observations.length === 0) continue;
    const chains = new Map<string, string[]>();
    for (const [k, v] of res.chains) chains.set(`${host.toLowerCase()}|${k}`, v);
    const p = uploadedPath([...repo.comps, 'x']);
    const item = res.item && p ? { ...res.item, detail: `${res.item.detail}; collected from ${escapeText(p.replace(/\\x$/, ''))}` } : res.item;
    results.push({ scope, member: null, result: { observations: res.observations, items: item ? [item] : [], logs: [], chains, ...(res.item ? { state: [{ host, namespaces: 'all' as const }] } : {}), ...(res.repository ? { repositories: [res.repository] } : {}) } });
  }
  if (budgetOut) notes.push({ file: zipName, level: 'skipped', message: `${budgetOut} member(s) not read: more than ${ZIP_LIMITS.maxTotalInflated} bytes inflated from this archive` });

  if (results.length === 0) {
    if (error !== null && members.length === 0) return null; // the directory note says it all
    notes.push({ file: zipName, level: 'skipped', message: `no evidence among its ${members.length} member(s)` });
    return null;
  }
  const acc: ObserveResult = { observations: [], items: [], logs: [] };
  for (const { result } of results) mergeInto(acc, result);
  return acc;
}

const LAYOUT_PARTS = new Set(['uploads', 'auto', 'ntfs', 'file', 'mft', 'fs', 'c', 'c:', 'collection', 'kape', 'triage', 'evidence', 'output', 'files', 'tout', 'volume']);

/**
 * Host of a repository outside a Velociraptor client tree: the host of the logs collected beside it (same
 * folder above `Windows`, most records), else the folder above the Windows tree, else the scope's client id,
 * else the archive name.
 */
function repositoryHost(comps: string[], scope: Scope | null, results: Array<{ scope: Scope | null; member: Member | null; result: ObserveResult }>, zipName: string): string {
  const rootOf = (parts: string[]): string | null => {
    const i = parts.map((p) => p.toLowerCase()).lastIndexOf('windows');
    return i >= 0 ? lower(parts.slice(0, i)) : null;
  };
  const root = rootOf(comps) ?? lower(comps);
  const counts = new Map<string, { host: string; records: number }>();
  for (const { scope: s, member, result } of results) {
    if (s !== scope || !member) continue;
    const r = rootOf(member.comps.slice(0, -1)) ?? member.folder;
    if (r !== root) continue;
    for (const i of result.items) {
      if (!i.host) continue;
      const c = counts.get(i.host.toLowerCase()) ?? { host: i.host, records: 0 };
      c.records += i.records;
      counts.set(i.host.toLowerCase(), c);
    }
  }
  const best = [...counts.values()].sort((a, b) => b.records - a.records)[0];
  if (best) return best.host;
  const win = comps.map((p) => p.toLowerCase()).lastIndexOf('windows');
  for (let i = (win >= 0 ? win : comps.length) - 1; i >= 0; i--) {
    const p = comps[i]!;
    if (LAYOUT_PARTS.has(p.toLowerCase()) || /^[a-z]:?$/i.test(p) || /^\\\\[.?]\\/.test(p) || p === '..') continue;
    return escapeText(p).slice(0, 255);
  }
  return scope?.deferredId ?? scope?.idFromPath ?? escapeText(baseName(zipName));
}
