/**
 * Evaluating a user rule's condition on a finding, with the reason in words: the field values that passed (or,
 * when it does not match, the test that failed and what the field held).
 */
import type { Finding } from '../../model/types.js';
import { oneLine } from '../decode.js';
import { fieldValues } from './fields.js';
import type { FieldValue } from './fields.js';
import type { Condition, Test } from './types.js';

export interface Outcome {
  matched: boolean;
  /** Matched: the tests that passed with the value that passed each; not matched: the test(s) that failed. */
  why: string[];
}

/** How many values of a field an explanation quotes. */
const MAX_QUOTED = 3;

/** A value as an explanation quotes it: one line, at most `max` characters (a long script is cut before it is escaped). */
export const quote = (v: FieldValue, max = 160): string => (typeof v === 'string' ? `"${oneLine(v.length > 4 * max ? v.slice(0, 4 * max) : v, max)}"` : String(v));

export function testText(t: Test): string {
  const operand = Array.isArray(t.operand) ? `[${t.operand.map((v) => quote(v, 80)).join(', ')}]` : quote(t.operand, 80);
  return `${t.field} ${t.op} ${operand}${t.cased ? ' (cased)' : ''}`;
}

/**
 * Does the condition hold for the finding, and why. `misses`: also say why a condition that does not hold fails
 * (`rules test`); without it a failure has no words, except under `not`, where the failure is the reason it holds.
 */
export function evaluate(c: Condition, f: Finding, misses = true): Outcome {
  if ('test' in c) return evaluateTest(c.test, f, misses);
  if ('not' in c) {
    const inner = evaluate(c.not, f, true);
    return inner.matched ? { matched: false, why: inner.why.map((w) => `not: ${w}`) } : { matched: true, why: inner.why.map((w) => `not: ${w}`) };
  }
  if ('all' in c) {
    const why: string[] = [];
    for (const k of c.all) {
      const o = evaluate(k, f, misses);
      if (!o.matched) return o;
      why.push(...o.why);
    }
    return { matched: true, why };
  }
  const why: string[] = [];
  for (const k of c.any) {
    const o = evaluate(k, f, misses);
    if (o.matched) return o;
    why.push(...o.why);
  }
  return { matched: false, why };
}

function evaluateTest(t: Test, f: Finding, misses: boolean): Outcome {
  const values = fieldValues(f, t.field);
  if (t.op === 'exists') {
    const want = t.operand === true;
    const has = values.length > 0;
    if (has !== want && !misses) return { matched: false, why: [] };
    const held = has ? `${t.field} is ${values.slice(0, MAX_QUOTED).map((v) => quote(v)).join(', ')}` : `${t.field} has no value`;
    return { matched: has === want, why: [`${testText(t)}: ${held}`] };
  }
  const hit = values.find((v) => t.check(v));
  if (hit !== undefined) return { matched: true, why: [`${testText(t)}: ${quote(hit)}`] };
  if (!misses) return { matched: false, why: [] };
  const held = values.length ? `${values.length === 1 ? 'the value is' : 'the values are'} ${values.slice(0, MAX_QUOTED).map((v) => quote(v)).join(', ')}${values.length > MAX_QUOTED ? `, … (${values.length})` : ''}` : 'the field has no value';
  return { matched: false, why: [`${testText(t)}: ${held}`] };
}
