/** Consumer rules: what kind of consumer the subscription has (one that runs code, a script, a custom class, a log file). */
import { consumerClassFacts } from '../../model/wmi.js';
import { isStandardConsumerClass } from '../known-good.js';
import { str } from './context.js';
import type { RuleContext } from './context.js';
import type { Rule } from './rule.js';

export const CONSUMER_RULES: ReadonlyArray<Rule<RuleContext>> = [
  {
    id: 'consumer-exec',
    title: 'Consumer runs a command line or a script (CommandLineEventConsumer / ActiveScriptEventConsumer)',
    attack: ['T1546.003', 'T1047'],
    score: 25,
    theme: 'consumer',
    check: ({ consumerClass: cls, consumer }) => (cls && consumerClassFacts(cls)?.executes ? { evidence: `${cls}${consumer?.name ? ` "${consumer.name}"` : ''}` } : null),
  },
  {
    id: 'consumer-activescript',
    title: 'ActiveScript consumer (VBScript / JScript run by scrcons.exe)',
    attack: ['T1059.005', 'T1059.007'],
    score: 10,
    theme: 'consumer',
    check: ({ consumerClassLow, consumer }) => {
      if (consumerClassLow !== 'activescripteventconsumer') return null;
      const engine = str(consumer?.values['ScriptingEngine']);
      const attack = /vb/i.test(engine ?? '') ? ['T1059.005'] : /j(ava)?script/i.test(engine ?? '') ? ['T1059.007'] : ['T1059.005', 'T1059.007'];
      return { evidence: `ScriptingEngine ${engine ?? '(not recorded)'}`, attack };
    },
  },
  {
    id: 'consumer-custom-class',
    title: 'Consumer of a non-standard class (needs its own consumer provider)',
    attack: ['T1546.003'],
    score: 30,
    theme: 'consumer',
    check: ({ consumerClass: cls, consumerChain }) => {
      if (!cls || isStandardConsumerClass(cls)) return null;
      const chain = consumerChain && consumerChain.length > 0 ? consumerChain.join(' → ') : cls;
      return { evidence: `consumer class ${chain}` };
    },
  },
  {
    id: 'consumer-logfile-script',
    title: 'LogFileEventConsumer writes a script or executable, or into a Startup folder',
    attack: ['T1546.003', 'T1547.001'],
    score: 30,
    theme: 'consumer',
    check: ({ consumerClassLow, consumer }) => {
      if (consumerClassLow !== 'logfileeventconsumer') return null;
      const f = str(consumer?.values['Filename']) ?? '';
      if (!(/\.(?:bat|cmd|ps1|psm1|vbs|vbe|js|jse|wsf|wsh|hta|exe|dll|scr|lnk|com|pif|sct)\s*$/i.test(f) || /\\Start Menu\\Programs\\Startup\\/i.test(f))) return null;
      return { evidence: `Filename ${f}`, attack: /\\Startup\\/i.test(f) ? ['T1546.003', 'T1547.001'] : ['T1546.003'] };
    },
  },
];
