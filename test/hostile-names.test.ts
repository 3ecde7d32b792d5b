/**
 * Issue 13, classes 6-8 and the watchdog: names that attack the terminal, names that are not UTF-8, symbolic
 * links, an output path onto the evidence, a stdout that cannot be written, and a file that takes too long.
 * Each run is a child process under a 512 MB heap cap and a wall-clock guard (test/support/child.ts); every
 * hostile input is generated at test time (test/support/hostile/names.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, consumersOf, GOOD_LOG, GOOD_LOG_CONSUMER, runCli } from './support/child.js';
import type { ChildRun } from './support/child.js';
import { HOSTILE_NAME, hostileNameTree, NON_UTF8, nonUtf8Tree, symlinkTree, tempDir } from './support/hostile/names.js';
import { repoRoot, samplesDir } from './support/samples.js';
import { writeZip } from './support/zip-writer.js';

const RAW = /[\u001b\u0007\u009b]/;

function finished(r: ChildRun, what: string): void {
  assert.equal(r.timedOut, false, `${what}: killed by the wall-clock guard`);
  assert.equal(r.signal, null, `${what}: ended by ${r.signal}`);
  assert.ok(r.peakRssMb !== null && r.peakRssMb < 512, `${what}: peak RSS ${r.peakRssMb} MB`);
  assert.ok(!/\n\s+at .+\(.+:\d+:\d+\)/.test(r.stderr), `${what}: a stack trace on stderr:\n${r.stderr}`);
}

interface Report {
  evidence: Array<{ file: string }>;
  notes: Array<{ file: string; level: string; code: string; message: string }>;
}

test('names: an escape sequence in a file or folder name never reaches the terminal raw, in any command or format', async (t) => {
  const root = tempDir('names');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const x = hostileNameTree(root);
  const runs: Array<[string, string[]]> = [
    ...['table', 'json', 'jsonl', 'csv', 'timeline', 'html'].map((f): [string, string[]] => [`scan -f ${f}`, ['scan', '-v', '-j', '1', '-f', f, x.dir, GOOD_LOG]]),
    ['coverage -f text', ['coverage', '-v', '-f', 'text', x.dir]],
    ['coverage -f json', ['coverage', '-v', '-f', 'json', x.dir]],
    ['evtx dump', ['evtx', 'dump', '-m', x.log, x.cut, x.text]],
    ['evtx dump -f xml', ['evtx', 'dump', '-f', 'xml', x.log, x.cut]],
    ['evtx info', ['evtx', 'info', x.cut]],
    ['evtx info -f json', ['evtx', 'info', '-f', 'json', x.cut]],
    ['cim namespaces', ['cim', 'namespaces', x.sub]],
    ['sysmon audit', ['sysmon', 'audit', x.text]],
  ];
  for (const [what, args] of runs) {
    const r = await runCli(args, { timeoutMs: 60_000 });
    finished(r, what);
    assert.ok(!RAW.test(r.stdout), `${what}: raw control character on stdout`);
    assert.ok(!RAW.test(r.stderr), `${what}: raw control character on stderr:\n${r.stderr}`);
  }
  // the names are shown, escaped the way evidence text is
  const scan = await runCli(['scan', '-v', '-j', '1', '-f', 'table', x.dir], { timeoutMs: 60_000 });
  const shown = 'x\\x1b]0;pwned\\x07\\x1b[31m';
  // the table on stdout lists its notes itself (with -v the skipped files too), not again on stderr
  assert.ok(scan.stdout.includes(`${shown}.txt`) && scan.stdout.includes('not-evidence: '), scan.stdout);
  assert.ok(!scan.stderr.includes('skipped (not-evidence)'), scan.stderr);
  assert.ok(scan.stdout.includes(shown), 'the table names the hostile file, escaped');
  // a report that is not the table on stdout: the notes go to stderr, escaped
  const quietJson = await runCli(['scan', '-v', '-j', '1', '-f', 'json', x.dir], { timeoutMs: 60_000 });
  assert.ok(quietJson.stderr.includes(`${shown}.txt: skipped (not-evidence)`), quietJson.stderr);
  const info = await runCli(['evtx', 'info', x.cut], { timeoutMs: 60_000 });
  assert.ok(info.stdout.includes(`file:               ${join(x.dir, `${shown}-cut.evtx`)}`), info.stdout);
  // the JSON report keeps the real name (JSON escapes it; parsed back it is the name on disk)
  const json = await runCli(['scan', '-j', '1', '-f', 'json', x.dir], { timeoutMs: 60_000 });
  const report = JSON.parse(json.stdout) as Report;
  assert.ok(report.evidence.some((e) => e.file === x.log), 'the evidence item names the file as it is on disk');
  assert.ok(consumersOf(json.stdout).includes(GOOD_LOG_CONSUMER));
  assert.ok(HOSTILE_NAME.includes('\u001b'));
});

test('names: a file or folder whose name is not valid UTF-8 is read and shown with \\xNN', async (t) => {
  const root = tempDir('nonutf8');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = nonUtf8Tree(root);
  for (const threads of ['1', '2']) {
    const r = await runCli(['scan', '-v', '-j', threads, '-f', 'json', dir], { timeoutMs: 60_000 });
    finished(r, `-j ${threads}`);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    const files = report.evidence.map((e) => e.file).sort();
    assert.deepEqual(files, [join(dir, NON_UTF8.fileLabel), join(dir, NON_UTF8.folderLabel, 'inner.evtx')].sort());
    assert.deepEqual(consumersOf(r.stdout), [GOOD_LOG_CONSUMER]);
    assert.ok(!report.notes.some((n) => n.file.includes('/proc/self/fd')), 'notes name the file, not the descriptor it was read through');
  }
  const cov = await runCli(['coverage', '-f', 'text', dir], { timeoutMs: 60_000 });
  finished(cov, 'coverage');
  assert.equal(cov.code, 0, cov.stderr);
  assert.ok(cov.stdout.includes(NON_UTF8.fileLabel), cov.stdout);
});

test('discovery: a link to a file inside is read once and noted, links to a file or folder outside are not followed (noted) unless --follow-symlinks, a loop and a dangling link are notes', async (t) => {
  const root = tempDir('links');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { input, outside } = symlinkTree(root);
  const r = await runCli(['scan', '-v', '-j', '1', '-f', 'json', input], { timeoutMs: 60_000 });
  finished(r, 'scan');
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.deepEqual(report.evidence.map((e) => e.file), [join(input, 'data', 'a.evtx')], 'the linked file is read once; nothing outside is');
  assert.deepEqual(consumersOf(r.stdout), [GOOD_LOG_CONSUMER]);
  const link = (name: string): string => report.notes.find((n) => n.file === join(input, name) && n.code === 'link')?.message ?? '';
  assert.match(link('link.evtx'), /symbolic link to the file .*; read$|the same file as .*a\.evtx; read once/);
  assert.match(link('outlink.evtx'), /symbolic link to the file .*, outside the scanned folders; not read \(--follow-symlinks reads it\)/);
  assert.match(link('outside'), /outside the scanned folders; not followed \(--follow-symlinks follows it\)/);
  assert.match(link('loop'), /already walked/);
  assert.match(link('dangling'), /does not exist/);
  assert.ok(r.stderr.includes(`${join(input, 'outside')}: skipped (link)`), 'shown with -v');
  // without -v the link notes stay in the report but not on stderr
  const quiet = await runCli(['scan', '-j', '1', '-f', 'json', input], { timeoutMs: 60_000 });
  assert.ok(!quiet.stderr.includes('(link)'), quiet.stderr);
  // --follow-symlinks: the folder outside is walked, the loop is still cut
  const follow = await runCli(['scan', '--follow-symlinks', '-v', '-j', '1', '-f', 'json', input], { timeoutMs: 60_000 });
  finished(follow, '--follow-symlinks');
  const followed = JSON.parse(follow.stdout) as Report;
  assert.deepEqual(followed.evidence.map((e) => e.file).sort(), [join(input, 'data', 'a.evtx'), join(input, 'outlink.evtx'), join(input, 'outside', 'sub', 'outside.evtx')].sort());
  assert.ok(followed.notes.some((n) => n.file === join(input, 'loop') && /already walked/.test(n.message)));
  assert.ok(existsSync(outside));
  // coverage has the same walk and the same flag
  const cov = await runCli(['coverage', '-f', 'json', '--follow-symlinks', input], { timeoutMs: 60_000 });
  finished(cov, 'coverage --follow-symlinks');
  assert.equal((JSON.parse(cov.stdout) as Report).evidence.length, 3);
});

test('output: -o onto an input file or into an input folder is refused before reading (exit 2), the evidence unchanged', async (t) => {
  const root = tempDir('output');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'evidence');
  mkdirSync(dir);
  const log = join(dir, 'copy.evtx');
  copyFileSync(GOOD_LOG, log);
  const before = readFileSync(log);
  for (const [what, args] of [
    ['scan -o input', ['scan', '-o', log, log]],
    ['scan -o input in a folder given', ['scan', '-o', log, dir]],
    ['scan -o new file in an input folder', ['scan', '-o', join(dir, 'report.json'), dir]],
    ['coverage -o input', ['coverage', '-o', log, log]],
    ['evtx dump -o input', ['evtx', 'dump', '-o', log, log]],
  ] as const) {
    const r = await runCli([...args], { timeoutMs: 60_000 });
    finished(r, what);
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, /^wmiscope: error: output .*(is the input|inside the input folder).*\n$/, what);
    assert.deepEqual(readFileSync(log), before, `${what}: the evidence is unchanged`);
  }
  assert.equal(existsSync(join(dir, 'report.json')), false);
  // beside the evidence is fine
  const ok = await runCli(['scan', '-q', '-o', join(root, 'report.json'), dir], { timeoutMs: 60_000 });
  assert.equal(ok.code, 1, ok.stderr);
});

test('output: a stdout or an output file that cannot be written (/dev/full) is one error line and exit 2, no stack trace', { skip: existsSync('/dev/full') ? false : 'no /dev/full on this system' }, async () => {
  const runs: Array<[string[], string | undefined, string]> = [
    [['scan', '-j', '1', '-f', 'json', GOOD_LOG], '/dev/full', 'output (stdout)'],
    [['coverage', '-f', 'json', GOOD_LOG], '/dev/full', 'output (stdout)'],
    [['evtx', 'dump', GOOD_LOG], '/dev/full', 'output (stdout)'],
    [['evtx', 'info', GOOD_LOG], '/dev/full', 'output (stdout)'],
    [['scan', '-j', '1', '-f', 'json', '-o', '/dev/full', GOOD_LOG], undefined, 'output /dev/full'],
    [['evtx', 'dump', '-o', '/dev/full', GOOD_LOG], undefined, 'output /dev/full'],
  ];
  for (const [args, stdoutTo, what] of runs) {
    const r = await runCli(args, { ...(stdoutTo ? { stdoutTo } : {}), timeoutMs: 60_000 });
    finished(r, args.join(' '));
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('wmiscope: error'));
    assert.deepEqual(lines, [`wmiscope: error: ${what}: cannot be written (ENOSPC)`], r.stderr);
  }
});

test('output: a pipe closed by its reader (| head, quitting less) ends the command with exit 2 and no error line', async () => {
  for (const args of [['evtx', 'dump', GOOD_LOG], ['evtx', 'info', GOOD_LOG], ['scan', '-j', '1', '--details', GOOD_LOG]]) {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // the reader goes away before the first byte: every write meets EPIPE
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.doesNotMatch(stderr, /wmiscope: error|EPIPE|\n\s+at /, `${args.join(' ')}: ${stderr}`);
  }
});

const BIG = join(samplesDir(), 'evtx/bench/mixed-480chunks.evtx');

test('watchdog: a file still being read past --file-timeout becomes an error note; the good log beside it keeps its finding', { skip: existsSync(BIG) ? false : `${BIG} not found` }, async () => {
  // in this thread (-j 1: the readers check the clock; the bench file's 36,000 records take far longer than 0.1 s
  // anywhere), and in worker threads (-j 2 with 4 inputs: a pool; a worker past its budget is stopped)
  const fixtures = ['issue_38.evtx', 'Application_no_crc32.evtx'].map((f) => join(repoRoot(), 'test/fixtures/evtx', f));
  for (const [threads, budget, inputs] of [['1', '0.1', [BIG, GOOD_LOG]], ['2', '0.15', [BIG, GOOD_LOG, ...fixtures]]] as const) {
    // the big file first: the good log after it, on the same worker lane, has a budget of its own
    const r = await runCli(['scan', '--file-timeout', budget, '-j', threads, '-f', 'json', ...inputs], { timeoutMs: 120_000 });
    finished(r, `-j ${threads}`);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    const note = report.notes.find((n) => n.file === BIG && n.code === 'failed');
    assert.equal(note?.level, 'error', JSON.stringify(report.notes));
    assert.match(note?.message ?? '', new RegExp(`still running after ${budget.replace('.', '\\.')} s \\(the per-file time budget, --file-timeout\\)`));
    assert.deepEqual(consumersOf(r.stdout), [GOOD_LOG_CONSUMER]);
    const read = report.evidence.map((e) => e.file);
    assert.ok(read.includes(GOOD_LOG) && !read.includes(BIG), JSON.stringify(read));
  }
});

test('watchdog: each member of an archive read in this thread has its own budget: a slow member is an error note, the others are read', { skip: existsSync(BIG) ? false : `${BIG} not found` }, async () => {
  const root = tempDir('slowzip');
  try {
    const zip = join(root, 'collection.zip');
    writeZip(zip, [
      { name: 'logs/big.evtx', data: readFileSync(BIG), method: 'store' },
      { name: 'logs/good.evtx', data: readFileSync(GOOD_LOG) },
    ]);
    const r = await runCli(['scan', '--file-timeout', '0.1', '-j', '1', '-f', 'json', zip], { timeoutMs: 120_000 });
    finished(r, 'slow member');
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    assert.match(report.notes.find((n) => n.file === `${zip}!/logs/big.evtx`)?.message ?? '', /still running after 0\.1 s/);
    assert.deepEqual(report.evidence.map((e) => e.file), [`${zip}!/logs/good.evtx`]);
    assert.deepEqual(consumersOf(r.stdout), [GOOD_LOG_CONSUMER]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
