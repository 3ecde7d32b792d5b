/**
 * One pass of the CIM reader in a fresh process, for the benchmark: `full` = every namespace, every class
 * definition (with layout and defaults) and every instance decoded; `subscriptions` = all subscription objects
 * in all namespaces. Prints `{"ms": …, "namespaces": …, "classes": …, "instances": …}` (time measured inside,
 * from opening the repository).
 */
import { CimRepository } from '../src/cim/index.js';

const [mode, dir] = process.argv.slice(2) as [string, string];
const t0 = performance.now();
const repo = CimRepository.open(dir);
let classes = 0;
let instances = 0;
const namespaces = repo.namespaces();
if (mode === 'full') {
  for (const ns of namespaces) {
    const id = ns.name ?? `NS_${ns.hash}`;
    classes += repo.classes(id).length;
    instances += repo.instances(id).length;
  }
} else {
  const s = repo.subscriptions();
  instances = s.filters.length + s.consumers.length + s.bindings.length;
}
console.log(JSON.stringify({ ms: performance.now() - t0, namespaces: namespaces.length, classes, instances }));
