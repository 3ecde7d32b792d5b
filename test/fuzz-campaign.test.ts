/**
 * The CI-sized run of the whole-CLI mutation campaign (`npm run fuzz`, test/support/fuzz-campaign.ts): a few
 * fixed-seed mutants of each target, each read by the CLI in a child under a 512 MB heap cap and a wall-clock
 * guard beside a good log whose finding must survive. A large run is `npm run fuzz -- --mutants 3000`.
 *
 * The mutants are fixed by the seed; a failure prints the campaign summary, the failing mutant's operations, the
 * command that reproduces it on the saved bytes and `npm run fuzz -- --seed S --only ID` to rebuild them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { GOOD_LOG_CONSUMER } from './support/child.js';
import type { ChildRun } from './support/child.js';
import { formatSummary, judge, runCampaign } from './support/fuzz-campaign.js';
import type { Summary } from './support/fuzz-campaign.js';

const SEED = 0x13f022;
/** Generous: a hang guard, not a speed bound (a child takes ~1 s on a loaded 2-core machine). */
const TIME_MS = 60_000;
const HEAP_MB = 512;

const out = mkdtempSync(path.join(tmpdir(), 'wmiscope-fuzz-test-'));
after(() => rmSync(out, { recursive: true, force: true }));

function explain(s: Summary): string {
  return `${formatSummary(s)}\n${s.failures.map((f) => `${f.id} [${f.kinds.join(',')}] ${f.seedName}: ${f.ops}\n  ${f.command}\n  ${f.stderrTail.slice(-600)}`).join('\n')}`;
}

describe('mutation campaign (CI size)', () => {
  it('EVTX and text-export mutants: every child finishes within its limits, prints JSON, and the good log keeps its finding', async () => {
    const s = await runCampaign({ mutants: 12, seed: SEED, targets: ['evtx', 'text'], timeMs: TIME_MS, heapMb: HEAP_MB, outDir: path.join(out, 'a') });
    assert.equal(s.perTarget.evtx?.mutants, 6);
    assert.equal(s.perTarget.evtx?.children, 12, 'scan and evtx dump per EVTX mutant');
    assert.equal(s.perTarget.text?.mutants, 6);
    assert.ok(s.seeds.evtx.length >= 5 && s.seeds.text.length >= 10, `seeds: ${JSON.stringify(s.seeds)}`);
    assert.deepEqual(s.failures, [], explain(s));
  });

  it('repository mutants (a repository built by cim-builder): the same', async () => {
    const s = await runCampaign({ mutants: 5, seed: SEED, targets: ['cim'], timeMs: TIME_MS, heapMb: HEAP_MB, outDir: path.join(out, 'b'), samples: false });
    assert.equal(s.perTarget.cim?.mutants, 5);
    assert.deepEqual(s.seeds.cim, ['cim-builder standardFixtures']);
    assert.deepEqual(s.failures, [], explain(s));
  });

  it('a child that outruns its time limit is a failure, saved with the mutant and a command that replays it', async () => {
    const dir = path.join(out, 'c');
    const s = await runCampaign({ mutants: 1, seed: SEED, targets: ['text'], timeMs: 1, heapMb: HEAP_MB, outDir: dir, only: ['text-3'] });
    assert.equal(s.failures.length, 1);
    const f = s.failures[0]!;
    assert.equal(f.id, 'text-3');
    assert.ok(f.kinds.includes('timeout'), f.kinds.join(','));
    assert.equal(s.failuresByKind.timeout, 1);
    assert.match(f.command, /--max-old-space-size=512 .*'scan' '.*text-3\/[^']+' /);
    const saved = JSON.parse(readFileSync(path.join(f.saved, 'failure.json'), 'utf8')) as { regenerate: string };
    assert.equal(saved.regenerate, `npm run fuzz -- --seed ${SEED} --only text-3`);
    assert.ok(existsSync(path.join(f.saved, path.basename(f.seedName))), 'the mutant bytes are saved');
    assert.ok(existsSync(path.join(dir, 'summary.json')));
  });

  it('judges a child: each way of failing is named, a clean run with the good finding passes', () => {
    const good = JSON.stringify({ findings: [{ consumer: { name: GOOD_LOG_CONSUMER } }], notes: [] });
    const run = (o: Partial<ChildRun>): ChildRun => ({ code: 1, signal: null, stdout: good, stderr: '', peakRssMb: 80, timedOut: false, wallMs: 900, ...o });
    const scan = (o: Partial<ChildRun>): string[] => judge(run(o), { rssMb: 512, expect: 'scan' }, () => null);
    assert.deepEqual(scan({}), []);
    assert.deepEqual(scan({ stderr: 'warning: x.evtx: chunk slot 1: header CRC32 mismatch\n' }), []);
    assert.deepEqual(scan({ code: null, signal: 'SIGKILL', timedOut: true, stdout: '', peakRssMb: null }), ['timeout']);
    assert.deepEqual(scan({ code: 134, stdout: '', stderr: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' }), ['out-of-memory']);
    assert.deepEqual(scan({ code: null, signal: 'SIGSEGV', stdout: '' }), ['signal']);
    assert.deepEqual(scan({ code: 7 }), ['exit-code']);
    assert.deepEqual(scan({ stderr: "TypeError: Cannot read properties of undefined (reading 'x')\n    at f (file:///a/b.js:1:2)\n" }), ['stack-trace', 'internal-error']);
    assert.deepEqual(scan({ stderr: 'note: x: RangeError: Maximum call stack size exceeded\n' }), ['stack-overflow', 'internal-error']);
    assert.deepEqual(scan({ stdout: good.slice(0, -3) }), ['bad-json']);
    assert.deepEqual(scan({ code: 0, stdout: JSON.stringify({ findings: [] }) }), ['lost-good-finding']);
    assert.deepEqual(scan({ code: 2, stdout: '' }), ['lost-good-finding']);
    assert.deepEqual(scan({ peakRssMb: 600 }), ['rss']);
    const dump = (o: Partial<ChildRun>, text: string | null): string[] => judge(run({ code: 0, stdout: '', ...o }), { rssMb: 512, expect: 'dump' }, () => text);
    assert.deepEqual(dump({}, '[\n{"Event":{}}\n]\n'), []);
    assert.deepEqual(dump({}, '[\n{"Event":{}}\n'), ['bad-json']);
    assert.deepEqual(dump({ code: 2 }, null), []);
  });
});
