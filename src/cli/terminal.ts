/**
 * What the terminal decides for the human report: whether it is colored (`--color`, `NO_COLOR`, `FORCE_COLOR`), how
 * wide it is (`--width`, the terminal's columns, else 100), and the progress bar on stderr (bytes, rate, ETA).
 */
import { InvalidArgumentError, Option } from 'commander';
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import { escapeVisible, formatBytes, textWidth, truncate, truncateStart } from '../report/text.js';

export type ColorWhen = 'auto' | 'always' | 'never';

export function colorOption(): Option {
  return new Option('--color <when>', 'color the table: auto (on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), always, never').choices(['auto', 'always', 'never']).default('auto');
}

export function widthOption(): Option {
  return new Option('--width <columns>', 'width of the table (default: the terminal\'s, else 100; 40 to 1000)').argParser((v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < 40 || n > 1000) throw new InvalidArgumentError('a whole number of columns from 40 to 1000');
    return n;
  });
}

/**
 * Color or not. `always` / `never` decide; `auto` follows the environment as Node and most tools do: `FORCE_COLOR`
 * set (not `0` or `false`) colors, `FORCE_COLOR=0` or `NO_COLOR` set (any value but empty) does not; else color when
 * the report goes to a terminal.
 */
export function useColor(when: ColorWhen | undefined, env: NodeJS.ProcessEnv, toTerminal: boolean): boolean {
  if (when === 'always') return true;
  if (when === 'never') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return toTerminal;
}

/** The table's width: `--width`, else the terminal's columns when the report goes to it, else 100. */
export function tableWidth(given: number | undefined, toTerminal: boolean, columns: number | undefined): number {
  if (given !== undefined) return given;
  return toTerminal && columns !== undefined && columns > 0 ? Math.max(40, columns) : 100;
}

/** Seconds as `m:ss` or `h:mm:ss`. */
function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export interface Progress {
  update(done: number, total: number, file: string, bytes: { done: number; total: number }): void;
  stop(): void;
}

/**
 * A progress line on stderr, counting bytes: `scanning [████░░] 12/66 inputs  4.2/53 MiB  3.1 MiB/s  ETA 0:14  …/file`,
 * cut to the terminal's width (the file name from its start). Null when stderr is not a terminal.
 */
export function progressBar(stream: NodeJS.WriteStream): Progress | null {
  if (!stream.isTTY) return null;
  // loaded only when a bar is drawn (a terminal on stderr)
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  let files = '';
  let file = '';
  const format = (options: CliProgress.Options, params: CliProgress.Params): string => {
    const cols = Math.max(20, (stream.columns || 80) - 1);
    const elapsed = (Date.now() - params.startTime) / 1000;
    const rate = elapsed > 0.5 ? params.value / elapsed : 0;
    const eta = rate > 0 && params.total > params.value ? ` ETA ${clock((params.total - params.value) / rate)}` : '';
    const text = `${files}  ${formatBytes(params.value)}/${formatBytes(params.total)}${rate > 0 ? `  ${formatBytes(rate)}/s` : ''}${eta}`;
    const barSize = Math.max(0, Math.min(30, cols - textWidth(text) - 14));
    const bar = barSize >= 5 ? ` [${cliProgress.Format.BarFormat(params.progress, { ...options, barsize: barSize })}]` : '';
    const head = truncate(`scanning${bar} ${text}`, cols);
    const room = cols - textWidth(head) - 2;
    return room >= 8 ? `${head}  ${truncateStart(file, room)}` : head;
  };
  const bar = new cliProgress.SingleBar({ format, stream, hideCursor: true, clearOnComplete: true, linewrap: false }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(done, total, name, bytes) {
      files = `${done}/${total} inputs`;
      file = escapeVisible(name);
      if (!started) {
        bar.start(Math.max(1, bytes.total), 0);
        started = true;
      }
      bar.update(Math.min(bytes.done, Math.max(1, bytes.total)));
    },
    stop() {
      bar.stop();
    },
  };
}
