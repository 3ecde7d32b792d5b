/**
 * Instance records (cim-format.md §8): the record header (class-name hash, two timestamps), the property states and
 * values read with the class's full layout, defaults taken from the class chain.
 */
import { filetimeToIso, parseInstanceHeader, readInstanceValues, typeName } from './records.js';
import type { ClassCatalog } from './classes.js';
import type { CimFormatVersion, CimInstance, CimLocation, CimProperty } from './types.js';

/**
 * Decode instance bytes with the layout of `classHash` as seen from `nsHash` (`namespace`: its name when known);
 * problems come back as text. Properties the instance leaves at their default take the class default.
 */
export function decodeInstance(
classes: ClassCatalog,
version: CimFormatVersion,
bytes: Uint8Array,
nsHash: string,
classHash: string,
location: CimLocation,
namespace: string | null,
): { instance: CimInstance | null; warnings: string[] } {
  const layout = classes.layout(nsHash, classHash);
  try {
    const head = parseInstanceHeader(bytes, version);
    const props = layout?.props ?? [];
    const decoded = readInstanceValues(head, props);
    const warnings = [...decoded.warnings];
    const last = (layout?.chain.length ?? 1) - 1;
    const properties: CimProperty[] = props.map((p, i) => {
      const d = decoded.values[i]!;
      if (d.state === 'default') return { name: p.name, type: typeName(p.type), value: classes.defaultValue(layout!, last, i), source: 'default' };
      return { name: p.name, type: typeName(p.type), value: d.value, source: d.state };
    });
    if (!layout) warnings.push('class definition not found; properties not decoded');
    const instance: CimInstance = {
      namespace,
      namespaceHash: nsHash,
      className: layout?.chain[layout.chain.length - 1]!.name ?? decoded.className,
      classChain: layout?.chain.map((c) => c.name) ?? [],
      properties,
      timestamp1: filetimeToIso(head.ts1Lo, head.ts1Hi),
      timestamp2: filetimeToIso(head.ts2Lo, head.ts2Hi),
      location,
    };
    return { instance, warnings };
  } catch (e) {
    return { instance: null, warnings: [e instanceof Error ? e.message : String(e)] };
  }
}
