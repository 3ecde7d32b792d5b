/**
 * The HTML report as text (no browser): the Content-Security-Policy and its hashes, the JSON island that
 * carries the data (it parses back to exactly the selected findings), hostile evidence never appearing as
 * markup, the page script's own hygiene, the known-good entry plans against the analysis' allowlistEntryFor,
 * and the size of the bundled sample's report. The page itself is exercised in Chromium by
 * test/html-browser.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import type { Finding, JoinedSubscription, ScanResult } from '../src/model/types.js';
import { formatReport, REPORT_FORMATS } from '../src/report/index.js';
import { formatHtml, htmlData, reportIdOf, scriptSafeJson } from '../src/report/html.js';
import type { HtmlData } from '../src/report/html.js';
import { allowPlan } from '../src/report/html/allow.js';
import type { AllowPlan } from '../src/report/html/allow.js';
import { PAGE_SCRIPT, PAGE_SCRIPT_CSP, PAGE_SCRIPT_SOURCES } from '../src/report/html/page-script.generated.js';
import { escapeText, escapeVisible, escapeVisibleBlock } from '../src/model/text.js';
import { parseIsoTime, shortUtcTime, utcDateAndTime } from '../src/model/time.js';
import { STYLE } from '../src/report/html/style.js';
import { selectFindings } from '../src/report/select.js';
import { allowlistEntryFor, parseAllowlist } from '../src/analysis/allowlist.js';
import type { AllowEntry } from '../src/analysis/allowlist.js';
import { scan } from '../src/scan.js';
import { atomicActiveScript, atomicCommandLine, binding, botnet, consumer, input, metasploit, poshspy, scm, totallyLegitCustomClass, totallyLegitScript, wannamine, wmighost } from './support/rule-fixtures.js';
import { hostileResult, HOSTILE } from './support/html-fixtures.js';
import { repoRoot } from './support/samples.js';

const SAMPLE = join(repoRoot(), 'test/fixtures/evtx');

function parts(html: string): { csp: string; script: string; style: string; json: string; outside: string; markup: string } {
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '';
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
  const json = /<script type="application\/json" id="data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1, 'one executable inline script');
  const outside = html.replace(json, '');
  const markup = outside.replace(scripts[0]![1]!, '').replace(style, '');
  return { csp: csp.replace(/&#39;/g, "'"), script: scripts[0]![1]!, style, json, outside, markup };
}

const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

test('html: a strict CSP whose hashes are those of the inline script and style; nothing external', () => {
  const html = formatHtml(hostileResult());
  assert.ok(html.startsWith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">'));
  const p = parts(html);
  assert.equal(p.script, PAGE_SCRIPT);
  assert.equal(PAGE_SCRIPT_CSP, `'sha256-${sha(PAGE_SCRIPT)}'`, 'the hash computed at build is that of the inlined text');
  assert.equal(p.style, STYLE);
  const directives = new Map(p.csp.split(/;\s*/).map((d) => [d.split(' ')[0]!, d.split(' ').slice(1).join(' ')]));
  assert.equal(directives.get('default-src'), "'none'");
  assert.equal(directives.get('script-src'), `'sha256-${sha(p.script)}'`);
  assert.equal(directives.get('style-src'), `'sha256-${sha(p.style)}'`);
  assert.equal(directives.get('base-uri'), "'none'");
  assert.equal(directives.get('form-action'), "'none'");
  assert.deepEqual([...directives.keys()].sort(), ['base-uri', 'default-src', 'form-action', 'script-src', 'style-src']);
  assert.doesNotMatch(p.csp, /unsafe|connect-src|\*|http/);
  // no external resource of any kind: no src/href attributes, no url() or @import in the style
  assert.doesNotMatch(p.markup, /<[a-z][^>]*\s(src|href|style|on[a-z]+)=|<link|<iframe|<object|<embed|<base|<img|<svg/i);
  assert.doesNotMatch(STYLE, /url\(|@import|@font-face/i);
});

test('html: the JSON island parses back to the report data; evidence cannot end it', () => {
  for (const result of [hostileResult(), hostileResult()]) {
    const html = formatHtml(result);
    const { json } = parts(html);
    assert.doesNotMatch(json, /[<>&\u2028\u2029]/, 'markup characters and separators are \\u escapes');
    const data = JSON.parse(json) as HtmlData;
    assert.deepEqual(data, JSON.parse(JSON.stringify(htmlData(result))));
    assert.deepEqual(data.findings, selectFindings(result));
    assert.equal(data.findings[0]!.consumer!.values['CommandLineTemplate'], result.findings[0]!.consumer!.values['CommandLineTemplate']);
    assert.equal(data.reportId, reportIdOf(result));
    assert.match(data.reportId, /^[0-9a-f]{16}$/);
  }
  assert.equal(scriptSafeJson({ s: '</script><!--\u2028&' }), '{"s":"\\u003c/script\\u003e\\u003c!--\\u2028\\u0026"}');
  assert.deepEqual(JSON.parse(scriptSafeJson({ s: HOSTILE.script + HOSTILE.separators })), { s: HOSTILE.script + HOSTILE.separators });
});

test('html: hostile strings never appear as markup; server-side text is escaped', () => {
  const html = formatHtml(hostileResult());
  const { outside } = parts(html);
  assert.equal((html.match(/<\/script/gi) ?? []).length, 2, 'only the two closing tags of our own scripts');
  assert.doesNotMatch(html, /<img|<svg|<b |<!--|\u2028|\u2029|\u202e|\u0000/i);
  assert.equal((html.match(/<script/gi) ?? []).length, 2);
  // the version and scan time (both from the result) are shown escaped in the header and title
  assert.match(outside, /wmiscope 0\.1\.0&lt;\/script&gt;&lt;script&gt;window\.__pwned=1&lt;\/script&gt;/);
  assert.match(outside, /scanned 2024-05-03T09:00:00\.000Z&lt;img src=x onerror=window\.__pwned=1&gt;/);
  assert.doesNotMatch(outside, /javascript:/);
});

test('html: pure and deterministic; formatReport and the CLI format list know it; minSeverity applies', () => {
  const r = hostileResult();
  const before = JSON.stringify(r);
  assert.equal(formatHtml(r), formatHtml(hostileResult()));
  assert.equal(formatReport(r, 'html'), formatHtml(r));
  assert.equal(JSON.stringify(r), before, 'input untouched');
  assert.ok(REPORT_FORMATS.includes('html'));
  const data = JSON.parse(parts(formatReport(r, 'html', { minSeverity: 'high' })).json) as HtmlData;
  assert.deepEqual(data.findings.map((f) => f.severity), ['critical', 'critical', 'high']);
  assert.deepEqual([data.hidden, data.minSeverity], [1, 'high']);
  // another scan of the same evidence is another report (its own triage marks)
  assert.notEqual(reportIdOf(r), reportIdOf({ ...r, scannedAt: '2024-05-03T09:00:01.000Z' }));
});

test('html page script: compiles, builds nodes only (no innerHTML, eval, Function, document.write), no closing tags', () => {
  assert.doesNotThrow(() => new vm.Script(PAGE_SCRIPT, { filename: 'wmiscope-report.js' }));
  assert.doesNotMatch(PAGE_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function|Function\s*\(|setTimeout\s*\(\s*['"]|setInterval|srcdoc|\.src\s*=|fetch\s*\(|XMLHttpRequest|WebSocket|sendBeacon|import\s*\(/);
  assert.doesNotMatch(PAGE_SCRIPT, /<\/script|<!--/i);
  // one classic script: no module syntax left by the bundler
  assert.doesNotMatch(PAGE_SCRIPT, /^\s*(import|export)\b/m);
  assert.doesNotMatch(STYLE, /<\/style/i);
  // attributes are set through the allow-list only; links only to the page itself or to ATT&CK technique pages
  assert.deepEqual(PAGE_SCRIPT.match(/\.setAttribute\([^,]*/g), ['.setAttribute(k', ".setAttribute('aria-sort'", ".setAttribute('data-q'", ".setAttribute('data-ready'"], 'setAttrs (allow-listed names) and three fixed names (data-q holds what the analyst typed)');
  assert.match(PAGE_SCRIPT, /const SAFE_HREF = \/\^\(#\[A-Za-z0-9_-\]\*\|https:\\\/\\\/attack\\\.mitre\\\.org\\\/techniques\\\/T\\d\{4\}\(\\\/\\d\{3\}\)\?\\\/\)\$\/;/);
  // escaping, severities, orders and times are the model's, compiled in (no copy kept in the page)
  for (const m of ['model/text.js', 'model/types.js', 'model/order.js', 'model/time.js']) assert.ok(PAGE_SCRIPT.includes(`// ${m}\n`), m);
  assert.equal((PAGE_SCRIPT.match(/const SEVERITIES = /g) ?? []).length, 1);
});

test('html page script: built from the current sources (run `npm run build` after changing src/report/html/page or what it imports)', () => {
  const page = readdirSync(join(repoRoot(), 'src/report/html/page')).filter((f) => f.endsWith('.ts')).map((f) => `src/report/html/page/${f}`);
  for (const f of page) assert.ok(f in PAGE_SCRIPT_SOURCES, `${f} is part of the page script`);
  for (const [file, hash] of Object.entries(PAGE_SCRIPT_SOURCES)) {
    assert.equal(createHash('sha256').update(readFileSync(join(repoRoot(), file))).digest('hex'), hash, `${file} changed since the page script was built: run npm run build`);
  }
});

test('model text and time helpers the page is built from: invisible characters made visible, times read strictly', () => {
  // the page's set is broader than the terminal's: what shows as nothing or as a plain space is escaped too
  const name = 'Updater\u200b\u00a0\u202e\u{e0041}\ufe0f\u0000x';
  assert.equal(escapeVisible(name), 'Updater\\u200b\\xa0\\u202e\\u{e0041}\\ufe0f\\x00x');
  assert.equal(escapeText(name), 'Updater\u200b\u00a0\\u202e\u{e0041}\ufe0f\\x00x', 'the terminal set is unchanged');
  assert.equal(escapeVisible('a\r\n\tb'), 'a\\r\\n\\tb');
  assert.equal(escapeVisibleBlock('a\r\n\tb\u2028\u{1F600}'), 'a\r\n\tb\\u2028\u{1F600}', 'line breaks and tabs kept, emoji shown');
  assert.equal(escapeVisible('\ud800x'), '\\ud800x', 'a lone surrogate');
  // 7 fractional digits (what the reports write), 3 (Sysmon) and 9 read the same instant to the millisecond
  const ms = Date.UTC(2019, 4, 11, 17, 58, 23, 340);
  for (const t of ['2019-05-11T17:58:23.3400000Z', '2019-05-11T17:58:23.340Z', '2019-05-11T17:58:23.340000000Z', '2019-05-11T19:58:23.34+02:00']) assert.equal(parseIsoTime(t), ms, t);
  for (const t of ['2019-13-01T00:00:00Z', '2019-02-30T00:00:00Z', '2019-05-11T24:00:00Z', '2019-05-11T17:60:00Z', '2019-05-11 17:58:23Z', '2019-05-11T17:58:23', '', null, 42]) assert.equal(parseIsoTime(t), null, String(t));
  assert.equal(shortUtcTime('2019-05-11T17:58:23.3400000Z'), '2019-05-11 17:58:23');
  assert.equal(shortUtcTime('2019-05-11T17:58:23+02:00'), null, 'not UTC: shown as it is');
  assert.deepEqual(utcDateAndTime(ms), ['2019-05-11', '17:58:23']);
});

// ------------------------------------------------------------------------------------------ allowlist plans

function findingOf(i: JoinedSubscription): Finding {
  return { id: 'x', host: i.host, namespace: i.namespace, status: i.status, severity: 'high', score: 1, filter: i.filter, consumer: i.consumer, binding: i.binding, summary: '', reasons: [], decoded: [], observations: i.observations, firstSeen: null, lastSeen: null, who: [], allowlisted: null, coverage: [] };
}

/** The entry the page writes from a plan, as the loader would read it. */
function resolve(plan: AllowPlan, f: Finding): Omit<AllowEntry, 'note'> {
  const e: Omit<AllowEntry, 'note'> = { id: plan.id };
  if (plan.namespace !== null) e.namespace = plan.namespace;
  if (plan.filter) e.filter = { Name: plan.filter.name, ...Object.fromEntries(plan.filter.keys.map(([k, src]) => [k, f.filter!.values[src]!])) };
  if (plan.consumer) e.consumer = { className: plan.consumer.className, values: { Name: plan.consumer.name, ...Object.fromEntries(plan.consumer.keys.map(([k, src]) => [k, f.consumer!.values[src]!])) } };
  return e;
}

test('allow plan: the same entry as the analysis writes (allowlistEntryFor) for every rule fixture', () => {
  const fixtures: Array<[string, () => JoinedSubscription]> = [
    ['poshspy', poshspy],
    ['metasploit', metasploit],
    ['wannamine', wannamine],
    ['atomic-cmd', atomicCommandLine],
    ['atomic-vbs', atomicActiveScript],
    ['wmighost', wmighost],
    ['botnet', botnet],
    ['totallylegit-script', totallyLegitScript],
    ['totallylegit-class', totallyLegitCustomClass],
    ['scm', () => scm()],
    ['orphan-consumer', () => input({ status: 'orphan', consumer: consumer('CommandLineEventConsumer', 'SCM Event Log Consumer', { CommandLineTemplate: 'cmd.exe' }) })],
    ['binding-only', () => input({ status: 'orphan', binding: binding('ghost', 'CommandLineEventConsumer', 'ghost') })],
    ['sysmon-binding-only', () => input({ status: 'logged-only', binding: { namespace: 'ROOT\\subscription', className: '__FilterToConsumerBinding', name: null, values: { Filter: '\\\\.\\ROOT\\subscription:__EventFilter.Name="Evil Persistence"', Consumer: '\\\\.\\ROOT\\subscription:CommandLineEventConsumer.Name="Evil Persistence"' } } })],
  ];
  for (const [name, make] of fixtures) {
    const i = make();
    const want = parseAllowlist(allowlistEntryFor(i), `${name}.yaml`).entries[0]!;
    delete want.note;
    const plan = allowPlan(findingOf(i));
    assert.equal(plan.problem, null, name);
    assert.deepEqual(resolve(plan, findingOf(i)), want, name);
  }
});

test('allow plan: findings no exact entry can describe say why', () => {
  const r = hostileResult();
  const plans = r.findings.map(allowPlan);
  assert.equal(plans[0]!.problem, null);
  assert.deepEqual(plans[0]!.filter?.keys, [['Query', 'Query'], ['QueryLanguage', 'QueryLanguage'], ['EventNamespace', 'EventNamespace']]);
  assert.deepEqual(plans[0]!.consumer?.keys, [['CommandLineTemplate', 'CommandLineTemplate'], ['WorkingDirectory', 'WorkingDirectory']]);
  assert.equal(plans[2]!.problem, null);
  assert.match(plans[3]!.problem ?? '', /consumer property has a name an allowlist cannot hold/);
  const unnamed = findingOf(input({ filter: { namespace: null, className: '__EventFilter', name: null, values: { Query: 'SELECT 1' } } }));
  assert.match(allowPlan(unnamed).problem ?? '', /filter has no name/);
});

// ------------------------------------------------------------------------------------------ the sample

test('html: the report of the bundled sample evidence is well under 1 MB', async () => {
  const result: ScanResult = await scan([SAMPLE], { threads: 1 });
  const html = formatHtml(result);
  const bytes = Buffer.byteLength(html, 'utf8');
  assert.ok(bytes < 250_000, `${bytes} bytes`);
  const data = JSON.parse(parts(html).json) as HtmlData;
  assert.equal(data.findings.length, result.findings.length);
  assert.ok(data.findings.some((f) => f.consumer?.name === 'BotConsumer23'));
});

test('allow plan: a custom consumer class with a property named "class" gets no entry (it would break the whole allowlist file)', () => {
  const f = hostileResult().findings[0]!;
  for (const key of ['class', 'Class', 'CLASS']) {
    const g: Finding = { ...f, consumer: { namespace: 'ROOT\\subscription', className: 'EvilConsumer', name: 'cd', values: { Name: 'cd', [key]: 'x', Payload: 'p' } } };
    const p = allowPlan(g);
    assert.equal(p.consumer, null, key);
    assert.match(p.problem ?? '', /named "class"/, key);
  }
});

test('timeline legend: each swatch has the shape of its marker (deleted ▼, ran a process ▲, not squares)', () => {
  // the page draws deleted as a downward and a run as an upward triangle (page/main.ts renderTimeline)
  assert.match(STYLE, /\.sw-deleted\{[^}]*clip-path:polygon\(0 0,100% 0,50% 100%\)/);
  assert.match(STYLE, /\.sw-ran\{[^}]*clip-path:polygon\(0 100%,100% 100%,50% 0\)/);
});
