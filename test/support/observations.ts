/**
 * Small observations for the tests of how process starts tie to subscriptions (processes-ran*.test.ts): one consumer
 * created on host H, process starts a day later. Only what a test names differs from these defaults.
 */
import type { Observation } from '../../src/model/types.js';

export const observation = (x: Partial<Observation> & Pick<Observation, 'source' | 'action' | 'part'>): Observation => ({
  host: 'H',
  namespace: 'ROOT\\subscription',
  className: null,
  name: null,
  time: '2024-01-01T00:00:00.0000000Z',
  user: null,
  file: 'f.evtx',
  location: 'record 1',
  properties: {},
  meta: {},
  ...x,
});

/** A consumer created (as Sysmon 20 logs it) with these properties. */
export const consumerObservation = (name: string, className: string, properties: Record<string, string>, extra: Partial<Observation> = {}): Observation =>
  observation({ source: 'sysmon', action: 'created', part: 'consumer', className, name, properties: { Name: name, ...properties }, ...extra });

/** A process start (Sysmon 1) of `image` under `parent` with command line `cmd`. */
export const startObservation = (image: string, parent: string, cmd: string | null, extra: Partial<Observation> = {}, meta: Observation['meta'] = {}): Observation =>
  observation({ source: 'process', action: 'executed', part: 'consumer', namespace: null, time: '2024-01-02T00:00:00.0000000Z', location: 'record 9', meta: { eventId: 1, Image: image, ParentImage: parent, CommandLine: cmd, ...meta }, ...extra });
