/**
 * Writes the recorded collector documents of test/fixtures/collector/ from real data, read with our own
 * readers, in exactly the shape `wmiscope collector powershell`'s script writes (src/collector/powershell.ts):
 * the same keys in the same order, CIM type names as `Microsoft.Management.Infrastructure.CimType` spells them,
 * 64-bit integers as strings, references as `{class, namespace, keys, path}`, compact JSON with every
 * non-ASCII character escaped. What is real and what is placeholder: test/fixtures/collector/NOTICE.md.
 *
 *   node dist/test/support/make-collector-fixtures.js        (needs ../shared/samples/cim/dissect-cim-win10)
 *
 * test/collector.test.ts rebuilds both documents with these functions and checks the committed files match.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CimRepository, sidFromBytes } from '../../src/cim/index.js';
import type { CimClass, CimSubscriptionObject, CimValue } from '../../src/cim/index.js';
import { parseObjectRef } from '../../src/model/wmi.js';
import { observeEvtx } from '../../src/sources/formats/evtx.js';
import { COLLECTOR_FORMAT, COLLECTOR_VERSION } from '../../src/collector/format.js';
import type { CollectorDocument, CollectorKind, CollectorNamespace, CollectorObject, CollectorValue } from '../../src/collector/format.js';
import type { Observation } from '../../src/model/types.js';
import { repoRoot } from './samples.js';
import { NoteSink } from '../../src/sources/notes.js';

export const WIN10_REPOSITORY = path.resolve(repoRoot(), '../shared/samples/cim/dissect-cim-win10');
export const FIXTURE_DIR = path.join(repoRoot(), 'test/fixtures/collector');
export const WIN10_DOC = path.join(FIXTURE_DIR, 'win10-scm.json');
export const IEWIN7_DOC = path.join(FIXTURE_DIR, 'iewin7-botfilter-nested.json');
const SYSMON_EVTX = path.join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const WMIGHOST_SCRIPT = path.join(repoRoot(), 'test/fixtures/rules/wmighost-scripttext.js.txt');

/** The custom nested namespace of the second document: below ROOT\cimv2, where first-level walkers do not look. */
export const NESTED_NAMESPACE = 'ROOT\\cimv2\\totallylegit';

// ---- value conversion, as the script's ConvertTo-PlainValue does it ----------------------------------------

const CIM_TYPE: Record<string, string> = {
  sint8: 'SInt8', uint8: 'UInt8', sint16: 'SInt16', uint16: 'UInt16', sint32: 'SInt32', uint32: 'UInt32', sint64: 'SInt64', uint64: 'UInt64',
  real32: 'Real32', real64: 'Real64', string: 'String', boolean: 'Boolean', datetime: 'DateTime', reference: 'Reference', char16: 'Char16', object: 'Instance',
};

/** The repository reader's type name (`uint8[]`) as MI's CimType (`UInt8Array`). */
export function cimTypeName(t: string): string {
  const arr = t.endsWith('[]');
  const base = CIM_TYPE[arr ? t.slice(0, -2) : t];
  if (!base) throw new Error(`no CimType for repository type ${t}`);
  return arr ? `${base}Array` : base;
}

/** DMTF datetime `yyyymmddHHMMSS.mmmmmmsUUU` → ISO-8601 UTC with 7 fractional digits (as `ToString("...fffffff'Z'")`). */
function dmtfToIso(v: string): string {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)\.(\d{6})([+-])(\d{3})$/.exec(v);
  if (!m) throw new Error(`not a DMTF datetime: ${v}`);
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) - (m[8] === '-' ? -1 : 1) * +m[9]! * 60000;
  return `${new Date(ms).toISOString().slice(0, 19)}.${m[7]}0Z`;
}

/** Object path of a reference the way the script writes it: `Class.Key="value"` (keys sorted, `\` and `"` escaped). */
function refRecord(stored: string): CollectorValue {
  const ref = parseObjectRef(stored);
  if (!ref) throw new Error(`not an object path: ${stored}`);
  const keys = Object.fromEntries(Object.entries(ref.keys).sort(([a], [b]) => a.toLowerCase().localeCompare(b.toLowerCase())));
  const parts = Object.entries(keys).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return { class: ref.className, namespace: ref.namespace, keys, path: parts.length ? `${ref.className}.${parts.join(',')}` : `${ref.className}=@` };
}

function scalar(v: CimValue, type: string): CollectorValue {
  if (v === null) return null;
  if (Array.isArray(v) || (typeof v === 'object' && v !== null)) throw new Error(`unexpected ${type} value ${JSON.stringify(v)}`);
  switch (type) {
    case 'UInt64':
    case 'SInt64':
      return String(v);
    case 'DateTime':
      return dmtfToIso(String(v));
    case 'Reference':
      return refRecord(String(v));
    case 'Char16':
      return typeof v === 'number' ? String.fromCharCode(v) : String(v);
    case 'Instance':
      throw new Error('embedded objects are not in these fixtures');
    default:
      return v;
  }
}

function plain(v: CimValue, type: string): CollectorValue {
  if (v === null) return null;
  if (type.endsWith('Array')) {
    if (!Array.isArray(v)) throw new Error(`${type} value is not an array`);
    return v.map((x) => scalar(x, type.slice(0, -5)));
  }
  return scalar(v, type);
}

/** One object record from a class layout and property values (name → repository value). */
function objectRecord(namespace: string, kind: CollectorKind, cls: CimClass, values: ReadonlyMap<string, CimValue>): CollectorObject {
  const properties: Record<string, CollectorValue> = {};
  const types: Record<string, string> = {};
  for (const p of cls.properties) {
    const t = cimTypeName(p.type);
    types[p.name] = t;
    properties[p.name] = plain(values.has(p.name) ? values.get(p.name)! : p.default, t);
  }
  const sid = Array.isArray(values.get('CreatorSID')) ? sidFromBytes(values.get('CreatorSID')) : null;
  return {
    namespace,
    kind,
    class: cls.name,
    // the script's derivation: superclasses nearest first
    derivation: cls.chain.slice(0, -1).reverse(),
    creatorSid: sid,
    properties,
    types,
  };
}

/** A live subscription object of the repository, every property as Get-CimInstance lists it (defaults filled in). */
function fromRepository(o: CimSubscriptionObject, repo: CimRepository): CollectorObject {
  const cls = repo.classDefinition(o.namespace!, o.className);
  if (!cls) throw new Error(`no class definition for ${o.className}`);
  return objectRecord(o.namespace!, o.kind, cls, new Map(o.properties.map((p) => [p.name, p.value])));
}

// ---- the walk, as the script does it ------------------------------------------------------------------------

/** Namespaces in the order the script's queue reads them: ROOT, then each level's children sorted by name. */
function walkOrder(names: string[]): Array<{ name: string; children: number }> {
  const kids = new Map<string, string[]>();
  for (const n of names) {
    const i = n.lastIndexOf('\\');
    if (i < 0) continue;
    const parent = names.find((p) => p.toLowerCase() === n.slice(0, i).toLowerCase());
    if (!parent) throw new Error(`${n} has no parent namespace in the list`);
    kids.set(parent, [...(kids.get(parent) ?? []), n]);
  }
  const out: Array<{ name: string; children: number }> = [];
  const queue = ['ROOT'];
  while (queue.length) {
    const n = queue.shift()!;
    const c = (kids.get(n) ?? []).sort((a, b) => {
      const x = a.slice(a.lastIndexOf('\\') + 1).toLowerCase();
      const y = b.slice(b.lastIndexOf('\\') + 1).toLowerCase();
      return x < y ? -1 : x > y ? 1 : 0;
    });
    out.push({ name: n, children: c.length });
    queue.push(...c);
  }
  return out;
}

function namespaceRecords(names: string[], objects: CollectorObject[], timers: (ns: string) => number): CollectorNamespace[] {
  return walkOrder(names).map(({ name, children }) => {
    const here = objects.filter((o) => o.namespace.toLowerCase() === name.toLowerCase());
    const n = (k: CollectorKind): number => here.filter((o) => o.kind === k).length;
    return { name, children, counts: { filters: n('filter'), consumers: n('consumer'), bindings: n('binding'), timers: timers(name) }, errors: [] };
  });
}

function documentFor(host: CollectorDocument['host'], collectedAt: string, completedAt: string, namespaces: CollectorNamespace[], objects: CollectorObject[]): CollectorDocument {
  // the script's order: objects per namespace in walk order, filters, consumers, bindings, timers
  const rank = new Map(namespaces.map((n, i) => [n.name.toLowerCase(), i]));
  const kinds: CollectorKind[] = ['filter', 'consumer', 'binding', 'timer'];
  const sorted = [...objects].sort((a, b) => rank.get(a.namespace.toLowerCase())! - rank.get(b.namespace.toLowerCase())! || kinds.indexOf(a.kind) - kinds.indexOf(b.kind));
  return {
    format: COLLECTOR_FORMAT,
    collector: { name: 'wmiscope-collector', version: COLLECTOR_VERSION, api: 'cim', includeTimers: true, maxNamespaces: 10000 },
    host,
    collectedAt,
    completedAt,
    truncated: false,
    namespaces,
    objects: sorted,
  };
}

/** Named namespaces of the repository (the walk lists each under its parent; `__SystemClass` is not a namespace). */
function repositoryNamespaces(repo: CimRepository): string[] {
  return repo
    .namespaces()
    .map((n) => n.name)
    .filter((n): n is string => n !== null && (n === 'ROOT' || n.startsWith('ROOT\\')));
}

function timerCount(repo: CimRepository): (ns: string) => number {
  return (ns) => repo.instances(ns, '__IntervalTimerInstruction').length + repo.instances(ns, '__AbsoluteTimerInstruction').length;
}

/**
 * (a) The real Windows 10 repository sample as the collector would list it: its namespaces and its one
 * subscription (SCM Event Log Filter → SCM Event Log Consumer) with every property value the repository holds.
 */
export function win10Document(dir = WIN10_REPOSITORY): CollectorDocument {
  const repo = CimRepository.open(dir);
  const subs = repo.subscriptions();
  const objects = [...subs.filters, ...subs.consumers, ...subs.bindings].map((o) => fromRepository(o, repo));
  const names = repositoryNamespaces(repo);
  const host: CollectorDocument['host'] = {
    computerName: 'WIN10-SAMPLE',
    fqdn: 'WIN10-SAMPLE',
    domain: null,
    os: { caption: 'Microsoft Windows 10', version: '10.0', build: null },
    powershell: { version: '5.1', edition: 'Desktop' },
    elevated: true,
    user: 'WIN10-SAMPLE\\Administrator',
    languageMode: 'FullLanguage',
  };
  return documentFor(host, '2021-06-06T09:00:00.0000000Z', '2021-06-06T09:00:04.0000000Z', namespaceRecords(names, objects, timerCount(repo)), objects);
}

/** A SID as the binary byte array WMI stores in `CreatorSID`. */
export function sidToBytes(sid: string): number[] {
  const m = /^S-(\d+)-(\d+)((?:-\d+)*)$/.exec(sid);
  if (!m) throw new Error(`not a SID: ${sid}`);
  const subs = m[3] ? m[3].slice(1).split('-').map(Number) : [];
  const auth = Number(m[2]);
  const out = [Number(m[1]), subs.length, 0, 0];
  for (let i = 3; i >= 0; i--) out.push(Math.floor(auth / 2 ** (8 * i)) % 256);
  for (const s of subs) out.push(s & 0xff, (s >>> 8) & 0xff, (s >>> 16) & 0xff, (s >>> 24) & 0xff);
  return out;
}

/** Placeholder SID of the account that made the subscription (the Sysmon log names the account, not its SID). */
export const IEUSER_SID = 'S-1-5-21-1111111111-2222222222-3333333333-1000';

/**
 * (b) Host IEWIN7 with the real malicious subscription of the bundled Sysmon sample (BotFilter82 →
 * BotConsumer23, cmd.exe) in ROOT\subscription, the same three objects in the nested custom namespace
 * ROOT\cimv2\totallylegit, and an unbound (orphan) ActiveScriptEventConsumer carrying the real WMIGhost
 * script. Values from the Sysmon records (read with our EVTX reader) and the WMIGhost fixture; property
 * layouts and defaults from the class definitions of the real Windows 10 repository.
 */
export function iewin7Document(dir = WIN10_REPOSITORY): CollectorDocument {
  const repo = CimRepository.open(dir);
  const created = observeEvtx(SYSMON_EVTX, new NoteSink()).observations.filter((o) => o.source === 'sysmon' && o.action === 'created');
  const one = (part: Observation['part']): Observation => {
    const o = created.filter((x) => x.part === part);
    if (o.length !== 1) throw new Error(`expected one created ${part} in ${SYSMON_EVTX}, got ${o.length}`);
    return o[0]!;
  };
  const f = one('filter');
  const c = one('consumer');
  const b = one('binding');
  const cls = (name: string): CimClass => {
    const d = repo.classDefinition('ROOT\\subscription', name);
    if (!d) throw new Error(`no class ${name} in the repository`);
    return d;
  };
  const sid = sidToBytes(IEUSER_SID);
  const str = (v: unknown): string => {
    if (typeof v !== 'string') throw new Error(`expected a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const subscription = (ns: string): CollectorObject[] => [
    objectRecord(ns, 'filter', cls('__EventFilter'), new Map<string, CimValue>([
      ['Name', str(f.name)],
      ['CreatorSID', sid],
      // Sysmon does not log the query language; WQL is the only one WMI accepts for event filters
      ['QueryLanguage', 'WQL'],
      ['Query', str(f.properties['Query'])],
      ['EventNamespace', str(f.properties['EventNamespace'])],
    ])),
    objectRecord(ns, 'consumer', cls(str(c.className)), new Map<string, CimValue>([
      ['Name', str(c.name)],
      ['CreatorSID', sid],
      ['CommandLineTemplate', str(c.properties['CommandLineTemplate'])],
    ])),
    objectRecord(ns, 'binding', cls('__FilterToConsumerBinding'), new Map<string, CimValue>([
      ['Filter', str(b.properties['Filter'])],
      ['Consumer', str(b.properties['Consumer'])],
      ['CreatorSID', sid],
    ])),
  ];
  const orphan = objectRecord('ROOT\\subscription', 'consumer', cls('ActiveScriptEventConsumer'), new Map<string, CimValue>([
    ['Name', 'ProbeScriptFint'],
    ['CreatorSID', sid],
    ['ScriptingEngine', 'JScript'],
    ['ScriptText', readFileSync(WMIGHOST_SCRIPT, 'utf8')],
  ]));
  const objects = [...subscription('ROOT\\subscription'), ...subscription(NESTED_NAMESPACE), orphan];
  const names = [...repositoryNamespaces(repo), NESTED_NAMESPACE];
  const host: CollectorDocument['host'] = {
    computerName: 'IEWIN7',
    fqdn: 'IEWIN7',
    domain: null,
    os: { caption: 'Microsoft Windows 7 Enterprise', version: '6.1.7601', build: '7601' },
    powershell: { version: '5.1', edition: 'Desktop' },
    elevated: true,
    user: 'IEWIN7\\IEUser',
    languageMode: 'FullLanguage',
  };
  // collected between the creation (17:58:39) and the deletion (17:58:54) the Sysmon log records
  return documentFor(host, '2019-05-11T17:58:45.0000000Z', '2019-05-11T17:58:47.0000000Z', namespaceRecords(names, objects, () => 0), objects);
}

/** The document as the script writes it: compact JSON (ConvertTo-Json -Compress), non-ASCII as \uXXXX. */
export function serialize(doc: CollectorDocument): string {
  return JSON.stringify(doc).replace(/[^\u0000-\u007f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function main(): void {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  writeFileSync(WIN10_DOC, serialize(win10Document()));
  writeFileSync(IEWIN7_DOC, serialize(iewin7Document()));
  process.stdout.write(`wrote ${WIN10_DOC}\nwrote ${IEWIN7_DOC}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
