/**
 * The CIM reader against the oracle values of ../shared/reference/cim-format.md §13 and the reference-tool
 * outputs in ../shared/reference/cim-oracle/ (python-cim, dissect.cim, dtformats, the verification log).
 * Skips with a message when ../shared is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CimRepository, nameHash, parseClassDefinition, parseIndexPage, parseInstanceHeader, parseMapping, pickCurrent } from '../src/cim/index.js';
import type { CimSubscriptionObject } from '../src/cim/index.js';
import { repoRoot } from './support/samples.js';

const shared = resolve(repoRoot(), '../shared');
const cimDir = join(shared, 'samples/cim');
const oracle = join(shared, 'reference/cim-oracle');
const skip = existsSync(cimDir) ? false : `CIM samples not found at ${cimDir} (expected ../shared/samples next to the repo)`;
const WIN10 = join(cimDir, 'dissect-cim-win10');

let cached: CimRepository | null = null;
const win10 = (): CimRepository => (cached ??= CimRepository.open(WIN10));

test('Win10 sample: current map MAPPING2 (tie with MAPPING1 broken by id1), index root 57', { skip }, () => {
  const r = win10();
  assert.equal(r.version, '2.2');
  assert.equal(r.mapping.current, 'MAPPING2.MAP');
  assert.equal(r.mapping.sequence, 40678);
  assert.deepEqual(
    r.mapping.history.map((h) => [h.name, h.sequence]),
    [
      ['MAPPING1.MAP', 40678],
      ['MAPPING3.MAP', 40644],
    ],
  );
  assert.equal(r.rootPage, 57);
  // the tied files have identical tables: no warning for that
  assert.deepEqual(r.warnings.filter((w) => w.code === 'mapping-history'), []);
});

test('Win10 sample: the previous state through the older MAPPING3.MAP', { skip }, () => {
  const old = CimRepository.open(WIN10, { mapping: 'mapping3.map' });
  assert.deepEqual([old.mapping.current, old.mapping.sequence, old.rootPage], ['MAPPING3.MAP', 40644, 57]);
  const now = new Set(win10().keys());
  const then = new Set(old.keys());
  assert.equal(then.size, 20463);
  // 24 keys of the older state are gone now, 22 are new: all in one namespace, none a subscription
  assert.deepEqual([[...then].filter((k) => !now.has(k)).length, [...now].filter((k) => !then.has(k)).length], [24, 22]);
  assert.equal(old.subscriptions().bindings.length, 1);
});

test('Win10 sample: the in-order B-tree walk gives exactly python-cim\'s 20,461 sorted unique keys', { skip }, () => {
  const keys = win10().keys();
  const expected = gunzipSync(readFileSync(join(oracle, 'python-cim_all_index_keys_sorted_unique_dissect-cim-win10.txt.gz')))
    .toString('utf8')
    .split('\n')
    .filter(Boolean);
  assert.equal(keys.length, 20461);
  assert.deepEqual([...keys], expected);
  const family = (k: string): string =>
    k
      .replace(/\.\d+\.\d+\.\d+$/, '')
      .split('/')
      .map((p) => p.replace(/_.*/, ''))
      .join('/');
  const counts: Record<string, number> = {};
  for (const k of keys) counts[family(k)] = (counts[family(k)] ?? 0) + 1;
  assert.deepEqual(counts, { 'NS/CD': 6678, 'NS/CR/C': 6678, 'NS/CI/IL': 2513, 'NS/KI/I': 2497, 'NS/CR/R': 1834, 'NS/KI/IR/R': 261 });
});

test('Win10 sample: every namespace, including the orphan the other tools miss', { skip }, () => {
  const ns = win10().namespaces();
  const inIndex = ns.filter((n) => n.classes > 0 || n.instances > 0);
  assert.equal(inIndex.length, 92, '92 distinct NS_ hashes in the index');
  assert.ok(ns.every((n) => n.name !== null), 'every hash is named');
  // python-cim's 91 namespaces (the __NAMESPACE walk from root) are all here, by the walk
  const pyText = readFileSync(join(oracle, 'python-cim_enum_dissect-cim-win10.txt'), 'utf8');
  const pyNames = pyText
    .split('\n')
    .slice(pyText.split('\n').findIndex((l) => l.startsWith('namespaces (91)')) + 1)
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim().toUpperCase())
    .slice(0, 91);
  assert.equal(pyNames.length, 91);
  const ours = new Map(ns.map((n) => [n.name!.toUpperCase(), n]));
  for (const p of pyNames) assert.ok(ours.has(p), `namespace ${p}`);
  assert.equal(ns.filter((n) => n.namedBy === 'walk' || n.namedBy === 'root').length, 91);
  const orphan = ns.find((n) => n.namedBy === 'guess')!;
  assert.equal(orphan.name, 'ROOT\\Microsoft\\Windows\\EventTracingManagement\\ms_409');
  assert.equal(orphan.hash, '5C32F5574E5163FE018847F3BD73D0368BC221B55ACBAFCE19E9093EB8E4E713');
  assert.equal(orphan.classes, 6);
  assert.equal(ns.find((n) => n.name === '__SystemClass')?.namedBy, 'system');
  // its parent exists by the walk but holds no records of its own
  const parent = ns.find((n) => n.name === 'ROOT\\Microsoft\\Windows\\EventTracingManagement')!;
  assert.deepEqual([parent.namedBy, parent.classes, parent.instances], ['walk', 0, 0]);
});

test('Win10 sample: all 6,678 class definitions parse, and each CD key hash is the hash of the class name', { skip }, () => {
  const r = win10();
  let n = 0;
  for (const ns of r.namespaces()) {
    for (const c of r.classes(ns.name!)) {
      n++;
      assert.ok(c.location.key.includes(`/CD_${nameHash(c.name, 'sha256')}.`), c.name);
    }
  }
  assert.equal(n, 6678);
  assert.deepEqual(r.warnings.filter((w) => w.code === 'class-definition'), []);
  const orphanClasses = r.classes('NS_5C32F5574E5163FE018847F3BD73D0368BC221B55ACBAFCE19E9093EB8E4E713').map((c) => c.name);
  assert.deepEqual(orphanClasses.sort(), ['CIM_LogicalElement', 'CIM_ManagedElement', 'CIM_ManagedSystemElement', 'MSFT_AutologgerConfig', 'MSFT_EtwTraceProvider', 'MSFT_EtwTraceSession']);
});

test('Win10 sample: all 2,513 instances decode', { skip }, () => {
  const r = win10();
  let n = 0;
  for (const ns of r.namespaces()) n += r.instances(ns.name!).length;
  assert.equal(n, 2513);
  assert.deepEqual(
    r.warnings.filter((w) => w.code === 'object-record' || w.code === 'class-definition'),
    [],
  );
});

test('Win10 sample: embedded objects are kept whole (662 in ROOT\\Cli), in their MS-WMIO encoding', { skip }, () => {
  const r = win10();
  const objs: Buffer[] = [];
  for (const ns of r.namespaces())
    for (const i of r.instances(ns.name!))
      for (const p of i.properties)
        if (p.type.startsWith('object') && p.source === 'set')
          for (const v of Array.isArray(p.value) ? p.value : [p.value]) objs.push(Buffer.from((v as { embeddedObject: string }).embeddedObject, 'base64'));
  assert.equal(objs.length, 662);
  assert.ok(objs.every((b) => b[0] === 0x02), 'every one starts with the instance object flag');
  const alias = r.instances('ROOT\\Cli', 'MSFT_CliAlias')[0]!;
  const conn = alias.properties.find((p) => p.name === 'Connection')!.value as { embeddedObject: string };
  assert.equal(Buffer.from(conn.embeddedObject, 'base64').length, 0x218);
  assert.ok(Buffer.from(conn.embeddedObject, 'base64').includes(Buffer.from('MSFT_CliConnection\0', 'latin1')));
});

test('Win10 sample: __FilterToConsumerBinding layout, defaults and key qualifiers', { skip }, () => {
  const c = win10().classDefinition('ROOT\\subscription', '__FilterToConsumerBinding')!;
  assert.deepEqual(c.chain, ['__SystemClass', '__IndicationRelated', '__FilterToConsumerBinding']);
  assert.equal(c.namespace, '__SystemClass');
  const p = Object.fromEntries(c.properties.map((x) => [x.name, x]));
  assert.deepEqual([p['Filter']!.type, p['Filter']!.isKey, p['Filter']!.index], ['reference', true, 0]);
  assert.deepEqual([p['Consumer']!.type, p['Consumer']!.isKey, p['Consumer']!.index], ['reference', true, 1]);
  assert.equal(p['Filter']!.qualifiers.find((q) => q.name === 'type')?.value, 'ref:__EventFilter');
  assert.deepEqual([p['DeliverSynchronously']!.default, p['MaintainSecurityContext']!.default, p['SlowDownProviders']!.default], [false, false, false]);
  assert.equal(p['DeliveryQoS']!.default, null);
});

function byKind(list: CimSubscriptionObject[], cls: string): CimSubscriptionObject {
  const o = list.find((x) => x.className === cls);
  assert.ok(o, cls);
  return o;
}

test('Win10 sample: the SCM subscription trio with exact values (booleans False, defaults resolved)', { skip }, () => {
  const s = win10().subscriptions();
  assert.equal(s.filters.length, 1);
  assert.equal(s.consumers.length, 1);
  assert.equal(s.bindings.length, 1);
  const sid = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0];
  const f = byKind(s.filters, '__EventFilter');
  assert.equal(f.namespace, 'ROOT\\subscription');
  assert.deepEqual(
    [f.values['Name'], f.values['Query'], f.values['QueryLanguage'], f.values['EventNamespace'], f.values['CreatorSID']],
    ['SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent', 'WQL', 'root\\cimv2', sid],
  );
  assert.equal(f.creatorSid, 'S-1-5-32-544');
  const c = byKind(s.consumers, 'NTEventLogEventConsumer');
  assert.deepEqual(c.classChain, ['__SystemClass', '__IndicationRelated', '__EventConsumer', 'NTEventLogEventConsumer']);
  assert.deepEqual(
    [c.values['Name'], c.values['SourceName'], c.values['EventType'], c.values['Category'], c.values['NameOfUserSIDProperty']],
    ['SCM Event Log Consumer', 'Service Control Manager', 1, 0, 'sid'],
  );
  // class defaults (python-cim shows "<default>", dissect.cim wrongly [1007] for the string array)
  const src = Object.fromEntries(c.properties.map((p) => [p.name, p.source]));
  assert.deepEqual([c.values['EventID'], c.values['NumberOfInsertionStrings'], c.values['InsertionStringTemplates']], [0, 0, ['']]);
  assert.deepEqual([src['EventID'], src['NumberOfInsertionStrings'], src['InsertionStringTemplates']], ['default', 'default', 'default']);
  const b = s.bindings[0]!;
  assert.deepEqual(
    [b.values['Filter'], b.values['Consumer'], b.values['DeliveryQoS'], b.values['CreatorSID']],
    ['__EventFilter.Name="SCM Event Log Filter"', 'NTEventLogEventConsumer.Name="SCM Event Log Consumer"', null, sid],
  );
  // python-cim on Python 3 prints True here (vstruct bug); the stored class default is 0x0000 = False
  assert.deepEqual([b.values['DeliverSynchronously'], b.values['MaintainSecurityContext'], b.values['SlowDownProviders']], [false, false, false]);
  assert.equal(b.filter, f);
  assert.equal(b.consumer, c);
  assert.match(b.timestamp1, /^2021-06-05T12:14:02\.\d{7}Z$/);
});

test('XP sample: MD5 keys, admin page names root 100, 10,288 keys equal to dtformats', { skip }, () => {
  const r = CimRepository.open(join(cimDir, 'dtformats-xp'));
  assert.equal(r.version, '2.1');
  assert.equal(r.mapping.current, 'MAPPING2.MAP'); // MAPPING.VER says 2
  assert.equal(r.rootPage, 100);
  const expected = readFileSync(join(oracle, 'dtformats_index_keys_dtformats-xp.txt'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((k) => k.replace(/^\\/, '').replace(/\\/g, '/'))
    .sort();
  assert.deepEqual([...r.keys()], expected);
  const ns = r.namespaces();
  assert.equal(ns.filter((n) => n.classes + n.instances > 0).length, 34);
  assert.equal(ns.find((n) => n.hash === nameHash('ROOT\\subscription', 'md5'))?.name, 'ROOT\\subscription');
  assert.ok(r.warnings.some((w) => /OBJECTS\.DATA is missing/.test(w.message)));
});

test('Win7 mapping files (flare-wmi deleted-instance): python-cim\'s expected numbers', { skip }, () => {
  const dir = join(cimDir, 'flare-wmi-win7-deleted-instance');
  const maps = ['MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP'].map((n) => parseMapping(readFileSync(join(dir, n)), n));
  const { current } = pickCurrent(maps, null);
  assert.equal(current.name, 'MAPPING1.MAP');
  assert.deepEqual([current.sequence, current.id1], [89090, 716]);
  assert.deepEqual([maps[2]!.sequence, maps[2]!.id1], [89090, 715]);
  const ix = current.index;
  assert.deepEqual([ix.pages.length, ix.physicalPages, ix.free.length, ix.pages[0], ix.rootPage], [326, 547, 241, 13, 60]);
  const unmapped = [...ix.pages.keys()].filter((i) => ix.pages[i]! < 0);
  assert.deepEqual(unmapped, [91, 160, ...Array.from({ length: 15 }, (_, i) => 201 + i), 227, 228, 230]);
  assert.deepEqual([current.objects.pages.length, current.objects.physicalPages, current.objects.free.length], [1727, 1886, 159]);
  // python-cim test_mapping_type_guess_xp
  const xp = parseMapping(readFileSync(join(cimDir, 'flare-wmi-xp-mapping-only/MAPPING1.MAP')), 'MAPPING1.MAP');
  assert.equal(xp.version, '2.1');
});

test('artemis fragments: mapping, index page, class definition, instance header', { skip }, () => {
  const dir = join(cimDir, 'artemis-fragments');
  const m = parseMapping(readFileSync(join(dir, 'MAPPING1.MAP')), 'MAPPING1.MAP');
  assert.equal([...m.objects.pages].filter((p) => p >= 0).length, 3270);
  assert.equal(m.objects.pages.length, 3293);
  assert.equal(m.objects.free.length, 238);
  assert.equal(m.index.rootPage, 61);
  const page = parseIndexPage(readFileSync(join(dir, 'index_page.raw')), 0);
  assert.equal(page.type, 0xaccc);
  const cls = parseClassDefinition(readFileSync(join(dir, 'object_record.raw')));
  assert.equal(cls.own.length, 3);
  assert.equal(cls.name, 'MSFT_DOUploadUsage');
  assert.equal(cls.superclass, 'MSFT_DOUsage');
  const upload = cls.own.find((p) => p.name === 'UploadRatePct')!;
  assert.deepEqual([upload.type & 0xff, upload.index], [0x11, 5]);
  assert.equal(cls.qualifiers.length, 4);
  const inst = parseInstanceHeader(readFileSync(join(dir, 'instance.raw')), '2.2');
  assert.match(inst.classHash, /^FD3BBD4C[0-9A-F]{52}2EE4$/);
  assert.equal(readFileSync(join(dir, 'instance.raw')).readUInt32LE(144), 19749);
});
