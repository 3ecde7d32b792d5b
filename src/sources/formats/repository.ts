/**
 * The repository adapter: a WMI/CIM repository folder (or its files from an archive) in, observations of every live
 * subscription object in every namespace and of the residue no live object explains, the repository's evidence item,
 * its consumer-class chains and its time span for coverage.
 */
import * as fs from 'node:fs';
import { checkTime } from '../budget.js';
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { CimFormatError, CimRepository } from '../../cim/index.js';
import { findRepository } from '../../cim/files.js';
import type { CimResidualObject, CimSubscriptionObject, CimValue } from '../../cim/index.js';
import type { EvidenceItem, Observation } from '../../model/types.js';
import type { NoteSink } from '../notes.js';
import type { RepositorySummary } from '../input.js';
import { REPO_FILE } from '../containers/layout.js';
import { inflateChunks, LimitError, tooLarge, withTempDir, writeChunks } from '../containers/inflate.js';

type Values = Observation['properties'];

function flat(v: CimValue): string | number | boolean | null {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(', ');
  return JSON.stringify(v);
}

/** A repository object's property values as observation properties (the binding's references are object paths). */
function objProperties(values: Record<string, CimValue>): Values {
  const d: Values = {};
  for (const [k, v] of Object.entries(values)) d[k] = flat(v);
  return d;
}

/** Where a residual object was found (each place) and what it is to the live repository. */
function residueLocation(r: CimResidualObject): string {
  const where = r.provenance
    .map((p) => `${p.source} at ${p.file} offset ${p.offset}${p.record ? ` (its record held by ${p.record.mapping} at OBJECTS.DATA offset ${p.record.offset})` : p.record === null ? ' (record gone)' : ''}`)
    .join(' + ');
  const what =
    r.relation === 'older-version-of-live'
      ? `older version of the live object${r.changed === null ? '' : r.changed.length ? `; differs in ${r.changed.join(', ')}` : ''}`
      : 'no live object has its key';
  return `${where} (confidence ${r.confidence}; ${what})`;
}

/** What a repository gives: observations, its evidence item, and each consumer class's inheritance chain (`ns|class` → chain). */
export interface RepositoryResult {
  observations: Observation[];
  item: EvidenceItem | null;
  chains: Map<string, string[]>;
  /** For coverage: the span of its subscription objects and its files' last-write times. */
  repository?: RepositorySummary;
  /**
   * Whether the read shows the host's whole WMI state (what is absent was deleted): a repository read with its object
   * store. Without OBJECTS.DATA (a collection that skipped it for its size) no object is read, so none is shown absent.
   */
  whole?: boolean;
}

/** Last-write times of the repository files in `dir` (empty when it is not a folder on disk). */
function repositoryFileTimes(dir: string): RepositorySummary['files'] {
  try {
    return readdirSync(dir)
      .filter((n) => REPO_FILE.test(n))
      .sort()
      .flatMap((n) => {
        const st = statSync(path.join(dir, n));
        return st.isFile() ? [{ name: n, modified: st.mtime.toISOString() }] : [];
      });
  } catch {
    return [];
  }
}

/**
 * Observations from a repository folder on disk whose files are plain (see {@link observeRepositoryFolder} for one
 * with gzip'd files): every live subscription object and every residual one.
 */
export function observeRepository(dir: string, host: string, notes: NoteSink): RepositoryResult {
  return readRepository(dir, host, notes, { at: dir, fileTimes: true });
}

/** Where the repository's plain files are: `at`, the folder `dir` names or a staged copy of it; whether `dir`'s file times are the repository's. */
interface RepoWhere {
  at: string;
  fileTimes: boolean;
}

function readRepository(dir: string, host: string, notes: NoteSink, where: RepoWhere): RepositoryResult {
  // messages about a staged copy name the repository, never the temporary folder
  const shown = (m: string): string => (where.at !== dir ? m.split(where.at).join(dir) : m);
  let repo: CimRepository;
  try {
    repo = CimRepository.open(where.at);
  } catch (e) {
    notes.add({ file: dir, level: e instanceof CimFormatError ? 'skipped' : 'error', code: 'failed', message: shown(e instanceof Error ? e.message : String(e)) });
    return { observations: [], item: null, chains: new Map() };
  }
  try {
    return describeRepository(repo, dir, host, notes, where, shown);
  } finally {
    repo.close();
  }
}

/** What an open repository gives (see {@link readRepository}). */
function describeRepository(repo: CimRepository, dir: string, host: string, notes: NoteSink, where: RepoWhere, shown: (m: string) => string): RepositoryResult {
  const obs: Observation[] = [];
  const chains = new Map<string, string[]>();
  const subs = repo.subscriptions();
  checkTime();
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
      properties: objProperties(o.values),
      meta: {},
    });
  };
  [...subs.filters, ...subs.consumers, ...subs.bindings].forEach(live);
  // residue: an old copy of a live object is no observation (it is counted); an older version is history of the
  // live object (in its namespace); only what no live object explains is residual evidence of a deletion
  checkTime();
  const residue = repo.residue();
  checkTime();
  const copies = residue.filter((r) => r.relation === 'copy-of-live').length;
  const residual = (r: CimResidualObject): void => {
    if (r.relation === 'copy-of-live') return;
    const liveNs = [...new Set(r.live.map((l) => l.namespace ?? `NS_${l.namespaceHash}`))];
    obs.push({
      host,
      source: 'cim-residue',
      action: 'residual',
      part: r.kind,
      namespace: r.namespace ?? (liveNs.length === 1 ? liveNs[0]! : null),
      className: r.className,
      name: r.kind === 'binding' ? null : typeof r.values['Name'] === 'string' ? (r.values['Name'] as string) : null,
      time: r.timestamp1,
      user: r.creatorSid,
      file: `${dir}/${r.file}`,
      location: residueLocation(r),
      properties: objProperties(r.values),
      meta: {},
    });
  };
  residue.forEach(residual);
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
      properties: { [b.property]: b.value },
      meta: {},
    });
  }
  for (const w of repo.warnings) notes.add({ file: dir, level: 'warning', code: 'damaged', kind: w.code, message: shown(`[${w.code}] ${w.message}`) });
  const detail = `WMI repository ${repo.version}, ${repo.mapping.current}, ${repo.namespaces().length} namespaces${copies ? `, ${copies} old ${copies === 1 ? 'copy' : 'copies'} of live subscription objects in residue (not deletions)` : ''}`;
  const item: EvidenceItem = { file: dir, kind: 'cim', host, detail, sources: ['cim'], records: repo.keys().length, first, last };
  const repository: RepositorySummary = { host, file: dir, objectsFirst: first, objectsLast: last, ...(repo.hasObjectStore ? {} : { withoutObjects: true as const }), files: where.fileTimes ? repositoryFileTimes(dir) : [] };
  return { observations: obs, item, chains, repository, whole: item !== null && repo.hasObjectStore };
}

// ---- gzip'd repository files and repositories in archives: staged to a temporary folder ------------------------

/** One repository file to stage: its base name (`OBJECTS.DATA`, `INDEX.BTR.gz`…), label, size and bytes. */
export interface RepositoryFileSource {
  base: string;
  /** Display name of the file (a path, or `archive!/member`). */
  label: string;
  /** Bytes as stored (compressed, for a `.gz` copy). */
  size: number;
  chunks(): AsyncIterable<Buffer>;
  /** The file on disk, when it is one (a plain file is then linked into the staging folder rather than copied). */
  path?: string;
}

/** Of the files given, the one read for each repository file name: the plain copy over a gzip'd one. */
function chooseFiles(files: readonly RepositoryFileSource[]): Map<string, RepositoryFileSource> {
  const chosen = new Map<string, RepositoryFileSource>();
  for (const f of files) {
    if (!REPO_FILE.test(f.base)) continue;
    const key = f.base.toUpperCase().replace(/\.GZ$/, '');
    const had = chosen.get(key);
    if (!had || (/\.gz$/i.test(had.base) && !/\.gz$/i.test(f.base))) chosen.set(key, f);
  }
  return chosen;
}

/**
 * Stage `files` into `dir` under their plain names (each name from the fixed repository set, never from the
 * evidence): a gzip'd copy inflated under the one decompression policy, a plain file on disk hard-linked (copied
 * when the link fails), any other bytes streamed. A file that cannot be staged is a note, the others go on.
 */
async function stage(dir: string, files: readonly RepositoryFileSource[], notes: NoteSink, onInflated?: (n: number) => void): Promise<void> {
  for (const [key, f] of chooseFiles(files)) {
    const to = path.join(dir, key);
    try {
      if (/\.gz$/i.test(f.base)) {
        const counted = async function* (src: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
          for await (const c of src) {
            onInflated?.(c.length);
            yield c;
          }
        };
        await writeChunks(to, counted(inflateChunks(f.chunks(), f.size)));
      } else if (f.path) {
        await fs.promises.link(f.path, to).catch(() => fs.promises.copyFile(f.path!, to));
      } else {
        const why = tooLarge(f.size);
        if (why) throw new LimitError(why);
        await writeChunks(to, f.chunks());
      }
    } catch (e) {
      const over = e instanceof LimitError;
      const text = e instanceof Error ? e.message : String(e);
      notes.add({ file: f.label, level: over ? 'skipped' : 'error', code: over ? 'over-limit' : 'failed', message: `repository file not read (${text.split(dir).join('<staging>')})` });
      if (over && /inflated from this archive/.test(text)) throw e; // the archive's budget is spent: the rest is not read either
      await fs.promises.rm(to, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * A repository whose files are not plain files in one folder (members of an archive, or gzip'd copies): staged to
 * a private temporary folder, read from there, the folder removed afterwards. `dir` labels it.
 */
export async function observeRepositoryFiles(dir: string, host: string, notes: NoteSink, files: readonly RepositoryFileSource[], onInflated?: (n: number) => void, fileTimes = false): Promise<RepositoryResult> {
  return withTempDir(async (tmp) => {
    await stage(tmp, files, notes, onInflated);
    return readRepository(dir, host, notes, { at: tmp, fileTimes });
  });
}

/**
 * Run `fn` on a folder of plain repository files: `dir` itself when the repository in it (or below it, as the CIM
 * reader finds it) has no gzip'd file, else a staged copy (gzip'd files inflated under the one decompression
 * policy, plain files linked) that is removed when `fn` is done. `fn`'s second argument says which. Anything that
 * opens a repository folder given by a user (the scan, `wmiscope cim …`) can go through this, so that the CIM
 * reader never has to inflate anything itself.
 */
export async function withPlainRepository<T>(dir: string, notes: NoteSink, fn: (plain: string, staged: boolean) => T | Promise<T>): Promise<T> {
  let at: string;
  try {
    at = findRepository(dir).dir;
  } catch {
    return fn(dir, false); // no repository: the reader says why
  }
  let names: string[];
  try {
    names = readdirSync(at).filter((n) => REPO_FILE.test(n));
  } catch {
    names = [];
  }
  const files: RepositoryFileSource[] = names.map((n) => {
    const p = path.join(at, n);
    return { base: n, label: p, path: p, size: statSync(p, { throwIfNoEntry: false })?.size ?? 0, chunks: () => fs.createReadStream(p, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer> };
  });
  if (![...chooseFiles(files).values()].some((f) => /\.gz$/i.test(f.base))) return fn(dir, false);
  return withTempDir(async (tmp) => {
    await stage(tmp, files, notes);
    return fn(tmp, true);
  });
}

/** A repository folder on disk: read in place, or from a staged copy when a file of it is a gzip'd copy (`OBJECTS.DATA.gz`). */
export async function observeRepositoryFolder(dir: string, host: string, notes: NoteSink): Promise<RepositoryResult> {
  return withPlainRepository(dir, notes, (plain) => readRepository(dir, host, notes, { at: plain, fileTimes: true }));
}
