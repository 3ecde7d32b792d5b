#!/usr/bin/env node
/**
 * Regenerates test/fixtures/velociraptor-artifacts/registry-<short>.json: the VQL plugins, functions and their
 * arguments that Velociraptor registers at one pinned commit, the keys its artifact YAML loader accepts, and
 * the artifact / parameter / report / notebook-cell type names its loader and launcher handle.
 *
 * Test-side tooling only (the runtime tool never reads Velociraptor). Read from public source, for facts only.
 *
 *   node scripts/velociraptor-registry.mjs [--repo /work/.mirror/Velocidex+velociraptor/repo]
 *        [--vfilter-repo /work/.mirror/Velocidex+vfilter/repo] [--commit <40 hex>] [--out FILE]
 *
 * Sources, all read with `git cat-file` from bare mirrors at the pinned commits:
 * - `docs/references/vql.yaml` (generated from the running registry; it is also the API description
 *   Velociraptor's own artifact verifier, services/launcher/verifier.go, loads): names, Plugin/Function,
 *   args with type and required, free_form_args, platforms.
 * - cross-check: the Go registrations (`vfilter.PluginInfo{Name: ...}`, `vfilter.FunctionInfo{Name: ...}`,
 *   `vfilter.GenericListPlugin{PluginName: ...}`) and the arg structs' `vfilter:"required,field=x"` tags, in
 *   Velociraptor and in the vfilter module at the version its go.mod pins (vfilter registers the core
 *   plugins such as foreach, chain, if, and functions such as format, count). Differences are written to the
 *   fixture's `crossCheck` section, not hidden.
 * - `artifacts/proto/artifact.proto`: message fields. Velociraptor loads artifact YAML with
 *   `yaml.UnmarshalStrict` (Velocidex/yaml/v2) into the generated Go structs, whose `json:` tags are the proto
 *   field names (snake_case), so the accepted keys are exactly the proto field names; unknown keys are errors.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
}
const REPO = opt('--repo', '/work/.mirror/Velocidex+velociraptor/repo');
const VFILTER_REPO = opt('--vfilter-repo', '/work/.mirror/Velocidex+vfilter/repo');
const COMMIT = opt('--commit', 'cd02ac66343b6c84d4706708eba00a7e243ffac9');
const OUT = opt('--out', path.join('test/fixtures/velociraptor-artifacts', `registry-${COMMIT.slice(0, 7)}.json`));

function git(repo, ...a) {
  return execFileSync('git', ['-C', repo, ...a], { encoding: 'utf8', maxBuffer: 1 << 28 });
}
function show(repo, commit, p) {
  return git(repo, 'show', `${commit}:${p}`);
}
/** Every blob under the commit whose path matches `filter`, as [path, text]. One `git cat-file --batch`. */
function blobs(repo, commit, filter) {
  const list = git(repo, 'ls-tree', '-r', commit)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [meta, p] = l.split('\t');
      const [, type, sha] = meta.split(' ');
      return { p, type, sha };
    })
    .filter((e) => e.type === 'blob' && filter(e.p));
  const out = execFileSync('git', ['-C', repo, 'cat-file', '--batch'], {
    input: list.map((e) => e.sha).join('\n') + '\n',
    maxBuffer: 1 << 30,
  });
  const res = [];
  let off = 0;
  for (const e of list) {
    const nl = out.indexOf(10, off);
    const header = out.subarray(off, nl).toString('utf8');
    const m = /^(\S+) (\S+) (\d+)$/.exec(header);
    if (!m) throw new Error(`cat-file: ${header}`);
    const size = Number(m[3]);
    res.push([e.p, out.subarray(nl + 1, nl + 1 + size).toString('utf8')]);
    off = nl + 1 + size + 1;
  }
  return res;
}

// ---------------------------------------------------------------- vql.yaml
const vqlYaml = parse(show(REPO, COMMIT, 'docs/references/vql.yaml'));
const ALL_PLATFORMS = new Set();
for (const e of vqlYaml) for (const p of e.platforms ?? []) ALL_PLATFORMS.add(p);

function entry(e) {
  const argsOut = {};
  for (const a of e.args ?? []) argsOut[a.name] = { type: a.type ?? '', required: a.required === true };
  const r = { args: argsOut };
  if (e.free_form_args === true) r.freeFormArgs = true;
  const plats = (e.platforms ?? []).slice().sort();
  // Only record platforms when the entry is not built for every platform (e.g. Windows-only plugins).
  if (plats.length > 0 && plats.length < ALL_PLATFORMS.size) r.platforms = plats;
  if (e.metadata?.permissions) r.permissions = String(e.metadata.permissions).split(',');
  return r;
}
const plugins = {};
const functions = {};
const otherTypes = [];
for (const e of vqlYaml) {
  if (e.type === 'Plugin') plugins[e.name] = entry(e);
  else if (e.type === 'Function') functions[e.name] = entry(e);
  else otherTypes.push(`${e.name}:${e.type}`);
}

// ---------------------------------------------------------------- Go source cross-check
const goMod = show(REPO, COMMIT, 'go.mod');
const vfm = /www\.velocidex\.com\/golang\/vfilter v[^\s]*-([0-9a-f]{12})\b/.exec(goMod);
const vfilterCommit = vfm ? git(VFILTER_REPO, 'rev-parse', vfm[1]).trim() : undefined;

const goFiles = [
  ...blobs(REPO, COMMIT, (p) => p.endsWith('.go') && !p.endsWith('_test.go') && !p.startsWith('docs/')).map(
    ([p, t]) => ['velociraptor', p, t],
  ),
  ...(vfilterCommit
    ? blobs(VFILTER_REPO, vfilterCommit, (p) => p.endsWith('.go') && !p.endsWith('_test.go') && !p.startsWith('_examples/')).map(
        ([p, t]) => ['vfilter', p, t],
      )
    : []),
];

/**
 * Text of the balanced `{...}` block starting at `open` (index of `{`), skipping Go strings, raw strings,
 * runes and comments. Unbalanced input yields the rest of the text.
 */
function block(text, open) {
  let depth = 0;
  let i = open;
  while (i < text.length) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      const e = text.indexOf('\n', i);
      i = e < 0 ? text.length : e;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? text.length : e + 2;
      continue;
    }
    if (c === '`') {
      const e = text.indexOf('`', i + 1);
      i = e < 0 ? text.length : e + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(open, i + 1);
    i++;
  }
  return text.slice(open);
}

// Arg structs: key `${repo}:${dir}:${StructName}` -> {field: required}
const structs = new Map();
const structRe = /\btype\s+([A-Za-z_]\w*)\s+struct\s*\{/g;
for (const [repo, p, text] of goFiles) {
  for (const m of text.matchAll(structRe)) {
    const body = block(text, m.index + m[0].length - 1);
    const fields = {};
    // Tags are usually raw strings (`vfilter:"..."`), sometimes interpreted ones ("vfilter:\"...\"").
    for (const t of body.matchAll(/vfilter:\\?"([^"\\]*)/g)) {
      const parts = t[1].split(',');
      const f = parts.find((x) => x.startsWith('field='));
      if (!f) continue;
      fields[f.slice(6)] = parts.includes('required');
    }
    structs.set(`${repo}:${path.posix.dirname(p)}:${m[1]}`, fields);
  }
}
/** Go package import path alias -> dir, per file (only www.velocidex.com/golang/velociraptor/... imports). */
function importDirs(text) {
  const res = new Map();
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import\s+)?([A-Za-z_]\w*)?\s*"www\.velocidex\.com\/golang\/(velociraptor|vfilter)\/?([^"]*)"/g)) {
    const dir = m[3] === '' ? '.' : m[3];
    const alias = m[1] ?? path.posix.basename(dir === '.' ? m[2] : dir);
    res.set(alias, [m[2], dir]);
  }
  return res;
}

/**
 * The Go build constraint of a file: its `//go:build` line and its name's _GOOS / _GOARCH suffixes, as one
 * expression ('' when unconstrained).
 */
const GOOS = ['windows', 'linux', 'darwin', 'freebsd', 'openbsd', 'netbsd', 'solaris', 'android', 'ios', 'plan9', 'js', 'aix'];
const GOARCH = ['amd64', '386', 'arm', 'arm64', 'mips', 'mipsle', 'mips64', 'mips64le', 'ppc64', 'ppc64le', 's390x', 'riscv64', 'wasm'];
function buildConstraint(p, text) {
  const parts = [];
  const line = /^\/\/go:build\s+(.+)$/m.exec(text.slice(0, text.search(/^package\s/m) >>> 0));
  if (line) parts.push(`(${line[1].trim()})`);
  const stem = path.posix.basename(p, '.go').split('_');
  const last = stem[stem.length - 1];
  const prev = stem[stem.length - 2];
  if (stem.length > 1 && GOARCH.includes(last)) {
    parts.push(last);
    if (stem.length > 2 && GOOS.includes(prev)) parts.push(prev);
  } else if (stem.length > 1 && GOOS.includes(last)) parts.push(last);
  return parts.join(' && ');
}
/** Tags of Velociraptor's Windows amd64 release build (magefile.go: base_tags + " release yara ", cgo). */
const WINDOWS_RELEASE_TAGS = new Set(['windows', 'amd64', 'cgo', 'server_vql', 'extras', 'disable_grpc_modules', 'release', 'yara']);
function evalConstraint(expr, tags) {
  if (expr === '') return true;
  const js = expr.replace(/[A-Za-z0-9_.]+/g, (id) => (tags.has(id) ? 'true' : 'false'));
  if (!/^[truefalse&|!() ]+$/.test(js)) throw new Error(`build constraint not understood: ${expr}`);
  return Boolean(Function(`return (${js});`)());
}

/**
 * Whether a Velociraptor Go package is compiled into the Windows release build: some file importing it is
 * (by its own build constraint) and is in such a package itself. Packages nobody imports are roots (main).
 * vfilter packages are always in.
 */
const importersOf = new Map();
for (const [repo, p, text] of goFiles) {
  if (repo !== 'velociraptor') continue;
  for (const m of text.matchAll(/"www\.velocidex\.com\/golang\/velociraptor\/([^"]+)"/g)) {
    if (!importersOf.has(m[1])) importersOf.set(m[1], []);
    importersOf.get(m[1]).push([p, text]);
  }
}
const pkgMemo = new Map();
function packageOnWindows(repo, dir) {
  if (repo !== 'velociraptor') return true;
  if (pkgMemo.has(dir)) return pkgMemo.get(dir);
  pkgMemo.set(dir, true); // cycle guard
  const importers = importersOf.get(dir) ?? [];
  const res =
    importers.length === 0 ||
    importers.some(([p, text]) => evalConstraint(buildConstraint(p, text), WINDOWS_RELEASE_TAGS) && packageOnWindows(repo, path.posix.dirname(p)));
  pkgMemo.set(dir, res);
  return res;
}

const goNames = { Plugin: new Map(), Function: new Map() };
const unresolvedArgTypes = [];
const nonLiteralNames = [];
for (const [repo, p, text] of goFiles) {
  const imports = importDirs(text);
  const build = buildConstraint(p, text);
  const onWindows = evalConstraint(build, WINDOWS_RELEASE_TAGS) && packageOnWindows(repo, path.posix.dirname(p));
  for (const m of text.matchAll(/\b(PluginInfo|FunctionInfo|GenericListPlugin|GenericFunction)\s*\{/g)) {
    const kind = m[1] === 'FunctionInfo' || m[1] === 'GenericFunction' ? 'Function' : 'Plugin';
    const body = block(text, m.index + m[0].length - 1);
    const nm = /\b(?:Name|PluginName|FunctionName)\s*:\s*("([^"]+)"|[^,\n]+)/.exec(body);
    if (!nm) continue;
    if (nm[2] === undefined) {
      nonLiteralNames.push(`${repo}/${p}: ${kind} Name: ${nm[1].trim()}`);
      continue;
    }
    const at = /ArgType\s*:[^\n]*?&(?:([A-Za-z_]\w*)\.)?([A-Za-z_]\w*)\s*\{\s*\}/.exec(body);
    let args;
    if (at) {
      let key;
      if (at[1]) {
        const imp = imports.get(at[1]);
        key = imp ? `${imp[0]}:${imp[1]}:${at[2]}` : undefined;
      } else key = `${repo}:${path.posix.dirname(p)}:${at[2]}`;
      args = key ? structs.get(key) : undefined;
      if (!args) unresolvedArgTypes.push(`${nm[2]} (${repo}/${p}: ${at[0].replace(/\s+/g, ' ')})`);
    }
    const prev = goNames[kind].get(nm[2]);
    goNames[kind].set(nm[2], {
      file: prev?.file ?? `${repo}/${p}`,
      args: args ?? prev?.args,
      builds: [...(prev?.builds ?? []), build],
      onWindows: (prev?.onWindows ?? false) || onWindows,
    });
  }
}

const crossCheck = {
  goSource: `velociraptor ${COMMIT} and vfilter ${vfilterCommit ?? '(not found)'}`,
  onlyInVqlYaml: [],
  onlyInGoSource: [],
  argsCrossChecked: 0,
  platformRule: 'notOnWindowsRelease is from Go: the registering file\'s build constraint and its package being imported (transitively) by a file compiled for Windows amd64 with the release tags of magefile.go (server_vql extras disable_grpc_modules release yara, cgo). vql.yaml platforms are kept as listed but lag for recent entries.',
  platformDifferences: [],
  argDifferences: [],
  goNamesNotLiteral: nonLiteralNames.sort(),
  goArgStructsNotResolved: unresolvedArgTypes.sort(),
};
for (const [kind, table] of [
  ['Plugin', plugins],
  ['Function', functions],
]) {
  for (const name of Object.keys(table).sort()) {
    const g = goNames[kind].get(name);
    if (!g) {
      // Registered under a computed name (e.g. `Name: self.name`): say where the literal name appears.
      const lit = `"${name}"`;
      const where = goFiles.filter(([, , t]) => t.includes(lit)).map(([r, p]) => `${r}/${p}`);
      // No literal anywhere: a stale vql.yaml entry (e.g. the deprecated `for` plugin). Velociraptor's own
      // verifier would accept it, but nothing registers it, so a query using it fails when it runs.
      if (where.length === 0 && name !== 'Artifact') table[name].unregistered = true;
      else if (goNames[kind === 'Plugin' ? 'Function' : 'Plugin'].has(name) && where.length === 1) table[name].unregistered = true;
      crossCheck.onlyInVqlYaml.push(`${kind} ${name}${where.length ? ` (literal "${name}" in ${where.slice(0, 3).join(', ')})` : ' (no literal in Go source)'}`);
      continue;
    }
    const builds = [...new Set(g.builds)];
    if (!builds.includes('')) table[name].goBuild = builds;
    if (!g.onWindows) table[name].notOnWindowsRelease = true;
    const yamlWindows = table[name].platforms === undefined || table[name].platforms.some((x) => x.startsWith('windows'));
    if (yamlWindows !== g.onWindows)
      crossCheck.platformDifferences.push(
        `${kind} ${name}: vql.yaml platforms ${table[name].platforms?.join(',') ?? '(all)'}, Go build ${g.onWindows ? 'includes' : 'excludes'} Windows (${builds.filter(Boolean).join(' | ') || 'file unconstrained'})`,
      );
    if (!g.args) continue;
    crossCheck.argsCrossChecked++;
    const y = table[name].args;
    for (const a of Object.keys(g.args).sort()) {
      if (!(a in y)) crossCheck.argDifferences.push(`${kind} ${name}: arg ${a} in Go (${g.file}) not in vql.yaml`);
      else if (y[a].required !== g.args[a])
        crossCheck.argDifferences.push(`${kind} ${name}: arg ${a} required=${g.args[a]} in Go, ${y[a].required} in vql.yaml`);
    }
    for (const a of Object.keys(y).sort())
      if (!(a in g.args)) crossCheck.argDifferences.push(`${kind} ${name}: arg ${a} in vql.yaml not in Go (${g.file})`);
  }
  for (const [name, g] of [...goNames[kind]].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (!(name in table)) crossCheck.onlyInGoSource.push(`${kind} ${name} (${g.file})`);
  }
}

// ---------------------------------------------------------------- artifact.proto
const proto = show(REPO, COMMIT, 'artifacts/proto/artifact.proto')
  .replace(/\/\*[\s\S]*?\*\//g, '')
  .replace(/\/\/[^\n]*/g, '');
const messages = {};
for (const m of proto.matchAll(/\bmessage\s+(\w+)\s*\{/g)) {
  const body = block(proto, m.index + m[0].length - 1).slice(1, -1);
  // Drop nested option blocks (option (semantic) = {...}) and field options [...]
  const flat = body.replace(/option\s*\([^)]*\)\s*=\s*\{[\s\S]*?\};/g, '').replace(/\[[\s\S]*?\]/g, '');
  const fields = {};
  for (const f of flat.matchAll(/(?:^|;|\n)\s*(repeated\s+)?(map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*\d+\s*;?/g)) {
    fields[f[3]] = { type: f[2], repeated: Boolean(f[1]) };
  }
  messages[m[1]] = fields;
}
const wanted = ['Artifact', 'ArtifactParameter', 'ArtifactSource', 'NotebookSourceCell', 'ArtifactEnv', 'Report', 'ColumnType', 'Tool', 'Resources', 'ArtifactMetadata'];
const artifactDefinition = {};
for (const w of wanted) {
  if (!messages[w]) throw new Error(`message ${w} not in artifact.proto`);
  artifactDefinition[w] = messages[w];
}

// ---------------------------------------------------------------- type names from the loader / launcher source
function goCaseLabels(file, startMarker, endMarker) {
  const text = show(REPO, COMMIT, file);
  const s = text.indexOf(startMarker);
  if (s < 0) throw new Error(`${startMarker} not in ${file}`);
  const e = endMarker ? text.indexOf(endMarker, s) : text.length;
  const region = text.slice(s, e);
  const res = [];
  for (const m of region.matchAll(/\bcase\s+([^:]+):/g)) for (const q of m[1].matchAll(/"([^"]*)"/g)) res.push(q[1]);
  return res;
}
// Parameter types: the launcher converts some (int, json, csv, ...); the GUI's collection form renders others
// (hidden, choices, multichoice, ...). Any other type is passed through as a plain string by both.
const launcherParameterTypes = goCaseLabels('services/launcher/parameters.go', 'switch parameter.Type', 'res_env = append');
const guiParameterTypes = goCaseLabels('gui/velociraptor/src/components/forms/form.jsx', 'switch(param.type)', 'default:');
const parameterTypes = [...new Set([...launcherParameterTypes, ...guiParameterTypes])];
const artifactTypes = goCaseLabels('paths/artifact_modes/modes.go', 'func ModeNameToMode');
const reportTypes = goCaseLabels('services/repository/repository.go', 'switch report.Type', '// Make sure none of the aliases');
const notebookCellTypes = goCaseLabels('services/repository/repository.go', 'switch cell.Type', 'Artifact %s contains an invalid notebook cell type');
const permissions = goCaseLabels('acls/acls.go', 'func GetPermission', '\n}\n').filter((p) => p !== 'NO_PERMISSIONS');
const repoGo = show(REPO, COMMIT, 'services/repository/repository.go');
const nameRe = /artifactNameRegex\s*=\s*regexp\.MustCompile\("([^"]+)"\)/.exec(repoGo);
const compRe = /artifactComponentRegex\s*=\s*regexp\.MustCompile\("([^"]+)"\)/.exec(repoGo);
// Fields LoadProto clears or overwrites (set from the loader, not the YAML).
const internalFields = [];
for (const m of repoGo.slice(repoGo.indexOf('func (self *Repository) LoadProto')).slice(0, 1500).matchAll(/artifact\.(\w+)\s*=\s*(?:false|nil|options\.)/g)) {
  internalFields.push(m[1].replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase());
}
if (/artifact\.Raw\s*=\s*data/.test(repoGo)) internalFields.push('raw');

const vqlPaths = /VQLPaths\s*=\s*\[\]string\{([^}]*)\}/.exec(show(REPO, COMMIT, 'services/launcher/verifier.go'));

const fixture = {
  commit: COMMIT,
  source: `https://github.com/Velocidex/velociraptor/tree/${COMMIT}`,
  license: 'Facts (names, argument names, types) read from Velociraptor (AGPL-3.0) and vfilter (Apache-2.0) source; no code or text copied.',
  generator: 'scripts/velociraptor-registry.mjs',
  vfilterCommit,
  files: {
    registry: 'docs/references/vql.yaml',
    artifactDefinition: 'artifacts/proto/artifact.proto',
    yamlLoader: 'services/repository/repository.go (LoadYaml: yaml.UnmarshalStrict into the proto structs, json tags = proto field names; LoadProto: checks)',
    parameterTypes: 'services/launcher/parameters.go (compileParametersToVQLPreamble) and gui/velociraptor/src/components/forms/form.jsx (switch(param.type))',
    artifactTypes: 'paths/artifact_modes/modes.go (ModeNameToMode, case-insensitive, "" = CLIENT)',
    verifier: 'services/launcher/verifier.go (VerifyArtifact: plugins/functions/args against vql.yaml)',
  },
  counts: {
    plugins: Object.keys(plugins).length,
    functions: Object.keys(functions).length,
    vqlYamlOtherTypes: otherTypes,
  },
  artifactNameRegex: nameRe?.[1],
  artifactNameComponentForbidden: compRe?.[1],
  artifactDefinition,
  internalArtifactFields: [...new Set(internalFields)].sort(),
  artifactTypes: artifactTypes.filter((t) => t !== ''),
  parameterTypes,
  parameterTypeSources: { launcher: launcherParameterTypes, gui: guiParameterTypes },
  reportTypes,
  notebookCellTypes,
  permissions,
  verifierVqlPaths: vqlPaths ? [...vqlPaths[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [],
  crossCheck,
  plugins,
  functions,
};

mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(fixture, null, 1) + '\n');
console.log(
  `${OUT}: ${fixture.counts.plugins} plugins, ${fixture.counts.functions} functions; ` +
    `only in vql.yaml ${crossCheck.onlyInVqlYaml.length}, only in Go ${crossCheck.onlyInGoSource.length}, ` +
    `arg differences ${crossCheck.argDifferences.length}, unresolved arg structs ${crossCheck.goArgStructsNotResolved.length}`,
);
