/**
 * The host-identity options `scan` and `coverage` share: `--host-alias NAME=CANONICAL` (repeatable) and
 * `--no-host-merge`, turned into {@link ScanOptions} fields.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { ScanOptions } from '../scan.js';

export interface HostIdentityOpts {
  hostAlias?: Record<string, string>;
  hostMerge: boolean;
}

function alias(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = v.indexOf('=');
  const name = i > 0 ? v.slice(0, i).trim() : '';
  const canon = i > 0 ? v.slice(i + 1).trim() : '';
  if (!name || !canon) throw new InvalidArgumentError('expected NAME=CANONICAL, e.g. WORKSTATION6=WORKSTATION6.theshire.local');
  const before = Object.entries(prev).find(([n]) => n.toLowerCase() === name.toLowerCase());
  if (before && before[1].toLowerCase() !== canon.toLowerCase()) throw new InvalidArgumentError(`${name} is given two names: ${before[1]} and ${canon}`);
  return { ...prev, [name]: canon };
}

export function addHostIdentityOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--host-alias <NAME=CANONICAL>', 'the machine named NAME in the evidence is CANONICAL (repeatable; chains are followed); shown as CANONICAL').argParser(alias).conflicts('host'))
    .option('--no-host-merge', 'do not link names the evidence shows to be one machine (a renamed computer, a short name and its FQDN, a Velociraptor client and its logs)');
}

export function hostIdentityOptions(o: HostIdentityOpts): Pick<ScanOptions, 'hostAliases' | 'hostMerge'> {
  return { ...(o.hostAlias ? { hostAliases: o.hostAlias } : {}), hostMerge: o.hostMerge };
}
