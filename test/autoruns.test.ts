/**
 * autorunsc CSV as evidence (src/sources/formats/autoruns.ts), on test/fixtures/autoruns/IEWIN7.autorunsc.csv (UTF-16LE
 * with BOM, `-a * -c -h -s` columns; NOTICE.md there) and variants of it: UTF-8, BOM-less UTF-16, `-ct` tabs,
 * the banner, hunt CSV columns, rows that carry a WMI object path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { classify, observeInput } from '../src/sources/dispatch.js';
import { detectAdapter } from '../src/sources/formats/index.js';
import { bufferInput, fileInput, headText } from '../src/sources/input.js';
import type { EvidenceInput } from '../src/sources/input.js';
import { autorunsAdapter, autorunsTime, wmiPathIn } from '../src/sources/formats/autoruns.js';
import type { EvidenceNote, Finding, Observation, ScanResult } from '../src/model/types.js';
import { repoRoot } from './support/samples.js';
import fc from 'fast-check';
import { NoteSink } from '../src/sources/notes.js';

const CSV = join(repoRoot(), 'test/fixtures/autoruns/IEWIN7.autorunsc.csv');
const SYSMON = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
/** The fixture's text (UTF-16LE with BOM). */
const text = headText(readFileSync(CSV));

async function observe(input: EvidenceInput): Promise<{ obs: Observation[]; notes: EvidenceNote[]; r: NonNullable<Awaited<ReturnType<typeof observeInput>>> }> {
  const sink = new NoteSink();
  const r = await observeInput(input, { notes: sink });
  const notes = sink.list();
  assert.ok(r, `${input.name} is read as evidence`);
  return { obs: r.observations, notes, r };
}

const utf16 = (s: string, bom = true): Buffer => Buffer.concat([bom ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(s, 'utf16le')]);

const bot = (r: ScanResult): Finding => {
  const f = r.findings.filter((x) => x.consumer?.name === 'BotConsumer23');
  assert.equal(f.length, 1);
  return f[0]!;
};

test('autorunsc CSV (UTF-16LE, BOM): recognized by its header; the WMI entry is a present consumer, the other rows are counted', async () => {
  assert.deepEqual(classify(readFileSync(CSV).subarray(0, 65536)), { adapter: 'autoruns' });
  const { obs, notes, r } = await observe(fileInput(CSV));
  assert.deepEqual(notes, []);
  assert.deepEqual(
    obs.map((o) => [o.source, o.action, o.part, o.namespace, o.className, o.name, o.time, o.location]),
    [['autoruns', 'present', 'consumer', null, 'CommandLineEventConsumer', 'BotConsumer23', null, 'line 5']],
  );
  // the consumer's one property Autoruns shows; its own columns are meta
  assert.deepEqual(obs[0]!.properties, { CommandLineTemplate: 'c:\\Windows\\System32\\cmd.exe' });
  const d = obs[0]!.meta;
  assert.deepEqual(
    [obs[0]!.properties['CommandLineTemplate'], d['Launch String'], d['Image Path'], d['Description'], d['SHA-256'], d['ConsumerClassInferred']],
    ['c:\\Windows\\System32\\cmd.exe', 'c:\\Windows\\System32\\cmd.exe', 'c:\\windows\\system32\\cmd.exe', 'Windows Command Processor', '17F746D82695FA9B35493B41859D39D786D32B23A9D2E00F4011DEC7A02402AE', true],
  );
  assert.deepEqual(r.items.map((i) => [i.kind, i.host, i.records, i.detail]), [['autoruns', '', 4, 'autorunsc CSV: 4 rows, 1 WMI entry']]);
});

test('autorunsc and the Sysmon log of the same host: one subscription; Autoruns shows the consumer only, so its severity needs the filter from elsewhere', async () => {
  const fromLog = bot(await scan([SYSMON], {}));
  const alone = bot(await scan([CSV], { host: 'IEWIN7' }));
  assert.deepEqual([alone.consumer?.className, alone.consumer?.name, alone.summary, alone.filter, alone.status], ['CommandLineEventConsumer', 'BotConsumer23', fromLog.summary, null, 'active']);
  assert.deepEqual(alone.reasons.map((x) => x.id), ['consumer-exec', 'payload-lolbin']);
  const both = bot(await scan([SYSMON, CSV], { host: 'IEWIN7' }));
  assert.deepEqual([both.filter?.name, both.namespace, both.consumer?.values['CommandLineTemplate'], both.severity], ['BotFilter82', 'ROOT\\subscription', 'c:\\Windows\\System32\\cmd.exe', fromLog.severity]);
  assert.ok(both.observations.some((o) => o.source === 'autoruns'));
  assert.deepEqual(both.coverage.find((c) => c.source === 'Autoruns (WMI entries)'), { source: 'Autoruns (WMI entries)', saw: true, reason: null });
  assert.ok((await scan([CSV], {})).evidence.some((e) => e.kind === 'autoruns' && e.records === 4));
});

test('variants: UTF-8, BOM-less UTF-16LE, -ct tabs, the banner before the header', async () => {
  const tsv = text
    .split('\r\n')
    .map((l) => l.replace(/"([^"]*)"|,/g, (_m, q: string | undefined) => (q !== undefined ? q : '\t')))
    .join('\r\n');
  const banner = `\r\nAutorunsc - Autostart program viewer\r\nSysinternals - www.sysinternals.com\r\n\r\n${text}`;
  for (const [name, data] of [
    ['utf8.csv', Buffer.from(text)],
    ['bomless.csv', utf16(text, false)],
    ['tabs.tsv', utf16(tsv)],
    ['banner.csv', utf16(banner)],
  ] as const) {
    assert.equal(detectAdapter(headText(data.subarray(0, 65536)))?.format, 'autoruns', name);
    const { obs, notes, r } = await observe(bufferInput(name, data));
    assert.deepEqual(obs.map((o) => [o.className, o.name, o.properties['CommandLineTemplate']]), [['CommandLineEventConsumer', 'BotConsumer23', 'c:\\Windows\\System32\\cmd.exe']], name);
    assert.deepEqual(notes, [], name);
    assert.equal(r.items[0]!.records, 4, name);
  }
});

test('hunt CSV columns (Velociraptor download): each client its host', async () => {
  const lines = text.trim().split('\r\n');
  const rows = [lines[0] + ',FlowId,ClientId,Fqdn', ...lines.slice(1).map((l) => `${l},F.1,C.aaaaaaaaaaaaaaaa,IEWIN7`), ...lines.slice(1).map((l) => `${l},F.1,C.bbbbbbbbbbbbbbbb,`)];
  const { obs, r } = await observe(bufferInput('hunt.csv', Buffer.from(rows.join('\n'))));
  assert.deepEqual(obs.map((o) => [o.host, o.name, o.location]), [
    ['IEWIN7 (C.aaaaaaaaaaaaaaaa)', 'BotConsumer23', 'line 5, client C.aaaaaaaaaaaaaaaa flow F.1'],
    ['C.bbbbbbbbbbbbbbbb', 'BotConsumer23', 'line 9, client C.bbbbbbbbbbbbbbbb flow F.1'],
  ]);
  // the collection's bookkeeping is where the row came from, not a property of the consumer: in the location only
  for (const o of obs) for (const k of [...Object.keys(o.properties), ...Object.keys(o.meta)]) assert.ok(!/^(clientid|flowid|fqdn|_orgid|_source)$/i.test(k), `${k} in the observation`);
  assert.deepEqual([obs[0]!.properties, obs[0]!.meta], [{ ...obs[1]!.properties }, { ...obs[1]!.meta }]);
  assert.deepEqual(r.items.map((i) => [i.host, i.records]), [
    ['IEWIN7 (C.aaaaaaaaaaaaaaaa)', 4],
    ['C.bbbbbbbbbbbbbbbb', 4],
  ]);
});

test('rows that carry a WMI object path, script consumers, class-only entries, -t times', async () => {
  const header = 'Time,Entry Location,Entry,Enabled,Category,Profile,Description,Company,Image Path,Version,Launch String';
  const rows = [
    header,
    // the Autoruns 14.07 view in the Velociraptor blog: entry text = class, the object path names the consumer
    '20220117-031901,"WMI Database Entries","CommandLineEventConsumer",enabled,"WMI",System-wide,"","","c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",,"\\\\RE-DEV\\ROOT\\DEFAULT:CommandLineEventConsumer.Name=""EvilDefault2"""',
    // the WMIGhost consumer of wmighost_sysmon_20_21_1.evtx: its script is stored in the repository
    ',"WMI Database Entries","ProbeScriptFint",enabled,"WMI",System-wide,,,,,"Script embedded in WMI database"',
    ',"WMI Database Entries - run as Administrator for complete scan","ScriptFile",enabled,"WMI",System-wide,,,,,"C:\\WMItotallylegit.vbs"',
    // a class with no object path: not joinable
    ',"WMI Database Entries","ActiveScriptEventConsumer",enabled,"WMI",System-wide,,,,,""',
    ',"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run","OneDrive",enabled,"Logon",System-wide,,,,,"x.exe"',
    ',"broken "quote,"x",enabled',
  ];
  const { obs, notes, r } = await observe(bufferInput('paths.csv', Buffer.from(rows.join('\n'))));
  assert.deepEqual(obs.map((o) => [o.namespace, o.className, o.name, o.properties['ScriptFileName'] ?? o.properties['CommandLineTemplate'] ?? null, o.meta['ScriptEmbedded'] ?? null]), [
    ['ROOT\\DEFAULT', 'CommandLineEventConsumer', 'EvilDefault2', null, null],
    [null, 'ActiveScriptEventConsumer', 'ProbeScriptFint', null, true],
    [null, 'ActiveScriptEventConsumer', 'ScriptFile', 'C:\\WMItotallylegit.vbs', null],
  ]);
  assert.deepEqual(notes.map((n) => n.message), ['1 WMI row(s) name a consumer class but no consumer name (no WMI object path in the row); not joinable, left out']);
  assert.deepEqual([r.items[0]!.records, r.items[0]!.first], [6, '2022-01-17T03:19:01Z']);
  assert.deepEqual(wmiPathIn('\\\\.\\root\\subscription:ActiveScriptEventConsumer.Name="a \\"b\\""'), { namespace: 'ROOT\\subscription', className: 'ActiveScriptEventConsumer', name: 'a "b"' });
  assert.equal(autorunsTime('7/21/2019 5:23 PM'), null);
});

// Fails by its timeout when a quadratic (or worse) pattern comes back. A regular expression runs synchronously and
// holds the timer until it returns, so the test ends by waiting on a timer: work that overran the timeout then fails
// the test (without that wait node:test would let it pass). No wall-clock time is asserted.
test('long cells are searched for a WMI object path in linear time', { timeout: 20000 }, async () => {
  const header = 'Time,Entry Location,Entry,Enabled,Category,Profile,Description,Company,Image Path,Version,Launch String';
  const q = (v: string): string => `"${v.replace(/"/g, '""')}"`;
  const row = (entry: string, description: string, launch: string): string => `,"WMI Database Entries",${q(entry)},enabled,"WMI",System-wide,${q(description)},,,,${q(launch)}`;
  const rows = [
    header,
    // quadratic for an unguarded /([A-Za-z_]\w*)\.Name="/ (an 80 KB cell took 4.6 s, and a row is searched 5 times)
    row('long1', 'd'.repeat(200000), 'c'.repeat(200000)),
    // many `\\host\` and `root\` starts that end in no colon before the class: no namespace
    row('CommandLineEventConsumer', '', '\\\\a'.repeat(60000) + '" CommandLineEventConsumer.Name="x1"'),
    row('CommandLineEventConsumer', '', 'root\\'.repeat(40000) + ':CommandLineEventConsumer.Name="x2"'),
    // a value left open at a line break, then a closed one; many colons before the class
    row('CommandLineEventConsumer', '', 'A.Name="\\\n'.repeat(20000) + 'a:'.repeat(100000) + 'root\\sub:CommandLineEventConsumer.Name="x3"'),
    // a namespace prefix that holds: from the first `\\` to the colon
    row('ActiveScriptEventConsumer', '', '\\\\h'.repeat(40000) + '\\ns:ActiveScriptEventConsumer.Name="x4"'),
  ];
  const { obs, notes } = await observe(bufferInput('long.csv', Buffer.from(rows.join('\r\n'))));
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.deepEqual(notes, []);
  assert.deepEqual(
    obs.map((o) => [o.namespace === null ? null : o.namespace.slice(0, 12), o.className, o.name, String(o.properties['CommandLineTemplate'] ?? '').length]),
    [
      [null, 'CommandLineEventConsumer', 'long1', 200000],
      [null, 'CommandLineEventConsumer', 'x1', 0],
      [null, 'CommandLineEventConsumer', 'x2', 0],
      ['ROOT\\sub', 'CommandLineEventConsumer', 'x3', 0],
      ['h\\'.repeat(6), 'ActiveScriptEventConsumer', 'x4', 0], // normalized: one backslash each
    ],
  );
  // the same reading on short text
  assert.deepEqual(wmiPathIn('12ab.Name="x" :C.Name="y"'), { namespace: null, className: 'ab', name: 'x' });
  assert.deepEqual(wmiPathIn('root\\a\\:C.Name="y"'), { namespace: null, className: 'C', name: 'y' });
  assert.deepEqual(wmiPathIn('x\\\\\\HOST\\root\\sub:C.Name="y"'), { namespace: 'ROOT\\sub', className: 'C', name: 'y' });
  assert.deepEqual(wmiPathIn('A.Name="open\\\nB.Name="z"'), { namespace: null, className: 'B', name: 'z' });
});

test('not claimed: other CSV, JSON, text; a __proto__ header pollutes nothing; an empty file after the header is fine', async () => {
  for (const t of ['Time,Entry,Value\n1,2,3\n', 'Entry Location,Entry\n', '{"Entry Location":"x","Entry":"y","Category":"WMI","Launch String":"z"}', 'hello world']) assert.equal(autorunsAdapter.detect(t), false, t);
  const header = 'Time,Entry Location,Entry,Enabled,Category,Profile,Description,__proto__,Image Path,Version,Launch String';
  const { obs } = await observe(bufferInput('p.csv', Buffer.from(`${header}\n,"WMI Database Entries","X",enabled,"WMI",System-wide,,"{""polluted"":1}",,,"cmd.exe"\n`)));
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.deepEqual(obs.map((o) => o.name), ['X']);
  // a file cut inside a quoted cell: the rows before it are read, one note says what was lost
  const lines = text.trim().split('\r\n');
  const cut = await observe(bufferInput('cut.csv', Buffer.from([...lines, ',"WMI Database Entries","Cut",enabled,"WMI",System-wide,"Windows Comm'].join('\r\n'))));
  assert.deepEqual(cut.obs.map((o) => o.name), ['BotConsumer23']);
  assert.deepEqual(cut.notes.map((n) => [n.level, n.message]), [['warning', 'unreadable CSV record skipped (Quote Not Closed: the parsing is finished with an opening quote at line 6)']]);
  const empty = await observe(bufferInput('e.csv', Buffer.from(header + '\r\n')));
  assert.deepEqual([empty.obs, empty.r.items], [[], []]);
});

test('mutated CSV never throws: every damage is a note', async () => {
  const edit = fc.tuple(fc.nat(), fc.nat(30), fc.constantFrom('', '"', ',', '\t', '\r\n', '""', 'WMI', '\u0000', '__proto__'));
  await fc.assert(
    fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), fc.boolean(), async (edits, wide) => {
      let t = text;
      for (const [at, del, ins] of edits) {
        const p = at % (t.length + 1);
        t = t.slice(0, p) + ins + t.slice(p + del);
      }
      await autorunsAdapter.observe(bufferInput('m.csv', wide ? utf16(t) : Buffer.from(t)), { notes: new NoteSink() });
    }),
    { numRuns: 300, seed: 20260822 },
  );
});
