/**
 * Self-checks of the test-only CIM repository builder (test/support/cim-builder.ts), independent
 * of the real reader in src/cim: hashes, B-tree shape, key → TOC resolution, map layout, residue,
 * and byte-exact re-encoding of real Win10 records (skipped when ../shared/samples is absent).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  PAGE_SIZE,
  buildRepository,
  cimHash,
  encodeClassRecord,
  encodeInstanceRecord,
  encodeReferenceRecord,
  instanceKeyHash,
  standardFixtures,
  standardConsumerClasses,
  type ClassSpec,
  type SlotModel,
} from './support/cim-builder.js';
import { decodeClassRecord, decodeInstanceRecord, decodeReferenceRecord, openMiniRepo, parseIndexPage, type MiniRepo } from './support/cim-builder-decode.js';
import { samplesDir } from './support/samples.js';

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'wmiscope-cim-builder-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
const tmp = (name: string) => path.join(tmpRoot, name);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('key hashes (cim-format.md §4.2, §4.4)', () => {
  test('known SHA-256 name hashes', () => {
    assert.match(cimHash('ROOT\\CIMV2'), /^68577372[0-9A-F]{51}22805$/);
    assert.equal(cimHash('root\\cimv2'), cimHash('ROOT\\CIMV2'), 'case-insensitive (uppercased before hashing)');
    assert.match(cimHash('TESTCLASS'), /^92128A4E[0-9A-F]{52}3513$/);
    assert.match(cimHash('ROOT\\subscription'), /^E1DD4341[0-9A-F]{52}9870$/);
    assert.match(cimHash(''), /^E3B0C442/);
    assert.match(cimHash('FILEUPLOAD'), /^BBDBB1D2/);
  });
  test('instance key hashes: single, compound (U+FFFF, name order), singleton', () => {
    assert.equal(instanceKeyHash([['Name', 'FileUpload']]), cimHash('FILEUPLOAD'));
    const scm = '8E80D45658E49966FC3BA567F2C75690AE48EBAB9A2568429675180214107ACE'; // SCM binding, Win10 sample
    const filter = '__EventFilter.Name="SCM Event Log Filter"';
    const consumer = 'NTEventLogEventConsumer.Name="SCM Event Log Consumer"';
    assert.equal(instanceKeyHash([['Filter', filter], ['Consumer', consumer]]), scm);
    assert.equal(instanceKeyHash([['Consumer', consumer], ['Filter', filter]]), scm);
    assert.equal(instanceKeyHash([]), cimHash('@'));
  });
});

describe('standard fixtures', () => {
  const dir = tmp('fixtures');
  const manifest = standardFixtures(dir);
  const r = manifest.result;
  const repo = openMiniRepo(dir);

  test('mapping files: three, current = highest sequence, sections + footer + 4 trailing bytes', () => {
    assert.equal(repo.current, 'MAPPING2.MAP');
    assert.equal(r.currentMappingFile, 'MAPPING2.MAP');
    for (const [name, m] of Object.entries(repo.maps)) {
      assert.equal(m.trailing, 4, name);
      assert.equal(m.objects.footer, 0xdcba, name);
      assert.equal(m.index.footer, 0xdcba, name);
      assert.equal(m.objects.id2, m.objects.id1 - 1, `${name}: id2 = id1 - 1 (Vista+ detection)`);
    }
    const seqs = Object.values(repo.maps).map((m) => m.objects.sequence);
    assert.equal(new Set(seqs).size, 3);
    assert.equal(repo.maps['MAPPING2.MAP'].objects.sequence, Math.max(...seqs));
  });

  test('objects map is not the identity, has an unmapped logical page and a free list', () => {
    assert.ok(r.dataMap.some((p, l) => p >= 0 && p !== l));
    assert.ok(r.dataMap.includes(-1));
    const cur = repo.maps['MAPPING2.MAP'].objects;
    assert.deepEqual([...cur.freeList].sort((a, b) => a - b), r.freeDataPages);
    assert.equal(cur.physicalPages * PAGE_SIZE, repo.objects.length);
    for (const f of r.freeDataPages) assert.ok(!repo.dataMap.includes(f));
  });

  test('B-tree in-order walk yields the sorted unique key set; root not at logical 1', () => {
    const w = repo.walk();
    assert.deepEqual(w.keys, r.keys);
    assert.deepEqual([...w.keys].sort(), w.keys);
    assert.equal(new Set(w.keys).size, w.keys.length);
    assert.equal(w.pages, r.indexPages);
    assert.ok(w.depth >= 1, 'several index pages');
    assert.equal(repo.root, r.indexRoot);
    assert.notEqual(repo.root, 1);
    assert.equal(repo.maps['MAPPING2.MAP'].index.entries[0].used, r.indexRoot);
  });

  test('index pages: header, logical number, string data size field (§3)', () => {
    for (let l = 0; l < repo.indexMap.length; l++) {
      const p = repo.indexPage(l);
      assert.equal(p.type, 0xaccc);
      assert.equal(p.logical, l);
      assert.equal(p.dataSizeField, p.stringDataLength);
    }
  });

  test('every data key resolves to a TOC entry of the right size and to the builder bytes', () => {
    for (const o of r.objects) {
      for (const k of o.keys) {
        const got = repo.record(k);
        assert.equal(got.length, o.record.size);
        assert.equal(hex(got), hex(o.bytes), k);
      }
    }
    // and every data-bearing key in the index is one of them
    const dataKeys = r.keys.filter((k) => k.includes('.'));
    assert.equal(dataKeys.length, r.objects.reduce((a, o) => a + o.keys.length, 0));
    for (const l of new Set(r.objects.map((o) => o.record.page))) for (const t of repo.toc(l)) assert.equal(t.crc, 0, 'checksum 0 as on Win10 (§5)');
  });

  test('key families per §4.3', () => {
    const sub = `NS_${cimHash('ROOT\\subscription')}`;
    const has = (re: RegExp) => r.keys.some((k) => re.test(k));
    assert.ok(has(new RegExp(`^NS_${cimHash('__SystemClass')}/CD_${cimHash('__EventFilter')}\\.\\d+\\.\\d+\\.\\d+$`)));
    assert.ok(has(new RegExp(`^${sub}/CR_${cimHash('__EventConsumer')}/C_${cimHash('TotallyLegitConsumer')}$`)));
    assert.ok(has(new RegExp(`^NS_${cimHash('__SystemClass')}/CR_${cimHash('')}/C_${cimHash('__SystemClass')}$`)));
    assert.ok(has(new RegExp(`^NS_${cimHash('__SystemClass')}/CR_${cimHash('__EventFilter')}/R_${cimHash('__FilterToConsumerBinding')}$`)));
    const scm = '8E80D45658E49966FC3BA567F2C75690AE48EBAB9A2568429675180214107ACE';
    assert.ok(has(new RegExp(`^${sub}/CI_${cimHash('__FilterToConsumerBinding')}/IL_${scm}\\.`)));
    assert.ok(has(new RegExp(`^${sub}/KI_${cimHash('__FilterToConsumerBinding')}/I_${scm}\\.`)));
    // KI_ of a consumer = the class introducing the key (the consumer class itself)
    assert.ok(has(new RegExp(`^${sub}/KI_${cimHash('NTEventLogEventConsumer')}/I_${cimHash('SCM Event Log Consumer')}\\.`)));
    // reference records of filter and consumer, R_ = hash of the binding's key path
    const bindingPath = `${sub}\\KI_${cimHash('__FilterToConsumerBinding')}\\I_${scm}`;
    const irKeys = r.keys.filter((k) => k.includes(`/R_${cimHash(bindingPath)}.`));
    assert.equal(irKeys.length, 2);
    const rec = decodeReferenceRecord(repo.record(irKeys.find((k) => k.includes(cimHash('__EventFilter'))) as string));
    assert.deepEqual(rec.strings, ['ROOT\\subscription', '__FilterToConsumerBinding', 'Filter', bindingPath]);
    // __NAMESPACE instances in parents, none for the orphan namespace
    const nsInst = (parent: string, leaf: string) => `NS_${cimHash(parent)}/CI_${cimHash('__NAMESPACE')}/IL_${cimHash(leaf)}.`;
    assert.ok(r.keys.some((k) => k.startsWith(nsInst('ROOT', 'totallylegit'))));
    assert.ok(r.keys.some((k) => k.startsWith(nsInst('ROOT\\cimv2', 'x'))));
    assert.ok(!r.keys.some((k) => k.startsWith(nsInst('ROOT', 'orphaned'))));
    assert.ok(r.keys.some((k) => k.startsWith(`NS_${cimHash('ROOT\\orphaned')}/CI_`)));
  });

  test('multi-page record continues on the following logical pages without TOC', () => {
    const script = r.instances.find((o) => o.className === 'ActiveScriptEventConsumer') as (typeof r.instances)[number];
    assert.ok(script.record.size > PAGE_SIZE);
    assert.ok(script.record.pages.length >= 2);
    assert.equal(repo.toc(script.record.page).length, 1);
    const l = script.record.pages;
    for (let i = 1; i < l.length; i++) assert.equal(l[i], l[i - 1] + 1, 'consecutive logical pages');
    assert.ok(script.physicalPages.some((p, i) => i > 0 && p !== script.physicalPages[i - 1] + 1), 'physically scattered');
  });

  test('instance records: UTF-16 strings, state bits, prefixed references', () => {
    const omega = r.instances.find((o) => o.keyValues?.[0]?.[1] === 'OmegaFilter') as (typeof r.instances)[number];
    const u16 = Buffer.from('Ωmega.exe', 'utf16le');
    assert.ok(Buffer.from(omega.bytes).includes(u16));
    const cls = r.compiledClasses.get('__SYSTEMCLASS:__EVENTFILTER');
    assert.ok(cls);
    const dec = decodeInstanceRecord(omega.bytes, '__EventFilter', cls.layout);
    const byName = (n: string) => dec.values[cls.layout.find((s) => s.name === n)!.index];
    assert.equal(byName('Query').value, manifest.spec.instances.find((i) => i.values.Name === 'OmegaFilter')!.values.Query);
    assert.equal(byName('EventAccess').state, 3, 'NULL');
    assert.equal(dec.classHash, cimHash('__EventFilter'));
    const pref = r.instances.find((o) => o.className === '__FilterToConsumerBinding' && String(o.values?.Filter).startsWith('\\\\.\\ROOT\\subscription:'));
    assert.ok(pref);
    const bcls = r.compiledClasses.get('__SYSTEMCLASS:__FILTERTOCONSUMERBINDING')!;
    const b = decodeInstanceRecord(pref.bytes, '__FilterToConsumerBinding', bcls.layout);
    const bv = (n: string) => b.values[bcls.layout.find((s) => s.name === n)!.index];
    assert.equal(bv('DeliverSynchronously').value, true);
    assert.equal(bv('SlowDownProviders').state, 2, 'use class default');
    assert.equal(bv('DeliveryQoS').state, 3, 'NULL');
  });

  test('residue: free page, slack, older mapping with stale index keys', () => {
    const free = r.residue.filter((x) => x.where === 'free-page');
    assert.equal(free.length, 2);
    for (const f of free) {
      assert.ok(r.freeDataPages.includes(f.physicalPage));
      assert.equal(hex(repo.objects.subarray(f.physicalPage * PAGE_SIZE + f.offset, f.physicalPage * PAGE_SIZE + f.offset + f.size)), hex(f.bytes));
    }
    assert.ok(Buffer.from(repo.objects).includes(Buffer.from('DeletedConsumer"')), 'deleted binding text present in OBJECTS.DATA');
    const slack = r.residue.find((x) => x.where === 'slack')!;
    const logical = repo.dataMap.indexOf(slack.physicalPage);
    assert.ok(logical >= 0, 'slack is inside a mapped page');
    const toc = repo.toc(logical);
    const end = Math.max(...toc.map((t) => t.offset + t.size));
    assert.ok(slack.offset >= end, 'not covered by any TOC record');
    const old = r.residue.find((x) => x.where === 'older-mapping')!;
    assert.equal(old.staleKeys?.length, 2);
    assert.deepEqual(repo.indexPage(0).keys, r.staleIndexKeys);
    assert.ok(!repo.walk().keys.some((k) => r.staleIndexKeys.includes(k)), 'stale keys unreachable from the root');
    const older = openMiniRepo({
      'MAPPING1.MAP': new Uint8Array(readFileSync(path.join(dir, 'MAPPING1.MAP'))),
      'OBJECTS.DATA': repo.objects,
      'INDEX.BTR': repo.index,
    });
    const staleKey = old.staleKeys![0];
    assert.equal(hex(older.record(staleKey)), hex(old.bytes), 'older map resolves the stale key');
    assert.throws(() => repo.record(staleKey), 'current map does not');
  });
});

describe('B-tree shape', () => {
  const many = (n: number): ClassSpec[] =>
    Array.from({ length: n }, (_, i) => ({ namespace: 'ROOT\\cimv2', name: `Synthetic_Class_${String(i).padStart(4, '0')}`, superclass: i % 3 ? '__SystemClass' : undefined, properties: [{ name: 'Id', type: 'uint32' as const, key: true }] }));

  test('small page capacity → deep tree, still sorted and complete', () => {
    const r = buildRepository(tmp('deep'), { namespaces: ['ROOT', 'ROOT\\cimv2'], classes: many(60), instances: [], maxKeysPerIndexPage: 3 });
    const w = openMiniRepo(r.dir).walk();
    assert.ok(w.depth >= 3, `depth ${w.depth}`);
    assert.deepEqual(w.keys, r.keys);
  });

  const N_WIDE = 6000;
  test('byte-limited 8 KiB pages with thousands of keys → multi-level', () => {
    const r = buildRepository(tmp('wide'), { namespaces: ['ROOT', 'ROOT\\cimv2'], classes: many(N_WIDE), instances: [], maxKeysPerIndexPage: 1000 });
    const repo = openMiniRepo(r.dir);
    const w = repo.walk();
    assert.ok(r.keys.length > 3000);
    assert.ok(w.depth >= 2, `depth ${w.depth}`);
    assert.deepEqual(w.keys, r.keys);
    for (let l = 1; l < repo.indexMap.length; l++) assert.ok(parseIndexPage(repo.index.subarray(repo.indexMap[l] * PAGE_SIZE)).keys.length <= 1000);
  });
});

// ------------------------------------------------------------------------------------------------
// Byte-exact re-encoding of real Win10 records
// ------------------------------------------------------------------------------------------------

const win10Dir = path.join(samplesDir(), 'cim', 'dissect-cim-win10');
const win10Skip = existsSync(path.join(win10Dir, 'OBJECTS.DATA.gz')) ? false : `CIM samples not found at ${win10Dir} (expected ../shared/samples next to the repo)`;

describe('re-encoding real Win10 records (dissect-cim-win10)', { skip: win10Skip }, () => {
  let repo: MiniRepo | undefined;
  let keys: string[] = [];
  const open = (): MiniRepo => {
    if (repo) return repo;
    const files: Record<string, Uint8Array> = {};
    for (const f of ['OBJECTS.DATA', 'INDEX.BTR', 'MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP']) files[f] = new Uint8Array(gunzipSync(readFileSync(path.join(win10Dir, `${f}.gz`))));
    repo = openMiniRepo(files);
    keys = repo.walk().keys;
    return repo;
  };
  const find = (prefix: string): string => {
    open();
    const k = keys.find((x) => x.startsWith(prefix));
    if (!k) throw new Error(`no key ${prefix}`);
    return k;
  };
  const cd = (ns: string, cls: string) => open().record(find(`NS_${cimHash(ns)}/CD_${cimHash(cls)}.`));
  const sys = '__SystemClass';
  const decodeChain = (ns: string, chain: string[]): { layout: SlotModel[]; bytes: Uint8Array[] } => {
    let layout: SlotModel[] = [];
    const bytes: Uint8Array[] = [];
    for (const c of chain) {
      let b: Uint8Array;
      try {
        b = cd(ns, c);
      } catch {
        b = cd(sys, c);
      }
      bytes.push(b);
      layout = decodeClassRecord(b, layout).layout;
    }
    return { layout, bytes };
  };

  test('current map / root / key count as documented (§13)', () => {
    const r = open();
    assert.equal(r.current, 'MAPPING2.MAP');
    assert.equal(r.root, 57);
    assert.equal(keys.length, 20461);
  });

  for (const [ns, cls, chain] of [
    [sys, '__SystemClass', []],
    [sys, '__NAMESPACE', ['__SystemClass']],
    [sys, '__EventConsumer', ['__SystemClass', '__IndicationRelated']],
    [sys, '__EventFilter', ['__SystemClass', '__IndicationRelated']],
    [sys, '__FilterToConsumerBinding', ['__SystemClass', '__IndicationRelated']],
    ['ROOT\\subscription', 'NTEventLogEventConsumer', ['__SystemClass', '__IndicationRelated', '__EventConsumer']],
    ['ROOT\\subscription', 'CommandLineEventConsumer', ['__SystemClass', '__IndicationRelated', '__EventConsumer']],
    ['ROOT\\subscription', 'ActiveScriptEventConsumer', ['__SystemClass', '__IndicationRelated', '__EventConsumer']],
  ] as Array<[string, string, string[]]>) {
    test(`class ${cls}: decode → encodeClassRecord gives identical bytes`, () => {
      const real = cd(ns, cls);
      const model = decodeClassRecord(real, decodeChain(ns, chain).layout);
      assert.equal(model.name, cls);
      assert.equal(hex(encodeClassRecord(model)), hex(real));
    });
  }

  test('SCM binding, filter and consumer instances: decode → encodeInstanceRecord gives identical bytes', () => {
    const sub = `NS_${cimHash('ROOT\\subscription')}`;
    const cases: Array<[string, string[], string]> = [
      ['__FilterToConsumerBinding', ['__SystemClass', '__IndicationRelated', '__FilterToConsumerBinding'], '8E80D45658E49966FC3BA567F2C75690AE48EBAB9A2568429675180214107ACE'],
      ['__EventFilter', ['__SystemClass', '__IndicationRelated', '__EventFilter'], cimHash('SCM Event Log Filter')],
      ['NTEventLogEventConsumer', ['__SystemClass', '__IndicationRelated', '__EventConsumer', 'NTEventLogEventConsumer'], cimHash('SCM Event Log Consumer')],
    ];
    for (const [cls, chain, ih] of cases) {
      const real = open().record(find(`${sub}/CI_${cimHash(cls)}/IL_${ih}.`));
      const { layout } = decodeChain('ROOT\\subscription', chain);
      const model = decodeInstanceRecord(real, cls, layout);
      assert.equal(model.classHash, cimHash(cls));
      assert.equal(hex(encodeInstanceRecord(model)), hex(real), cls);
    }
  });

  test('reference record (IR_/R_) re-encodes identically apart from its 8 trailing bytes', () => {
    const sub = `NS_${cimHash('ROOT\\subscription')}`;
    const k = find(`${sub}/KI_${cimHash('NTEventLogEventConsumer')}/IR_`);
    const real = open().record(k);
    const { strings, trailer } = decodeReferenceRecord(real);
    assert.equal(hex(encodeReferenceRecord(strings[0], strings[1], strings[2], strings[3], trailer)), hex(real));
    assert.ok(k.includes(`/R_${cimHash(strings[3])}.`), 'R_ hash = hash of the referencing key path');
  });

  test('standard helper classes equal the real records except for documented junk bytes', () => {
    // junk = methods-block bytes 6-7, inherited default slots, unused state bits (see cim-builder.ts header)
    const r = buildRepository(tmp('std'), { namespaces: ['ROOT', 'ROOT\\subscription'], classes: standardConsumerClasses('ROOT\\subscription'), instances: [] });
    const identical: string[] = [];
    for (const c of r.compiledClasses.values()) {
      const real = cd(c.namespace, c.spec.name);
      const ts = new DataView(real.buffer, real.byteOffset).getBigUint64(4 + 2 * c.model.superclass.length, true);
      const ours = encodeClassRecord({ ...c.model, timestamp: ts });
      assert.equal(ours.length, real.length, c.spec.name);
      let diff = 0;
      for (let i = 0; i < ours.length; i++) if (ours[i] !== real[i]) diff++;
      assert.ok(diff <= 2, `${c.spec.name}: ${diff} bytes differ`);
      if (diff === 0) identical.push(c.spec.name);
    }
    assert.deepEqual(identical.sort(), ['__EventFilter', '__FilterToConsumerBinding']);
  });
});
