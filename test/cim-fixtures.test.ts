/**
 * The reader on repositories written by the test builder (test/support/cim-builder.ts, checked against
 * python-cim): every planted subscription object is found with the right namespace, class, values and
 * status — the cases the real sample lacks (custom namespace, nested namespace, custom consumer class,
 * UTF-16 query, prefixed compound-key binding, orphan consumer, orphan namespace, deleted objects).
 * Needs nothing from ../shared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CimRepository } from '../src/cim/index.js';
import type { CimSubscriptionObject } from '../src/cim/index.js';
import { standardFixtures } from './support/cim-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'wmiscope-fixtures-'));
const manifest = standardFixtures(dir);
const repo = CimRepository.open(dir);
const subs = repo.subscriptions();
const all: CimSubscriptionObject[] = [...subs.filters, ...subs.consumers, ...subs.bindings];
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const bindingName = (b: CimSubscriptionObject & { filter?: CimSubscriptionObject | null; consumer?: CimSubscriptionObject | null }): string =>
  `${String(b.filter?.values['Name'])} -> ${String(b.consumer?.values['Name'])}`;

test('every live fixture object is found in its namespace with its class', () => {
  const live = manifest.items.filter((i) => i.live);
  assert.equal(all.length, live.length);
  for (const item of live) {
    const found = all.find(
      (o) =>
        o.kind === item.what &&
        o.className === item.className &&
        (item.what === 'binding' ? bindingName(o) === item.name : o.values['Name'] === item.name),
    );
    assert.ok(found, `${item.what} ${item.name}`);
    const expectedNs = item.namespace === 'ROOT\\orphaned' ? null : item.namespace;
    assert.equal(found.namespace, expectedNs, `${item.name}: namespace`);
    assert.equal(found.namespaceHash, repo.namespaceHash(item.namespace), `${item.name}: namespace hash`);
  }
});

test('custom namespace, nested namespace and an orphan namespace known only by its hash', () => {
  const ns = repo.namespaces();
  const byName = new Map(ns.map((n) => [n.name, n]));
  assert.equal(byName.get('ROOT\\totallylegit')?.namedBy, 'walk');
  assert.equal(byName.get('ROOT\\cimv2\\x')?.namedBy, 'walk');
  const unnamed = ns.filter((n) => n.name === null);
  assert.deepEqual(
    unnamed.map((n) => n.hash),
    [repo.namespaceHash('ROOT\\orphaned')],
  );
  assert.ok(repo.warnings.some((w) => w.code === 'namespace' && w.message.includes(unnamed[0]!.hash)));
  // its consumer is still read, reported by hash
  const hidden = subs.consumers.find((c) => c.values['Name'] === 'HiddenLogger')!;
  assert.deepEqual([hidden.namespace, hidden.className], [null, 'LogFileEventConsumer']);
});

test('values: UTF-16 query, multi-page ActiveScript text, custom consumer class chain, prefixed compound binding', () => {
  const omega = subs.filters.find((f) => f.values['Name'] === 'OmegaFilter')!;
  assert.match(String(omega.values['Query']), /TargetInstance\.Name = 'Ωmega\.exe'/);
  const script = subs.consumers.find((c) => c.values['Name'] === 'LegitScript')!;
  assert.equal(script.namespace, 'ROOT\\totallylegit');
  assert.ok(String(script.values['ScriptText']).length > 8192, 'script spans pages');
  assert.match(String(script.values['ScriptText']), /^Set objShell = CreateObject\("WScript\.Shell"\)/);
  const custom = subs.consumers.find((c) => c.values['Name'] === 'Updater')!;
  assert.deepEqual(custom.classChain, ['__SystemClass', '__IndicationRelated', '__EventConsumer', 'TotallyLegitConsumer']);
  const b = subs.bindings.find((x) => x.filter?.values['Name'] === 'OmegaFilter')!;
  assert.equal(b.values['Filter'], '\\\\.\\ROOT\\subscription:__EventFilter.Name="OmegaFilter"');
  assert.equal(b.values['Consumer'], '\\\\.\\ROOT\\subscription:TotallyLegitConsumer.Name="Updater"');
  assert.equal(b.consumer, custom);
  assert.equal(b.values['DeliverSynchronously'], true);
  const cmd = subs.consumers.find((c) => c.values['Name'] === 'NestedCmd')!;
  assert.equal(cmd.namespace, 'ROOT\\cimv2\\x');
  assert.equal(cmd.values['CommandLineTemplate'], 'cmd.exe /c calc.exe');
  // the orphan consumer has no binding pointing at it
  const orphan = subs.consumers.find((c) => c.values['Name'] === 'OrphanLogger')!;
  assert.ok(!subs.bindings.some((x) => x.consumer === orphan));
});

test('deleted objects: carved from a free page and from page slack; the stale binding key linked to its record in the older mapping', () => {
  const res = repo.residue();
  const got = res.map((r) => [r.source, r.kind, r.className, r.kind === 'binding' ? String(r.values['Filter'] ?? '') : String(r.values['Name'] ?? ''), r.confidence, r.relation]);
  assert.deepEqual(
    got.sort(),
    [
      ['page-slack', 'filter', '__EventFilter', 'SlackFilter', 'high', 'no-live-object'],
      ['unmapped-page', 'binding', '__FilterToConsumerBinding', '__EventFilter.Name="DeletedFilter"', 'high', 'no-live-object'],
      ['unmapped-page', 'binding', '__FilterToConsumerBinding', '__EventFilter.Name="OldFilter"', 'high', 'no-live-object'],
      ['unmapped-page', 'consumer', 'CommandLineEventConsumer', 'DeletedConsumer', 'high', 'no-live-object'],
    ].sort(),
  );
  // the binding only the older mapping file still maps: the stale keys (CI and KI, one record) and the carved
  // copy of that record are one object, with both places and the namespace the key names; no "record gone"
  const old = res.find((r) => r.values['Filter'] === '__EventFilter.Name="OldFilter"')!;
  const staleKeys = manifest.result.staleIndexKeys;
  const olderPage = manifest.result.residue.find((x) => x.where === 'older-mapping')!;
  assert.deepEqual(
    old.provenance.map((p) => [p.source, p.file, p.key === undefined ? null : staleKeys.includes(p.key), p.record?.mapping ?? null, p.record?.offset ?? null]),
    [
      ['unmapped-page', 'OBJECTS.DATA', null, null, null],
      ['stale-key', 'INDEX.BTR', true, 'MAPPING1.MAP', olderPage.physicalPage * 8192 + olderPage.offset],
    ],
  );
  assert.equal(old.offset, olderPage.physicalPage * 8192 + olderPage.offset);
  assert.equal(old.namespace, 'ROOT\\subscription');
  assert.ok(!res.some((r) => r.notes.some((n) => /record is gone/.test(n))));
  // deleted objects never show up as live ones
  assert.ok(!all.some((o) => ['DeletedConsumer', 'SlackFilter'].includes(String(o.values['Name']))));
});
