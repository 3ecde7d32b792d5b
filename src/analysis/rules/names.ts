/** Name rules: a filter or consumer name that imitates a known-good subscription, or is copied from a Windows scheduled task. */
import { KNOWN_GOOD_NAMES, WINDOWS_TASK_NAMES } from '../known-good.js';
import type { RuleContext } from './context.js';
import type { Rule } from './rule.js';

/** Letters only, lower case: `SCM Event8 Log Consumer` → `scmeventlogconsumer`. */
function skeleton(name: string): string {
  return name.toLowerCase().replace(/[^a-z]/g, '');
}

function levenshtein(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Is `name` an imitation of `known`? Same letters once digits, spaces and punctuation are dropped
 * (`SCM Event8 Log Filter2`), or — for names of 12 letters or more — at most two letters different
 * (`SCM Events Log Consumer`, `DSM Event Log Filter`). Short names (`BotFilter` vs `BVTFilter`) only count on
 * the first test.
 */
function imitates(name: string, known: string): boolean {
  const a = skeleton(name);
  const b = skeleton(known);
  if (b.length < 6 || a.length === 0) return false;
  if (a === b) return true;
  return b.length >= 12 && levenshtein(a, b, 2) <= 2;
}

/** The filter's and the consumer's names, those present. */
const named = (ctx: RuleContext): Array<readonly ['filter' | 'consumer', string]> =>
  ([['filter', ctx.names.filter], ['consumer', ctx.names.consumer]] as const).filter((p): p is readonly ['filter' | 'consumer', string] => !!p[1]);

export const NAME_RULES: ReadonlyArray<Rule<RuleContext>> = [
  {
    id: 'name-lookalike',
    title: 'Name imitates a known-good subscription (or reuses its name with different content)',
    attack: ['T1036'],
    score: 50,
    theme: 'names',
    check: (ctx) => {
      // a name with an allowlist entry (built-in or loaded) is checked for reuse with other content; the other
      // known-good names (no exact values published) only for imitation
      const known = [...new Set([...KNOWN_GOOD_NAMES, ...ctx.loadedNames])];
      const look: string[] = [];
      for (const [part, n] of named(ctx)) {
        for (const k of known) {
          if (n.toLowerCase() === k.toLowerCase()) {
            if (!ctx.matchesKnownEntry && ctx.namesWithEntry.includes(k.toLowerCase())) look.push(`${part} "${n}" has the name of known-good "${k}" but does not match its allowlist entry (query, class or properties differ)`);
          } else if (imitates(n, k)) look.push(`${part} "${n}" imitates known-good "${k}"`);
        }
      }
      return look.length > 0 ? { evidence: look.join('; ') } : null;
    },
  },
  {
    id: 'name-windows-task',
    title: 'Name copied from a Windows scheduled task',
    attack: ['T1036.004'],
    score: 15,
    theme: 'names',
    check: (ctx) => {
      const task = named(ctx)
        .filter(([, n]) => WINDOWS_TASK_NAMES.some((w) => skeleton(w) === skeleton(n)))
        .map(([part, n]) => `${part} "${n}"`);
      return task.length > 0 ? { evidence: `${task.join(', ')} copies a Windows scheduled task name` } : null;
    },
  },
];
