/**
 * The repository adapter: a WMI/CIM repository folder (or its files from an archive) in, observations of every live
 * subscription object in every namespace and of the residue no live object explains, the repository's evidence item,
 * its consumer-class chains and its time span for coverage.
 */
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { CimFormatError, CimRepository } from '../../cim/index.js';
import type { CimResidualObject, CimSubscriptionObject, CimValue } from '../../cim/index.js';
import type { EvidenceItem, Observation } from '../../model/types.js';
import type { NoteSink } from '../notes.js';
import type { RepositorySummary } from '../input.js';
import { REPO_FILE } from '../containers/layout.js';

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
 * Observations from a repository (a folder, or its files as bytes with `dir` as the label): every live
 * subscription object and every residual one.
 */
export function observeRepository(dir: string, host: string, notes: NoteSink, files?: ReadonlyMap<string, Uint8Array>): RepositoryResult {
  let repo: CimRepository;
  try {
    repo = CimRepository.open(dir, files ? { files } : {});
  } catch (e) {
    notes.add({ file: dir, level: e instanceof CimFormatError ? 'skipped' : 'error', code: 'failed', message: e instanceof Error ? e.message : String(e) });
    return { observations: [], item: null, chains: new Map() };
  }
  try {
    return readRepository(repo, dir, host, notes, files);
  } finally {
    repo.close();
  }
}

function readRepository(repo: CimRepository, dir: string, host: string, notes: NoteSink, files?: ReadonlyMap<string, Uint8Array>): RepositoryResult {
  const obs: Observation[] = [];
  const chains = new Map<string, string[]>();
  const subs = repo.subscriptions();
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
  const residue = repo.residue();
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
  for (const w of repo.warnings) notes.add({ file: dir, level: 'warning', code: 'damaged', kind: w.code, message: `[${w.code}] ${w.message}` });
  const detail = `WMI repository ${repo.version}, ${repo.mapping.current}, ${repo.namespaces().length} namespaces${copies ? `, ${copies} old ${copies === 1 ? 'copy' : 'copies'} of live subscription objects in residue (not deletions)` : ''}`;
  const item: EvidenceItem = { file: dir, kind: 'cim', host, detail, sources: ['cim'], records: repo.keys().length, first, last };
  const repository: RepositorySummary = { host, file: dir, objectsFirst: first, objectsLast: last, files: files ? [] : repositoryFileTimes(dir) };
  return { observations: obs, item, chains, repository };
}
