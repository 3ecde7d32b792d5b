/** Trigger rules: what the filter's WQL query waits for (startup, a time of day, a timer, a logon, a process start, an event-log entry). */
import { oneLine } from '../decode.js';
import type { RuleContext } from './context.js';
import { hits } from './match.js';
import type { Fire, Rule, RuleInfo } from './rule.js';

/** The first match of `re` in the filter query, quoted with the query. */
function inQuery(query: string | null, re: RegExp): Fire | null {
  if (!query) return null;
  const h = hits(re, query, 1);
  return h.length > 0 ? { evidence: `${h[0]!.what} in filter query "${oneLine(query, 300)}"` } : null;
}

const EVENT_LOG = /Win32_NTLogEvent/i;
const FAILED_LOGON = /EventCode\s*=\s*["']?4625\b|EventIdentifier\s*=\s*["']?4625\b/i;

/** A rule that fires when `re` matches in the filter query. */
const queryRule = (rule: Omit<RuleInfo, 'theme'>, re: RegExp): Rule<RuleContext> => ({ ...rule, theme: 'trigger', check: ({ query }) => inQuery(query, re) });

export const TRIGGER_RULES: ReadonlyArray<Rule<RuleContext>> = [
  queryRule({ id: 'trigger-uptime', title: 'Startup / uptime performance-counter trigger (Win32_PerfFormattedData_PerfOS_System)', attack: ['T1546.003'], score: 15 }, /Win32_PerfFormattedData_PerfOS_System|Win32_PerfRawData_PerfOS_System|SystemUpTime/gi),
  queryRule({ id: 'trigger-schedule', title: 'Time-of-day schedule trigger (Win32_LocalTime / Win32_UTCTime)', attack: ['T1546.003'], score: 10 }, /Win32_LocalTime|Win32_UTCTime|Win32_CurrentTime/gi),
  queryRule({ id: 'trigger-timer', title: 'Timer trigger (__TimerEvent, __IntervalTimerInstruction, __AbsoluteTimerInstruction)', attack: ['T1546.003'], score: 10 }, /__TimerEvent|__IntervalTimerInstruction|__AbsoluteTimerInstruction|__TimerInstruction/gi),
  queryRule({ id: 'trigger-logon', title: 'Logon trigger (Win32_LoggedOnUser, Win32_LogonSession)', attack: ['T1546.003'], score: 10 }, /Win32_LoggedOnUser|Win32_LogonSession/gi),
  queryRule({ id: 'trigger-process-start', title: 'Process-start trigger (Win32_ProcessStartTrace, Win32_Process creation)', attack: ['T1546.003'], score: 10 }, /Win32_ProcessStartTrace|Win32_ProcessTrace|ISA\s+["']Win32_Process["']/gi),
  {
    id: 'trigger-failed-logon',
    title: 'Failed-logon trigger (Win32_NTLogEvent 4625: fires on a bad password, remotely)',
    attack: ['T1546.003'],
    score: 20,
    theme: 'trigger',
    check: ({ query }) => (query && EVENT_LOG.test(query) && FAILED_LOGON.test(query) ? inQuery(query, /(?:EventCode|EventIdentifier)\s*=\s*["']?4625["']?/gi) : null),
  },
  {
    id: 'trigger-eventlog',
    title: 'Event-log trigger (Win32_NTLogEvent)',
    attack: ['T1546.003'],
    score: 10,
    theme: 'trigger',
    // any other event-log query (a failed-logon one is the rule above)
    check: ({ query }) => (query && EVENT_LOG.test(query) && !FAILED_LOGON.test(query) ? inQuery(query, /Win32_NTLogEvent/gi) : null),
  },
];
