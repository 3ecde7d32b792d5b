/**
 * Hostile repositories (issue 13, class 4): a repository file is never read whole. OBJECTS.DATA past 2 GiB (sparse,
 * generated at test time: no disk cost) is read page by page, in a child process under a 512 MB heap cap, with a good
 * log beside it that keeps its finding; a mapping file too large to be one is refused with a warning and the other
 * mapping files still serve. Reading through the page cache gives the same results as reading from memory, also
 * when the cache is so small that every page is evicted again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CimRepository } from '../src/cim/index.js';
import { GOOD_LOG, GOOD_LOG_CONSUMER, consumersOf, runCli } from './support/child.js';
import { sparseGiantRepository } from './support/hostile/cim.js';
import { buildRepository, standardFixtureSpec } from './support/cim-builder.js';
import { repoRoot } from './support/samples.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'wmiscope-hostile-cim-'));
}

/** Blocks really allocated by a file, bytes (a sparse file allocates few). */
function allocated(file: string): number {
  return statSync(file).blocks * 512;
}

test('an OBJECTS.DATA of 2.5 GiB (sparse) is read page by page: its live and deleted subscriptions are found, memory stays bounded, the good log keeps its finding', { timeout: 900_000 }, async (t) => {
  const root = tmp();
  try {
    const repo = sparseGiantRepository(join(root, 'Repository'));
    const objects = join(repo.dir, 'OBJECTS.DATA');
    if (allocated(objects) > 64 << 20) return t.skip(`the file system of ${tmpdir()} does not keep files sparse`);
    assert.equal(statSync(objects).size, 2.5 * 2 ** 30);
    const run = await runCli(['scan', repo.dir, GOOD_LOG, '-f', 'json'], { maxOldSpaceMb: 512, timeoutMs: 600_000 });
    t.diagnostic(`wall ${run.wallMs} ms, peak RSS ${run.peakRssMb?.toFixed(0)} MB`);
    assert.equal(run.timedOut, false);
    assert.equal(run.signal, null);
    assert.equal(run.code, 1, run.stderr); // findings
    assert.ok(run.peakRssMb !== null && run.peakRssMb < 512, `peak RSS ${run.peakRssMb} MB`);
    const consumers = consumersOf(run.stdout);
    assert.ok(consumers.includes(GOOD_LOG_CONSUMER), 'the good log keeps its finding');
    assert.ok(consumers.includes(repo.liveConsumer), 'the live subscription of the big repository');
    // the deleted consumer's record is only on a free page past the 2 GiB mark: the carving reached it there
    assert.ok(consumers.includes(repo.deletedConsumer), 'the deleted consumer carved past 2 GiB');
    const report = JSON.parse(run.stdout) as { notes: Array<{ file: string; level: string; message: string }> };
    assert.deepEqual(
      report.notes.filter((n) => n.level === 'error'),
      [],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('in process: the residue past 2 GiB is carved at its offset, with a page cache of a few pages', { timeout: 900_000 }, (t) => {
  const root = tmp();
  try {
    const repo = sparseGiantRepository(join(root, 'Repository'));
    if (allocated(join(repo.dir, 'OBJECTS.DATA')) > 64 << 20) return t.skip(`the file system of ${tmpdir()} does not keep files sparse`);
    const r = CimRepository.open(repo.dir, { pageCacheBytes: 8 * 8192 });
    try {
      assert.deepEqual(r.subscriptions().consumers.map((c) => c.values['Name']), [repo.liveConsumer]);
      const residue = r.residue();
      assert.deepEqual(
        residue.map((x) => [x.kind, x.values['Name'], x.source, x.offset]),
        [['consumer', repo.deletedConsumer, 'unmapped-page', repo.freePageOffset + residue[0]!.offset % 8192]],
      );
      assert.ok(residue[0]!.offset > 2 ** 31);
      assert.deepEqual(r.warnings, []);
    } finally {
      r.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a mapping file too large to be one is refused with a warning (nothing read); the other mapping files still serve', () => {
  const root = tmp();
  try {
    const spec = standardFixtureSpec();
    const built = buildRepository(root, spec);
    const current = built.currentMappingFile;
    const other = built.mappingFiles.find((m) => !m.current)!.file;
    const before = CimRepository.open(root);
    const expected = JSON.stringify(before.subscriptions());
    before.close();
    // an older mapping file grown (sparse) to 100 MiB
    truncateSync(join(root, other), 100 << 20);
    const r = CimRepository.open(root);
    try {
      assert.equal(r.mapping.current, current);
      assert.equal(JSON.stringify(r.subscriptions()), expected);
      const w = r.warnings.filter((x) => x.code === 'mapping');
      assert.equal(w.length, 1);
      assert.match(w[0]!.message, new RegExp(`^${other.replace('.', '\\.')}: 104857600 bytes, more than a file of its kind holds`));
    } finally {
      r.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const samples = resolve(repoRoot(), '../shared/samples/cim');
const skipSamples = existsSync(samples) ? false : `CIM samples not found at ${samples} (expected ../shared/samples next to the repo)`;

const everything = (r: CimRepository): string =>
  JSON.stringify({ ns: r.namespaces(), subs: r.subscriptions(), residue: r.residue(), stale: r.staleKeys(), large: r.largeStrings(), keys: r.keys().length, warnings: r.warnings });

/** The repository in `dir` read from memory, and from disk through a page cache of 4 pages (every page evicted again and again). */
function sameFromDiskAndMemory(dir: string, label: string): void {
  const files = new Map<string, Uint8Array>();
  for (const f of readdirSync(dir)) files.set(f.toUpperCase(), readFileSync(join(dir, f)));
  const fromMemory = everything(CimRepository.open(dir, { files }));
  const r = CimRepository.open(dir, { pageCacheBytes: 4 * 8192 });
  try {
    assert.equal(everything(r), fromMemory, label);
  } finally {
    r.close();
  }
}

test('the standard builder repository (multi-page record, residue, older mapping, stale keys): from disk through a page cache of 4 pages = from memory', () => {
  const root = tmp();
  try {
    buildRepository(root, standardFixtureSpec());
    sameFromDiskAndMemory(root, 'standard fixture');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('every whole sample repository: from disk through a page cache of 4 pages = from memory', { skip: skipSamples }, () => {
  let compared = 0;
  for (const name of readdirSync(samples).sort()) {
    const src = join(samples, name);
    if (!statSync(src).isDirectory() || !readdirSync(src).some((f) => /^index\.btr(\.gz)?$/i.test(f))) continue; // mapping-only samples and fragments
    const dir = tmp();
    try {
      for (const f of readdirSync(src)) {
        const b = readFileSync(join(src, f));
        writeFileSync(join(dir, f.replace(/\.gz$/i, '')), f.toLowerCase().endsWith('.gz') ? gunzipSync(b) : b);
      }
      sameFromDiskAndMemory(dir, name);
      compared++;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // dissect-cim-win10 and dtformats-xp
  assert.ok(compared >= 2, `${compared} repositories compared`);
});
