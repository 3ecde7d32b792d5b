#!/usr/bin/env node
/**
 * wmiscope command line. Thin: argument parsing (commander), output, exit codes.
 * Exit codes: one scheme for every command (./exit.ts, README "Exit codes"): 0 = read, 1 = scan findings at
 * or above --fail-on, 2 = nothing readable, a given path missing, a usage error or an unusable output path.
 */
import { closeSync, createWriteStream, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EvtxChunkInfo, EvtxReader, EvtxWarning } from '../evtx/index.js';
import { escapeText, jsonSafe } from '../model/text.js';
import { addCimCommands } from './cim.js';
import { addScanCommand } from './scan.js';
import { addCollectorCommand } from './collector.js';
import { addSysmonCommands } from './sysmon.js';
import { addCoverageCommand } from './coverage.js';
import { addRulesCommands } from './rules.js';
import { addAllowlistCommands } from './allowlist.js';
import { addDiffCommand } from './diff.js';
import { EXIT_HELP, EXIT_UNUSABLE, exitCode, guardOutputStreams, preflight, printError, printNote } from './exit.js';
import { EMPTY_FILE } from '../model/text.js';
import { LIVE_TEMP_FOLDERS } from '../sources/budget.js';
import type { EvtxOutputFormat } from '../evtx/serialize.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function intList(v: string, prev: number[] = []): number[] {
  const out = [...prev];
  for (const part of v.split(',')) {
    const t = part.trim();
    if (!t) continue;
    if (!/^\d+$/.test(t) || Number(t) > 65535) throw new InvalidArgumentError(`"${t}" is not an event id (0-65535)`);
    out.push(Number(t));
  }
  return out;
}

function strList(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** `--threads`: a positive count, or "auto" (also 0): the automatic count of `sources/threads.ts`, returned as 0. */
function threadCount(v: string): number {
  if (v === 'auto' || v === '0') return 0;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 64) throw new InvalidArgumentError('a whole number from 1 to 64, or auto');
  return Number(v);
}

/** Writer honouring back-pressure; small pieces are gathered into larger writes. */
class Out {
  private parts: Uint8Array[] = [];
  private size = 0;
  constructor(private readonly stream: Writable) {}
  async write(s: string | Uint8Array): Promise<void> {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    if (b.length >= 1 << 14) {
      // large pieces (a chunk's records) go out as they are, without another copy
      await this.flush();
      if (!this.stream.write(b)) await new Promise<void>((res) => this.stream.once('drain', () => res()));
      return;
    }
    this.parts.push(b);
    this.size += b.length;
    if (this.size >= 1 << 18) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.parts.length) return;
    const data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(data)) await new Promise<void>((res) => this.stream.once('drain', () => res()));
  }
  async end(): Promise<void> {
    await this.flush();
    if (this.stream !== process.stdout) await new Promise<void>((res) => this.stream.end(() => res()));
  }
}

function printWarning(file: string, w: EvtxWarning): void {
  process.stderr.write(`wmiscope: ${escapeText(file)}: warning [${w.code}]: ${escapeText(w.message)}\n`);
}

/** Why an EVTX file given by name could not be read; a 0-byte file says so rather than "no signature". */
async function evtxError(file: string, e: unknown): Promise<string> {
  const { EvtxFormatError } = await import('../evtx/index.js');
  let empty = false;
  try {
    empty = statSync(file).size === 0;
  } catch {
    // the reader's own error says why
  }
  if (empty) return `${file}: ${EMPTY_FILE}`;
  return e instanceof EvtxFormatError ? e.message : `${file}: ${e instanceof Error ? e.message : String(e)}`;
}

/** Bytes of a file, 0 when it cannot be stat'ed (its reader then says why it cannot be read). */
function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

interface DumpOpts {
  format: EvtxOutputFormat;
  eventId?: number[];
  channel?: string[];
  provider?: string[];
  recovered?: boolean;
  /** Chunk workers per file; 0 = automatic, from the file's size and the cores (`dumpThreads`, sources/threads.ts). */
  threads: number;
  meta?: boolean;
  output?: string;
  quiet?: boolean;
  checksums: boolean;
}

async function dump(files: string[], o: DumpOpts): Promise<number> {
  // a typo'd path or an unusable output path fails before any file is read
  if (!preflight(files, o.output)) return EXIT_UNUSABLE;
  const stream: Writable = o.output !== undefined ? createWriteStream(o.output) : process.stdout;
  // checked above, but the file system can still refuse (full disk, a race): one line and exit 2 at once (the
  // write waiting for 'drain' would never be resumed); stdout has the same guard (guardOutputStreams)
  if (stream !== process.stdout) stream.on('error', (e: NodeJS.ErrnoException) => {
    printError(`output ${o.output}: cannot be written (${e.code ?? e.message})`);
    process.exit(EXIT_UNUSABLE);
  });
  const out = new Out(stream);
  // the EVTX modules are loaded when an evtx command runs, not at every start of the CLI
  const { ChunkWorkers, renderFileChunks } = await import('../evtx/parallel.js');
  const { dumpThreads } = await import('../sources/threads.js');
  // workers (when a file is split) are started once for the run and serve one file after another
  const workers = new ChunkWorkers();
  const fr = (await import('../evtx/serialize.js')).framing(o.format);
  let count = 0;
  let readable = 0;
  let warnings = 0;
  if (o.format !== 'jsonl') await out.write(fr.open);
  try {
    for (const file of files) {
      try {
        const chunks = renderFileChunks(file, {
          threads: o.threads > 0 ? o.threads : dumpThreads(fileSize(file), availableParallelism()),
          workers,
          format: o.format,
          recovered: o.recovered === true,
          verifyChecksums: o.checksums,
          meta: o.meta === true,
          file: files.length > 1 || o.meta ? file : undefined,
          filter: { eventIds: o.eventId, channels: o.channel, providers: o.provider },
          encodeWith: o.format === 'json' ? fr.sep : o.format === 'jsonl' ? '\n' : '',
        });
        for await (const c of chunks) {
          for (const w of c.warnings) {
            warnings++;
            if (!o.quiet) printWarning(file, w);
          }
          if (c.count && c.bytes) {
            if (o.format === 'json' && count > 0) await out.write(fr.sep);
            await out.write(c.bytes);
            if (o.format === 'jsonl') await out.write('\n');
            count += c.count;
          }
        }
        readable++;
      } catch (e) {
        printError(await evtxError(file, e));
      }
    }
  } finally {
    await workers.close();
  }
  if (o.format === 'json') await out.write(count === 0 ? ']\n' : fr.close);
  else if (o.format === 'xml') await out.write(fr.close);
  await out.end();
  if (!o.quiet) process.stderr.write(`wmiscope: ${count} record(s) from ${readable} of ${files.length} file(s), ${warnings} warning(s)\n`);
  return exitCode({ readable: readable > 0 });
}

function chunkLine(c: EvtxChunkInfo): string {
  const range = c.firstRecordId !== undefined ? `${c.firstRecordId}-${c.lastRecordId}` : '-';
  const crc = c.headerCrcValid === undefined ? '-' : `${c.headerCrcValid ? 'ok' : 'BAD'}/${c.dataCrcValid === undefined ? '-' : c.dataCrcValid ? 'ok' : 'BAD'}`;
  return `  ${String(c.index).padStart(5)}  ${String(c.offset).padStart(10)}  ${c.status.padEnd(10)}  ${range.padEnd(23)}  ${crc.padEnd(7)}  ${String(c.records ?? '-').padStart(7)}  ${String(c.recovered ?? '-').padStart(9)}`;
}

/**
 * JSON whose bigints (the EVTX header's u64 fields) are written as exact integers: `JSON.stringify` cannot write a
 * bigint and a JS number cannot hold every u64. Each bigint goes through a marker string no text can contain (a
 * random nonce after a NUL, which JSON writes escaped) and the marker is replaced by the digits.
 */
function jsonExact(value: unknown): string {
  const mark = `\u0000u64-${Math.random().toString(36).slice(2)}:`;
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? mark + v.toString() : v), 2);
  const escaped = JSON.stringify(mark).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return jsonSafe(text.replace(new RegExp(`"${escaped}(\\d+)"`, 'g'), '$1'));
}

/**
 * The EVTX files `evtx info` reads: files given by name as they are (a file that is not EVTX is an error line then);
 * in folders, every file recognized as EVTX by content (as `scan` recognizes it), walked as `scan` walks. Names of
 * files that cannot be spelt as a string (not UTF-8) are reported and left out.
 */
async function evtxInputs(inputs: string[]): Promise<{ files: string[]; fromFolders: boolean }> {
  const { discover } = await import('../sources/containers/folder.js');
  const { NoteSink } = await import('../sources/notes.js');
  const { isEvtx } = await import('../sources/formats/evtx.js');
  const files: string[] = [];
  let fromFolders = false;
  for (const input of inputs) {
    if (!statSync(input).isDirectory()) {
      files.push(input);
      continue;
    }
    fromFolders = true;
    const notes = new NoteSink();
    const found = discover([input], notes);
    // what the walk could not read (a folder, a 0-byte file) is said; files skipped as not evidence are not EVTX
    for (const n of notes.list()) if (n.level !== 'skipped') printNote(n);
    for (const d of found) {
      if (d.kind !== 'file') continue;
      if (d.raw !== undefined) {
        printError(`${d.file}: a file name that is not UTF-8; give the file by name to read it`);
        continue;
      }
      const head = Buffer.alloc(8);
      let fd: number | null = null;
      try {
        fd = openSync(d.file, 'r');
        readSync(fd, head, 0, 8, 0);
      } catch {
        // unreadable: its own error when it is opened
        files.push(d.file);
        continue;
      } finally {
        if (fd !== null) closeSync(fd);
      }
      if (isEvtx(head)) files.push(d.file);
    }
  }
  return { files, fromFolders };
}

type InfoOpts = { format: string; recovered?: boolean; quiet?: boolean };

async function info(inputs: string[], o: InfoOpts): Promise<number> {
  if (!preflight(inputs)) return EXIT_UNUSABLE;
  const { files, fromFolders } = await evtxInputs(inputs);
  if (files.length === 0) return printError(`no EVTX file in ${inputs.join(', ')}`);
  // one file given by name: one object (as always); several, or a folder: an array of them. Each file is written as
  // soon as it is read (a folder of hundreds of logs is never held in memory at once)
  const many = fromFolders || files.length > 1;
  const json = o.format === 'json';
  let readable = 0;
  for (const file of files) {
    const one = await infoOf(file, o);
    if (typeof one === 'string') {
      printError(one);
      continue;
    }
    const sep = readable === 0 ? (json && many ? '[\n' : '') : json ? ',\n' : '\n';
    const body = json ? jsonExact(one.summary) : one.text;
    process.stdout.write(sep + (json && many ? body.replace(/^/gm, '  ') : body));
    readable++;
  }
  if (json) process.stdout.write(many ? (readable ? '\n]\n' : '[]\n') : readable ? '\n' : '');
  if (many && !o.quiet) process.stderr.write(`wmiscope: ${readable} of ${files.length} EVTX file(s) read\n`);
  return exitCode({ readable: readable > 0 });
}

/** One file's summary (for JSON) and text block, or the error line saying why it could not be read. */
async function infoOf(file: string, o: InfoOpts): Promise<{ summary: object; text: string } | string> {
  let reader: EvtxReader;
  try {
    reader = (await import('../evtx/index.js')).EvtxReader.open(file);
  } catch (e) {
    return evtxError(file, e);
  }
  try {
    const chunks = reader.chunks({ recovered: o.recovered !== false });
    const { records, recovered, skipped } = reader.lastStats;
    const warnings = reader.warnings;
    const summary = {
      file,
      header: reader.header,
      slots: reader.slotCount,
      chunksWithRecords: chunks.filter((c) => (c.records ?? 0) > 0).length,
      records,
      recovered,
      unparsable: skipped,
      chunks,
      warnings,
    };
    const h = reader.header;
    const lines = [
      `file:               ${escapeText(file)}`,
      `format version:     ${h.majorVersion}.${h.minorVersion}`,
      `header chunk count: ${h.chunkCount} (first ${h.firstChunkNumber}, last ${h.lastChunkNumber})`,
      `chunk slots:        ${reader.slotCount} (${summary.chunksWithRecords} with records)`,
      `next record id:     ${h.nextRecordId}`,
      `flags:              0x${h.flags.toString(16)}${h.dirty ? ' dirty' : ''}${h.full ? ' full' : ''}`,
      `header checksum:    0x${h.checksum.toString(16).padStart(8, '0')} ${h.checksumValid ? 'ok' : 'MISMATCH'}`,
      `records:            ${records} allocated, ${recovered} recovered from slack, ${skipped} unparsable`,
      '',
      '  chunk      offset  status      record ids               crc h/d  records  recovered',
      ...chunks.map(chunkLine),
      '',
      `warnings (${warnings.length}):`,
      ...warnings.map((w) => `  [${escapeText(w.code)}] ${escapeText(w.message)}`),
    ];
    return { summary, text: lines.join('\n') + '\n' };
  } finally {
    reader.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('wmiscope')
    .description('Find WMI permanent event subscriptions (T1546.003) in offline Windows evidence.')
    .version(pkg.version)
    .addHelpText('afterAll', EXIT_HELP)
    // set before the subcommands are added so they inherit it: usage errors exit 2, --help/--version 0
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });

  const evtx = program.command('evtx').description('read Windows event log (.evtx) files');

  evtx
    .command('dump')
    .description('render records of EVTX files as JSON lines, a JSON array or XML (damage is reported on stderr, reading goes on)')
    .argument('<file...>', 'EVTX files')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['jsonl', 'json', 'xml']).default('jsonl'))
    .option('-e, --event-id <ids>', 'keep only these event ids (comma-separated, repeatable)', intList)
    .option('-c, --channel <names>', 'keep only these channels (comma-separated, case-insensitive)', strList)
    .option('-p, --provider <names>', 'keep only these providers (comma-separated, case-insensitive)', strList)
    .option('-r, --recovered', 'also carve records from chunk slack and damaged chunks (flagged "recovered")')
    .addOption(
      new Option('-t, --threads <n>', 'worker threads across the chunks of each file; auto: a file is split only with at least 4 cores and 64 MiB of it per worker (two workers cost ~1.8x the CPU of one thread), else read in this thread; output order is unchanged')
        .argParser(threadCount)
        .default(0, 'auto'),
    )
    .option('-m, --meta', 'add a "wmiscope" object (file, chunk, offset, record id, recovered) to every record')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--no-checksums', 'do not verify chunk CRC32 checksums')
    .option('-q, --quiet', 'do not print warnings and the summary line on stderr (errors behind exit code 2 are still printed)')
    .action(async (files: string[], o: DumpOpts) => {
      process.exitCode = await dump(files, o);
    });

  evtx
    .command('info')
    .description('show the file header, every chunk slot with its status and checksums, record counts and warnings, for each file (a file that cannot be read is an error line; the others are read on)')
    .argument('<path...>', 'EVTX files, or folders (every file in them recognized as EVTX by content, as scan recognizes it)')
    .addOption(new Option('-f, --format <format>', 'output format; json is one object for one file given by name, else an array of them (u64 header fields as exact integers)').choices(['text', 'json']).default('text'))
    .option('--no-recovered', 'do not look for records in slack')
    .option('-q, --quiet', 'do not print the summary line on stderr (errors behind exit code 2 are still printed)')
    .action(async (paths: string[], o: InfoOpts) => {
      process.exitCode = await info(paths, o);
    });

  addScanCommand(program, pkg.version);
  addCimCommands(program);
  addCollectorCommand(program);
  addSysmonCommands(program);
  addCoverageCommand(program, pkg.version);
  addRulesCommands(program, pkg.version);
  addAllowlistCommands(program);
  addDiffCommand(program);
  hintAfterErrors(program);
  return program;
}

/** A usage error prints the error and one line naming the help to read (`wmiscope scan --help`), not the whole help. */
function hintAfterErrors(cmd: Command, prefix = ''): void {
  const name = prefix ? `${prefix} ${cmd.name()}` : cmd.name();
  cmd.showHelpAfterError(`(run ${name} --help for usage)`);
  for (const sub of cmd.commands) hintAfterErrors(sub, name);
}

guardOutputStreams();
// interrupted (Ctrl-C, kill): the runs' temporary folders (inflated evidence) go first
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const)
  process.once(signal, () => {
    for (const dir of LIVE_TEMP_FOLDERS) rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  });
const program = buildProgram();
program.parseAsync(process.argv).catch((e: unknown) => {
  printError(e instanceof Error ? e.message : String(e));
  process.exit(EXIT_UNUSABLE);
});
