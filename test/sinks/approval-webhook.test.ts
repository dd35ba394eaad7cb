/**
 * Approval notifications by webhook, with real listeners on 127.0.0.1: a Slack-compatible
 * message (text + blocks) with the tool, agent, tenant, reason and a link into the dashboard
 * under server.public_url, retried after 500s; Warden's JSON form with the redacted arguments;
 * a notice to a webhook that is down when Warden stops is sent after it starts again; one that
 * never accepts is given up after retry.max_attempts and counted; nothing holds up the call.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createWarden, type Warden } from '../../src/services/warden.js';
import { nextRequestId, startHarness, TOOLS_TOKEN, type Harness } from '../pipeline/harness.js';
import { Receiver, until } from './fixture.js';

const slack = new Receiver();
const json = new Receiver();
const broken = new Receiver();
let h: Harness | undefined;
let restarted: Warden | undefined;
afterAll(async () => {
  await restarted?.close();
  await h?.close();
  for (const r of [slack, json, broken]) await r.stop();
});

const FINANCE = { id: 'fiona', roles: ['finance_manager'], tenant: 'acme-corp' };
const CARD = '4111111111111111';
type SlackMessage = { text: string; blocks: Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }>; elements?: Array<{ url?: string }> }> };
const messages = (r: Receiver) => r.bodies.map((b) => JSON.parse(b.body) as SlackMessage & Record<string, unknown>);
const refund = (warden: Warden, order: string) =>
  warden.call({ agentId: 'refund-agent', tenant: 'acme-corp', tool: 'issue_refund', requestId: nextRequestId(), args: { order_id: order, amount: 250, note: `card ${CARD}` } });
const metrics = (warden: Warden) => warden.telemetry.registry.metrics();

it('notifies a Slack webhook and a JSON webhook of new and decided approvals, retried and durable', { timeout: 60_000 }, async () => {
  await slack.start();
  await json.start();
  await broken.start();
  slack.failNext = 2;
  slack.failStatus = 500;
  broken.failNext = Number.MAX_SAFE_INTEGER;
  broken.failStatus = 400;
  h = await startHarness(`
server: { watch_policies: false, public_url: "https://warden.example.com/" }
approvals:
  notify:
    - { name: slack, url: "\${secret:slack_webhook}", headers: { x-hook-token: "\${secret:tools_token}" }, retry: { initial: 20ms, max: 100ms } }
    - { name: ops, url: "${json.url}/warden", format: json, include_arguments: true, events: [pending], retry: { initial: 20ms, max: 100ms } }
    - { name: broken, url: "${broken.url}/", retry: { initial: 10ms, max: 20ms, max_attempts: 2 } }
`);

  // The Slack webhook's URL is a secret (its path is the credential), read when sending.
  writeFileSync(join(h.dir, 'secrets', 'slack_webhook'), `${slack.url}/services/T000/B000/XXX\n`);
  expect(h.warden.sinks.status().find((s) => s.name === 'notify:slack')!.target).toBe('${secret:slack_webhook}');

  // The call is held at once, whatever the webhooks do.
  const held = await refund(h.warden, 'o-1');
  expect(held.status).toBe('pending_approval');
  const id = held.approvalId!;
  await h.warden.recorder.log.flush();

  await until(() => slack.bodies.length >= 1 && json.bodies.length >= 1, 'the first notifications');
  expect(slack.requests).toBeGreaterThanOrEqual(3); // two 500s, then accepted
  expect(slack.bodies[0]!.headers['x-hook-token']).toBe(TOOLS_TOKEN);
  expect(slack.bodies[0]!.url).toBe('/services/T000/B000/XXX');
  const link = `https://warden.example.com/#/approvals/${id}`;
  const pending = messages(slack)[0]!;
  expect(pending.text).toContain('Approval needed');
  for (const part of ['issue_refund', 'refund-agent', 'acme-corp', 'Refunds over 100 need a finance manager', `<${link}|Open in Warden>`]) expect(pending.text).toContain(part);
  expect(pending.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Approval needed' } });
  expect(pending.blocks.find((b) => b.type === 'actions')!.elements![0]!.url).toBe(link);
  expect(pending.blocks.find((b) => b.type === 'section' && b.fields)!.fields!.map((f) => f.text).join('\n')).toContain(id);
  // Slack gets no arguments by default; the JSON webhook asked for them, redacted.
  expect(slack.bodies[0]!.body).not.toContain('o-1');
  const ops = messages(json)[0]!;
  expect(ops).toMatchObject({ event: 'approval.pending', approval_id: id, tool: 'issue_refund', agent_id: 'refund-agent', tenant: 'acme-corp', link, arguments: { order_id: 'o-1', amount: 250 } });
  expect(ops.record).toMatchObject({ id: held.auditId });
  for (const r of [slack, json]) expect(r.bodies.map((b) => b.body).join('')).not.toContain(CARD);

  // A decision, with a reason that tries to ping the channel and plant a link: shown as text.
  const denied = await h.warden.approvals.deny(id, FINANCE, '<!channel> see <https://evil.example|here> & more');
  expect(denied.ok).toBe(true);
  await h.warden.recorder.log.flush();
  await until(() => slack.bodies.length >= 2, 'the decided notification');
  const decided = messages(slack)[1]!;
  expect(decided.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Approval denied' } });
  expect(decided.text).toContain('`fiona`');
  expect(decided.text).toContain('&lt;!channel&gt; see &lt;https://evil.example|here&gt; &amp; more');
  expect(JSON.stringify(decided)).not.toContain('<!channel>');
  expect(json.bodies.length).toBe(1); // events: [pending] only

  // The webhook that never accepts: given up after 2 attempts per notice, counted, and the others go on.
  await until(async () => /warden_approval_notifications_total\{webhook="broken",result="dropped"\} 2/.test(await metrics(h!.warden)), 'the broken webhook to give up both notices');
  const text = await metrics(h.warden);
  expect(text).toMatch(/warden_approval_notifications_total\{webhook="slack",result="sent"\} 2/);
  expect(Number(/warden_sink_failures_total\{sink="notify:slack"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(2);

  // Durable: the Slack webhook is down when a new approval opens and Warden stops; after a restart it is told.
  await slack.stop();
  const second = await refund(h.warden, 'o-2');
  expect(second.status).toBe('pending_approval');
  await h.warden.close();
  await slack.start(slack.port);
  restarted = await createWarden({ config: join(h.dir, 'warden.yaml'), log: () => undefined });
  await until(() => slack.bodies.some((b) => b.body.includes(second.approvalId!)), 'the notice written before the restart');
  const late = messages(slack).filter((m) => m.text.includes(second.approvalId!));
  expect(late).toHaveLength(1);
  expect(late[0]!.text).toContain('Approval needed');
  // The first approval's notices were not sent again after the restart.
  expect(messages(slack).filter((m) => m.text.includes(id))).toHaveLength(2);
  h = { ...h, close: () => h!.tools.close() };
});
