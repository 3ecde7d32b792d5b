/**
 * The reading options `scan` and `coverage` share: how the folder walk treats symbolic links
 * (`--follow-symlinks`) and the per-file time budget (`--file-timeout`), turned into {@link ScanOptions} fields.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { DEFAULT_TASK_TIMEOUT } from '../sources/budget.js';
import type { ScanOptions } from '../scan.js';

export interface ReadingOpts {
  followSymlinks?: boolean;
  fileTimeout?: number;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n) || n > 1e6) throw new InvalidArgumentError('a number of seconds (0 = no budget)');
  return n;
}

export function addReadingOptions(cmd: Command): Command {
  return cmd
    .option('--follow-symlinks', 'also follow symbolic links to files and folders outside the given folders (by default such a link is a note and is not followed; links inside them are read, loops are cut)')
    .option(
      '--file-timeout <seconds>',
      `the per-file time budget: a file or repository still being read after this many seconds is stopped and becomes an error note, the others are read on (default ${DEFAULT_TASK_TIMEOUT}; 0 = no budget)`,
      seconds,
    );
}

export function readingOptions(o: ReadingOpts): Pick<ScanOptions, 'followSymlinks' | 'taskTimeout'> {
  return { ...(o.followSymlinks ? { followSymlinks: true } : {}), ...(o.fileTimeout !== undefined ? { taskTimeout: o.fileTimeout } : {}) };
}
