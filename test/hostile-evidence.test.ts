/**
 * Hostile and skeptical checks of the claims of absence a collection can lead to: a collector document is the
 * host's whole WMI state only when it says it ran elevated in a way the collector can say it (FullLanguage), and only
 * for what existed when it ran (a subscription logged after the document was collected is not "deleted").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { diffScans } from '../src/analysis/diff.js';
import type { ScanResult } from '../src/model/types.js';
import { repoRoot, samplesDir } from './support/samples.js';
import { scratchDir } from './support/tmp.js';
import { writeZip } from './support/zip-writer.js';
import { gunzipSync } from 'node:zlib';
import { collectionMembers, collectorUpload, driveWindows, evtxFileName, ntfsWindows, type VrClient } from './support/vr-collection.js';

const fixture = (p: string): string => join(repoRoot(), 'test/fixtures', p);
/** A real PowerShell log of a PowerLurk run (2021-06-10): the subscription Evil23 created, never deleted. */
const POWERLURK = join(samplesDir(), 'evtx/hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx');
const skip = existsSync(POWERLURK) ? false : `PowerShell log sample not found at ${POWERLURK}`;

interface DocHost {
  elevated: unknown;
  languageMode?: unknown;
}
/** A collector document of FS01 listing no subscription at all, collected at `at`. */
function emptyDoc(at: string, host: DocHost): Buffer {
  const d = JSON.parse(readFileSync(fixture('collector/iewin7-botfilter-nested.json'), 'utf8')) as Record<string, unknown> & { host: Record<string, unknown>; namespaces: Array<Record<string, unknown>> };
  d['objects'] = [];
  for (const n of d.namespaces) n['counts'] = { filters: 0, consumers: 0, bindings: 0, timers: 0 };
  d.host['computerName'] = 'FS01';
  d.host['fqdn'] = 'fs01.offsec.lan';
  d.host['elevated'] = host.elevated;
  if ('languageMode' in host) d.host['languageMode'] = host.languageMode;
  else {
    delete d.host['languageMode'];
    d['format'] = 'wmiscope-collector/1';
  }
  d['collectedAt'] = at;
  d['completedAt'] = at;
  return Buffer.from(JSON.stringify(d));
}

async function statusWith(at: string, host: DocHost): Promise<string[]> {
  const client: VrClient = {
    clientId: 'C.5e6f7a8b9c0d1e2f',
    hostname: 'FS01',
    fqdn: 'fs01.offsec.lan',
    flowId: 'F.CT5F6G7H8J9K0',
    uploads: [
      { part: 'eventlog', item: 'Windows PowerShell', accessor: 'auto', components: driveWindows('System32', 'winevt', 'Logs', evtxFileName('Windows PowerShell')), data: readFileSync(POWERLURK) },
      collectorUpload(emptyDoc(at, host)),
    ],
  };
  const zip = join(scratchDir('hostile-evidence'), 'fs01.zip');
  writeZip(zip, collectionMembers(client));
  const r = await scan([zip]);
  return r.findings.filter((f) => f.filter?.name === 'Evil23').map((f) => f.status);
}

test('an elevated collector document that lists nothing, collected after the logged creation: deleted (the control)', { skip }, async () => {
  assert.deepEqual(await statusWith('2030-01-01T00:00:00Z', { elevated: true, languageMode: 'FullLanguage' }), ['deleted']);
  assert.deepEqual(await statusWith('2030-01-01T00:00:00Z', { elevated: true }), ['deleted']);
});

test('a collector document collected BEFORE the subscription was logged shows nothing about it: not deleted', { skip }, async () => {
  assert.deepEqual(await statusWith('2001-01-01T00:00:00Z', { elevated: true, languageMode: 'FullLanguage' }), ['logged-only']);
});

test('elevated: true beside a language mode the collector cannot ask in (or a non-string one) is not the host state', { skip }, async () => {
  for (const languageMode of ['ConstrainedLanguage', 'NoLanguage', 'RestrictedLanguage', 42, 'Full Language', null]) {
    assert.deepEqual(await statusWith('2030-01-01T00:00:00Z', { elevated: true, languageMode }), ['logged-only'], String(languageMode));
  }
});

/** The real Windows 10 repository (gzip'd copies of its files). */
const WIN10_REPO = join(samplesDir(), 'cim/dissect-cim-win10');
const repoSkip = skip || (existsSync(WIN10_REPO) ? false : `repository sample not found at ${WIN10_REPO}`);

test('a repository collected without OBJECTS.DATA (skipped for its size) is not the host state: a logged subscription is not "deleted"', { skip: repoSkip }, async () => {
  const run = async (files: string[]): Promise<string[]> => (await scanRepo(files)).findings.filter((f) => f.filter?.name === 'Evil23').map((f) => f.status);
  const scanRepo = async (files: string[]): Promise<ScanResult> => {
    const client: VrClient = {
      clientId: 'C.5e6f7a8b9c0d1e2f',
      hostname: 'FS01',
      fqdn: 'fs01.offsec.lan',
      flowId: 'F.CT5F6G7H8J9K0',
      uploads: [
        ...files.map((n) => ({ part: 'repository' as const, item: n, accessor: 'ntfs' as const, components: ntfsWindows('System32', 'wbem', 'Repository', n), data: gunzipSync(readFileSync(join(WIN10_REPO, `${n}.gz`))) })),
        { part: 'eventlog', item: 'Windows PowerShell', accessor: 'auto', components: driveWindows('System32', 'winevt', 'Logs', evtxFileName('Windows PowerShell')), data: readFileSync(POWERLURK) },
      ],
      others: files.includes('OBJECTS.DATA') ? [] : [{ part: 'repository', item: 'OBJECTS.DATA', path: 'C:\\Windows\\System32\\wbem\\Repository\\OBJECTS.DATA', size: 3221225472, action: 'skipped', reason: 'larger than MaxRepositoryFileSize (2147483648 bytes)' }],
    };
    const zip = join(scratchDir('hostile-evidence'), 'fs01-repo.zip');
    writeZip(zip, collectionMembers(client));
    return scan([zip]);
  };
  // the control: the whole repository read, Evil23 not in it: deleted
  assert.deepEqual(await run(['OBJECTS.DATA', 'INDEX.BTR', 'MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP']), ['deleted']);
  assert.deepEqual(await run(['INDEX.BTR', 'MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP']), ['logged-only']);
  // coverage says why the repository cannot show it, not that it is "not in the repository"
  const partial = await scanRepo(['INDEX.BTR', 'MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP']);
  const evil = partial.findings.find((f) => f.filter?.name === 'Evil23')!;
  assert.deepEqual(
    evil.coverage.filter((c) => c.source === 'WMI repository').map((c) => c.reason),
    ['not observable in this evidence: the repository was read without OBJECTS.DATA (index keys only, no object)'],
  );
  // and a later scan with such a repository calls nothing of an earlier whole one gone
  const whole = await scanRepo(['OBJECTS.DATA', 'INDEX.BTR', 'MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP']);
  const d = diffScans(whole, partial);
  const host = d.hosts.find((h) => h.host === 'fs01.offsec.lan (C.5e6f7a8b9c0d1e2f)')!;
  assert.deepEqual(host.gone.map((e) => e.name), []);
  assert.deepEqual(host.notShownInNew.map((e) => e.name), ['SCM Event Log Consumer']);
});

// ---- a damaged collector document (committed fixture) ----------------------------------------------------------

/** The statuses of the IEWIN7 document's ROOT\subscription BotConsumer23 finding after `edit`. */
async function iewin7With(edit: (d: { namespaces: Array<Record<string, unknown>>; objects: Array<Record<string, unknown>> }) => void): Promise<string[]> {
  const d = JSON.parse(readFileSync(fixture('collector/iewin7-botfilter-nested.json'), 'utf8')) as { namespaces: Array<Record<string, unknown>>; objects: Array<Record<string, unknown>> };
  edit(d);
  const file = join(scratchDir('hostile-evidence'), 'iewin7.json');
  writeFileSync(file, JSON.stringify(d));
  const r = await scan([file]);
  return r.findings.filter((f) => f.consumer?.name === 'BotConsumer23' && f.namespace === 'ROOT\\subscription').map((f) => f.status);
}
const subscriptionNs = (d: { namespaces: Array<Record<string, unknown>> }): Record<string, unknown> => d.namespaces.find((n) => n['name'] === 'ROOT\\subscription')!;

test('a collector document whose binding object is damaged (skipped) shows no orphan in that namespace', async () => {
  assert.deepEqual(await iewin7With(() => {}), ['active']);
  // the control: the binding really absent from a clean namespace is an orphan
  assert.deepEqual(await iewin7With((d) => d.objects.splice(3, 1)), ['orphan']);
  // skipped (properties not an object): whether it was bound cannot be told
  assert.deepEqual(await iewin7With((d) => (d.objects[3]!['properties'] = 'damaged')), ['active']);
  // skipped with no namespace to tell where it was: no namespace of the document is whole
  assert.deepEqual(
    await iewin7With((d) => {
      d.objects[3]!['properties'] = 'damaged';
      d.objects[3]!['namespace'] = 7;
    }),
    ['active'],
  );
});

test('a collector namespace whose errors are not a list is not read cleanly (no orphan there)', async () => {
  for (const errors of ['Access denied', { 0: 'x' }, undefined, null]) {
    assert.deepEqual(
      await iewin7With((d) => {
        d.objects.splice(3, 1);
        if (errors === undefined) delete subscriptionNs(d)['errors'];
        else subscriptionNs(d)['errors'] = errors;
      }),
      ['active'],
      JSON.stringify(errors ?? 'absent'),
    );
  }
});

test('diff: a NEW collector document that is not the whole state (not elevated, elevation unknown, a namespace with errors) calls nothing gone', async () => {
  const base = JSON.parse(readFileSync(fixture('collector/iewin7-botfilter-nested.json'), 'utf8')) as { host: Record<string, unknown>; namespaces: Array<Record<string, unknown>>; objects: unknown[] };
  const dir = scratchDir('hostile-evidence');
  writeFileSync(join(dir, 'old.json'), JSON.stringify(base));
  const old = await scan([join(dir, 'old.json')]);
  const cases: Array<[string, (d: typeof base) => void, boolean]> = [
    ['elevated (the control)', () => {}, true],
    ['not elevated', (d) => (d.host['elevated'] = false), false],
    ['Constrained Language Mode', (d) => Object.assign(d.host, { elevated: null, languageMode: 'ConstrainedLanguage' }), false],
    ['ROOT\\subscription read with an error', (d) => (subscriptionNs(d)['errors'] = [{ query: 'SELECT * FROM __EventConsumer', message: 'Access denied', category: 'PermissionDenied', errorId: 'x', code: '0x80041003' }]), false],
  ];
  for (const [label, edit, gone] of cases) {
    const d = structuredClone(base);
    edit(d);
    // BotConsumer23's filter, consumer and binding in ROOT\subscription are not in NEW's document
    d.objects = d.objects.filter((_, i) => i > 3 || i === 2);
    writeFileSync(join(dir, 'new.json'), JSON.stringify(d));
    const x = diffScans(old, await scan([join(dir, 'new.json')]));
    const names = (k: 'gone' | 'notShownInNew'): Array<string | null> => x.hosts.flatMap((h) => h[k].map((e) => e.name)).sort();
    assert.deepEqual(names('gone'), gone ? ['BotConsumer23'] : [], label);
    assert.deepEqual(names('notShownInNew'), gone ? [] : ['BotConsumer23'], label);
  }
});
