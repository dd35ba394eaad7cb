/**
 * The 401 a caller gets says what to do, unredacted: the redactor used to turn "no credentials:
 * send an API key or a signed envelope" into "no credentials: [REDACTED] an API key…".
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

let h: Harness;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  h = await startHarness('server: { watch_policies: false }\n', { realClock: true });
  app = await buildServer(h.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

it('a tool call without credentials is answered 401 with the whole reason, and logged with it', async () => {
  const response = await fetch(`${base}/v1/tools/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: {} }),
  });
  expect(response.status).toBe(401);
  const body = (await response.json()) as { decision: { reason: string }; audit_id: string };
  expect(body.decision.reason).toBe('no credentials: send an API key or a signed envelope');
  await h.warden.audit.flush();
  expect((await h.warden.store.getDecision(body.audit_id))?.reason).toBe('no credentials: send an API key or a signed envelope');
});
