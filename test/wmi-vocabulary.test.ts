/**
 * The WMI vocabulary of src/model/wmi.ts, which every layer above the parsers now shares: the cases where the
 * copies it replaced disagreed (a colon inside a quoted key value, an ExecMethod `::Method` suffix, a trailing `:`
 * after a namespace, a key named `__proto__`), and the consumer-class table's facts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSUMER_CLASSES, consumerClassFacts, namespaceKey, normalizeNamespace, parseObjectRef, WMI_EVENT_IDS } from '../src/model/wmi.js';
import { SEVERITIES } from '../src/model/types.js';

test('object paths: a colon inside a quoted value is not a namespace; ::Method is dropped; __proto__ is not a key', () => {
  assert.deepEqual(parseObjectRef('CommandLineEventConsumer.Name="Updater:v2.exe"'), {
    namespace: null,
    className: 'CommandLineEventConsumer',
    keys: { Name: 'Updater:v2.exe' },
    name: 'Updater:v2.exe',
  });
  assert.deepEqual(parseObjectRef('//./root/subscription:__EventFilter.Name="f"'), { namespace: 'ROOT\\subscription', className: '__EventFilter', keys: { Name: 'f' }, name: 'f' });
  assert.deepEqual(parseObjectRef('Win32_Process.Handle="4"::Terminate')?.keys, { Handle: '4' });
  assert.equal(parseObjectRef('ActiveScriptEventConsumer="x"')?.name, 'x');
  assert.equal(parseObjectRef('__Win32Provider=@')?.className, '__Win32Provider');
  const hostile = parseObjectRef('C.__proto__="polluted",Name="n"')!;
  assert.deepEqual(Object.keys(hostile.keys), ['Name']);
  assert.equal(Object.getPrototypeOf(hostile.keys), Object.prototype);
  // a bare name (Sysmon 21, WMI-Activity 5861 "Consumer: x") is not an object path with a name
  assert.equal(parseObjectRef('SCM Event Log Consumer'), null);
  assert.equal(parseObjectRef('BotConsumer23')?.name, null);
});

test('namespaces: one normal form, one comparison key', () => {
  assert.equal(normalizeNamespace('\\\\.\\root\\subscription'), 'ROOT\\subscription');
  assert.equal(normalizeNamespace(' //./root/CIMV2: '), 'ROOT\\CIMV2');
  assert.equal(namespaceKey('ROOT\\\\totallylegit:'), 'root\\totallylegit');
  assert.equal(namespaceKey('root/subscription'), namespaceKey('\\\\WIN-HOST\\ROOT\\Subscription'));
});

test('consumer classes: the five standard classes, the two that run code are the two Sysmon logs', () => {
  assert.deepEqual(CONSUMER_CLASSES.map((c) => c.className).sort(), ['ActiveScriptEventConsumer', 'CommandLineEventConsumer', 'LogFileEventConsumer', 'NTEventLogEventConsumer', 'SMTPEventConsumer']);
  assert.deepEqual(CONSUMER_CLASSES.filter((c) => c.executes).map((c) => c.sysmonType).sort(), ['Command Line', 'Script']);
  assert.deepEqual(CONSUMER_CLASSES.filter((c) => !c.executes).map((c) => c.sysmonType), [null, null, null]);
  for (const c of CONSUMER_CLASSES) {
    assert.equal(c.keyProperties[0], 'Name', c.className);
    for (const p of c.scannedProperties) assert.ok(c.keyProperties.includes(p), `${c.className}.${p} is scanned but not a key property`);
  }
  assert.equal(consumerClassFacts('commandlineeventconsumer')?.className, 'CommandLineEventConsumer');
  assert.equal(consumerClassFacts('TotallyLegitConsumer'), undefined);
  assert.equal(consumerClassFacts(null), undefined);
});

test('severities worst first; WMI event ids', () => {
  assert.deepEqual([...SEVERITIES], ['critical', 'high', 'medium', 'low', 'info']);
  for (const id of [19, 20, 21, 5857, 5861, 4104]) assert.ok(WMI_EVENT_IDS.includes(id), String(id));
});
