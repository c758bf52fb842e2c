// Opens the bench HTML report and the service page's Choose view in headless Chromium and prints
// what it saw as one JSON object. Run by tests/advisor/test_advisor_pages_browser.py:
//   node pages_check.mjs '<json config>'
// config: {chromium, reportUrl?, reportShot?, chooseUrl?, chooseShot?, invalidShot?, timeoutMs}
// Waits are conditions with deadlines; the Python test asserts on the report.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const config = JSON.parse(process.argv[2]);
const timeout = config.timeoutMs ?? 30000;
const profile = mkdtempSync(join(tmpdir(), 'claude-arch-advisor-chromium-'));
const report = { problems: [] };

const context = await chromium.launchPersistentContext(profile, {
  executablePath: config.chromium,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: [
    '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
  ],
});

function watch(page, label) {
  page.setDefaultTimeout(timeout);
  page.on('console', (msg) => {
    // the Choose view's deliberate bad profile is answered 400: that one is expected
    if (msg.type() === 'error' && !/status of 400/.test(msg.text())) report.problems.push(`${label} console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => report.problems.push(`${label} page: ${err.message}`));
  page.on('requestfailed', (req) => report.problems.push(`${label} request: ${req.url()}`));
  page.on('request', (req) => {
    const url = req.url();
    if (label === 'report' && !url.startsWith('file:') && !url.startsWith('data:')) report.problems.push(`report fetched ${url}`);
  });
}

try {
  if (config.reportUrl) {
    const page = await context.newPage();
    watch(page, 'report');
    await page.goto(config.reportUrl);
    report.report = await page.evaluate(() => ({
      title: document.title,
      charts: document.querySelectorAll('svg.chart').length,
      lines: document.querySelectorAll('svg.chart polyline').length,
      bars: document.querySelectorAll('svg.chart rect').length,
      rows: [...document.querySelectorAll('table')[0].querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent)),
      scripts: document.scripts.length,
      chartWidth: document.querySelector('svg.chart')?.getBoundingClientRect().width ?? 0,
    }));
    await page.screenshot({ path: config.reportShot, fullPage: true });
    await page.close();
  }
  if (config.chooseUrl) {
    const page = await context.newPage();
    watch(page, 'choose');
    await page.goto(config.chooseUrl);
    const pick = '#choose-pick';
    await page.waitForFunction((sel) => document.querySelector(sel).textContent.startsWith('Recommended:'), pick);
    report.first = await page.textContent(pick);
    report.firstRows = await page.$$eval('#variants-body tr', (rows) => rows.length);
    // a batch-friendly workload: far more traffic, a day's patience, nobody watching
    await page.uncheck('input[name="latency.interactive"]');
    await page.fill('input[name="latency.ttft_ms"]', '');
    await page.fill('input[name="latency.total_s"]', '');
    await page.fill('input[name="budget_usd_per_month"]', '');
    await page.fill('input[name="delay_tolerance"]', '1d');
    await page.fill('input[name="traffic.mean_rpm"]', '1500');
    await page.fill('input[name="traffic.peak_rpm"]', '6000');
    await page.waitForFunction(([sel, before]) => {
      const now = document.querySelector(sel).textContent;
      return now.startsWith('Recommended:') && now !== before;
    }, [pick, report.first]);
    report.second = await page.textContent(pick);
    report.capacity = await page.$$eval('#choose-capacity dt', (dts) => dts.map((d) => d.textContent));
    await page.screenshot({ path: config.chooseShot, fullPage: true });
    // an impossible profile: the field is named and marked, the last advice stays
    await page.fill('input[name="tokens.output.p95"]', '10');
    await page.waitForFunction(() => document.querySelector('input[name="tokens.output.p95"]').getAttribute('aria-invalid') === 'true');
    report.invalidStatus = await page.textContent('#choose-status');
    await page.screenshot({ path: config.invalidShot, fullPage: true });
    report.chatStillThere = await page.isVisible('#chat-form');
    await page.close();
  }
} catch (err) {
  report.failure = String(err && err.stack || err);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report));
