/** Status rules: a part the evidence shows without the others (an orphan in the WMI state, or a logged part whose binding is not in the evidence). */
import type { RuleContext } from './context.js';
import type { Rule } from './rule.js';

export const STATUS_RULES: ReadonlyArray<Rule<RuleContext>> = [
  {
    id: 'orphan',
    title: 'Orphaned component (the WMI state read shows a filter or consumer without a binding: leftover or staged)',
    attack: ['T1546.003'],
    score: 5,
    theme: 'status',
    check: ({ status, filter, consumer, binding }) =>
      status === 'orphan' ? { evidence: `${filter ? 'filter' : ''}${filter && consumer ? ' and ' : ''}${consumer ? 'consumer' : ''}${!filter && !consumer ? 'binding' : ''} without ${binding ? 'its filter or consumer' : 'a binding'}` } : null,
  },
  {
    id: 'binding-not-observed',
    title: 'No binding in this evidence: whether it is bound is not observable here (the logs may not hold its binding)',
    attack: [],
    score: 0,
    theme: 'status',
    check: ({ status, filter, consumer, binding }) =>
      status === 'logged-only' && !binding && (filter || consumer)
        ? { evidence: `${filter ? 'filter' : ''}${filter && consumer ? ' and ' : ''}${consumer ? 'consumer' : ''} logged, no binding of ${filter && consumer ? 'them' : 'it'} in the evidence` }
        : null,
  },
];
