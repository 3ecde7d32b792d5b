/**
 * `wmiscope cim …`: the offline WMI repository from the command line. Output: a table on a terminal,
 * JSON lines otherwise, or what `--format` asks for. Text from the evidence is never written raw to a
 * terminal: control characters are shown escaped. Exit codes: as every command (./exit.ts); 2 = no repository
 * could be read there.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { EXIT_UNUSABLE, exitCode, preflight, printError } from './exit.js';
import { escapeText, jsonSafe } from '../model/text.js';
import type { CimBinding, CimClass, CimInstance, CimRepository, CimResidualObject, CimSubscriptionObject, CimValue, CimWarning } from '../cim/index.js';

type Format = 'table' | 'json' | 'jsonl';

interface CommonOpts {
  format?: Format;
  quiet?: boolean;
  mapping?: string;
}


function show(v: CimValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return escapeText(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'object') return `<embedded object, ${Math.floor((v.embeddedObject.length * 3) / 4)} bytes>`;
  return String(v);
}

function table(rows: string[][], header: string[]): string {
  const widths = header.map((h, i) => Math.min(60, rows.reduce((m, r) => Math.max(m, (r[i] ?? '').length), h.length)));
  const cut = (s: string, w: number): string => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : cut(c, widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

function output<T>(items: T[], o: CommonOpts, toRow: (t: T) => string[], header: string[]): void {
  const format: Format = o.format ?? (process.stdout.isTTY ? 'table' : 'jsonl');
  if (format === 'json') process.stdout.write(jsonSafe(JSON.stringify(items, null, 2)) + '\n');
  else if (format === 'jsonl') process.stdout.write(items.map((i) => jsonSafe(JSON.stringify(i))).join('\n') + (items.length ? '\n' : ''));
  else process.stdout.write(table(items.map((i) => toRow(i).map(escapeText)), header));
}

/** The repository, or null (the reason on stderr, also under --quiet: the command exits 2). */
async function open(dir: string, o: CommonOpts): Promise<CimRepository | null> {
  if (!preflight([dir])) return null;
  // loaded when a cim command runs, not at every start of the CLI
  const { CimFormatError, CimRepository } = await import('../cim/index.js');
  try {
    return CimRepository.open(dir, o.mapping ? { mapping: o.mapping } : {});
  } catch (e) {
    printError(e instanceof CimFormatError ? e.message : `${dir}: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

function finish(repo: CimRepository, o: CommonOpts): number {
  repo.close();
  if (!o.quiet) {
    for (const w of repo.warnings) process.stderr.write(`wmiscope: ${escapeText(repo.dir)}: warning [${w.code}]: ${escapeText(warningText(w))}\n`);
  }
  return exitCode({ readable: true });
}

function warningText(w: CimWarning): string {
  return w.page !== undefined ? `${w.message} (page ${w.page})` : w.message;
}

function summary(o: { kind: CimSubscriptionObject['kind']; values: Record<string, CimValue> }): string {
  const v = o.values;
  if (o.kind === 'filter') return `${show(v['Query'] ?? null)}  [${show(v['EventNamespace'] ?? null)}]`;
  if (o.kind === 'binding') return `${show(v['Filter'] ?? null)} -> ${show(v['Consumer'] ?? null)}`;
  for (const k of ['CommandLineTemplate', 'ExecutablePath', 'ScriptText', 'ScriptFileName', 'Filename', 'Text', 'SourceName', 'Message', 'ToLine']) {
    if (v[k] !== undefined && v[k] !== null) return `${k}=${show(v[k]!)}`;
  }
  return '';
}

/** The status column of a residual object: only what no live object explains is called deleted. */
const RELATION_LABEL: Record<CimResidualObject['relation'], string> = {
  'copy-of-live': 'old-copy',
  'older-version-of-live': 'older-version',
  'no-live-object': 'deleted',
};

function residueNamespace(x: CimResidualObject): string {
  if (x.namespace) return escapeText(x.namespace);
  if (x.namespaceHash) return `NS_${x.namespaceHash}`;
  // a carved record does not name its namespace; the live object it copies does
  const live = [...new Set(x.live.map((l) => l.namespace ?? `NS_${l.namespaceHash}`))];
  return live.length === 1 ? `(${escapeText(live[0]!)})` : '?';
}

/** Where it was found (every place: a carved record and the stale key naming it are one object), how sure, and what changed. */
function residueDetail(x: CimResidualObject): string {
  const where = x.provenance
    .map((p) => `${p.source} ${p.file}@${p.offset}${p.record ? ` (record in ${p.record.mapping} at OBJECTS.DATA@${p.record.offset})` : p.record === null ? ' (record gone)' : ''}`)
    .join(' + ');
  const rel =
    x.relation === 'older-version-of-live'
      ? x.changed === null
        ? '; values of that state unknown'
        : `; differs in ${x.changed.map(escapeText).join(', ')}`
      : x.relation === 'copy-of-live' && x.live.some((l) => l.identicalBytes)
        ? '; byte-identical'
        : '';
  return `${where} [${x.confidence}${rel}] ${summary(x)}`;
}

const formatOption = (): Option => new Option('-f, --format <format>', 'output format (default: table on a terminal, jsonl otherwise)').choices(['table', 'json', 'jsonl']);

export function addCimCommands(program: Command): void {
  const cim = program.command('cim').description('read the offline WMI repository (OBJECTS.DATA, INDEX.BTR, MAPPING*.MAP; gzip\'d copies too)');

  cim
    .command('namespaces')
    .description('every namespace: named through __NAMESPACE instances, guessed (e.g. ms_409), or only by its hash')
    .argument('<dir>', 'the repository folder or any folder above it')
    .addOption(formatOption())
    .option('-q, --quiet', 'no warnings on stderr')
    .option('--mapping <file>', 'read the state an older mapping file describes instead of the current one: its name (MAPPING3.MAP) or its path in the repository folder')
    .action(async (dir: string, o: CommonOpts) => {
      const repo = await open(dir, o);
      if (!repo) return void (process.exitCode = EXIT_UNUSABLE);
      output(repo.namespaces(), o, (n) => [n.name ? escapeText(n.name) : `NS_${n.hash}`, n.namedBy ?? 'unnamed', String(n.classes), String(n.instances)], ['namespace', 'named by', 'classes', 'instances']);
      process.exitCode = finish(repo, o);
    });

  cim
    .command('subscriptions')
    .description(
      'every __EventFilter, __EventConsumer subclass instance and __FilterToConsumerBinding, in every namespace; with --residual also the residue, each said to be an old copy of a live object, an older version of one, or deleted',
    )
    .argument('<dir>', 'the repository folder or any folder above it')
    .option(
      '-r, --residual',
      'also carve subscription objects from unmapped pages, page slack, unreferenced records and stale index keys (their records looked up through the older mapping files too); only what no live object explains is called deleted',
    )
    .addOption(formatOption())
    .option('-q, --quiet', 'no warnings on stderr')
    .option('--mapping <file>', 'read the state an older mapping file describes instead of the current one: its name (MAPPING3.MAP) or its path in the repository folder')
    .action(async (dir: string, o: CommonOpts & { residual?: boolean }) => {
      const repo = await open(dir, o);
      if (!repo) return void (process.exitCode = EXIT_UNUSABLE);
      const s = repo.subscriptions();
      const all: CimSubscriptionObject[] = [...s.filters, ...s.consumers, ...s.bindings];
      const residue: CimResidualObject[] = o.residual ? repo.residue() : [];
      if ((o.format ?? (process.stdout.isTTY ? 'table' : 'jsonl')) === 'table') {
        const rows = [
          ...all.map((x) => [x.kind, 'active', x.namespace ? escapeText(x.namespace) : `NS_${x.namespaceHash}`, escapeText(x.className), show(x.values['Name'] ?? null), x.creatorSid ?? '', x.timestamp1.slice(0, 19), summary(x)]),
          ...residue.map((x) => [x.kind, RELATION_LABEL[x.relation], residueNamespace(x), escapeText(x.className), show(x.values['Name'] ?? null), x.creatorSid ?? '', (x.timestamp1 ?? '').slice(0, 19), residueDetail(x)]),
        ];
        output(rows, o, (r) => r, ['kind', 'status', 'namespace', 'class', 'name', 'creator', 'time', 'detail']);
      } else {
        // bindings carry their resolved filter and consumer by key, not as nested copies
        const flat = all.map((x) => {
          if (x.kind !== 'binding') return x;
          const b = x as CimBinding;
          return { ...b, filter: b.filter?.location.key ?? null, consumer: b.consumer?.location.key ?? null };
        });
        output([...flat, ...residue.map((x) => ({ status: 'residual', ...x }))], o, () => [], []);
      }
      process.exitCode = finish(repo, o);
    });

  cim
    .command('classes')
    .description('class definitions stored in a namespace, with superclass chain and properties')
    .argument('<dir>', 'the repository folder or any folder above it')
    .requiredOption('-n, --namespace <ns>', 'namespace name (root\\x or root/x, any case) or NS_<hash>')
    .addOption(formatOption())
    .option('-q, --quiet', 'no warnings on stderr')
    .option('--mapping <file>', 'read the state an older mapping file describes instead of the current one: its name (MAPPING3.MAP) or its path in the repository folder')
    .action(async (dir: string, o: CommonOpts & { namespace: string }) => {
      const repo = await open(dir, o);
      if (!repo) return void (process.exitCode = EXIT_UNUSABLE);
      output(repo.classes(o.namespace), o, (c: CimClass) => [escapeText(c.name), escapeText(c.chain.slice(0, -1).join(' > ')), String(c.properties.length), c.timestamp.slice(0, 19)], ['class', 'superclasses', 'properties', 'time']);
      process.exitCode = finish(repo, o);
    });

  cim
    .command('instances')
    .description('instances stored in a namespace, of one class or of all classes, with every property')
    .argument('<dir>', 'the repository folder or any folder above it')
    .requiredOption('-n, --namespace <ns>', 'namespace name (root\\x or root/x, any case) or NS_<hash>')
    .option('-c, --class <name>', 'only instances of this class')
    .addOption(formatOption())
    .option('-q, --quiet', 'no warnings on stderr')
    .option('--mapping <file>', 'read the state an older mapping file describes instead of the current one: its name (MAPPING3.MAP) or its path in the repository folder')
    .action(async (dir: string, o: CommonOpts & { namespace: string; class?: string }) => {
      const repo = await open(dir, o);
      if (!repo) return void (process.exitCode = EXIT_UNUSABLE);
      output(
        repo.instances(o.namespace, o.class),
        o,
        (i: CimInstance) => [escapeText(i.className), i.timestamp1.slice(0, 19), i.properties.filter((p) => p.source !== 'null').map((p) => `${p.name}=${show(p.value)}`).join('; ')],
        ['class', 'time', 'properties'],
      );
      process.exitCode = finish(repo, o);
    });
}
