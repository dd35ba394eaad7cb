import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/** Break-glass over HTTP: who may grant, list and revoke, within which tenant, for how long. */
const TOKENS = {
  ada: 'bg-ada-token-0123456789', // admin of every tenant
  tess: 'bg-tess-token-0123456789', // admin of acme-corp
  fiona: 'bg-fiona-token-0123456789', // approver of acme-corp
  vic: 'bg-vic-token-0123456789', // viewer of acme-corp
  cora: 'bg-cora-token-0123456789', // viewer of competitor-corp
};
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.ada)}", roles: [admin] }
    - { id: tess, token_hash: "${sha256(TOKENS.tess)}", roles: [admin], tenant: acme-corp }
    - { id: fiona, token_hash: "${sha256(TOKENS.fiona)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: vic, token_hash: "${sha256(TOKENS.vic)}", roles: [viewer], tenant: acme-corp }
    - { id: cora, token_hash: "${sha256(TOKENS.cora)}", roles: [viewer], tenant: competitor-corp }
server: { watch_policies: false }
break_glass: { max_duration: 30m }
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

interface Grant {
  id: string;
  grantedBy: string;
  reason: string;
  scope: { agentId?: string; tool?: string; tenant?: string };
  state: string;
  revokedBy?: string;
}

async function api(method: 'GET' | 'POST', url: string, token?: string, body?: unknown) {
  const r = await app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: r.statusCode, json: r.json() as Record<string, unknown> & Grant, list: r.json() as Grant[] };
}

const grant = (token: string, body: Record<string, unknown>) => api('POST', '/v1/break-glass', token, { reason: 'outage', duration: '15m', ...body });

describe('POST /v1/break-glass', () => {
  it('is for admins: 401 without a token, 403 for an approver, a viewer or an agent', async () => {
    expect((await grant('', {})).status).toBe(401);
    for (const token of [TOKENS.fiona, TOKENS.vic, h.keys['support-agent']!]) {
      const refused = await grant(token, {});
      expect(refused.status).toBe(403);
    }
    expect((await grant(TOKENS.fiona, {})).json.detail).toBe('fiona needs the admin role for POST /v1/break-glass');
    expect((await api('GET', '/v1/break-glass', TOKENS.ada)).list).toEqual([]);
  });

  it('grants within break_glass.max_duration, with a reason, and the gateway honours it', async () => {
    const tooLong = await grant(TOKENS.ada, { duration: '1h' });
    expect(tooLong).toMatchObject({ status: 400, json: { detail: 'a break-glass grant may last at most 30m' } });
    expect((await grant(TOKENS.ada, { reason: '  ' })).json.detail).toBe('a break-glass grant needs a reason');
    expect((await grant(TOKENS.ada, { duration: 'soon' })).status).toBe(400);
    expect((await grant(TOKENS.ada, { scope: { agent: 'x' } })).status).toBe(400);

    const made = await grant(TOKENS.ada, { reason: 'refund backlog', scope: { agent_id: 'support-agent', tool: 'issue_*' } });
    expect(made.status).toBe(201);
    // A grant for one agent is confined to that agent's tenant.
    expect(made.json).toMatchObject({ grantedBy: 'ada', reason: 'refund backlog', state: 'active', scope: { agentId: 'support-agent', tool: 'issue_*', tenant: 'acme-corp' } });
    const call = await app.inject({
      method: 'POST',
      url: '/v1/tools/call',
      headers: { authorization: `Bearer ${h.keys['support-agent']}` },
      payload: { agent_id: 'support-agent', request_id: nextRequestId(), tool: 'issue_refund', arguments: { order_id: 'o-9', amount: 5 } },
    });
    expect(call.statusCode).toBe(200);
    expect(call.json().decision.breakGlass).toMatchObject({ grant: made.json.id, grantedBy: 'ada' });
    const revoked = await api('POST', `/v1/break-glass/${made.json.id}/revoke`, TOKENS.ada, { reason: 'backlog cleared' });
    expect(revoked).toMatchObject({ status: 200, json: { id: made.json.id, state: 'revoked', revokedBy: 'ada' } });
  });

  it("confines a tenant-scoped admin's grant to their tenant", async () => {
    const own = await grant(TOKENS.tess, {});
    expect(own).toMatchObject({ status: 201, json: { grantedBy: 'tess', scope: { tenant: 'acme-corp' } } });
    const other = await grant(TOKENS.tess, { scope: { tenant: 'competitor-corp' } });
    expect(other).toMatchObject({ status: 403, json: { detail: 'tess may only grant break-glass within tenant acme-corp, not competitor-corp' } });
    // Another tenant's agent is no agent of theirs.
    expect(await grant(TOKENS.tess, { scope: { agent_id: 'other-tenant-agent' } })).toMatchObject({ status: 404, json: { detail: 'no agent "other-tenant-agent"' } });
    expect((await grant(TOKENS.ada, { scope: { agent_id: 'other-tenant-agent', tenant: 'acme-corp' } })).status).toBe(400);
    await api('POST', `/v1/break-glass/${own.json.id}/revoke`, TOKENS.tess, {});
  });
});

describe('GET /v1/break-glass and revoking', () => {
  it("shows people their tenant's grants (and those for every tenant); only admins revoke, within their tenant", async () => {
    const acme = (await grant(TOKENS.tess, { reason: 'acme only' })).json;
    const competitor = (await grant(TOKENS.ada, { reason: 'competitor only', scope: { tenant: 'competitor-corp' } })).json;
    const everyone = (await grant(TOKENS.ada, { reason: 'every tenant', scope: { tool: 'read_*' } })).json;

    const ids = async (token: string, query = '') => (await api('GET', `/v1/break-glass${query}`, token)).list.map((g) => g.id);
    expect(await ids(TOKENS.vic, '?active=true')).toEqual([everyone.id, acme.id]);
    expect(await ids(TOKENS.cora, '?active=true')).toEqual([everyone.id, competitor.id]);
    expect(await ids(TOKENS.ada, '?active=true')).toEqual([everyone.id, competitor.id, acme.id]);
    // Ended grants stay in the list (recent), with their state.
    const all = (await api('GET', '/v1/break-glass', TOKENS.vic)).list;
    expect(all.filter((g) => g.state === 'revoked').length).toBeGreaterThanOrEqual(2);
    expect((await api('GET', '/v1/break-glass', h.keys['support-agent'])).status).toBe(403);

    expect((await api('POST', `/v1/break-glass/${acme.id}/revoke`, TOKENS.fiona, {})).status).toBe(403);
    expect(await api('POST', `/v1/break-glass/${competitor.id}/revoke`, TOKENS.tess, {})).toMatchObject({ status: 404, json: { detail: `no break-glass grant "${competitor.id}"` } });
    expect(await api('POST', `/v1/break-glass/${everyone.id}/revoke`, TOKENS.tess, {})).toMatchObject({ status: 403, json: { detail: `grant ${everyone.id} applies to every tenant; only an admin of every tenant may revoke it` } });
    expect((await api('POST', `/v1/break-glass/${acme.id}/revoke`, TOKENS.tess)).status).toBe(200);
    const twice = await api('POST', `/v1/break-glass/${acme.id}/revoke`, TOKENS.ada, {});
    expect(twice.status).toBe(409);
    expect(twice.json.type).toBe('https://warden.dev/problems/already-revoked');
    expect(twice.json.detail).toMatch(new RegExp(`^grant ${acme.id} was already revoked by tess at `));
    expect((await api('POST', '/v1/break-glass/bg_nope/revoke', TOKENS.ada, {})).status).toBe(404);
    for (const g of [competitor, everyone]) await api('POST', `/v1/break-glass/${g.id}/revoke`, TOKENS.ada, {});
    expect(await ids(TOKENS.ada, '?active=true')).toEqual([]);
  });

  it('records every grant and revocation, under the tenant it applies to', async () => {
    const records = await h.warden.store.scanDecisions(0, 10_000);
    const ops = records.filter((r) => r.action === 'break_glass.grant' || r.action === 'break_glass.revoke');
    expect(ops.filter((r) => r.action === 'break_glass.grant')).toHaveLength(5);
    expect(ops.filter((r) => r.action === 'break_glass.revoke')).toHaveLength(5);
    expect(ops.find((r) => r.userId === 'tess')?.tenant).toBe('acme-corp');
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/v1/break-glass']!).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/v1/break-glass/{id}/revoke']).toHaveProperty('post');
  });
});
