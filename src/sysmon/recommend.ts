/**
 * `wmiscope sysmon config`: the recommended WmiEvent section (log every WMI filter, consumer and binding event),
 * alone or merged into a configuration in place of its WmiEvent rules, every other byte left as it was.
 */
import { parseSysmonConfig } from './config.js';
import { DEFAULT_SCHEMA, schemaNumber, schemaProblem } from './schema.js';
import type { SysmonConfig } from './config.js';
import { SysmonConfigError } from './xml.js';

const COMMENT = [
  '<!-- Event ID 19, 20, 21 == WmiEvent (wmiscope recommendation): log every WMI filter, consumer and binding',
  '     event, created, modified or deleted. An exclude list with no rules logs everything; do not add',
  '     exclusions by name or destination, an attacker picks both. Sysmon still sees only root\\subscription',
  '     and only CommandLine and ActiveScript consumers: keep the WMI-Activity log and collect the repository. -->',
];

/**
 * The section, indented by `indent`. Wrapped in a RuleGroup when `ruleGroups` (the form schema 4.22 files
 * use); a bare `<WmiEvent>` otherwise (understood by every schema version).
 */
export function recommendedWmiSection(opts: { schema?: string | null; ruleGroups?: boolean; indent?: string; step?: string; eol?: string } = {}): string {
  const indent = opts.indent ?? '    ';
  const step = opts.step ?? '  ';
  const eol = opts.eol ?? '\n';
  const sv = schemaNumber(opts.schema ?? DEFAULT_SCHEMA);
  const groups = opts.ruleGroups ?? (sv !== null && sv >= 4.22);
  const lines = COMMENT.map((l) => indent + l);
  if (groups) lines.push(`${indent}<RuleGroup name="" groupRelation="or">`, `${indent}${step}<WmiEvent onmatch="exclude" />`, `${indent}</RuleGroup>`);
  else lines.push(`${indent}<WmiEvent onmatch="exclude" />`);
  return lines.join(eol) + eol;
}

/** A whole minimal configuration with only the recommended WMI section (other event types left to Sysmon's defaults). */
export function recommendedConfig(schema: string = DEFAULT_SCHEMA): string {
  const problem = schemaProblem(schema);
  if (problem !== null) throw new SysmonConfigError(problem);
  return `<Sysmon schemaversion="${schema}">\n  <EventFiltering>\n${recommendedWmiSection({ schema, indent: '    ' })}  </EventFiltering>\n</Sysmon>\n`;
}

function lineCol(config: SysmonConfig, offset: number): [number, number] {
  const el = config.root.children.find((c) => c.start === offset);
  return el ? [el.line, el.column] : [config.root.line, config.root.column];
}

/** Start of the line holding `offset` when only blanks precede it there, else `offset`. */
function lineStart(text: string, offset: number): number {
  let i = offset;
  while (i > 0 && (text[i - 1] === ' ' || text[i - 1] === '\t')) i--;
  return i === 0 || text[i - 1] === '\n' ? i : offset;
}

/** Past the line end after `offset` when only blanks follow it there, else `offset`. */
function lineEnd(text: string, offset: number): number {
  let i = offset;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i++;
  if (text[i] === '\n') return i + 1;
  return i >= text.length ? i : offset;
}

export interface MergeResult {
  text: string;
  /** WmiEvent elements removed (lines in the original). */
  removed: number[];
  config: SysmonConfig;
}

/**
 * `text` with every WmiEvent element (and every RuleGroup holding only WmiEvent elements) replaced by the
 * recommended section, placed where the first one was (else at the end of EventFiltering). Comments and
 * everything else stay byte for byte. Throws {@link SysmonConfigError} for malformed XML or a file without
 * `<EventFiltering>`.
 */
export function mergeWmiSection(text: string): MergeResult {
  const config = parseSysmonConfig(text);
  const ef = config.eventFiltering;
  if (!ef) throw new SysmonConfigError('the configuration has no <EventFiltering> element to put the WmiEvent section in', config.root.line, config.root.column);
  if (ef.end - ef.start > 0 && /\/>$/.test(text.slice(ef.start, ef.end))) throw new SysmonConfigError('<EventFiltering/> is empty and self-closing; write it as <EventFiltering></EventFiltering> first', ...lineCol(config, ef.start));
  // spans to cut (every WmiEvent Sysmon reads, valid or not; a RuleGroup holding only WmiEvent goes whole),
  // whole lines where the element sits alone on its lines
  const spans = config.wmiElements
    .map((w) => ({ start: w.group ? w.group.start : w.start, end: w.group ? w.group.end : w.end, line: w.line, mixed: w.inMixedGroup }))
    .filter((s, i, all) => all.findIndex((o) => o.start === s.start) === i)
    .sort((a, b) => a.start - b.start)
    .map((s) => ({ start: lineStart(text, s.start), end: lineEnd(text, s.end), line: s.line, tagStart: s.start, mixed: s.mixed }));
  let indent = '    ';
  let insertAt: number;
  // the file's own indentation step: what its EventFiltering's children add to EventFiltering's indentation
  const efLine = lineStart(text, ef.start);
  const efIndent = efLine < ef.start ? text.slice(efLine, ef.start) : '';
  let step = '  ';
  if (spans.length) {
    insertAt = spans[0]!.start;
    indent = text.slice(spans[0]!.start, spans[0]!.tagStart);
    if (!/^[ \t]*$/.test(indent)) indent = '    ';
    step = indent.length > efIndent.length && indent.startsWith(efIndent) && !spans[0]!.mixed ? indent.slice(efIndent.length) : indent.includes('\t') ? '\t' : '  ';
  } else {
    // before </EventFiltering>, on its own line, indented one step more than it
    const closeLine = lineStart(text, ef.innerEnd);
    const outer = text.slice(closeLine, ef.innerEnd);
    const child = /^[ \t]*$/.test(outer) ? outer + (outer.includes('\t') ? '\t' : '  ') : '    ';
    insertAt = closeLine === ef.innerEnd ? ef.innerEnd : closeLine;
    indent = child;
    step = child.length > outer.length && child.startsWith(outer) ? child.slice(outer.length) : '  ';
  }
  // the line ending of the line the section goes to (a file can mix them: SwiftOnSecurity's export does)
  const nl = text.indexOf('\n', insertAt);
  const eol = nl > 0 ? (text[nl - 1] === '\r' ? '\r\n' : '\n') : text.includes('\r\n') ? '\r\n' : '\n';
  // inside a RuleGroup that also holds other event types, the section is a bare WmiEvent (no RuleGroup in a RuleGroup);
  // elsewhere it follows the file's style
  const section = recommendedWmiSection({ schema: config.schemaVersion, ruleGroups: spans[0]?.mixed ? false : ef.usesRuleGroups, indent, step, eol });
  let out = '';
  let pos = 0;
  let inserted = false;
  const emit = (): void => {
    if (inserted) return;
    // a self-closing <EventFiltering/> or one closed on the same line needs its own line break first
    out += insertAt > 0 && text[insertAt - 1] !== '\n' ? eol + section : section;
    inserted = true;
  };
  for (const s of spans) {
    out += text.slice(pos, s.start);
    if (s.start === insertAt) emit();
    pos = s.end;
  }
  if (!inserted) {
    out += text.slice(pos, insertAt);
    emit();
    pos = insertAt;
  }
  out += text.slice(pos);
  // the result must hold exactly the recommended rule, where Sysmon reads it
  const merged = parseSysmonConfig(out);
  const w = merged.wmi;
  const misplaced = merged.warnings.find((x) => /WmiEvent> outside/.test(x.message));
  if (merged.wmiElements.length !== 1 || w.length !== 1 || w[0]!.onmatch !== 'exclude' || w[0]!.rules.length !== 0 || misplaced) {
    throw new SysmonConfigError(`the merged configuration did not come out as intended (${misplaced ? misplaced.message : `${merged.wmiElements.length} WmiEvent element(s) after merging`}); nothing written`);
  }
  return { text: out, removed: spans.map((s) => s.line), config: merged };
}
