/**
 * The layer arrows of docs/ARCHITECTURE.md, enforced: every import of every `src/**` TypeScript file (static
 * `import` / `export … from`, dynamic `import()`, and worker files named by `new URL('./x.js', import.meta.url)`)
 * may only point down the layer table below, no two files may import each other through any chain (no cycle),
 * and the parsers (`evtx/`, `cim/`) depend on no npm package.
 *
 * The sources are parsed with the TypeScript compiler's own parser (a devDependency), so multi-line imports,
 * comments and strings cannot fool the test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from './support/samples.js';

type Layer = 'evtx' | 'cim' | 'model' | 'sysmon' | 'sigma' | 'collector' | 'events' | 'sources' | 'analysis' | 'report' | 'scan' | 'cli' | 'entry';

/**
 * What each layer may import besides itself (a folder under `src/`, or a top-level file). `types` = type-only
 * imports (`import type`, `export type`), which leave no runtime dependency. Keep in step with
 * docs/ARCHITECTURE.md.
 */
const MAY_IMPORT: Record<Layer, Partial<Record<Layer, 'all' | 'types'>>> = {
  evtx: {},
  cim: {},
  model: {},
  sysmon: {},
  sigma: {},
  collector: {},
  // events reads WMI values with the model's vocabulary (namespace form, object paths, SIDs: src/model/wmi.ts)
  // instead of keeping a copy of it; model imports nothing, so this adds no cycle.
  events: { evtx: 'types', model: 'all' },
  sources: { evtx: 'all', cim: 'all', events: 'all', collector: 'all', model: 'all' },
  analysis: { model: 'all' },
  report: { model: 'all' },
  scan: { sources: 'all', analysis: 'all', model: 'all' },
  cli: { evtx: 'all', cim: 'all', model: 'all', sysmon: 'all', collector: 'all', events: 'all', sources: 'all', analysis: 'all', report: 'all', scan: 'all' },
  entry: { evtx: 'all', cim: 'all', model: 'all', sysmon: 'all', collector: 'all', events: 'all', sources: 'all', analysis: 'all', report: 'all', scan: 'all', cli: 'all' },
};

/** Layers that must stay free of npm packages (they are published as entry points of their own). */
const NO_PACKAGES: readonly Layer[] = ['evtx', 'cim'];

/** Top-level files of `src/` and their layer; every other file's layer is its first folder. */
const TOP_FILES: Record<string, Layer> = { 'scan.ts': 'scan', 'index.ts': 'entry' };


interface Edge {
  from: string;
  /** Repository-relative path of the imported `src` file, or the package name. */
  to: string;
  typeOnly: boolean;
  line: number;
  kind: 'import' | 'export' | 'dynamic import' | 'worker URL';
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const ROOT = repoRoot();
const rel = (abs: string): string => path.relative(ROOT, abs).split(path.sep).join('/');

function layerOf(file: string): Layer | null {
  const inSrc = file.slice('src/'.length);
  const slash = inSrc.indexOf('/');
  const name = slash < 0 ? TOP_FILES[inSrc] : inSrc.slice(0, slash);
  return name !== undefined && name in MAY_IMPORT ? (name as Layer) : null;
}

/** Every import of one file. Relative specifiers are resolved to the `.ts` file they compile from. */
function importsOf(file: string): { edges: Edge[]; unresolved: string[] } {
  const abs = path.join(ROOT, file);
  const sf = ts.createSourceFile(abs, readFileSync(abs, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  const add = (spec: string, node: ts.Node, typeOnly: boolean, kind: Edge['kind']): void => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    if (!spec.startsWith('.')) {
      edges.push({ from: file, to: spec, typeOnly, line, kind });
      return;
    }
    // Only compiled modules count (`new URL('../../package.json', import.meta.url)` reads a data file).
    if (!/\.js$/.test(spec)) return;
    const target = path.resolve(path.dirname(abs), spec.replace(/\.js$/, '.ts'));
    if (!existsSync(target)) unresolved.push(`${file}:${line} ${kind} '${spec}' names no file of src/`);
    else edges.push({ from: file, to: rel(target), typeOnly, line, kind });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const typeOnly = c !== undefined && (c.isTypeOnly || (c.name === undefined && c.namedBindings !== undefined && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, node, typeOnly, 'import');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = node.isTypeOnly || (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier.text, node, typeOnly, 'export');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) add(arg.text, node, false, 'dynamic import');
      else unresolved.push(`${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1} dynamic import() of a computed name: the layers cannot be checked`);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' && node.arguments && node.arguments.length >= 2) {
      const [spec, base] = node.arguments;
      if (spec && ts.isStringLiteralLike(spec) && base && base.getText(sf).replace(/\s/g, '') === 'import.meta.url') add(spec.text, node, false, 'worker URL');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { edges, unresolved };
}

const FILES = listTs(path.join(ROOT, 'src')).map(rel).sort();
const PARSED = FILES.map((f) => ({ file: f, ...importsOf(f) }));
const EDGES = PARSED.flatMap((p) => p.edges);
const BUILTINS = new Set(builtinModules);
const isBuiltin = (spec: string): boolean => spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0]!);

/** Strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
function cycles(): string[][] {
  const next = new Map<string, string[]>();
  for (const e of EDGES) if (e.to.startsWith('src/')) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (next.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const f of FILES) if (!index.has(f)) strong(f);
  return out;
}

/** One shortest cycle through the first file of a component, as `a -> b -> a` with the import lines. */
function cyclePath(comp: string[]): string {
  const inComp = new Set(comp);
  const start = comp[0]!;
  const prev = new Map<string, Edge>();
  const queue = [start];
  let closing: Edge | undefined;
  while (queue.length > 0 && !closing) {
    const v = queue.shift()!;
    for (const e of EDGES) {
      if (e.from !== v || !inComp.has(e.to)) continue;
      if (e.to === start) {
        closing = e;
        break;
      }
      if (!prev.has(e.to)) {
        prev.set(e.to, e);
        queue.push(e.to);
      }
    }
  }
  const steps: Edge[] = [];
  for (let e = closing; e; e = e.from === start ? undefined : prev.get(e.from)) steps.unshift(e);
  return [start, ...steps.map((e) => `  -> ${e.to}   (${e.from}:${e.line} ${e.typeOnly ? 'type ' : ''}${e.kind})`)].join('\n');
}

describe('architecture: layers and cycles of src/', () => {
  it('reads every source file and resolves every relative import', () => {
    assert.ok(FILES.length > 50, `only ${FILES.length} files under src/`);
    assert.ok(EDGES.some((e) => e.kind === 'worker URL' && e.to === 'src/sources/worker.ts'), 'the scan worker (new URL(..., import.meta.url)) was not seen');
    const unresolved = PARSED.flatMap((p) => p.unresolved);
    assert.deepEqual(unresolved, [], `imports that cannot be checked:\n${unresolved.join('\n')}`);
  });

  it('gives every file a layer', () => {
    const unknown = FILES.filter((f) => layerOf(f) === null);
    assert.deepEqual(unknown, [], `files in no layer (add their folder to MAY_IMPORT in test/architecture.test.ts and to docs/ARCHITECTURE.md):\n${unknown.join('\n')}`);
  });

  it('has no upward or forbidden import between layers', () => {
    const bad: string[] = [];
    for (const e of EDGES) {
      if (!e.to.startsWith('src/')) continue;
      const from = layerOf(e.from);
      const to = layerOf(e.to);
      if (from === null || to === null || from === to) continue;
      const allowed = MAY_IMPORT[from][to];
      if (allowed === 'all' || (allowed === 'types' && e.typeOnly)) continue;
      const may = Object.entries(MAY_IMPORT[from]).map(([l, how]) => (how === 'types' ? `${l} (types only)` : l));
      bad.push(`${e.from}:${e.line} ${e.typeOnly ? 'type ' : ''}${e.kind} of ${e.to}: ${from}/ may import ${may.length ? may.join(', ') : 'nothing of ours'}${allowed === 'types' ? `; this ${e.kind} is not type-only` : ''}`);
    }
    assert.deepEqual(bad, [], `imports against the layer table (docs/ARCHITECTURE.md):\n${bad.join('\n')}`);
  });

  it('has no import cycle between files', () => {
    const found = cycles();
    assert.deepEqual(found.map(cyclePath), [], `import cycles (each listed as one path that closes the circle):\n${found.map(cyclePath).join('\n\n')}`);
  });

  it('keeps the parsers (evtx/, cim/) free of npm packages', () => {
    const bad = EDGES.filter((e) => !e.to.startsWith('src/') && !isBuiltin(e.to) && NO_PACKAGES.includes(layerOf(e.from)!)).map((e) => `${e.from}:${e.line} ${e.kind} of the package '${e.to}'`);
    assert.deepEqual(bad, [], `evtx/ and cim/ must have zero dependencies (they are published as wmiscope/evtx and wmiscope/cim):\n${bad.join('\n')}`);
  });
});
