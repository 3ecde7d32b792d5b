/**
 * Sigma conditions: `and`, `or`, `not`, parentheses, `1 of` / `any of` / `all of` a search-identifier pattern
 * (`*` wildcards) or `them` (every identifier not starting with `_`). Precedence, loosest first: or, and, not,
 * x of, parentheses. A list of conditions is their `or`. Aggregations (`| count() …`) and `near` are refused.
 */

import { compileNeedle, STAR, type Needle } from './strings.js';

export type Cond =
  | { k: 'id'; i: number } // index into the rule's search identifiers
  | { k: 'of'; all: boolean; ids: number[] }
  | { k: 'and' | 'or'; xs: Cond[] }
  | { k: 'not'; x: Cond };

export class ConditionError extends Error {}

/** Longest condition text read (a hostile rule cannot make the parser work hard). */
const MAX_CONDITION = 4096;
const MAX_DEPTH = 64;

function tokenize(text: string): string[] {
  if (text.length > MAX_CONDITION) throw new ConditionError(`condition longer than ${MAX_CONDITION} characters`);
  if (text.includes('|')) throw new ConditionError('aggregation in condition (`| count` …) is not supported');
  const out: string[] = [];
  const re = /\s*(\(|\)|[^\s()]+)/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(text)) !== null) {
    out.push(m[1]!);
    last = re.lastIndex;
  }
  if (text.slice(last).trim()) throw new ConditionError(`cannot read condition near "${text.slice(last, last + 20)}"`);
  if (out.some((t) => t.toLowerCase() === 'near')) throw new ConditionError('`near` is not supported');
  return out;
}

/** An identifier pattern (`*` wildcards only) as a needle: the glob walk, linear in the name's length per star. */
const patternNeedle = (pattern: string): Needle => compileNeedle(pattern.split('*').flatMap((lit, i) => (i ? [STAR, lit] : [lit])), true);

/** Parse a condition over the rule's search identifiers (names in rule order). */
export function parseCondition(text: string, names: readonly string[]): Cond {
  const toks = tokenize(text);
  let pos = 0;
  const peek = (): string | undefined => toks[pos]?.toLowerCase();
  const index = new Map(names.map((n, i) => [n, i] as const));

  const orExpr = (depth: number): Cond => {
    if (depth > MAX_DEPTH) throw new ConditionError(`condition nested deeper than ${MAX_DEPTH}`);
    const xs = [andExpr(depth)];
    while (peek() === 'or') {
      pos++;
      xs.push(andExpr(depth));
    }
    return xs.length === 1 ? xs[0]! : { k: 'or', xs };
  };
  const andExpr = (depth: number): Cond => {
    const xs = [notExpr(depth)];
    while (peek() === 'and') {
      pos++;
      xs.push(notExpr(depth));
    }
    return xs.length === 1 ? xs[0]! : { k: 'and', xs };
  };
  const notExpr = (depth: number): Cond => {
    if (peek() === 'not') {
      pos++;
      if (depth > MAX_DEPTH) throw new ConditionError(`condition nested deeper than ${MAX_DEPTH}`);
      return { k: 'not', x: notExpr(depth + 1) };
    }
    return primary(depth);
  };
  const primary = (depth: number): Cond => {
    const t = toks[pos];
    const lt = t?.toLowerCase();
    if (t === undefined) throw new ConditionError('condition ends too early');
    if (t === '(') {
      pos++;
      const x = orExpr(depth + 1);
      if (toks[pos] !== ')') throw new ConditionError('unbalanced parenthesis in condition');
      pos++;
      return x;
    }
    if (toks[pos + 1]?.toLowerCase() === 'of') {
      if (lt !== '1' && lt !== 'all' && lt !== 'any') throw new ConditionError(`"${t} of" is not supported (only 1 of, any of, all of)`);
      const target = toks[pos + 2];
      if (target === undefined || target === '(' || target === ')') throw new ConditionError(`"${t} of" without a pattern`);
      pos += 3;
      const ids =
        target.toLowerCase() === 'them'
          ? names.flatMap((n, i) => (n.startsWith('_') ? [] : [i]))
          : names.flatMap((n, i) => (patternNeedle(target).test(n) ? [i] : []));
      if (ids.length === 0) throw new ConditionError(`"${target}" matches no search identifier`);
      return { k: 'of', all: lt === 'all', ids };
    }
    if (lt === 'and' || lt === 'or' || lt === 'not' || t === ')' || lt === 'of') throw new ConditionError(`unexpected "${t}" in condition`);
    const i = index.get(t);
    if (i === undefined) throw new ConditionError(`condition names "${t}", which is not a search identifier`);
    pos++;
    return { k: 'id', i };
  };

  const cond = orExpr(0);
  if (pos !== toks.length) throw new ConditionError(`unexpected "${toks[pos]}" in condition`);
  return cond;
}

/** Identifiers reached under an even number of `not`s (their matched fields are the hit's evidence). */
export function positiveIds(c: Cond, out = new Set<number>(), negated = false): Set<number> {
  switch (c.k) {
    case 'id':
      if (!negated) out.add(c.i);
      break;
    case 'of':
      if (!negated) for (const i of c.ids) out.add(i);
      break;
    case 'and':
    case 'or':
      for (const x of c.xs) positiveIds(x, out, negated);
      break;
    case 'not':
      positiveIds(c.x, out, !negated);
      break;
  }
  return out;
}

/** Evaluate with a memoized identifier test. */
export function evalCondition(c: Cond, test: (i: number) => boolean): boolean {
  switch (c.k) {
    case 'id':
      return test(c.i);
    case 'of':
      return c.all ? c.ids.every(test) : c.ids.some(test);
    case 'and':
      return c.xs.every((x) => evalCondition(x, test));
    case 'or':
      return c.xs.some((x) => evalCondition(x, test));
    case 'not':
      return !evalCondition(c.x, test);
  }
}
