/**
 * The static Velociraptor artifact checker (test/support/velociraptor-check.ts) and the artifacts it guards.
 *
 * - positive controls: every built-in artifact of Velociraptor at the pinned commit (read from the bare
 *   mirror when present, skipped otherwise) and the vendored subset in test/fixtures/velociraptor-artifacts/builtin-cd02ac6
 *   (always) pass, apart from the listed deviations of Velociraptor's own artifacts;
 * - negative controls: mutations of a valid artifact fail with the exact message;
 * - every `artifacts/*.yaml` of this repository passes (skipped while there are none).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import {
  VELOCIRAPTOR_COMMIT,
  analyseVql,
  artifactQueries,
  checkArtifact,
  describeArtifact,
  loadRegistry,
  tokenizeVql,
  type KnownArtifact,
} from './support/velociraptor-check.js';
import { repoRoot } from './support/samples.js';
import { scratchDir } from './support/tmp.js';

const registry = loadRegistry();
/** The bare mirror of Velocidex/velociraptor (override with WMISCOPE_VR_MIRROR; absent in CI: skipped). */
const MIRROR = process.env.WMISCOPE_VR_MIRROR ?? '/work/.mirror/Velocidex+velociraptor/repo';
const VENDORED = path.join(repoRoot(), 'test/fixtures/velociraptor-artifacts/builtin-cd02ac6');

/** Built-in artifacts at the pinned commit from the bare mirror, as [path, text]; undefined when absent. */
function mirrorArtifacts(): [string, string][] | undefined {
  if (!existsSync(MIRROR)) return undefined;
  let tree: string;
  try {
    tree = execFileSync('git', ['-C', MIRROR, 'ls-tree', '-r', VELOCIRAPTOR_COMMIT, 'artifacts/definitions'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  } catch {
    return undefined;
  }
  const entries = tree
    .split('\n')
    .filter((l) => l.endsWith('.yaml'))
    .map((l) => {
      const [meta, p] = l.split('\t');
      return { p, sha: meta.split(' ')[2] };
    });
  const out = execFileSync('git', ['-C', MIRROR, 'cat-file', '--batch'], { input: entries.map((e) => e.sha).join('\n') + '\n', maxBuffer: 1 << 28 });
  const res: [string, string][] = [];
  let off = 0;
  for (const e of entries) {
    const nl = out.indexOf(10, off);
    const size = Number(/ (\d+)$/.exec(out.subarray(off, nl).toString('utf8'))?.[1]);
    res.push([e.p, out.subarray(nl + 1, nl + 1 + size).toString('utf8')]);
    off = nl + 1 + size + 1;
  }
  return res;
}

function walkYaml(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walkYaml(p));
    else if (name.endsWith('.yaml')) out.push(p);
  }
  return out;
}

function vendoredArtifacts(): [string, string][] {
  return walkYaml(VENDORED).map((p) => [path.relative(VENDORED, p), readFileSync(p, 'utf8')]);
}

function artifactMap(files: [string, string][]): Map<string, KnownArtifact> {
  const m = new Map<string, KnownArtifact>();
  for (const [, t] of files) {
    const d = describeArtifact(t);
    if (d === undefined) continue;
    m.set(d.name, d);
    for (const a of d.aliases) m.set(a, d);
  }
  return m;
}

/**
 * Velociraptor's own artifacts that use a parameter type neither the launcher nor the collection form handles
 * (`str`, `glob`): Velociraptor passes them as plain strings, so they work, but the checker flags the type on
 * purpose (an artifact of ours should say what it means). These are the only problems allowed in the corpus.
 */
const KNOWN_BUILTIN_DEVIATIONS: Record<string, string> = {
  'artifacts/definitions/Admin/Client/Upgrade/Debian.yaml': "parameter 'ServiceName': unknown parameter type 'str'",
  'artifacts/definitions/Admin/Client/Upgrade/RedHat.yaml': "parameter 'ServiceName': unknown parameter type 'str'",
  'artifacts/definitions/Linux/Detection/AnomalousFiles.yaml': "parameter 'PathsToSearch': unknown parameter type 'str'",
  'artifacts/definitions/Linux/Events/Journal.yaml': "parameter 'JournalGlob': unknown parameter type 'glob'",
  'artifacts/definitions/Linux/Forensics/Journal.yaml': "parameter 'JournalGlob': unknown parameter type 'glob'",
  'artifacts/definitions/Linux/Forensics/Journal/Fields.yaml': "parameter 'JournalGlob': unknown parameter type 'glob'",
  'artifacts/definitions/Linux/Users/InteractiveUsers.yaml': "parameter 'NonInteractiveExecutables': unknown parameter type 'str'",
  'artifacts/definitions/Windows/Forensics/UserAccessLogs.yaml': "parameter 'SUMGlob': unknown parameter type 'glob'",
};

test('registry fixture: pinned commit, counts, the facts the artifacts rely on', () => {
  assert.equal(registry.commit, VELOCIRAPTOR_COMMIT);
  assert.equal(Object.keys(registry.plugins).length, 145);
  assert.equal(Object.keys(registry.functions).length, 222);
  assert.deepEqual(registry.artifactTypes, ['CLIENT', 'CLIENT_EVENT', 'SERVER', 'SERVER_EVENT', 'NOTEBOOK', 'INTERNAL']);
  const req = (t: Record<string, { args: Record<string, { required: boolean }> }>, n: string): string[] =>
    Object.entries(t[n].args)
      .filter(([, a]) => a.required)
      .map(([k]) => k);
  assert.deepEqual(req(registry.plugins, 'execve'), ['argv']);
  assert.deepEqual(req(registry.functions, 'upload'), ['file']);
  assert.deepEqual(req(registry.plugins, 'glob'), ['globs']);
  assert.deepEqual(req(registry.plugins, 'parse_evtx'), ['filename']);
  assert.deepEqual(req(registry.plugins, 'enumerate_flow'), ['client_id']);
  assert.deepEqual(req(registry.plugins, 'watch_monitoring'), ['artifact']);
  assert.deepEqual(req(registry.plugins, 'foreach'), ['row']);
  assert.equal(registry.plugins.chain.freeFormArgs, true);
  assert.equal(registry.plugins.for.unregistered, true); // deprecated, still in vql.yaml, registered nowhere
  assert.ok(registry.functions.tempfile !== undefined && registry.plugins.tempfile === undefined);
  assert.ok(registry.parameterTypes.includes('bool') && registry.parameterTypes.includes('hidden'));
  assert.ok(Object.keys(registry.artifactDefinition.Artifact).includes('required_permissions'));
});

test('registry fixture: the generator reproduces it from the mirrors', (t) => {
  const vfilter = process.env.WMISCOPE_VFILTER_MIRROR ?? '/work/.mirror/Velocidex+vfilter/repo';
  if (!existsSync(MIRROR) || !existsSync(vfilter)) {
    t.skip(`no Velociraptor / vfilter mirrors (${MIRROR}, ${vfilter}): the committed fixture is used as is`);
    return;
  }
  const out = path.join(scratchDir('vr-registry'), 'registry.json');
  execFileSync(process.execPath, [path.join(repoRoot(), 'scripts/velociraptor-registry.mjs'), '--repo', MIRROR, '--vfilter-repo', vfilter, '--out', out], {
    cwd: repoRoot(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  assert.equal(readFileSync(out, 'utf8'), readFileSync(path.join(repoRoot(), 'test/fixtures/velociraptor-artifacts/registry-cd02ac6.json'), 'utf8'));
});

test('VQL tokenizer: strings, comments, backquoted names are not calls', () => {
  const q = `LET x(a, b=1) = SELECT * FROM info() -- fake(y=1)
    // glob(z=2)
    /* parse_evtx(q=3) */
    SELECT '''multi
    line foo(x=1)''' AS A, "dq bar()", 'sq baz()', \`weird name\`, x(a=1) FROM scope()`;
  const a = analyseVql(q);
  assert.deepEqual(
    a.calls.map((c) => `${c.kind}:${c.name}(${c.args.join(',')})`),
    ['plugin:info()', 'function:x(a)', 'plugin:scope()'],
  );
  assert.deepEqual(a.definitions, [{ name: 'x', params: ['a', 'b'], defaults: ['b'], offset: 4 }]);
  assert.deepEqual(
    a.statements.map((s) => s.isLet),
    [true, false],
  );
  assert.ok(tokenizeVql(q).some((t) => t.kind === 'ident' && t.value === 'weird name'));
  // GROUP BY / ORDER BY are keywords; `group` alone is a name (here an argument), `limit` backquoted too.
  assert.deepEqual(
    tokenizeVql('SELECT * FROM x(group=1, `limit`=2) GROUP  BY a ORDER BY b').map((t) => t.value),
    ['SELECT', '*', 'FROM', 'x', '(', 'group', '=', '1', ',', 'limit', '=', '2', ')', 'GROUP BY', 'a', 'ORDER BY', 'b'],
  );
  // Keyword args at the call's own depth only; nested calls are calls of their own.
  const b = analyseVql(`SELECT * FROM foreach(row={SELECT * FROM glob(globs='*')}, query={SELECT format(format='%v', args=[x]) FROM scope()}, async=TRUE)`);
  assert.deepEqual(
    b.calls.map((c) => `${c.kind}:${c.name}(${c.args.join(',')})`),
    ['plugin:foreach(row,query,async)', 'plugin:glob(globs)', 'function:format(format,args)', 'plugin:scope()'],
  );
});

test('positive control: every built-in artifact of Velociraptor at the pinned commit (mirror)', (t) => {
  const files = mirrorArtifacts();
  if (files === undefined) {
    t.skip(`no Velociraptor mirror at ${MIRROR} (commit ${VELOCIRAPTOR_COMMIT.slice(0, 7)}); the vendored subset is checked instead`);
    return;
  }
  const known = artifactMap(files);
  const unexpected: string[] = [];
  let clean = 0;
  for (const [p, text] of files) {
    // Velociraptor's Windows.* artifacts run on Windows: they must use only what its Windows build has.
    const windows = /^Windows\./.test(describeArtifact(text)?.name ?? '');
    const problems = checkArtifact(text, p, registry, { artifacts: known, windows, permissions: true });
    if (problems.length === 0) clean++;
    const dev = KNOWN_BUILTIN_DEVIATIONS[p];
    for (const pr of problems) if (dev === undefined || !pr.includes(dev)) unexpected.push(pr);
    if (dev !== undefined) assert.ok(problems.some((pr) => pr.includes(dev)), `${p}: the listed deviation is gone: update KNOWN_BUILTIN_DEVIATIONS`);
  }
  t.diagnostic(`${clean}/${files.length} built-in artifacts without any problem; ${Object.keys(KNOWN_BUILTIN_DEVIATIONS).length} with a listed deviation`);
  assert.deepEqual(unexpected, []);
  assert.equal(files.length, 421);
  assert.equal(clean, 421 - Object.keys(KNOWN_BUILTIN_DEVIATIONS).length);
});

test('positive control: the vendored built-in artifacts (always present)', () => {
  const files = vendoredArtifacts();
  assert.equal(files.length, 17);
  const known = artifactMap(files);
  const problems = files.flatMap(([p, text]) => checkArtifact(text, p, registry, { artifacts: known, permissions: true }));
  assert.deepEqual(problems, []);
  // What they exercise (so a change to the vendored set is noticed).
  const calls = new Set(
    files.flatMap(([, text]) => artifactQueries(text).flatMap((q) => analyseVql(q.text).calls.map((c) => `${c.kind}:${c.name}`))),
  );
  for (const c of [
    'plugin:execve',
    'function:tempfile',
    'plugin:watch_monitoring',
    'plugin:hunt_flows',
    'plugin:parse_evtx',
    'function:upload',
    'plugin:foreach',
    'plugin:chain',
    'plugin:glob',
    'function:file_store',
    'function:upload_directory',
    'function:create_flow_download',
    'function:collect_client',
    'plugin:Artifact.Windows.Events.ServiceCreation',
    'plugin:source',
  ])
    assert.ok(calls.has(c), c);
});

test('mutation sweep: misspelling any registered call of the vendored artifacts is caught', (t) => {
  const files = vendoredArtifacts();
  const known = artifactMap(files);
  let tried = 0;
  for (const [p, text] of files) {
    for (const q of artifactQueries(text)) {
      // `sources[0].query` -> ['sources', 0, 'query']
      const yamlPath = q.where.split(/[.[\]]+/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
      if (yamlPath[yamlPath.length - 1] === 'queries') continue;
      for (const c of analyseVql(q.text).calls) {
        const table = c.kind === 'plugin' ? registry.plugins : registry.functions;
        if (table[c.name] === undefined) continue;
        const doc = parseDocument(text);
        doc.setIn(yamlPath, q.text.slice(0, c.offset) + c.name + 'zz' + q.text.slice(c.offset + c.name.length));
        const problems = checkArtifact(doc.toString(), p, registry, { artifacts: known });
        assert.ok(
          problems.some((pr) => pr.includes(`unknown ${c.kind} ${c.name}zz()`)),
          `${p}: ${c.name} -> ${c.name}zz not caught: ${problems.join('; ')}`,
        );
        tried++;
      }
    }
  }
  t.diagnostic(`${tried} calls misspelled one at a time, every one caught`);
  assert.ok(tried > 150, `only ${tried} calls mutated`);
});

test('hostile input: damaged YAML and odd shapes are problems, never exceptions', () => {
  const inputs = [
    '',
    'null',
    '- a\n- b',
    'name: [',
    'name: X\nsources: 5',
    'name: X\nsources:\n  - query: 7',
    'name: X\nsources:\n  - query: "SELECT * FROM ((("',
    'name: X\nsources:\n  - query: |\n      SELECT * FROM glob(globs=\'*\', ,)\n',
    'name: X\nparameters: {a: 1}',
    'name: X\nparameters:\n  - 5',
    "name: X\nexport: \"LET\"",
    'name: X\nsources:\n  - notebook:\n      - type: vql\n        template: 5',
    '{{{',
    'name: X\ntools:\n  - versions: [1]',
  ];
  for (const text of inputs) {
    const problems = checkArtifact(text, 'h.yaml', registry, { windows: true });
    assert.ok(Array.isArray(problems), text);
    assert.ok(problems.length > 0, `no problem reported for ${JSON.stringify(text)}`);
  }
});

// ------------------------------------------------------------------ negative controls

const BASE = `name: Custom.Test.Checker
description: A valid artifact the negative controls mutate.
type: CLIENT
parameters:
  - name: RepositoryGlob
    default: C:/Windows/System32/wbem/Repository/**
  - name: RunCollector
    type: bool
    default: Y
sources:
  - precondition: SELECT OS FROM info() WHERE OS = 'windows'
    query: |
      LET files = SELECT OSPath FROM glob(globs=RepositoryGlob, accessor='ntfs')
      LET tmp <= tempfile(extension='.json')
      SELECT upload(file=OSPath, accessor='ntfs') AS Upload
      FROM foreach(row=files, query={
        SELECT * FROM execve(argv=['powershell.exe', '-File', tmp])
        WHERE RunCollector
      })
`;

function problemsOf(text: string): string[] {
  return checkArtifact(text, 'x.yaml', registry, { windows: true });
}
function mutate(from: string, to: string): string {
  assert.ok(BASE.includes(from), from);
  return BASE.replace(from, to);
}

test('negative controls: the base artifact is clean', () => {
  assert.deepEqual(problemsOf(BASE), []);
});

test('negative controls: each mutation fails with its exact message', () => {
  const cases: [string, string, string[]][] = [
    ['unknown top-level key', mutate('type: CLIENT\n', 'type: CLIENT\ncolour: red\n'), [
      "x.yaml:4:1: artifact: unknown key 'colour' (not a field of Artifact in artifact.proto at cd02ac6)",
    ]],
    ['unknown source key', mutate('    query: |', '    querry: |'), [
      "x.yaml:12:5: sources[0]: unknown key 'querry' (not a field of ArtifactSource in artifact.proto at cd02ac6)",
    ]],
    ['unknown parameter key', mutate('    type: bool', '    kind: bool'), [
      "x.yaml:8:5: parameters[1]: unknown key 'kind' (not a field of ArtifactParameter in artifact.proto at cd02ac6)",
    ]],
    ['bad parameter type', mutate('    type: bool', '    type: boolean'), [
      "x.yaml:8:11: parameter 'RunCollector': unknown parameter type 'boolean' (Velociraptor handles string, regex, yara, redacted, upload, upload_file, server_metadata, int, int64, integer, float, timestamp, starlark, csv, artifactset, json, json_array, regex_array, multichoice, xml, yaml, bool, hidden, choices; any other is passed as a plain string)",
    ]],
    ['bad artifact type', mutate('type: CLIENT', 'type: CLIENT_EVENTS'), [
      "x.yaml:3:7: unknown artifact type 'CLIENT_EVENTS' (one of CLIENT, CLIENT_EVENT, SERVER, SERVER_EVENT, NOTEBOOK, INTERNAL)",
    ]],
    ['misspelled plugin', mutate('FROM glob(', 'FROM globb('), [
      'x.yaml:13:38: sources[0].query: unknown plugin globb() at cd02ac6',
    ]],
    ['a function used as a plugin', mutate('FROM foreach(row=files', 'FROM upload(row=files'), [
      'x.yaml:16:12: sources[0].query: unknown plugin upload() at cd02ac6 (upload is a function, not a plugin)',
    ]],
    ['a plugin used as a function', mutate("tempfile(extension='.json')", "glob(globs='.json')"), [
      'x.yaml:14:18: sources[0].query: unknown function glob() at cd02ac6 (glob is a plugin, not a function)',
    ]],
    ['unknown argument', mutate("accessor='ntfs')\n      LET", "acessor='ntfs')\n      LET"), [
      "x.yaml:13:38: sources[0].query: plugin glob(): unknown argument 'acessor'",
    ]],
    ['missing required argument of upload()', mutate("upload(file=OSPath, accessor='ntfs')", "upload(accessor='ntfs')"), [
      "x.yaml:15:14: sources[0].query: function upload(): missing required argument 'file'",
    ]],
    ['missing required argument of execve()', mutate("execve(argv=['powershell.exe', '-File', tmp])", 'execve(sep="\\n")'), [
      "x.yaml:17:23: sources[0].query: plugin execve(): missing required argument 'argv'",
    ]],
    ['positional argument', mutate('tempfile(extension=', 'tempfile('), [
      'x.yaml:14:18: sources[0].query: tempfile(): VQL arguments must be named (name=value); 1 positional',
    ]],
    ['a stale vql.yaml entry', mutate("FROM info() WHERE", "FROM for(var='x', foreach=info()) WHERE"), [
      'x.yaml:11:34: sources[0].precondition: plugin for() is listed in vql.yaml but registered nowhere at cd02ac6',
    ]],
    ['a plugin Velociraptor does not build for Windows', mutate('FROM glob(globs=RepositoryGlob, ', 'FROM parse_auditd(filename=RepositoryGlob, '), [
      "x.yaml:13:38: sources[0].query: plugin parse_auditd() is not compiled into Velociraptor's Windows build ((linux || freebsd))",
    ]],
    ['a source ending in a LET', BASE.replace(/      SELECT upload[\s\S]*$/, '      LET done = 1\n'), [
      'x.yaml:13:7: sources[0].query: the last statement is a LET; a source must end with a SELECT',
    ]],
    ['a SELECT before the last statement', mutate('      LET tmp <=', '      SELECT * FROM info()\n      LET tmp <='), [
      'x.yaml:13:7: sources[0].query: statement 2 of 4 is a SELECT; only the last statement of a source may be one (the others must be LET)',
    ]],
    ['two preconditions', mutate('type: CLIENT\n', "type: CLIENT\nprecondition: SELECT * FROM info()\n"), [
      'x.yaml:12:19: sources[0]: a source precondition and an artifact precondition together are refused by Velociraptor',
    ]],
    ['a loader-set field', mutate('type: CLIENT\n', 'type: CLIENT\nbuilt_in: true\n'), [
      "x.yaml:4:1: artifact: 'built_in' is set by Velociraptor's loader, not by the artifact",
    ]],
    ['a bad artifact name', mutate('name: Custom.Test.Checker', 'name: Custom.Test.2Checker'), [
      "x.yaml:1:7: artifact name 'Custom.Test.2Checker': a dotted part may not start with a digit",
    ]],
    ['an unknown permission', mutate('type: CLIENT\n', 'type: CLIENT\nrequired_permissions:\n  - EXECUTE\n'), [
      "x.yaml:5:5: required_permissions: unknown permission 'EXECUTE'",
    ]],
    ['a list where a string belongs', mutate('description: A valid', 'description:\n  - A valid'), [
      'x.yaml:3:3: artifact.description must be a scalar (string)',
    ]],
    ['** kwargs mixed with a named argument', mutate("tempfile(extension='.json')", "tempfile(`**`=Opts, extension='.json')"), [
      'x.yaml:14:18: sources[0].query: tempfile(): a ** kwargs call may not also pass named arguments',
    ]],
    ['a keyword as an argument name', mutate("FROM glob(globs=RepositoryGlob, accessor='ntfs')", "FROM hunt_flows(hunt_id='H.1', limit=5)"), [
      "x.yaml:13:64: sources[0].query: VQL syntax: argument name 'limit' is a VQL keyword: write `limit`=",
    ]],
    ['a duplicate key', mutate('type: CLIENT\n', 'type: CLIENT\ntype: SERVER\n'), [
      'x.yaml:4:1: YAML error: Map keys must be unique',
    ]],
    ['a LET function called with an unknown argument', mutate('LET files = SELECT', 'LET files(g) = SELECT').replace('foreach(row=files,', 'foreach(row=files(h=1),'), [
      "x.yaml:16:24: sources[0].query: files(): unknown argument 'h' (LET files takes g)",
      "x.yaml:16:24: sources[0].query: files(): missing argument 'g' of LET files",
    ]],
  ];
  for (const [what, text, expected] of cases) assert.deepEqual(problemsOf(text), expected, what);
});

test('negative controls: permissions a CLIENT artifact must declare (as Velociraptor\'s verifier warns)', () => {
  const text = BASE;
  assert.deepEqual(checkArtifact(text, 'x.yaml', registry, { permissions: true }), [
    'x.yaml:1:1: tempfile() needs permission FILESYSTEM_WRITE: add it to required_permissions or implied_permissions',
    'x.yaml:1:1: execve() needs permission EXECVE: add it to required_permissions or implied_permissions',
  ]);
  const declared = mutate('type: CLIENT\n', 'type: CLIENT\nrequired_permissions:\n  - EXECVE\nimplied_permissions:\n  - FILESYSTEM_WRITE\n');
  assert.deepEqual(checkArtifact(declared, 'x.yaml', registry, { permissions: true }), []);
  // Server artifacts are not subject to this check (Velociraptor only enforces it for CLIENT artifacts).
  assert.deepEqual(checkArtifact(mutate('type: CLIENT', 'type: SERVER'), 'x.yaml', registry, { permissions: true }), []);
});

test('negative controls: Artifact.<name>() calls and imports are checked against known artifacts', () => {
  const files = vendoredArtifacts();
  const known = artifactMap(files);
  const text = mutate(
    "SELECT upload(file=OSPath, accessor='ntfs') AS Upload",
    "SELECT * FROM Artifact.Windows.Sys.Users(remoteRegKey='x', source='y', Bogus=1)\n      SELECT upload(file=OSPath, accessor='ntfs') AS Upload",
  ).replace('type: CLIENT\n', 'type: CLIENT\nimports:\n  - Windows.Sys.Nope\n');
  const problems = checkArtifact(text, 'x.yaml', registry, { artifacts: known });
  assert.deepEqual(problems, [
    'x.yaml:5:5: imports: artifact Windows.Sys.Nope not known',
    'x.yaml:15:7: sources[0].query: statement 3 of 4 is a SELECT; only the last statement of a source may be one (the others must be LET)',
    "x.yaml:17:21: sources[0].query: Artifact.Windows.Sys.Users(): Windows.Sys.Users has no parameter 'Bogus'",
  ]);
});

// ------------------------------------------------------------------ this repository's artifacts

test("this repository's artifacts/*.yaml pass the checker", (t) => {
  const dir = path.join(repoRoot(), 'artifacts');
  const ours = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort() : [];
  if (ours.length === 0) {
    t.skip('no artifacts/*.yaml yet');
    return;
  }
  const oursText: [string, string][] = ours.map((n) => [`artifacts/${n}`, readFileSync(path.join(dir, n), 'utf8')]);
  // Other artifacts they may call or import: the built-ins (mirror, else the vendored subset) and each other.
  const known = artifactMap([...(mirrorArtifacts() ?? vendoredArtifacts()), ...oursText]);
  const problems: string[] = [];
  for (const [p, text] of oursText) {
    const d = describeArtifact(text);
    // A Windows client artifact may only use what Velociraptor builds for Windows.
    const windows = d !== undefined && /(^|\.)Windows\./.test(d.name);
    problems.push(...checkArtifact(text, p, registry, { artifacts: known, windows, permissions: true }));
  }
  t.diagnostic(`${ours.length} artifact(s) checked: ${ours.join(', ')}`);
  assert.deepEqual(problems, []);
});
