/**
 * Property names stored as built-in string ids (cim-format.md §6: the MSB of a name reference selects the
 * built-in table 1 key, 3 read, 4 write, 5 volatile, 6 provider, 7 dynamic, 10 type). Windows stores
 * `__ProviderRegistration.provider` and `Win32_PnPDeviceProperty.key` that way; they used to come out as
 * `builtin_6` / `builtin_1`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CimRepository } from '../src/cim/index.js';
import { buildRepository } from './support/cim-builder.js';
import { repoRoot } from './support/samples.js';

const WIN10 = resolve(repoRoot(), '../shared/samples/cim/dissect-cim-win10');
const skip = existsSync(WIN10) ? false : `CIM samples not found at ${WIN10} (expected ../shared/samples next to the repo)`;

test('builder: property names written as built-in ids read as their names', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  buildRepository(dir, {
    namespaces: ['ROOT', 'ROOT\\cimv2'],
    classes: [
      { namespace: 'ROOT\\cimv2', name: 'Test_Registration', properties: [{ name: 'Id', type: 'string', key: true }, { name: 'provider', type: 'reference', refClass: '__Win32Provider', builtinName: true }, { name: 'key', type: 'string', builtinName: true }] },
    ],
    instances: [{ namespace: 'ROOT\\cimv2', className: 'Test_Registration', values: { Id: 'one', provider: '__Win32Provider.Name="P"', key: 'K' } }],
  });
  const repo = CimRepository.open(dir);
  const cls = repo.classDefinition('ROOT\\cimv2', 'Test_Registration')!;
  assert.deepEqual(cls.properties.map((p) => p.name).filter((n) => n !== 'Id'), ['provider', 'key']);
  const [inst] = repo.instances('ROOT\\cimv2', 'Test_Registration');
  assert.deepEqual(
    inst!.properties.map((p) => [p.name, p.type, p.value]),
    [
      ['Id', 'string', 'one'],
      ['provider', 'reference', '__Win32Provider.Name="P"'],
      ['key', 'string', 'K'],
    ],
  );
});

test('Win10 sample: the provider reference of 263 provider registrations is named provider; no builtin_ name left', { skip }, () => {
  const repo = CimRepository.open(WIN10);
  let withProvider = 0;
  let unresolved = 0;
  let classProps = 0;
  for (const ns of repo.namespaces()) {
    const name = ns.name ?? `NS_${ns.hash}`;
    for (const c of repo.classes(name)) classProps += c.properties.filter((p) => p.name.startsWith('builtin_')).length;
    for (const i of repo.instances(name)) {
      if (i.properties.some((p) => p.name === 'provider' && p.type === 'reference')) withProvider++;
      if (i.properties.some((p) => p.name.startsWith('builtin_'))) unresolved++;
    }
  }
  // 263 instances of __ProviderRegistration subclasses (__InstanceProviderRegistration, __MethodProviderRegistration,
  // __EventProviderRegistration, __EventConsumerProviderRegistration, …); measured before the fix: 263 instances
  // with a `builtin_6` property, 139 class properties named builtin_6 (84), builtin_1 (54) or builtin_5 (1)
  assert.deepEqual([withProvider, unresolved, classProps], [263, 0, 0]);
  const reg = repo.instances('ROOT\\subscription', '__EventConsumerProviderRegistration');
  assert.deepEqual(
    reg.map((i) => i.properties.find((p) => p.name === 'provider')?.value).sort(),
    ['ActiveScriptEventConsumer', 'CommandLineEventConsumer', 'LogFileEventConsumer', 'NTEventLogEventConsumer', 'SMTPEventConsumer'].map((c) => `\\\\.\\root\\subscription:__Win32Provider.Name="${c}"`),
  );
  const pnp = repo.classDefinition('ROOT\\cimv2', 'Win32_PnPDeviceProperty')!;
  assert.ok(pnp.properties.some((p) => p.name === 'key' && p.type === 'string'));
});
