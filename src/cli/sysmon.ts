/**
 * `wmiscope sysmon audit CONFIG.xml` and `wmiscope sysmon config [--schema V] [--merge CONFIG.xml]`.
 * Exit codes: as every command (./exit.ts); 2 also for a malformed configuration (the message gives line and column).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { EXIT_UNUSABLE, preflight, printError } from './exit.js';
import { escapeText, jsonSafe } from '../model/text.js';
import { DEFAULT_SCHEMA, SCHEMA_RANGE, schemaProblem } from '../sysmon/schema.js';

function fail(e: unknown): void {
  process.exitCode = printError(e instanceof Error ? e.message : String(e));
}

function schemaArg(v: string): string {
  const problem = schemaProblem(v);
  if (problem !== null) throw new InvalidArgumentError(problem);
  return v.trim();
}

export function addSysmonCommands(program: Command): void {
  const sysmon = program.command('sysmon').description('what a Sysmon configuration logs of WMI persistence (events 19, 20, 21), and a configuration that logs all of it');
  sysmon
    .command('audit')
    .summary('what a configuration\'s WmiEvent rules log and drop, tried on a matrix of WMI events')
    .description(
      'read a Sysmon configuration (XML, UTF-8 or UTF-16) and run its WmiEvent rules (RuleGroup relations, include/exclude, every condition) against a matrix of representative WMI events: created/modified/deleted filters, consumers and bindings, benign and attacker-chosen names and destinations, and values shaped against the configuration\'s own excludes. ' +
        'Says in plain words what is logged and what is dropped, shows cases the Sysmon documentation leaves open both ways, and lists what Sysmon cannot see whatever its rules',
    )
    .argument('<config...>', 'Sysmon configuration file(s)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --output <file>', 'write the report to a file')
    .action(async (files: string[], o: { format: 'text' | 'json'; output?: string }) => {
      // a typo'd path or an unusable output path fails before anything is read
      if (!preflight(files, o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      // the configuration reader is loaded for these commands only
      const { auditSysmonConfig, formatSysmonAudit, parseSysmonConfig, readSysmonConfigFile } = await import('../sysmon/index.js');
      const parts: string[] = [];
      const audits = [];
      for (const f of files) {
        try {
          const a = auditSysmonConfig(parseSysmonConfig(readSysmonConfigFile(f).text), f);
          audits.push(a);
          // the audit quotes the file (its name, rules, values): every line through the one terminal escaper
          parts.push(formatSysmonAudit(a).split('\n').map(escapeText).join('\n'));
        } catch (e) {
          // one bad file does not cost the others
          process.exitCode = printError(`${f}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      const text = o.format === 'json' ? jsonSafe(JSON.stringify(files.length === 1 && audits.length === 1 ? audits[0] : audits, null, 2)) + '\n' : parts.join('\n');
      if (!text.trim() || (o.format === 'json' && audits.length === 0)) return;
      try {
        if (o.output) writeFileSync(o.output, text);
        else process.stdout.write(text);
      } catch (e) {
        fail(e);
      }
    });
  sysmon
    .command('config')
    .summary('the recommended log-everything WmiEvent section, alone or merged into a configuration')
    .description(
      'print the recommended WmiEvent section (log every WMI filter, consumer and binding event) for a schema version; with --merge, print the given configuration with its WmiEvent rules replaced by that section and every other byte unchanged (same encoding)',
    )
    .addOption(new Option('--schema <version>', `schema version to write for, ${SCHEMA_RANGE.first} to ${SCHEMA_RANGE.newest} (default ${DEFAULT_SCHEMA}); not with --merge, which keeps the configuration's own`).argParser(schemaArg).conflicts('merge'))
    .option('--merge <config>', 'a Sysmon configuration to merge the section into; one that already logs every WMI event Sysmon can see is printed unchanged')
    .option('--full', 'without --merge: a whole minimal configuration instead of the section alone')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (o: { schema?: string; merge?: string; full?: boolean; output?: string }) => {
      if (!preflight(o.merge !== undefined ? [o.merge] : [], o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      const { auditSysmonConfig, encodeConfig, mergeWmiSection, parseSysmonConfig, readSysmonConfigFile, recommendedConfig, recommendedWmiSection } = await import('../sysmon/index.js');
      let out: Buffer;
      if (o.merge) {
        const file = o.merge;
        try {
          const { text, encoding } = readSysmonConfigFile(file);
          const before = auditSysmonConfig(parseSysmonConfig(text), file);
          if (before.verdict === 'logs-all' && before.ambiguities.length === 0) {
            // nothing to do: the file as it is, byte for byte (its comments, indentation and encoding kept)
            process.stderr.write(`wmiscope: ${escapeText(file)}: already logs every WMI event Sysmon can see (WmiEvent at line ${before.rules.map((r) => r.line).join(', ') || '-'}); nothing changed\n`);
            out = readFileSync(file);
          } else {
            const m = mergeWmiSection(text);
            const audit = auditSysmonConfig(m.config, file);
            process.stderr.write(`wmiscope: ${escapeText(file)}: replaced ${m.removed.length} WmiEvent element(s)${m.removed.length ? ` (line ${m.removed.slice(0, 10).join(', ')}${m.removed.length > 10 ? `, and ${m.removed.length - 10} more` : ''})` : ''}; the result ${audit.verdict === 'logs-all' ? 'logs every WMI event Sysmon can see' : `audits as ${audit.verdict}`}\n`);
            out = encodeConfig(m.text, encoding);
          }
        } catch (e) {
          return fail(`${file}: ${e instanceof Error ? e.message : String(e)}`);
        }
      } else {
        const schema = o.schema ?? DEFAULT_SCHEMA;
        out = Buffer.from(o.full ? recommendedConfig(schema) : recommendedWmiSection({ schema, indent: '' }), 'utf8');
      }
      try {
        if (o.output) writeFileSync(o.output, out);
        else process.stdout.write(out);
      } catch (e) {
        fail(`output ${o.output ?? '(stdout)'}: cannot be written (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    });
}
