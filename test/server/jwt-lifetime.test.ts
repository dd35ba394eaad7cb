/**
 * Agent JWTs (authentication.agent_jwt) and people's OIDC JWTs (humans.oidc) must expire, and not
 * too late: no `exp` → 401; a lifetime (`exp - iat`, or `exp - now` without `iat`) beyond the
 * configured max_lifetime → 401. A person's token must name their tenant (`*`: every tenant), or
 * it is refused. A real JWKS endpoint on 127.0.0.1, tokens signed with jose.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/surfaces/http/server.js';
import { startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

let idp: IdentityProvider;
let issuer: string;
let h: Harness;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  idp = await startIdentityProvider();
  issuer = idp.issuer;
  h = await startHarness(
    `authentication: { agent_jwt: { issuer: "${issuer}", audience: warden, agent_claim: agent_id } }
humans: { oidc: { issuer: "${issuer}", audience: warden-ui, max_lifetime: 30m } }
server: { watch_policies: false }`,
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

const now = () => Math.floor(Date.now() / 1000);

/** A signed token; `exp` / `iat` in seconds from now, or null to leave the claim out. */
function token(claims: Record<string, unknown>, audience: string, times: { iat?: number | null; exp?: number | null }) {
  const jwt = idp.token(claims).setAudience(audience);
  if (times.iat !== null) jwt.setIssuedAt(now() + (times.iat ?? 0));
  if (times.exp !== null && times.exp !== undefined) jwt.setExpirationTime(now() + times.exp);
  return jwt.sign(idp.key);
}

async function callTool(bearer: string) {
  const response = await fetch(`${base}/v1/tools/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: { limit: 1 } }),
  });
  return { status: response.status, json: (await response.json()) as { status?: string; decision?: { reason: string } } };
}

async function me(bearer: string) {
  const response = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${bearer}` } });
  return { status: response.status, json: (await response.json()) as { detail?: string; id?: string } };
}

describe('agent JWTs: exp required, lifetime at most authentication.agent_jwt.max_lifetime (default 1h)', () => {
  const agent = { agent_id: 'support-agent' };

  it('accepts a token that lives 30 minutes', async () => {
    expect(await callTool(await token(agent, 'warden', { exp: 1800 }))).toMatchObject({ status: 200, json: { status: 'executed' } });
  });

  it('refuses a token without exp', async () => {
    const r = await callTool(await token(agent, 'warden', { exp: null }));
    expect(r.status).toBe(401);
    expect(r.json.decision?.reason).toContain('the agent token has no expiry');
  });

  it('refuses a token that lives longer than the maximum, with or without iat', async () => {
    const long = await callTool(await token(agent, 'warden', { exp: 2 * 3600 }));
    expect(long.status).toBe(401);
    expect(long.json.decision?.reason).toMatch(/the agent token lives 2 h, longer than the 1h accepted \(authentication\.agent_jwt\.max_lifetime\)/);
    // issued long ago, about to expire: its lifetime is still a year
    expect((await callTool(await token(agent, 'warden', { iat: -365 * 86_400, exp: 600 }))).status).toBe(401);
    // no iat: the lifetime left is what counts
    expect((await callTool(await token(agent, 'warden', { iat: null, exp: 3 * 3600 }))).status).toBe(401);
    expect((await callTool(await token(agent, 'warden', { iat: null, exp: 600 }))).status).toBe(200);
    // issued "in the future" so that exp - iat looks short
    expect((await callTool(await token(agent, 'warden', { iat: 10 * 86_400, exp: 10 * 86_400 + 600 }))).status).toBe(401);
  });
});

describe('people’s OIDC JWTs: exp required, lifetime at most humans.oidc.max_lifetime (30m here)', () => {
  const person = { sub: 'vera', roles: ['viewer'], tenant: 'acme-corp' };

  it('accepts a token within the configured lifetime', async () => {
    expect(await me(await token(person, 'warden-ui', { exp: 20 * 60 }))).toMatchObject({ status: 200 });
  });

  it('refuses a token without exp, and one that lives longer than configured', async () => {
    const none = await me(await token(person, 'warden-ui', { exp: null }));
    expect(none.status).toBe(401);
    expect(none.json.detail).toContain('the token has no expiry');
    const long = await me(await token(person, 'warden-ui', { exp: 3600 }));
    expect(long.status).toBe(401);
    expect(long.json.detail).toContain('longer than the 30m accepted (humans.oidc.max_lifetime)');
  });
});

describe('people’s OIDC JWTs: the tenant claim is required', () => {
  const audit = async (bearer: string) => {
    const response = await fetch(`${base}/v1/audit?limit=100`, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: response.status, json: (await response.json()) as unknown };
  };

  beforeAll(async () => {
    // One record of competitor-corp in the log: what a person of acme-corp must never see.
    await h.warden.decisions.decide({ kind: 'human', id: 'root', roles: ['admin'], tenant: '*' }, { tenant: 'competitor-corp', actor: { agent: { id: 'other-tenant-agent' } }, action: 'tool.call', resource: { type: 'tool', id: 'read_orders' }, args: {} }, 'http');
    await h.warden.audit.flush();
  });

  // Each of these used to make the person an operator of every tenant (tenant "*").
  for (const [label, claims] of [
    ['no tenant claim', {}],
    ['an empty tenant claim', { tenant: '' }],
    ['a blank tenant claim', { tenant: '  ' }],
    ['a tenant claim that is an array', { tenant: ['acme-corp'] }],
    ['a tenant claim that is an object', { tenant: { id: '*' } }],
  ] as const) {
    it(`refuses a token with ${label}, saying why`, async () => {
      const bearer = await token({ sub: 'vera', roles: ['admin'], ...claims }, 'warden-ui', { exp: 600 });
      const who = await me(bearer);
      expect(who.status).toBe(401);
      expect(who.json.detail).toContain('the token has no "tenant" claim naming the person\'s tenant');
      expect((await audit(bearer)).status).toBe(401);
    });
  }

  it('a person of one tenant sees only that tenant; "*" in the claim makes an operator of every tenant', async () => {
    const tenantsSeen = async (tenant: string) => {
      const seen = await audit(await token({ sub: 'vera', roles: ['viewer'], tenant }, 'warden-ui', { exp: 600 }));
      expect(seen.status).toBe(200);
      return new Set((seen.json as Array<{ tenant?: string }>).map((r) => r.tenant));
    };
    expect(await tenantsSeen('acme-corp')).not.toContain('competitor-corp');
    expect(await tenantsSeen('*')).toContain('competitor-corp');
  });
});
