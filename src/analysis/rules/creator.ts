/** Creator rule: a subscription made by a user account rather than by the system. */
import { isSystemPrincipal } from '../known-good.js';
import type { RuleContext } from './context.js';
import type { Rule } from './rule.js';

export const CREATOR_RULES: ReadonlyArray<Rule<RuleContext>> = [
  {
    id: 'creator-user-account',
    title: 'Created by a user account rather than by the system',
    attack: ['T1546.003'],
    score: 10,
    theme: 'creator',
    check: ({ creators }) => {
      // a SID paired with an account name is that account, named once: `OFFSEC\admmig (S-1-5-…)`; the account name on
      // its own is not repeated
      const resolved = new Set(creators.map((c) => c.account).filter((n): n is string => n !== null).map((n) => n.toLowerCase()));
      const users = creators
        .filter((c) => !isSystemPrincipal(c.principal) && !(c.account === null && resolved.has(c.principal.toLowerCase())))
        .map((c) => (c.account !== null ? `${c.account} (${c.principal})` : c.principal));
      return users.length > 0 ? { evidence: `created by ${users.slice(0, 5).join(', ')}` } : null;
    },
  },
];
