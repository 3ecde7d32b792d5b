/**
 * The HTML report in a real browser: Debian's `chromium` (found on PATH) driven by playwright-core, opening
 * report files from disk (file://) the way a responder does. It checks what the analyst sees and does (the
 * findings, one finding opened, filters, sorting, the timeline and namespace trees, marking known-good, the
 * YAML the page writes and that the scanner then accepts, marks surviving a reload), that the page logs no
 * error and makes no request but for itself, and that hostile evidence is shown as text and never runs.
 *
 * Skips with a message when no chromium binary is on PATH (`apt-get install chromium`; .ci/run installs it).
 * Screenshots go to test-artifacts/ (git-ignored).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import type { Finding, ScanResult } from '../src/model/types.js';
import { formatHtml, reportIdOf } from '../src/report/html.js';
import { parseAllowlist } from '../src/analysis/allowlist.js';
import { evaluate } from '../src/analysis/rules/index.js';
import { scan } from '../src/scan.js';
import { diffScans } from '../src/analysis/diff.js';
import { COMMAND, CONSUMER_NAME, FILTER_NAME, hostileResult, HOSTILE, QUERY, ruleInputOf, SCRIPT } from './support/html-fixtures.js';
import { evtxSample, listEvtxSamples, repoRoot, skipReason as noSamples } from './support/samples.js';
import { compareName } from '../src/model/order.js';
import { isRun } from '../src/model/runs.js';
import type { HtmlOptions } from '../src/report/html.js';

/** The Debian chromium binary on PATH, or null. */
function findChromium(): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const p = join(dir, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return null;
}

const CHROMIUM = findChromium();
const skip = CHROMIUM ? false : 'no chromium binary on PATH: install Debian\'s chromium (apt-get install chromium) to run the browser tests of the HTML report';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const cli = join(repoRoot(), 'dist/src/cli/main.js');
const ARTIFACTS = join(repoRoot(), 'test-artifacts');
const SAMPLE = join(repoRoot(), 'test/fixtures/evtx');
const ALL_FIXTURES = join(repoRoot(), 'test/fixtures');
const TIMELINE_ACTIONS = ['created', 'modified', 'deleted'];
/** What the page's timeline draws: timed created/modified/deleted observations and the processes a subscription ran. */
const drawn = (o: Finding['observations'][number]): boolean => (TIMELINE_ACTIONS.includes(o.action) || isRun(o)) && o.time !== null && ISO.test(o.time);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

interface Watched {
  page: Page;
  url: string;
  errors: string[];
  requests: string[];
  dialogs: string[];
}

describe('HTML report in Chromium', { skip }, () => {
  let ctx: BrowserContext;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wmiscope-html-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    ctx = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM!, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 } });
  });
  after(async () => {
    await ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Write the report and open it from disk, recording console errors, requests and dialogs. */
  async function open(result: ScanResult, name: string, opts: HtmlOptions = {}): Promise<Watched> {
    const file = join(dir, name);
    writeFileSync(file, formatHtml(result, opts));
    const page = await ctx.newPage();
    const w: Watched = { page, url: pathToFileURL(file).href, errors: [], requests: [], dialogs: [] };
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') w.errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => w.requests.push(r.url()));
    page.on('dialog', (d) => {
      w.dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(w.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
    return w;
  }

  function clean(w: Watched): void {
    assert.deepEqual(w.errors, [], 'no console errors (CSP violations are console errors too)');
    assert.deepEqual(w.requests.filter((u) => u !== w.url), [], 'no request but the page itself');
    assert.deepEqual(w.dialogs, [], 'no dialog');
  }

  const rows = (p: Page): Promise<number> => p.locator('#findings-table tbody tr').count();
  /** Type into the search box and wait until the page has applied it (it redraws after a short pause). */
  const search = async (p: Page, text: string): Promise<void> => {
    await p.fill('#filter-q', text);
    // (polled from here: the page's CSP forbids the string evaluation waitForFunction would need)
    for (let k = 0; k < 250; k++) {
      if ((await p.getAttribute('#findings-count', 'data-q')) === text) return;
      await p.waitForTimeout(20);
    }
    throw new Error(`the search for ${JSON.stringify(text)} was not applied`);
  };

  it('sample scan: findings, one opened, filters, known-good YAML the scanner accepts, marks survive a reload', async () => {
    const result = await scan([SAMPLE], { threads: 1 });
    const w = await open(result, 'sample.html');
    const p = w.page;
    assert.ok(result.findings.length >= 1);
    assert.equal(await rows(p), result.findings.length);
    assert.equal(await p.textContent('#card-findings .big'), String(result.findings.length));
    assert.equal(await p.textContent('#card-hosts .big'), String(result.hosts.length));
    assert.equal(await p.locator('#evidence-table tbody tr').count(), result.evidence.length);
    // each host's evidence coverage (wmiscope coverage), blind spots in words
    assert.equal(await p.locator('#host-coverage details').count(), result.coverage!.length);
    const iewin7 = result.coverage!.find((c) => c.host === 'IEWIN7')!;
    const det = p.locator('#host-coverage details', { hasText: 'IEWIN7:' });
    assert.match((await det.locator('summary').textContent())!, new RegExp(`^IEWIN7: ${iewin7.blindSpots.length} blind spots · has Sysmon \\(19, 20, 21\\)`));
    assert.equal(await det.locator('li').count(), iewin7.blindSpots.length);
    const bot = result.findings.findIndex((f) => f.consumer?.name === 'BotConsumer23');
    const f = result.findings[bot]!;
    assert.match((await p.textContent('#findings-table tbody tr:first-child'))!, /BotConsumer23 \[CommandLineEventConsumer\]/);

    // open the finding: payload, query, observations, reasons with ATT&CK links, coverage
    await p.click('#findings-table tbody tr:first-child td:nth-child(3)');
    assert.equal(await p.textContent('#detail pre.payload[data-prop="CommandLineTemplate"] code'), 'c:\\Windows\\System32\\cmd.exe');
    assert.equal(await p.textContent('#detail pre.payload[data-prop="Query"] code'), f.filter!.values['Query']);
    assert.equal(await p.locator('#detail table.observations tbody tr').count(), f.observations.length);
    assert.equal(await p.locator('#detail table.reasons tbody tr').count(), f.reasons.length);
    const link = p.locator('#detail a.attack', { hasText: 'T1546.003' }).first();
    assert.equal(await link.getAttribute('href'), 'https://attack.mitre.org/techniques/T1546/003/');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.match((await p.textContent('#detail-coverage'))!, /Seen by.*Sysmon.*Missed by.*WMI repository: no repository supplied/s);
    // the timeline has one marker per timed created/modified/deleted observation and per run
    const events = f.observations.filter(drawn).length;
    assert.equal(await p.locator('svg.timeline .ev').count(), events);
    assert.match((await p.textContent('svg.timeline .ev-deleted title'))!, /sysmon \w+ deleted by IEWIN7\\IEUser/);
    assert.equal(await p.locator('#namespaces .ns-custom').count(), 0, 'ROOT\\subscription is not custom');

    // filters
    await p.selectOption('#filter-severity', { label: f.severity });
    assert.equal(await rows(p), result.findings.filter((x) => x.severity === f.severity).length);
    await p.selectOption('#filter-host', { label: 'IEWIN7' });
    assert.equal(await rows(p), result.findings.filter((x) => x.severity === f.severity && x.host === 'IEWIN7').length);
    await search(p, 'no-such-thing-anywhere');
    assert.equal(await rows(p), 0);
    assert.match((await p.textContent('#findings-count'))!, /^0 of \d+ findings? shown/);
    await search(p, 'cmd.exe botfilter82');
    assert.equal(await rows(p), 1);
    await p.click('#filter-reset');
    assert.equal(await rows(p), result.findings.length);
    await p.selectOption('#filter-triage', 'marked');
    assert.equal(await rows(p), 0);
    await p.selectOption('#filter-triage', '');

    // mark known-good: the page writes an allowlist that our loader reads and our scanner applies
    assert.equal(await p.inputValue('#triage-yaml'), '');
    await p.locator('#findings-table tbody tr').nth(bot).locator('input.mark').check();
    const yaml = await p.inputValue('#triage-yaml');
    assert.match(yaml, /^# wmiscope allowlist: 1 entry marked known-good/);
    const list = parseAllowlist(yaml, 'known-good.yaml');
    const id = reportIdOf(result);
    assert.equal(list.name, `known-good-${id}`);
    assert.equal(list.entries.length, 1);
    assert.deepEqual(list.entries[0], {
      id: 'BotFilter82 -> BotConsumer23',
      note: `marked known-good in wmiscope HTML report ${id} on host IEWIN7`,
      namespace: 'ROOT\\subscription',
      filter: { Name: 'BotFilter82', Query: f.filter!.values['Query'], EventNamespace: 'ROOT\\cimv2' },
      consumer: { className: 'CommandLineEventConsumer', values: { Name: 'BotConsumer23', CommandLineTemplate: 'c:\\Windows\\System32\\cmd.exe' } },
    });
    assert.equal(await p.inputValue('#detail-yaml'), yaml, 'the finding shows the same entry');
    const allowFile = join(dir, 'known-good.yaml');
    writeFileSync(allowFile, yaml);
    const r = spawnSync(process.execPath, [cli, 'scan', '-q', '-f', 'json', '-a', allowFile, SAMPLE], { encoding: 'utf8' });
    assert.equal(r.status, 0, `exit 0: the only high finding is now allow-listed\n${r.stderr}`);
    const rescanned = (JSON.parse(r.stdout) as ScanResult).findings.find((x) => x.consumer?.name === 'BotConsumer23')!;
    assert.deepEqual(rescanned.allowlisted, { by: `known-good-${id}`, entry: 'BotFilter82 -> BotConsumer23' });
    assert.equal(rescanned.severity, 'info');

    // the mark survives a reload (local storage keyed by the report id)
    await p.selectOption('#filter-triage', 'marked');
    assert.equal(await rows(p), 1);
    await p.reload();
    await p.waitForSelector('body[data-ready="true"]');
    assert.equal(await p.locator('#findings-table tbody tr').nth(bot).locator('input.mark').isChecked(), true);
    assert.equal(await p.inputValue('#triage-yaml'), yaml);
    assert.equal(await p.evaluate(`JSON.parse(localStorage.getItem('wmiscope:${id}')).known.length`), 1);
    assert.match((await p.textContent('#storage-note'))!, new RegExp(`key wmiscope:${id}`));
    // restored marks are said to be restored (another local page could have written them)
    assert.match((await p.textContent('#storage-note'))!, /1 mark was restored from this browser's storage: check them/);
    // unreadable stored marks are ignored with their own message (storage itself works)
    await p.evaluate(`localStorage.setItem('wmiscope:${id}', '{not json')`);
    await p.reload();
    await p.waitForSelector('body[data-ready="true"]');
    assert.match((await p.textContent('#storage-note'))!, /Marks are kept in this browser .*could not be read and were ignored/);
    assert.equal(await p.inputValue('#triage-yaml'), '');
    await p.locator('#findings-table tbody tr').nth(bot).locator('input.mark').check();
    await p.click('#findings-table tbody tr:first-child td:nth-child(3)');
    await p.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    clean(w);
    await p.close();
  });

  it('all fixtures (13 hosts): every filter, sorting, timeline, namespace trees, stacking; every mark allow-lists its finding', async () => {
    const result = await scan([ALL_FIXTURES], { threads: 1 });
    const F = result.findings;
    assert.ok(F.length >= 8 && result.fleet, 'a multi-host scan');
    const w = await open(result, 'fixtures.html');
    const p = w.page;
    assert.equal(await rows(p), F.length);
    const count = async (sel: string, label: string, want: (f: Finding) => boolean): Promise<void> => {
      await p.click('#filter-reset');
      await p.selectOption(sel, { label });
      assert.equal(await rows(p), F.filter(want).length, `${sel} = ${label}`);
      assert.ok(F.filter(want).length > 0);
    };
    await count('#filter-severity', 'critical', (f) => f.severity === 'critical');
    await count('#filter-severity', 'info', (f) => f.severity === 'info');
    await count('#filter-host', 'IEWIN7', (f) => f.host === 'IEWIN7');
    await count('#filter-namespace', 'ROOT\\cimv2\\totallylegit', (f) => f.namespace === 'ROOT\\cimv2\\totallylegit');
    await count('#filter-status', 'logged-only', (f) => f.status === 'logged-only');
    await count('#filter-source', 'velociraptor', (f) => f.observations.some((o) => o.source === 'velociraptor'));
    await p.selectOption('#filter-severity', { label: 'critical' });
    assert.equal(await rows(p), F.filter((f) => f.severity === 'critical' && f.observations.some((o) => o.source === 'velociraptor')).length, 'filters combine');
    await p.selectOption('#filter-triage', 'allowlisted');
    assert.equal(await rows(p), 0);
    await p.click('#filter-reset');
    await p.selectOption('#filter-triage', 'allowlisted');
    assert.equal(await rows(p), F.filter((f) => f.allowlisted).length);
    await p.click('#filter-reset');

    // sorting by score: descending first, then ascending
    const scores = async (): Promise<number[]> => (await p.locator('#findings-table tbody tr td:nth-child(3)').allTextContents()).map(Number);
    await p.click('#findings-table th[data-prop="score"]');
    assert.deepEqual(await scores(), F.map((f) => f.score).sort((a, b) => b - a));
    assert.equal(await p.getAttribute('#findings-table th[data-prop="score"]', 'aria-sort'), 'descending');
    await p.click('#findings-table th[data-prop="score"]');
    assert.deepEqual(await scores(), F.map((f) => f.score).sort((a, b) => a - b));
    await p.click('#findings-table th[data-prop="host"]');
    const hosts = await p.locator('#findings-table tbody tr td:nth-child(4)').allTextContents();
    // case-insensitive, as every report sorts hosts
    assert.deepEqual(hosts, [...hosts].sort(compareName));

    // timeline: lanes per host, one marker per timed created/modified/deleted observation and per run
    const timed = F.flatMap((f) => f.observations.filter(drawn));
    assert.equal(await p.locator('svg.timeline .ev').count(), timed.length);
    for (const a of TIMELINE_ACTIONS) assert.equal(await p.locator(`svg.timeline .ev-${a}`).count(), timed.filter((o) => o.action === a && !isRun(o)).length, a);
    assert.equal(await p.locator('svg.timeline .ev-ran').count(), timed.filter(isRun).length, 'ran');
    await p.selectOption('#filter-host', { label: 'IEWIN7' });
    assert.equal(await p.locator('svg.timeline .ev').count(), F.filter((f) => f.host === 'IEWIN7').flatMap((f) => f.observations.filter((o) => timed.includes(o))).length);
    await p.click('#filter-reset');

    // namespace trees: the custom namespace stands out; clicking it filters the findings
    assert.equal(await p.locator('#namespaces .host-tree').count(), new Set(F.map((f) => f.host)).size);
    assert.deepEqual(await p.locator('#namespaces .ns-custom').allTextContents(), ['totallylegit']);
    await p.click('#namespaces .ns-custom + button.ns-count');
    assert.equal(await rows(p), 1);
    assert.match((await p.textContent('#findings-table tbody tr'))!, /ROOT\\cimv2\\totallylegit\s*custom/);
    await p.click('#filter-reset');

    // stacking
    assert.equal(await p.locator('#stacks-table tbody tr').count(), result.fleet!.stacks.length);
    const scm = F.findIndex((f) => f.consumer?.name === 'SCM Event Log Consumer');
    await p.click(`#findings-table tbody tr[data-i="${scm}"]`);
    assert.match((await p.textContent('#detail-stack'))!, new RegExp(`on ${F[scm]!.stack!.hosts} of ${result.fleet!.hosts} hosts`));

    // mark every finding known-good: the YAML allow-lists each of them in a new scan
    const unmarked = F.map((f, i) => [f, i] as const).filter(([f]) => !f.allowlisted);
    for (const [, i] of unmarked) await p.locator(`#findings-table tbody tr[data-i="${i}"] input.mark`).check();
    const yaml = await p.inputValue('#triage-yaml');
    const list = parseAllowlist(yaml, 'fleet.yaml');
    assert.ok(list.entries.length >= 1 && list.entries.length <= unmarked.length);
    for (const [f] of unmarked) assert.notEqual(evaluate(ruleInputOf(f), [list]).allowlisted, null, `${f.host} ${f.consumer?.name}: ${yaml}`);
    const allowFile = join(dir, 'fleet.yaml');
    writeFileSync(allowFile, yaml);
    const r = spawnSync(process.execPath, [cli, 'scan', '-q', '-f', 'json', '-a', allowFile, ALL_FIXTURES], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const again = JSON.parse(r.stdout) as ScanResult;
    assert.deepEqual(again.findings.filter((f) => !f.allowlisted).map((f) => `${f.host} ${f.consumer?.name}`), []);
    clean(w);
    await p.close();
  });

  it('hostile evidence: every string is shown as text, nothing executes, YAML quoting round-trips exactly', async () => {
    const result = hostileResult();
    const w = await open(result, 'hostile.html');
    const p = w.page;
    const pwned = async (): Promise<unknown> => p.evaluate('window.__pwned');
    assert.equal(await pwned(), undefined);
    assert.equal(await rows(p), result.findings.length);
    // no element the evidence could have made: no img, no iframe, one svg (the timeline), our two scripts
    assert.equal(await p.evaluate("document.querySelectorAll('img, iframe, object, embed, b, base, link, meta[http-equiv=refresh]').length"), 0);
    assert.equal(await p.evaluate("document.querySelectorAll('svg').length"), 1);
    assert.equal(await p.evaluate("document.scripts.length"), 2);
    assert.equal(await p.evaluate("Array.from(document.querySelectorAll('*')).filter((e) => Array.from(e.attributes).some((a) => /^on/i.test(a.name) || /javascript:/i.test(a.value) && a.name !== 'title' && a.name !== 'aria-label')).length"), 0);
    const hrefs = (await p.evaluate("Array.from(document.querySelectorAll('[href]')).map((a) => a.getAttribute('href'))")) as string[];
    for (const h of hrefs) assert.match(h, /^(#[a-z]+|https:\/\/attack\.mitre\.org\/techniques\/T\d{4}(\/\d{3})?\/)$/);
    // the strings are there, literally, as text
    const text = (await p.evaluate('document.body.textContent')) as string;
    for (const s of [HOSTILE.img, HOSTILE.script, HOSTILE.svg, HOSTILE.comment, HOSTILE.template]) assert.ok(text.includes(s), s);
    assert.ok(text.includes('line\\u2028sep\\u2029para'), 'separators shown as visible escapes');
    assert.ok(!/[\u2028\u2029\u202e\u0000]/.test(text), 'no raw separator, bidi override or NUL in the page text');
    assert.equal(await p.textContent('#hosts-table tbody tr:first-child td:first-child'), `WKS-01${HOSTILE.img}`);

    // one finding: the payloads as code, exactly (controls made visible), ATT&CK links only for valid ids
    await p.click('#findings-table tbody tr[data-i="0"] td:nth-child(4)');
    // controls and invisible characters (bidi override, NUL, zero-width space) are shown as escapes
    assert.equal(await p.textContent('#detail pre.payload[data-prop="CommandLineTemplate"] code'), COMMAND.replace('\u202e', '\\u202e').replace('\u0000', '\\x00').replace('\u200b', '\\u200b'));
    assert.equal(await p.textContent('#detail pre.payload[data-prop="Query"] code'), QUERY);
    assert.deepEqual(await p.locator('#detail a.attack').allTextContents(), ['T1546.003', 'T1059']);
    assert.ok((await p.textContent('#detail table.reasons'))!.includes(`T1546.003"><img src=x onerror=window.__pwned=1>`));
    assert.equal(await p.locator('#detail table.observations tbody tr').count(), 7);
    // the 1601 and the impossible time are listed as observations but not drawn; the axis stays in 2024
    const drawn = await p.locator('svg.timeline .ev').allTextContents();
    assert.ok(!drawn.some((t) => /1601|2024-13/.test(t)), drawn.join(' | '));
    assert.ok(!(await p.textContent('svg.timeline'))!.includes('1601'));
    await p.click('#findings-table tbody tr[data-i="2"] td:nth-child(4)');
    assert.equal(await p.textContent('#detail pre.payload[data-prop="ScriptText"] code'), SCRIPT.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029'));
    await p.hover('svg.timeline .ev-created');
    await p.click('#findings-table tbody tr[data-i="3"] td:nth-child(4)');
    assert.match((await p.textContent('#detail-allow-problem'))!, /No exact allowlist entry can be written/);
    await search(p, 'invoice');
    assert.equal(await rows(p), 2);
    await p.click('#filter-reset');

    // known-good YAML: both hosts' identical subscription is one entry; every value survives the quoting
    for (const i of [0, 1, 2, 3]) await p.locator(`#findings-table tbody tr[data-i="${i}"] input.mark`).check();
    const yaml = await p.inputValue('#triage-yaml');
    assert.doesNotMatch(yaml, /[\u0000-\u0009\u000b-\u001f\u2028\u2029\u202e]/, 'controls and separators escaped');
    const list = parseAllowlist(yaml, 'hostile.yaml');
    assert.equal(list.entries.length, 2, yaml);
    const [cmd, vbs] = list.entries;
    assert.equal(cmd!.id, `${FILTER_NAME} -> ${CONSUMER_NAME}`);
    assert.equal(cmd!.note, `marked known-good in wmiscope HTML report ${reportIdOf(result)} on hosts ${result.hosts.join(', ')}`);
    assert.deepEqual(cmd!.filter, { Name: FILTER_NAME, Query: QUERY, QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' });
    assert.deepEqual(cmd!.consumer, { className: 'CommandLineEventConsumer', values: { Name: CONSUMER_NAME, CommandLineTemplate: COMMAND, WorkingDirectory: HOSTILE.comment } });
    assert.equal(vbs!.namespace, result.findings[2]!.namespace);
    assert.equal(vbs!.consumer!.values['ScriptText'], SCRIPT);
    for (const f of result.findings.slice(0, 3)) assert.notEqual(evaluate(ruleInputOf(f), [list]).allowlisted, null, f.id);
    await p.reload();
    await p.waitForSelector('body[data-ready="true"]');
    assert.equal(await p.inputValue('#triage-yaml'), yaml);
    assert.equal(await pwned(), undefined);
    await p.screenshot({ path: join(ARTIFACTS, 'report-hostile.png'), fullPage: true });
    clean(w);
    await p.close();
  });
  it('host aliases: the name kept, each other name and why, shown as text (a hostile name too)', async () => {
    // the real nxlog export: the Sysmon lines under the short name, as nxlog writes them; a copy whose Sysmon lines
    // carry a hostile machine name, linked by --host-alias
    const lines = readFileSync(join(repoRoot(), 'test/fixtures/exports/otrf-covenant-activescript.nxlog.jsonl'), 'utf8').split('\n').filter(Boolean);
    const sysmon = (l: string): boolean => /"Channel":"Microsoft-Windows-Sysmon\/Operational"/.test(l);
    const f = join(dir, 'covenant.nxlog.jsonl');
    writeFileSync(f, lines.map((l) => (sysmon(l) ? l.replace('"Hostname":"WORKSTATION6.theshire.local"', '"Hostname":"WORKSTATION6"') : l)).join('\n') + '\n');
    const hostile = '<img src=x onerror=alert(1)>\u001b[31m';
    const g = join(dir, 'hostile.nxlog.jsonl');
    writeFileSync(g, lines.map((l) => (sysmon(l) ? l.replace('"Hostname":"WORKSTATION6.theshire.local"', `"Hostname":${JSON.stringify(hostile)}`) : l)).join('\n') + '\n');
    const result = await scan([f, g], { threads: 1, hostAliases: { [hostile]: 'WORKSTATION6.theshire.local' } });
    assert.deepEqual(result.hosts, ['WORKSTATION6.theshire.local']);
    const w = await open(result, 'aliases.html');
    const row = w.page.locator('#hosts-table tbody tr', { hasText: 'WORKSTATION6.theshire.local' });
    const text = (await row.locator('td').first().textContent())!;
    assert.match(text, /also named WORKSTATION6: short name of WORKSTATION6\.theshire\.local in the same evidence file/);
    // the escape character is drawn as \\x1b, the markup as text
    assert.ok(text.includes('also named <img src=x onerror=alert(1)>\\x1b[31m: --host-alias <img src=x onerror=alert(1)>\\x1b[31m=WORKSTATION6.theshire.local'), text);
    assert.equal(await w.page.locator('#hosts-table img').count(), 0);
    clean(w);
    await w.page.close();
  });

  /** The page is wider than the window (a horizontal scroll bar), or an element of it overflows its own box. */
  const overflow = async (p: Page): Promise<{ page: number; table: number; wrap: number; cells: string[] }> =>
    (await p.evaluate(`(() => {
      const t = document.getElementById('findings-table');
      const cells = Array.from(document.querySelectorAll('#findings-table td')).filter((td) => getComputedStyle(td).display !== 'none' && td.scrollWidth > td.clientWidth + 1).map((td) => td.className + ': ' + td.textContent);
      return { page: document.documentElement.scrollWidth - window.innerWidth, table: t.scrollWidth - t.clientWidth, wrap: t.parentElement.scrollWidth - t.parentElement.clientWidth, cells };
    })()`)) as { page: number; table: number; wrap: number; cells: string[] };

  it('layout: a 77-file collection shows the summary and the findings table first, fits 1,400 px without horizontal scrolling, and 1,024 px', { skip: noSamples }, async () => {
    // every committed fixture and every shared EVTX sample: 31 hosts, 60+ evidence files, dozens of notes
    const result = await scan([ALL_FIXTURES, ...listEvtxSamples()], { threads: 1 });
    assert.ok(result.evidence.length >= 60, `${result.evidence.length} evidence files`);
    const w = await open(result, 'collection.html');
    const p = w.page;
    await p.setViewportSize({ width: 1400, height: 1000 });
    const top = async (sel: string): Promise<number> => (await p.locator(sel).boundingBox())!.y;
    // the summary row, then the table, within the first screen
    assert.ok((await top('#summary')) < (await top('#findings-table')));
    const tableTop = await top('#findings-table');
    assert.ok(tableTop < 900, `the findings table starts at ${tableTop} px`);
    assert.ok((await top('#findings-table tbody tr:first-child')) < 900);
    // a file holding several hosts' records is one evidence entry per host, and one file on the card
    const files = new Set(result.evidence.map((e) => e.file)).size;
    assert.ok(files < result.evidence.length, `${files} files, ${result.evidence.length} evidence entries`);
    assert.equal(await p.textContent('#card-evidence .big'), String(files));
    assert.match((await p.textContent('#evidence-list > summary'))!, new RegExp(`^Evidence read: ${files} files, `));
    assert.equal(await p.textContent('#card-notes .big'), String(result.notes.length));
    const byLevel = (l: string): number => result.notes.filter((n) => n.level === l).length;
    assert.ok(byLevel('warning') > 1 && byLevel('skipped') > 0);
    const levels = [byLevel('error') ? `${byLevel('error')} error${byLevel('error') === 1 ? '' : 's'}` : '', `${byLevel('warning')} warnings`, `${byLevel('skipped')} skipped`];
    assert.equal(await p.textContent('#card-notes .muted'), levels.filter(Boolean).join(', '));
    assert.equal(await p.textContent('#card-hosts .big'), String(result.hosts.length));
    // the long lists are below the findings, the evidence list behind a disclosure
    assert.ok((await top('#evidence')) > tableTop);
    assert.equal(await p.locator('#evidence-list').getAttribute('open'), null);
    assert.equal(await p.locator('#evidence-table tbody tr').count(), result.evidence.length);
    assert.equal(await p.locator('#evidence-table').isVisible(), false);
    await p.click('#evidence-list > summary');
    assert.equal(await p.locator('#evidence-table').isVisible(), true);

    // no horizontal scrolling at 1,400 px: the page, the table and its cells stay within their boxes
    const o1400 = await overflow(p);
    assert.deepEqual(o1400, { page: 0, table: 0, wrap: 0, cells: [] }, JSON.stringify(o1400));
    // names (host, namespace, filter, consumer and its class) break only between words: no word of theirs is laid
    // out on two lines
    const broken = (await p.evaluate(`(() => {
      const out = [];
      for (const td of document.querySelectorAll('#findings-table td.col-host, #findings-table td.col-namespace, #findings-table td.col-filter, #findings-table td.col-consumer')) {
        const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
          for (const m of n.data.matchAll(/\\S+/g)) {
            const r = document.createRange();
            r.setStart(n, m.index);
            r.setEnd(n, m.index + m[0].length);
            const lines = new Set(Array.from(r.getClientRects()).map((x) => Math.round(x.top)));
            if (lines.size > 1) out.push(td.className + ': ' + m[0]);
          }
        }
      }
      return out;
    })()`)) as string[];
    assert.deepEqual(broken, [], 'words of names broken across lines');
    // open the widest finding too: its detail may scroll inside itself, never the page
    await p.click('#findings-table tbody tr:first-child td.col-host');
    assert.ok((await overflow(p)).page <= 0);
    await p.click('#detail-close');
    await p.evaluate('window.scrollTo(0, 0)');
    await p.screenshot({ path: join(ARTIFACTS, 'report-1400.png') });

    // 1,024 px: still no page-wide scrolling; the table keeps its first rows on the first screen
    await p.setViewportSize({ width: 1024, height: 768 });
    const o1024 = await overflow(p);
    assert.deepEqual([o1024.page, o1024.table, o1024.wrap], [0, 0, 0], JSON.stringify(o1024));
    assert.ok((await top('#findings-table')) < 900);
    await p.screenshot({ path: join(ARTIFACTS, 'report-1024.png') });
    await p.setViewportSize({ width: 1400, height: 1000 });

    // host and status filters
    const F = result.findings;
    const host = F[F.length - 1]!.host;
    await p.selectOption('#filter-host', { label: host });
    assert.equal(await rows(p), F.filter((f) => f.host === host).length);
    await p.selectOption('#filter-host', { value: '' });
    const statuses = [...new Set(F.map((f) => f.status))];
    assert.ok(statuses.length >= 2, statuses.join());
    for (const st of statuses) {
      await p.selectOption('#filter-status', { label: st });
      assert.equal(await rows(p), F.filter((f) => f.status === st).length, st);
    }
    await p.click('#filter-reset');
    assert.equal(await rows(p), F.length);

    // sorting is case-insensitive (this collection has hosts in both cases)
    await p.click('#findings-table th[data-prop="host"]');
    const hosts = await p.locator('#findings-table tbody tr td.col-host').allTextContents();
    assert.deepEqual(hosts, [...hosts].sort(compareName));
    assert.notDeepEqual(hosts, [...hosts].sort(), 'the hosts would sort differently by code point');
    await p.click('#findings-table th[data-prop="consumer"]');
    const consumers = await p.locator('#findings-table tbody tr td.col-consumer').allTextContents();
    assert.deepEqual(consumers, [...consumers].sort(compareName));
    clean(w);
    await p.close();
  });

  it('Sigma: the rules loaded and refused, and the hits of no finding, shown as text (a hostile rule title too)', async () => {
    const result = await scan([join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx')], { sigma: [join(repoRoot(), 'test/fixtures/sigma-scan')], threads: 1 });
    const hit = result.sigma!.events[0]!;
    result.sigma!.events.push({ ...hit, rule: { ...hit.rule, title: '<img src=x onerror=alert(1)>\u202e evil' }, matched: [{ field: 'Image', value: '<script>alert(2)</script>' }] });
    result.sigma!.notLoaded.push({ file: 'rules/<b>bad</b>.yml', id: null, title: null, why: '`near` is not supported' });
    const w = await open(result, 'sigma.html');
    const text = (await w.page.textContent('#sigma'))!;
    assert.match(text, /Sigma: 4 rules loaded of 4 files, 7 hits on records of no finding/);
    assert.equal(await w.page.locator('#sigma-events tbody tr').count(), 7);
    assert.match((await w.page.textContent('#sigma-events tbody tr:first-child'))!, /lowWMIC started \(wmiscope test rule\)IEWIN7.*record 16110 .*Image=C:\\Windows\\System32\\wbem\\WMIC\.exe/);
    assert.match(text, /<img src=x onerror=alert\(1\)>\\u202e evil/);
    assert.match(text, /rules\/<b>bad<\/b>\.yml: `near` is not supported/);
    assert.equal(await w.page.locator('#sigma img, #sigma script, #sigma b').count(), 0);
    clean(w);
    await w.page.close();
  });

  it('changes since a baseline (scan --baseline): a section above the findings, styled under the CSP, hostile names shown as text', async () => {
    const baseline = await scan([SAMPLE], { threads: 1 });
    const result = await scan([SAMPLE, join(repoRoot(), 'test/fixtures/collector')], { threads: 1 });
    const bot = result.findings.find((f) => f.id === '48f034799c3b7e20')!;
    bot.host = 'EVIL\u202eHOST<img src=x onerror=alert(1)>';
    bot.consumer!.name = '<script>alert(2)</script>';
    result.hosts.push(bot.host);
    result.changes = diffScans(baseline, result);
    const w = await open(result, 'changes.html');
    const text = (await w.page.textContent('#changes'))!;
    assert.match(text, /^Changes since baseline/);
    assert.match(text, /3 new, 0 gone, 0 changed, 1 rescored, 0 unchanged/);
    assert.match(text, /EVIL\\u202eHOST<img src=x onerror=alert\(1\)> — host not scanned in the baseline/);
    assert.match(text, /new: critical ROOT\\cimv2\\totallylegit CommandLineEventConsumer <script>alert\(2\)<\/script> \(active, id 48f034799c3b\)/);
    assert.match(text, /rescored: high .*BotConsumer23.*critical → high \(score 85 → 75\); status deleted → active; reasons removed: ran/s);
    assert.equal(await w.page.locator('#changes img, #changes script').count(), 0);
    // above the findings, and its style applied (the CSP allows it by hash)
    const [changes, app] = await Promise.all([w.page.locator('#changes').boundingBox(), w.page.locator('#app').boundingBox()]);
    assert.ok(changes && app && changes.y < app.y);
    assert.equal(await w.page.evaluate("getComputedStyle(document.querySelector('#changes li.diff-new')).color"), 'rgb(164, 0, 0)');
    assert.ok((await rows(w.page)) > 0, 'the findings are drawn as before');
    clean(w);
    await w.page.close();
  });

  it('narrowed report: the summary says what the narrowing hid and why', async () => {
    const result = hostileResult();
    const w = await open(result, 'narrowed.html', { minSeverity: 'high' });
    const hidden = result.findings.filter((f) => f.severity !== 'critical' && f.severity !== 'high');
    assert.ok(hidden.length > 0);
    assert.equal(await rows(w.page), result.findings.length - hidden.length);
    assert.equal(await w.page.textContent('#card-hidden .big'), String(hidden.length));
    assert.match((await w.page.textContent('#card-hidden'))!, new RegExp(`${hidden.length} findings? hidden \\(.*\\): ${hidden.length} below high`));
    clean(w);
    await w.page.close();
  });

  it('PowerLurk PowerShell log: each observation names how PowerShell made it (technique, computed at run time) without opening its values', { skip: noSamples }, async () => {
    const r = await scan([evtxSample('hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx')], { threads: 1 });
    const w = await open(r, 'powerlurk.html');
    await w.page.click('#findings-table tbody tr:first-child td:nth-child(3)');
    const notes = await w.page.locator('#detail table.observations .ps-notes').allTextContents();
    assert.equal(notes.length, r.findings[0]!.observations.length);
    assert.equal(notes.filter((n) => n === 'Register-MaliciousWmiEvent (PowerLurk)').length, 3);
    assert.ok(notes.includes('Set-WmiInstance; computed at run time: (all properties)'), notes.join(' | '));
    assert.equal(await w.page.textContent('#detail h4:text-is("Payload") + pre code'), 'cmd.exe /c echo %ProcessId% >> c:\\\\temp\\\\log.txt');
    clean(w);
    await w.page.close();
  });
});
