import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodySha256, sha256, signEnvelope } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { HMAC_SECRET, nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

const TOKENS = { admin: 'admin-token-0123456789', fiona: 'fiona-token-0123456789', viewer: 'viewer-token-0123456789', olga: 'olga-token-0123456789' };
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.admin)}", roles: [admin] }
    - { id: fiona, token_hash: "${sha256(TOKENS.fiona)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: vic, token_hash: "${sha256(TOKENS.viewer)}", roles: [viewer], tenant: acme-corp }
    - { id: olga, token_hash: "${sha256(TOKENS.olga)}", roles: [approver, finance_manager], tenant: competitor-corp }
server: { body_limit: 65536, watch_policies: false }
`;

let h: Harness;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  h = await startHarness(HUMANS, { realClock: true });
  app = await buildServer(h.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await app.close();
  await h.close();
});

async function http(method: string, path: string, options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, json: json as Record<string, unknown>, text };
}

const envelope = (agent: string, tool: string, args: unknown, extra: Record<string, unknown> = {}) => ({ agent_id: agent, request_id: nextRequestId(), tool, arguments: args, ...extra });

describe('POST /v1/tools/call', () => {
  it('executes an allowed call with an API key', async () => {
    const r = await http('POST', '/v1/tools/call', { token: h.keys['support-agent'], body: envelope('support-agent', 'read_orders', { limit: 2 }) });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ success: true, status: 'executed', decision: { effect: 'allow', rule: 'support-reads-orders' } });
    expect(r.json.audit_id).toMatch(/^dec_/);
  });

  it('answers 403 with the decision for a policy deny, 429 with Retry-After for a rate limit', async () => {
    const denied = await http('POST', '/v1/tools/call', { token: h.keys['support-agent'], body: envelope('support-agent', 'issue_refund', { order_id: 'o-1', amount: 5 }) });
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ success: false, status: 'denied', decision: { effect: 'deny', rule: 'refund-needs-finance' } });
    let limited;
    for (let i = 0; i < 5; i++) limited = await http('POST', '/v1/tools/call', { token: h.keys['support-agent'], body: envelope('support-agent', 'search_knowledge_base', { query: 'x' }) });
    expect(limited!.status).toBe(429);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers 202 with an approval id, which the agent polls and a human approves', async () => {
    const held = await http('POST', '/v1/tools/call', { token: h.keys['refund-agent'], body: envelope('refund-agent', 'issue_refund', { order_id: 'o-456', amount: 250 }) });
    expect(held.status).toBe(202);
    const id = held.json.approval_id as string;
    const polled = await http('GET', `/v1/approvals/${id}`, { token: h.keys['refund-agent'] });
    expect(polled.json).toMatchObject({ id, status: 'pending' });
    expect(polled.json.args).toBeUndefined();
    expect((await http('GET', `/v1/approvals/${id}`, { token: h.keys['support-agent'] })).status).toBe(404);
    // Agents can never approve; a viewer cannot; another tenant's approver cannot.
    expect((await http('POST', `/v1/approvals/${id}/approve`, { token: h.keys['refund-agent'], body: { reason: 'me' } })).status).toBe(403);
    expect((await http('POST', `/v1/approvals/${id}/approve`, { token: TOKENS.viewer, body: { reason: 'ok' } })).status).toBe(403);
    const olga = await http('POST', `/v1/approvals/${id}/approve`, { token: TOKENS.olga, body: { reason: 'ok' } });
    // To another tenant's approver the approval does not exist, as it does not to GET.
    expect(olga.status).toBe(404);
    expect(olga.json.detail).toBe(`no approval "${id}"`);
    expect((await http('GET', `/v1/approvals/${id}`, { token: TOKENS.olga })).status).toBe(404);
    const list = await http('GET', '/v1/approvals?status=pending', { token: TOKENS.fiona });
    expect((list.json as unknown as Array<{ id: string; canDecide: boolean }>).find((a) => a.id === id)?.canDecide).toBe(true);
    const approved = await http('POST', `/v1/approvals/${id}/approve`, { token: TOKENS.fiona, body: { reason: 'verified with the customer' } });
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ approval: { status: 'executed' }, execution: { status: 'executed', result: { amount: 250 } } });
    expect((await http('GET', `/v1/approvals/${id}`, { token: h.keys['refund-agent'] })).json).toMatchObject({ status: 'executed', result: { amount: 250 } });
    expect((await http('POST', `/v1/approvals/${id}/approve`, { token: TOKENS.admin, body: { reason: 'again' } })).status).toBe(403); // no finance_manager role
    expect((await http('POST', `/v1/approvals/${id}/approve`, { token: TOKENS.fiona, body: { reason: 'again' } })).status).toBe(409);
  });

  it('accepts a signed envelope and refuses the replay and a bad signature', async () => {
    const body = JSON.stringify(envelope('support-agent', 'read_orders', {}, { agent_version: '2.0' }));
    const { request_id } = JSON.parse(body) as { request_id: string };
    const timestamp = new Date().toISOString();
    const sign = (secret: string) => ({
      'x-warden-key-id': 'supporthmac',
      'x-warden-timestamp': timestamp,
      'x-warden-signature': signEnvelope(secret, { agentId: 'support-agent', agentVersion: '2.0', requestId: request_id, timestamp, bodySha256: bodySha256(body) }),
    });
    expect((await http('POST', '/v1/tools/call', { raw: body, headers: sign(HMAC_SECRET) })).status).toBe(200);
    const replay = await http('POST', '/v1/tools/call', { raw: body, headers: sign(HMAC_SECRET) });
    expect(replay.status).toBe(409);
    const forged = await http('POST', '/v1/tools/call', { raw: body.replace('read_orders', 'export_csv'), headers: sign(HMAC_SECRET) });
    expect(forged.status).toBe(401);
    expect((forged.json.decision as { reason: string }).reason).toBe('the signature does not match the envelope');
  });

  const bad: Array<[string, Parameters<typeof http>[2], number, RegExp]> = [
    ['malformed JSON', { raw: '{"agent_id": ', token: 'x' }, 400, /not valid JSON/],
    ['a wrong content type', { raw: 'agent_id=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, /application\/json/],
    ['an oversized body', { body: { pad: 'x'.repeat(70_000) } }, 413, /larger than 65536 bytes/],
    ['an unknown field', { body: { ...envelope('support-agent', 'read_orders', {}), tool_name: 'x' } }, 400, /unknown field tool_name/],
    ['a missing request id', { body: { agent_id: 'support-agent', tool: 'read_orders' } }, 400, /request_id/],
    ['a __proto__ key', { raw: '{"agent_id":"a","request_id":"r","tool":"t","arguments":{"__proto__":{"x":1}}}' }, 400, /forbidden key "__proto__"/],
  ];
  for (const [name, options, status, detail] of bad) {
    it(`answers problem+json for ${name}`, async () => {
      const r = await http('POST', '/v1/tools/call', options);
      expect(r.status).toBe(status);
      expect(r.type).toContain('application/problem+json');
      expect(r.json).toMatchObject({ status, type: expect.stringMatching(/^https:\/\/warden\.dev\/problems\//) });
      expect(r.json.detail).toMatch(detail);
    });
  }

  it("answers a person's token with what a tool call needs, not 'malformed API key'", async () => {
    const r = await http('POST', '/v1/tools/call', { token: TOKENS.admin, body: envelope('support-agent', 'read_orders', {}) });
    expect(r.status).toBe(401);
    expect((r.json.decision as { reason: string }).reason).toMatch(/not an agent's API key .*a person's token cannot call tools/);
  });

  it('answers 401 without credentials, and logs the attempt', async () => {
    const r = await http('POST', '/v1/tools/call', { body: envelope('support-agent', 'read_orders', {}) });
    expect(r.status).toBe(401);
    await h.warden.audit.flush();
    const record = await h.warden.store.getDecision(r.json.audit_id as string);
    expect(record).toMatchObject({ stage: 'authenticate', outcome: 'denied' });
  });
});

describe('POST /v1/decisions', () => {
  const request = { tenant: 'acme-corp', actor: { agent: { id: 'refund-agent', roles: ['finance'], trust: 'medium' } }, action: 'tool.call', resource: { type: 'tool', id: 'issue_refund' }, args: { order_id: 'o-1', amount: 500 } };
  it('decides for the authenticated agent only', async () => {
    const r = await http('POST', '/v1/decisions', { token: h.keys['refund-agent'], body: request });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ effect: 'require_approval', rule: 'large-refund', policyVersion: '3' });
    expect(r.headers.get('x-warden-audit-id')).toMatch(/^dec_/);
    expect((await http('POST', '/v1/decisions', { token: h.keys['support-agent'], body: request })).status).toBe(403);
    const invalid = await http('POST', '/v1/decisions', { token: TOKENS.admin, body: { tenant: 'x' } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.detail).toMatch(/actor is required/);
  });
});

describe('agents, incidents, audit, compliance', () => {
  it('registers an agent whose key works at once; suspends it; resumes it', async () => {
    expect((await http('POST', '/v1/agents', { token: TOKENS.viewer, body: { id: 'new-bot' } })).status).toBe(403);
    const created = await http('POST', '/v1/agents', { token: TOKENS.admin, body: { id: 'new-bot', roles: ['support'], tenant: 'acme-corp', trust: 'medium' } });
    expect(created.status).toBe(201);
    const key = created.json.api_key as string;
    expect((await http('POST', '/v1/tools/call', { token: key, body: envelope('new-bot', 'read_orders', {}) })).status).toBe(200);
    expect((await http('POST', '/v1/agents/new-bot/suspend', { token: TOKENS.admin, body: { reason: 'investigation' } })).json).toMatchObject({ status: 'suspended' });
    const blocked = await http('POST', '/v1/tools/call', { token: key, body: envelope('new-bot', 'read_orders', {}) });
    expect((blocked.json.decision as { reason: string }).reason).toBe('agent "new-bot" is suspended: investigation');
    await http('POST', '/v1/agents/new-bot/resume', { token: TOKENS.admin, body: { reason: 'cleared' } });
    const rotated = await http('POST', '/v1/agents/new-bot/rotate-key', { token: TOKENS.admin });
    expect((await http('POST', '/v1/tools/call', { token: key, body: envelope('new-bot', 'read_orders', {}) })).status).toBe(401);
    expect((await http('POST', '/v1/tools/call', { token: rotated.json.api_key as string, body: envelope('new-bot', 'read_orders', {}) })).status).toBe(200);
    expect((await http('PATCH', '/v1/agents/new-bot', { token: TOKENS.admin, body: { trust: 'high' } })).json).toMatchObject({ trust: 'high' });
    const listed = await http('GET', '/v1/agents', { token: TOKENS.viewer });
    expect((listed.json as unknown as Array<{ id: string }>).map((a) => a.id)).toContain('new-bot');
  });

  it('suspends an agent on a critical incident', async () => {
    const r = await http('POST', '/v1/incidents', { token: TOKENS.fiona, body: { agent_id: 'admin-agent', type: 'data_exfiltration', severity: 'critical', description: 'exported 10k rows to a pastebin' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ suspended: true, incident: { severity: 'critical', agentId: 'admin-agent', reportedBy: 'fiona' } });
    expect((await h.warden.store.getAgent('admin-agent'))?.status).toBe('suspended');
    expect((await http('POST', '/v1/incidents', { token: h.keys['support-agent'], body: { agent_id: 'refund-agent', type: 'x', severity: 'low', description: 'y' } })).status).toBe(403);
    const listed = await http('GET', '/v1/incidents?agent=admin-agent', { token: TOKENS.viewer });
    expect((listed.json as unknown as unknown[]).length).toBe(1);
  });

  it('queries and exports the audit log; reports compliance', async () => {
    const denied = await http('GET', '/v1/audit?effect=deny&limit=5', { token: TOKENS.viewer });
    expect(denied.status).toBe(200);
    const rows = denied.json as unknown as Array<{ effect: string; seq: number }>;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.effect === 'deny')).toBe(true);
    expect((await http('GET', '/v1/audit', { token: h.keys['support-agent'] })).status).toBe(403);
    expect((await http('GET', '/v1/audit?since=yesterday', { token: TOKENS.viewer })).status).toBe(400);
    const exported = await http('GET', '/v1/audit/export?since=1h', { token: TOKENS.admin });
    expect(exported.type).toContain('application/x-ndjson');
    const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));
    const status = await http('GET', '/v1/compliance', { token: TOKENS.viewer });
    expect(status.json).toMatchObject({ status: expect.stringMatching(/^(healthy|warning|critical)$/), thresholds: { warning: 0.1, critical: 0.25 }, policyBundle: { bundle: h.warden.policySet.bundle } });
    expect((status.json.suspendedAgents as Array<{ id: string }>).map((a) => a.id)).toContain('admin-agent');
    expect((status.json.totals as { deny: number }).deny).toBeGreaterThan(0);
    // Scoped to the viewer's tenant; operators of every tenant see it all.
    expect(status.json.tenant).toBe('acme-corp');
    const all = await http('GET', '/v1/compliance', { token: TOKENS.admin });
    const competitor = await http('GET', '/v1/compliance', { token: TOKENS.olga });
    expect(all.json.tenant).toBe('*');
    expect(competitor.json.tenant).toBe('competitor-corp');
    const decisions = (r: { json: Record<string, unknown> }) => (r.json.totals as { decisions: number }).decisions;
    expect(decisions(competitor)).toBeLessThan(decisions(status));
    expect(decisions(status)).toBeLessThanOrEqual(decisions(all));
    expect((competitor.json.suspendedAgents as Array<{ id: string }>).map((a) => a.id)).not.toContain('admin-agent');
  });
});

describe('policies', () => {
  it('lists, validates a candidate, and reloads; an invalid change keeps the old set', async () => {
    const listed = await http('GET', '/v1/policies', { token: TOKENS.viewer });
    expect(listed.json).toMatchObject({ bundle: h.warden.policySet.bundle });
    const candidate = await http('POST', '/v1/policies/validate', { token: TOKENS.viewer, body: { files: [{ file: 'x.yaml', text: 'id: x\nversion: 1\nrules: [{id: r, efect: allow}]\n' }] } });
    expect(candidate.json).toMatchObject({ valid: false });
    expect((candidate.json.diagnostics as Array<{ message: string }>).map((d) => d.message)).toContain('unknown field "efect" in rules[0]');
    const before = h.warden.policySet.bundle;
    writeFileSync(join(h.dir, 'policies', 'broken.yaml'), 'id: broken\nversion: 1\nrules: [{id: r, effect: allow, when: "nope"}]\n');
    const refused = await http('POST', '/v1/policies/reload', { token: TOKENS.admin });
    expect(refused.status).toBe(422);
    expect(h.warden.policySet.bundle).toBe(before);
    writeFileSync(join(h.dir, 'policies', 'broken.yaml'), 'id: fixed\nversion: 1\nrules: [{id: r, effect: allow, tools: [search_knowledge_base]}]\n');
    const reloaded = await http('POST', '/v1/policies/reload', { token: TOKENS.admin });
    expect(reloaded.status).toBe(200);
    expect(reloaded.json.bundle).not.toBe(before);
    expect((await http('POST', '/v1/policies/reload', { token: TOKENS.fiona })).status).toBe(403);
    appendFileSync(join(h.dir, 'policies', 'broken.yaml'), '');
  });
});

describe('operations', () => {
  it('serves health, readiness, metrics and the OpenAPI docs', async () => {
    expect((await http('GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await http('GET', '/readyz')).json).toMatchObject({ status: 'ready', checks: { store: { ok: true }, policies: { ok: true } } });
    const metrics = await http('GET', '/metrics');
    expect(metrics.text).toMatch(/warden_decisions_total\{effect="allow",tool="read_orders",stage="policy",status="executed",surface="http"\} \d+/);
    expect(metrics.text).toContain('warden_pipeline_duration_seconds_bucket');
    expect(metrics.text).toMatch(/warden_approvals_pending \d+/);
    expect(metrics.text).toMatch(/warden_audit_queue_depth \d+/);
    const openapi = await http('GET', '/docs/json');
    expect(openapi.json).toMatchObject({ openapi: expect.stringMatching(/^3\./), info: { title: 'Warden' } });
    expect(Object.keys(openapi.json.paths as object)).toEqual(expect.arrayContaining(['/v1/tools/call', '/v1/decisions', '/v1/approvals/{id}/approve']));
    expect((await http('GET', '/docs/')).status).toBe(200);
    expect((await http('GET', '/nowhere')).json).toMatchObject({ status: 404, detail: 'no route GET /nowhere' });
  });
});
