/** Namespace rules: a subscription outside `root\subscription`, where Sysmon, Autoruns or Velociraptor's default artifact do not look. */
import type { NamespaceKind } from '../known-good.js';
import type { RuleContext } from './context.js';
import type { Fire, Rule } from './rule.js';

const inKind = (ctx: RuleContext, kind: NamespaceKind): Fire | null => (ctx.namespace && ctx.namespaceKind === kind ? { evidence: `namespace ${ctx.namespace}` } : null);

export const NAMESPACE_RULES: ReadonlyArray<Rule<RuleContext>> = [
  {
    id: 'namespace-default',
    title: 'Subscription in root\\default (not root\\subscription; Sysmon does not see it)',
    attack: ['T1546.003'],
    score: 10,
    theme: 'namespace',
    check: (ctx) => inKind(ctx, 'default'),
  },
  {
    id: 'namespace-nonstandard',
    title: 'Subscription in a Windows namespace other than root\\subscription (Sysmon and Autoruns do not see it)',
    attack: ['T1546.003'],
    score: 20,
    theme: 'namespace',
    check: (ctx) => inKind(ctx, 'windows'),
  },
  {
    id: 'namespace-custom',
    title: "Subscription in a custom namespace (Sysmon, Autoruns and Velociraptor's default artifact do not see it)",
    attack: ['T1546.003'],
    score: 40,
    theme: 'namespace',
    check: (ctx) => inKind(ctx, 'custom'),
  },
];
