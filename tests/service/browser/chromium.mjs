// What every browser driver here shares: the system's Chromium headless (playwright-core drives
// it; no browser is downloaded), a throwaway profile, the page problems a test must see (console
// errors, uncaught page errors, failed requests), and one JSON report on stdout at the end.
//
//   import { config, driver } from './chromium.mjs';
//   await driver(async ({ context, report, watch }) => {
//     const page = await context.newPage();
//     watch(page, { ignoreConsole: (text) => / 401 /.test(text) });
//     ...                                    // fill the report; the Python test asserts on it
//   });
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const config = JSON.parse(process.argv[2]);
export const timeout = config.timeoutMs ?? 30000;

// The flags that keep Chromium off this machine's closed network and quiet in a container.
const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Runs `body` with a fresh browser context and `report` (problems collected), then prints the
// report as one JSON object; an exception becomes `report.failure`, never a crash.
export async function driver(body, report = {}) {
  report.problems ??= [];
  const profile = mkdtempSync(join(tmpdir(), 'claude-arch-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: config.chromium,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ARGS,
  });
  // Records a page's problems in the report, each prefixed with `label`; `ignoreConsole(text)`
  // and `ignoreRequest(request)` say which are expected.
  const watch = (page, { label = '', ignoreConsole = () => false, ignoreRequest = () => false } = {}) => {
    const prefix = label ? `${label} ` : '';
    page.setDefaultTimeout(timeout);
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !ignoreConsole(msg.text())) report.problems.push(`${prefix}console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => report.problems.push(`${prefix}page: ${err.message}`));
    page.on('requestfailed', (req) => {
      if (!ignoreRequest(req)) report.problems.push(`${prefix}request: ${req.url()}`);
    });
  };
  try {
    await body({ context, report, watch });
  } catch (err) {
    report.failure = String(err && err.stack || err);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report));
}
