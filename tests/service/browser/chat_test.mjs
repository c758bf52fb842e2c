// Drives the claude-arch web page in headless Chromium and prints what it saw as one JSON object.
// Run by tests/service/test_web_browser.py:  node chat_test.mjs '<json config>'
// config: {url, chromium, key?, shortPrompt, longPrompt, screenshot, narrowScreenshot, timeoutMs}
// Waits are conditions with deadlines (Playwright's waitForFunction); the Python test asserts.
import { config, driver } from './chromium.mjs';

let keyEntered = !config.key;

await driver(async ({ context, report, watch }) => {
  const page = await context.newPage();
  watch(page, {
    // Before its key is typed, the page is refused (401) by a service that needs one: expected.
    ignoreConsole: (text) => !keyEntered && / 401 /.test(text),
    // A fetch the page aborts itself (Stop over SSE) is not a problem.
    ignoreRequest: (req) => req.failure()?.errorText === 'net::ERR_ABORTED',
  });
  report.frames = [];  // what the server sent over the socket, deltas folded into a count
  page.on('websocket', (ws) => {
    report.websocket = true;
    ws.on('framereceived', ({ payload }) => {
      const type = JSON.parse(payload).type;
      const last = report.frames[report.frames.length - 1];
      if (type === 'delta' && last && last.startsWith('delta')) report.frames[report.frames.length - 1] = `delta×${Number(last.split('×')[1] || 1) + 1}`;
      else report.frames.push(type === 'delta' ? 'delta×1' : type === 'done' ? `done${JSON.parse(payload).cancelled ? ' cancelled' : ''}` : type);
    });
  });

  await page.goto(config.url);
  if (config.key) {
    report.dashboardBeforeKey = await waitText(page, '#dash-status', 'nonEmpty');
    keyEntered = true;
    await page.fill('#key', config.key);
    await page.dispatchEvent('#key', 'change');
  }
  await page.waitForFunction(() => document.querySelector('#model').options.length > 1);
  report.models = await page.$$eval('#model option', (opts) => opts.map((o) => o.value));

  // 1. a short answer streams in: count the text pieces as they arrive
  await page.fill('#prompt', config.shortPrompt);
  await page.click('#send');
  const first = await answer(page, 1);
  report.first = first;
  report.requestsShown = await waitText(page, '#total-requests', 'atLeast', 1);
  report.costShown = await waitText(page, '#total-cost', 'atLeast', Number.MIN_VALUE);
  report.modelRows = await page.$$eval('#models-body tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));

  // 2. a long answer is stopped: the page stops, and the service reports the call cancelled
  await page.fill('#prompt', config.longPrompt);
  await page.click('#send');
  await page.waitForFunction(() => {
    const texts = document.querySelectorAll('.message.assistant .text');
    return texts.length === 2 && texts[1].textContent.length > 20;
  });
  await page.click('#stop');
  await page.waitForFunction(() => !document.querySelector('.message.assistant[aria-busy]'));
  const stoppedAt = await lastAnswer(page);
  report.stopStatus = await page.textContent('#chat-status');
  report.stopMeta = await page.$$eval('.message.assistant .meta', (nodes) => nodes[nodes.length - 1].textContent);
  report.cancelledShown = await waitText(page, '#total-errors', 'matches', 'stopped: [1-9]');
  report.stopped = { atStop: stoppedAt.length, afterCancel: (await lastAnswer(page)).length };
  report.sendEnabledAgain = await page.isEnabled('#send');

  await page.screenshot({ path: config.screenshot, fullPage: true });

  // 3. a narrow screen: one column, nothing wider than the viewport
  await page.setViewportSize({ width: 375, height: 800 });
  report.narrow = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    columns: getComputedStyle(document.querySelector('.layout')).gridTemplateColumns.split(' ').length,
  }));
  await page.screenshot({ path: config.narrowScreenshot, fullPage: true });
});

// Waits until the element's text passes a named check (the page's CSP forbids building functions).
async function waitText(page, selector, check, arg) {
  await page.waitForFunction(
    ([sel, kind, value]) => {
      const text = document.querySelector(sel)?.textContent ?? '';
      const number = Number(text.replace(/[$,]/g, ''));
      if (kind === 'nonEmpty') return text.length > 0;
      if (kind === 'atLeast') return number >= value;
      if (kind === 'matches') return new RegExp(value).test(text);
      throw new Error(`unknown check ${kind}`);
    },
    [selector, check, arg],
  );
  return page.textContent(selector);
}

async function lastAnswer(page) {
  return page.$$eval('.message.assistant .text', (nodes) => nodes[nodes.length - 1].textContent);
}

// Watches the n-th answer grow until its turn is done; how many pieces arrived, and the text.
async function answer(page, n) {
  await page.waitForFunction((i) => document.querySelectorAll('.message.assistant').length >= i, n);
  await page.evaluate((i) => {
    const text = document.querySelectorAll('.message.assistant .text')[i - 1];
    window.__pieces = 0;
    new MutationObserver(() => { window.__pieces += 1; }).observe(text, { childList: true, characterData: true, subtree: true });
  }, n);
  await page.waitForFunction((i) => {
    const item = document.querySelectorAll('.message.assistant')[i - 1];
    return !item.hasAttribute('aria-busy');
  }, n);
  return page.evaluate((i) => {
    const item = document.querySelectorAll('.message.assistant')[i - 1];
    return {
      text: item.querySelector('.text').textContent,
      meta: item.querySelector('.meta').textContent,
      failed: item.classList.contains('failed'),
      pieces: window.__pieces,
      live: document.querySelector('#transcript').getAttribute('aria-live'),
    };
  }, n);
}
