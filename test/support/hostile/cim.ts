/**
 * Hostile WMI repositories, generated at test time (issue 13, class 4 "big repositories are read whole").
 *
 * `sparseGiantRepository` writes a small real repository with the synthetic builder (one live subscription, one
 * deleted consumer on a free page) and then extends OBJECTS.DATA with ftruncate to a size past 2 GiB: the file is
 * sparse, so it costs no disk, but a reader that loads it whole needs its full size in memory (and Node cannot hold a
 * Buffer that large at all). The free page is moved past the 2 GiB mark, so the residue carving must reach it there.
 */
import { closeSync, openSync, readFileSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { PAGE_SIZE, buildRepository, standardConsumerClasses } from '../cim-builder.js';

const SUB = 'ROOT\\subscription';

export interface SparseRepository {
  /** The repository folder (INDEX.BTR, OBJECTS.DATA, MAPPING1-3.MAP). */
  dir: string;
  /** Apparent size of OBJECTS.DATA, bytes. */
  objectsBytes: number;
  /** The live consumer's name. */
  liveConsumer: string;
  /** The deleted consumer's name (its record only on the free page moved past 2 GiB). */
  deletedConsumer: string;
  /** Byte offset of the moved free page in OBJECTS.DATA. */
  freePageOffset: number;
}

/** Build the repository into `dir` with OBJECTS.DATA extended (sparse) to `objectsBytes` (default 2.5 GiB). */
export function sparseGiantRepository(dir: string, objectsBytes = 2.5 * 2 ** 30): SparseRepository {
  const liveConsumer = 'SparseGiantConsumer';
  const deletedConsumer = 'FarDeletedConsumer';
  const ts = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
  const r = buildRepository(dir, {
    namespaces: ['ROOT', SUB],
    classes: standardConsumerClasses(SUB),
    instances: [
      { namespace: SUB, className: '__EventFilter', ts1: ts, values: { Name: 'SparseGiantFilter', Query: "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'", QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' } },
      { namespace: SUB, className: 'CommandLineEventConsumer', ts1: ts, values: { Name: liveConsumer, CommandLineTemplate: 'powershell.exe -nop -w hidden -c iex(gc C:\\Users\\Public\\giant.txt)' } },
      { namespace: SUB, className: '__FilterToConsumerBinding', ts1: ts, values: { Filter: '__EventFilter.Name="SparseGiantFilter"', Consumer: `CommandLineEventConsumer.Name="${liveConsumer}"` } },
    ],
    residue: {
      freePages: [{ records: [{ label: 'deleted consumer', instance: { namespace: SUB, className: 'CommandLineEventConsumer', ts1: ts, values: { Name: deletedConsumer, CommandLineTemplate: 'cmd.exe /c far.exe' } } }] }],
    },
  });
  const file = join(dir, 'OBJECTS.DATA');
  const free = r.residue.find((x) => x.where === 'free-page');
  if (!free) throw new Error('builder placed no free page');
  const real = statSync(file).size;
  if (objectsBytes < real + 2 * PAGE_SIZE) throw new Error('objectsBytes too small');
  // move the free page to the last whole page of the extended file (past 2 GiB) and zero its old place
  const page = readFileSync(file).subarray(free.physicalPage * PAGE_SIZE, (free.physicalPage + 1) * PAGE_SIZE);
  const farPage = Math.floor(objectsBytes / PAGE_SIZE) - 1;
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, objectsBytes);
    writeSync(fd, Buffer.from(page), 0, PAGE_SIZE, farPage * PAGE_SIZE);
    writeSync(fd, Buffer.alloc(PAGE_SIZE), 0, PAGE_SIZE, free.physicalPage * PAGE_SIZE);
  } finally {
    closeSync(fd);
  }
  return { dir, objectsBytes, liveConsumer, deletedConsumer, freePageOffset: farPage * PAGE_SIZE };
}
