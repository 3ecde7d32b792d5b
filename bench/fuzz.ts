/**
 * `npm run fuzz`: the whole-CLI mutation campaign (test/support/fuzz-campaign.ts) over EVTX files, WMI
 * repositories and text exports, one child process at a time under a heap cap and a wall-clock guard.
 *
 *   npm run fuzz -- [--mutants N] [--seed S] [--target evtx|cim|text|all] [--time-ms T] [--heap-mb M]
 *                   [--rss-mb R] [--out DIR] [--budget-min MIN] [--only ID,...] [--no-samples]
 *
 * Failures go to `<out>/failures/<id>/` (the mutant, failure.json, repro.sh), the totals to `<out>/summary.json`.
 * Exit code 1 when any mutant failed.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TARGETS, formatSummary, runCampaign } from '../test/support/fuzz-campaign.js';
import type { Target } from '../test/support/fuzz-campaign.js';
import { repoRoot } from '../test/support/samples.js';

const { values } = parseArgs({
  options: {
    mutants: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    target: { type: 'string', default: 'all' },
    'time-ms': { type: 'string', default: '30000' },
    'heap-mb': { type: 'string', default: '512' },
    'rss-mb': { type: 'string' },
    out: { type: 'string', default: path.join(repoRoot(), 'fuzz-out') },
    'budget-min': { type: 'string' },
    only: { type: 'string' },
    'no-samples': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'npm run fuzz -- [--mutants N] [--seed S] [--target evtx|cim|text|all (comma-separated)] [--time-ms T] [--heap-mb M] [--rss-mb R] [--out DIR] [--budget-min MIN] [--only ID,...] [--no-samples]\n',
  );
  process.exit(0);
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`fuzz: --${name} ${v} is not a number\n`);
    process.exit(2);
  }
  return n;
}

const targets: Target[] = values.target === 'all' ? [...TARGETS] : (values.target.split(',') as Target[]);
for (const t of targets)
  if (!TARGETS.includes(t)) {
    process.stderr.write(`fuzz: unknown target ${t} (evtx, cim, text or all)\n`);
    process.exit(2);
  }

const budget = num('budget-min', values['budget-min']);
const summary = await runCampaign({
  mutants: num('mutants', values.mutants)!,
  seed: num('seed', values.seed)!,
  targets,
  timeMs: num('time-ms', values['time-ms'])!,
  heapMb: num('heap-mb', values['heap-mb'])!,
  rssMb: num('rss-mb', values['rss-mb']),
  outDir: path.resolve(values.out),
  budgetMs: budget === undefined ? undefined : budget * 60_000,
  only: values.only?.split(',').filter((s) => s !== ''),
  samples: !values['no-samples'],
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${formatSummary(summary)}\nfailures and summary.json: ${path.resolve(values.out)}\n`);
process.exitCode = summary.failures.length > 0 ? 1 : 0;
