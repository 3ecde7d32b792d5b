/**
 * The subscription graph's joins: one object per namespace, sources without a namespace, timer instructions,
 * and the status the live-state sources (repository, collector, Velociraptor, Autoruns) give.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSubscriptions } from '../src/analysis/graph.js';
import type { Observation } from '../src/model/types.js';

const o = (x: Partial<Observation> & Pick<Observation, 'source' | 'action' | 'part'>): Observation => ({
  host: 'H',
  namespace: 'ROOT\\subscription',
  className: null,
  name: null,
  time: '2024-01-01T00:00:00Z',
  user: null,
  file: 'f',
  location: 'l',
  properties: {},
  meta: {},
  ...x,
});

const sub = (source: Observation['source'], namespace: string | null, extra: Partial<Observation> = {}): Observation[] => [
  o({ source, action: 'present', part: 'filter', namespace, className: '__EventFilter', name: 'T', properties: { Name: 'T', Query: "SELECT * FROM __TimerEvent WHERE TimerID = 'Tick'" }, ...extra }),
  o({ source, action: 'present', part: 'consumer', namespace, className: 'CommandLineEventConsumer', name: 'T', properties: { Name: 'T', CommandLineTemplate: 'cmd.exe /c x' }, ...extra }),
  o({ source, action: 'present', part: 'binding', namespace, className: '__FilterToConsumerBinding', properties: { Filter: '__EventFilter.Name="T"', Consumer: 'CommandLineEventConsumer.Name="T"' }, ...extra }),
];

test('the same names in two namespaces are two subscriptions', () => {
  const d = buildSubscriptions([...sub('collector', 'ROOT\\subscription'), ...sub('collector', 'ROOT\\cimv2\\x')], new Set(['h']));
  assert.deepEqual(d.map((x) => x.namespace).sort(), ['ROOT\\cimv2\\x', 'ROOT\\subscription']);
  assert.ok(d.every((x) => x.status === 'active' && x.filter && x.consumer && x.binding));
});

test('an observation without a namespace joins the only object of its names, else the root\\subscription one', () => {
  const ps = o({ source: 'powershell', action: 'created', part: 'consumer', namespace: null, className: 'CommandLineEventConsumer', name: 'T' });
  const one = buildSubscriptions([...sub('cim', 'ROOT\\cimv2\\x'), ps], new Set(['h']));
  assert.equal(one.length, 1);
  assert.ok(one[0]!.observations.includes(ps));
  const two = buildSubscriptions([...sub('cim', 'ROOT\\cimv2\\x'), ...sub('cim', 'ROOT\\subscription'), ps], new Set(['h']));
  assert.equal(two.length, 2);
  assert.ok(two.find((x) => x.namespace === 'ROOT\\subscription')!.observations.includes(ps));
});

test('a timer instruction joins the subscription whose filter waits for its TimerID', () => {
  const timer = o({ source: 'collector', action: 'present', part: null, className: '__IntervalTimerInstruction', name: 'Tick', properties: { TimerId: 'Tick', IntervalBetweenEvents: 60000 } });
  const other = o({ source: 'collector', action: 'present', part: null, className: '__IntervalTimerInstruction', name: 'Tock', properties: { TimerId: 'Tock' } });
  const d = buildSubscriptions([...sub('collector', 'ROOT\\subscription'), timer, other], new Set(['h']));
  assert.equal(d.length, 1);
  assert.ok(d[0]!.observations.includes(timer));
  assert.ok(!d[0]!.observations.includes(other));
});

test('status: Velociraptor and Autoruns list bound subscriptions (active); the collector and repository tell orphans apart', () => {
  const [f, c] = sub('velociraptor', 'ROOT\\subscription');
  assert.equal(buildSubscriptions([f!, c!], new Set())[0]!.status, 'active');
  const [cf, cc] = sub('collector', 'ROOT\\subscription');
  assert.equal(buildSubscriptions([cf!, cc!], new Set(['h']))[0]!.status, 'orphan');
  // a trace that saw the deletion, and no live source listing it: deleted
  const del = o({ source: 'wmi-trace', action: 'deleted', part: 'consumer', className: 'CommandLineEventConsumer', name: 'T', time: '2024-02-01T00:00:00Z' });
  const created = o({ source: 'wmi-trace', action: 'created', part: 'consumer', className: 'CommandLineEventConsumer', name: 'T' });
  assert.equal(buildSubscriptions([created, del], new Set())[0]!.status, 'deleted');
  // the collector read the host's whole WMI state: a logged subscription that is absent there was deleted
  const logged = o({ source: 'sysmon', action: 'created', part: 'consumer', className: 'CommandLineEventConsumer', name: 'Gone' });
  assert.equal(buildSubscriptions([logged], new Set(['h']))[0]!.status, 'deleted');
  // without whole state, a logged part whose binding is not in the evidence is logged-only (never orphan)
  assert.equal(buildSubscriptions([logged], new Set())[0]!.status, 'logged-only');
});

test('state read per namespace: absent from a namespace the collector read cleanly = deleted; from one it could not read = not known', () => {
  const logged = o({ source: 'sysmon', action: 'created', part: 'filter', className: '__EventFilter', name: 'F', properties: { Name: 'F', Query: 'SELECT * FROM __InstanceModificationEvent' } });
  const clean = (host: string, ns: string | null): Array<string | null> => (host === 'H' && ns?.toLowerCase() === 'root\\subscription' ? [null] : []);
  const denied = (host: string, ns: string | null): Array<string | null> => (host === 'H' && ns?.toLowerCase() === 'root\\cimv2' ? [null] : []);
  assert.equal(buildSubscriptions([logged], clean)[0]!.status, 'deleted');
  assert.equal(buildSubscriptions([logged], denied)[0]!.status, 'logged-only');
});

test('a read of the whole state shows the absence only of what was logged no later than it', () => {
  const logged = o({ source: 'sysmon', action: 'created', part: 'filter', className: '__EventFilter', name: 'F', time: '2024-01-01T00:00:00Z', properties: { Name: 'F', Query: 'SELECT * FROM __InstanceModificationEvent' } });
  const readAt = (...at: Array<string | null>) => (): Array<string | null> => at;
  assert.equal(buildSubscriptions([logged], readAt('2024-01-02T00:00:00Z'))[0]!.status, 'deleted');
  assert.equal(buildSubscriptions([logged], readAt('2024-01-01T00:00:00.0000000Z'))[0]!.status, 'deleted');
  assert.equal(buildSubscriptions([logged], readAt('2023-12-31T23:59:59Z'))[0]!.status, 'logged-only');
  assert.equal(buildSubscriptions([logged], readAt('2023-12-31T23:59:59Z', null))[0]!.status, 'deleted');
  assert.equal(buildSubscriptions([logged], readAt())[0]!.status, 'logged-only');
});

test('timer and 5859 joins compare the namespace the filter listens in', () => {
  const timerElsewhere = o({ source: 'collector', action: 'present', part: null, namespace: 'ROOT\\cimv2', className: '__IntervalTimerInstruction', name: 'Tick', properties: { TimerId: 'Tick' } });
  const timerHere = o({ source: 'collector', action: 'present', part: null, namespace: 'ROOT\\subscription', className: '__IntervalTimerInstruction', name: 'Tick', properties: { TimerId: 'Tick' } });
  // the filter of `sub` has no EventNamespace: it listens in its own namespace, ROOT\subscription
  const d = buildSubscriptions([...sub('collector', 'ROOT\\subscription'), timerElsewhere, timerHere], new Set(['h']));
  assert.ok(d[0]!.observations.includes(timerHere));
  assert.ok(!d[0]!.observations.includes(timerElsewhere));
  const q = "SELECT * FROM __TimerEvent WHERE TimerID = 'Tick'";
  const essHere = o({ source: 'wmi-activity', action: 'activated', part: 'filter', namespace: 'ROOT\\subscription', properties: { Query: q }, meta: { eventId: 5859 } });
  const essElsewhere = o({ source: 'wmi-activity', action: 'activated', part: 'filter', namespace: 'ROOT\\cimv2', properties: { Query: q }, meta: { eventId: 5859 } });
  const e = buildSubscriptions([...sub('collector', 'ROOT\\subscription'), essHere, essElsewhere], new Set(['h']));
  assert.ok(e[0]!.observations.includes(essHere));
  assert.ok(!e[0]!.observations.includes(essElsewhere));
});

test('an observation without a namespace, several namespaces with its names, none root\\subscription: an object of its own', () => {
  const ps = o({ source: 'powershell', action: 'created', part: 'consumer', namespace: null, className: 'CommandLineEventConsumer', name: 'T' });
  const d = buildSubscriptions([...sub('cim', 'ROOT\\cimv2\\x'), ...sub('cim', 'ROOT\\default'), ps], new Set(['h']));
  assert.equal(d.length, 3);
  const alone = d.find((x) => x.observations.includes(ps))!;
  assert.equal(alone.namespace, null);
  assert.equal(alone.observations.length, 1);
});
