import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

const TOKENS = { admin: 'ev-admin-token-0123456789', viewer: 'ev-viewer-token-0123456789' };
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.admin)}", roles: [admin] }
    - { id: vic, token_hash: "${sha256(TOKENS.viewer)}", roles: [viewer], tenant: acme-corp }
server: { watch_policies: false }
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

type Event = { id: string; data: { seq: number; tenant: string; agentId: string; requestId: string } };

/** Reads the SSE stream until `until` says enough; returns the decision events seen. */
async function readEvents(token: string, query: string, until: (events: Event[]) => boolean): Promise<{ events: Event[]; close: () => void }> {
  const controller = new AbortController();
  const response = await fetch(`${base}/v1/events/decisions${query}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Event[] = [];
  let buffer = '';
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const id = /^id: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (id && data) events.push({ id, data: JSON.parse(data) as Event['data'] });
    }
  }
  return { events, close: () => controller.abort() };
}

const call = (agent: string, requestId = nextRequestId()) =>
  h.warden.call({ agentId: agent, requestId, tool: 'read_orders', args: { limit: 1 } }, { kind: 'trusted' }).then(() => requestId);

describe('GET /v1/events/decisions', () => {
  it('needs a human bearer token', async () => {
    expect((await fetch(`${base}/v1/events/decisions`)).status).toBe(401);
    expect((await fetch(`${base}/v1/events/decisions`, { headers: { authorization: `Bearer ${h.keys['support-agent']}` } })).status).toBe(403);
  });

  it('replays what was written after `after`, then streams new records of the human’s tenant only', async () => {
    const first = await call('support-agent');
    await call('other-tenant-agent');
    await h.warden.audit.flush();
    const later = nextRequestId();
    const stream = readEvents(TOKENS.viewer, '?after=0', (events) => events.some((e) => e.data.requestId === later));
    // Written while the viewer connects or after: arrives in the backlog or live, never lost.
    await call('other-tenant-agent');
    await call('support-agent', later);
    const { events, close } = await stream;
    close();
    expect(events.map((e) => e.data.requestId)).toContain(first);
    expect(events.every((e) => e.data.tenant === 'acme-corp')).toBe(true);
    const seqs = events.map((e) => e.data.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(events.at(-1)!.id).toBe(String(seqs.at(-1)));
  });

  it('lets an operator of every tenant see every tenant, filtered by agent', async () => {
    const theirs = nextRequestId();
    await h.warden.audit.flush();
    const head = (await h.warden.store.lastDecision())?.seq ?? 0;
    const stream = readEvents(TOKENS.admin, `?agent=other-tenant-agent&after=${head}`, (events) => events.some((e) => e.data.requestId === theirs));
    await call('support-agent');
    await call('other-tenant-agent', theirs);
    const { events, close } = await stream;
    close();
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.data.agentId === 'other-tenant-agent')).toBe(true);
  });
});

describe('closing the server', () => {
  it('ends open event streams instead of waiting for them', async () => {
    const extra = await buildServer(h.warden, { logger: false });
    await extra.listen({ host: '127.0.0.1', port: 0 });
    const address = extra.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/events/decisions`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
    expect(response.status).toBe(200);
    const body = response.body!.getReader();
    await body.read(); // the stream is open
    await extra.close(); // a hang here fails the test by its timeout
    let done = false;
    while (!done) ({ done } = await body.read());
    expect(done).toBe(true);
  });
});
