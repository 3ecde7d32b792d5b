/**
 * The one walker of archives read in place (zip, tar, gzip'd tar), never extracted. A format module (`zip.ts`,
 * `tar.ts`) only lists an archive's members and opens them; everything else happens here, once, for every
 * format: member names as labels, bounds, nesting, recognition of each member by content (through the
 * dispatcher, which is handed in as {@link ObserveFn} so that no module imports the dispatcher back), the
 * repository-set detector, Velociraptor client trees and the host-from-layout rule.
 *
 * The archive is attacker-controlled. Member names are labels only: shown escaped, never joined into a file
 * system path; nothing is written anywhere. Member count, member size, total inflated bytes, compression ratio
 * and nesting depth are bounded ({@link ARCHIVE_LIMITS}); a member that cannot be read is skipped with a note;
 * a damaged archive keeps what was listed before the damage.
 *
 * Velociraptor layouts (see the README): an offline collection or a flow export has `client_info.json`,
 * `collection_context.json`, `log.json`, `results/<Artifact>.json` and `uploads/<accessor>/<escaped path>` at
 * its root; a hunt download has one such tree per client under `<Hostname>-<ClientId>/`; a zipped server file
 * store has `clients/<ClientId>/collections/<FlowId>/uploads/…`. Each client is kept as its own host.
 */
import { NOT_EVIDENCE, type NoteSink } from '../notes.js';
import { parseJson } from '../text/json.js';
import { restartTimeBudget } from '../budget.js';
import { escapeText } from '../../model/text.js';
import type { EvidenceInput, ObserveContext, ObserveFn, ObserveResult } from '../input.js';
import { hostFromParts, mappingHeadOk, repositorySet, REPO_FILE } from './layout.js';
import { observeRepositoryFiles } from '../formats/repository.js';
import type { RepositoryFileSource } from '../formats/repository.js';
import { INFLATE_POLICY, LimitError, tooLarge, withMaterialized } from './inflate.js';
import { clientLink, forceHost, mergeInto, withDetail } from '../result.js';

/**
 * Bounds for one archive (and the archives nested in it), whatever its format; the bounds on inflated and member
 * sizes are the one decompression policy's ({@link INFLATE_POLICY} in `inflate.ts`). Mutable for tests only.
 */
export const ARCHIVE_LIMITS = {
  /**
   * Members listed from one archive; the rest are counted, not read, and one note says how many. Each listed member
   * costs about 1 KiB (its directory entry, name and labels) until the archive is done, so 100,000 members hold
   * about 100 MiB; the byte budget below does not bound this (members may be empty). Real triage collections
   * hold a few thousand to a few tens of thousands of files.
   */
  maxMembers: 100_000,
  /** Archives inside archives (a gzip'd file counts as one): the outer archive is level 0. */
  maxNesting: 2,
  /** Bytes inflated (or read, for stored members) from one top-level archive, nested archives included. */
  maxTotalInflated: 32 * 2 ** 30,
  /** `client_info.json` / `collection_context.json` read for the host name. */
  maxInfoBytes: 1 << 20,
};

export { LimitError };

export interface Budget {
  inflated: number;
}

/** Count `n` bytes inflated (or read) against the archive's budget; throws {@link LimitError} past the bound. */
export function charge(budget: Budget, n: number): void {
  budget.inflated += n;
  if (budget.inflated > ARCHIVE_LIMITS.maxTotalInflated) throw new LimitError(`more than ${ARCHIVE_LIMITS.maxTotalInflated} bytes inflated from this archive; reading stopped`);
}

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** One member as a format module lists it. */
export interface ArchiveMember {
  /** The stored name decoded to text: a label, never a path. */
  text: string;
  /** Bytes the archive declares for it; reading more is refused. */
  size: number;
  /** Why the member is not read (encrypted, unsupported compression, bomb ratio…), or null. */
  refusal: string | null;
  /** The member's bytes from its start (every call starts over); the format module charges the budget. */
  open(): AsyncIterable<Buffer>;
}

/** An archive as a format module lists it. */
export interface ArchiveListing {
  /** Display name of the archive (an input name). */
  label: string;
  members: ArchiveMember[];
  /** The listing stopped at damage (a note says so already). */
  damaged: boolean;
}

// ---- nesting: state shared between an archive and the archives nested in it -------------------------

const STATE = Symbol.for('wmiscope.archive.state');

export interface ArchiveState {
  /** Nesting level of the archive whose members carry this state. */
  depth: number;
  budget: Budget;
}

type ArchiveContext = ObserveContext & { [STATE]?: ArchiveState };

/** The state of an archive about to be read (depth, the top-level archive's budget), or null with a note when nested too deep. */
export function enterArchive(input: EvidenceInput, ctx: ObserveContext, format: string): ArchiveState | null {
  const parent = (ctx as ArchiveContext)[STATE];
  const depth = parent ? parent.depth + 1 : 0;
  if (depth > ARCHIVE_LIMITS.maxNesting) {
    ctx.notes.add({ file: input.name, level: 'skipped', code: 'over-limit', message: `${format} nested ${depth} levels deep (limit ${ARCHIVE_LIMITS.maxNesting}); not read` });
    return null;
  }
  return { depth, budget: parent?.budget ?? { inflated: 0 } };
}

/** The context of what is read inside an archive (or a gzip'd file) whose state is `state`. */
export function nestedContext(ctx: ObserveContext, state: ArchiveState): ObserveContext {
  return { ...ctx, [STATE]: state } as ArchiveContext;
}

/** `chunks` charged to the archive's budget as they pass. */
export async function* chargedChunks(chunks: AsyncIterable<Buffer>, state: ArchiveState): AsyncIterable<Buffer> {
  for await (const c of chunks) {
    charge(state.budget, c.length);
    yield c;
  }
}

/**
 * Hand `fn` an archive found inside an archive (or inflated from a gzip'd file): its file on disk when it has one,
 * else its bytes when small ({@link INFLATE_POLICY}.inMemory), else a temporary copy streamed to disk. Null with a
 * note when it is larger than any member is read.
 */
export async function withNestedArchive<T>(input: EvidenceInput, path: string | undefined, ctx: ObserveContext, format: string, fn: (src: { path: string } | { data: Buffer }) => Promise<T>): Promise<T | null> {
  if (path) return fn({ path });
  const why = tooLarge(input.size);
  if (why) {
    ctx.notes.add({ file: input.name, level: 'skipped', code: 'over-limit', message: `${format} inside an archive: ${why}` });
    return null;
  }
  if (input.size <= INFLATE_POLICY.inMemory) return fn({ data: await input.read() });
  return withMaterialized(input.name, input.chunks(), (copy) => fn({ path: copy.path! }), input.size);
}

// ---- names ------------------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: false });

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

// ---- reading members --------------------------------------------------------------------------------

/** An archive member as an evidence input: streamed from the archive, never written out, never more than declared. */
function memberInput(m: ArchiveMember, name: string): EvidenceInput {
  const size = m.size;
  const refuse = (): LimitError => new LimitError(tooLarge(size)!);
  async function* bounded(): AsyncIterable<Buffer> {
    let got = 0;
    for await (const chunk of m.open()) {
      got += chunk.length;
      if (got > size) throw new LimitError(`holds more than the ${size} bytes the archive declares`);
      yield chunk;
    }
    // a short member is damage, never "not evidence"
    if (got < size) throw new Error(`ends after ${got} of the ${size} bytes the archive declares`);
  }
  const collect = async (want: number): Promise<Buffer> => {
    // memory grows with what actually arrives, never with the size the archive claims
    const parts: Buffer[] = [];
    let got = 0;
    for await (const chunk of bounded()) {
      parts.push(chunk);
      got += chunk.length;
      if (got >= want) break;
    }
    return Buffer.concat(parts, got).subarray(0, want);
  };
  return {
    name,
    size,
    async head(n: number): Promise<Buffer> {
      const want = Math.min(n, size);
      return want <= 0 ? Buffer.alloc(0) : collect(want);
    },
    async read(): Promise<Buffer> {
      if (tooLarge(size)) throw refuse();
      return collect(size);
    },
    async *chunks(): AsyncIterable<Buffer> {
      if (tooLarge(size)) throw refuse();
      yield* bounded();
    },
  };
}

// ---- the walk -----------------------------------------------------------------------------------------

interface Member {
  source: ArchiveMember;
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

interface Walked {
  scope: Scope | null;
  member: Member | null;
  result: ObserveResult;
}

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

async function readJsonObject(m: Member, notes: NoteSink): Promise<Record<string, unknown> | null> {
  if (m.source.size > ARCHIVE_LIMITS.maxInfoBytes || m.source.refusal) return null;
  try {
    const text = (await memberInput(m.source, m.name).read()).toString('utf8').replace(/^\ufeff/, '');
    const v: unknown = parseJson(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch (e) {
    notes.add({ file: m.name, level: 'warning', code: 'assumption', message: `Velociraptor collection metadata unreadable (${errorText(e)}); host not taken from it` });
    return null;
  }
}

/** Why a member is not read at all (the format's refusal, or over the member-size bound), or null. */
function guard(m: ArchiveMember): string | null {
  return m.refusal ?? tooLarge(m.size);
}

/**
 * Read a listed archive: every member through `observe` (the dispatcher), repository folders through
 * `observeRepository`, Velociraptor client trees each as their own host. Null (with a note) when nothing in it
 * is evidence; never throws for bad input.
 */
export async function walkArchive(listing: ArchiveListing, ctx: ObserveContext, state: ArchiveState, observe: ObserveFn): Promise<ObserveResult | null> {
  const notes = ctx.notes;
  const budget = state.budget;
  const label = listing.label;

  // ---- members: names as labels
  const members: Member[] = [];
  const seen = new Map<string, number>();
  for (const source of listing.members) {
    let name = `${label}!/${escapeText(source.text)}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) name += ` [duplicate ${n}]`;
    const comps = componentsOf(source.text);
    const base = comps[comps.length - 1] ?? '';
    members.push({ source, name, comps, folder: lower(comps.slice(0, -1)), base });
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
    const info = s.clientInfo ? await readJsonObject(s.clientInfo, notes) : null;
    const context = s.context ? await readJsonObject(s.context, notes) : null;
    const name = info ? cleanHost(field(info, 'fqdn', 'hostname')) : undefined;
    const idRaw = (info && field(info, 'client_id', 'ClientId')) ?? (context && field(context, 'client_id')) ?? s.idFromPath;
    const id = typeof idRaw === 'string' && CLIENT_ID.test(idRaw.replace(/-.*$/, '')) ? cleanHost(idRaw) : s.idFromPath;
    const hostName = name ?? cleanHost(s.nameFromPath);
    if (ctx.host) s.host = ctx.host;
    else if (hostName && id) s.host = `${hostName} (${id})`;
    else if (hostName) s.host = hostName;
    else if (id) s.deferredId = id;
  }

  // ---- repository folders: the repository set in one folder, the mapping file's content checked
  const byFolder = new Map<string, Member[]>();
  for (const m of members) if (REPO_FILE.test(m.base)) byFolder.set(m.folder, [...(byFolder.get(m.folder) ?? []), m]);
  const repos: Array<{ comps: string[]; label: string; files: Member[] }> = [];
  const inRepo = new Set<Member>();
  for (const files of byFolder.values()) {
    const set = repositorySet(files.map((f) => f.base));
    if (!set) continue;
    const map = files[set.map]!;
    let ok = false;
    try {
      ok = !map.source.refusal && mappingHeadOk(await memberInput(map.source, map.name).head(4));
    } catch {
      ok = false;
    }
    if (!ok) continue;
    const comps = files[0]!.comps.slice(0, -1);
    const rawName = files[0]!.name;
    const repoLabel = rawName.slice(0, Math.max(rawName.lastIndexOf('/'), rawName.lastIndexOf('\\'), label.length + 1));
    repos.push({ comps, label: repoLabel, files });
    files.forEach((f) => inRepo.add(f));
  }

  // ---- every other member through the dispatcher
  const perScope = new Map<Scope | null, Array<{ member: Member; result: ObserveResult }>>();
  const results: Walked[] = [];
  const memberCtx = (scope: Scope | null): ArchiveContext => {
    const host = ctx.host ?? scope?.host;
    // a client's host is the collection's: the names its logs give are linked to it where they agree
    return { notes, ...(host ? { host } : {}), ...(!ctx.host && scope?.host ? { hostLink: clientLink(scope.host) } : {}), [STATE]: state };
  };
  let budgetOut = 0;
  // A hunt download holds each result set twice: `results/All <source>.json` (every client's rows) and
  // `<host>-<client id>/results/<source>.json`. The combined file is read only when no client folder has that source
  // (a download of combined results only), so no row is counted or warned about twice.
  const perClientResults = new Set<string>();
  for (const m of members) {
    if (m.comps.length < 3 || m.comps[m.comps.length - 2]!.toLowerCase() !== 'results') continue;
    const scope = scopeOf(m.comps.slice(0, -2));
    if (scope && scope.key !== '') perClientResults.add(m.base.toLowerCase());
  }
  const combinedTwice = (m: Member): boolean =>
    m.comps.length === 2 && m.comps[0]!.toLowerCase() === 'results' && m.base.startsWith('All ') && perClientResults.has(m.base.slice(4).toLowerCase());
  const sparse = new Set(members.filter((m) => m.base.toLowerCase().endsWith('.idx')).map((m) => `${m.folder}/${m.base.slice(0, -4).toLowerCase()}`));
  for (const m of members) {
    restartTimeBudget();
    if (inRepo.has(m) || m.source.size === 0) continue;
    if (combinedTwice(m)) {
      notes.add({ file: m.name, level: 'skipped', code: 'not-evidence', kind: 'collection-metadata', message: "a hunt's combined results: the same rows are read from each client's folder" }, label);
      continue;
    }
    if (budget.inflated >= ARCHIVE_LIMITS.maxTotalInflated) {
      budgetOut++;
      continue;
    }
    const why = guard(m.source);
    if (why) {
      notes.add({ file: m.name, level: 'skipped', code: 'over-limit', message: why });
      continue;
    }
    const scope = scopeOf(m.comps.slice(0, -1));
    let r: ObserveResult | null = null;
    const before = notes.mark();
    try {
      r = await observe(memberInput(m.source, m.name), memberCtx(scope));
    } catch (e) {
      notes.add(e instanceof LimitError ? { file: m.name, level: 'skipped', code: 'over-limit', message: `not read (${errorText(e)})` } : { file: m.name, level: 'error', code: 'failed', message: `not read (${errorText(e)})` });
      continue;
    }
    if (r === null) {
      if (notes.wroteAbout(m.name, before)) continue;
      // one cap for all of this archive's members (a summary on the archive), apart for the collection's own files
      const meta = METADATA.has(m.base.toLowerCase()) || /\.(json|csv)\.index$/i.test(m.base) || /\.json~$/i.test(m.base);
      const sparseIndex = /\.idx$/i.test(m.base) && members.some((o) => o.folder === m.folder && o.base.toLowerCase() === m.base.slice(0, -4).toLowerCase());
      if (meta) notes.add({ file: m.name, level: 'skipped', code: 'not-evidence', kind: 'collection-metadata', message: 'Velociraptor collection metadata; not evidence' }, label);
      else if (sparseIndex) notes.add({ file: m.name, level: 'skipped', code: 'not-evidence', kind: 'sparse-index', message: 'Velociraptor sparse-upload index; not evidence' }, label);
      else notes.add({ file: m.name, level: 'skipped', code: 'not-evidence', message: NOT_EVIDENCE }, label);
      continue;
    }
    if (sparse.has(`${m.folder}/${m.base.toLowerCase()}`)) {
      notes.add({ file: m.name, level: 'warning', code: 'assumption', message: 'Velociraptor sparse upload (an .idx beside it): read as stored, the sparse ranges are not expanded' });
    }
    const p = uploadedPath(m.comps);
    const result = withDetail(r, p ? `collected from ${escapeText(p)}` : null);
    const list = perScope.get(scope) ?? [];
    list.push({ member: m, result });
    perScope.set(scope, list);
  }

  // ---- hosts named only by their logs: a client id without client_info.json
  for (const s of scopes.values()) {
    if (s.host || !s.deferredId) continue;
    const computers = new Map<string, string>();
    for (const { result } of perScope.get(s) ?? []) for (const i of result.items) if (i.kind === 'evtx' && i.host) computers.set(i.host.toLowerCase(), i.host);
    s.host = computers.size === 1 ? `${[...computers.values()][0]!} (${s.deferredId})` : s.deferredId;
    perScope.set(s, (perScope.get(s) ?? []).map((x) => ({ ...x, result: forceHost(x.result, s.host!, clientLink(s.host!)) })));
  }
  for (const [scope, list] of perScope) for (const { member, result } of list) results.push({ scope, member, result });

  // ---- repositories
  for (const repo of repos) {
    if (budget.inflated >= ARCHIVE_LIMITS.maxTotalInflated) {
      budgetOut += repo.files.length;
      continue;
    }
    const scope = scopeOf(repo.comps);
    const host = ctx.host ?? scope?.host ?? repositoryHost(repo.comps, scope, results, label);
    // the files streamed to a temporary folder (gzip'd copies inflated under the one policy), read from there
    const files: RepositoryFileSource[] = [];
    for (const f of repo.files) {
      const why = guard(f.source);
      if (why) {
        notes.add({ file: f.name, level: 'skipped', code: 'over-limit', message: why });
        continue;
      }
      files.push({ base: f.base, label: f.name, size: f.source.size, chunks: () => memberInput(f.source, f.name).chunks() });
    }
    let res;
    try {
      res = await observeRepositoryFiles(repo.label, host, notes, files, (n) => charge(budget, n));
    } catch (e) {
      notes.add(e instanceof LimitError ? { file: repo.label, level: 'skipped', code: 'over-limit', message: `repository not read (${errorText(e)})` } : { file: repo.label, level: 'error', code: 'failed', message: `repository not read (${errorText(e)})` });
      continue;
    }
    if (!res.item && res.observations.length === 0) continue;
    const chains = new Map<string, string[]>();
    for (const [k, v] of res.chains) chains.set(`${host.toLowerCase()}|${k}`, v);
    const p = uploadedPath([...repo.comps, 'x']);
    const item = res.item && p ? { ...res.item, detail: `${res.item.detail}; collected from ${escapeText(p.replace(/\\x$/, ''))}` } : res.item;
    results.push({ scope, member: null, result: { observations: res.observations, items: item ? [item] : [], logs: [], chains, ...(res.whole ? { state: [{ host, namespaces: 'all' as const }] } : {}), ...(res.repository ? { repositories: [res.repository] } : {}) } });
  }
  if (budgetOut) notes.add({ file: label, level: 'skipped', code: 'over-limit', message: `${budgetOut} member(s) not read: more than ${ARCHIVE_LIMITS.maxTotalInflated} bytes inflated from this archive` });

  if (results.length === 0) {
    if (listing.damaged && members.length === 0) return null; // the listing's note says it all
    notes.add({ file: label, level: 'skipped', code: 'not-evidence', message: `no evidence among its ${members.length} member(s)` });
    return null;
  }
  const acc: ObserveResult = { observations: [], items: [], logs: [] };
  for (const { result } of results) mergeInto(acc, result);
  return acc;
}

/**
 * Host of a repository outside a Velociraptor client tree: the host of the logs collected beside it (same
 * folder above `Windows`, most records), else the folder layout ({@link hostFromParts}), else the scope's client
 * id, else the archive name.
 */
function repositoryHost(comps: string[], scope: Scope | null, results: Walked[], archiveLabel: string): string {
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
  const fromLayout = hostFromParts(comps);
  if (fromLayout !== null) return escapeText(fromLayout).slice(0, 255);
  return scope?.deferredId ?? scope?.idFromPath ?? escapeText(baseName(archiveLabel));
}
