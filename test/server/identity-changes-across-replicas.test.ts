/**
 * Two replicas on one Postgres schema and one Redis prefix, each with its HTTP API on 127.0.0.1.
 * Each caches agents and credentials for a second; here their clocks stand still, so without a
 * word from the replica that made a change, the other would trust its cache for ever. A key
 * rotated, a key revoked in the store, or an agent suspended on replica A must be refused by
 * replica B too — B hears of it over Redis and drops its cache.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { createWarden, type Warden } from '../../src/services/warden.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { deleteKeys, dropSchema } from '../scale/cluster.js';
import { until } from '../sinks/fixture.js';

const SERVER = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const id = randomBytes(6).toString('hex');
const schema = `t_${id}`;
const prefix = `t_${id}:`;
const ADMIN = 'admin-token-replicas-0123456789abcdef';
const STILL = Date.parse('2026-12-01T12:00:00Z');

interface Replica {
  warden: Warden;
  app: FastifyInstance;
  base: string;
}
const replicas: Replica[] = [];

async function startReplica(name: string): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), `warden-identity-${name}-`));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'reads.yaml'), `id: reads
version: 1
rules:
  - { id: support-reads, effect: allow, tools: [read_orders], when: "'support' in agent.roles" }
`);
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: "${SERVER}?schema=${schema}"
redis: { url: "redis://127.0.0.1:6379", prefix: "${prefix}" }
policies: ./policies
server: { watch_policies: false }
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(ADMIN)}", roles: [admin] }
`,
  );
  const warden = await createWarden({ config: join(dir, 'warden.yaml'), clock: () => STILL, log: () => undefined });
  const app = await buildServer(warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { warden, app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  replicas.push(await startReplica('a'), await startReplica('b'));
}, 60_000);

afterAll(async () => {
  for (const r of replicas) {
    await r.app.close().catch(() => undefined);
    await r.warden.close().catch(() => undefined);
  }
  await dropSchema(SERVER, schema);
  await deleteKeys('redis://127.0.0.1:6379', prefix);
});

async function post(base: string, path: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const decision = (agent: string) => ({ tenant: 'acme-corp', actor: { agent: { id: agent } }, action: 'tool.call', resource: { type: 'tool', id: 'read_orders' }, args: { limit: 1 } });

async function newAgent(a: Replica, agent: string): Promise<string> {
  const created = await post(a.base, '/v1/agents', ADMIN, { id: agent, roles: ['support'], tenant: 'acme-corp', trust: 'medium' });
  expect(created.status).toBe(201);
  return created.json.api_key as string;
}

it('a key rotated on replica A is refused by replica B, whose cache had it', async () => {
  const [a, b] = replicas as [Replica, Replica];
  const key = await newAgent(a, 'rotating-bot');
  for (let i = 0; i < 3; i++) expect((await post(b.base, '/v1/decisions', key, decision('rotating-bot'))).status).toBe(200);

  const rotated = await post(a.base, '/v1/agents/rotating-bot/rotate-key', ADMIN, {});
  expect(rotated.json.revoked).toBe(1);
  await until(async () => (await post(b.base, '/v1/decisions', key, decision('rotating-bot'))).status === 401, 'replica B to refuse the rotated key');
  expect((await post(b.base, '/v1/decisions', rotated.json.api_key as string, decision('rotating-bot'))).status).toBe(200);
});

it('a key revoked through the store on replica A (as the CLI does) is refused by replica B', async () => {
  const [a, b] = replicas as [Replica, Replica];
  const key = await newAgent(a, 'revoked-bot');
  expect((await post(b.base, '/v1/decisions', key, decision('revoked-bot'))).status).toBe(200);
  expect(await a.warden.store.revokeCredentials('revoked-bot', 'api_key', STILL)).toBe(1);
  await until(async () => (await post(b.base, '/v1/decisions', key, decision('revoked-bot'))).status === 401, 'replica B to refuse the revoked key');
});

it('an agent suspended on replica A is denied on replica B', async () => {
  const [a, b] = replicas as [Replica, Replica];
  const key = await newAgent(a, 'suspended-bot');
  const before = await post(b.base, '/v1/decisions', key, decision('suspended-bot'));
  expect(before.status).toBe(200);
  expect(before.json.effect).toBe('allow');

  const suspended = await post(a.base, '/v1/agents/suspended-bot/suspend', ADMIN, { reason: 'leaked key' });
  expect(suspended.status).toBe(200);
  await until(async () => {
    const after = await post(b.base, '/v1/decisions', key, decision('suspended-bot'));
    return after.status !== 200 || after.json.effect === 'deny';
  }, 'replica B to deny the suspended agent');
  const denied = await post(b.base, '/v1/decisions', key, decision('suspended-bot'));
  expect(JSON.stringify(denied.json)).toMatch(/suspended/);
});
