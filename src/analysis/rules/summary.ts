/** What the consumer runs, in one line: the finding's summary (not a rule). */
import type { SubscriptionObject } from '../../model/types.js';
import { oneLine } from '../decode.js';
import { customConsumerProperties, strOf } from '../known-good.js';
import { str } from './context.js';

export function summaryOf(cls: string | null, consumer: SubscriptionObject | null, binding: SubscriptionObject | null): string {
  const v = consumer?.values ?? {};
  const c = (cls ?? '').toLowerCase();
  const first = (s: string): string => s.split(/\r?\n/).find((l) => l.trim() !== '') ?? s;
  if (c === 'commandlineeventconsumer') {
    const cmd = str(v['CommandLineTemplate']) ?? str(v['ExecutablePath']) ?? str(v['Destination']);
    if (cmd) return oneLine(cmd);
  } else if (c === 'activescripteventconsumer') {
    const script = str(v['ScriptText']) ?? str(v['Destination']);
    const engine = str(v['ScriptingEngine']);
    if (script) return oneLine(`${engine ? `${engine}: ` : ''}${first(script)}`);
    const file = str(v['ScriptFileName']);
    if (file) return oneLine(`${engine ? `${engine}: ` : ''}${file}`);
  } else if (c === 'logfileeventconsumer') {
    const f = str(v['Filename']);
    if (f) return oneLine(`log file ${f}${str(v['Text']) ? ` ← ${first(str(v['Text'])!)}` : ''}`);
  } else if (c === 'nteventlogeventconsumer') {
    const s = str(v['SourceName']);
    if (s) return oneLine(`event log source "${s}" (EventID ${strOf(v['EventID']) ?? '0'}, EventType ${strOf(v['EventType']) ?? '?'})`);
  } else if (c === 'smtpeventconsumer') {
    const to = str(v['ToLine']);
    if (to) return oneLine(`mail to ${to}${str(v['SMTPServer']) ? ` via ${str(v['SMTPServer'])}` : ''}`);
  } else if (consumer) {
    const k = customConsumerProperties(v).find((p) => typeof v[p] === 'string' && v[p] !== '');
    if (k !== undefined) return oneLine(`${cls ?? 'consumer'}: ${k} = ${first(String(v[k]))}`);
  }
  const dest = str(v['Destination']);
  if (dest) return oneLine(first(dest));
  if (consumer) return oneLine(`${cls ?? 'consumer'} ${consumer.name ?? ''} (payload unknown)`);
  const ref = str(binding?.values['Consumer']);
  return ref ? oneLine(`${ref} (consumer not found)`) : '(no consumer)';
}
