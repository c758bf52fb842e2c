// Drives the claude-arch dashboard in headless Chromium and prints what it saw as one JSON object.
// Run by tests/service/test_dashboard_charts_browser.py:  node dashboard_test.mjs '<json config>'
// config: {url, chromium, prompts, widths, narrowWidth, shots (a folder), timeoutMs}
// Waits are conditions with deadlines (Playwright's waitForFunction); the Python test asserts.
import { join } from 'node:path';
import { config, driver } from './chromium.mjs';

// What the layout looks like at the page's current width.
function measure() {
  const root = document.documentElement;
  const rect = (el) => el.getBoundingClientRect();
  const dashboard = rect(document.querySelector('.dashboard'));
  const headers = [...document.querySelectorAll('#models-table thead th')];
  const tiles = [...document.querySelectorAll('#totals > div')];
  const charts = [...document.querySelectorAll('.chart')];
  return {
    innerWidth: window.innerWidth,
    clientWidth: root.clientWidth,
    scrollWidth: root.scrollWidth,
    columns: getComputedStyle(document.querySelector('.layout')).gridTemplateColumns.split(' ').length,
    dashboardRight: dashboard.right,
    // the headline columns: inside the dashboard's box and the window, nothing clipped
    headers: headers.map((th) => ({
      text: th.textContent,
      left: rect(th).left,
      right: rect(th).right,
      visible: rect(th).width > 0 && rect(th).left >= dashboard.left - 1
        && rect(th).right <= dashboard.right + 1 && rect(th).right <= root.clientWidth,
    })),
    tableRight: rect(document.querySelector('#models-table')).right,
    tableScrolls: [...document.querySelectorAll('.dashboard .scroll')]
      .some((box) => box.scrollWidth > box.clientWidth + 1),
    tileRows: [...new Set(tiles.map((t) => Math.round(rect(t).top)))].length,
    tilesPerRow: tiles.filter((t) => Math.round(rect(t).top) === Math.round(rect(tiles[0]).top)).length,
    chartsFit: charts.every((c) => rect(c).right <= dashboard.right + 1
      && [...c.querySelectorAll('canvas')].every((cv) => rect(cv).right <= rect(c).right + 1)),
  };
}

await driver(async ({ context, report, watch }) => {
  const page = await context.newPage();
  watch(page);

  await page.goto(config.url);
  await page.waitForFunction(() => document.querySelector('#model').options.length > 1);

  // a few chat turns, each streamed to its end
  for (const [i, prompt] of config.prompts.entries()) {
    await page.fill('#prompt', prompt);
    await page.click('#send');
    await page.waitForFunction((n) => {
      const done = document.querySelectorAll('.message.assistant:not([aria-busy])');
      return done.length === n && !document.querySelector('#send').disabled;
    }, i + 1);
  }
  report.answers = await page.$$eval('.message.assistant', (items) => items.map((m) => ({
    failed: m.classList.contains('failed'), text: m.querySelector('.text').textContent,
  })));

  // every chart drawn with points in it (the page polls; a finished turn asks at once)
  await page.waitForFunction((want) => {
    const charts = [...document.querySelectorAll('.chart')];
    return charts.length === 6 && charts.every((c) => Number(c.dataset.points || 0) > 0
      && c.querySelector('canvas')) && Number(document.querySelector('#total-requests')
      .textContent.replace(/,/g, '')) >= want;
  }, config.prompts.length);
  report.charts = await page.$$eval('.chart', (charts) => charts.map((c) => ({
    id: c.id,
    points: Number(c.dataset.points),
    series: Number(c.dataset.series),
    canvas: (() => { const cv = c.querySelector('canvas'); return cv ? [cv.width, cv.height] : null; })(),
    legend: [...c.querySelectorAll('.u-legend .u-label')].map((l) => l.textContent),
  })));
  // a canvas with something drawn on it: not all of its pixels are one colour
  report.inked = await page.$$eval('.chart canvas', (canvases) => canvases.map((cv) => {
    const pixels = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    const seen = new Set();
    for (let i = 0; i < pixels.length && seen.size < 3; i += 4 * 97) seen.add(pixels.slice(i, i + 4).join(','));
    return seen.size;
  }));
  report.totalErrors = await page.textContent('#total-errors');
  report.totalRequests = await page.textContent('#total-requests');
  report.banner = await page.$eval('#emulator-banner', (b) => ({
    hidden: b.hidden, visible: b.getBoundingClientRect().height > 0, text: b.textContent.trim(),
  }));
  report.errorRows = await page.$$eval('#errors-body tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  report.errorsEmptyHidden = await page.$eval('#errors-empty', (p) => p.hidden);
  report.keysEmpty = await page.$eval('#keys-empty', (p) => ({ hidden: p.hidden, text: p.textContent }));

  for (const width of config.widths) {
    await page.setViewportSize({ width, height: 1000 });
    // the charts follow their figures' width (ResizeObserver): wait until they have
    await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => {
      const cv = c.querySelector('canvas');
      return cv && cv.getBoundingClientRect().right <= c.getBoundingClientRect().right + 1;
    }));
    report.widths[width] = await page.evaluate(measure);
    await page.screenshot({ path: join(config.shots, `dashboard-${width}.png`), fullPage: true });
  }

  await page.setViewportSize({ width: config.narrowWidth, height: 800 });
  await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => {
    const cv = c.querySelector('canvas');
    return cv && cv.getBoundingClientRect().right <= c.getBoundingClientRect().right + 1;
  }));
  report.narrow = await page.evaluate(measure);
  await page.screenshot({ path: join(config.shots, `dashboard-${config.narrowWidth}.png`), fullPage: true });
}, { widths: {} });
