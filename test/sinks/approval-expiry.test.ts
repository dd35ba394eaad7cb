/**
 * An approval nobody decided: when it expires, the decision log gets an `approval.expire`
 * record tied to the held request, and approval webhooks (a real listener on 127.0.0.1) are told
 * — Slack gets "Approval expired", Warden's JSON `approval.expired` — once, however often the
 * sweep runs. A webhook that asked for `events: [pending]` hears nothing of it. The agent's
 * retry after expiry opens a new approval instead of running the expired one.
 */
import { afterAll, expect, it } from 'vitest';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';
import { Receiver, until } from './fixture.js';

const slack = new Receiver();
const json = new Receiver();
const quiet = new Receiver();
let h: Harness | undefined;
afterAll(async () => {
  await h?.close();
  for (const r of [slack, json, quiet]) await r.stop();
});

const HOUR = 3_600_000;
const refundArgs = { order_id: 'o-77', amount: 250 };

it('writes an approval.expire record and notifies webhooks once when an approval expires', { timeout: 60_000 }, async () => {
  for (const r of [slack, json, quiet]) await r.start();
  h = await startHarness(`
server: { watch_policies: false }
approvals:
  notify:
    - { name: slack, url: "${slack.url}/hook", retry: { initial: 20ms, max: 100ms } }
    - { name: ops, url: "${json.url}/hook", format: json, retry: { initial: 20ms, max: 100ms } }
    - { name: quiet, url: "${quiet.url}/hook", format: json, events: [pending], retry: { initial: 20ms, max: 100ms } }
`);
  const warden = h.warden;
  const held = await warden.call({ agentId: 'refund-agent', tenant: 'acme-corp', tool: 'issue_refund', requestId: nextRequestId(), args: refundArgs });
  expect(held.status).toBe('pending_approval');
  const id = held.approvalId!;

  // Not yet expired: the sweep finds nothing and writes nothing.
  expect(await warden.sweep()).toEqual([]);

  h.clock.now += HOUR + 1_000; // refunds.yaml: expires 1h
  const expired = await warden.sweep();
  expect(expired.map((a) => a.id)).toEqual([id]);
  expect(await warden.sweep()).toEqual([]); // once
  await warden.recorder.log.flush();

  const records = (await warden.store.queryDecisions({ limit: 50 })).filter((r) => r.approvalId === id);
  const expiry = records.filter((r) => r.action === 'approval.expire');
  expect(expiry).toHaveLength(1);
  expect(expiry[0]).toMatchObject({ effect: 'deny', outcome: 'denied', stage: 'approval', resourceId: 'issue_refund', agentId: 'refund-agent', tenant: 'acme-corp', requestId: held.decision.requestId });
  expect(expiry[0]!.reason).toMatch(new RegExp(`approval ${id} expired at .* without a decision \\(0 of 1 votes cast\\)`));
  expect(expiry[0]!.details.expiry).toMatchObject({ status: 'expired', votes: 0, quorum: 1 });

  await until(() => slack.bodies.length >= 2 && json.bodies.length >= 2 && quiet.bodies.length >= 1, 'the pending and expired notices');
  const ops = json.bodies.map((b) => JSON.parse(b.body) as Record<string, unknown>);
  expect(ops.map((m) => m.event)).toEqual(['approval.pending', 'approval.expired']);
  expect(ops[1]).toMatchObject({ approval_id: id, tool: 'issue_refund', agent_id: 'refund-agent', tenant: 'acme-corp', record: { id: expiry[0]!.id } });
  const slackTexts = slack.bodies.map((b) => (JSON.parse(b.body) as { text: string }).text);
  expect(slackTexts[1]).toContain('Approval expired');
  expect(slackTexts[1]).toContain(id);

  // The exact retry a model makes after expiry: a new approval, the expired one is not run.
  const retry = await warden.call({ agentId: 'refund-agent', tenant: 'acme-corp', tool: 'issue_refund', requestId: nextRequestId(), args: refundArgs });
  expect(retry.status).toBe('pending_approval');
  expect(retry.approvalId).not.toBe(id);
  expect((await warden.approvals.get(id))!.status).toBe('expired');

  // The webhook that wants only new approvals got the two pending notices, never the expiry.
  await warden.recorder.log.flush();
  await until(() => quiet.bodies.length >= 2, 'the second pending notice');
  expect(quiet.bodies.map((b) => (JSON.parse(b.body) as { event: string }).event)).toEqual(['approval.pending', 'approval.pending']);
});
