#!/usr/bin/env node
/**
 * Bundles the HTML report's page script into one classic script and writes it, with its CSP hash, as a
 * TypeScript module the report inlines: src/report/html/page-script.generated.ts (git-ignored, made by every
 * build; `npm run build` runs `tsc -p tsconfig.page.json`, then this, then the main `tsc`).
 *
 * Why a bundler of our own: the page may run one inline script only, allowed by its hash (no module loader, no
 * second file, no `import`), and the project has no bundler dependency. `tsc -p tsconfig.page.json` type-checks
 * the page against the DOM and emits plain ES modules to dist/page; this script joins them. It handles the
 * subset tsc emits for our sources and refuses anything else, so a surprise fails the build instead of the page:
 * - `import { a, b as c } from './x.js'` (relative, named only; `import type` is already erased by tsc);
 * - `export function` / `export class` / `export const` (no `let`/`var` exports: a destructured binding would
 *   not be live) and `export { a, b as c }` without `from`.
 * Each module becomes a function scope that returns its exports, evaluated once, dependencies first (a cycle is
 * refused), so names cannot collide between modules. The modules are parsed with the TypeScript compiler's parser
 * (a devDependency), never with regular expressions.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(root, 'dist/page/report/html/page/main.js');
const OUT = path.join(root, 'src/report/html/page-script.generated.ts');

/** @typedef {{ file: string, id: string, imports: Array<{ from: string, names: Array<[string, string]> }>, exports: Array<[string, string]>, body: string }} Mod */

function fail(file, node, message) {
  const where = node ? `:${node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1}` : '';
  throw new Error(`build-page: ${path.relative(root, file)}${where}: ${message}`);
}

const hasModifier = (node, kind) => (ts.canHaveModifiers(node) ? ts.getModifiers(node) ?? [] : []).some((m) => m.kind === kind);

/** One emitted module: its imports, its exports, and its text without import statements and export keywords. */
function readModule(file, id) {
  if (!existsSync(file)) fail(file, null, 'not emitted (run tsc -p tsconfig.page.json first)');
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2020, true, ts.ScriptKind.JS);
  /** cut ranges [start, end) */
  const cuts = [];
  const imports = [];
  const exports = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const spec = st.moduleSpecifier.text;
      if (!spec.startsWith('./') && !spec.startsWith('../')) fail(file, st, `import of "${spec}": the page may import only its own modules`);
      const names = [];
      const clause = st.importClause;
      if (clause) {
        if (clause.name || !clause.namedBindings || !ts.isNamedImports(clause.namedBindings)) fail(file, st, 'only named imports are bundled');
        for (const el of clause.namedBindings.elements) names.push([(el.propertyName ?? el.name).text, el.name.text]);
      }
      imports.push({ from: path.resolve(path.dirname(file), spec), names });
      cuts.push([st.getFullStart(), st.getEnd()]);
      continue;
    }
    if (ts.isExportDeclaration(st)) {
      if (st.moduleSpecifier || !st.exportClause || !ts.isNamedExports(st.exportClause)) fail(file, st, 'only `export { names }` without `from` is bundled');
      for (const el of st.exportClause.elements) exports.push([el.name.text, (el.propertyName ?? el.name).text]);
      cuts.push([st.getFullStart(), st.getEnd()]);
      continue;
    }
    if (ts.isExportAssignment(st)) fail(file, st, 'default exports are not bundled');
    if (!hasModifier(st, ts.SyntaxKind.ExportKeyword)) continue;
    if (hasModifier(st, ts.SyntaxKind.DefaultKeyword)) fail(file, st, 'default exports are not bundled');
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) exports.push([st.name.text, st.name.text]);
    else if (ts.isVariableStatement(st)) {
      if (!(st.declarationList.flags & ts.NodeFlags.Const)) fail(file, st, 'exported variables must be const (a bundled binding is not live)');
      for (const d of st.declarationList.declarations) {
        if (!ts.isIdentifier(d.name)) fail(file, st, 'destructured exports are not bundled');
        exports.push([d.name.text, d.name.text]);
      }
    } else fail(file, st, 'unsupported export');
    const kw = ts.getModifiers(st).find((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    cuts.push([kw.getStart(), text[kw.getEnd()] === ' ' ? kw.getEnd() + 1 : kw.getEnd()]);
  }
  let body = '';
  let at = 0;
  for (const [a, b] of cuts.sort((x, y) => x[0] - y[0])) {
    body += text.slice(at, a);
    at = b;
  }
  body += text.slice(at);
  return { file, id, imports, exports, body: body.replace(/^\s*\n/, '').replace(/\s+$/, '') };
}

/** The modules reachable from the entry, dependencies first. */
function collect(entry) {
  /** @type {Map<string, Mod>} */
  const done = new Map();
  const visiting = new Set();
  const order = [];
  const visit = (file) => {
    if (done.has(file)) return done.get(file);
    if (visiting.has(file)) fail(file, null, 'import cycle');
    visiting.add(file);
    const mod = readModule(file, '');
    for (const imp of mod.imports) visit(imp.from);
    visiting.delete(file);
    mod.id = `m${order.length}_${path.basename(file, '.js').replace(/[^A-Za-z0-9_]/g, '_')}`;
    done.set(file, mod);
    order.push(mod);
    return mod;
  };
  visit(entry);
  return { order, done };
}

function bundle(entry, order, done) {
  const parts = ["(function () {\n'use strict';"];
  for (const mod of order) {
    const head = mod.imports
      .filter((imp) => imp.names.length > 0)
      .map((imp) => {
        const dep = done.get(imp.from);
        for (const [name] of imp.names) if (!dep.exports.some(([e]) => e === name)) fail(mod.file, null, `${path.relative(root, imp.from)} does not export ${name}`);
        return `const { ${imp.names.map(([n, local]) => (n === local ? n : `${n}: ${local}`)).join(', ')} } = ${dep.id};`;
      });
    const ret = mod.exports.length ? `return { ${mod.exports.map(([e, local]) => (e === local ? e : `${e}: ${local}`)).join(', ')} };` : '';
    const rel = path.relative(path.join(root, 'dist/page'), mod.file).split(path.sep).join('/');
    const isEntry = mod === order[order.length - 1];
    parts.push(`// ${rel}\n${isEntry ? '' : `const ${mod.id} = `}(function () {\n${[...head, mod.body, ret].filter(Boolean).join('\n')}\n})();`);
  }
  parts.push('})();\n');
  return parts.join('\n');
}

/** The TypeScript source of each bundled module (dist/page/x.js ← src/x.ts) and its SHA-256, so a test can tell a stale bundle. */
function sources(order) {
  const out = {};
  for (const mod of order) {
    const rel = path.relative(path.join(root, 'dist/page'), mod.file).split(path.sep).join('/').replace(/\.js$/, '.ts');
    out[`src/${rel}`] = createHash('sha256').update(readFileSync(path.join(root, 'src', rel))).digest('hex');
  }
  return out;
}

const { order, done } = collect(ENTRY);
const script = bundle(ENTRY, order, done);
// an inline script cannot hold these: the first would end its element, the second changes how HTML parses it
if (/<\/script/i.test(script) || /<!--/.test(script)) throw new Error('build-page: the page script contains </script or <!--');
const hash = `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`;
const out = [
  '// Generated by scripts/build-page.mjs from src/report/html/page/*.ts (and the model modules they import): do not edit.',
  '',
  '/** The HTML report\'s page script: one classic script, inlined by formatHtml. */',
  `export const PAGE_SCRIPT: string = ${JSON.stringify(script)};`,
  '',
  '/** Its Content-Security-Policy source expression, computed when it was built. */',
  `export const PAGE_SCRIPT_CSP: string = ${JSON.stringify(hash)};`,
  '',
  '/** The sources it was built from (repository path → SHA-256 of the file): a test compares them with the files. */',
  `export const PAGE_SCRIPT_SOURCES: Readonly<Record<string, string>> = ${JSON.stringify(sources(order), null, 2)};`,
  '',
].join('\n');
const previous = existsSync(OUT) ? readFileSync(OUT, 'utf8') : null;
if (previous !== out) writeFileSync(OUT, out);
console.log(`build-page: ${order.length} modules, ${script.length} characters, ${hash}`);
