import { isAbsolute } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/**
 * The server pieces the dashboard needs (issue 14): who decided an approval a vote came too late
 * for, per-agent activity, policy paths a viewer may see, and a refused call's empty arguments.
 */
const TOKENS = {
  ada: 'pieces-ada-token-0123456789',
  fiona: 'pieces-fiona-token-0123456789',
  alan: 'pieces-alan-token-0123456789',
  vic: 'pieces-vic-token-0123456789',
};
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.ada)}", roles: [admin] }
    - { id: fiona, token_hash: "${sha256(TOKENS.fiona)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: alan, token_hash: "${sha256(TOKENS.alan)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: vic, token_hash: "${sha256(TOKENS.vic)}", roles: [viewer], tenant: acme-corp }
server: { watch_policies: false }
`;

let h: Harness;
let app: FastifyInstance;

beforeAll(async () => {
  h = await startHarness(HUMANS, { realClock: true });
  app = await buildServer(h.warden, { logger: false });
});
afterAll(async () => {
  await app.close();
  await h.close();
});

async function api(method: 'GET' | 'POST', url: string, token: string, body?: unknown) {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: r.statusCode, json: r.json() as Record<string, unknown> };
}

const call = (agent: string, key: string, tool: string, args: unknown) =>
  api('POST', '/v1/tools/call', key, { agent_id: agent, request_id: nextRequestId(), tool, arguments: args, session_id: 'run-pieces' });

describe('a vote that comes too late', () => {
  it('is answered 409 with who decided, and when', async () => {
    const held = await call('refund-agent', h.keys['refund-agent']!, 'issue_refund', { order_id: 'o-late', amount: 250 });
    expect(held.status, JSON.stringify(held.json)).toBe(202);
    const id = held.json.approval_id as string;
    expect((await api('POST', `/v1/approvals/${id}/approve`, TOKENS.fiona, { reason: 'ok' })).status).toBe(200);
    const late = await api('POST', `/v1/approvals/${id}/approve`, TOKENS.alan, { reason: 'me too' });
    expect(late.status).toBe(409);
    expect(late.json.detail).toMatch(/approved by fiona at \d{4}-\d\d-\d\dT/);
    expect(late.json.settled).toMatchObject({ status: expect.stringMatching(/^(approved|executing|executed)$/), votes: [{ approver: 'fiona', vote: 'approve', reason: 'ok' }] });
  });
});

describe('GET /v1/agents?activity=true', () => {
  it('counts each agent’s calls and denials of the last hour, when it was last seen, and its status', async () => {
    await call('support-agent', h.keys['support-agent']!, 'read_orders', { limit: 1 });
    await call('support-agent', h.keys['support-agent']!, 'issue_refund', { order_id: 'o-1', amount: 5 });
    expect((await api('POST', '/v1/agents/support-agent/suspend', TOKENS.ada, { reason: 'checking' })).status).toBe(200);
    const r = await app.inject({ method: 'GET', url: '/v1/agents?activity=true', headers: { authorization: `Bearer ${TOKENS.vic}` } });
    expect(r.statusCode).toBe(200);
    const agents = r.json() as Array<{ id: string; status: string; activity: { calls: number; denied: number; lastSeen?: number; capped: boolean } }>;
    const support = agents.find((a) => a.id === 'support-agent')!;
    expect(support.status).toBe('suspended');
    expect(support.activity).toMatchObject({ calls: 2, denied: 1, capped: false });
    expect(support.activity.lastSeen).toBeGreaterThan(Date.now() - 60_000);
    // Without the flag, the list is as before.
    const plain = (await app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${TOKENS.vic}` } })).json() as Array<Record<string, unknown>>;
    expect(plain.every((a) => !('activity' in a))).toBe(true);
    await api('POST', '/v1/agents/support-agent/resume', TOKENS.ada, { reason: 'done' });
  });
});

describe('policy file paths', () => {
  it('are relative to the policies folder for a viewer, and as the gateway has them for an admin', async () => {
    const viewer = await api('GET', '/v1/policies', TOKENS.vic);
    const admin = await api('GET', '/v1/policies', TOKENS.ada);
    const files = (r: { json: Record<string, unknown> }) => (r.json.policies as Array<{ file: string }>).map((p) => p.file);
    expect(files(admin).some((f) => isAbsolute(f))).toBe(true);
    expect(files(viewer).filter((f) => isAbsolute(f) || f.includes(h.dir))).toEqual([]);
    expect(files(viewer)).toContain('refunds.yaml');
    const history = viewer.json.history as Array<{ policies: Array<{ file: string }> }>;
    expect(history.flatMap((b) => b.policies.map((p) => p.file)).filter((f) => isAbsolute(f))).toEqual([]);
    const tests = await api('GET', '/v1/policies/tests', TOKENS.vic);
    expect(JSON.stringify(tests.json)).not.toContain(h.dir);
  });
});

describe('a refused call with no arguments', () => {
  it('records its arguments as {} rather than a preview of "{}"', async () => {
    const refused = await call('ghost-agent', h.keys['support-agent']!, 'read_orders', {});
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const records = (await api('GET', '/v1/audit?limit=5', TOKENS.ada)).json as unknown as Array<{ agentId: string; args: unknown; reason: string }>;
    const record = records.find((r) => r.agentId === 'ghost-agent');
    expect(record, JSON.stringify(records.map((r) => [r.agentId, r.reason]))).toBeDefined();
    expect(record!.args).toEqual({});
  });
});
