/**
 * The narrowing options of `scan`: `--since` / `--until` (a time window) and `--only-host PATTERN` (repeatable),
 * turned into the report's {@link Narrowing}; `coverage` takes `--only-host`. They narrow what the report shows,
 * never what is read or how it is attributed; `report/select.ts` does the narrowing and counts what it hid, so
 * every format says the same thing about it.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { escapeText } from '../model/text.js';
import type { HostAliases } from '../model/types.js';
import { hostMatcher, parseTimeBound } from '../report/select.js';
import type { Narrowing } from '../report/select.js';

export interface NarrowingOpts {
  since?: string;
  until?: string;
  onlyHost?: string[];
}

/** One clock for every relative time on a command line, so `--since 2d --until 1d` is exactly one day. */
const NOW = new Date();

function bound(end: boolean): (v: string) => string {
  return (v) => {
    try {
      return parseTimeBound(v, NOW, end);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}

function hostPattern(v: string, prev: string[] = []): string[] {
  const p = v.trim();
  if (!p) throw new InvalidArgumentError('expected a host name or a glob (*, ?), e.g. WKS-* or dc01.corp.local');
  if (p.length > 255) throw new InvalidArgumentError('a host pattern is at most 255 characters');
  return [...prev, p];
}

/** `--only-host PATTERN` (repeatable): `scan` and `coverage`. */
export function addOnlyHostOption(cmd: Command, what: string): Command {
  return cmd.option('--only-host <pattern>', `report only ${what} hosts matching this glob (*, ?; case-insensitive; repeatable), matched against every name of a host, aliases included; attribution is unchanged`, hostPattern);
}

/** `--since`, `--until` and `--only-host`: `scan`. */
export function addNarrowingOptions(cmd: Command): Command {
  return addOnlyHostOption(cmd, 'findings on')
    .option('--since <time>', 'report only findings with activity at or after this time: ISO-8601 (2026-11-01, 2026-11-01T08:00Z; no zone = UTC) or relative to now (30d, 12h, 90m, 2w); a finding with no time at all is kept and marked undated', bound(false))
    .option('--until <time>', 'report only findings with activity at or before this time (as --since; a date alone keeps that whole day)', bound(true))
    .hook('preAction', (_cmd, action) => {
      const o = action.opts<NarrowingOpts>();
      if (o.since !== undefined && o.until !== undefined && Date.parse(o.since) > Date.parse(o.until)) action.error(`error: --since (${o.since}) is after --until (${o.until})`, { exitCode: 2, code: 'wmiscope.window' });
    });
}

export function narrowingOptions(o: NarrowingOpts): Narrowing {
  return { ...(o.since !== undefined ? { since: o.since } : {}), ...(o.until !== undefined ? { until: o.until } : {}), ...(o.onlyHost?.length ? { onlyHost: o.onlyHost } : {}) };
}

/**
 * One stderr line for each `--only-host` pattern that matches no host of the scan under any of its names (a typo
 * would otherwise show an empty report that looks clean); nothing with `quiet`.
 */
export function warnUnmatchedHosts(patterns: readonly string[] | undefined, hosts: readonly string[], aliases: readonly HostAliases[] | undefined, quiet?: boolean): void {
  if (quiet) return;
  for (const p of patterns ?? []) {
    const ok = hostMatcher([p], aliases);
    if (!hosts.some(ok)) process.stderr.write(`wmiscope: --only-host ${escapeText(p)} matches no host of the evidence (${hosts.length ? hosts.slice(0, 10).map(escapeText).join(', ') + (hosts.length > 10 ? ', …' : '') : 'none'})\n`);
  }
}
