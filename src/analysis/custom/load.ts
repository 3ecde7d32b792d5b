/**
 * Loading user rules (`--rules FILE|DIR`): YAML read with node positions, validated against
 * `schema/rules.schema.json` (ajv), then checked where a schema cannot (operators against field kinds, times,
 * regular expressions, severity bounds, evidence placeholders, ids unique across files) and compiled. Every problem
 * is reported as `file:line:column: message`; nothing of a broken file is used.
 *
 * The YAML parser, ajv and re2js are loaded when a rules file is read (a scan without `--rules` loads none).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type * as YamlLib from 'yaml';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import type { RE2JS as RE2JSClass } from 're2js';
import type { Ajv2020 as AjvClass, ErrorObject } from 'ajv/dist/2020.js';
import type { Severity } from '../../model/types.js';
import { SEVERITIES } from '../../model/types.js';
import { parseIsoTime } from '../../model/time.js';
import { fieldKind } from './fields.js';
import { quote } from './match.js';
import type { FieldValue } from './fields.js';
import { OPERATORS } from './types.js';
import type { Condition, Operator, Place, Test, UserRule } from './types.js';

const load = createRequire(import.meta.url);
let yamlLib: typeof YamlLib | null = null;
const yaml = (): typeof YamlLib => (yamlLib ??= load('yaml') as typeof YamlLib);
let re2: typeof RE2JSClass | null = null;
const RE2 = (): typeof RE2JSClass => (re2 ??= (load('re2js') as { RE2JS: typeof RE2JSClass }).RE2JS);

/** The JSON Schema of a rules file (in the package: `schema/rules.schema.json`). */
export const RULES_SCHEMA_URL = new URL('../../../../schema/rules.schema.json', import.meta.url);

type Schema = Record<string, unknown> & { $defs: Record<string, Record<string, unknown>> };
let validator: { validate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }; defs: Map<unknown, string> } | null = null;

function schemaValidator(): NonNullable<typeof validator> {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(RULES_SCHEMA_URL, 'utf8')) as Schema;
  const { Ajv2020 } = load('ajv/dist/2020') as { Ajv2020: typeof AjvClass };
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
  const validate = ajv.compile(schema);
  // which definition an error comes from: its parent schema is that definition's object or one inside it
  const defs = new Map<unknown, string>([[schema, 'File']]);
  const mark = (v: unknown, name: string): void => {
    if (typeof v !== 'object' || v === null || defs.has(v)) return;
    defs.set(v, name);
    for (const x of Object.values(v)) mark(x, name);
  };
  for (const [k, v] of Object.entries(schema.$defs)) defs.set(v, k);
  for (const [k, v] of Object.entries(schema.$defs)) for (const x of Object.values(v)) mark(x, k);
  return (validator = { validate, defs });
}

/** Largest rules file read (a rules file is text a person writes). */
export const MAX_RULES_FILE_BYTES = 4 * 1024 * 1024;

/** One problem in a rules file; line and column are null when it has no place in the text (unreadable, not UTF-8). */
export interface RulesProblem {
  file: string;
  line: number | null;
  column: number | null;
  message: string;
}

/** Rules files that cannot be used; `problems` holds each (`file:line:column: message` in {@link RulesError.message}, one per line). */
export class RulesError extends Error {
  constructor(readonly problems: RulesProblem[]) {
    super(problems.map(problemText).join('\n'));
    this.name = 'RulesError';
  }
}

export function problemText(p: RulesProblem): string {
  return `${p.file}:${p.line !== null && p.column !== null ? `${p.line}:${p.column}:` : ''} ${p.message}`;
}

/** The rules files a path names: the file itself, or a folder's *.yml and *.yaml files (not its subfolders), by name. */
export function rulesFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RulesError([{ file: path, line: null, column: null, message: code === 'ENOENT' ? 'no such file or folder' : `cannot read the rules (${code ?? (e as Error).message})` }]);
  }
  if (!st.isDirectory()) return [path];
  const names = readdirSync(path)
    .filter((n) => /\.ya?ml$/i.test(n))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files = names.map((n) => join(path, n)).filter((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      // a dangling link: not a rules file
      return false;
    }
  });
  if (files.length === 0) throw new RulesError([{ file: path, line: null, column: null, message: 'a rules folder with no *.yml or *.yaml file' }]);
  return files;
}

/**
 * Load the rules of files and folders, in order; ids must be unique across all of them. Throws {@link RulesError}
 * with every problem found (each file is checked whole; duplicates across files too).
 */
export function loadRules(paths: readonly string[]): UserRule[] {
  const problems: RulesProblem[] = [];
  const out: UserRule[] = [];
  const seen = new Map<string, Place>();
  for (const p of paths) {
    let files: string[];
    try {
      files = rulesFiles(p);
    } catch (e) {
      if (e instanceof RulesError) problems.push(...e.problems);
      else throw e;
      continue;
    }
    for (const file of files) {
      try {
        for (const r of parseRules(readRulesText(file), file)) {
          const first = seen.get(r.id.toLowerCase());
          if (first) problems.push({ ...r.at, message: `rule id "${r.id}" is already used at ${first.file}:${first.line}:${first.column} (ids are unique across every rules file, case-insensitively)` });
          else {
            seen.set(r.id.toLowerCase(), r.at);
            out.push(r);
          }
        }
      } catch (e) {
        if (e instanceof RulesError) problems.push(...e.problems);
        else throw e;
      }
    }
  }
  if (problems.length) throw new RulesError(problems);
  return out;
}

function readRulesText(file: string): string {
  const fail = (message: string): never => {
    throw new RulesError([{ file, line: null, column: null, message }]);
  };
  let b: Buffer;
  try {
    if (statSync(file).size > MAX_RULES_FILE_BYTES) fail(`larger than ${MAX_RULES_FILE_BYTES / 1024 / 1024} MiB: not read as a rules file`);
    b = readFileSync(file);
  } catch (e) {
    if (e instanceof RulesError) throw e;
    return fail(`cannot read the rules (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    // Windows PowerShell 5.1 writes UTF-16 with a byte-order mark (Out-File, >): read it, as every editor does
    const utf16 = b[0] === 0xff && b[1] === 0xfe ? 'utf-16le' : b[0] === 0xfe && b[1] === 0xff ? 'utf-16be' : null;
    return new TextDecoder(utf16 ?? 'utf-8', { fatal: true }).decode(b).replace(/^\uFEFF/, '');
  } catch {
    return fail('not UTF-8 (or UTF-16 with a byte-order mark) text: save it as UTF-8');
  }
}

/** Parse and check the rules of one file's text; `file` names it in problems and in suppressions. */
export function parseRules(text: string, file: string): UserRule[] {
  const lc = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: RulesProblem[] = [];
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? (typeof e.pos[0] === 'number' ? lc.linePos(e.pos[0]) : null);
    problems.push({ file, line: pos?.line ?? null, column: pos?.col ?? null, message: `YAML error: ${e.message.split('\n')[0]}` });
  }
  if (problems.length) throw new RulesError(problems);
  let data: unknown;
  try {
    // aliases expand at most 100 times (a "billion laughs" file is refused, not expanded)
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new RulesError([{ file, line: null, column: null, message: `YAML error: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  const at = locator(doc, lc, file);
  // a Sigma rule given to --rules by mistake: one line saying where it goes, not one per unknown key
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && !('rules' in data) && 'detection' in data && 'logsource' in data)
    throw new RulesError([{ ...at([]), message: 'this is a Sigma rule (logsource, detection): scan --sigma and rules list --sigma read it; --rules and rules test read wmiscope rules (README "Your own rules")' }]);
  const v = schemaValidator();
  if (!v.validate(data)) throw new RulesError(schemaProblems(v.validate.errors ?? [], v.defs, at));
  const rules = (data as { rules: RawRule[] }).rules;
  const out: UserRule[] = [];
  const ids = new Map<string, number>();
  rules.forEach((raw, i) => {
    const path = ['rules', i];
    const prev = ids.get(raw.id.toLowerCase());
    if (prev !== undefined) {
      const first = at([...path.slice(0, 1), prev, 'id']);
      problems.push({ ...at([...path, 'id']), message: `rule id "${raw.id}" is already used at line ${first.line} (ids are unique, case-insensitively)` });
    } else ids.set(raw.id.toLowerCase(), i);
    const match = compileCondition(raw.match, [...path, 'match'], at, problems);
    const sev = raw.severity;
    if (sev?.min && sev.max && SEVERITIES.indexOf(sev.min) < SEVERITIES.indexOf(sev.max)) problems.push({ ...at([...path, 'severity']), message: `severity min "${sev.min}" is worse than max "${sev.max}": no severity satisfies both` });
    const ev = raw.reason?.evidence;
    if (ev !== undefined)
      for (const m of ev.matchAll(PLACEHOLDER)) if (fieldKind(m[1]!) === null) problems.push({ ...at([...path, 'reason', 'evidence']), message: `evidence placeholder {${m[1]}} names no field (see the field list in README "Your own rules")` });
    if (match)
      out.push({
        id: raw.id,
        reasonId: `custom:${raw.id}`,
        title: raw.title,
        ...(raw.description !== undefined ? { description: raw.description } : {}),
        attack: raw.attack ?? [],
        match,
        ...(raw.reason ? { reason: raw.reason } : {}),
        ...(raw.severity ? { severity: raw.severity } : {}),
        ...(raw.suppress ? { suppress: { justification: raw.suppress.justification.trim() } } : {}),
        at: at(path),
      });
  });
  if (problems.length) throw new RulesError(problems);
  return out;
}

/** `{field.path}` in a reason's evidence text. */
export const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;

interface RawRule {
  id: string;
  title: string;
  description?: string;
  attack?: string[];
  match: RawCondition;
  reason?: { score: number; title?: string; attack?: string[]; evidence?: string };
  severity?: { min?: Severity; max?: Severity };
  suppress?: { justification: string };
}
type RawCondition = { all: RawCondition[] } | { any: RawCondition[] } | { not: RawCondition } | ({ field: string; cased?: boolean } & Partial<Record<Operator, FieldValue | FieldValue[]>>);

type Segment = string | number;
type Locate = (path: readonly Segment[], key?: string) => Place;

/** Where a value (or, with `key`, a key of a mapping) is in the text; the nearest enclosing node when the path runs out. */
function locator(doc: Document, lc: LineCounter, file: string): Locate {
  const y = yaml();
  return (path, key) => {
    let node: unknown = doc.contents;
    let offset = rangeStart(node) ?? 0;
    const steps: Segment[] = key !== undefined ? [...path, key] : [...path];
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      if (y.isSeq(node)) node = node.items[Number(s)];
      else if (y.isMap(node)) {
        const pair = node.items.find((p) => (y.isScalar(p.key) ? String(p.key.value) : p.key) === String(s));
        if (!pair) break;
        // a key asked for (an unknown key) is shown at the key; a value at the value, or at its key when it has none
        if (i === steps.length - 1 && key !== undefined) node = pair.key;
        else node = pair.value ?? pair.key;
      } else break;
      offset = rangeStart(node) ?? offset;
    }
    const pos = lc.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
}

function rangeStart(n: unknown): number | undefined {
  if (typeof n !== 'object' || n === null || !('range' in n)) return undefined;
  const r = (n as YamlNode).range;
  return Array.isArray(r) && typeof r[0] === 'number' ? r[0] : undefined;
}

function pointer(instancePath: string): Segment[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

const FIELD_HELP = 'a field is one of README "Your own rules": host, namespace, status, filter.name, consumer.class, seenBy, fleet.hosts, …, or filter.<Property>, consumer.<Property>, binding.<Property>';

/** ajv's errors as problems at their place, in words: the errors inside a combinator's branches give way to one line saying what was expected. */
function schemaProblems(errors: readonly ErrorObject[], defs: Map<unknown, string>, at: Locate): RulesProblem[] {
  const out: RulesProblem[] = [];
  const seen = new Set<string>();
  // the branch errors of an anyOf/oneOf are summarized by the combinator's own error at the same place
  const combinators = new Set(errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => `${e.instancePath}|${e.schemaPath.replace(/\/(anyOf|oneOf)$/, '')}`));
  for (const e of errors) {
    if (e.keyword === 'if') continue;
    const branch = /^(.*)\/(anyOf|oneOf)\/\d+\//.exec(e.schemaPath);
    if (branch && combinators.has(`${e.instancePath}|${branch[1]}`)) continue;
    const path = pointer(e.instancePath);
    const def = defs.get(e.parentSchema) ?? '';
    const last = path[path.length - 1];
    const what = path.length === 0 ? 'a rules file' : typeof last === 'string' ? `"${last}"` : `item ${Number(last) + 1} of "${String(path[path.length - 2])}"`;
    let place = at(path);
    let message: string;
    switch (e.keyword) {
      case 'required':
        message = `missing "${(e.params as { missingProperty: string }).missingProperty}"`;
        break;
      case 'additionalProperties': {
        const k = (e.params as { additionalProperty: string }).additionalProperty;
        place = at(path, k);
        const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
        message = `unknown key "${k}"${def === 'Test' && !k.includes('.') ? ` (operators: ${OPERATORS.join(', ')}; also field, cased)` : allowed.length ? ` (expected ${allowed.join(', ')})` : ''}`;
        break;
      }
      case 'anyOf':
        message = def === 'Rule' ? 'a rule needs an effect: reason, severity or suppress' : def === 'Field' ? `unknown field "${String(e.data)}": ${FIELD_HELP}` : `${what} ${e.message ?? 'is not valid'}`;
        break;
      case 'oneOf': {
        if (def === 'Test') {
          const ops = OPERATORS.filter((o) => typeof e.data === 'object' && e.data !== null && o in e.data);
          message = ops.length ? `a test has exactly one operator (found ${ops.join(', ')}): use all/any to combine tests` : `a test needs an operator: ${OPERATORS.join(', ')}`;
        } else message = `${what} must be text or a list of texts`;
        break;
      }
      case 'pattern':
        message = def === 'RuleId' ? `rule id "${String(e.data)}": letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit` : def === 'Suppress' ? 'the justification must not be blank: say why the finding is benign' : def === 'AttackList' ? `"${String(e.data)}" is not an ATT&CK technique id (T1546 or T1546.003)` : `${what} ${e.message ?? 'is not valid'}`;
        break;
      case 'minLength':
        message = def === 'Suppress' ? 'the justification must not be blank: say why the finding is benign' : `${what} must not be empty`;
        break;
      case 'type':
        message = `${what} must be ${typeWords((e.params as { type: string | string[] }).type)}`;
        break;
      case 'enum':
        message = `${what} must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String).join(', ')}`;
        break;
      default:
        message = `${what} ${e.message ?? 'is not valid'}`;
    }
    const key = `${place.line}:${place.column}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...place, message });
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function typeWords(t: string | string[]): string {
  const words: Record<string, string> = { string: 'text', object: 'a mapping', array: 'a list', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'empty' };
  return (Array.isArray(t) ? t : t.split(',')).map((x) => words[x] ?? x).join(' or ');
}

/** A date (`2024-05-01`, midnight UTC) or an ISO-8601 time with a zone, in milliseconds; null when neither. */
export function operandTime(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return parseIsoTime(`${v}T00:00:00Z`);
  return parseIsoTime(v);
}

function compileCondition(raw: RawCondition, path: Segment[], at: Locate, problems: RulesProblem[]): Condition | null {
  if ('all' in raw || 'any' in raw) {
    const key = 'all' in raw ? 'all' : 'any';
    const list = (raw as Record<string, RawCondition[]>)[key]!;
    const kids = list.map((c, i) => compileCondition(c, [...path, key, i], at, problems));
    if (kids.some((k) => k === null)) return null;
    return key === 'all' ? { all: kids as Condition[] } : { any: kids as Condition[] };
  }
  if ('not' in raw) {
    const kid = compileCondition(raw.not, [...path, 'not'], at, problems);
    return kid ? { not: kid } : null;
  }
  const t = raw as { field: string; cased?: boolean } & Partial<Record<Operator, FieldValue | FieldValue[]>>;
  const op = OPERATORS.find((o) => o in t)!;
  const test = compileTest(t.field, op, t[op]!, t.cased === true, [...path, op], at, problems);
  return test ? { test } : null;
}

function compileTest(field: string, op: Operator, operand: FieldValue | FieldValue[], cased: boolean, path: Segment[], at: Locate, problems: RulesProblem[]): Test | null {
  const kind = fieldKind(field)!;
  const fail = (message: string, where: Segment[] = path): null => {
    problems.push({ ...at(where), message });
    return null;
  };
  const fold = (s: string): string => (cased ? s : s.toLowerCase());
  const text = (v: FieldValue): string => fold(String(v));
  const list = (Array.isArray(operand) ? operand : [operand]).map((x) => x);
  let check: (v: FieldValue) => boolean;
  switch (op) {
    case 'equals':
    case 'in': {
      if (kind === 'boolean' && list.some((x) => typeof x !== 'boolean')) return fail(`${field} is true or false: compare it with true or false`);
      if (kind === 'number' && list.some((x) => typeof x !== 'number')) return fail(`${field} is a number: compare it with a number`);
      const wanted = list.map((x) => (typeof x === 'number' ? x : text(x)));
      check = (v) => wanted.some((w) => (typeof w === 'number' ? (typeof v === 'number' ? v === w : String(v).trim() !== '' && Number(v) === w) : text(v) === w));
      break;
    }
    case 'contains':
    case 'startswith':
    case 'endswith': {
      const wanted = (list as string[]).map(fold);
      check =
        op === 'contains'
          ? (v) => {
              const s = text(v);
              return wanted.some((w) => s.includes(w));
            }
          : op === 'startswith'
            ? (v) => {
                const s = text(v);
                return wanted.some((w) => s.startsWith(w));
              }
            : (v) => {
                const s = text(v);
                return wanted.some((w) => s.endsWith(w));
              };
      break;
    }
    case 'exists':
      check = () => true;
      break;
    case 'glob':
    case 'regex': {
      const flags = (cased ? 0 : RE2().CASE_INSENSITIVE) | RE2().DOTALL;
      const res: RE2JSClass[] = [];
      for (let i = 0; i < list.length; i++) {
        const pattern = String(list[i]);
        const source = op === 'glob' ? globSource(pattern) : pattern;
        try {
          res.push(RE2().compile(source, flags));
        } catch (e) {
          return fail(`regex ${quote(pattern, 200)} cannot be evaluated in linear time or is not valid RE2 syntax (no back-references or look-around): ${e instanceof Error ? e.message : String(e)}`, Array.isArray(operand) ? [...path, i] : path);
        }
      }
      check = op === 'glob' ? (v) => res.some((r) => r.testExact(String(v))) : (v) => res.some((r) => r.test(String(v)));
      break;
    }
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      const cmp = (a: number, b: number): boolean => (op === 'lt' ? a < b : op === 'lte' ? a <= b : op === 'gt' ? a > b : a >= b);
      const x = operand as FieldValue;
      if (kind === 'time') {
        const ms = operandTime(x);
        if (ms === null) return fail(`${field} is a time: compare it with an ISO-8601 time with a zone (2024-05-01T12:00:00Z) or a date (2024-05-01)`);
        check = (v) => {
          const t = parseIsoTime(v);
          return t !== null && cmp(t, ms);
        };
      } else if (kind === 'number' || kind === 'any') {
        if (typeof x !== 'number') return fail(`${op} compares numbers here: give a number`);
        check = (v) => {
          const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
          return Number.isFinite(n) && cmp(n, x);
        };
      } else return fail(`${op} compares numbers and times; ${field} is ${kind === 'boolean' ? 'true or false' : 'text'}`);
      break;
    }
  }
  return { field, op, operand, cased, check };
}

/** A wildcard pattern as an RE2 expression of the whole value: `*` any run, `?` one character, the rest literal. */
function globSource(glob: string): string {
  let out = '';
  let lit = '';
  const flush = (): void => {
    if (lit) out += RE2().quote(lit);
    lit = '';
  };
  for (const ch of glob) {
    if (ch === '*' || ch === '?') {
      flush();
      out += ch === '*' ? '.*' : '.';
    } else lit += ch;
  }
  flush();
  return out;
}
