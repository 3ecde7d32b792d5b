/** Timing rules: parts created together (a scripted install), and a logged run of the subscription. */
import { baseName, ranText } from '../../model/runs.js';
import type { RuleContext } from './context.js';
import type { Rule } from './rule.js';

/** Seconds within which filter, consumer and binding count as created together. */
const TOGETHER_SECONDS = 120;

export const TIMING_RULES: ReadonlyArray<Rule<RuleContext>> = [
  {
    id: 'created-together',
    title: 'Filter, consumer and binding created within two minutes (scripted install)',
    attack: ['T1546.003'],
    score: 10,
    theme: 'timing',
    check: ({ createdAt: { filter, consumer, binding } }) => {
      if (filter === undefined || consumer === undefined || binding === undefined) return null;
      const times = [filter.ms, consumer.ms, binding.ms];
      const spread = (Math.max(...times) - Math.min(...times)) / 1000;
      return spread <= TOGETHER_SECONDS ? { evidence: `filter ${filter.time}, consumer ${consumer.time}, binding ${binding.time} (${spread.toFixed(1)} s apart)` } : null;
    },
  },
  {
    id: 'ran',
    title: 'The subscription demonstrably ran: a process start it caused is logged (scrcons.exe, or a WmiPrvSE.exe child running its command line)',
    attack: ['T1546.003'],
    score: 10,
    theme: 'timing',
    // only a logged process start says so (no record never says it did not run)
    check: ({ runs, observations }) => {
      if (!runs) return null;
      const r0 = runs.records[0]!;
      const where = `${r0.recordId !== null ? `record ${r0.recordId} of ` : ''}${baseName(r0.file)}`;
      const span = runs.count > 1 || runs.records.length > 1 ? `; ${ranText(runs)}` : '';
      const verb = r0.kind === 'WMI-Activity 5857' ? 'loaded as the script consumer host' : 'started';
      // scrcons.exe runs any script consumer: it is this one's because this is the only script consumer the evidence
      // shows on the host, which only the host's repository proves there is no other
      const scriptHost = verb !== 'started' || /(^|\\)scrcons\.exe$/i.test(r0.image ?? '');
      const basis = scriptHost && !observations.some((o) => o.source === 'cim') ? '; tied as the one script consumer this evidence shows on the host (no repository read for it: another one made before the logs begin would not show)' : '';
      return { evidence: `${baseName(r0.image ?? 'process')} ${verb} ${r0.time ?? '(no time)'} (${where})${r0.commandLine ? `: ${r0.commandLine}` : ''}${span}${basis}` };
    },
  },
];
