/**
 * Rule files → compiled rules, and the rule set that matches events.
 *
 * Loading is cheap on purpose: rule files are read by the block-style reader (yaml-block.ts), several times faster
 * than a full YAML parser; a file outside its subset (flow style, anchors, several documents, …) is parsed by the
 * `yaml` library. `yaml` and the regular expression engine (`re2js`) are loaded on first use.
 */
import { createRequire } from 'node:module';
import { basename, extname } from 'node:path';
import type * as YamlLib from 'yaml';
import type * as Re2Lib from 're2js';
import { evalCondition, parseCondition, positiveIds, ConditionError, type Cond } from './condition.js';
import { buildView, lowerValues, systemOf, type EventView, type Field } from './event.js';
import { eventSource, logsourceKey, ruleSource } from './logsource.js';
import { readBlockYaml } from './yaml-block.js';
import { conditionTrigger, identifierTrigger, TextSet } from './prefilter.js';
import { specOf, transformValue, type ItemSpec } from './modifiers.js';
import { compileNeedle, STAR, type Needle, type Part } from './strings.js';
import type { SigmaFieldMatch, SigmaHit, SigmaLevel, SigmaLoadSummary, SigmaLogsource, SigmaRuleInfo } from './types.js';

const load = createRequire(import.meta.url);
let yamlLib: typeof YamlLib | null = null;
const yaml = (): typeof YamlLib => (yamlLib ??= load('yaml') as typeof YamlLib);
let re2Lib: typeof Re2Lib | null = null;
const re2 = (): typeof Re2Lib => (re2Lib ??= load('re2js') as typeof Re2Lib);

/** A matched value is cut to this many characters in a hit. */
export const MAX_MATCH_VALUE = 200;
/** At most this many matched field values per hit. */
export const MAX_MATCHES = 32;
/** Bounds on one rule's detection (hostile rule files). */
const MAX_IDENTIFIERS = 256;
const MAX_VALUES_PER_ITEM = 4096;

export interface SigmaSource {
  file: string;
  text: string;
}

export interface SigmaRuleSet {
  summary: SigmaLoadSummary;
  rules: SigmaRuleInfo[];
  /** The logsource an EVTX-JSON event belongs to (from its Channel, Provider and EventID), or null. */
  logsourceOf(event: unknown): SigmaLogsource | null;
  /** Could a loaded rule match a record of this channel and event id (lets a caller skip rendering)? */
  wants(channel: string | null, eventId: number | null): boolean;
  /**
   * The rules that match the event, in load order (logsource defaults to `logsourceOf(event)`). A synthesized event
   * must still carry `System.EventID`: a category implies event ids (wmi_event: 19/20/21, ps_script: 4104, …) and a
   * rule is only tried on records of those ids.
   */
  match(event: unknown, logsource?: SigmaLogsource): SigmaHit[];
}

// ---- compiled detection -------------------------------------------------------------------------------------

/** One field item (or keyword item when `key` is null). */
interface Test {
  key: string | null; // lower-case field name
  run(view: EventView, out: SigmaFieldMatch[] | null): boolean;
  /** Rough relative cost of `run`: cheap tests are evaluated first (the result does not depend on the order). */
  cost: number;
  /** Texts of which one is in (the lower-cased values of) every record this test holds on; null: no such set. */
  anchors: string[] | null;
}

interface CompiledRule {
  info: SigmaRuleInfo;
  ids: ReadonlySet<number> | null;
  /** Search identifiers: OR over maps, each map an AND of tests, as written (the evidence is collected in this order). */
  idents: Test[][][];
  /** The same with each map's tests cheapest first (for deciding). */
  fast: Test[][][];
  /** The condition with the operands of and / or / x of cheapest first. */
  cond: Cond;
  positive: number[];
  /** Prefilter texts (one of them is in every record the rule matches), or null: always evaluated. */
  trigger: string[] | null;
}

class RuleError extends Error {}

const cut = (v: string): string => (v.length > MAX_MATCH_VALUE ? `${v.slice(0, MAX_MATCH_VALUE - 1)}…` : v);

/**
 * Matches value groups against the values of one field, recording the values that matched. A group is the needles
 * one rule value expands to (base64offset: three, …), any of which will do; `all` needs every group.
 */
function valueTest(field: Field | undefined, groups: Needle[][], all: boolean, cased: boolean, out: SigmaFieldMatch[] | null): boolean {
  if (!field) return false;
  const vals = cased ? field.values : lowerValues(field);
  let hitAny = false;
  for (const group of groups) {
    let hit = -1;
    for (const n of group) {
      for (let i = 0; i < vals.length; i++)
        if (n.test(vals[i]!)) {
          hit = i;
          break;
        }
      if (hit >= 0) break;
    }
    if (hit < 0) {
      if (all) return false;
      continue;
    }
    hitAny = true;
    if (out && out.length < MAX_MATCHES) out.push({ field: field.name, value: cut(field.values[hit]!) });
    if (!all) return true;
  }
  return hitAny;
}

const NUMBER = /^\s*(-?\d+(?:\.\d+)?|0x[0-9a-f]+)\s*$/i;
const numberOf = (s: string): number | null => {
  const m = NUMBER.exec(s);
  return m ? Number(m[1]!.toLowerCase().startsWith('0x') ? parseInt(m[1]!.slice(2), 16) : m[1]) : null;
};

function scalarText(v: unknown, where: string): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new RuleError(`${where}: a value must be a string, number, boolean or null`);
}

/** Compile one `field|mods: values` item (field null: a keyword item). */
function compileItem(fieldSpec: string | null, rawMods: string[], value: unknown, where: string): Test {
  const t = buildItem(fieldSpec, rawMods, value, where);
  const spec = specOf(rawMods) as ItemSpec;
  const n = Array.isArray(value) ? value.length : 1;
  const c = spec.comparison;
  const cost =
    fieldSpec === null ? 20 + n : c === 'exists' ? 0 : c === 're' ? 8 + 2 * n : c === 'contains' ? 2 + n / 2 : c === 'equals' || c === 'startswith' || c === 'endswith' ? 1 + n / 10 : 1;
  return { ...t, anchors: t.anchors ?? null, cost: cost * (spec.transforms.length ? 2 : 1) };
}

function buildItem(fieldSpec: string | null, rawMods: string[], value: unknown, where: string): Omit<Test, 'cost' | 'anchors'> & { anchors?: string[] | null } {
  const spec = specOf(rawMods);
  if (typeof spec === 'string') throw new RuleError(`${where}: ${spec}`);
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new RuleError(`${where}: empty value list`);
  if (list.length > MAX_VALUES_PER_ITEM) throw new RuleError(`${where}: more than ${MAX_VALUES_PER_ITEM} values`);
  const key = fieldSpec === null ? null : fieldSpec.toLowerCase();
  const get = (view: EventView): Field | undefined => (key === null ? undefined : view.fields.get(key));

  if (spec.comparison === 'exists') {
    if (key === null) throw new RuleError(`${where}: |exists needs a field`);
    if (list.length !== 1 || typeof list[0] !== 'boolean') throw new RuleError(`${where}: |exists takes true or false`);
    const want = list[0];
    return {
      key,
      run: (view, out) => {
        const f = view.fields.get(key);
        if (f && want && out && out.length < MAX_MATCHES) out.push({ field: f.name, value: cut(f.values[0] ?? '(null)') });
        return (f !== undefined) === want;
      },
    };
  }
  if (spec.comparison === 'gt' || spec.comparison === 'gte' || spec.comparison === 'lt' || spec.comparison === 'lte') {
    const bounds = list.map((v) => (typeof v === 'number' ? v : typeof v === 'string' ? numberOf(v) : null));
    if (bounds.some((b) => b === null)) throw new RuleError(`${where}: |${spec.comparison} takes numbers`);
    const cmp = spec.comparison;
    const ok = (x: number, b: number): boolean => (cmp === 'gt' ? x > b : cmp === 'gte' ? x >= b : cmp === 'lt' ? x < b : x <= b);
    return {
      key,
      run: (view, out) => {
        const f = get(view);
        if (!f) return false;
        const test = (b: number): boolean => {
          for (const s of f.values) {
            const x = numberOf(s);
            if (x !== null && ok(x, b)) {
              if (out && out.length < MAX_MATCHES) out.push({ field: f.name, value: cut(s) });
              return true;
            }
          }
          return false;
        };
        return spec.all ? (bounds as number[]).every(test) : (bounds as number[]).some(test);
      },
    };
  }
  if (spec.comparison === 're') {
    const { RE2JS } = re2();
    const flags = (spec.reFlags.i ? RE2JS.CASE_INSENSITIVE : 0) | (spec.reFlags.m ? RE2JS.MULTILINE : 0) | (spec.reFlags.s ? RE2JS.DOTALL : 0);
    const res = list.map((v) => {
      if (typeof v !== 'string') throw new RuleError(`${where}: |re takes a string`);
      try {
        return RE2JS.compile(v, flags);
      } catch (e) {
        const msg = e instanceof Error ? e.message.split('\n')[0]!.slice(0, 120) : 'invalid';
        throw new RuleError(`${where}: regular expression refused (linear-time engine): ${msg}`);
      }
    });
    const groups: Needle[][] = res.map((r, i) => [{ text: String(list[i]), cased: true, test: (s: string) => r.test(s) }]);
    return keyedStringTest(key, groups, spec.all, true);
  }
  // string comparisons
  const groups: Needle[][] = [];
  let nullWanted = false;
  for (const v of list) {
    const text = scalarText(v, where);
    if (text === null) {
      if (spec.comparison !== 'equals' || spec.transforms.length) throw new RuleError(`${where}: null with a modifier`);
      nullWanted = true;
      continue;
    }
    const variants = transformValue(spec, text);
    if (typeof variants === 'string') throw new RuleError(`${where}: ${variants}`);
    groups.push(variants.map((parts) => compileNeedle(wrap(spec, parts, key === null), spec.cased)));
  }
  if (nullWanted) {
    if (key === null) throw new RuleError(`${where}: null keyword`);
    if (spec.all && groups.length) throw new RuleError(`${where}: null in an |all list`);
    const rest = groups.length ? keyedStringTest(key, groups, false, spec.cased) : null;
    return {
      key,
      run: (view, out) => {
        const f = view.fields.get(key);
        if (!f || f.empty) {
          if (out && out.length < MAX_MATCHES) out.push({ field: f?.name ?? fieldSpec!, value: '(null)' });
          return true;
        }
        return rest ? rest.run(view, out) : false;
      },
    };
  }
  return { ...keyedStringTest(key, groups, spec.all, spec.cased), anchors: anchorsOf(groups, spec.all) };
}

/** The prefilter texts of string value groups: any group (all: the best single group) must hold, so one of its needles. */
function anchorsOf(groups: Needle[][], all: boolean): string[] | null {
  const of = (g: Needle[]): string[] | null => (g.every((n) => n.anchor !== undefined) ? g.map((n) => n.anchor!) : null);
  if (all) {
    let best: string[] | null = null;
    for (const g of groups) {
      const a = of(g);
      if (a && (!best || a.length < best.length)) best = a;
    }
    return best;
  }
  const out: string[] = [];
  for (const g of groups) {
    const a = of(g);
    if (!a) return null;
    out.push(...a);
  }
  return out;
}

/** contains / startswith / endswith wrap the value in wildcards; keywords are searched as substrings. */
function wrap(spec: ItemSpec, parts: Part[], keyword: boolean): Part[] {
  const c = spec.comparison;
  const pre = c === 'contains' || c === 'endswith' || (keyword && c === 'equals');
  const post = c === 'contains' || c === 'startswith' || (keyword && c === 'equals');
  return [...(pre ? [STAR] : []), ...parts, ...(post ? [STAR] : [])];
}

function keyedStringTest(key: string | null, groups: Needle[][], all: boolean, cased: boolean): Omit<Test, 'cost' | 'anchors'> {
  if (key !== null) return { key, run: (view, out) => valueTest(view.fields.get(key), groups, all, cased, out) };
  // keywords: every value of every EventData / UserData field
  return {
    key,
    run: (view, out) => {
      const test = (g: Needle[]): boolean => {
        for (const f of view.data) if (valueTest(f, [g], false, cased, out)) return true;
        return false;
      };
      return all ? groups.every(test) : groups.some(test);
    },
  };
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function compileMap(m: Record<string, unknown>, where: string): Test[] {
  const out: Test[] = [];
  for (const [k, v] of Object.entries(m)) {
    const [field, ...mods] = k.split('|');
    out.push(compileItem(field === '' ? null : field!, mods, v, `${where}.${k}`));
  }
  if (out.length === 0) throw new RuleError(`${where}: empty selection`);
  return out;
}

function compileIdentifier(name: string, v: unknown): Test[][] {
  if (isMap(v)) return [compileMap(v, name)];
  if (Array.isArray(v)) {
    if (v.length === 0) throw new RuleError(`${name}: empty list`);
    if (v.every(isMap)) return v.map((m, i) => compileMap(m as Record<string, unknown>, `${name}[${i}]`));
    if (v.every((x) => typeof x === 'string' || typeof x === 'number')) return [[compileItem(null, [], v, name)]];
    throw new RuleError(`${name}: a list must hold only maps or only keywords`);
  }
  if (typeof v === 'string' || typeof v === 'number') return [[compileItem(null, [], v, name)]];
  throw new RuleError(`${name}: a search identifier must be a map, a list or a keyword`);
}

const LEVELS: ReadonlySet<string> = new Set(['informational', 'low', 'medium', 'high', 'critical']);
const ATTACK_TAG = /^attack\.(t\d{4}(?:\.\d{3})?)$/i;

/** `author` as written: a string, or a list of names joined (bounded). */
const authorOf = (v: unknown): string | null => {
  const s = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').join(', ') : typeof v === 'string' ? v : '';
  return s.trim() ? s.trim().slice(0, 500) : null;
};

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

/** Longest rule title kept (the Sigma specification's limit; longer ones are cut) and longest id loaded: every hit repeats both. */
const MAX_TITLE = 256;
const MAX_ID = 128;
const bounded = (v: string | null, max: number): string | null => (v !== null && v.length > max ? `${v.slice(0, max - 1)}…` : v);

// ---- loading ------------------------------------------------------------------------------------------------

const fileStem = (file: string): string => basename(file, extname(file));

export interface CompileOptions {
  /** Find the candidate rules of a record with the prefilter (default true; false evaluates every rule: for tests). */
  prefilter?: boolean;
}

export function compileSigma(sources: readonly SigmaSource[], opts: CompileOptions = {}): SigmaRuleSet {
  const summary: SigmaLoadSummary = { files: sources.length, loaded: 0, notApplicable: { count: 0, byLogsource: {} }, notLoaded: [] };
  const rules: CompiledRule[] = [];
  /** The file of each loaded rule id: a later rule of the same id is refused (hits and reasons are keyed by the id). */
  const idFile = new Map<string, string>();
  const notApplicable = (key: string): void => {
    summary.notApplicable.count++;
    summary.notApplicable.byLogsource[key] = (summary.notApplicable.byLogsource[key] ?? 0) + 1;
  };
  for (const src of sources) {
    let id: string | null = null;
    let title: string | null = null;
    const refuse = (why: string): void => {
      summary.notLoaded.push({ file: src.file, id, title, why: why.replace(/\s+/g, ' ').slice(0, 300) });
    };
    try {
      let r: unknown = readBlockYaml(src.text);
      let documents = 1;
      if (r === null) {
        // outside the fast reader's subset: the full YAML parser
        const docs = yaml().parseAllDocuments(src.text, { prettyErrors: false, uniqueKeys: true });
        const list = Array.isArray(docs) ? docs : [docs];
        const doc = list[0];
        if (!doc) {
          refuse('empty file');
          continue;
        }
        const err = doc.errors[0];
        if (err) {
          refuse(`YAML: ${err.message.split('\n')[0]}`);
          continue;
        }
        r = doc.toJS({ maxAliasCount: 100 });
        documents = list.length;
      }
      if (!isMap(r)) {
        refuse('not a Sigma rule (no mapping at the top)');
        continue;
      }
      const rawId = str(r['id']);
      id = bounded(rawId, MAX_ID + 1);
      title = bounded(str(r['title']), MAX_TITLE);
      if (rawId !== null && rawId.length > MAX_ID) {
        refuse(`id longer than ${MAX_ID} characters`);
        continue;
      }
      if (documents > 1) {
        refuse('several YAML documents (rule collections) are not supported');
        continue;
      }
      if ('correlation' in r) {
        refuse('correlation rules are not supported');
        continue;
      }
      if (r['type'] !== undefined && 'filter' in r) {
        refuse('Sigma filters are not supported');
        continue;
      }
      const ls = r['logsource'];
      if (!isMap(ls)) {
        // a wmiscope rules file given to --sigma by mistake: say where it goes
        refuse(Array.isArray(r['rules']) ? 'no logsource: this looks like a wmiscope rules file (rules: [...]), which --rules reads' : 'no logsource');
        continue;
      }
      const product = str(ls['product']);
      const category = str(ls['category']);
      const service = str(ls['service']);
      const rs = ruleSource(product, category, service);
      if (!rs) {
        notApplicable(logsourceKey(product, category, service));
        continue;
      }
      const rule = compileRule(r, rs.logsource, rs.ids, src.file, id, title);
      const first = idFile.get(rule.info.id);
      if (first !== undefined) {
        refuse(`the id of the rule in ${first}, loaded before it: rule ids must be unique (a hit is reported by its rule id)`);
        continue;
      }
      idFile.set(rule.info.id, src.file);
      rules.push(rule);
      summary.loaded++;
    } catch (e) {
      if (e instanceof RuleError || e instanceof ConditionError) refuse(e.message);
      else refuse(`cannot read: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return makeRuleSet(summary, rules, opts.prefilter ?? true);
}

function compileRule(
  r: Record<string, unknown>,
  logsource: SigmaLogsource,
  ids: ReadonlySet<number> | null,
  file: string,
  id: string | null,
  title: string | null,
): CompiledRule {
  const det = r['detection'];
  if (!isMap(det)) throw new RuleError('no detection');
  if ('timeframe' in det) throw new RuleError('timeframe (aggregation over time) is not supported');
  const names = Object.keys(det).filter((k) => k !== 'condition');
  if (names.length === 0) throw new RuleError('detection has no search identifier');
  if (names.length > MAX_IDENTIFIERS) throw new RuleError(`more than ${MAX_IDENTIFIERS} search identifiers`);
  const idents = names.map((n) => compileIdentifier(n, det[n]));
  const c = det['condition'];
  const texts = Array.isArray(c) ? c : [c];
  if (texts.length === 0 || texts.some((t) => typeof t !== 'string')) throw new RuleError('condition must be a string or a list of strings');
  const conds = (texts as string[]).map((t) => parseCondition(t, names));
  const written: Cond = conds.length === 1 ? conds[0]! : { k: 'or', xs: conds };
  const fast = idents.map((maps) => maps.map((m) => [...m].sort((a, b) => a.cost - b.cost)));
  const identCost = idents.map((maps) => maps.reduce((sum, m) => sum + m.reduce((x, t) => x + t.cost, 0), 0));
  const cond = cheapestFirst(written, identCost).c;
  const level = str(r['level'])?.toLowerCase() ?? 'informational';
  if (!LEVELS.has(level)) throw new RuleError(`unknown level "${level.slice(0, 40)}"`);
  const tags = Array.isArray(r['tags']) ? r['tags'].filter((t): t is string => typeof t === 'string') : [];
  const attack = [...new Set(tags.flatMap((t) => (ATTACK_TAG.test(t) ? [ATTACK_TAG.exec(t)![1]!.toUpperCase()] : [])))];
  const info: SigmaRuleInfo = {
    id: id ?? fileStem(file),
    title: title ?? id ?? fileStem(file),
    level: level as SigmaLevel,
    status: str(r['status']),
    author: authorOf(r['author']),
    tags,
    attack,
    logsource,
    file,
  };
  const trigger = conditionTrigger(written, (i) => identifierTrigger(idents[i]!));
  return { info, ids, idents, fast, cond, positive: [...positiveIds(written)].sort((a, b) => a - b), trigger: trigger && [...new Set(trigger)] };
}

/** The condition with the operands of and / or / x of sorted cheapest first, and its cost. */
function cheapestFirst(c: Cond, identCost: readonly number[]): { c: Cond; cost: number } {
  switch (c.k) {
    case 'id':
      return { c, cost: identCost[c.i]! };
    case 'of': {
      const ids = [...c.ids].sort((a, b) => identCost[a]! - identCost[b]!);
      return { c: { ...c, ids }, cost: ids.reduce((x, i) => x + identCost[i]!, 0) };
    }
    case 'not': {
      const x = cheapestFirst(c.x, identCost);
      return { c: { k: 'not', x: x.c }, cost: x.cost };
    }
    case 'and':
    case 'or': {
      const xs = c.xs.map((x) => cheapestFirst(x, identCost)).sort((a, b) => a.cost - b.cost);
      return { c: { k: c.k, xs: xs.map((x) => x.c) }, cost: xs.reduce((x, y) => x + y.cost, 0) };
    }
  }
}

// ---- matching -----------------------------------------------------------------------------------------------

/** Does one of the maps hold (every test of it)? Plain loops: this runs for every rule on every record. */
function identifierHolds(maps: Test[][], view: EventView): boolean {
  for (let m = 0; m < maps.length; m++) {
    const tests = maps[m]!;
    let ok = true;
    for (let t = 0; t < tests.length; t++)
      if (!tests[t]!.run(view, null)) {
        ok = false;
        break;
      }
    if (ok) return true;
  }
  return false;
}

function makeRuleSet(summary: SigmaLoadSummary, rules: CompiledRule[], usePrefilter: boolean): SigmaRuleSet {
  const byLogsource = new Map<SigmaLogsource, CompiledRule[]>();
  for (const r of rules) {
    const list = byLogsource.get(r.info.logsource) ?? [];
    list.push(r);
    byLogsource.set(r.info.logsource, list);
  }
  const logsourceOf = (event: unknown): SigmaLogsource | null => {
    const s = systemOf(event);
    return eventSource(s.channel, s.provider, s.eventId);
  };
  const scratch = new Int8Array(MAX_IDENTIFIERS);
  // the prefilter of each logsource's rules, built on first use (loading stays cheap)
  const prefilters = new Map<SigmaLogsource, { set: TextSet; found: Uint8Array; triggers: Array<number[] | null> }>();
  const prefilterOf = (ls: SigmaLogsource, list: CompiledRule[]) => {
    let pf = prefilters.get(ls);
    if (!pf) {
      const ids = new Map<string, number>();
      const triggers = list.map((r) => r.trigger && r.trigger.map((t) => ids.get(t) ?? (ids.set(t, ids.size), ids.size - 1)));
      const set = new TextSet([...ids.keys()]);
      pf = { set, found: new Uint8Array(set.size), triggers };
      prefilters.set(ls, pf);
    }
    return pf;
  };
  const applies = (r: CompiledRule, eventId: number | null): boolean => r.ids === null || (eventId !== null && r.ids.has(eventId));
  return {
    summary,
    rules: rules.map((r) => r.info),
    logsourceOf,
    wants(channel, eventId) {
      const ls = eventSource(channel, null, eventId);
      return ls !== null && (byLogsource.get(ls)?.some((r) => applies(r, eventId)) ?? false);
    },
    match(event, logsource) {
      const ls = logsource ?? logsourceOf(event);
      if (ls === null) return [];
      const candidates = byLogsource.get(ls);
      if (!candidates) return [];
      const view = buildView(event);
      const pf = usePrefilter ? prefilterOf(ls, candidates) : null;
      if (pf) {
        pf.found.fill(0);
        for (const f of new Set(view.fields.values())) for (const v of lowerValues(f)) pf.set.scan(v, pf.found);
      }
      const hits: SigmaHit[] = [];
      for (let ri = 0; ri < candidates.length; ri++) {
        const r = candidates[ri]!;
        if (!applies(r, view.eventId)) continue;
        const trig = pf ? pf.triggers[ri]! : null;
        if (trig !== null && !trig.some((id) => pf!.found[id] === 1)) continue;
        const state = r.idents.length <= scratch.length ? scratch.fill(0, 0, r.idents.length) : new Int8Array(r.idents.length); // 0 unknown, 1 true, -1 false
        const test = (i: number): boolean => {
          if (state[i] === 0) state[i] = identifierHolds(r.fast[i]!, view) ? 1 : -1;
          return state[i] === 1;
        };
        if (!evalCondition(r.cond, test)) continue;
        // evidence: re-run the positive identifiers that held, recording the values that matched
        const matched: SigmaFieldMatch[] = [];
        for (const i of r.positive) {
          if (state[i] !== 1) continue;
          for (const m of r.idents[i]!) {
            const rec: SigmaFieldMatch[] = [];
            if (m.every((t) => t.run(view, rec))) {
              for (const x of rec) if (!matched.some((y) => y.field === x.field && y.value === x.value) && matched.length < MAX_MATCHES) matched.push(x);
              break;
            }
          }
        }
        hits.push({ rule: r.info, matched });
      }
      return hits;
    },
  };
}
