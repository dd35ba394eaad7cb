/**
 * Issue 14, "Found 2": the decision-log explorer in Chromium (playwright-core, Debian's
 * /usr/bin/chromium) against a real `warden serve` whose SQLite log holds 3,000 synthetic records
 * and a needle of competitor-corp. At a desktop (1440 px) and a phone (390 px) width: a search
 * finds the needle and links it to its request page; the search survives a reload; scrolling
 * loads older pages while the DOM keeps only the rows in view; the export downloads the whole
 * selection; axe-core finds no violation; nothing scrolls sideways. A viewer of acme-corp finds
 * nothing of competitor-corp.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';
import { teardown } from '../helpers/teardown.js';
import { startHarness, type Harness } from '../pipeline/harness.js';
import { SCREENSHOTS } from '../ui/screenshot-dir.js';
import { fillLog, syntheticEntry } from './synthetic-log.js';
import { axeViolations, launchChromium } from '../ui/browser.js';


const TOKENS = { admin: 'xpu-admin-token-0123456789', acme: 'xpu-acme-viewer-token-01234' };
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.admin)}", roles: [admin] }
    - { id: vic, token_hash: "${sha256(TOKENS.acme)}", roles: [viewer], tenant: acme-corp }
server: { watch_policies: false, shutdown_grace: 2s }
`;

const COUNT = 3000;
const NEEDLE_AT = 1234;
/** Every 7th synthetic record is a deny: more than two pages of the explorer (200 each). */
const DENIES = Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % 7 === 0 && i !== NEEDLE_AT).length;

let h: Harness;
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  h = await startHarness(HUMANS, { realClock: true });
  await h.warden.close();
  const store = SqliteStore.open(join(h.dir, 'warden.db'));
  await fillLog(store, COUNT, (i) =>
    i === NEEDLE_AT
      ? syntheticEntry(i, { tenant: 'competitor-corp', agentId: 'needle-agent', requestId: 'needle-request', effect: 'require_approval', outcome: 'pending', reason: 'held: the zebrafish transfer needs a second pair of eyes' })
      : syntheticEntry(i),
  );
  await store.close();
  server = await serve(join(h.dir, 'warden.yaml'), { host: '127.0.0.1', port: 0, logger: false, modules: [] });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await teardown({
    'warden serve': server && (() => server.close()),
    'browser contexts': () => Promise.all(contexts.map((c) => c.close().catch(() => undefined))),
    chromium: browser && (() => browser.close()),
    'example tool server': h && (() => h.tools.close()),
  });
  expect(pageErrors).toEqual([]);
}, 40_000);

async function signedIn(token: string, width: number, hash: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(`console: ${m.text()}`));
  await page.goto(`${server.url}/ui/#/${hash}`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  return page;
}

const status = (page: Page) => page.locator('.explorer-bar [role="status"]');
const rows = (page: Page) => page.locator('tr.log-row');
const sideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describe('the decision-log explorer', () => {
  for (const width of [1440, 390]) {
    it(`searches the whole log, keeps the search in the address, pages by scrolling and exports, at ${width} px`, async () => {
      const page = await signedIn(TOKENS.admin, width, 'log');
      await page.getByRole('heading', { name: 'Decision log' }).waitFor();
      await expect.poll(() => status(page).textContent()).toMatch(/records loaded/);
      const problems: string[] = (await axeViolations(page)).map((v) => `first page: ${v}`);

      // A word of the reason finds the one record among 3,000 (it was never loaded in the browser).
      await page.getByLabel('Words in the reason').fill('zebrafish');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await expect.poll(() => status(page).textContent()).toBe('1 records: every record of this search.');
      expect(await page.evaluate(() => location.hash)).toBe('#/log?q=zebrafish');
      await expect.poll(() => rows(page).count()).toBe(1);
      const link = rows(page).first().getByRole('link');
      expect(await link.getAttribute('href')).toBe('#/requests/needle-request');
      expect(await rows(page).first().textContent()).toContain('needle-agent');
      problems.push(...(await axeViolations(page)).map((v) => `found: ${v}`));
      await page.screenshot({ path: join(SCREENSHOTS, `explorer-search-${width}.png`), fullPage: true });

      // Reload: the search is in the address, the form and the table come back with it.
      await page.reload();
      await page.getByRole('heading', { name: 'Decision log' }).waitFor();
      await expect.poll(() => status(page).textContent()).toBe('1 records: every record of this search.');
      expect(await page.getByLabel('Words in the reason').inputValue()).toBe('zebrafish');
      expect(await rows(page).first().getAttribute('data-seq')).toBeTruthy();

      // Every deny: more than two pages. Scrolling the table loads older pages until the last.
      await page.getByLabel('Words in the reason').fill('');
      await page.getByLabel('Effect').selectOption('deny');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/log?effect=deny');
      await expect.poll(() => status(page).textContent()).toMatch(/^200 records loaded/);
      const pageHeight = await page.evaluate(() => document.documentElement.scrollHeight);
      const everyDeny = `${DENIES.toLocaleString('en-US')} records: every record of this search.`;
      for (let i = 0; i < 20 && (await status(page).textContent()) !== everyDeny; i++) {
        await page.locator('.log-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
        await page.waitForTimeout(150);
      }
      expect(await status(page).textContent()).toBe(everyDeny);
      // Virtualised: only the rows in view (and a few more) are in the DOM.
      expect(await rows(page).count()).toBeLessThan(60);
      // At the bottom: the oldest deny, and rows in strictly falling seq order.
      await page.locator('.log-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await expect.poll(async () => Number(await rows(page).last().getAttribute('data-seq'))).toBe(oldestDenySeq);
      const seqs = (await rows(page).evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-seq'))))) as number[];
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      expect(new Set(seqs).size).toBe(seqs.length);
      problems.push(...(await axeViolations(page)).map((v) => `scrolled: ${v}`));
      expect(await sideways(page), 'the page scrolls sideways').toBeLessThanOrEqual(0);
      // The rows scroll inside the table: the page is as tall with every deny loaded as with 200.
      expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThanOrEqual(pageHeight);
      await page.screenshot({ path: join(SCREENSHOTS, `explorer-scrolled-${width}.png`), fullPage: true });

      // The export is the whole selection, not the rows loaded.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
      const csv = readFileSync((await download.path())!, 'utf8').split('\r\n').filter(Boolean);
      expect(csv[0]).toMatch(/^seq,id,time,/);
      expect(csv).toHaveLength(DENIES + 1);

      expect(problems).toEqual([]);
    }, 120_000);
  }

  it('shows a viewer of acme-corp nothing of competitor-corp', async () => {
    const page = await signedIn(TOKENS.acme, 1440, 'log?q=zebrafish');
    await page.getByRole('heading', { name: 'Decision log' }).waitFor();
    await expect.poll(() => status(page).textContent()).toBe('No records match.');
    expect(await page.getByLabel('Tenant').inputValue()).toBe('acme-corp');
    expect(await page.locator('.log-table').textContent()).toContain('No record matches this search.');
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);
});

/** The oldest deny record's seq (the first of the export, oldest first). */
let oldestDenySeq = 0;
beforeAll(async () => {
  const response = await fetch(`${server.url}/v1/audit/export?effect=deny&limit=1`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
  oldestDenySeq = (JSON.parse((await response.text()).trim()) as { seq: number }).seq;
});
