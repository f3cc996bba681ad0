// Loads a SafeSql diagnostics page in Debian's Chromium (headless, through playwright-core; never a downloaded browser),
// waits for it to render, saves a full-page screenshot and prints what a user would see as one JSON line on stdout:
// the pools, holder rows, leak rows, the charts' SVG elements, the HTTP status and every console error or page error.
//
// Usage: node check-page.mjs <url> <screenshot.png> [header:value ...]
// Env:   SAFESQL_CHROMIUM   the browser (default /usr/bin/chromium)
//        SAFESQL_BROWSER_TIMEOUT_MS   the whole run's bound (default 60000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, screenshot, ...headerArgs] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node check-page.mjs <url> <screenshot.png> [header:value ...]');
  process.exit(2);
}

const timeout = Number(process.env.SAFESQL_BROWSER_TIMEOUT_MS ?? 60000);
const watchdog = setTimeout(() => { console.error(`check-page: no result within ${timeout} ms`); process.exit(3); }, timeout);
const headers = Object.fromEntries(headerArgs.map((arg) => [arg.slice(0, arg.indexOf(':')), arg.slice(arg.indexOf(':') + 1)]));

// The flags this machine's closed network needs (no background connections, no component updates), run as root
// (--no-sandbox), with a new empty profile.
const profile = mkdtempSync(join(tmpdir(), 'safesql-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.SAFESQL_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  extraHTTPHeaders: headers,
  viewport: { width: 1280, height: 900 },
});
const errors = [];
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (message) => { if (message.type() === 'error') errors.push(`console: ${message.text()}`); });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  const response = await page.goto(url, { waitUntil: 'load', timeout });
  const result = await page.evaluate(() => ({
    title: document.title,
    pools: [...document.querySelectorAll('section.pool')].map((pool) => ({
      name: pool.dataset.pool,
      status: pool.querySelector('.status')?.textContent ?? null,
      holders: [...pool.querySelectorAll('table.holders tbody tr')].map((row) => [...row.cells].map((cell) => cell.textContent)),
      leaks: [...pool.querySelectorAll('table.leaks tbody tr')].map((row) => [...row.cells].map((cell) => cell.textContent)),
      leasedChart: pool.querySelector('svg.chart-leased') !== null,
      leasedPath: pool.querySelector('svg.chart-leased path.leased') !== null,
      failuresChart: pool.querySelector('svg.chart-failures') !== null,
      failureKinds: [...pool.querySelectorAll('.failure-kind')].map((kind) => kind.dataset.kind),
      firstSection: pool.querySelector('h3')?.textContent ?? null,
      svgWidth: pool.querySelector('svg.chart-leased')?.getBoundingClientRect().width ?? 0,
    })),
    scripts: document.scripts.length,
  }));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ status: response?.status() ?? 0, contentType: response?.headers()['content-type'] ?? null, ...result, errors }));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(watchdog);
}
