/**
 * Issue 16, defects 1–3: only authenticated facts decide. Each case is a reproduction from the
 * adversarial review, over the real HTTP API: an agent claiming roles, trust or a tenant it does
 * not have; an agent giving the user it acts for any roles; effects and records across tenants.
 * The user tokens come from a real JWKS endpoint on 127.0.0.1 (an identity provider).
 */
import { rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

const TOKENS = { acmeApprover: 'acme-approver-token-0123', acmeViewer: 'acme-viewer-token-01234', rivalViewer: 'rival-viewer-token-01234', crmPep: 'crm-pep-token-0123456789' };

let idp: IdentityProvider;
let h: Harness;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  idp = await startIdentityProvider();
  h = await startHarness(
    `authentication: { user_jwt: { issuer: "${idp.issuer}", audience: warden, agent_claim: azp } }
humans:
  tokens:
    - { id: abe, token_hash: "${sha256(TOKENS.acmeApprover)}", roles: [approver], tenant: acme-corp }
    - { id: vic, token_hash: "${sha256(TOKENS.acmeViewer)}", roles: [viewer], tenant: acme-corp }
    - { id: rita, token_hash: "${sha256(TOKENS.rivalViewer)}", roles: [viewer], tenant: competitor-corp }
peps:
  - { id: crm, tenants: [acme-corp], token_hash: "${sha256(TOKENS.crmPep)}" }
server: { watch_policies: false }
`,
    { realClock: true },
  );
  app = await buildServer(h.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await h?.close();
  await idp?.close();
});

async function post(path: string, bearer: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, auditId: response.headers.get('x-warden-audit-id'), json: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary API bodies
}
async function get(path: string, bearer: string) {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
  return { status: response.status, json: (await response.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary API bodies
}

/** An on-behalf-of token from the identity provider: `user` with `roles`, issued to `agent`. */
const userToken = (user: string, roles: string[], agent: string) => idp.token({ roles, azp: agent }).setSubject(user).setAudience('warden').setIssuedAt().setExpirationTime('5m').sign(idp.key);

const decisionRequest = (agent: Record<string, unknown>, tool: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  tenant: 'acme-corp',
  actor: { agent },
  action: 'tool.call',
  resource: { type: 'tool', id: tool },
  args,
  ...extra,
});

describe('the decision API believes the registry, not the caller (defect 1)', () => {
  it('refuses roles the agent does not have, naming the field, and logs the refusal', async () => {
    const r = await post('/v1/decisions', h.keys['support-agent']!, decisionRequest({ id: 'support-agent', roles: ['finance'] }, 'issue_refund', { order_id: 'o-1', amount: 5 }));
    expect(r.status).toBe(403);
    expect(r.json.detail).toMatch(/actor\.agent\.roles is not the caller's to say/);
    await h.warden.audit.flush();
    expect(await h.warden.store.getDecision(r.json.audit_id)).toMatchObject({ effect: 'deny', stage: 'request', agentId: 'support-agent', tenant: 'acme-corp' });
  });

  it('refuses admin trust and another tenant claimed for the agent', async () => {
    const trust = await post('/v1/decisions', h.keys['support-agent']!, decisionRequest({ id: 'support-agent', roles: ['support'], trust: 'admin' }, 'export_csv', {}));
    expect(trust.status).toBe(403);
    expect(trust.json.detail).toMatch(/actor\.agent\.trust/);
    const tenant = await post('/v1/decisions', h.keys['support-agent']!, decisionRequest({ id: 'support-agent', tenant: 'competitor-corp' }, 'export_csv', {}));
    expect(tenant.status).toBe(403);
    expect(tenant.json.detail).toMatch(/actor\.agent\.tenant/);
    const crossTenant = await post('/v1/decisions', h.keys['support-agent']!, decisionRequest({ id: 'support-agent' }, 'read_orders', {}, { tenant: 'competitor-corp' }));
    expect(crossTenant.status).toBe(403);
    expect(crossTenant.json.detail).toMatch(/cross-tenant/);
    await h.warden.audit.flush();
    // Logged under the agent's own tenant, with the tenant it asked for beside it.
    expect(await h.warden.store.getDecision(crossTenant.json.audit_id)).toMatchObject({ tenant: 'acme-corp', details: { requestedTenant: 'competitor-corp' } });
  });

  it('decides on the registry record when the caller claims nothing', async () => {
    const r = await post('/v1/decisions', h.keys['support-agent']!, decisionRequest({ id: 'support-agent' }, 'issue_refund', { order_id: 'o-1', amount: 5 }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ effect: 'deny', rule: 'refund-needs-finance' });
  });

  it('gives a user the agent names no roles', async () => {
    const r = await post('/v1/decisions', h.keys['refund-agent']!, decisionRequest({ id: 'refund-agent' }, 'read_orders', {}, { actor: { agent: { id: 'refund-agent' }, user: { id: 'mallory', roles: ['support_role'] } } }));
    expect(r.status).toBe(200);
    expect(r.json.effect).toBe('deny');
  });
});

describe('the decision API fills in the tool, the session and relationships itself (README "The ActionRequest")', () => {
  const recordOf = async (auditId: string | null) => {
    await h.warden.audit.flush();
    return h.warden.store.getDecision(auditId!);
  };

  it('ignores a tool entry the caller sends: a policy on tool.risk sees the registry’s', async () => {
    writeFileSync(
      join(h.dir, 'policies', 'high-risk.yaml'),
      `id: high-risk
version: 1
rules:
  - id: high-risk-needs-admin-trust
    effect: deny
    actions: [tool.call]
    when: "has(tool.risk) && tool.risk == 'high' && !trust_at_least('admin')"
`,
    );
    expect((await h.warden.policies.reload('test')).ok).toBe(true);
    try {
      const honest = decisionRequest({ id: 'refund-agent' }, 'issue_refund', { order_id: 'o-1', amount: 50 });
      expect((await post('/v1/decisions', h.keys['refund-agent']!, honest)).json.rule).toBe('high-risk-needs-admin-trust');
      const spoofed = await post('/v1/decisions', h.keys['refund-agent']!, { ...honest, tool: { name: 'issue_refund', effect: 'read', risk: 'low', tags: [] } });
      expect(spoofed.status).toBe(200);
      expect(spoofed.json).toMatchObject({ effect: 'deny', rule: 'high-risk-needs-admin-trust' });
      expect((await recordOf(spoofed.auditId))?.details).toMatchObject({ ignored: ['tool'] });
    } finally {
      rmSync(join(h.dir, 'policies', 'high-risk.yaml'));
      expect((await h.warden.policies.reload('test')).ok).toBe(true);
    }
  });

  it('ignores relationships the caller sends, and reads the relationship store', async () => {
    const read = (user: string, extra: Record<string, unknown> = {}) =>
      post('/v1/decisions', h.keys['support-agent']!, decisionRequest({ id: 'support-agent' }, 'read_file', { path: '/workspace/atlas/plan.md' }, { actor: { agent: { id: 'support-agent' }, user: { id: user } }, ...extra }));
    const claimed = await read('mallory', { relationships: [{ subject: 'user:mallory', relation: 'member', object: 'project:atlas' }] });
    expect(claimed.status).toBe(200);
    expect(claimed.json.effect).toBe('deny');
    expect((await recordOf(claimed.auditId))?.details).toMatchObject({ ignored: ['relationships'] });

    await h.warden.store.addRelationship({ subject: 'user:bea', relation: 'member', object: 'project:atlas' });
    expect((await read('bea')).json).toMatchObject({ effect: 'allow', rule: 'members-read' });
  });

  it('ignores a session the caller sends, and decides on the stored one', async () => {
    // A session in which an injection was found in a tool's result: effectful calls wait for a human.
    await h.warden.store.putSession({
      id: 'run-injected',
      tenant: 'acme-corp',
      callsUsed: 2,
      spend: 0,
      tainted: true,
      recent: [],
      flow: { taint: [], untrusted: ['result:fetch_page'], privateReads: [], injected: ['result:fetch_page'], tools: ['fetch_page'], denials: [] },
      updatedAt: Date.now(),
    });
    const clean = { callsUsed: 0, spend: 0, tainted: false, recent: [] };
    const r = await post('/v1/decisions', h.keys['support-agent']!, decisionRequest({ id: 'support-agent' }, 'create_support_ticket', { subject: 'hi' }, { sessionId: 'run-injected', session: clean }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ effect: 'require_approval', rule: 'act-after-injection' });
    expect((await recordOf(r.auditId))?.details).toMatchObject({ ignored: ['session'] });
  });
});

describe('a PEP credential may say who its users are, within its tenants', () => {
  const asUser = (agent: string, roles: string[]) => decisionRequest({ id: agent }, 'read_orders', {}, { actor: { agent: { id: agent }, user: { id: 'sam', roles } } });

  it('asserts a user’s roles for an agent of its tenant, and the record says so', async () => {
    const r = await post('/v1/decisions', TOKENS.crmPep, asUser('refund-agent', ['support_role']));
    expect(r.status).toBe(200);
    expect(r.json.effect).toBe('allow');
    await h.warden.audit.flush();
    expect(await h.warden.store.getDecision(r.auditId!)).toMatchObject({ effect: 'allow', userId: 'sam', tenant: 'acme-corp', details: { asserted: ['actor.user.roles'], assertedBy: 'pep:crm' } });
  });

  it('asks about no agent outside its tenants, and reaches nothing else', async () => {
    expect((await post('/v1/decisions', TOKENS.crmPep, { ...asUser('other-tenant-agent', []), tenant: 'competitor-corp' })).status).toBe(404);
    expect((await get('/v1/audit', TOKENS.crmPep)).status).toBe(403);
    expect((await post('/v1/incidents', TOKENS.crmPep, { agent_id: 'refund-agent', type: 'x', severity: 'low', description: 'x' })).status).toBe(403);
  });
});

describe('a user is who a verified token says (defect 2)', () => {
  const readOrders = (agent: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    post('/v1/tools/call', h.keys[agent]!, { agent_id: agent, request_id: nextRequestId(), tool: 'read_orders', arguments: {}, ...extra }, headers);

  it('an agent cannot give the user it names any roles', async () => {
    expect((await readOrders('refund-agent')).status).toBe(403);
    const claimed = await readOrders('refund-agent', { user: { id: 'mallory', roles: ['support_role'] } });
    expect(claimed.status).toBe(403);
    await h.warden.audit.flush();
    expect(await h.warden.store.getDecision(claimed.json.audit_id)).toMatchObject({ userId: 'mallory', details: { userVerified: false, ignoredUserRoles: ['support_role'] } });
  });

  it('an on-behalf-of token issued to the agent proves the user and their roles', async () => {
    const token = await userToken('sam', ['support_role'], 'refund-agent');
    const r = await readOrders('refund-agent', {}, { 'x-warden-user-token': token });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('executed');
    await h.warden.audit.flush();
    expect(await h.warden.store.getDecision(r.json.audit_id)).toMatchObject({ userId: 'sam' });
  });

  it('refuses a user token that lives longer than authentication.user_jwt.max_lifetime', async () => {
    const longLived = await idp.token({ roles: ['support_role'], azp: 'refund-agent' }).setSubject('sam').setAudience('warden').setIssuedAt().setExpirationTime('30d').sign(idp.key);
    const r = await readOrders('refund-agent', {}, { 'x-warden-user-token': longLived });
    expect(r.status).toBe(401);
    expect(r.json.decision.reason).toMatch(/the user token lives .* longer than the 1h accepted/);
  });

  it('refuses a token issued to another agent, and one for another user than the envelope names', async () => {
    const stolen = await readOrders('refund-agent', {}, { 'x-warden-user-token': await userToken('sam', ['support_role'], 'support-agent') });
    expect(stolen.status).toBe(401);
    expect(stolen.json.decision.reason).toMatch(/issued to "support-agent", not to agent "refund-agent"/);
    const swapped = await readOrders('refund-agent', { user: { id: 'mallory' } }, { 'x-warden-user-token': await userToken('sam', ['support_role'], 'refund-agent') });
    expect(swapped.status).toBe(401);
    expect(swapped.json.decision.reason).toMatch(/the user token is for "sam", not "mallory"/);
  });
});

describe('effects and records stay in their tenant (defect 3)', () => {
  it('an approver cannot report an incident about another tenant’s agent, nor suspend it', async () => {
    const r = await post('/v1/incidents', TOKENS.acmeApprover, { agent_id: 'other-tenant-agent', type: 'abuse', severity: 'critical', description: 'from acme' });
    expect(r.status).toBe(404);
    expect((await h.warden.store.getAgent('other-tenant-agent'))?.status).toBe('active');
  });

  it('a refused cross-tenant call is its own tenant’s record, invisible to the tenant it named', async () => {
    const r = await post('/v1/tools/call', h.keys['support-agent']!, { agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: {}, tenant: 'competitor-corp' });
    expect(r.status).toBe(403);
    await h.warden.audit.flush();
    expect(await h.warden.store.getDecision(r.json.audit_id)).toMatchObject({ tenant: 'acme-corp', details: { requestedTenant: 'competitor-corp' } });
    const rival = await get('/v1/audit?limit=1000', TOKENS.rivalViewer);
    expect(rival.status).toBe(200);
    expect((rival.json as Array<{ id: string }>).map((x) => x.id)).not.toContain(r.json.audit_id);
    const own = await get('/v1/audit?limit=1000', TOKENS.acmeViewer);
    expect((own.json as Array<{ id: string }>).map((x) => x.id)).toContain(r.json.audit_id);
  });

  it('a suspended agent’s refused calls are logged under its tenant', async () => {
    const r = await h.warden.call({ agentId: 'suspended-bot', tool: 'read_orders', args: {} });
    expect(r).toMatchObject({ status: 'denied', decision: { stage: 'agent' } });
    await h.warden.audit.flush();
    expect((await h.warden.store.getDecision(r.auditId))?.tenant).toBe('acme-corp');
  });
});

describe('a refused credential does not reach the log', () => {
  it('keeps the arguments of a call refused for a credential-like key, without its value', async () => {
    const r = await post('/v1/tools/call', h.keys['support-agent']!, { agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: { customer_id: 'c-1', nested: [{ db_password: 'canary-hunter2-0042' }] } });
    expect(r.status).toBe(400);
    await h.warden.audit.flush();
    const record = await h.warden.store.getDecision(r.json.audit_id);
    expect(JSON.stringify(record)).not.toContain('canary-hunter2-0042');
    expect(record?.args).toMatchObject({ customer_id: 'c-1', nested: [{ db_password: '[REDACTED]' }] });
  });
});
