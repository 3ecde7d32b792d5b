/**
 * Start-up: a command loads what it needs. The modules of every command's options are read at start; the readers, the
 * report writers, the Sysmon configuration reader and the collector script are loaded by the command that uses them.
 * Checked by the modules a child process loads (an ESM loader hook lists them), not by time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI } from './support/child.js';
import { scratchDir } from './support/tmp.js';
import { repoRoot } from './support/samples.js';

/** The files of this package a run of the CLI with `args` loads (paths under dist/src and node_modules). */
function loaded(args: string[]): string[] {
  const dir = scratchDir('startup');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, "export async function load(url, context, next) { if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n'); return next(url, context); }\n");
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, CLI, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const root = pathToFileURL(repoRoot()).href + '/';
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice('LOADED '.length).replace(root, ''));
}

test('--version and --help load the option definitions only: no reader, report writer, Sysmon reader or collector', () => {
  for (const args of [['--version'], ['scan', '--help'], ['sysmon', 'config', '--help'], ['rules', 'test', '--help']]) {
    const files = loaded(args);
    assert.ok(files.includes('dist/src/cli/main.js'), files.join('\n'));
    const heavy = files.filter((f) => /^dist\/src\/(scan\.js|sources\/(?!budget\.js)|evtx\/|cim\/|analysis\/|events\/|report\/(index|html|table|csv|timeline|coverage)|sysmon\/(?!schema\.js)|collector\/)|^node_modules\/(?!commander\/)/.test(f));
    assert.deepEqual(heavy, [], `${args.join(' ')} loads more than its options need`);
  }
});

test('a command loads its own reader: sysmon config the Sysmon reader, not the evidence readers', () => {
  const files = loaded(['sysmon', 'config']);
  assert.ok(files.includes('dist/src/sysmon/index.js'));
  assert.ok(!files.some((f) => /^dist\/src\/(scan\.js|sources\/formats\/|evtx\/)/.test(f)), files.join('\n'));
});

test('a scan of EVTX logs on one thread loads none of the libraries of other evidence: no zip, CSV, XML, YAML or worker pool', () => {
  const files = loaded(['scan', join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx'), '-q', '-f', 'json', '-o', '/dev/null', '--threads', '1', '--fail-on', 'never']);
  assert.ok(files.includes('dist/src/sources/formats/evtx.js'), files.join('\n'));
  const libraries = files.filter((f) => f.startsWith('node_modules/') && !f.startsWith('node_modules/commander/'));
  assert.deepEqual(libraries, [], 'libraries loaded by an EVTX scan');
});
