import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/**
 * API keys presented before are remembered (their key id and hash: auth/api-keys.ts), so an agent
 * that calls again is not hashed again. What is remembered is never whether the key is valid: a
 * key revoked or rotated is refused on its very next use, on both the decision API and tool calls.
 */
const ADMIN = 'admin-token-revocation-0123456789';

let h: Harness;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  h = await startHarness(`
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(ADMIN)}", roles: [admin] }
`);
  app = await buildServer(h.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

async function post(path: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const decision = (agent: string) => ({ tenant: 'acme-corp', actor: { agent: { id: agent } }, action: 'tool.call', resource: { type: 'tool', id: 'read_orders' }, args: { limit: 1 } });
const call = (agent: string) => ({ agent_id: agent, request_id: nextRequestId(), tool: 'read_orders', arguments: { limit: 1 } });

it('refuses a rotated key on its next use, after it was accepted many times', async () => {
  const created = await post('/v1/agents', ADMIN, { id: 'rotating-bot', roles: ['support'], tenant: 'acme-corp', trust: 'medium' });
  expect(created.status).toBe(201);
  const key = created.json.api_key as string;
  for (let i = 0; i < 5; i++) {
    expect((await post('/v1/decisions', key, decision('rotating-bot'))).status).toBe(200);
    expect((await post('/v1/tools/call', key, call('rotating-bot'))).status).toBe(200);
  }
  const rotated = await post('/v1/agents/rotating-bot/rotate-key', ADMIN, {});
  expect(rotated.status).toBe(200);
  expect(rotated.json.revoked).toBe(1);

  const refusedDecision = await post('/v1/decisions', key, decision('rotating-bot'));
  expect(refusedDecision.status).toBe(401);
  const refusedCall = await post('/v1/tools/call', key, call('rotating-bot'));
  expect(refusedCall.status).toBe(401);
  const fresh = rotated.json.api_key as string;
  expect((await post('/v1/decisions', fresh, decision('rotating-bot'))).status).toBe(200);
  expect((await post('/v1/tools/call', fresh, call('rotating-bot'))).status).toBe(200);
});

it('refuses a key revoked in the store (as the CLI does) on its next use', async () => {
  const key = h.keys['refund-agent']!;
  expect((await post('/v1/decisions', key, decision('refund-agent'))).status).toBe(200);
  expect((await post('/v1/decisions', key, decision('refund-agent'))).status).toBe(200);
  expect(await h.warden.store.revokeCredentials('refund-agent', 'api_key', Date.now())).toBe(1);
  expect((await post('/v1/decisions', key, decision('refund-agent'))).status).toBe(401);
  expect((await post('/v1/tools/call', key, call('refund-agent'))).status).toBe(401);
});

it('a key presented with one character changed is refused, every time', async () => {
  const key = h.keys['support-agent']!;
  expect((await post('/v1/decisions', key, decision('support-agent'))).status).toBe(200);
  const forged = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
  for (let i = 0; i < 2; i++) {
    expect((await post('/v1/decisions', forged, decision('support-agent'))).status).toBe(401);
    expect((await post('/v1/tools/call', forged, call('support-agent'))).status).toBe(401);
  }
  expect((await post('/v1/decisions', 'wk_bad', decision('support-agent'))).status).toBe(401);
  expect((await post('/v1/decisions', 'wk_bad', decision('support-agent'))).status).toBe(401);
});
