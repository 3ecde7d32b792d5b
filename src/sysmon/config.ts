/**
 * A Sysmon configuration's WMI rules (event element `WmiEvent`, Sysmon event ids 19, 20, 21), read from the
 * XML with their lines. Only what filtering needs is kept; the rest of the file is left to `recommend.ts`.
 *
 * Shape (Sysmon schema 4.x): `<Sysmon schemaversion="4.90"><EventFiltering>` holds `<RuleGroup name
 * groupRelation="or|and">` elements, each holding event elements such as `<WmiEvent onmatch="include">`, or
 * event elements directly (older and minimal files). An event element holds field conditions
 * (`<Operation condition="is">Created</Operation>`) and, from schema 4.22 (Sysmon 10.4), `<Rule
 * groupRelation="and|or">` elements grouping conditions.
 */
import { parseXml, SysmonConfigError } from './xml.js';
import type { XmlElement } from './xml.js';
import { schemaNumber } from './schema.js';

/** Every condition Sysmon documents. A missing `condition` attribute means `is`. */
export const CONDITIONS = [
  'is',
  'is not',
  'is any',
  'contains',
  'contains any',
  'contains all',
  'excludes',
  'excludes any',
  'excludes all',
  'begin with',
  'not begin with',
  'end with',
  'not end with',
  'less than',
  'more than',
  'image',
] as const;
export type Condition = (typeof CONDITIONS)[number];

/** Fields of Sysmon events 19, 20 and 21 (WmiEvent), as the configuration names them. */
export const WMI_FIELDS = ['RuleName', 'EventType', 'UtcTime', 'Operation', 'User', 'EventNamespace', 'Name', 'Query', 'Type', 'Destination', 'Consumer', 'Filter'] as const;

export interface FieldRule {
  kind: 'field';
  field: string;
  condition: Condition | string;
  /** False when the condition is not one Sysmon documents (the rule then never matches). */
  known: boolean;
  value: string;
  /** The rule's `name` attribute (Sysmon writes it to RuleName). */
  ruleName: string | null;
  line: number;
}

export interface CompoundRule {
  kind: 'rule';
  relation: 'and' | 'or';
  /** True when `groupRelation` was not written (Sysmon's default for `<Rule>` is `and`). */
  relationDefaulted: boolean;
  name: string | null;
  rules: FieldRule[];
  line: number;
}

export type RuleNode = FieldRule | CompoundRule;

/** One `<WmiEvent onmatch=…>` element. */
export interface WmiFilterSet {
  onmatch: 'include' | 'exclude';
  /** Relation of the enclosing `<RuleGroup>`; null when the element is not inside one. */
  groupRelation: 'and' | 'or' | null;
  /** True when the RuleGroup had no `groupRelation` attribute (Sysmon's default is `and`). */
  groupRelationDefaulted: boolean;
  groupName: string | null;
  rules: RuleNode[];
  line: number;
}

export interface SysmonConfigWarning {
  line: number | null;
  message: string;
}

export interface SysmonConfig {
  /** `schemaversion` of the root element, as written (null when absent). */
  schemaVersion: string | null;
  /** WmiEvent elements, in file order. */
  wmi: WmiFilterSet[];
  /**
   * Every `<WmiEvent>` element Sysmon would read (under EventFiltering or one of its RuleGroups), valid or not
   * (a bad `onmatch` is not in {@link wmi}), with its RuleGroup when that holds nothing but WmiEvent elements:
   * what `--merge` replaces.
   */
  wmiElements: Array<{ start: number; end: number; line: number; group: { start: number; end: number } | null; inMixedGroup: boolean }>;
  /** Offsets of `<EventFiltering>` (null when the file has none). */
  eventFiltering: { start: number; end: number; innerEnd: number; usesRuleGroups: boolean } | null;
  warnings: SysmonConfigWarning[];
  root: XmlElement;
}

const low = (s: string): string => s.toLowerCase();


function relationOf(el: XmlElement, warnings: SysmonConfigWarning[]): { relation: 'and' | 'or'; defaulted: boolean } {
  const raw = el.attrs['groupRelation'];
  if (raw === undefined) return { relation: 'and', defaulted: true };
  const r = low(raw.trim());
  if (r === 'and' || r === 'or') return { relation: r, defaulted: false };
  warnings.push({ line: el.line, message: `<${el.name}> groupRelation="${raw}" is neither "and" nor "or"; read as "and"` });
  return { relation: 'and', defaulted: true };
}

function fieldRule(el: XmlElement, warnings: SysmonConfigWarning[]): FieldRule {
  const rawCond = el.attrs['condition'];
  const condition = rawCond === undefined ? 'is' : low(rawCond.trim()).replace(/\s+/g, ' ');
  const known = (CONDITIONS as readonly string[]).includes(condition);
  if (!known) warnings.push({ line: el.line, message: `<${el.name}> condition "${rawCond}" is not a Sysmon condition; the rule never matches here (Sysmon would reject the file)` });
  if (!(WMI_FIELDS as readonly string[]).includes(el.name)) {
    const hint = WMI_FIELDS.find((f) => low(f) === low(el.name));
    warnings.push({ line: el.line, message: `<${el.name}> is not a field of WmiEvent (fields: ${WMI_FIELDS.join(', ')})${hint ? `; field names are case-sensitive, did you mean ${hint}?` : ''}; the rule never matches` });
  }
  if (el.children.length) warnings.push({ line: el.line, message: `<${el.name}> holds elements; only its text is used` });
  return { kind: 'field', field: el.name, condition, known, value: el.text.trim(), ruleName: el.attrs['name'] ?? null, line: el.line };
}

function readFilterSet(el: XmlElement, group: XmlElement | null, warnings: SysmonConfigWarning[]): WmiFilterSet | null {
  const om = el.attrs['onmatch'];
  const onmatch = om === undefined ? null : low(om.trim());
  if (onmatch !== 'include' && onmatch !== 'exclude') {
    warnings.push({ line: el.line, message: `<WmiEvent> onmatch="${om ?? ''}" must be "include" or "exclude"; this element is ignored (Sysmon would reject the file)` });
    return null;
  }
  const rules: RuleNode[] = [];
  for (const c of el.children) {
    if (c.name === 'Rule') {
      const r = relationOf(c, warnings);
      const inner: FieldRule[] = [];
      for (const f of c.children) {
        if (f.name === 'Rule') warnings.push({ line: f.line, message: '<Rule> inside <Rule> is not part of the Sysmon schema; ignored' });
        else inner.push(fieldRule(f, warnings));
      }
      rules.push({ kind: 'rule', relation: r.relation, relationDefaulted: r.defaulted, name: c.attrs['name'] ?? null, rules: inner, line: c.line });
    } else rules.push(fieldRule(c, warnings));
  }
  let gr: ReturnType<typeof relationOf> | null = null;
  if (group) gr = relationOf(group, warnings);
  return {
    onmatch,
    groupRelation: gr?.relation ?? null,
    groupRelationDefaulted: gr?.defaulted ?? false,
    groupName: group ? (group.attrs['name'] ?? null) : null,
    rules,
    line: el.line,
  };
}

/** Read a configuration's text. Throws {@link SysmonConfigError} (with line and column) for malformed XML. */
export function parseSysmonConfig(text: string): SysmonConfig {
  const root = parseXml(text);
  const warnings: SysmonConfigWarning[] = [];
  if (root.name !== 'Sysmon') throw new SysmonConfigError(`the root element is <${root.name}>, not <Sysmon>: not a Sysmon configuration`, root.line, root.column);
  const schemaVersion = root.attrs['schemaversion'] ?? null;
  if (schemaVersion === null) warnings.push({ line: root.line, message: '<Sysmon> has no schemaversion attribute (Sysmon requires one)' });
  else if (schemaNumber(schemaVersion) === null) warnings.push({ line: root.line, message: `schemaversion "${schemaVersion}" is not a version number` });
  const efs = root.children.filter((c) => c.name === 'EventFiltering');
  if (efs.length > 1) warnings.push({ line: efs[1]!.line, message: 'more than one <EventFiltering>; all are read' });
  const wmi: WmiFilterSet[] = [];
  const wmiElements: SysmonConfig['wmiElements'] = [];
  const valid = new Set<XmlElement>();
  for (const ef of efs) {
    for (const c of ef.children) {
      if (c.name === 'RuleGroup') {
        const onlyWmi = c.children.every((e) => e.name === 'WmiEvent');
        for (const e of c.children) if (e.name === 'WmiEvent') {
          valid.add(e);
          wmiElements.push({ start: e.start, end: e.end, line: e.line, group: onlyWmi ? { start: c.start, end: c.end } : null, inMixedGroup: !onlyWmi });
          const s = readFilterSet(e, c, warnings);
          if (s) wmi.push(s);
        }
        const kinds = new Set(c.children.map((e) => e.name));
        if (kinds.has('WmiEvent') && kinds.size > 1) warnings.push({ line: c.line, message: 'this RuleGroup holds WmiEvent and other event types; Sysmon expects one event type per RuleGroup' });
      } else if (c.name === 'WmiEvent') {
        valid.add(c);
        wmiElements.push({ start: c.start, end: c.end, line: c.line, group: null, inMixedGroup: false });
        const s = readFilterSet(c, null, warnings);
        if (s) wmi.push(s);
      }
    }
  }
  // a WmiEvent anywhere else is not read by Sysmon
  for (const el of elements(root)) if (el.name === 'WmiEvent' && !valid.has(el)) warnings.push({ line: el.line, message: '<WmiEvent> outside <EventFiltering> or a <RuleGroup> in it is not read by Sysmon; ignored here too' });
  // features newer than the declared schema
  const sv = schemaNumber(schemaVersion);
  if (sv !== null && sv < 4.22) {
    for (const s of wmi) for (const r of s.rules) {
      const conds = r.kind === 'rule' ? r.rules : [r];
      if (r.kind === 'rule') warnings.push({ line: r.line, message: `<Rule> needs schema 4.22 (Sysmon 10.4) or later; this file declares ${schemaVersion}` });
      for (const f of conds) if (f.condition === 'contains any' || f.condition === 'contains all') warnings.push({ line: f.line, message: `condition "${f.condition}" needs schema 4.22 (Sysmon 10.4) or later; this file declares ${schemaVersion}` });
    }
  }
  const ef = efs[0];
  let eventFiltering: SysmonConfig['eventFiltering'] = null;
  if (ef) {
    const selfClosing = ef.end === -1 || /\/>$/.test(text.slice(ef.start, ef.end));
    const innerEnd = selfClosing ? ef.end : text.lastIndexOf('</', ef.end);
    eventFiltering = { start: ef.start, end: ef.end, innerEnd, usesRuleGroups: ef.children.some((c) => c.name === 'RuleGroup') };
  }
  return { schemaVersion, wmi, wmiElements, eventFiltering, warnings, root };
}

/** Every element of the tree, without recursion. */
function elements(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const todo = [root];
  while (todo.length) {
    const el = todo.pop()!;
    out.push(el);
    for (let i = el.children.length - 1; i >= 0; i--) todo.push(el.children[i]!);
  }
  return out;
}
