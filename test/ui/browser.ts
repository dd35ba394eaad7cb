import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * What the browser tests share: Debian's Chromium through playwright-core, the built dashboard,
 * and axe-core evaluated in the page.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_BUILT = existsSync(fileURLToPath(new URL('../../dist/ui/index.html', import.meta.url)));

/** Chromium headless, once the dashboard is built (npm test builds it). */
export async function launchChromium(): Promise<Browser> {
  if (!UI_BUILT) throw new Error('dist/ui is missing: run `npm run build` first (npm test does)');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

let axeSource: string | undefined;

/**
 * axe-core's violations on the page as it is now, one line each with the nodes it names. The
 * source (a devDependency; AXE_CORE_PATH points at another copy of axe.min.js) is evaluated
 * through the DevTools protocol: the page's CSP (rightly) refuses inline scripts.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(process.env.AXE_CORE_PATH ?? createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const w = window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } };
    return (await w.axe.run(document, { resultTypes: ['violations'] })).violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}
