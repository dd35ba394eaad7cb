import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey, sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/**
 * Idempotent approvals over HTTP (issue 18, defect 1): a held call tells the model to call the
 * same tool again with the same arguments. That retry — the same agent, tool and arguments, a new
 * request id — resolves to the approval, whatever its state; it never opens a second approval for
 * an action that already ran, and never runs it twice.
 */
const TOKENS = { fiona: 'fiona-token-0123456789' };
const HUMANS = `
humans:
  tokens:
    - { id: fiona, token_hash: "${sha256(TOKENS.fiona)}", roles: [approver, finance_manager], tenant: acme-corp }
server: { watch_policies: false }
`;

let h: Harness;
let app: FastifyInstance;
let base: string;

beforeEach(async () => {
  h = await startHarness(HUMANS);
  app = await buildServer(h.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterEach(async () => {
  await app.close();
  await h.close();
});

async function http(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const REFUND = { order_id: 'o-456', amount: 250 };
/** The model's call: a fresh request id every time, the same tool and arguments. */
const refund = (agent = 'refund-agent', args: Record<string, unknown> = REFUND) =>
  http('POST', '/v1/tools/call', h.keys[agent]!, { agent_id: agent, request_id: nextRequestId(), tool: 'issue_refund', arguments: args });
const executions = () => h.tools.calls.filter((c) => c.tool === 'issue_refund');
const approvalsOf = async (agentId: string) => (await h.warden.store.listApprovals({ limit: 100 })).filter((a) => a.agentId === agentId);

async function held(agent = 'refund-agent') {
  const r = await refund(agent);
  expect(r.status).toBe(202);
  expect(r.json).toMatchObject({ status: 'pending_approval' });
  return r.json.approval_id as string;
}

describe('a retried call resolves to its approval, whatever its state', () => {
  it('pending: the retry is still pending on the same approval', async () => {
    const id = await held();
    const again = await refund();
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ status: 'pending_approval', approval_id: id, decision: { effect: 'require_approval' } });
    expect(await approvalsOf('refund-agent')).toHaveLength(1);
  });

  it('approved in the API (executed at once): the retry gets the stored result, the tool ran once, no second approval', async () => {
    const id = await held();
    const approved = await http('POST', `/v1/approvals/${id}/approve`, TOKENS.fiona, { reason: 'verified with the customer' });
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ approval: { status: 'executed' }, execution: { status: 'executed', result: { amount: 250 } } });
    expect(executions()).toHaveLength(1);

    const retry = await refund();
    expect(retry.status).toBe(200);
    expect(retry.json).toMatchObject({ success: true, status: 'executed', approval_id: id, result: (approved.json.execution as { result: unknown }).result });
    expect((retry.json.decision as { reason: string }).reason).toMatch(new RegExp(`served from approval ${id} \\(approved by fiona: .*not run again`));
    const again = await refund();
    expect(again.json).toMatchObject({ status: 'executed', approval_id: id });
    expect(executions()).toHaveLength(1);
    expect(await approvalsOf('refund-agent')).toHaveLength(1);

    // Each retry leaves a decision record that names the approval it was served from.
    await h.warden.audit.flush();
    const record = await h.warden.store.getDecision(retry.json.audit_id as string);
    expect(record).toMatchObject({ approvalId: id, outcome: 'executed', effect: 'allow', stage: 'approval', details: { retryOf: id, servedFromApproval: id, via: 'http' } });
  });

  it('approved but not yet executed (the approver\'s request ended first): the retry runs it, once', async () => {
    const id = await held();
    // A vote straight in the store: approved, nothing ran.
    const voted = await h.warden.store.vote(id, { approver: 'fiona', approverRoles: ['finance_manager'], vote: 'approve', reason: 'ok', at: h.clock.now }, h.clock.now);
    expect(voted).toMatchObject({ ok: true, approval: { status: 'approved' } });
    expect(executions()).toHaveLength(0);
    const [a, b] = await Promise.all([refund(), refund()]);
    // Two retries at once: one claims and runs it; the other gets its result, or "being executed" (202).
    expect([a, b].some((r) => r.status === 200 && r.json.status === 'executed')).toBe(true);
    for (const r of [a, b]) expect(r.status === 200 || (r.status === 202 && r.json.approval_id === id)).toBe(true);
    expect(executions()).toHaveLength(1);
    const after = await refund();
    expect(after.json).toMatchObject({ status: 'executed', approval_id: id });
    expect(executions()).toHaveLength(1);
    expect((await h.warden.store.getApproval(id))?.status).toBe('executed');
  });

  it('a retry in the same session is served even when the session\'s spend budget could not pay for it again', async () => {
    const inSession = () => http('POST', '/v1/tools/call', h.keys['refund-agent']!, { agent_id: 'refund-agent', request_id: nextRequestId(), tool: 'issue_refund', arguments: REFUND, session_id: 'conv-1' });
    const first = await inSession();
    const id = first.json.approval_id as string;
    await http('POST', `/v1/approvals/${id}/approve`, TOKENS.fiona, { reason: 'ok' });
    expect((await h.warden.store.getSession('acme-corp', 'conv-1'))?.spend).toBe(250); // max_spend is 300
    const retry = await inSession();
    expect(retry.status).toBe(200);
    expect(retry.json).toMatchObject({ status: 'executed', approval_id: id });
    expect((await h.warden.store.getSession('acme-corp', 'conv-1'))?.spend).toBe(250);
    expect(executions()).toHaveLength(1);
  });

  it('denied: the retry is denied (403), naming the approval and who denied it; no new approval', async () => {
    const id = await held();
    expect((await http('POST', `/v1/approvals/${id}/deny`, TOKENS.fiona, { reason: 'looks like fraud' })).status).toBe(200);
    const retry = await refund();
    expect(retry.status).toBe(403);
    expect(retry.json).toMatchObject({ status: 'denied', approval_id: id, decision: { effect: 'deny', stage: 'approval' } });
    expect((retry.json.decision as { reason: string }).reason).toBe(`approval ${id} was denied by fiona: looks like fraud; not run`);
    expect(await approvalsOf('refund-agent')).toHaveLength(1);
    expect(executions()).toHaveLength(0);
  });

  it('expired: the retry opens a new pending approval', async () => {
    const id = await held();
    h.clock.now += 61 * 60_000; // the rule's approvals expire after 1h
    const retry = await refund();
    expect(retry.status).toBe(202);
    expect(retry.json.approval_id).not.toBe(id);
    expect((await h.warden.store.getApproval(retry.json.approval_id as string))?.status).toBe('pending');
    expect(await approvalsOf('refund-agent')).toHaveLength(2);
    expect(executions()).toHaveLength(0);
  });

  it('settled longer than approvals.retry_window ago: the same call asks for a new approval', async () => {
    const id = await held();
    await http('POST', `/v1/approvals/${id}/approve`, TOKENS.fiona, { reason: 'ok' });
    h.clock.now += 24 * 3_600_000 - 1;
    expect((await refund()).json).toMatchObject({ status: 'executed', approval_id: id });
    h.clock.now += 1;
    const later = await refund();
    expect(later.status).toBe(202);
    expect(later.json.approval_id).not.toBe(id);
    expect(executions()).toHaveLength(1);
  });

  it('different arguments are a different call', async () => {
    const id = await held();
    await http('POST', `/v1/approvals/${id}/approve`, TOKENS.fiona, { reason: 'ok' });
    const other = await refund('refund-agent', { order_id: 'o-456', amount: 251 });
    expect(other.status).toBe(202);
    expect(other.json.approval_id).not.toBe(id);
    // Canonical arguments: the same values in another key order are the same call.
    expect((await refund('refund-agent', { amount: 250, order_id: 'o-456' })).json).toMatchObject({ status: 'executed', approval_id: id });
  });

  it("another agent's identical call gets its own approval, never this agent's result", async () => {
    const key = generateApiKey();
    const now = h.clock.now;
    await h.warden.store.upsertAgent({ id: 'refund-agent-2', roles: ['finance'], tenant: 'acme-corp', trust: 'medium', status: 'active', source: 'api', createdAt: now, updatedAt: now });
    await h.warden.store.putCredential({ agentId: 'refund-agent-2', keyId: key.keyId, kind: 'api_key', hash: key.hash, createdAt: now });
    h.keys['refund-agent-2'] = key.key;

    const id = await held();
    await http('POST', `/v1/approvals/${id}/approve`, TOKENS.fiona, { reason: 'ok' });
    const other = await refund('refund-agent-2');
    expect(other.status).toBe(202);
    expect(other.json.approval_id).not.toBe(id);
    expect(other.json.result).toBeUndefined();
    expect(await approvalsOf('refund-agent-2')).toHaveLength(1);
    expect(executions()).toHaveLength(1);
  });
});
