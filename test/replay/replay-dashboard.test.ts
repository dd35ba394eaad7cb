import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';
import { CANDIDATE, startFixture, TOKENS, type Fixture } from './fixture.js';

/**
 * The Policies page's "Impact of a draft" in a real browser (Debian's Chromium through
 * playwright-core) against `warden serve` on the fixture's log. Elements are found by their
 * accessible names and roles, as a screen reader would find them.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_BUILT = existsSync(fileURLToPath(new URL('../../dist/ui/index.html', import.meta.url)));

let f: Fixture;
let server: RunningServer;
let browser: Browser;
const errors: string[] = [];

beforeAll(async () => {
  if (!UI_BUILT) throw new Error('dist/ui is missing: run `npm run build` first (npm test does)');
  f = await startFixture();
  await f.close(); // the log is written; `serve` opens its own Warden on the same config
  server = await serve(f.config, { host: '127.0.0.1', port: 0, logger: false, modules: [] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
}, 40_000);

async function policiesPage(token: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/ui/#/policies`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Policies', level: 1 }).waitFor();
  return page;
}

describe('the impact of a draft', { timeout: 90_000 }, () => {
  it('replays recent traffic with a draft and shows the transitions and the records', async () => {
    const page = await policiesPage(TOKENS.ada);
    await page.getByLabel('Policy file name').fill('payments.yaml');
    await page.getByLabel(/Draft policy/).fill(CANDIDATE['payments.yaml']);
    await page.getByLabel('Recent traffic').selectOption('24h');
    await page.getByRole('button', { name: 'Replay recent traffic' }).click();

    const transitions = page.getByRole('table', { name: 'Changed decisions by transition' });
    await transitions.waitFor();
    const row = transitions.getByRole('row').nth(1);
    expect(await row.textContent()).toMatch(/deny.*allow.*3/);
    // Only the refunds policy was drafted: the customers policy in force stays, so nothing else changes.
    expect(await transitions.getByRole('row').count()).toBe(2);
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/3 of \d+ requests would be decided differently/);

    const examples = page.getByRole('table', { name: 'Example requests' });
    expect(await examples.getByRole('row').count()).toBe(4);
    await examples.getByRole('button').first().click();
    const detail = page.getByRole('region', { name: /issue_refund/ });
    await detail.waitFor();
    expect(await detail.textContent()).toContain('refunds above 1000 are not allowed');
    await page.getByRole('button', { name: 'Close the record' }).click();
    expect(await page.getByRole('region', { name: /issue_refund/ }).count()).toBe(0);
  });

  it('says what is wrong with a draft that does not compile', async () => {
    const page = await policiesPage(TOKENS.ada);
    await page.getByLabel(/Draft policy/).fill('id: broken\nrules:\n  - { id: x, effect: permit }\n');
    await page.getByRole('button', { name: 'Replay recent traffic' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/do not compile/);
  });

  it('is not offered to a viewer', async () => {
    const page = await policiesPage(TOKENS.vic);
    await page.getByRole('heading', { name: 'Try a request' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Impact of a draft' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
