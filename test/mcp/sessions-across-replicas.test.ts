import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarden, type Warden } from '../../src/services/warden.js';
import { createGatewayModule, gatewayModule } from '../../src/surfaces/http/mcp/gateway-http.js';
import { governanceModule } from '../../src/surfaces/http/mcp/governance-http.js';
import { keyFromSecret, newSessionKeyHex, processKey, SESSION_KEY_ENV, SessionIds } from '../../src/surfaces/http/mcp/session-ids.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { startHarness, type Harness } from '../pipeline/harness.js';

/*
 * Two replicas (two Wardens, two fastify servers, two ports) on one SQLite file, sharing
 * mcp.session_secret. The official SDK client reaches them through a round-robin fetch: its
 * consecutive POSTs alternate between the replicas, its GET (SSE) stream goes to B.
 */

const SECRET = randomBytes(32).toString('base64url');
const ACCEPT = 'application/json, text/event-stream';

type Replica = 'A' | 'B';
interface Routed {
  replica: Replica;
  method: string;
  rpc?: string;
  status: number;
}

/** Sends each POST to the next replica in turn (or as `plan` says), every GET to `sse`. */
class RoundRobin {
  readonly log: Routed[] = [];
  private turn = 0;
  private planned: Replica[] = [];
  sse: Replica = 'B';

  constructor(private readonly base: Record<Replica, string>) {}

  /** The replicas the next POSTs go to, in order; then they alternate again. */
  plan(...replicas: Replica[]): void {
    this.planned.push(...replicas);
  }

  readonly fetch: FetchLike = async (url, init) => {
    const method = init?.method ?? 'GET';
    const replica: Replica = method === 'GET' ? this.sse : (this.planned.shift() ?? (this.turn++ % 2 === 0 ? 'A' : 'B'));
    const target = new URL(url.toString());
    const to = new URL(this.base[replica]);
    target.host = to.host;
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string; result?: unknown }) : undefined;
    const entry: Routed = { replica, method, rpc: body?.method ?? (body && 'result' in body ? 'answer' : undefined), status: 0 };
    this.log.push(entry);
    const response = await fetch(target, init);
    entry.status = response.status;
    return response;
  };

  served(rpc: string): Replica[] {
    return this.log.filter((e) => e.rpc === rpc).map((e) => e.replica);
  }
}

let h: Harness;
let wardenB: Warden;
let idp: IdentityProvider;
const servers: Record<Replica, FastifyInstance> = {} as Record<Replica, FastifyInstance>;
const base: Record<Replica, string> = { A: '', B: '' };

async function listen(warden: Warden): Promise<FastifyInstance> {
  const app = await buildServer(warden, { logger: false }, [governanceModule, gatewayModule]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return app;
}
const urlOf = (app: FastifyInstance) => {
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
};

async function connect(agent: string, router: RoundRobin, options: { headers?: Record<string, string>; elicit?: (message: string) => void } = {}) {
  const client = new Client({ name: 'replica-test', version: '1' }, { capabilities: options.elicit ? { elicitation: {} } : {} });
  if (options.elicit) {
    const seen = options.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      seen(request.params.message);
      return { action: 'accept', content: { approve: true, reason: 'fine by me' } };
    });
  }
  const errors: Error[] = [];
  client.onerror = (e) => errors.push(e);
  const transport = new StreamableHTTPClientTransport(new URL(`${base.A}/mcp`), { fetch: router.fetch, requestInit: { headers: { authorization: `Bearer ${h.keys[agent]}`, ...options.headers } } });
  await client.connect(transport);
  return { client, transport, errors };
}

const text = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;

/** A raw JSON-RPC POST to one replica. */
async function post(replica: Replica, path: string, token: string, sessionId: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base[replica]}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': '2025-06-18', ...(sessionId ? { 'mcp-session-id': sessionId } : {}), ...headers },
    body: JSON.stringify(body),
  });
  const raw = await response.text();
  return { status: response.status, json: raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined, sessionId: response.headers.get('mcp-session-id') };
}
const LIST = { jsonrpc: '2.0', id: 9, method: 'tools/list' };
const INIT = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

async function until<T>(what: () => Promise<T | undefined> | T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await what();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  idp = await startIdentityProvider();
  h = await startHarness(
    `mcp: { session_secret: "\${secret:mcp_sessions}", approval_wait: 1s }\nauthentication: { user_jwt: { issuer: "${idp.issuer}", audience: warden, agent_claim: azp } }\n`,
  );
  writeFileSync(join(h.dir, 'secrets', 'mcp_sessions'), SECRET);
  wardenB = await createWarden({ config: join(h.dir, 'warden.yaml'), clock: () => h.clock.now });
  servers.A = await listen(h.warden);
  servers.B = await listen(wardenB);
  base.A = urlOf(servers.A);
  base.B = urlOf(servers.B);
}, 60_000);

afterAll(async () => {
  await servers.A?.close();
  await servers.B?.close();
  await wardenB?.close();
  await h?.close();
  await idp?.close();
});

describe('an MCP session across two replicas behind a round-robin balancer', () => {
  it('opens on A and goes on on B: listings and calls on both, one Warden session', async () => {
    const router = new RoundRobin(base);
    const { client, transport, errors } = await connect('support-agent', router);
    expect(router.log[0]).toMatchObject({ replica: 'A', rpc: 'initialize', status: 200 });
    expect(router.log[1]).toMatchObject({ replica: 'B', rpc: 'notifications/initialized', status: 202 });
    const sessionId = transport.sessionId!;
    expect(sessionId).toMatch(/^[\x21-\x7e]{40,200}$/);

    const first = await client.listTools();
    const second = await client.listTools();
    expect(router.served('tools/list')).toEqual(['A', 'B']);
    expect(second.tools.map((t) => t.name).sort()).toEqual(first.tools.map((t) => t.name).sort());
    expect(first.tools.map((t) => t.name)).toContain('read_orders');

    const onA = (await client.callTool({ name: 'read_orders', arguments: { limit: 1 } })) as CallToolResult;
    const onB = (await client.callTool({ name: 'read_orders', arguments: { limit: 2 } })) as CallToolResult;
    expect(router.served('tools/call')).toEqual(['A', 'B']);
    expect(onA.isError).toBeFalsy();
    expect(onB.isError).toBeFalsy();
    expect(transport.sessionId).toBe(sessionId);

    // Both replicas recorded their call in the same Warden session: the MCP session id.
    const records = await until(async () => {
      const found = (await h.warden.store.queryDecisions({ sessionId, tool: 'read_orders' })).filter((r) => r.kind === 'decision');
      return found.length >= 2 ? found : undefined;
    });
    expect(records.map((r) => r.effect)).toEqual(['allow', 'allow']);
    expect(records.every((r) => r.sessionId === sessionId)).toBe(true);

    // The SSE stream opened on B, for a session B never saw initialised.
    expect(router.log.find((e) => e.method === 'GET')).toMatchObject({ replica: 'B', status: 200 });
    await client.close();
    expect(errors).toEqual([]);
  });

  it('holds a call for approval on one replica; the retry on the other finds the same approval and runs it once', async () => {
    const router = new RoundRobin(base);
    const { client, transport } = await connect('refund-agent', router);
    const args = { order_id: 'ord-replica-1', amount: 250 };
    router.plan('A');
    const held = (await client.callTool({ name: 'issue_refund', arguments: args })) as CallToolResult;
    expect(held.isError).toBe(true);
    const approval = (held._meta?.['warden/approval'] as { id: string }).id;
    expect(text(held)).toContain(`Approval ${approval} is pending`);

    // A retry before anyone decided, on B: the same approval, not a second one.
    router.plan('B');
    const again = (await client.callTool({ name: 'issue_refund', arguments: args })) as CallToolResult;
    expect((again._meta?.['warden/approval'] as { id: string }).id).toBe(approval);
    expect((await h.warden.store.listApprovals({ status: 'pending' })).filter((a) => a.agentId === 'refund-agent' && a.tool === 'issue_refund')).toHaveLength(1);

    // Approved (and so executed) through replica B's Warden; the retries on B and on A get its result.
    const vote = await wardenB.approvals.approve(approval, { id: 'fiona', roles: ['finance_manager'], tenant: 'acme-corp' }, 'checked');
    expect(vote).toMatchObject({ ok: true });
    router.plan('B', 'A');
    const onB = (await client.callTool({ name: 'issue_refund', arguments: args, _meta: { 'warden/approval': approval } })) as CallToolResult;
    const onA = (await client.callTool({ name: 'issue_refund', arguments: args, _meta: { 'warden/approval': approval } })) as CallToolResult;
    expect(router.served('tools/call')).toEqual(['A', 'B', 'B', 'A']);
    expect(onB.isError, text(onB)).toBeFalsy();
    expect(text(onA)).toBe(text(onB));
    expect(h.tools.calls.filter((c) => c.tool === 'issue_refund' && (c.args as { order_id?: string }).order_id === 'ord-replica-1')).toHaveLength(1);

    // Every call and vote of the session was recorded under the one MCP session id (the budget's
    // scope), whichever replica made it. Whether the budget itself is shared is the store's business:
    // two SQLite processes buffer session writes; Postgres + Redis share them.
    const records = await h.warden.store.queryDecisions({ tool: 'issue_refund', agentId: 'refund-agent' });
    const inSessions = records.filter((r) => r.kind === 'decision' && r.sessionId !== undefined);
    expect(inSessions.length).toBeGreaterThanOrEqual(2);
    expect(new Set(inSessions.map((r) => r.sessionId))).toEqual(new Set([transport.sessionId]));
    await client.close();
  });

  it('refuses forged, tampered, expired and other callers’ session ids on every replica', async () => {
    const support = h.keys['support-agent']!;
    const refund = h.keys['refund-agent']!;
    // A session opened on A only: B has never held it.
    const opened = await post('A', '/mcp', support, undefined, INIT);
    expect(opened.status).toBe(200);
    const id = opened.sessionId!;
    for (const replica of ['B', 'A'] as const) expect((await post(replica, '/mcp', support, id, LIST)).json).toMatchObject({ id: 9, result: { tools: expect.any(Array) } });

    const notFound = { jsonrpc: '2.0', id: null, error: { code: -32001, message: expect.stringMatching(/^Session not found/) } };
    const tampered = id.slice(0, -1) + (id.endsWith('A') ? 'B' : 'A');
    const otherKey = new SessionIds(keyFromSecret(randomBytes(32).toString('hex')), '/mcp', 86_400_000, () => h.clock.now).issue('agent:support-agent', JSON.stringify(['', '']), '');
    const sameKeyOtherEndpoint = new SessionIds(keyFromSecret(SECRET), '/mcp/governance', 86_400_000, () => h.clock.now).issue('agent:support-agent', '', '');
    const [issued, nonce, caps, tag, mac] = id.split('.');
    const moved = [(parseInt(issued!, 36) + 1).toString(36), nonce, caps, tag, mac].join('.');
    for (const replica of ['A', 'B'] as const) {
      for (const forged of [tampered, otherKey, sameKeyOtherEndpoint, moved, '5f0c6a3e-0000-4000-8000-000000000000', `${id}x`]) {
        const answer = await post(replica, '/mcp', support, forged, LIST);
        expect(answer.status, `${replica} ${forged}`).toBe(404);
        expect(answer.json).toMatchObject(notFound);
      }
      // Another agent with a valid id of support-agent's, and the same agent naming another user.
      const hijack = await post(replica, '/mcp', refund, id, LIST);
      expect(hijack.status).toBe(403);
      expect(hijack.json?.detail).toMatch(/belongs to another caller/);
      expect((await post(replica, '/mcp', support, id, LIST, { 'x-warden-user': 'mallory' })).status).toBe(403);
      // The same id on the other MCP endpoint is no id there.
      expect((await post(replica, '/mcp/governance', h.keys['support-agent']!, id, LIST)).status).toBe(404);
    }

    // Expired: once older than mcp.session_max_age (24h) it is refused everywhere, held or not.
    const now = h.clock.now;
    h.clock.now = now + 25 * 3_600_000;
    try {
      for (const replica of ['A', 'B'] as const) {
        const expired = await post(replica, '/mcp', support, id, LIST);
        expect(expired.status).toBe(404);
        expect(expired.json).toMatchObject({ error: { code: -32001, message: expect.stringMatching(/^Session expired/) } });
      }
    } finally {
      h.clock.now = now;
    }

    // DELETE on B ends it there: B does not take it up again.
    const ended = await fetch(`${base.B}/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${support}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18', accept: ACCEPT } });
    expect(ended.status).toBe(200);
    expect((await post('B', '/mcp', support, id, LIST)).json).toMatchObject(notFound);
  });

  it('answers what cannot cross replicas with a clear error, never a hang: an elicitation answered on another replica', async () => {
    const token = await idp
      .token({ azp: 'support-agent', roles: ['support_lead'], tenant: 'acme-corp' })
      .setSubject('lena')
      .setAudience('warden')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(idp.key);
    const router = new RoundRobin(base);
    const asked: string[] = [];
    const { client, errors } = await connect('support-agent', router, { headers: { 'x-warden-user-token': token }, elicit: (m) => asked.push(m) });
    // The client's SSE stream is open on B.
    await until(() => (router.log.some((e) => e.method === 'GET' && e.status === 200) ? true : undefined));
    const ticket = (subject: string) => ({ name: 'create_support_ticket', arguments: { subject, priority: 'critical' } });

    // The call lands on A, which holds no stream to the client: it does not ask, it waits for an approver.
    router.plan('A');
    let started = Date.now();
    const onA = (await client.callTool(ticket('replica outage A'))) as CallToolResult;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(asked).toEqual([]);
    expect(onA.isError).toBe(true);
    expect(onA._meta?.['warden/approval']).toBeDefined();

    // The call lands on B, which asks through its stream; the answer goes to A, which refuses it
    // clearly, and B's call ends "pending" within mcp.approval_wait.
    router.plan('B', 'A');
    started = Date.now();
    const onB = (await client.callTool(ticket('replica outage B'))) as CallToolResult;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('create_support_ticket');
    expect(router.log.find((e) => e.rpc === 'answer')).toMatchObject({ replica: 'A', status: 409 });
    expect(errors.map((e) => e.message).join('\n')).toMatch(/another Warden replica/);
    expect(onB.isError).toBe(true);
    const approval = (onB._meta?.['warden/approval'] as { id: string }).id;

    // An approver elsewhere settles it; the retry (on either replica) gets the result.
    expect(await h.warden.approvals.approve(approval, { id: 'sol', roles: ['support_lead'], tenant: 'acme-corp' }, 'ok')).toMatchObject({ ok: true });
    const retried = (await client.callTool({ ...ticket('replica outage B'), _meta: { 'warden/approval': approval } })) as CallToolResult;
    expect(retried.isError).toBeFalsy();

    // A stray answer sent by hand gets the same clear refusal.
    const other = await post('A', '/mcp', h.keys['support-agent']!, undefined, INIT);
    const stray = await post('B', '/mcp', h.keys['support-agent']!, other.sessionId!, { jsonrpc: '2.0', id: 'someone-else.0', result: { action: 'accept' } });
    expect(stray.status).toBe(409);
    expect(stray.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/another Warden replica/) } });
    for (const a of await h.warden.store.listApprovals({ status: 'pending' })) await h.warden.approvals.deny(a.id, { id: 'sol', roles: ['support_lead', 'finance_manager'], tenant: 'acme-corp' }, 'test cleanup').catch(() => undefined);
    await client.close();
  }, 30_000);

  it('keeps each replica\'s caps: idle sessions make room and come back, busy ones are never evicted', async () => {
    const small = await buildServer(h.warden, { logger: false }, [createGatewayModule({ maxSessionsPerCaller: 2, idleTimeoutMs: 1_000 })]);
    await small.listen({ host: '127.0.0.1', port: 0 });
    const saved = base.A;
    base.A = urlOf(small);
    try {
      const support = h.keys['support-agent']!;
      const open = async (token: string) => {
        const answer = await post('A', '/mcp', token, undefined, INIT);
        return { status: answer.status, id: answer.sessionId ?? '', json: answer.json };
      };
      // A third session of one caller evicts the least recently used idle one from memory; its id
      // stays valid, so using it again takes it up again.
      const [s1, s2, s3] = [await open(support), await open(support), await open(support)];
      expect([s1.status, s2.status, s3.status]).toEqual([200, 200, 200]);
      for (const s of [s1, s2, s3, s1]) expect((await post('A', '/mcp', support, s.id, LIST)).status).toBe(200);

      // Two sessions busy with calls held for approval: a third cannot be opened until one is free.
      const refund = h.keys['refund-agent']!;
      const [r1, r2] = [await open(refund), await open(refund)];
      const held = [r1, r2].map((r, i) => post('A', '/mcp', refund, r.id, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'issue_refund', arguments: { order_id: `ord-busy-${i}`, amount: 250 } } }));
      await new Promise((r) => setTimeout(r, 300));
      const refused = await open(refund);
      expect(refused.status).toBe(503);
      expect(refused.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/Too many open sessions/) } });
      for (const answer of await Promise.all(held)) expect(answer.json).toMatchObject({ result: { _meta: { 'warden/decision': { status: 'pending_approval' } } } });
      expect((await open(refund)).status).toBe(200);

      // Past the idle timeout this replica has let the sessions go; they are taken up again on use.
      await new Promise((r) => setTimeout(r, 2_500));
      expect((await post('A', '/mcp', support, s3.id, LIST)).json).toMatchObject({ result: { tools: expect.any(Array) } });
      for (const a of await h.warden.store.listApprovals({ status: 'pending' })) await h.warden.approvals.deny(a.id, { id: 'fiona', roles: ['finance_manager', 'support_lead'], tenant: 'acme-corp' }, 'test cleanup');
    } finally {
      base.A = saved;
      await small.close();
    }
  }, 30_000);

  it('lets calls in flight finish when a replica stops, and the session goes on on another', async () => {
    const leaving = await buildServer(h.warden, { logger: false }, [gatewayModule]);
    await leaving.listen({ host: '127.0.0.1', port: 0 });
    const saved = base.A;
    base.A = urlOf(leaving);
    try {
      const refund = h.keys['refund-agent']!;
      const opened = await post('A', '/mcp', refund, undefined, INIT);
      const call = post('A', '/mcp', refund, opened.sessionId!, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'issue_refund', arguments: { order_id: 'ord-leaving', amount: 250 } } });
      await new Promise((r) => setTimeout(r, 200));
      const closing = leaving.close();
      // The held call waits out mcp.approval_wait and answers; only then does the replica stop.
      expect((await call).json).toMatchObject({ id: 1, result: { _meta: { 'warden/decision': { status: 'pending_approval' } } } });
      await closing;
      expect(leaving.server.listening).toBe(false);
      expect((await post('B', '/mcp', refund, opened.sessionId!, LIST)).json).toMatchObject({ result: { tools: expect.any(Array) } });
      for (const a of await h.warden.store.listApprovals({ status: 'pending' })) await h.warden.approvals.deny(a.id, { id: 'fiona', roles: ['finance_manager'], tenant: 'acme-corp' }, 'test cleanup');
    } finally {
      base.A = saved;
      await leaving.close().catch(() => undefined);
    }
  }, 30_000);
});

describe('session ids without a configured secret', () => {
  const ids = (key: Buffer) => new SessionIds(key, '/mcp', 86_400_000, () => 1_800_000_000_000);
  it('are valid only in the process that made them, unless its parent handed every worker one key', () => {
    const id = ids(processKey({})).issue('agent:a', '', '');
    expect(ids(processKey({})).check(id, 'agent:a', '')).toEqual({ ok: false, why: 'forged' });
    const handed = { [SESSION_KEY_ENV]: newSessionKeyHex() };
    const fromWorker1 = ids(processKey(handed)).issue('agent:a', '', 'f');
    expect(ids(processKey(handed)).check(fromWorker1, 'agent:a', '')).toEqual({ ok: true, issuedAt: 1_800_000_000_000, capabilities: 'f' });
    expect(ids(processKey(handed)).check(fromWorker1, 'agent:b', '')).toEqual({ ok: false, why: 'not-yours' });
    expect(() => processKey({ [SESSION_KEY_ENV]: 'not-hex' })).toThrow(/64 hex digits/);
  });
});
