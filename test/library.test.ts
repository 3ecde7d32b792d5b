/**
 * The package as a library (issue 14): the JSON Schema is exported (`wmiscope/schema/finding.schema.json`), the
 * README's Library section compiles against the real declarations, `record.data(name)` reads EventData/UserData
 * fields, and `npm ci` runs no dependency install script.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
// self-reference: the package's own name resolves through its `exports`, as it does for a user of the package
import { EvtxReader } from 'wmiscope/evtx';
import { repoRoot, evtxSample, skipReason } from './support/samples.js';

const ROOT = repoRoot();
const SYSMON_EVTX = join(ROOT, 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const WMI_5858 = evtxSample('sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx');

test('schema: exported as wmiscope/schema/finding.schema.json (resolved through the package name, import and require) and the same file as schema/', async () => {
  const require = createRequire(import.meta.url);
  const viaRequire = require.resolve('wmiscope/schema/finding.schema.json');
  const viaImport = fileURLToPath(import.meta.resolve('wmiscope/schema/finding.schema.json'));
  assert.equal(viaRequire, join(ROOT, 'schema/finding.schema.json'));
  assert.equal(viaImport, viaRequire);
  const mod = (await import('wmiscope/schema/finding.schema.json', { with: { type: 'json' } })) as { default: { $id: string; $defs: Record<string, unknown> } };
  assert.deepEqual(mod.default, JSON.parse(readFileSync(join(ROOT, 'schema/finding.schema.json'), 'utf8')));
  assert.ok(mod.default.$defs['Finding']);
  // every schema of the folder, the collector document's too
  assert.equal(require.resolve('wmiscope/schema/collector.schema.json'), join(ROOT, 'schema/collector.schema.json'));
  // shipped: `files` lists the folder
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes('schema'));
});

/** The ```ts blocks of the README's `## Library` section. */
function librarySnippets(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Library\n');
  assert.ok(start >= 0, 'README has a Library section');
  const end = readme.indexOf('\n## ', start + 5);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Type errors of TypeScript snippets compiled as files inside the package (so `wmiscope/…` resolves to the package itself), in memory. */
function typeErrors(snippets: string[]): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  };
  const files = new Map(snippets.map((text, i) => [join(ROOT, 'test', `readme-library-${i}.ts`), `export {};\n${text}`]));
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const getSource = host.getSourceFile.bind(host);
  host.readFile = (f) => files.get(f) ?? read(f);
  host.fileExists = (f) => files.has(f) || exists(f);
  host.getSourceFile = (f, lang, onError, create) => (files.has(f) ? ts.createSourceFile(f, files.get(f)!, lang, true) : getSource(f, lang, onError, create));
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
    return `${d.file ? d.file.fileName.split('/').pop() : ''}${where ? `:${where.line}:${where.character + 1}` : ''} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

test('README: every code block of the Library section type-checks against the package (strict, through its exports)', () => {
  const snippets = librarySnippets();
  assert.ok(snippets.length >= 5, `${snippets.length} snippets`);
  // the check sees a wrong signature: renderFileChunks is an async generator, not a promise of an array
  const wrong = typeErrors([`import { renderFileChunks } from 'wmiscope/evtx';\nconst chunks = await renderFileChunks('a.evtx', { threads: 2, format: 'jsonl' });\nchunks.length;\n`]);
  assert.equal(wrong.length, 1, wrong.join('\n'));
  assert.match(wrong[0]!, /length/);
  assert.deepEqual(typeErrors(snippets), []);
});

test('record.data(name): EventData values of real Sysmon records, typed as toJSON gives them', () => {
  const reader = EvtxReader.open(SYSMON_EVTX);
  try {
    const byId = new Map([...reader.records({ recovered: false })].map((r) => [r.eventRecordId, r]));
    const proc = byId.get(16116)!; // Sysmon 1: the cmd.exe the consumer ran
    assert.equal(proc.data('CommandLine'), 'c:\\Windows\\System32\\cmd.exe');
    assert.equal(proc.data('ProcessId'), 2544); // UInt32: a number, as in toJSON
    assert.equal(proc.data('TerminalSessionId'), 0);
    assert.equal(proc.data('RuleName'), null); // present and empty
    assert.equal(proc.data('NoSuchField'), undefined);
    assert.equal(proc.data('commandline'), 'c:\\Windows\\System32\\cmd.exe'); // one field by that name, any case
    assert.equal(proc.data('#attributes'), undefined);
    const consumer = byId.get(16111)!; // Sysmon 20
    assert.equal(consumer.data('Name'), ' "BotConsumer23"'); // as Sysmon wrote it, leading space included
    assert.equal(consumer.data('Destination'), ' "c:\\\\Windows\\\\System32\\\\cmd.exe"');
    assert.equal(consumer.data('UtcTime'), '2019-05-11 17:58:23.340');
    const binding = byId.get(16112)!; // Sysmon 21
    assert.match(String(binding.data('Consumer')), /BotConsumer23/);
    // the same values toJSON renders
    const ed = (proc.toJSON()['Event'] as { EventData: Record<string, unknown> }).EventData;
    for (const k of Object.keys(ed)) assert.deepEqual(proc.data(k), ed[k], k);
  } finally {
    reader.close();
  }
});

test('record.data(name): a UserData event (WMI-Activity 5858) is read under its one element', { skip: skipReason }, () => {
  const reader = EvtxReader.open(WMI_5858);
  try {
    const rec = [...reader.records({ recovered: false })].find((r) => r.eventId === 5858);
    assert.ok(rec);
    assert.equal(rec.data('ClientMachine'), 'SWACHCHHANDA');
    assert.equal(rec.data('User'), 'swachchhanda\\xodih');
    assert.equal(rec.data('ClientProcessId'), 25920);
    assert.equal(rec.data('ResultCode'), '0x80041003');
    assert.match(String(rec.data('Operation')), /::cleareventlog$/);
    assert.equal(rec.data('xmlns'), undefined);
  } finally {
    reader.close();
  }
});

test('install: every dependency with an install script is decided in package.json allowScripts (npm ci prints no install-scripts warning)', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages)
    .filter(([p, v]) => p !== '' && v.hasInstallScript === true)
    .map(([p]) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length));
  assert.deepEqual(withScripts, ['tree-sitter-powershell']);
  for (const name of withScripts) assert.equal(typeof pkg.allowScripts?.[name], 'boolean', `${name} not in allowScripts`);
  // its native build is not needed: the test that parses PowerShell loads the WebAssembly grammar
  assert.equal(pkg.allowScripts?.['tree-sitter-powershell'], false);
  const collectorTest = readFileSync(join(ROOT, 'test/collector.test.ts'), 'utf8');
  assert.match(collectorTest, /tree-sitter-powershell\/tree-sitter-powershell\.wasm/);
});
