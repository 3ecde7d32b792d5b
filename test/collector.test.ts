/**
 * `wmiscope collector powershell` and the ingestion of what it writes.
 *
 * There is no Windows here, so the script is checked as text: it parses without error with the tree-sitter
 * PowerShell grammar (and a copy with a brace removed does not, so the check means something), it calls no
 * cmdlet or method that writes, its namespace walk is a queue fed from each namespace's `__NAMESPACE`
 * children, and it is ASCII. The output format is checked on documents derived from real data
 * (test/fixtures/collector/, made by test/support/make-collector-fixtures.ts): against the JSON Schema, through
 * the adapter, and end to end through `scan`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { Language, Parser } from 'web-tree-sitter';
import type { Node as SyntaxNode } from 'web-tree-sitter';
import { POWERSHELL_COLLECTOR } from '../src/collector/powershell.js';
import { COLLECTOR_FORMAT, COLLECTOR_VERSION } from '../src/collector/format.js';
import type { CollectorDocument } from '../src/collector/format.js';
import { scan } from '../src/scan.js';
import { observeInput } from '../src/sources/dispatch.js';
import { detectAdapter } from '../src/sources/formats/index.js';
import { bufferInput, fileInput, MAX_WHOLE_INPUT } from '../src/sources/input.js';
import type { EvidenceInput, ObserveResult } from '../src/sources/input.js';
import type { EvidenceNote, Finding, ScanResult } from '../src/model/types.js';
import { referenceTarget } from '../src/model/subscription.js';
import { repoRoot, skipReason } from './support/samples.js';
import { IEUSER_SID, IEWIN7_DOC, iewin7Document, NESTED_NAMESPACE, serialize, WIN10_DOC, WIN10_REPOSITORY, win10Document } from './support/make-collector-fixtures.js';
import { NoteSink } from '../src/sources/notes.js';

const require = createRequire(import.meta.url);
const cli = join(repoRoot(), 'dist/src/cli/main.js');
const win10Skip: string | false = skipReason || (existsSync(WIN10_REPOSITORY) ? false : `CIM sample not found at ${WIN10_REPOSITORY}`);

// ---- the script as PowerShell ---------------------------------------------------------------------------

await Parser.init();
const POWERSHELL = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));

function parse(text: string): SyntaxNode {
  const p = new Parser();
  p.setLanguage(POWERSHELL);
  const tree = p.parse(text);
  assert.ok(tree, 'parser returned a tree');
  return tree.rootNode;
}

function nodes(root: SyntaxNode, pred: (n: SyntaxNode) => boolean): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const walk = (n: SyntaxNode): void => {
    if (pred(n)) out.push(n);
    for (const c of n.children) if (c) walk(c);
  };
  walk(root);
  return out;
}

/** Syntax errors and missing tokens, with their line, or [] when the text parses cleanly. */
function problems(text: string): string[] {
  const root = parse(text);
  const bad = nodes(root, (n) => n.isError || n.isMissing).map((n) => `${n.isMissing ? 'missing' : 'error'} ${n.type} at line ${n.startPosition.row + 1}: ${JSON.stringify(n.text.slice(0, 60))}`);
  if (root.hasError && !bad.length) bad.push('tree has an error');
  return bad;
}

const SCRIPT = parse(POWERSHELL_COLLECTOR);

test('script: parses without error or missing token with the tree-sitter PowerShell grammar', () => {
  assert.deepEqual(problems(POWERSHELL_COLLECTOR), []);
});

test('script: the syntax check means something (a copy with a closing brace removed is flagged)', () => {
  // the end of the first function
  const i = POWERSHELL_COLLECTOR.indexOf('\n}\n');
  assert.ok(i > 0);
  const broken = POWERSHELL_COLLECTOR.slice(0, i) + '\n' + POWERSHELL_COLLECTOR.slice(i + 2);
  assert.notDeepEqual(problems(broken), []);
  // and an unclosed hashtable, an unclosed string
  assert.notDeepEqual(problems(POWERSHELL_COLLECTOR.replace("$queued = @{}", "$queued = @{")), []);
  assert.ok(POWERSHELL_COLLECTOR.includes("$pending += ,'ROOT'"));
  assert.notDeepEqual(problems(POWERSHELL_COLLECTOR.replace("$pending += ,'ROOT'", "$pending += ,'ROOT")), []);
});

test('script: ASCII only, no backtick, carries the format marker and the collector version', () => {
  assert.ok(!/[^\x00-\x7f]/.test(POWERSHELL_COLLECTOR), 'non-ASCII character');
  assert.ok(!POWERSHELL_COLLECTOR.includes('`'));
  assert.ok(POWERSHELL_COLLECTOR.includes(`$Format = '${COLLECTOR_FORMAT}'`));
  assert.ok(POWERSHELL_COLLECTOR.includes(`$CollectorVersion = '${COLLECTOR_VERSION}'`));
  assert.ok(POWERSHELL_COLLECTOR.startsWith('<#\n.SYNOPSIS'), 'comment-based help first');
});

test('script: no write verbs, no code execution, no network', () => {
  const banned = [
    /Set-WmiInstance/i, /Remove-WmiObject/i, /Remove-CimInstance/i, /New-CimInstance/i, /Set-CimInstance/i, /Invoke-WmiMethod/i, /Invoke-CimMethod/i,
    /\bRegister-\w+/i, /Invoke-Expression/i, /\biex\b/i, /Start-Process/i, /Invoke-WebRequest/i, /Invoke-RestMethod/i, /Net\.WebClient/i, /\bInvoke-\w+/i,
    /Import-Module/i, /Install-\w+/i, /\bmofcomp\b/i, /New-Item/i, /Remove-Item/i, /Set-Item/i, /\.Put\(/i, /\.Delete\(/i, /\.InvokeMethod\(/i, /DownloadString|DownloadFile/i,
    /System\.Management\b(?!\.Automation)/i, /\[wmi(class|searcher)?\]/i,
  ];
  for (const re of banned) assert.ok(!re.test(POWERSHELL_COLLECTOR), `script contains ${re}`);
});

test('script: every command it runs is its own function or a read-only cmdlet', () => {
  const own = new Set(nodes(SCRIPT, (n) => n.type === 'function_name').map((n) => n.text.toLowerCase()));
  const readOnly = new Set(['get-ciminstance', 'get-cimclass', 'get-command', 'test-path', 'where-object', 'sort-object', 'foreach-object', 'new-object', 'convertto-json', 'write-output', 'write-warning']);
  const commands = [...new Set(nodes(SCRIPT, (n) => n.type === 'command_name').map((n) => n.text.toLowerCase()))];
  assert.ok(commands.includes('get-ciminstance'));
  // the one writing cmdlet: Set-Content, for the -OutFile document outside FullLanguage
  const other = commands.filter((c) => !own.has(c) && !readOnly.has(c));
  assert.deepEqual(other, ['set-content']);
  const setContent = nodes(SCRIPT, (n) => n.type === 'command' && /^Set-Content\b/i.test(n.text));
  assert.deepEqual(setContent.map((n) => n.text), ['Set-Content -LiteralPath $target -Value $json -Encoding Ascii']);
  assert.ok(insideOutFileBranch(setContent[0]!), 'Set-Content only under if ($OutFile)');
  // New-Object only builds the principal check and the file encoding, both in FullLanguage only
  const made = nodes(SCRIPT, (n) => n.type === 'command' && /^New-Object\b/i.test(n.text)).map((n) => n.text.split(/\s+/)[1]);
  assert.deepEqual([...new Set(made)].sort(), ['System.Security.Principal.WindowsPrincipal', 'System.Text.UTF8Encoding']);
  // the one write: the -OutFile document, only when asked for
  const writes = nodes(SCRIPT, (n) => n.type === 'invokation_expression' && /Write|Create|Delete|Move|Copy|Append/i.test(n.text.split('(')[0] ?? '')).map((n) => n.text.split('(')[0]);
  assert.deepEqual(writes, ['[Console]::Error.WriteLine', '[System.IO.File]::WriteAllText']);
  assert.ok(insideOutFileBranch(nodes(SCRIPT, (n) => n.type === 'invokation_expression' && n.text.startsWith('[System.IO.File]::WriteAllText'))[0]!));
});

test('script: the namespace walk reaches every depth (a queue fed with each namespace\'s __NAMESPACE children, from ROOT)', () => {
  // the queue is an array and the index of the next namespace to read (Constrained Language Mode has no Queue)
  const loops = nodes(SCRIPT, (n) => n.type === 'while_statement' && n.text.startsWith('while ($next -lt $pending.Count)'));
  assert.equal(loops.length, 1, 'one queue-draining loop');
  const loop = loops[0]!.text;
  // in the loop: take a namespace, list its children, queue each child under it, query the subscription classes in it
  assert.match(loop, /\$namespace = \[string\]\$pending\[\$next\]\s*\n\s*\$next \+= 1\n/);
  assert.match(loop, /Get-CimInstance -Namespace \$namespace -ClassName __NAMESPACE/);
  assert.match(loop, /\$child = \$namespace \+ '\\' \+ \$name/);
  assert.match(loop, /\$pending \+= ,\$child/);
  assert.match(loop, /Get-CimInstance -Namespace \$namespace -Query \('SELECT \* FROM ' \+ \$query\.ClassName\)/);
  // a failed namespace is recorded and the walk goes on
  assert.match(loop, /catch \{\s*\$errors \+= ,\(New-ErrorEntry -Query '__NAMESPACE'/);
  // the walk starts at ROOT itself, which is read like any other namespace
  const before = POWERSHELL_COLLECTOR.slice(0, POWERSHELL_COLLECTOR.indexOf(loops[0]!.text));
  assert.match(before, /\$pending = @\(\)\s*\n\$next = 0\s*\n\$queued = @\{\}\s*\n\$pending \+= ,'ROOT'\s*\n\$queued\['ROOT'\] = \$true\s*\n\s*$/);
  // every subscription class is queried (consumers through the abstract base class: all subclasses)
  for (const cls of ['__EventFilter', '__EventConsumer', '__FilterToConsumerBinding', '__TimerInstruction']) assert.ok(POWERSHELL_COLLECTOR.includes(`ClassName = '${cls}'`), cls);
});

test('script: arrays are returned whole, CreatorSID becomes a SID string, output is ASCII JSON in UTF-8 without BOM', () => {
  assert.match(POWERSHELL_COLLECTOR, /return ,\$items\n/);
  assert.match(POWERSHELL_COLLECTOR, /\$sid = ConvertTo-SidString -Bytes \$set\.PropertyValues\['CreatorSID'\]/);
  assert.match(POWERSHELL_COLLECTOR, /ConvertTo-Json -InputObject \$document -Depth 64 -Compress/);
  assert.match(POWERSHELL_COLLECTOR, /\[regex\]::Matches\(\$json, '\[\^\\u0000-\\u007F\]'\)/);
  assert.match(POWERSHELL_COLLECTOR, /\$json = \$json\.Replace\(\$escapes\[\$code\], \('\\u\{0:x4\}' -f \$code\)\)/);
  assert.match(POWERSHELL_COLLECTOR, /New-Object System\.Text\.UTF8Encoding -ArgumentList \$false/);
  // host.languageMode is written
  assert.match(POWERSHELL_COLLECTOR, /languageMode = \$LanguageMode\n/);
  assert.match(POWERSHELL_COLLECTOR, /\$LanguageMode = \[string\]\$ExecutionContext\.SessionState\.LanguageMode\n\$FullLanguage = \(\$LanguageMode -eq 'FullLanguage'\)\n/);
});

/** Inside the block run when `if (<condition>)` holds (not its elseif/else). */
function insideIf(n: SyntaxNode, condition: string): boolean {
  for (let p = n.parent; p; p = p.parent) {
    const owner = p.parent;
    if (p.type !== 'statement_block' || owner?.type !== 'if_statement') continue;
    const open = owner.children.findIndex((c) => c?.type === '(');
    if (owner.children[open + 1]?.text.trim() === condition) return true;
  }
  return false;
}

const insideOutFileBranch = (n: SyntaxNode): boolean => insideIf(n, '$OutFile');

// ---- Constrained Language Mode ---------------------------------------------------------------------------
//
// What PowerShell allows in ConstrainedLanguage, read from its public source (the commit and files are in the
// fixture): only "core types" (CoreTypes in TypeResolver.cs: the listed types, any enum, Nullable<>, arrays of
// core types) may be converted to, created (New-Object) or have methods called on them (static calls: the type
// itself; instance calls: the object's type), except ToString on anything; properties may be read on anything,
// set only on core types; no Add-Type, no COM, no classes. The script keeps everything else inside
// `if ($FullLanguage) { … }` blocks, whose fallbacks are core-only.

interface CoreTypeEntry {
  typeof: string;
  fullName: string;
  accelerators: string[];
  windowsOnly?: boolean;
}
const CLM = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/collector/clm-core-types.json'), 'utf8')) as {
  source: { repository: string; commit: string; coreTypes: string; methodInvocation: string };
  coreTypes: CoreTypeEntry[];
};

/** The enums the script names: CoreTypes.Contains allows every enum. */
const SCRIPT_ENUMS = ['Microsoft.Management.Infrastructure.CimFlags', 'System.Security.Principal.WindowsBuiltInRole'];

/** The full name of the core type a type name of the script resolves to (as PowerShell resolves it: accelerator, full name, or `System.` + name), or null. */
function coreType(name: string): string | null {
  let n = name.replace(/\s+/g, '').toLowerCase();
  while (n.endsWith('[]')) n = n.slice(0, -2); // an array of a core type is core
  if (n.includes('[') || n.includes(',')) return null; // a generic: only Nullable<> and FlagsExpression<> are core, and the script uses neither
  for (const t of CLM.coreTypes) {
    const full = t.fullName.toLowerCase();
    if (full === n || full === `system.${n}` || t.accelerators.some((a) => a.toLowerCase() === n)) return t.fullName;
  }
  return SCRIPT_ENUMS.find((e) => e.toLowerCase() === n || e.toLowerCase() === `system.${n}`) ?? null;
}

/**
 * The instance method calls of the script outside FullLanguage blocks, each with the core type of the object it is
 * called on and why that type is known. A new call must be added here with its type, so the test names it.
 */
const INSTANCE_CALLS: Record<string, { type: string; why: string }> = {
  '$Span.Duration': { type: 'timespan', why: 'param([timespan]$Span)' },
  "([string]$fraction).PadLeft": { type: 'string', why: 'a [string] cast' },
  "([string]$fraction).PadLeft(7, '0').TrimEnd": { type: 'string', why: 'String.PadLeft returns a string' },
  '([string]$Value).Replace': { type: 'string', why: 'a [string] cast' },
  "([string]$Value).Replace('\\', '\\\\').Replace": { type: 'string', why: 'String.Replace returns a string' },
  '$Value.ToUniversalTime': { type: 'datetime', why: 'inside if ($Value -is [datetime])' },
  '$CimType.EndsWith': { type: 'string', why: 'param([string]$CimType)' },
  '$CimType.Substring': { type: 'string', why: 'param([string]$CimType)' },
  '$DerivationCache.ContainsKey': { type: 'hashtable', why: '$DerivationCache = @{}' },
  '$set.PropertyValues.Contains': { type: 'ordered', why: 'ConvertTo-PropertySet returns PropertyValues = [ordered]@{}' },
  '$queued.ContainsKey': { type: 'hashtable', why: '$queued = @{}' },
  '$escapes.ContainsKey': { type: 'hashtable', why: '$escapes = @{}' },
  '$json.Replace': { type: 'string', why: 'ConvertTo-Json writes a string' },
};

/** Every construct of a script that Constrained Language Mode refuses, outside `if ($FullLanguage)` blocks, with its line; [] when none. */
function clmViolations(text: string): string[] {
  const root = parse(text);
  const out: string[] = [];
  const at = (n: SyntaxNode): string => `line ${n.startPosition.row + 1}: ${JSON.stringify(n.text.slice(0, 80))}`;
  const open = (n: SyntaxNode): boolean => !insideIf(n, '$FullLanguage');
  // every type the script names (casts, -is, static calls and properties, parameter types, attributes)
  for (const n of nodes(root, (x) => (x.type === 'type_literal' || x.type === 'attribute_name') && open(x))) {
    const spec = n.type === 'type_literal' ? (n.children.find((c) => c?.type === 'type_spec')?.text ?? n.text) : n.text;
    if (!coreType(spec)) out.push(`type [${spec}] is not a core type (${at(n)})`);
  }
  // every method call: ToString on anything; a static call on a core type (its type literal is checked above);
  // an instance call only when declared above with a core type
  for (const n of nodes(root, (x) => x.type === 'invokation_expression' && open(x))) {
    const args = n.children.find((c) => c?.type === 'argument_list');
    if (!args) continue;
    const callee = n.text.slice(0, args.startIndex - n.startIndex);
    const method = n.children.filter((c) => c?.type === 'member_name').pop()?.text ?? '';
    if (method.toLowerCase() === 'tostring') continue;
    if (n.children[0]?.type === 'type_literal') continue;
    const declared = INSTANCE_CALLS[callee];
    if (!declared) out.push(`method call ${callee}() on an object of undeclared type (${at(n)})`);
    else if (!coreType(declared.type)) out.push(`method call ${callee}() on [${declared.type}], not a core type (${at(n)})`);
  }
  // property assignments ($x.Name = …): only on core types; the script makes none outside FullLanguage blocks
  for (const n of nodes(root, (x) => x.type === 'assignment_expression' && open(x))) {
    const left = n.children[0];
    if (left && /\.\s*[A-Za-z_]\w*\s*$/.test(left.text)) out.push(`property set ${left.text} (${at(n)})`);
  }
  // commands: New-Object of core types only and no COM; no Add-Type
  for (const n of nodes(root, (x) => x.type === 'command' && open(x))) {
    const name = n.children.find((c) => c?.type === 'command_name')?.text.toLowerCase() ?? '';
    if (name === 'add-type') out.push(`Add-Type (${at(n)})`);
    if (name !== 'new-object') continue;
    if (/-Com/i.test(n.text)) out.push(`New-Object -ComObject (${at(n)})`);
    const words = n.text.split(/\s+/).slice(1);
    const i = words.findIndex((w) => /^-TypeName$/i.test(w));
    const type = i >= 0 ? words[i + 1] : words.find((w) => !w.startsWith('-'));
    if (!type || !coreType(type)) out.push(`New-Object ${type ?? '?'} is not a core type (${at(n)})`);
  }
  // no classes (ClassesNotAllowedInConstrainedLanguage, Parser.cs)
  for (const n of nodes(root, (x) => x.type === 'class_statement')) out.push(`class (${at(n)})`);
  return out;
}

test('CLM: the core-type list is the one read from PowerShell\'s source at the recorded commit', () => {
  assert.equal(CLM.source.repository, 'PowerShell/PowerShell');
  assert.match(CLM.source.commit, /^[0-9a-f]{40}$/);
  assert.match(CLM.source.coreTypes, /^src\/System\.Management\.Automation\/engine\/parser\/TypeResolver\.cs/);
  assert.equal(CLM.coreTypes.length, 87);
  // what the script relies on is there; what it keeps in FullLanguage blocks is not
  for (const t of ['string', 'byte[]', 'int64', 'uint64', 'double', 'datetime', 'timespan', 'regex', 'ordered', 'hashtable', 'System.Globalization.CultureInfo', 'Microsoft.Management.Infrastructure.CimInstance', 'CmdletBinding', 'ValidateRange', 'switch']) assert.ok(coreType(t), t);
  for (const t of ['System.Collections.Generic.List[object]', 'System.Collections.Queue', 'System.Security.Principal.SecurityIdentifier', 'System.Security.Principal.WindowsPrincipal', 'System.Security.Principal.WindowsIdentity', 'System.Net.NetworkInformation.IPGlobalProperties', 'System.IO.File', 'System.Text.UTF8Encoding', 'System.Xml.XmlConvert', 'System.Convert', 'Console', 'System.Environment', 'System.ValueType', 'System.Text.RegularExpressions.MatchEvaluator']) assert.equal(coreType(t), null, t);
  for (const { type } of Object.values(INSTANCE_CALLS)) assert.ok(coreType(type), type);
});

test('CLM: outside `if ($FullLanguage)` blocks the script uses only core types, their methods, ToString, and no New-Object of other types, Add-Type or COM', () => {
  assert.deepEqual(clmViolations(POWERSHELL_COLLECTOR), []);
  // every declared instance call is still in the script (no stale entries)
  const callees = new Set(nodes(SCRIPT, (n) => n.type === 'invokation_expression').map((n) => {
    const args = n.children.find((c) => c?.type === 'argument_list');
    return args ? n.text.slice(0, args.startIndex - n.startIndex) : '';
  }));
  for (const k of Object.keys(INSTANCE_CALLS)) assert.ok(callees.has(k), `declared but not called: ${k}`);
});

test('CLM: what needs FullLanguage is inside `if ($FullLanguage)` blocks, each with a fallback, and the mode goes into the document', () => {
  const guardedTypes = [...new Set(nodes(SCRIPT, (n) => n.type === 'type_literal' && insideIf(n, '$FullLanguage')).map((n) => n.text))].filter((t) => !coreType(t.slice(1, -1))).sort();
  assert.deepEqual(guardedTypes, [
    '[Console]',
    '[System.Environment]',
    '[System.IO.File]',
    '[System.Net.NetworkInformation.IPGlobalProperties]',
    '[System.Security.Principal.WindowsIdentity]',
  ]);
  const guardedNew = nodes(SCRIPT, (n) => n.type === 'command' && /^New-Object\b/i.test(n.text) && insideIf(n, '$FullLanguage')).map((n) => n.text.split(/\s+/)[1]);
  assert.deepEqual(guardedNew, ['System.Security.Principal.WindowsPrincipal', 'System.Text.UTF8Encoding']);
  // the FullLanguage blocks and what runs instead
  const blocks = nodes(SCRIPT, (n) => n.type === 'if_statement' && /^if \(\$FullLanguage\)/.test(n.text));
  assert.equal(blocks.length, 6);
  const fallbacks = blocks.map((b) => b.children.find((c) => c?.type === 'else_clause' || c?.type === 'elseif_clauses')?.text.split('\n')[0] ?? null);
  assert.deepEqual(fallbacks, [
    'elseif ($OutFile) {', // notes: warnings when the JSON goes to a file, else none (the document says it all)
    'else {', // elevation: unknown (null), said in a note
    'else {', // the DNS domain: Win32_ComputerSystem
    null, // the OS version: left null (Win32_OperatingSystem gives it)
    null, // the -OutFile path: as given (Test-Path and Set-Content resolve it against PowerShell's location)
    'else {', // the -OutFile write: Set-Content
  ]);
  assert.match(POWERSHELL_COLLECTOR, /\} else \{\n\s*try \{\n\s*\$computer = Get-CimInstance -ClassName Win32_ComputerSystem/);
  assert.match(POWERSHELL_COLLECTOR, /\} else \{\n\s*# the JSON is ASCII[^\n]*\n\s*Set-Content -LiteralPath \$target -Value \$json -Encoding Ascii/);
});

test('CLM: the check means something (a mutated script using a forbidden type, call, New-Object or Add-Type fails; the same inside a FullLanguage block passes)', () => {
  const at = POWERSHELL_COLLECTOR.indexOf("$ErrorActionPreference = 'Stop'");
  const inject = (line: string): string => POWERSHELL_COLLECTOR.slice(0, at) + line + '\n' + POWERSHELL_COLLECTOR.slice(at);
  const cases: Array<[string, RegExp]> = [
    ['$tmp = [System.IO.Path]::GetTempPath()', /type \[System\.IO\.Path\] is not a core type/],
    ['$list = New-Object System.Collections.ArrayList', /New-Object System\.Collections\.ArrayList is not a core type/],
    ['$list = New-Object -TypeName System.Collections.Generic.List[string]', /New-Object System\.Collections\.Generic\.List\[string\] is not a core type/],
    ['$shell = New-Object -ComObject WScript.Shell', /New-Object -ComObject/],
    ['Add-Type -AssemblyName System.Web', /Add-Type/],
    ['$n = $PSVersionTable.Count.CompareTo(1)', /undeclared type/],
    ['$q = [System.Collections.Queue]$x', /type \[System\.Collections\.Queue\]/],
    ['$ExecutionContext.SessionState.LanguageMode = 0', /property set/],
    ['class Probe { }', /class/],
  ];
  for (const [line, re] of cases) {
    const v = clmViolations(inject(line));
    assert.equal(v.length >= 1, true, line);
    assert.match(v.join('\n'), re, line);
    // the same inside a FullLanguage block is allowed (classes excepted: CLM refuses them at parse time)
    if (!line.startsWith('class')) assert.deepEqual(clmViolations(inject(`if ($FullLanguage) {\n    ${line}\n}`)), [], `guarded: ${line}`);
  }
  // the collector as it was before (a SecurityIdentifier for CreatorSID, a Queue for the walk) fails
  const before = POWERSHELL_COLLECTOR.replace('[int64]$authority = 0', '$sid = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $raw, 0\n        [int64]$authority = 0');
  assert.match(clmViolations(before).join('\n'), /SecurityIdentifier is not a core type/);
});

// ---- the CLI ----------------------------------------------------------------------------------------------

test('cli: `collector powershell` prints the script; `-o FILE` writes it', () => {
  const r = spawnSync(process.execPath, [cli, 'collector', 'powershell'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, POWERSHELL_COLLECTOR);
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-collector-'));
  try {
    const out = join(dir, 'wmiscope-collector.ps1');
    const w = spawnSync(process.execPath, [cli, 'collector', 'powershell', '-o', out], { encoding: 'utf8' });
    assert.equal(w.status, 0, w.stderr);
    assert.equal(w.stdout, '');
    assert.equal(readFileSync(out, 'utf8'), POWERSHELL_COLLECTOR);
    const bad = spawnSync(process.execPath, [cli, 'collector', 'powershell', '-o', join(dir, 'no/such/dir/x.ps1')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /error/);
    const help = spawnSync(process.execPath, [cli, 'collector', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /powershell/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the document format ----------------------------------------------------------------------------------

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
const collectorSchema = JSON.parse(readFileSync(join(repoRoot(), 'schema/collector.schema.json'), 'utf8')) as { $id: string };
ajv.addSchema(collectorSchema);
const validateDoc = ajv.getSchema(collectorSchema.$id)!;
const findingSchema = JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as { $id: string };
ajv.addSchema(findingSchema);
const validateResult = ajv.getSchema(findingSchema.$id)!;

const readDoc = (file: string): CollectorDocument => JSON.parse(readFileSync(file, 'utf8')) as CollectorDocument;

test('fixtures: the recorded documents are valid against schema/collector.schema.json', () => {
  for (const f of [WIN10_DOC, IEWIN7_DOC]) {
    const doc = readDoc(f);
    assert.ok(validateDoc(doc), `${f}: ${JSON.stringify(validateDoc.errors?.slice(0, 3))}`);
    // as the script writes them: one line, ASCII
    const text = readFileSync(f, 'utf8');
    assert.ok(!/[^\x00-\x7f]/.test(text) && !text.includes('\n'));
  }
});

test('schema: rejects what the format does not allow', () => {
  const doc = readDoc(WIN10_DOC);
  const bad = (mut: (d: Record<string, unknown>) => void): boolean => {
    const d = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
    mut(d);
    return validateDoc(d) as boolean;
  };
  assert.equal(bad(() => {}), true);
  assert.equal(bad((d) => (d['format'] = 'wmiscope-collector/2')), false);
  assert.equal(bad((d) => ((d['objects'] as Array<Record<string, unknown>>)[0]!['kind'] = 'other')), false);
  assert.equal(bad((d) => ((d['namespaces'] as Array<Record<string, unknown>>)[0]!['name'] = 'root/x')), false);
  assert.equal(bad((d) => ((d['objects'] as Array<Record<string, unknown>>)[0]!['extra'] = 1)), false);
  assert.equal(bad((d) => ((d['objects'] as Array<{ types: Record<string, string> }>)[0]!.types['Name'] = 'Text')), false);
  assert.equal(bad((d) => (d['collectedAt'] = '2021-06-06 09:00:00')), false);
});

test('fixtures: the committed documents are what the generator derives from the real data today', { skip: win10Skip }, () => {
  assert.equal(readFileSync(WIN10_DOC, 'utf8'), serialize(win10Document()));
  assert.equal(readFileSync(IEWIN7_DOC, 'utf8'), serialize(iewin7Document()));
});

// ---- the adapter ------------------------------------------------------------------------------------------

async function observe(input: EvidenceInput, host?: string): Promise<{ r: ObserveResult | null; notes: EvidenceNote[] }> {
  const sink = new NoteSink();
  const r = await observeInput(input, { notes: sink, ...(host ? { host } : {}) });
  return { r, notes: sink.list() };
}

const docBuffer = (doc: unknown): Buffer => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));

test('adapter: recognized by its format marker (compact, pretty-printed, UTF-16 with BOM), not by other JSON', () => {
  const text = readFileSync(WIN10_DOC, 'utf8');
  assert.equal(detectAdapter(text)?.format, 'collector');
  assert.equal(detectAdapter(JSON.stringify(JSON.parse(text), null, 2))?.format, 'collector');
  assert.notEqual(detectAdapter('{"format":"something-else/1","objects":[]}')?.format, 'collector');
  assert.notEqual(detectAdapter('["wmiscope-collector/1"]')?.format, 'collector');
});

test('adapter: the Windows 10 document gives the SCM filter, consumer and binding as present collector observations', async () => {
  const { r, notes } = await observe(fileInput(WIN10_DOC));
  assert.deepEqual(notes, []);
  assert.ok(r);
  assert.equal(r.observations.length, 3);
  for (const o of r.observations) {
    assert.deepEqual([o.source, o.action, o.host, o.namespace, o.time, o.user, o.file], ['collector', 'present', 'WIN10-SAMPLE', 'ROOT\\subscription', '2021-06-06T09:00:00.0000000Z', 'S-1-5-32-544', WIN10_DOC]);
  }
  const [f, c, b] = r.observations;
  assert.deepEqual([f!.part, f!.className, f!.name], ['filter', '__EventFilter', 'SCM Event Log Filter']);
  assert.equal(f!.properties['Query'], 'select * from MSFT_SCMEventLogEvent');
  assert.equal(f!.properties['EventNamespace'], 'root\\cimv2');
  assert.equal(f!.properties['CreatorSID'], '1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0');
  assert.equal(f!.properties['EventAccess'], null);
  assert.deepEqual([c!.part, c!.className, c!.name], ['consumer', 'NTEventLogEventConsumer', 'SCM Event Log Consumer']);
  assert.deepEqual([c!.properties['SourceName'], c!.properties['EventType'], c!.properties['Category'], c!.properties['InsertionStringTemplates']], ['Service Control Manager', 1, 0, '']);
  assert.deepEqual([b!.part, b!.className, b!.name], ['binding', '__FilterToConsumerBinding', null]);
  assert.deepEqual([b!.properties['Filter'], b!.properties['Consumer']], ['__EventFilter.Name="SCM Event Log Filter"', 'NTEventLogEventConsumer.Name="SCM Event Log Consumer"']);
  assert.deepEqual([referenceTarget(b!.properties, 'Filter'), referenceTarget(b!.properties, 'Consumer')], [{ className: '__EventFilter', name: 'SCM Event Log Filter' }, { className: 'NTEventLogEventConsumer', name: 'SCM Event Log Consumer' }]);
  assert.deepEqual([f!.meta, c!.meta, b!.meta], [{}, {}, {}]);
  assert.deepEqual(r.items, [{ file: WIN10_DOC, kind: 'collector', host: 'WIN10-SAMPLE', sources: ['collector'], detail: `wmiscope collector ${COLLECTOR_VERSION}, PowerShell 5.1, Microsoft Windows 10: 92 namespaces walked`, records: 3, first: '2021-06-06T09:00:00.0000000Z', last: '2021-06-06T09:00:00.0000000Z' }]);
  assert.deepEqual(r.chains?.get('win10-sample|root\\subscription|nteventlogeventconsumer'), ['__SystemClass', '__IndicationRelated', '__EventConsumer', 'NTEventLogEventConsumer']);
});

test('adapter: the same values as the repository reader gives for the same objects', { skip: win10Skip }, async () => {
  const notes = new NoteSink();
  const { observeRepository } = await import('../src/sources/formats/repository.js');
  const repo = observeRepository(WIN10_REPOSITORY, 'WIN10-SAMPLE', notes).observations.filter((o) => o.source === 'cim' && o.part);
  const { r } = await observe(fileInput(WIN10_DOC));
  const key = (o: { part: unknown; name: unknown }): string => `${o.part}|${o.name}`;
  for (const o of r!.observations) {
    const twin = repo.find((x) => key(x) === key(o) && x.className === o.className);
    assert.ok(twin, key(o));
    assert.deepEqual([o.namespace, o.user], [twin.namespace, twin.user]);
    assert.deepEqual([o.properties, o.meta], [twin.properties, twin.meta]);
  }
});

test('adapter: the IEWIN7 document: the subscription in ROOT\\subscription and in the nested namespace, and the orphan consumer', async () => {
  const { r, notes } = await observe(fileInput(IEWIN7_DOC));
  assert.deepEqual(notes, []);
  const obs = r!.observations;
  assert.deepEqual(obs.map((o) => `${o.namespace}|${o.part}|${o.className}|${o.name ?? `${referenceTarget(o.properties, 'Filter')?.name}->${referenceTarget(o.properties, 'Consumer')?.name}`}`), [
    'ROOT\\subscription|filter|__EventFilter|BotFilter82',
    'ROOT\\subscription|consumer|CommandLineEventConsumer|BotConsumer23',
    'ROOT\\subscription|consumer|ActiveScriptEventConsumer|ProbeScriptFint',
    'ROOT\\subscription|binding|__FilterToConsumerBinding|BotFilter82->BotConsumer23',
    `${NESTED_NAMESPACE}|filter|__EventFilter|BotFilter82`,
    `${NESTED_NAMESPACE}|consumer|CommandLineEventConsumer|BotConsumer23`,
    `${NESTED_NAMESPACE}|binding|__FilterToConsumerBinding|BotFilter82->BotConsumer23`,
  ]);
  assert.ok(obs.every((o) => o.host === 'IEWIN7' && o.user === IEUSER_SID && o.time === '2019-05-11T17:58:45.0000000Z'));
  assert.equal(obs[1]!.properties['CommandLineTemplate'], 'c:\\Windows\\System32\\cmd.exe');
  assert.equal(obs[0]!.properties['Query'], "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'");
  assert.equal(obs[2]!.properties['ScriptingEngine'], 'JScript');
  assert.equal(obs[2]!.properties['ScriptText'], readFileSync(join(repoRoot(), 'test/fixtures/rules/wmighost-scripttext.js.txt'), 'utf8'));
});

test('adapter: --host wins over the document\'s host name', async () => {
  const { r } = await observe(fileInput(WIN10_DOC), 'FORCED');
  assert.ok(r!.observations.every((o) => o.host === 'FORCED'));
  assert.ok(r!.items.every((i) => i.host === 'FORCED'));
  const res = await scan([WIN10_DOC], { host: 'FORCED', threads: 1 });
  assert.deepEqual(res.hosts, ['FORCED']);
});

test('adapter: the fqdn names the host when there is one, else the computer name; nothing named gives a warning', async () => {
  const doc = readDoc(WIN10_DOC);
  doc.host.fqdn = 'win10-sample.corp.example';
  let { r } = await observe(bufferInput('fqdn.json', docBuffer(doc)));
  assert.equal(r!.observations[0]!.host, 'win10-sample.corp.example');
  doc.host.fqdn = null;
  ({ r } = await observe(bufferInput('name.json', docBuffer(doc))));
  assert.equal(r!.observations[0]!.host, 'WIN10-SAMPLE');
  doc.host.computerName = '';
  const o = await observe(bufferInput('none.json', docBuffer(doc)));
  assert.ok(o.notes.some((n) => n.level === 'warning' && /names no host/.test(n.message)));
});

test('adapter: an unknown format version is one error note, nothing read, no throw', async () => {
  for (const format of ['wmiscope-collector/2', 'wmiscope-collector/0.9', 'wmiscope-collector/x']) {
    const doc = { ...readDoc(IEWIN7_DOC), format };
    const { r, notes } = await observe(bufferInput('future.json', docBuffer(doc)));
    assert.ok(r);
    assert.deepEqual([r.observations.length, r.items.length], [0, 0]);
    assert.equal(notes.length, 1);
    assert.equal(notes[0]!.level, 'error');
    assert.match(notes[0]!.message, /not one this wmiscope reads/);
    assert.ok(notes[0]!.message.includes(JSON.stringify(format)));
  }
  // a minor version is read
  const { r } = await observe(bufferInput('minor.json', docBuffer({ ...readDoc(IEWIN7_DOC), format: 'wmiscope-collector/1.3' })));
  assert.equal(r!.observations.length, 7);
  // and through scan: an error note, no finding
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-collector-'));
  try {
    const f = join(dir, 'future.json');
    writeFileSync(f, docBuffer({ ...readDoc(IEWIN7_DOC), format: 'wmiscope-collector/2' }));
    const res = await scan([f], { threads: 1 });
    assert.deepEqual(res.findings, []);
    assert.ok(res.notes.some((n) => n.file === f && n.level === 'error' && /format "wmiscope-collector\/2"/.test(n.message)), JSON.stringify(res.notes));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('adapter: a malformed object is skipped with a warning, the others are kept', async () => {
  const base = readDoc(IEWIN7_DOC);
  const cases: Array<[string, (o: Record<string, unknown>) => void, RegExp]> = [
    ['properties a string', (o) => (o['properties'] = 'x'), /"properties" is not an object/],
    ['kind unknown', (o) => (o['kind'] = 'provider'), /"kind"/],
    ['class with a space', (o) => (o['class'] = 'Command Line'), /"class"/],
    ['namespace a number', (o) => (o['namespace'] = 7), /"namespace"/],
    ['derivation a string', (o) => (o['derivation'] = '__EventConsumer'), /"derivation"/],
    ['types with a number', (o) => (o['types'] = { Name: 1 }), /"types"/],
    ['creatorSid an array', (o) => (o['creatorSid'] = [1, 2]), /"creatorSid"/],
    ['an object that is a list', (o) => Object.setPrototypeOf(o, Array.prototype), /not a JSON object|"namespace"/],
  ];
  for (const [what, mut, re] of cases) {
    const doc = JSON.parse(JSON.stringify(base)) as { objects: Array<Record<string, unknown>> };
    mut(doc.objects[1]!);
    const text = what === 'an object that is a list' ? JSON.stringify({ ...doc, objects: [doc.objects[0], [1, 2], ...doc.objects.slice(2)] }) : JSON.stringify(doc);
    const { r, notes } = await observe(bufferInput(`${what}.json`, docBuffer(text)));
    assert.equal(r!.observations.length, 6, what);
    assert.ok(!r!.observations.some((o) => o.name === 'BotConsumer23' && o.namespace === 'ROOT\\subscription'), what);
    assert.equal(notes.length, 1, `${what}: ${JSON.stringify(notes)}`);
    assert.equal(notes[0]!.level, 'warning');
    assert.match(notes[0]!.message, /objects\[1\] skipped/);
    assert.match(notes[0]!.message, re, what);
  }
  // objects not a list: nothing to read, one error
  const { r, notes } = await observe(bufferInput('noobjects.json', docBuffer({ ...base, objects: { a: 1 } })));
  assert.deepEqual([r!.observations.length, notes.length, notes[0]!.level], [0, 1, 'error']);
});

test('adapter: through scan, one malformed object costs only itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-collector-'));
  try {
    const doc = readDoc(IEWIN7_DOC) as unknown as { objects: Array<Record<string, unknown>> };
    const i = doc.objects.findIndex((o) => o['class'] === 'ActiveScriptEventConsumer');
    doc.objects[i]!['properties'] = null;
    const f = join(dir, 'one-bad.json');
    writeFileSync(f, docBuffer(doc));
    const res = await scan([f], { threads: 1 });
    assert.ok(!res.findings.some((x) => x.consumer?.name === 'ProbeScriptFint'));
    assert.ok(res.findings.some((x) => x.filter?.name === 'BotFilter82'));
    assert.ok(res.notes.some((n) => n.level === 'warning' && n.message.includes(`objects[${i}] skipped`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('adapter: "__proto__" keys are dropped, nothing is polluted', async () => {
  const text = readFileSync(WIN10_DOC, 'utf8')
    .replace('"properties":{', '"properties":{"__proto__":{"polluted":"yes"},')
    .replace('"host":{', '"host":{"__proto__":{"fqdn":"EVIL"},');
  const { r, notes } = await observe(bufferInput('proto.json', docBuffer(text)));
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(r!.observations.length, 3);
  for (const o of r!.observations) {
    assert.equal(Object.getPrototypeOf(o.properties), Object.prototype);
    assert.equal((o.properties as Record<string, unknown>)['polluted'], undefined);
    assert.equal(o.host, 'WIN10-SAMPLE');
  }
  assert.ok(notes.some((n) => n.level === 'warning' && /2 "__proto__" key/.test(n.message)), JSON.stringify(notes));
});

test('adapter: namespaces the collector could not read are one warning each; truncated walks and non-admin runs are said', async () => {
  const doc = readDoc(IEWIN7_DOC);
  const denied = { query: '__EventFilter', message: 'Access denied ', category: 'PermissionDenied', errorId: 'HRESULT 0x80041003,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand', code: 'AccessDenied' };
  doc.namespaces[3]!.errors = [denied, { ...denied, query: '__EventConsumer' }];
  doc.namespaces[5]!.errors = [{ ...denied, query: '__NAMESPACE' }];
  doc.truncated = true;
  doc.host.elevated = false;
  const { r, notes } = await observe(bufferInput('errors.json', docBuffer(doc)));
  assert.equal(r!.observations.length, 7);
  const ns = notes.filter((n) => /was not read completely/.test(n.message));
  assert.equal(ns.length, 2);
  assert.ok(ns[0]!.message.includes(doc.namespaces[3]!.name) && /__EventFilter: Access denied .*\(AccessDenied\); __EventConsumer/.test(ns[0]!.message), ns[0]!.message);
  assert.ok(notes.some((n) => /walk stopped/.test(n.message)));
  assert.ok(notes.some((n) => /without administrator rights/.test(n.message)));
  assert.ok(notes.every((n) => n.level === 'warning'));
  assert.match(r!.items[0]!.detail, /93 namespaces walked, 2 with errors \(walk truncated\)/);
});

test('adapter: bounded input, broken JSON, UTF-16 (PowerShell "> file"), bare path references, 64-bit strings', async () => {
  // over the whole-input limit: an error note, never a read
  const head = readFileSync(WIN10_DOC);
  const huge: EvidenceInput = {
    name: 'huge.json',
    size: MAX_WHOLE_INPUT + 1,
    head: async (n) => head.subarray(0, n),
    read: async () => {
      throw new Error('must not be read');
    },
    async *chunks() {},
  };
  let o = await observe(huge);
  assert.equal(o.r, null);
  assert.ok(o.notes.some((n) => n.level === 'error' && /limit/.test(n.message)), JSON.stringify(o.notes));
  // cut short
  o = await observe(bufferInput('cut.json', head.subarray(0, head.length - 100)));
  assert.ok(o.notes.some((n) => n.level === 'error' && /not valid JSON/.test(n.message)));
  // UTF-16 LE with BOM
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(head.toString('utf8'), 'utf16le')]);
  o = await observe(bufferInput('utf16.json', utf16));
  assert.equal(o.r!.observations.length, 3);
  // a reference given as a bare path (as Get-WmiObject shows it), a UInt64 past 2^53, non-ASCII escaped
  const doc = readDoc(WIN10_DOC) as unknown as { objects: Array<{ properties: Record<string, unknown>; types: Record<string, string> }> };
  const b = doc.objects[2]!;
  b.properties['Consumer'] = '\\\\.\\ROOT\\subscription:NTEventLogEventConsumer.Name="SCM Event Log Consumer"';
  b.properties['Big'] = '18446744073709551615';
  b.types['Big'] = 'UInt64';
  b.properties['Small'] = '42';
  b.types['Small'] = 'SInt64';
  doc.objects[0]!.properties['Name'] = 'Fïlter \u2603';
  o = await observe(bufferInput('variants.json', docBuffer(serializeLike(doc))));
  const [f, , bo] = o.r!.observations;
  assert.equal(f!.name, 'Fïlter \u2603');
  assert.deepEqual([referenceTarget(bo!.properties, 'Consumer')?.name, referenceTarget(bo!.properties, 'Consumer')?.className, bo!.properties['Big'], bo!.properties['Small']], ['SCM Event Log Consumer', 'NTEventLogEventConsumer', '18446744073709551615', 42]);
});

test('adapter: any JSON value in any place of a document never throws, and every skip is said', async () => {
  const base = readDoc(IEWIN7_DOC) as unknown as Record<string, unknown>;
  /** Every path to a value in the document (objects and arrays included). */
  const paths: Array<Array<string | number>> = [];
  const walk = (v: unknown, at: Array<string | number>): void => {
    paths.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
  };
  walk(base, []);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: paths.length - 1 }), fc.jsonValue({ maxDepth: 3 }), async (i, value) => {
      const doc = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
      const at = paths[i]!;
      if (at.length === 0) return;
      let parent: unknown = doc;
      for (const k of at.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[k];
      (parent as Record<string | number, unknown>)[at[at.length - 1]!] = value;
      const { r, notes } = await observe(bufferInput('mutated.json', docBuffer(doc)));
      // without its format marker the document is no longer recognized (not evidence); otherwise it is read
      if (at[0] === 'format' && r === null) return;
      assert.ok(r, `an adapter result (path ${at.join('.')})`);
      // seven objects in the document: each one read, or its loss said in a note
      if (r.observations.length < 7) assert.ok(notes.length > 0, `lost ${7 - r.observations.length} objects without a note (path ${at.join('.')})`);
      for (const o of r.observations) for (const v of [...Object.values(o.properties), ...Object.values(o.meta)]) assert.ok(v === null || ['string', 'number', 'boolean'].includes(typeof v));
    }),
    { numRuns: 300, seed: 20260515 },
  );
});

/** JSON with non-ASCII escaped, as the script writes it. */
function serializeLike(doc: unknown): string {
  return JSON.stringify(doc).replace(/[^\u0000-\u007f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---- end to end -------------------------------------------------------------------------------------------

function assertResult(r: ScanResult): void {
  assert.ok(validateResult(JSON.parse(JSON.stringify(r))), JSON.stringify(validateResult.errors?.slice(0, 3)));
}

test('scan: the Windows 10 document gives the SCM subscription, active and allow-listed', async () => {
  const r = await scan([WIN10_DOC], { threads: 1 });
  assertResult(r);
  assert.deepEqual(r.notes, []);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.deepEqual([f.host, f.namespace, f.status, f.filter?.name, f.consumer?.className, f.consumer?.name], ['WIN10-SAMPLE', 'ROOT\\subscription', 'active', 'SCM Event Log Filter', 'NTEventLogEventConsumer', 'SCM Event Log Consumer']);
  assert.ok(f.allowlisted, 'allow-listed');
  assert.deepEqual(f.who, ['S-1-5-32-544']);
  const live = f.coverage.find((c) => /collector/i.test(c.source));
  assert.equal(live?.saw, true);
  assert.deepEqual(r.evidence.map((e) => e.kind), ['collector']);
});

test('scan: the Windows 10 document and the Windows 10 repository give the same SCM finding', { skip: win10Skip }, async () => {
  const fromDoc = (await scan([WIN10_DOC], { threads: 1 })).findings;
  const fromRepo = (await scan([WIN10_REPOSITORY], { host: 'WIN10-SAMPLE', threads: 1 })).findings;
  assert.equal(fromDoc.length, 1);
  assert.equal(fromRepo.length, 1);
  const [d, r] = [fromDoc[0]!, fromRepo[0]!];
  assert.deepEqual([d.id, d.namespace, d.status, d.severity, d.allowlisted], [r.id, r.namespace, r.status, r.severity, r.allowlisted]);
  assert.equal(d.namespace, 'ROOT\\subscription');
  assert.equal(d.status, 'active');
  assert.ok(d.allowlisted);
  // the same values for the objects: the collector shows what the repository holds
  assert.deepEqual(d.filter?.values, r.filter?.values);
  assert.deepEqual(d.consumer?.values, r.consumer?.values);
  // both together: still one finding, seen by both
  const both = (await scan([WIN10_DOC, WIN10_REPOSITORY], { host: 'WIN10-SAMPLE', threads: 1 })).findings;
  assert.equal(both.length, 1);
  assert.deepEqual([...new Set(both[0]!.observations.map((o) => o.source))].sort(), ['cim', 'collector']);
});

const named = (r: ScanResult, name: string): Finding[] => r.findings.filter((f) => f.filter?.name === name || f.consumer?.name === name);

test('scan: the IEWIN7 document: the malicious subscription (nested namespace included), high or above, and the orphan consumer', async () => {
  const r = await scan([IEWIN7_DOC], { threads: 1 });
  assertResult(r);
  assert.deepEqual(r.notes, []);
  assert.deepEqual(r.hosts, ['IEWIN7']);
  const bot = named(r, 'BotFilter82');
  // once in ROOT\subscription, once in the nested namespace
  assert.equal(bot.length, 2);
  for (const f of bot) {
    assert.deepEqual([f.host, f.status, f.consumer?.className, f.consumer?.name, f.filter?.name], ['IEWIN7', 'active', 'CommandLineEventConsumer', 'BotConsumer23', 'BotFilter82']);
    assert.equal(f.consumer?.values['CommandLineTemplate'], 'c:\\Windows\\System32\\cmd.exe');
    assert.match(f.summary, /cmd\.exe/);
    assert.ok(['critical', 'high'].includes(f.severity), f.severity);
    assert.equal(f.allowlisted, null);
    assert.deepEqual(f.who, [IEUSER_SID]);
  }
  // the nested namespace is there: the blind spot of first-level-only walkers
  const nested = bot.find((f) => f.namespace === NESTED_NAMESPACE);
  assert.ok(nested, `namespaces: ${bot.map((f) => f.namespace).join(', ')}`);
  assert.ok(nested.reasons.some((x) => /namespace/i.test(x.id)), JSON.stringify(nested.reasons.map((x) => x.id)));
  const vr = nested.coverage.find((c) => /Velociraptor/.test(c.source));
  assert.ok(vr && !vr.saw && /first-level/.test(vr.reason ?? ''), JSON.stringify(vr));
  // the orphan consumer
  const orphan = named(r, 'ProbeScriptFint');
  assert.equal(orphan.length, 1);
  assert.deepEqual([orphan[0]!.status, orphan[0]!.namespace, orphan[0]!.consumer?.className, orphan[0]!.filter, orphan[0]!.binding], ['orphan', 'ROOT\\subscription', 'ActiveScriptEventConsumer', null, null]);
  assert.ok(['critical', 'high'].includes(orphan[0]!.severity), orphan[0]!.severity);
});

test(
  'scan: the same subscription in ROOT\\subscription and in ROOT\\cimv2\\totallylegit is two findings',
  async () => {
    const r = await scan([IEWIN7_DOC], { threads: 1 });
    const bot = named(r, 'BotFilter82');
    assert.deepEqual(bot.map((f) => f.namespace).sort(), [NESTED_NAMESPACE, 'ROOT\\subscription'].sort());
    assert.ok(bot.every((f) => f.binding !== null && f.status === 'active'));
  },
);

test('scan: the collector document beside the Sysmon log of the same host: one subscription, seen live and logged', async () => {
  const sysmon = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
  const r = await scan([IEWIN7_DOC, sysmon], { threads: 1 });
  assertResult(r);
  const bot = named(r, 'BotFilter82');
  const sources = new Set(bot.flatMap((f) => f.observations.map((o) => o.source)));
  assert.ok(sources.has('collector') && sources.has('sysmon'), [...sources].join(','));
  assert.ok(bot.some((f) => f.coverage.some((c) => /collector/i.test(c.source) && c.saw)));
});

test('state read: the namespaces read without errors are the host\'s whole WMI state; none when not elevated', async () => {
  const doc = JSON.parse(readFileSync(IEWIN7_DOC, 'utf8')) as { namespaces: Array<{ name: string; errors: unknown[] }>; host: { elevated?: boolean } };
  const sub = doc.namespaces.find((n) => n.name.toLowerCase() === 'root\\subscription')!;
  sub.errors = [{ query: 'SELECT * FROM __EventFilter', message: 'Access denied', code: '0x80041003' }];
  const sink = new NoteSink();
  const r = await observeInput(bufferInput('doc.json', Buffer.from(JSON.stringify(doc))), { notes: sink });
  const notes = sink.list();
  const state = r!.state!;
  assert.equal(state.length, 1);
  assert.equal(state[0]!.host, 'IEWIN7');
  const names = state[0]!.namespaces as string[];
  assert.ok(names.includes('ROOT\\CIMV2'));
  assert.ok(!names.some((n) => n.toLowerCase() === 'root\\subscription'), 'a namespace with errors is not complete');
  assert.equal(names.length, doc.namespaces.length - 1);
  assert.ok(notes.some((n) => /ROOT\\subscription was not read completely/i.test(n.message)), JSON.stringify(notes));
  doc.host.elevated = false;
  const r2 = await observeInput(bufferInput('doc.json', Buffer.from(JSON.stringify(doc))), { notes: new NoteSink() });
  assert.deepEqual(r2!.state, [{ host: 'IEWIN7', namespaces: [], at: '2019-05-11T17:58:45.0000000Z' }]);
});

// ---- runs that do not show the whole state: without administrator rights, Constrained Language Mode ----------

/** A copy of a committed document with changes (a synthetic variant: the comment at each use says what it stands for). */
function variant(file: string, change: (d: CollectorDocument) => void): CollectorDocument {
  const d = readDoc(file);
  change(d);
  return d;
}

async function scanDocs(docs: Array<[string, CollectorDocument | Buffer]>, extra: string[] = []): Promise<ScanResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-collector-'));
  try {
    for (const [name, d] of docs) writeFileSync(join(dir, name), Buffer.isBuffer(d) ? d : serialize(d));
    return await scan([...docs.map(([name]) => join(dir, name)), ...extra], { threads: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ABSENCE = new Set(['deleted', 'orphan']);

test('non-admin: a run without administrator rights shows what exists and claims no absence (the unbound consumer is not orphan), and says why', async () => {
  // synthetic: the IEWIN7 document as a run without administrator rights would write it (same objects)
  const doc = variant(IEWIN7_DOC, (d) => (d.host.elevated = false));
  assert.ok(validateDoc(doc), JSON.stringify(validateDoc.errors?.slice(0, 3)));
  const r = await scanDocs([['iewin7.json', doc]]);
  assertResult(r);
  // what the document shows is reported (it exists)
  assert.equal(named(r, 'BotFilter82').length, 2);
  const probe = named(r, 'ProbeScriptFint');
  assert.equal(probe.length, 1);
  // elevated, the same consumer is an orphan (the test above); here its binding may be hidden from the account
  assert.equal(probe[0]!.status, 'active');
  assert.ok(r.findings.every((f) => !ABSENCE.has(f.status) && !f.reasons.some((x) => x.id === 'orphan')), JSON.stringify(r.findings.map((f) => [f.status, f.reasons.map((x) => x.id)])));
  // the scan says what is missing
  const note = r.notes.filter((n) => n.kind === 'not-elevated');
  assert.equal(note.length, 1);
  assert.equal(note[0]!.level, 'warning');
  assert.match(note[0]!.message, /ran without administrator rights; namespaces that deny other users and objects hidden from that account may be missing: no absence \(deleted, orphan, missed\) is concluded from this document/);
  assert.match(r.evidence[0]!.detail, /, not elevated$/);
});

test('non-admin: beside a log, a subscription the document lacks is deleted only when the run was elevated', async () => {
  // synthetic: the Windows 10 document (the SCM subscription only) as collected on the host of the OTRF log, whose
  // "Evil Persistence" subscription Sysmon logged as created (never deleted); collected after the log's records
  const log = join(repoRoot(), 'test/fixtures/exports/otrf-covenant-persistwmi.nxlog.jsonl');
  const onHost = (elevated: boolean | null, mode: string): CollectorDocument =>
    variant(WIN10_DOC, (d) => {
      d.host.computerName = 'IT001';
      d.host.fqdn = 'IT001.shire.com';
      d.host.elevated = elevated;
      d.host.languageMode = mode;
      d.collectedAt = '2020-01-01T00:00:00.0000000Z';
      d.completedAt = '2020-01-01T00:00:04.0000000Z';
    });
  const evil = (r: ScanResult): Finding => named(r, 'Evil Persistence')[0]!;
  const full = await scanDocs([['it001.json', onHost(true, 'FullLanguage')]], [log]);
  assert.equal(evil(full).status, 'deleted', 'an elevated run shows the whole state: what it lacks is gone');
  for (const [elevated, mode] of [[false, 'FullLanguage'], [null, 'ConstrainedLanguage']] as const) {
    const r = await scanDocs([['it001.json', onHost(elevated, mode)]], [log]);
    assertResult(r);
    const f = evil(r);
    assert.equal(f.status, 'logged-only', `${elevated}/${mode}`);
    assert.ok(r.findings.every((x) => !ABSENCE.has(x.status)), `${elevated}/${mode}`);
    // the collector "did not see it": said with every reason, not as a deletion
    const cov = f.coverage.find((c) => /collector/i.test(c.source));
    assert.ok(cov && !cov.saw, JSON.stringify(f.coverage));
    assert.match(cov.reason ?? '', /^not in the collector document: .*a run without administrator rights: see the notes/);
    assert.ok(r.notes.some((n) => n.kind === 'not-elevated'), JSON.stringify(r.notes));
  }
});

test('CLM: a document written in Constrained Language Mode (elevation unknown) is read, said, and claims no absence', async () => {
  // synthetic: the IEWIN7 document as the script writes it in ConstrainedLanguage (elevated null, account from the environment)
  const doc = variant(IEWIN7_DOC, (d) => {
    d.host.elevated = null;
    d.host.languageMode = 'ConstrainedLanguage';
  });
  assert.ok(validateDoc(doc), JSON.stringify(validateDoc.errors?.slice(0, 3)));
  const { r, notes } = await observe(bufferInput('clm.json', docBuffer(serialize(doc))));
  assert.equal(r!.observations.length, 7);
  assert.deepEqual(r!.state, [{ host: 'IEWIN7', namespaces: [], at: '2019-05-11T17:58:45.0000000Z' }]);
  assert.deepEqual(notes.map((n) => [n.level, n.kind]).sort(), [['warning', 'language-mode'], ['warning', 'not-elevated']]);
  assert.match(notes.find((n) => n.kind === 'not-elevated')!.message, /whether it ran with administrator rights is not known \(PowerShell ConstrainedLanguage mode cannot ask\)/);
  assert.match(notes.find((n) => n.kind === 'language-mode')!.message, /^collector: ran in PowerShell ConstrainedLanguage mode \(an AppLocker or WDAC lockdown, or a constrained endpoint\): it read WMI with the same queries as in FullLanguage, but could not check its administrator rights \(see that note\), and the host's DNS domain comes from Win32_ComputerSystem$/);
  assert.match(r!.items[0]!.detail, /PowerShell 5\.1 \(ConstrainedLanguage\), .*, elevation unknown$/);
  const s = await scanDocs([['clm.json', doc]]);
  assert.equal(named(s, 'ProbeScriptFint')[0]!.status, 'active');
});

test('format: a 1.0 document (no languageMode) is read as before; the current one is 1.1', async () => {
  assert.equal(COLLECTOR_FORMAT, 'wmiscope-collector/1.1');
  assert.equal(readDoc(WIN10_DOC).host.languageMode, 'FullLanguage');
  // synthetic: the Windows 10 document as collector 1.0.0 wrote it
  const old = variant(WIN10_DOC, (d) => {
    d.format = 'wmiscope-collector/1';
    d.collector.version = '1.0.0';
    delete d.host.languageMode;
  });
  assert.ok(validateDoc(old), JSON.stringify(validateDoc.errors?.slice(0, 3)));
  const { r, notes } = await observe(bufferInput('old.json', docBuffer(serialize(old))));
  assert.deepEqual(notes, []);
  assert.equal(r!.observations.length, 3);
  // with the time it was read (collectedAt): it shows the absence only of what was logged before then
  assert.deepEqual(r!.state, [{ host: 'WIN10-SAMPLE', namespaces: (r!.state![0]!.namespaces as string[]), at: '2021-06-06T09:00:00.0000000Z' }]);
  assert.equal((r!.state![0]!.namespaces as string[]).length, 92);
  // a major version 2 is refused with one error naming what is read
  const v2 = await observe(bufferInput('v2.json', docBuffer(serialize(variant(WIN10_DOC, (d) => (d.format = 'wmiscope-collector/2'))))));
  assert.equal(v2.r!.observations.length, 0);
  assert.match(v2.notes[0]!.message, /not one this wmiscope reads \(wmiscope-collector\/1 and \/1\.x, written today as wmiscope-collector\/1\.1\)/);
});

// ---- a fleet through PowerShell remoting (docs/collector.md) ------------------------------------------------

/** The PowerShell block of the remoting recipe in docs/collector.md. */
function remotingRecipe(): string {
  const md = readFileSync(join(repoRoot(), 'docs/collector.md'), 'utf8');
  const section = md.slice(md.indexOf('## A fleet through PowerShell remoting'));
  const m = /```powershell\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'a powershell block in the remoting section');
  return m[1]!;
}

test('remoting recipe: parses with the PowerShell grammar, runs the script by -FilePath without parameters, and names files safely', () => {
  const recipe = remotingRecipe();
  assert.deepEqual(problems(recipe), []);
  const root = parse(recipe);
  const commands = [...new Set(nodes(root, (n) => n.type === 'command_name').map((n) => n.text))];
  assert.deepEqual(commands.sort(), ['ForEach-Object', 'Get-Content', 'Invoke-Command', 'Join-Path', 'New-Item', 'Out-File', 'Out-Null', 'Set-Content', 'Sort-Object', 'Test-Path', 'Where-Object']);
  const invoke = nodes(root, (n) => n.type === 'command' && n.text.startsWith('Invoke-Command'))[0]!.text;
  assert.match(invoke, /^Invoke-Command -ComputerName \$hosts -FilePath \.\\wmiscope-collector\.ps1 -ThrottleLimit 32 -ErrorVariable remoteErrors -ErrorAction SilentlyContinue/);
  assert.ok(!/-ArgumentList|-OutFile|-ConfigurationName/.test(invoke), 'the script runs without parameters, on the default endpoint');
  assert.match(recipe, /Set-Content -LiteralPath \(Join-Path \.\\out \(\$name \+ '\.json'\)\) -Value \(\[string\]\$_\) -Encoding Ascii/);
  // the file name: PSComputerName with everything but A-Z a-z 0-9 . _ - replaced (the same expression twice)
  const re = [...recipe.matchAll(/-replace '([^']+)', '_'/g)].map((x) => x[1]);
  assert.deepEqual(re, ['[^A-Za-z0-9._-]', '[^A-Za-z0-9._-]']);
  const safe = (name: string): string => name.replace(new RegExp(re[0]!, 'g'), '_');
  assert.equal(safe('pc04.example.corp'), 'pc04.example.corp');
  assert.equal(safe('..\\..\\Windows\\evil name'), '.._.._Windows_evil_name');
  assert.equal(safe('fe80::1%3'), 'fe80__1_3');
  // the recipe is CLM-clean too (a console in Constrained Language Mode can run it)
  assert.deepEqual(clmViolations(recipe), []);
});

test('remoting recipe: a folder of per-host documents (ASCII, UTF-8 with BOM, UTF-16 LE as PowerShell writes them) scans as a fleet, one host per document', async () => {
  const recipe = remotingRecipe();
  const safe = (name: string): string => name.replace(new RegExp(/-replace '([^']+)', '_'/.exec(recipe)![1]!, 'g'), '_');
  // synthetic fleet: the Windows 10 document under eleven host names (the SCM subscription everywhere) and the IEWIN7 one
  const hosts = Array.from({ length: 11 }, (_, i) => `WS${String(i + 1).padStart(2, '0')}`);
  const line = (d: CollectorDocument): string => serialize(d) + '\r\n'; // Set-Content ends the text with a line end
  const encode = (text: string, i: number): Buffer =>
    i % 3 === 0
      ? Buffer.from(text, 'latin1') // -Encoding Ascii (the JSON is ASCII)
      : i % 3 === 1
        ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]) // 5.1 -Encoding UTF8
        : Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]); // 5.1 Out-File / >
  const docs: Array<[string, Buffer]> = hosts.map((h, i) => {
    const d = variant(WIN10_DOC, (x) => {
      x.host.computerName = h;
      x.host.fqdn = `${h.toLowerCase()}.example.corp`;
      x.host.domain = 'example.corp';
    });
    // the file is named by the name the host was reached by (here an address for one of them), the host by the document
    return [`${safe(i === 4 ? '10.0.0.5' : `${h.toLowerCase()}.example.corp`)}.json`, encode(line(d), i)];
  });
  docs.push([`${safe('iewin7')}.json`, encode(line(readDoc(IEWIN7_DOC)), 2)]);
  const r = await scanDocs(docs);
  assertResult(r);
  assert.deepEqual(r.notes, []);
  assert.equal(r.hosts.length, 12);
  assert.deepEqual(r.hosts.filter((h) => h !== 'IEWIN7').sort(), hosts.map((h) => `${h.toLowerCase()}.example.corp`).sort());
  // one evidence item per document, each a different host (10.0.0.5.json is ws05's)
  assert.equal(r.evidence.length, 12);
  assert.ok(r.evidence.every((e) => e.kind === 'collector'));
  assert.equal(new Set(r.evidence.map((e) => e.host)).size, 12);
  assert.equal(r.evidence.find((e) => e.file.endsWith('10.0.0.5.json'))?.host, 'ws05.example.corp');
  // fleet stacking: 12 hosts (ranked from 10), the SCM subscription on 11 is common, BotFilter82 on 1 is rare
  assert.equal(r.fleet?.hosts, 12);
  const scm = r.findings.filter((f) => f.filter?.name === 'SCM Event Log Filter');
  assert.equal(scm.length, 11);
  assert.ok(scm.every((f) => f.reasons.some((x) => x.id === 'WMI-STACK-COMMON')), JSON.stringify(scm[0]!.reasons.map((x) => x.id)));
  const scmStack = r.fleet!.stacks.find((s) => s.name === 'SCM Event Log Filter' || s.name === 'SCM Event Log Consumer');
  assert.deepEqual([scmStack?.count, scmStack?.common, scmStack?.rare], [11, true, false]);
  const bot = named(r, 'BotFilter82');
  assert.equal(bot.length, 2);
  assert.ok(bot.every((f) => f.host === 'IEWIN7' && f.reasons.some((x) => x.id === 'WMI-STACK-RARE')), JSON.stringify(bot.map((f) => f.reasons.map((x) => x.id))));
});
