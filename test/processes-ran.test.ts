/**
 * Processes a subscription ran: a logged process start (Sysmon 1 / Security 4688) is tied to the subscription on its
 * host whose lifetime covers it and whose consumer matches (scrcons.exe ↔ the script consumer; a WmiPrvSE.exe child ↔
 * the command-line consumer's template or executable); the finding says "ran N times between A and B", the rule
 * `ran` scores it, and the table and timeline show each record. Real samples (skipped with a message when absent)
 * and the committed CommandLineEventConsumer fixture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { scan } from '../src/scan.js';
import { buildSubscriptions } from '../src/analysis/graph.js';
import { evaluate } from '../src/analysis/rules/index.js';
import { runsOf } from '../src/model/runs.js';
import { formatTable } from '../src/report/table.js';
import { timelineEvents } from '../src/report/timeline.js';
import type { Finding, Observation, ScanResult } from '../src/model/types.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';
import { GOOD_LOG } from './support/child.js';
import { consumerObservation, startObservation } from './support/observations.js';

const schema = JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as { $id: string };
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
ajv.addSchema(schema);
const validate = ajv.getSchema(schema.$id)!;

const WMIGHOST = evtxSample('EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx');
const wmighostSkip = skipReason || (existsSync(WMIGHOST) ? false : `sample absent: ${WMIGHOST}`);

const only = (r: ScanResult): Finding => {
  assert.equal(r.findings.length, 1, r.findings.map((f) => f.consumer?.name).join(', '));
  return r.findings[0]!;
};

/** The drafts of a finding's observations, with the process starts changed by `edit` (the rest as read). */
function rejoin(f: Finding, edit: (o: Observation) => Observation): ReturnType<typeof buildSubscriptions> {
  return buildSubscriptions(
    f.observations.map((o) => (o.source === 'process' ? edit(o) : o)),
    new Set(),
  );
}

test('wmighost: the scrcons.exe start (Sysmon 1, record 7203) is tied to the ActiveScript finding', { skip: wmighostSkip }, async () => {
  const r = await scan([WMIGHOST], { threads: 1 });
  const f = only(r);
  assert.equal(f.consumer?.className, 'ActiveScriptEventConsumer');
  assert.equal(f.consumer?.name, 'ProbeScriptFint');
  assert.ok(f.runs, 'the finding has runs');
  assert.equal(f.runs.count, 1);
  assert.equal(f.runs.first, '2019-04-03T18:12:00.0168624Z');
  assert.equal(f.runs.last, '2019-04-03T18:12:00.0168624Z');
  // last seen is the subscription's own objects (the Sysmon 21 binding), not the process it ran
  assert.equal(f.lastSeen, '2019-04-03T18:11:54.1980000Z');
  const run = f.runs.records[0]!;
  assert.equal(run.recordId, '7203');
  assert.equal(run.time, '2019-04-03T18:12:00.0168624Z');
  assert.equal(run.image, 'C:\\Windows\\System32\\wbem\\scrcons.exe');
  assert.equal(run.commandLine, 'C:\\Windows\\system32\\wbem\\scrcons.exe -Embedding');
  assert.equal(run.user, 'NT AUTHORITY\\SYSTEM');
  assert.equal(run.parent, 'C:\\Windows\\System32\\svchost.exe');
  assert.equal(run.file, WMIGHOST);
  const reason = f.reasons.find((x) => x.id === 'ran');
  assert.ok(reason, 'rule ran fired');
  assert.equal(reason.score, 10);
  assert.match(reason.evidence, /^scrcons\.exe started 2019-04-03T18:12:00\.0168624Z \(record 7203 of wmighost_sysmon_20_21_1\.evtx\)/);
  assert.ok(validate(r), JSON.stringify(validate.errors?.slice(0, 3)));

  const table = formatTable(r, { details: true, width: 200 });
  assert.match(table, /Ran {8}: ran once, at 2019-04-03T18:12:00\.0168624Z/);
  assert.match(table, /@ record 7203/);
  const tl = timelineEvents(r).find((e) => e.source === 'process');
  assert.ok(tl);
  assert.equal(tl.datetime, '2019-04-03T18:12:00.0168624Z');
  assert.equal(tl.timestamp_desc, 'Process created by consumer');
  assert.match(tl.message, /"ProbeScriptFint" ran: C:\\Windows\\system32\\wbem\\scrcons\.exe -Embedding as NT AUTHORITY\\SYSTEM \(parent svchost\.exe\)/);
});

test('wmighost: the same scrcons.exe start moved before the subscription was made is not tied', { skip: wmighostSkip }, async () => {
  const f = only(await scan([WMIGHOST], { threads: 1 }));
  // the consumer was logged (Sysmon 20, Modified) at 18:11:54.178; a start a few seconds before is outside its lifetime
  const drafts = rejoin(f, (o) => ({ ...o, time: '2019-04-03T18:11:50.0000000Z' }));
  const d = drafts.find((x) => x.consumer?.name === 'ProbeScriptFint')!;
  assert.equal(runsOf(d.observations), null);
  assert.ok(!evaluate({ ...d }, []).reasons.some((x) => x.id === 'ran'));
  // an undated start cannot be placed in the lifetime either
  const undated = rejoin(f, (o) => ({ ...o, time: null })).find((x) => x.consumer?.name === 'ProbeScriptFint')!;
  assert.equal(runsOf(undated.observations), null);
});

test('CommandLineEventConsumer: the WmiPrvSE.exe child running its template is tied, by command line (record 16116)', async () => {
  const r = await scan([GOOD_LOG], { threads: 1 });
  const f = only(r);
  assert.equal(f.consumer?.name, 'BotConsumer23');
  assert.equal(f.consumer?.values['CommandLineTemplate'], 'c:\\Windows\\System32\\cmd.exe');
  assert.ok(f.runs);
  assert.equal(f.runs.count, 1);
  assert.equal(f.runs.first, '2019-05-11T17:58:50.0906596Z');
  const run = f.runs.records[0]!;
  assert.equal(run.recordId, '16116');
  assert.equal(run.commandLine, 'c:\\Windows\\System32\\cmd.exe');
  assert.equal(run.parent, 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe');
  assert.equal(run.user, 'NT AUTHORITY\\SYSTEM');
  assert.ok(f.reasons.some((x) => x.id === 'ran' && /^cmd\.exe started 2019-05-11T17:58:50\.0906596Z \(record 16116 of /.test(x.evidence)));
  assert.ok(validate(r), JSON.stringify(validate.errors?.slice(0, 3)));
});

test('CommandLineEventConsumer: a start after the subscription was deleted, or before it was made, is not tied', async () => {
  const f = only(await scan([GOOD_LOG], { threads: 1 }));
  // consumer created 17:58:23.340, first deletion 17:58:54.903
  for (const time of ['2019-05-11T17:58:59.0000000Z', '2019-05-11T17:58:20.0000000Z']) {
    const d = rejoin(f, (o) => ({ ...o, time })).find((x) => x.consumer?.name === 'BotConsumer23')!;
    assert.equal(runsOf(d.observations), null, time);
  }
  // at the very instant of the deletion it still counts (not after it)
  const at = rejoin(f, (o) => ({ ...o, time: '2019-05-11T17:58:54.9030000Z' })).find((x) => x.consumer?.name === 'BotConsumer23')!;
  assert.equal(runsOf(at.observations)?.count, 1);
});

// ---- the matching, on small observations ------------------------------------------------------------------------

const consumer = consumerObservation;
const start = startObservation;
const SCR = 'C:\\Windows\\System32\\wbem\\scrcons.exe';
const WMI = 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe';
const CMD = 'C:\\Windows\\System32\\cmd.exe';

test('a template with %variables% matches the command line WMI filled in; other WmiPrvSE children are not tied', () => {
  const c = consumer('Evil23', 'CommandLineEventConsumer', { CommandLineTemplate: 'cmd.exe /c echo %ProcessId% >> c:\\temp\\log.txt' });
  const ran = start(CMD, WMI, 'cmd.exe /c echo 4242 >> c:\\temp\\log.txt');
  // a remote Win32_Process.Create also starts cmd.exe under WmiPrvSE.exe: not this consumer's command line
  const other = start(CMD, WMI, 'cmd.exe /c whoami', { location: 'record 10' });
  // the right command line under another parent is not a consumer run
  const notChild = start(CMD, 'C:\\Windows\\explorer.exe', 'cmd.exe /c echo 1 >> c:\\temp\\log.txt', { location: 'record 11' });
  // the template must be the whole command line: text before or after it is another command
  const longer = start(CMD, WMI, 'cmd.exe /c echo 1 >> c:\\temp\\log.txt & whoami', { location: 'record 12' });
  const wrapped = start(CMD, WMI, 'cmd.exe /c cmd.exe /c echo 1 >> c:\\temp\\log.txt', { location: 'record 13' });
  const [d] = buildSubscriptions([c, ran, other, notChild, longer, wrapped], new Set());
  const runs = runsOf(d!.observations);
  assert.equal(runs?.count, 1);
  assert.equal(runs?.records[0]!.recordId, '9');
});

test('a consumer without a template is matched by its ExecutablePath; on another host nothing is tied', () => {
  const c = consumer('X', 'CommandLineEventConsumer', { ExecutablePath: 'C:\\Tools\\run.exe' });
  // the same program with arguments is something else WMI was asked to run (no template: WMI passes none)
  const withArgs = start('C:\\Tools\\run.exe', WMI, 'C:\\Tools\\run.exe --other', { location: 'record 13' });
  const quoted = start('C:\\Tools\\run.exe', WMI, '"C:\\Tools\\run.exe"', { location: 'record 14', time: '2024-01-03T00:00:00.0000000Z' });
  const [d] = buildSubscriptions([c, start('c:\\tools\\RUN.exe', WMI, 'run.exe'), start('C:\\Tools\\run.exe', WMI, 'run.exe', { host: 'OTHER', location: 'record 12' }), withArgs, quoted], new Set());
  assert.deepEqual(runsOf(d!.observations)?.records.map((r) => r.recordId), ['9', '14']);
});

test('scrcons.exe is tied only when one script consumer of the host could have run it, and never to a command-line consumer', () => {
  const a = consumer('A', 'ActiveScriptEventConsumer', { ScriptingEngine: 'VBScript', ScriptText: 'x' });
  const b = consumer('B', 'ActiveScriptEventConsumer', { ScriptingEngine: 'VBScript', ScriptText: 'y' });
  const cl = consumer('C', 'CommandLineEventConsumer', { CommandLineTemplate: 'scrcons.exe' });
  const s = start(SCR, 'C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\system32\\wbem\\scrcons.exe -Embedding');
  const two = buildSubscriptions([a, b, s], new Set());
  assert.ok(two.every((d) => runsOf(d.observations) === null), 'two candidates: no guess');
  const one = buildSubscriptions([a, cl, s], new Set());
  assert.equal(runsOf(one.find((d) => d.consumer?.name === 'A')!.observations)?.count, 1);
  assert.equal(runsOf(one.find((d) => d.consumer?.name === 'C')!.observations), null);
  // a script consumer whose making is not in the evidence has no lifetime to place the start in
  const undated = buildSubscriptions([{ ...a, time: null }, s], new Set());
  assert.equal(runsOf(undated[0]!.observations), null);
});

test('ran N times between A and B; hostile templates stay bounded', () => {
  const c = consumer('T', 'CommandLineEventConsumer', { CommandLineTemplate: 'cmd.exe /c beacon' });
  const starts = ['2024-01-03T00:00:00.0000000Z', '2024-01-02T00:00:00.0000000Z', '2024-01-05T00:00:00.0000000Z'].map((time, i) => start(CMD, WMI, 'cmd.exe /c beacon', { time, location: `record ${20 + i}` }));
  const [d] = buildSubscriptions([c, ...starts], new Set());
  const runs = runsOf(d!.observations)!;
  assert.equal(runs.count, 3);
  assert.equal(runs.first, '2024-01-02T00:00:00.0000000Z');
  assert.equal(runs.last, '2024-01-05T00:00:00.0000000Z');
  assert.deepEqual(runs.records.map((r) => r.recordId), ['21', '20', '22']);
  const v = evaluate({ host: d!.host, namespace: d!.namespace, status: d!.status, filter: d!.filter, consumer: d!.consumer, binding: d!.binding, observations: d!.observations }, []);
  assert.match(v.reasons.find((x) => x.id === 'ran')!.evidence, /ran 3 times between 2024-01-02T00:00:00\.0000000Z and 2024-01-05T00:00:00\.0000000Z$/);
  // many %variables% and a long command line: no backtracking (pieces found left to right), no tie past the bounds
  const many = consumer('M', 'CommandLineEventConsumer', { CommandLineTemplate: 'a%X%'.repeat(40) + 'b' });
  const long = start(CMD, WMI, 'a'.repeat(200_000));
  const [m] = buildSubscriptions([many, long], new Set());
  assert.equal(runsOf(m!.observations), null);
  const huge = consumer('H', 'CommandLineEventConsumer', { CommandLineTemplate: 'x'.repeat(5000) });
  const [h] = buildSubscriptions([huge, start(CMD, WMI, 'x'.repeat(6000))], new Set());
  assert.equal(runsOf(h!.observations), null);
});
