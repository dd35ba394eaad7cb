import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayModule } from '../../src/surfaces/http/mcp/gateway-http.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { startIdentityProvider, type IdentityProvider, type SigningKey } from '../helpers/identity-provider.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/** A real identity provider's JWKS endpoint on 127.0.0.1, and tokens signed with its key. */
let idp: IdentityProvider;
let issuer: string;
let h: Harness;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  idp = await startIdentityProvider();
  issuer = idp.issuer;
  h = await startHarness(`authentication: { agent_jwt: { issuer: "${issuer}", audience: warden, agent_claim: agent_id } }\nserver: { watch_policies: false }`, { realClock: true });
  app = await buildServer(h.warden, { logger: false }, [gatewayModule]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await h?.close();
  await idp?.close();
});

const token = (claims: Record<string, unknown>, audience = 'warden', signWith?: SigningKey) => idp.token(claims).setAudience(audience).setIssuedAt().setExpirationTime('5m').sign(signWith ?? idp.key);

async function callTool(bearer: string, agent: string) {
  const response = await fetch(`${base}/v1/tools/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: agent, request_id: nextRequestId(), tool: 'read_orders', arguments: { limit: 1 } }),
  });
  return { status: response.status, json: (await response.json()) as { status?: string; decision?: { reason: string }; detail?: string } };
}

describe('agents authenticated by JWT (authentication.agent_jwt)', () => {
  it('calls a tool with a valid token for the agent it names', async () => {
    const r = await callTool(await token({ agent_id: 'support-agent' }), 'support-agent');
    expect(r).toMatchObject({ status: 200, json: { status: 'executed' } });
  });

  it('refuses a token for another agent, a wrong audience and a foreign signature (401, audited)', async () => {
    const other = await callTool(await token({ agent_id: 'refund-agent' }), 'support-agent');
    expect(other.status).toBe(401);
    expect(other.json.decision?.reason).toContain('the agent token is for "refund-agent", not "support-agent"');
    expect((await callTool(await token({ agent_id: 'support-agent' }, 'someone-else'), 'support-agent')).status).toBe(401);
    const forged = await generateKeyPair('ES256');
    const foreign = await callTool(await token({ agent_id: 'support-agent' }, 'warden', forged.privateKey), 'support-agent');
    expect(foreign.status).toBe(401);
    expect(foreign.json.decision?.reason).toMatch(/refused/);
    await h.warden.audit.flush();
    const denied = await h.warden.store.queryDecisions({ agentId: 'support-agent', effect: 'deny', limit: 10 });
    expect(denied.some((d) => d.stage === 'authenticate')).toBe(true);
  });

  it('opens an MCP gateway session as the agent the token names', async () => {
    const client = new Client({ name: 'jwt-agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${await token({ agent_id: 'support-agent' })}` } } }));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('read_orders');
    expect(names).not.toContain('issue_refund');
    await client.close();
    const refused = await fetch(`${base}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${await token({ agent_id: 'support-agent' }, 'nope')}`, 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);
  });
});
