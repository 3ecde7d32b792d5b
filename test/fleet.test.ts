/**
 * Many hosts in one scan: a generated fleet of 50 host collections (copies of a real Sysmon log with the
 * Computer rewritten per host, builder repositories on two hosts) keeps hosts apart, reads them in worker
 * threads with the same result as in one thread, and stacks each subscription across the fleet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { payloadHash } from '../src/analysis/stack.js';
import type { Finding, ScanResult } from '../src/model/types.js';
import { makeFleet } from './support/fleet.js';
import { standardFixtures } from './support/cim-builder.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';

const SYSMON = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');

function fleet(): { dir: string; hosts: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-fleet-'));
  const hosts = makeFleet({
    dir,
    hosts: 50,
    prefix: 'HOST',
    log: { file: SYSMON, computer: 'IEWIN7', name: 'Microsoft-Windows-Sysmon%4Operational.evtx' },
    builders: [{ build: (repo) => standardFixtures(repo), hosts: [3, 17] }],
  });
  return { dir, hosts };
}

/** The parts of a result that must not depend on threads or timing. */
function stable(r: ScanResult): unknown {
  return {
    hosts: r.hosts,
    findings: r.findings.map((f) => [f.id, f.host, f.severity, f.score, f.status, f.stack?.hosts, f.reasons.map((x) => x.id).join(',')]),
    fleet: r.fleet?.stacks.map((s) => [s.key, s.count, s.rare, s.common]),
    evidence: r.evidence.map((e) => [e.file, e.host, e.records]),
  };
}

test('fleet of 50 hosts: hosts kept apart, common and rare subscriptions counted, same result with 1 or 4 threads', async () => {
  const { dir, hosts } = fleet();
  try {
    const r = await scan([dir], { threads: 4 });
    assert.deepEqual(r.hosts, hosts);
    assert.equal(r.fleet?.hosts, 50);
    // the Sysmon log's subscription is on every host: one stack, common, not allow-listed for it
    const bot = r.fleet!.stacks.find((s) => s.name === 'BotConsumer23')!;
    assert.equal(bot.count, 50);
    assert.equal(bot.common, true);
    assert.equal(bot.rare, false);
    const botFindings = r.findings.filter((f) => f.consumer?.name === 'BotConsumer23');
    assert.equal(botFindings.length, 50, 'one finding per host');
    assert.equal(new Set(botFindings.map((f) => f.host)).size, 50);
    for (const f of botFindings) {
      assert.equal(f.allowlisted, null);
      assert.ok(f.reasons.some((x) => x.id === 'WMI-STACK-COMMON'));
      assert.deepEqual(f.stack, { key: bot.key, payloadHash: bot.payloadHash, hosts: 50, fleetHosts: 50, rare: false, common: true });
    }
    // the builder's custom-namespace consumer is on 2 of 50 hosts: rare, ranked up by the stacking reason
    const legit = r.fleet!.stacks.find((s) => s.name === 'LegitScript')!;
    assert.deepEqual(legit.hosts, ['HOST03', 'HOST17']);
    assert.equal(legit.count, 2);
    assert.equal(legit.rare, true);
    const lf = r.findings.filter((f) => f.consumer?.name === 'LegitScript');
    assert.equal(lf.length, 2);
    for (const f of lf) {
      const reason = f.reasons.find((x) => x.id === 'WMI-STACK-RARE')!;
      assert.equal(reason.title, 'rare across the fleet: on 2 of 50 hosts');
      assert.equal(reason.evidence, 'HOST03, HOST17');
      assert.equal(reason.score, 15);
    }
    // rarest first
    const counts = r.fleet!.stacks.map((s) => s.count);
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b));
    // per host, worst first: the two hosts with the rare custom-namespace subscriptions lead
    assert.equal(r.fleet!.perHost.length, 50);
    assert.deepEqual(r.fleet!.perHost.slice(0, 2).map((h) => h.host).sort(), ['HOST03', 'HOST17']);
    const h3 = r.fleet!.perHost.find((h) => h.host === 'HOST03')!;
    assert.equal(h3.findings, r.findings.filter((f) => f.host === 'HOST03').length);
    assert.equal(h3.rare, lf.length / 2 + r.findings.filter((f) => f.host === 'HOST03' && f.stack?.rare && f.consumer?.name !== 'LegitScript').length);
    const h5 = r.fleet!.perHost.find((h) => h.host === 'HOST05')!;
    // critical: the log also shows the cmd.exe start the subscription ran (record 16116), the 'ran' reason
    assert.deepEqual(h5, { host: 'HOST05', findings: 1, worst: 'critical', rare: 0, allowlisted: 0 });
    // each repository is attributed to the host whose log lies beside it
    const repoItems = r.evidence.filter((e) => e.kind === 'cim');
    assert.deepEqual(repoItems.map((e) => e.host).sort(), ['HOST03', 'HOST17']);
    // threads change nothing but speed
    const one = await scan([dir], { threads: 1 });
    assert.deepEqual(stable(one), stable(r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fewer than 10 hosts: counts are given, nothing is ranked rare or common', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-fleet-'));
  try {
    makeFleet({ dir, hosts: 3, prefix: 'HOST', log: { file: SYSMON, computer: 'IEWIN7', name: 'Sysmon.evtx' }, builders: [{ build: (repo) => standardFixtures(repo), hosts: [2] }] });
    const r = await scan([dir], { threads: 1 });
    assert.equal(r.fleet?.hosts, 3);
    assert.equal(r.fleet?.minHostsForRanking, 10);
    assert.equal(r.fleet!.stacks.find((s) => s.name === 'BotConsumer23')!.count, 3);
    assert.ok(r.fleet!.stacks.every((s) => !s.rare && !s.common));
    assert.ok(r.findings.every((f) => !f.reasons.some((x) => x.id.startsWith('WMI-STACK-'))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hosts whose evidence cannot show a subscription (a Security log only) change neither the fleet, rare/common, scores nor the exit code; --no-stacking turns stacking off', { skip: skipReason }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-fleet-'));
  try {
    makeFleet({ dir, hosts: 3, prefix: 'HOST', log: { file: SYSMON, computer: 'IEWIN7', name: 'Sysmon.evtx' }, builders: [{ build: (repo) => standardFixtures(repo), hosts: [2] }] });
    const base = await scan([dir], { threads: 1 });
    // ten more hosts with a real Security log each (Computer PC01.example.corp renamed SEnn.example.corp)
    makeFleet({ dir, hosts: 10, prefix: 'SE', log: { file: evtxSample('EVTX-ATTACK-SAMPLES/LM_WMIC_4648_rpcss.evtx'), computer: 'PC01', name: 'Security.evtx' } });
    const more = await scan([dir], { threads: 1 });
    assert.equal(more.hosts.length, 13, more.hosts.join(', '));
    assert.ok(more.hosts.includes('SE10.example.corp'));
    // before: 13 hosts in the denominator ranked the builder's one-host subscriptions rare (+15, a high turned critical)
    assert.equal(more.fleet?.hosts, 3);
    const essence = (r: ScanResult): unknown => r.findings.map((f) => [f.id, f.host, f.severity, f.score, f.reasons.map((x) => x.id).join(','), f.stack?.rare, f.stack?.common, f.stack?.fleetHosts]);
    assert.deepEqual(essence(more), essence(base));
    const fails = (r: ScanResult, at: Finding['severity'][]): boolean => r.findings.some((f) => !f.allowlisted && at.includes(f.severity));
    assert.equal(fails(more, ['critical']), fails(base, ['critical']));
    assert.equal(fails(more, ['critical', 'high']), fails(base, ['critical', 'high']));
    // --no-stacking: no fleet, no stacking reasons
    const off = await scan([dir], { threads: 1, stacking: false });
    assert.equal(off.fleet, undefined);
    assert.ok(off.findings.every((f) => f.stack === undefined && !f.reasons.some((x) => x.id.startsWith('WMI-STACK-'))));
    const cli = spawnSync(process.execPath, [join(repoRoot(), 'dist/src/cli/main.js'), 'scan', '-q', '-j', '1', '-f', 'json', '--no-stacking', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const parsed = JSON.parse(cli.stdout) as ScanResult;
    assert.equal(parsed.fleet, undefined);
    assert.equal(parsed.findings.length, off.findings.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('payload hash: the same subscription hashes alike from the repository, Sysmon, Velociraptor and Autoruns', () => {
  const cmd = 'c:\\Windows\\System32\\cmd.exe';
  const f = (values: Record<string, string | number | boolean | null>, filter = true): Finding =>
    ({
      namespace: 'ROOT\\subscription',
      consumer: { namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: 'BotConsumer23', values },
      filter: filter ? { namespace: 'ROOT\\subscription', className: '__EventFilter', name: 'BotFilter82', values: { Name: 'BotFilter82', Query: 'SELECT * FROM __InstanceModificationEvent' } } : null,
    }) as unknown as Finding;
  const repo = payloadHash(f({ Name: 'BotConsumer23', CommandLineTemplate: cmd, KillTimeout: 0, Priority: 32, RunInteractively: false, CreateNewConsole: false, CreatorSID: 'S-1-5-21-1-2-3-1000' }));
  const sysmon = payloadHash(f({ Name: 'BotConsumer23', CommandLineTemplate: cmd, Type: 'Command Line' }));
  const velociraptor = payloadHash(f({ Name: 'BotConsumer23', CommandLineTemplate: cmd, ConsumerClassInferred: true, ExecutablePath: null }));
  const autoruns = payloadHash(f({ Name: 'BotConsumer23', CommandLineTemplate: cmd }, false));
  assert.deepEqual([sysmon, velociraptor, autoruns], [repo, repo, repo]);
  // another class with the same text is another payload
  const script = payloadHash({ ...f({ ScriptText: cmd }), consumer: { namespace: 'ROOT\\subscription', className: 'ActiveScriptEventConsumer', name: 'X', values: { ScriptText: cmd } } } as unknown as Finding);
  assert.notEqual(script, repo);
});

test('payload hash: what the consumer does, not its creator; a changed command is another stack', () => {
  const base = (cmd: string, sid: string): Finding =>
    ({
      namespace: 'ROOT\\subscription',
      consumer: { namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: 'X', values: { Name: 'X', CommandLineTemplate: cmd, CreatorSID: sid } },
      filter: { namespace: 'ROOT\\subscription', className: '__EventFilter', name: 'X', values: { Name: 'X', Query: 'SELECT * FROM __InstanceModificationEvent  WITHIN 60', EventNamespace: 'root/cimv2' } },
    }) as unknown as Finding;
  assert.equal(payloadHash(base('cmd.exe /c x', 'S-1-5-18')), payloadHash(base('cmd.exe /c x', 'S-1-5-21-1-2-3-500')));
  assert.notEqual(payloadHash(base('cmd.exe /c x', 'S-1-5-18')), payloadHash(base('cmd.exe /c y', 'S-1-5-18')));
  assert.match(payloadHash(base('a', 'b')), /^[0-9a-f]{16}$/);
});
