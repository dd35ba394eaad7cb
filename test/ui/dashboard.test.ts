import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../src/audit/signing-key.js';
import { sha256 } from '../../src/auth/credentials.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';
import { teardown } from '../helpers/teardown.js';
import { SCREENSHOTS } from './screenshot-dir.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';
import { launchChromium } from './browser.js';

/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * `warden serve` on 127.0.0.1 with a SQLite file and the example tool service.
 */

/** The Overview shows the last verified checkpoint: the gateway signs one after every record. */
const KEYS = mkdtempSync(join(tmpdir(), 'warden-ui-keys-'));
const CHECKPOINT_KEY = join(KEYS, 'signing.key');
writeFileSync(CHECKPOINT_KEY, generateSigningKeyPair().privatePem, { mode: 0o600 });

const TOKENS = { admin: 'ui-admin-token-0123456789', fiona: 'ui-fiona-token-0123456789', viewer: 'ui-viewer-token-0123456789', alan: 'ui-alan-token-0123456789' };
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.admin)}", roles: [admin] }
    - { id: fiona, token_hash: "${sha256(TOKENS.fiona)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: vic, token_hash: "${sha256(TOKENS.viewer)}", roles: [viewer], tenant: acme-corp }
    - { id: alan, token_hash: "${sha256(TOKENS.alan)}", roles: [approver], tenant: acme-corp }
server: { watch_policies: false, shutdown_grace: 2s }
audit:
  checkpoints: { key: "${CHECKPOINT_KEY}", every: 1, interval: 1s, anchor: { type: file, path: "${join(KEYS, 'anchor.jsonl')}" } }
`;

let h: Harness;
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Script errors and console errors (a CSP violation, a failed asset) of every page. */
const pageErrors: string[] = [];
const watch = (page: Page) => {
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // 401/403 answers the tests provoke on purpose are logged by the browser as failed loads.
    if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) pageErrors.push(`console: ${m.text()} (${m.location().url})`);
  });
};

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  h = await startHarness(HUMANS);
  await h.warden.close(); // the harness wrote the config; `serve` opens its own Warden on it
  server = await serve(join(h.dir, 'warden.yaml'), { host: '127.0.0.1', port: 0, logger: false, modules: [] });
  browser = await launchChromium();
});

afterAll(async () => {
  // Closed while the live page still follows the event stream: open SSE responses must not
  // keep the server from closing (a hang fails this hook by its timeout).
  await teardown({
    'warden serve': server && (() => server.close()),
    'browser contexts': () => Promise.all(contexts.map((c) => c.close().catch(() => undefined))),
    chromium: browser && (() => browser.close()),
    'example tool server': h && (() => h.tools.close()),
  });
}, 40_000);

async function signedIn(token: string, hash = 'overview'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  watch(page);
  await page.goto(`${server.url}/ui/#/${hash}`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  return page;
}

async function toolCall(agent: 'support-agent' | 'refund-agent', tool: string, args: unknown, extra: Record<string, unknown> = {}) {
  const requestId = nextRequestId();
  const response = await fetch(`${server.url}/v1/tools/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.keys[agent]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: agent, request_id: requestId, tool, arguments: args, session_id: 'run-ui-1', ...extra }),
  });
  return { requestId, status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

describe('the dashboard', () => {
  it('serves the app at / and /ui/ with a strict content security policy, and refuses a bad token', async () => {
    for (const path of ['/', '/ui/']) {
      const r = await fetch(`${server.url}${path}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await r.text()).toContain('<div id="app">');
    }
    expect((await fetch(`${server.url}/ui/../../package.json`)).status).toBe(404);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    watch(page);
    await page.goto(`${server.url}/`);
    await page.getByLabel('Token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not accepted');
    await shot(page, 'login');
    await page.getByLabel('Token').fill(TOKENS.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview' }).waitFor();
    expect(await page.locator('.who').textContent()).toContain('ada');
  });

  it('shows a decision made through the HTTP API live, and opens its full record', async () => {
    const page = await signedIn(TOKENS.admin, 'live');
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor();
    const call = await toolCall('support-agent', 'read_orders', { limit: 5 });
    expect(call.status).toBe(200);
    const denied = await toolCall('support-agent', 'issue_refund', { order_id: 'o-1', amount: 5 });
    expect(denied.status).toBe(403);
    const row = page.locator(`tr[data-request-id="${call.requestId}"]`);
    await row.waitFor();
    await page.locator(`tr[data-request-id="${denied.requestId}"]`).waitFor();
    expect(await row.locator('.badge').first().textContent()).toBe('allow');

    await row.getByRole('button').click();
    const detail = page.getByRole('region', { name: /read_orders/ });
    await detail.getByText('support-reads-orders').first().waitFor();
    expect(await detail.textContent()).toContain(call.requestId);
    // The record is redacted at the source: customer e-mails never reach the browser.
    expect(await page.content()).not.toMatch(/@example\.com/);

    await page.getByLabel('Effect').selectOption('deny');
    await expect.poll(() => row.count()).toBe(0);
    await page.locator(`tr[data-request-id="${denied.requestId}"]`).waitFor();
    await page.getByLabel('Effect').selectOption('');
    await row.waitFor();
    await shot(page, 'live-decisions');
  });

  it('lets an approver approve a pending refund once; a viewer and an ineligible approver cannot', async () => {
    const held = await toolCall('refund-agent', 'issue_refund', { order_id: 'o-456', amount: 250 });
    expect(held.status).toBe(202);
    const approvalId = held.body.approval_id as string;
    const card = (page: Page) => page.locator(`article[data-approval-id="${approvalId}"]`);

    const viewer = await signedIn(TOKENS.viewer, 'approvals');
    await card(viewer).waitFor();
    expect(await card(viewer).getByRole('button', { name: 'Approve' }).isDisabled()).toBe(true);
    expect(await card(viewer).getByRole('button', { name: 'Deny' }).isDisabled()).toBe(true);
    expect(await card(viewer).getByRole('note').textContent()).toContain('needs the approver role');
    expect(await card(viewer).textContent()).toContain('"amount": 250');
    await shot(viewer, 'approvals-viewer');

    // An approver without the finance_manager role sees why the server would refuse them.
    const alan = await signedIn(TOKENS.alan, 'approvals');
    await card(alan).waitFor();
    expect(await card(alan).getByRole('button', { name: 'Approve' }).isDisabled()).toBe(true);
    expect(await card(alan).getByRole('note').textContent()).toContain('alan is not an approver for this request (needs role:finance_manager)');
    // …and the server refuses them with the same reason.
    const refused = await fetch(`${server.url}/v1/approvals/${approvalId}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.alan}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'trying' }),
    });
    expect(refused.status).toBe(403);

    const fiona = await signedIn(TOKENS.fiona, 'approvals');
    await card(fiona).waitFor();
    await shot(fiona, 'approvals');
    await card(fiona).getByLabel('Reason').fill('confirmed with the customer');
    await card(fiona).getByRole('button', { name: 'Approve' }).click();
    await fiona.getByRole('status').filter({ hasText: 'now executed' }).waitFor();
    await fiona.getByRole('table', { name: 'Decided approvals' }).getByText('executed').first().waitFor();

    const calls = ((await (await fetch(`${h.tools.url}/_calls`)).json()) as { calls: Array<{ tool: string; args: { order_id?: string } }> }).calls;
    expect(calls.filter((c) => c.tool === 'issue_refund' && c.args.order_id === 'o-456')).toHaveLength(1);
  });

  it('grants break-glass from the agents page as an admin, which the gateway honours, and revokes it; a viewer only sees it', async () => {
    const page = await signedIn(TOKENS.admin, 'agents');
    const form = page.getByRole('form', { name: 'Grant break-glass' });
    await form.getByLabel('Agent (empty: any)').fill('support-agent');
    await form.getByLabel('Tool or glob (empty: any)').fill('issue_*');
    await form.getByLabel('For').selectOption('15m');
    await form.getByRole('button', { name: 'Grant break-glass' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('Give a reason');
    await form.getByLabel('Reason (written to the decision log)').fill('payment provider outage');
    await form.getByRole('button', { name: 'Grant break-glass' }).click();
    await page.getByRole('status').filter({ hasText: 'Granted' }).waitFor();
    const grants = page.getByRole('table', { name: 'Break-glass grants' });
    const row = grants.locator('tr[data-grant-id]').first();
    await row.waitFor();
    const id = (await row.getAttribute('data-grant-id'))!;
    expect(await row.textContent()).toContain('agent support-agent, tool issue_*, tenant acme-corp');
    expect(await row.locator('.badge').textContent()).toBe('active');
    await shot(page, 'break-glass');

    const overridden = await toolCall('support-agent', 'issue_refund', { order_id: 'o-bg-1', amount: 5 });
    expect(overridden.status).toBe(200);
    expect((overridden.body.decision as { breakGlass?: { grant: string } }).breakGlass?.grant).toBe(id);

    const viewer = await signedIn(TOKENS.viewer, 'agents');
    const seen = viewer.getByRole('table', { name: 'Break-glass grants' }).locator(`tr[data-grant-id="${id}"]`);
    await seen.waitFor();
    expect(await viewer.getByRole('form', { name: 'Grant break-glass' }).count()).toBe(0);
    expect(await seen.getByRole('button').count()).toBe(0);
    expect(await viewer.getByRole('note').filter({ hasText: 'break-glass needs the admin role' }).count()).toBe(1);

    await row.getByRole('button', { name: `Revoke ${id}` }).click();
    await page.getByRole('status').filter({ hasText: `Revoked ${id}` }).waitFor();
    await expect.poll(() => grants.locator(`tr[data-grant-id="${id}"] .badge`).textContent()).toBe('revoked');
    expect((await toolCall('support-agent', 'issue_refund', { order_id: 'o-bg-2', amount: 5 })).status).toBe(403);
  });

  it('suspends an agent from the agents page; its next call is denied', async () => {
    const page = await signedIn(TOKENS.admin, 'agents');
    await page.getByRole('button', { name: 'Open agent support-agent' }).click();
    const panel = page.getByRole('region', { name: 'support-agent' });
    await panel.getByText('Recent activity').waitFor();
    await panel.getByLabel('Reason').fill('leaking data in tests');
    await panel.getByRole('button', { name: 'Suspend' }).click();
    await panel.getByRole('button', { name: 'Resume' }).waitFor();
    await page.locator('tr[data-agent-id="support-agent"] .badge.status-suspended').waitFor();
    await shot(page, 'agents');

    const next = await toolCall('support-agent', 'read_orders', { limit: 1 });
    expect(next.status).toBe(403);
    expect((next.body.decision as { reason: string }).reason).toContain('suspended: leaking data in tests');
  });

  it('shows the overview, the policies with their tests and a tried request, and a session timeline', async () => {
    const page = await signedIn(TOKENS.admin, 'overview');
    await page.getByRole('region', { name: 'Audit chain' }).getByText('intact').waitFor();
    await page.getByRole('region', { name: 'Audit chain' }).getByText(/Last verified checkpoint: #\d+ (c\d+:)?sha256:.*, signed .* by ed25519:[0-9a-f]{16}, anchored\./).waitFor({ timeout: 15_000 });
    await page.getByRole('group', { name: /Decisions per minute/ }).waitFor();
    await shot(page, 'overview');

    await page.getByRole('link', { name: 'Policies' }).first().click();
    await page.getByText(/\d+ passed, 0 failed/).waitFor();
    await page.getByRole('button', { name: 'Evaluate' }).click();
    const result = page.locator('.try-result');
    await result.waitFor();
    expect(await result.locator('.badge').first().textContent()).toBe('approval');
    await page.getByRole('table', { name: 'How each candidate rule fared' }).getByText('refunds/large-refund').waitFor();
    await shot(page, 'policies');

    // A record with guard findings, as the threat guards write them into details.signals.
    const flagged = server.warden.recorder.log.append(
      {
        id: 'dec_ui-signals-1',
        time: Date.now(),
        kind: 'decision',
        requestId: 'req-ui-signals',
        tenant: 'acme-corp',
        sessionId: 'run-ui-1',
        agentId: 'refund-agent',
        action: 'tool.call',
        resourceType: 'tool',
        resourceId: 'create_support_ticket',
        effect: 'require_approval',
        reason: 'suspicious instructions in the arguments',
        stage: 'policy',
        obligations: [],
        outcome: 'pending',
        latencyUs: 900,
        args: { subject: '[REDACTED]' },
        details: { signals: { injection: { args: { suspicious: true, score: 0.91 } } } },
      },
      true,
    );
    await flagged.durable;
    await page.getByRole('link', { name: 'Session timeline' }).click();
    await page.getByRole('link', { name: 'run-ui-1' }).click();
    await page.getByRole('heading', { name: 'Session run-ui-1' }).waitFor();
    await page.locator('ol.timeline li').first().waitFor();
    expect(await page.locator('ol.timeline li').count()).toBeGreaterThanOrEqual(5);
    await page.getByRole('list', { name: 'Guard findings' }).getByText('injection').waitFor();
    await shot(page, 'session-timeline');
  });

  it('ran every page without a script or console error', () => {
    expect(pageErrors).toEqual([]);
  });
});
