// Opens the bench HTML report and the service page's Choose view in headless Chromium and prints
// what it saw as one JSON object. Run by tests/advisor/test_bench_report.py and test_advise_route.py:
//   node pages_check.mjs '<json config>'
// config: {chromium, reportUrl?, reportShot?, chooseUrl?, chooseShot?, invalidShot?, timeoutMs}
// Waits are conditions with deadlines; the Python test asserts on the report.
import { config, driver } from './chromium.mjs';

// The report's page: nothing fetched but itself (the report is one self-contained file).
function selfContained(page, report) {
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) report.problems.push(`report fetched ${url}`);
  });
}

// The Choose view's deliberate bad profile is answered 400: that one is expected.
const expected400 = (text) => /status of 400/.test(text);

await driver(async ({ context, report, watch }) => {
  if (config.reportUrl) {
    const page = await context.newPage();
    watch(page, { label: 'report', ignoreConsole: expected400 });
    selfContained(page, report);
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
    watch(page, { label: 'choose', ignoreConsole: expected400 });
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
});
