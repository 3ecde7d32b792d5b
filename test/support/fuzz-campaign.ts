/**
 * The whole-CLI mutation campaign behind `npm run fuzz` (bench/fuzz.ts) and its CI-sized run
 * (test/fuzz-campaign.test.ts).
 *
 * Each mutant is a real seed file (or repository folder) changed by a few seeded operations, written to a
 * temporary folder and read by the built CLI in a child process (test/support/child.ts) under a V8 heap cap and
 * a wall-clock guard, always beside a good log ({@link GOOD_LOG}) whose finding must survive:
 *  - every target: `scan <mutant> <GOOD_LOG> -f json -j 1`;
 *  - EVTX also: `evtx dump <mutant> -f json -r -o <file>`.
 * A mutant fails when a child is killed by the time limit, dies on a signal or out of memory, exits with a code
 * other than 0/1/2 (a scan with the good log beside it must exit 1), prints a stack trace, reports an internal
 * error (TypeError & co) as a note, writes output that is not the JSON asked for, loses the good log's finding,
 * or peaks above the memory limit. Failures are saved (mutant bytes, what was done to them, the commands and
 * their stderr) so each can be replayed alone.
 *
 * Mutants are numbered per target (`evtx-0`, `evtx-1`, ..., `cim-0`, ..., `text-0`, ...) and each is derived from
 * (campaign seed, target, number) only, so `--only evtx-17` rebuilds exactly the same bytes.
 *
 * Seeds: the EVTX fixtures in test/fixtures/evtx, the text exports in test/fixtures/exports, a repository built
 * by test/support/cim-builder.ts, and — when `../shared/samples` is present — its EVTX files up to 1 MiB and the
 * real Win10 repository (`cim/dissect-cim-win10/*.gz`, gunzipped once).
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { CLI, GOOD_LOG, GOOD_LOG_CONSUMER, runCli } from './child.js';
import type { ChildRun } from './child.js';
import { prng, standardFixtures } from './cim-builder.js';
import { CHUNK, FILE_HEADER, applyCase, caseArb, fixCrcs, slots } from './evtx-mutate.js';
import { repoRoot, samplesDir } from './samples.js';

export const TARGETS = ['evtx', 'cim', 'text'] as const;
export type Target = (typeof TARGETS)[number];

export interface CampaignOptions {
  /** Mutants in all, spread round-robin over `targets`. */
  mutants: number;
  seed: number;
  targets: readonly Target[];
  /** Wall-clock limit of one child, ms. */
  timeMs: number;
  /** V8 heap cap of one child, MiB; also the peak-RSS limit unless `rssMb` is given. */
  heapMb: number;
  rssMb?: number;
  /** Where failures and summary.json go (created). */
  outDir: string;
  /** Only these mutant ids (`evtx-17`), e.g. to replay a failure. */
  only?: readonly string[];
  /** Stop starting new mutants after this many ms (the summary says so). */
  budgetMs?: number;
  /** Use the shared sample corpus when present (default true). */
  samples?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

export type FailureKind =
  | 'timeout'
  | 'out-of-memory'
  | 'signal'
  | 'exit-code'
  | 'stack-trace'
  | 'stack-overflow'
  | 'internal-error'
  | 'bad-json'
  | 'lost-good-finding'
  | 'rss';

export interface Failure {
  id: string;
  target: Target;
  seedName: string;
  ops: string;
  command: string;
  kinds: FailureKind[];
  wallMs: number;
  peakRssMb: number | null;
  code: number | null;
  signal: string | null;
  /** Where the mutant and its description were saved. */
  saved: string;
  stderrTail: string;
}

export interface TargetStats {
  mutants: number;
  children: number;
  failedMutants: number;
  worstMs: number;
  worstMsId: string;
  worstRssMb: number;
  worstRssId: string;
  exitCodes: Record<string, number>;
}

export interface Summary {
  seed: number;
  timeMs: number;
  heapMb: number;
  rssMb: number;
  seeds: Record<Target, string[]>;
  perTarget: Partial<Record<Target, TargetStats>>;
  failuresByKind: Partial<Record<FailureKind, number>>;
  failures: Failure[];
  stoppedEarly: boolean;
  elapsedMs: number;
}

// ---- seeds ---------------------------------------------------------------------------------------------------

interface FileSeed {
  name: string;
  bytes: Uint8Array;
}
interface RepoSeed {
  name: string;
  dir: string;
  files: string[];
}
interface Seeds {
  evtx: FileSeed[];
  text: FileSeed[];
  cim: RepoSeed[];
}

const MAX_EVTX_SEED = 1 << 20;
const REPO_FILES = ['MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP', 'INDEX.BTR', 'OBJECTS.DATA'];

function listFiles(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && keep(e.name)) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

function loadSeeds(targets: readonly Target[], work: string, useSamples: boolean): Seeds {
  const root = repoRoot();
  const seeds: Seeds = { evtx: [], text: [], cim: [] };
  const shared = samplesDir();
  if (targets.includes('evtx')) {
    const files = listFiles(path.join(root, 'test/fixtures/evtx'), (n) => n.endsWith('.evtx'));
    if (useSamples) files.push(...listFiles(path.join(shared, 'evtx'), (n) => n.toLowerCase().endsWith('.evtx')).filter((p) => statSync(p).size <= MAX_EVTX_SEED));
    for (const f of files) seeds.evtx.push({ name: path.relative(path.dirname(root), f), bytes: readFileSync(f) });
  }
  if (targets.includes('text')) {
    for (const f of listFiles(path.join(root, 'test/fixtures/exports'), (n) => n !== 'NOTICE.md')) seeds.text.push({ name: path.relative(path.dirname(root), f), bytes: readFileSync(f) });
  }
  if (targets.includes('cim')) {
    const built = path.join(work, 'seed-built');
    mkdirSync(built, { recursive: true });
    standardFixtures(built);
    seeds.cim.push({ name: 'cim-builder standardFixtures', dir: built, files: REPO_FILES.filter((f) => existsSync(path.join(built, f))) });
    const win10 = path.join(shared, 'cim/dissect-cim-win10');
    if (useSamples && REPO_FILES.every((f) => existsSync(path.join(win10, `${f}.gz`)))) {
      const dir = path.join(work, 'seed-win10');
      mkdirSync(dir, { recursive: true });
      for (const f of REPO_FILES) writeFileSync(path.join(dir, f), gunzipSync(readFileSync(path.join(win10, `${f}.gz`))));
      seeds.cim.push({ name: 'shared/samples/cim/dissect-cim-win10', dir, files: REPO_FILES });
    }
  }
  return seeds;
}

// ---- mutation ------------------------------------------------------------------------------------------------

type Rnd = () => number;
const int = (r: Rnd, n: number): number => Math.floor(r() * n);
const choose = <T>(r: Rnd, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** FNV-1a of the campaign seed, target and number: the seed of one mutant. */
function mutantSeed(seed: number, target: Target, k: number): number {
  let h = 0x811c9dc5;
  for (const c of `${seed}/${target}/${k}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** Values an attacker writes into a length/count/offset field of `width` bytes (little-endian). */
function extreme(r: Rnd, width: number, fileLength: number): bigint {
  const max = (1n << BigInt(8 * width)) - 1n;
  const v = choose(r, [0n, max, max >> 1n, (max >> 1n) + 1n, 1n, 2n, 0x10n, 0x2000n, 0x10000n, BigInt(fileLength), BigInt(fileLength + 1), BigInt(fileLength) * 2n, BigInt(int(r, 0x10000)), BigInt(int(r, 2 ** 32))]);
  return v & max;
}

function putBig(b: Uint8Array, o: number, v: bigint, width: number): void {
  for (let i = 0; i < width && o + i < b.length; i++) b[o + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

/** One generic byte-level operation (flip, field overwrite, zeroed run, truncation, block copy); returns the new bytes and a description. */
function byteOp(r: Rnd, b: Uint8Array, blockSize: number, other: Uint8Array | undefined): { bytes: Uint8Array; desc: string } {
  if (b.length === 0) return { bytes: b, desc: 'empty' };
  // offsets: anywhere, or near the start of a block (where headers are)
  const at = (align: number): number => {
    const o = r() < 0.5 ? int(r, b.length) : Math.min(b.length - 1, int(r, Math.ceil(b.length / blockSize)) * blockSize + int(r, 64));
    return o - (o % align);
  };
  const k = choose(r, ['flip', 'flip', 'field', 'field', 'field', 'field', 'zero', 'truncate', 'copy', 'splice'] as const);
  switch (k) {
    case 'flip': {
      const o = at(1);
      const bit = int(r, 8);
      b[o]! ^= 1 << bit;
      return { bytes: b, desc: `flip @${o} bit ${bit}` };
    }
    case 'field': {
      const width = choose(r, [1, 2, 4, 4, 8]);
      const o = at(width);
      const v = extreme(r, width, b.length);
      putBig(b, o, v, width);
      return { bytes: b, desc: `set${width * 8} @${o} = 0x${v.toString(16)}` };
    }
    case 'zero': {
      const o = at(1);
      const len = choose(r, [1, 8, 64, 512, blockSize, 4 * blockSize]);
      b.fill(choose(r, [0, 0xff]), o, Math.min(b.length, o + len));
      return { bytes: b, desc: `fill @${o} +${len}` };
    }
    case 'truncate': {
      const o = r() < 0.5 ? int(r, b.length) : int(r, Math.ceil(b.length / blockSize)) * blockSize + choose(r, [0, 1, 8, 64]);
      return { bytes: b.slice(0, Math.min(o, b.length)), desc: `truncate to ${Math.min(o, b.length)}` };
    }
    case 'copy': {
      const blocks = Math.max(1, Math.floor(b.length / blockSize));
      const s = int(r, blocks) * blockSize;
      const d = int(r, blocks) * blockSize;
      b.copyWithin(d, s, Math.min(b.length, s + blockSize));
      return { bytes: b, desc: `copy block @${s} -> @${d}` };
    }
    case 'splice': {
      const src = other ?? b;
      if (src.length === 0) return { bytes: b, desc: 'splice (empty source)' };
      const s = int(r, src.length);
      const len = Math.min(src.length - s, choose(r, [16, 256, blockSize, 8 * blockSize]));
      const d = int(r, b.length);
      const out = new Uint8Array(d + len + (r() < 0.5 ? b.length - d : 0));
      out.set(b.subarray(0, d));
      out.set(src.subarray(s, s + len), d);
      if (out.length > d + len) out.set(b.subarray(d), d + len);
      return { bytes: out, desc: `splice ${len} bytes from ${other ? 'another seed' : 'itself'} @${s} into @${d}${out.length > d + len ? '' : ' (rest dropped)'}` };
    }
  }
}

const enc = new TextEncoder();
const TOKENS = ['{', '}', '[', ']', '"', '\\', ',', ':', '\\u', '\\ud800', '<Event>', '</Event>', '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">', '<![CDATA[', ']]>', '<!--', '<!DOCTYPE x [<!ENTITY a "aaaa">]>', '&a;', '&#0;', '&#x110000;', '&amp', '\u0000', '\r', '\n', '\u2028', '\ufeff', '{"EventID":', '"Event":{', '"winlog":{"event_id":'];
const NUMBERS = ['0', '-1', '-0', '1.5', '1e308', '-1e309', '4294967295', '4294967296', '18446744073709551616', '99999999999999999999999999999999', 'NaN', '0x7fffffff', '9'.repeat(400)];
const MAX_TEXT = 8 << 20;

/** One operation on a text export: lines, tokens, numbers, encodings, huge runs — or a byte-level one. */
function textOp(r: Rnd, b: Uint8Array, other: Uint8Array): { bytes: Uint8Array; desc: string } {
  const k = choose(r, ['bytes', 'bytes', 'line', 'line', 'token', 'token', 'number', 'number', 'huge', 'encoding', 'splice'] as const);
  const s = Buffer.from(b).toString('latin1'); // byte-preserving
  const lines = s.split('\n');
  const L = (x: string): Uint8Array => Buffer.from(x, 'latin1');
  switch (k) {
    case 'bytes':
      return byteOp(r, b, 4096, other);
    case 'line': {
      const i = int(r, lines.length);
      const j = int(r, lines.length);
      const op = choose(r, ['delete', 'duplicate', 'swap', 'cut', 'join', 'foreign'] as const);
      if (op === 'delete') lines.splice(i, 1);
      else if (op === 'duplicate') lines.splice(i, 0, ...Array<string>(choose(r, [1, 2, 100, 5000])).fill(lines[j]!));
      else if (op === 'swap') [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      else if (op === 'cut') lines[i] = lines[i]!.slice(0, int(r, lines[i]!.length + 1));
      else if (op === 'join' && i + 1 < lines.length) lines.splice(i, 2, lines[i]! + lines[i + 1]!);
      else if (op === 'foreign') {
        const ol = Buffer.from(other).toString('latin1').split('\n');
        lines.splice(i, 0, ol[int(r, ol.length)]!);
      }
      const out = lines.join('\n');
      return { bytes: L(out.length > MAX_TEXT ? out.slice(0, MAX_TEXT) : out), desc: `line ${op} ${i} ${j}` };
    }
    case 'token': {
      const o = int(r, s.length + 1);
      const t = choose(r, TOKENS);
      const n = choose(r, [1, 1, 1, 2, 50]);
      return { bytes: Buffer.concat([b.subarray(0, o), enc.encode(t.repeat(n)), b.subarray(o)]), desc: `insert ${JSON.stringify(t)}×${n} @${o}` };
    }
    case 'number': {
      const runs = [...s.matchAll(/-?\d+(\.\d+)?/g)];
      if (runs.length === 0) return { bytes: b, desc: 'number (none)' };
      const m = choose(r, runs);
      const v = choose(r, NUMBERS);
      return { bytes: L(s.slice(0, m.index) + v + s.slice(m.index! + m[0].length)), desc: `number @${m.index} ${m[0]} -> ${v.length > 40 ? `${v.slice(0, 10)}…(${v.length})` : v}` };
    }
    case 'huge': {
      const o = int(r, s.length + 1);
      const what = choose(r, ['A', '[', '{"a":', '<a>', '"', '\\\\', ' ', '\n'] as const);
      const n = Math.floor(choose(r, [1 << 16, 1 << 20, 4 << 20]) / what.length);
      return { bytes: L(s.slice(0, o) + what.repeat(n) + s.slice(o)), desc: `insert ${JSON.stringify(what)}×${n} @${o}` };
    }
    case 'encoding': {
      const op = choose(r, ['utf16le', 'utf16le-bom', 'utf16be-bom', 'banner', 'crlf', 'invalid-utf8', 'bom'] as const);
      const text = Buffer.from(b).toString('utf8');
      let out: Uint8Array;
      if (op === 'utf16le') out = Buffer.from(text, 'utf16le');
      else if (op === 'utf16le-bom') out = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      else if (op === 'utf16be-bom') out = Buffer.from(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]).swap16());
      else if (op === 'banner') out = Buffer.concat([enc.encode('exported by some tool v1.0\n'), b]);
      else if (op === 'crlf') out = L(s.replace(/\n/g, '\r\n'));
      else if (op === 'bom') out = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
      else {
        const o = int(r, b.length + 1);
        out = Buffer.concat([b.subarray(0, o), Buffer.from([choose(r, [0xff, 0xc0, 0xe2, 0xed, 0xf4, 0x80])]), b.subarray(o)]);
      }
      return { bytes: out.length % 2 === 1 && op.startsWith('utf16') ? out.subarray(0, out.length - 1) : out, desc: `encoding ${op}` };
    }
    case 'splice': {
      const a = int(r, b.length + 1);
      const c = int(r, other.length + 1);
      return { bytes: Buffer.concat([b.subarray(0, a), other.subarray(c)]), desc: `splice head ${a} + other tail from ${c}` };
    }
  }
}

interface Mutant {
  id: string;
  target: Target;
  seedName: string;
  ops: string;
  /** What to scan (a file or a repository folder). */
  scanPath: string;
  /** The EVTX file, for `evtx dump`. */
  evtxPath?: string;
}

/** Writes mutant `k` of `target` into `dir` (a fresh folder). */
function makeMutant(target: Target, k: number, seed: number, seeds: Seeds, dir: string): Mutant {
  const ms = mutantSeed(seed, target, k);
  const r = prng(ms);
  const id = `${target}-${k}`;
  if (target === 'evtx') {
    const c = fc.sample(caseArb, { seed: ms | 0, numRuns: 1 })[0]!;
    const bytes = applyCase(
      seeds.evtx.map((s) => s.bytes),
      c,
    );
    const crc = r() < 0.5;
    // the shared ops write 1/2/4-byte fields; record ids and record numbers in the headers are 8 bytes wide
    let wide = '';
    if (r() < 0.3 && bytes.length >= 128) {
      const n = slots(bytes);
      const o = n === 0 || r() < 0.25 ? int(r, 16) * 8 : FILE_HEADER + int(r, n) * CHUNK + int(r, 8) * 8;
      const v = extreme(r, 8, bytes.length);
      putBig(bytes, o, v, 8);
      wide = ` +set64 @${o} = 0x${v.toString(16)}`;
    }
    if (crc) fixCrcs(bytes);
    const src = seeds.evtx[c.seed % seeds.evtx.length]!;
    const file = path.join(dir, path.basename(src.name));
    writeFileSync(file, bytes);
    return { id, target, seedName: src.name, ops: `${JSON.stringify(c.ops)}${wide}${crc ? ' +crc fixed' : ''}`, scanPath: file, evtxPath: file };
  }
  if (target === 'text') {
    const src = choose(r, seeds.text);
    let bytes: Uint8Array = Uint8Array.from(src.bytes);
    const descs: string[] = [];
    const n = 1 + int(r, 4);
    for (let i = 0; i < n; i++) {
      const o = textOp(r, bytes, choose(r, seeds.text).bytes);
      bytes = o.bytes;
      descs.push(o.desc);
    }
    const file = path.join(dir, path.basename(src.name));
    writeFileSync(file, bytes);
    return { id, target, seedName: src.name, ops: descs.join('; '), scanPath: file };
  }
  // cim: one repository folder, one to three of its files mutated (or deleted), the others hard-linked
  // the built repository reads in ~1 s, the real Win10 one in several: it gets one mutant in five
  const repo = seeds.cim.length > 1 && r() < 0.2 ? choose(r, seeds.cim.slice(1)) : seeds.cim[0]!;
  const out = path.join(dir, 'repository');
  mkdirSync(out);
  const changed = new Map<string, Uint8Array | null>();
  const descs: string[] = [];
  const n = 1 + int(r, 3);
  for (let i = 0; i < n; i++) {
    const f = choose(r, [...repo.files, 'INDEX.BTR', 'OBJECTS.DATA', 'MAPPING1.MAP'].filter((x) => repo.files.includes(x)));
    if (r() < 0.04) {
      changed.set(f, null);
      descs.push(`${f}: deleted`);
      continue;
    }
    const cur = changed.get(f) ?? readFileSync(path.join(repo.dir, f));
    const other = readFileSync(path.join(repo.dir, choose(r, repo.files)));
    const o = byteOp(r, cur === null ? new Uint8Array(0) : Uint8Array.from(cur), 8192, other);
    changed.set(f, o.bytes);
    descs.push(`${f}: ${o.desc}`);
  }
  for (const f of repo.files) {
    const target = path.join(out, f);
    const c = changed.get(f);
    if (c === null) continue;
    if (c) writeFileSync(target, c);
    else
      try {
        linkSync(path.join(repo.dir, f), target);
      } catch {
        copyFileSync(path.join(repo.dir, f), target);
      }
  }
  return { id, target: 'cim', seedName: repo.name, ops: descs.join('; '), scanPath: out };
}

// ---- judging one child ---------------------------------------------------------------------------------------

const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;
const INTERNAL = /\b(TypeError|RangeError|ReferenceError|InternalError|AssertionError)\b|is not a function|Cannot read propert|is not iterable|Invalid array length|Invalid string length/;

/** The failure kinds of one finished child (none: it passed). `dumpJson` reads the `evtx dump -o` file. */
export function judge(run: ChildRun, opts: { rssMb: number; expect: 'scan' | 'dump' }, dumpJson: () => string | null): FailureKind[] {
  const kinds: FailureKind[] = [];
  // notes are on stderr too; stdout holds evidence text (scripts, command lines) that may say anything
  const all = run.stderr;
  if (run.timedOut) kinds.push('timeout');
  else if (run.code === 134 || /heap out of memory|Allocation failed|Reached heap limit/.test(run.stderr)) kinds.push('out-of-memory');
  else if (run.signal) kinds.push('signal');
  else if (run.code !== 0 && run.code !== 1 && run.code !== 2) kinds.push('exit-code');
  if (/Maximum call stack size exceeded/.test(all)) kinds.push('stack-overflow');
  if (STACK_FRAME.test(run.stderr)) kinds.push('stack-trace');
  if (INTERNAL.test(all)) kinds.push('internal-error');
  if (run.peakRssMb !== null && run.peakRssMb > opts.rssMb) kinds.push('rss');
  if (!run.timedOut && !run.signal) {
    if (opts.expect === 'scan') {
      // the good log beside the mutant always has a finding: exit 1 and its consumer in the report
      if (run.code === 0 || run.code === 1 || run.code === 2) {
        type Report = { findings?: Array<{ consumer?: { name?: string | null } | null }> };
        let report: Report | null = null;
        let parsed = false;
        try {
          report = JSON.parse(run.stdout) as Report;
          parsed = true;
        } catch {
          kinds.push(run.code === 2 ? 'lost-good-finding' : 'bad-json');
        }
        const findings = report?.findings;
        if (!parsed) {
          // named above
        } else if (!Array.isArray(findings)) kinds.push('bad-json');
        else if (run.code !== 1 || !findings?.some((f) => f.consumer?.name === GOOD_LOG_CONSUMER)) kinds.push('lost-good-finding');
      }
    } else if (run.code === 0) {
      const text = dumpJson();
      if (text !== null) {
        try {
          if (!Array.isArray(JSON.parse(text))) kinds.push('bad-json');
        } catch {
          kinds.push('bad-json');
        }
      }
    }
  }
  return [...new Set(kinds)];
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

// ---- the campaign --------------------------------------------------------------------------------------------

export async function runCampaign(o: CampaignOptions): Promise<Summary> {
  const started = Date.now();
  const log = o.log ?? ((): void => {});
  const rssMb = o.rssMb ?? o.heapMb;
  const work = mkdtempSync(path.join(tmpdir(), 'wmiscope-fuzz-'));
  const failDir = path.join(o.outDir, 'failures');
  mkdirSync(failDir, { recursive: true });
  const summary: Summary = {
    seed: o.seed,
    timeMs: o.timeMs,
    heapMb: o.heapMb,
    rssMb,
    seeds: { evtx: [], cim: [], text: [] },
    perTarget: {},
    failuresByKind: {},
    failures: [],
    stoppedEarly: false,
    elapsedMs: 0,
  };
  try {
    const seeds = loadSeeds(o.targets, work, o.samples ?? true);
    summary.seeds = { evtx: seeds.evtx.map((s) => s.name), text: seeds.text.map((s) => s.name), cim: seeds.cim.map((s) => s.name) };
    const targets = o.targets.filter((t) => seeds[t].length > 0);
    // the plan: round-robin over the targets, numbered per target
    const plan: Array<{ target: Target; k: number }> = [];
    if (o.only && o.only.length > 0) {
      for (const id of o.only) {
        const m = /^(evtx|cim|text)-(\d+)$/.exec(id);
        if (!m) throw new Error(`--only: "${id}" is not a mutant id like evtx-17`);
        plan.push({ target: m[1] as Target, k: Number(m[2]) });
      }
    } else for (let i = 0; i < o.mutants && targets.length > 0; i++) plan.push({ target: targets[i % targets.length]!, k: Math.floor(i / targets.length) });

    for (const [i, { target, k }] of plan.entries()) {
      if (o.budgetMs !== undefined && Date.now() - started > o.budgetMs) {
        summary.stoppedEarly = true;
        log(`time budget reached after ${i} mutants`);
        break;
      }
      const st = (summary.perTarget[target] ??= { mutants: 0, children: 0, failedMutants: 0, worstMs: 0, worstMsId: '', worstRssMb: 0, worstRssId: '', exitCodes: {} });
      const dir = path.join(work, `m-${target}-${k}`);
      mkdirSync(dir);
      const m = makeMutant(target, k, o.seed, seeds, dir);
      st.mutants++;
      const runs: Array<{ args: string[]; kinds: FailureKind[]; run: ChildRun }> = [];
      const scanArgs = ['scan', m.scanPath, GOOD_LOG, '-f', 'json', '-j', '1'];
      const scan = await runCli(scanArgs, { maxOldSpaceMb: o.heapMb, timeoutMs: o.timeMs });
      runs.push({ args: scanArgs, run: scan, kinds: judge(scan, { rssMb, expect: 'scan' }, () => null) });
      if (m.evtxPath) {
        const out = path.join(dir, 'dump.json');
        const dumpArgs = ['evtx', 'dump', m.evtxPath, '-f', 'json', '-r', '-o', out];
        const dump = await runCli(dumpArgs, { maxOldSpaceMb: o.heapMb, timeoutMs: o.timeMs });
        const read = (): string | null => (existsSync(out) && statSync(out).size < 256 << 20 ? readFileSync(out, 'utf8') : null);
        runs.push({ args: dumpArgs, run: dump, kinds: judge(dump, { rssMb, expect: 'dump' }, read) });
      }
      for (const x of runs) {
        st.children++;
        const codeKey = x.run.signal ?? (x.run.timedOut ? 'timeout' : String(x.run.code));
        st.exitCodes[`${x.args[0] === 'evtx' ? 'dump' : 'scan'}:${codeKey}`] = (st.exitCodes[`${x.args[0] === 'evtx' ? 'dump' : 'scan'}:${codeKey}`] ?? 0) + 1;
        if (x.run.wallMs > st.worstMs) [st.worstMs, st.worstMsId] = [x.run.wallMs, m.id];
        if ((x.run.peakRssMb ?? 0) > st.worstRssMb) [st.worstRssMb, st.worstRssId] = [x.run.peakRssMb!, m.id];
      }
      const bad = runs.filter((x) => x.kinds.length > 0);
      if (bad.length > 0) {
        st.failedMutants++;
        const saved = path.join(failDir, m.id);
        rmSync(saved, { recursive: true, force: true });
        mkdirSync(saved, { recursive: true });
        const rel = path.relative(dir, m.scanPath);
        if (target === 'cim') {
          mkdirSync(path.join(saved, rel));
          for (const f of readdirSync(m.scanPath)) copyFileSync(path.join(m.scanPath, f), path.join(saved, rel, f));
        } else copyFileSync(m.scanPath, path.join(saved, rel));
        for (const x of bad) {
          const args = x.args.map((a) => (a.startsWith(dir) ? path.join(saved, path.relative(dir, a)) : a));
          const command = `node --max-old-space-size=${o.heapMb} ${q(CLI)} ${args.map(q).join(' ')}`;
          const f: Failure = {
            id: m.id,
            target,
            seedName: m.seedName,
            ops: m.ops,
            command,
            kinds: x.kinds,
            wallMs: x.run.wallMs,
            peakRssMb: x.run.peakRssMb,
            code: x.run.code,
            signal: x.run.signal,
            saved,
            stderrTail: x.run.stderr.slice(-2000),
          };
          summary.failures.push(f);
          for (const kd of x.kinds) summary.failuresByKind[kd] = (summary.failuresByKind[kd] ?? 0) + 1;
          log(`FAIL ${m.id} [${x.kinds.join(',')}] ${x.args[0]} ${Math.round(x.run.wallMs)} ms ${x.run.peakRssMb?.toFixed(0) ?? '?'} MB — ${m.seedName}: ${m.ops.slice(0, 200)}`);
        }
        const regen = `npm run fuzz -- --seed ${o.seed} --only ${m.id}`;
        writeFileSync(path.join(saved, 'failure.json'), `${JSON.stringify({ regenerate: regen, failures: summary.failures.filter((f) => f.id === m.id) }, null, 2)}\n`);
        writeFileSync(path.join(saved, 'repro.sh'), `#!/bin/sh\n# ${m.id} from ${m.seedName}: ${m.ops.replace(/\n/g, ' ')}\n# rebuild the same mutant: ${regen}\n${summary.failures.filter((f) => f.id === m.id).map((f) => f.command).join('\n')}\n`);
      }
      rmSync(dir, { recursive: true, force: true });
      if ((i + 1) % 25 === 0) log(`${i + 1}/${plan.length} mutants, ${summary.failures.length} failing runs, ${Math.round((Date.now() - started) / 1000)} s`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    summary.elapsedMs = Date.now() - started;
    writeFileSync(path.join(o.outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }
  return summary;
}

/** A short human summary of a campaign. */
export function formatSummary(s: Summary): string {
  const lines: string[] = [];
  lines.push(`seed ${s.seed}, per child: ${s.timeMs} ms, heap ${s.heapMb} MB, peak RSS ${s.rssMb} MB; ${Math.round(s.elapsedMs / 1000)} s${s.stoppedEarly ? ' (stopped at the time budget)' : ''}`);
  for (const t of TARGETS) {
    const st = s.perTarget[t];
    if (!st) continue;
    lines.push(
      `${t.padEnd(5)} ${st.mutants} mutants (${st.children} runs, seeds: ${s.seeds[t].length}), ${st.failedMutants} failing; worst time ${Math.round(st.worstMs)} ms (${st.worstMsId}), worst RSS ${st.worstRssMb.toFixed(0)} MB (${st.worstRssId}); exits ${Object.entries(st.exitCodes)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')}`,
    );
  }
  const kinds = Object.entries(s.failuresByKind);
  lines.push(kinds.length === 0 ? 'no failures' : `failing runs by kind: ${kinds.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return lines.join('\n');
}

