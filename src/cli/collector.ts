/**
 * `wmiscope collector powershell [-o FILE]`: print (or write) the read-only PowerShell script that lists every
 * WMI permanent event subscription in every namespace of a live Windows host, as a JSON document that
 * `wmiscope scan` reads (docs/collector.md). Exit codes: as every command (./exit.ts); 2 = the output path is
 * unusable (checked before anything is written).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT_UNUSABLE, preflight, printError } from './exit.js';

export function addCollectorCommand(program: Command): void {
  const collector = program.command('collector').description('print a script to run on a live Windows host; its output is evidence for `wmiscope scan`');
  collector
    .command('powershell')
    .description(
      'print the PowerShell collector (read-only; Windows PowerShell 5.1 or PowerShell 7): it walks every WMI namespace from ROOT down and writes every event filter, consumer, binding and timer as one JSON document. ' +
        'Run it as an administrator, e.g. `powershell.exe -NoProfile -ExecutionPolicy Bypass -File wmiscope-collector.ps1 -OutFile HOST-wmi.json`, then `wmiscope scan HOST-wmi.json`. ' +
        'Without administrator rights or in Constrained Language Mode it still runs, and the scan says what may be missing; on many hosts: a PSRemoting recipe (docs/collector.md) or the Velociraptor artifacts in the package\'s artifacts/ folder (docs/velociraptor.md)',
    )
    .option('-o, --output <file>', 'write the script to this file (e.g. wmiscope-collector.ps1) instead of stdout')
    .action(async (o: { output?: string }) => {
      const { POWERSHELL_COLLECTOR } = await import('../collector/index.js');
      if (o.output !== undefined) {
        if (!preflight([], o.output)) return void (process.exitCode = EXIT_UNUSABLE);
        try {
          writeFileSync(o.output, POWERSHELL_COLLECTOR);
        } catch (e) {
          process.exitCode = printError(e instanceof Error ? e.message : String(e));
        }
        return;
      }
      process.stdout.write(POWERSHELL_COLLECTOR);
    });
}
