import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gatewayModule } from '../../src/surfaces/http/mcp/gateway-http.js';
import { leanRequest } from '../../src/surfaces/http/mcp/lean-answers.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { startHarness, type Harness } from '../pipeline/harness.js';

/**
 * The gateway's /mcp answers the common POST (one request on an open session, no progress, a
 * client that cannot be asked anything) in JSON straight from the session's server, past the
 * SDK's HTTP transport (src/surfaces/http/mcp/lean-answers.ts). What a client sees must not change:
 * these tests drive raw HTTP and the official SDK client and count which path answered.
 */
const ACCEPT = 'application/json, text/event-stream';
const VERSION = '2025-06-18';
const EXTRA = `
server: { watch_policies: false }
mcp: { approval_wait: 20s }
`;

let h: Harness;
let app: FastifyInstance;
let base: string;
/** How many POSTs the SDK's HTTP transport handled (the SDK client's GET stream is its own). */
const handled = { count: 0 };
const sdkHandleRequest = WebStandardStreamableHTTPServerTransport.prototype.handleRequest;

beforeAll(async () => {
  WebStandardStreamableHTTPServerTransport.prototype.handleRequest = function (this: WebStandardStreamableHTTPServerTransport, ...args) {
    if (args[0].method === 'POST') handled.count++;
    return sdkHandleRequest.apply(this, args);
  };
  h = await startHarness(EXTRA);
  app = await buildServer(h.warden, { logger: false }, [gatewayModule]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  WebStandardStreamableHTTPServerTransport.prototype.handleRequest = sdkHandleRequest;
  await app?.close();
  await h?.close();
});
beforeEach(() => {
  handled.count = 0;
});

async function post(agent: string, sessionId: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.keys[agent]}`, 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': VERSION, ...(sessionId ? { 'mcp-session-id': sessionId } : {}), ...headers },
    body: JSON.stringify(body),
  });
  const raw = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), session: response.headers.get('mcp-session-id'), raw, json: raw && response.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(raw) as Record<string, unknown>) : undefined };
}

async function open(agent: string): Promise<string> {
  const init = await post(agent, undefined, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  expect(init.status).toBe(200);
  const id = init.session!;
  expect((await post(agent, id, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
  return id;
}

describe('plain JSON answers past the SDK transport', () => {
  it('answers tools/list and tools/call in JSON with the session header, without the SDK transport', async () => {
    const session = await open('support-agent');
    handled.count = 0;
    const list = await post('support-agent', session, { jsonrpc: '2.0', id: 'l-1', method: 'tools/list' });
    expect(list).toMatchObject({ status: 200, type: 'application/json', session });
    expect(list.json).toMatchObject({ jsonrpc: '2.0', id: 'l-1' });
    expect(((list.json!.result as { tools: { name: string }[] }).tools.map((t) => t.name))).toContain('echo_request');
    const call = await post('support-agent', session, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo_request', arguments: { q: 'hi' } } });
    expect(call).toMatchObject({ status: 200, type: 'application/json', session });
    const result = call.json!.result as CallToolResult;
    expect(call.json!.id).toBe(7);
    expect(result.isError).toBeFalsy();
    expect(result._meta?.['warden/decision']).toMatchObject({ effect: 'allow', status: 'executed' });
    // Neither request went through the SDK's HTTP transport.
    expect(handled.count).toBe(0);
  });

  it('leaves to the SDK what it answers differently: progress, bad headers, malformed messages, notifications', async () => {
    const session = await open('support-agent');
    handled.count = 0;
    const progress = await post('support-agent', session, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo_request', arguments: {}, _meta: { progressToken: 'p' } } });
    expect(progress.status).toBe(200);
    expect(progress.type).toBe('text/event-stream');
    const version = await post('support-agent', session, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-protocol-version': '1999-01-01' });
    expect(version.status).toBe(400);
    expect(version.raw).toContain('Unsupported protocol version');
    const notAccepted = await post('support-agent', session, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { accept: 'application/json' });
    expect(notAccepted.status).toBe(406);
    const notJson = await post('support-agent', session, { jsonrpc: '2.0', id: 5, method: 'tools/list' }, { 'content-type': 'text/plain; x=application/json' });
    expect(notJson.status).toBe(415);
    const extraKey = await post('support-agent', session, { jsonrpc: '2.0', id: 4, method: 'tools/list', extra: true });
    expect(extraKey.status).toBe(400);
    expect(extraKey.json).toMatchObject({ error: { code: -32700 } });
    const ping = await post('support-agent', session, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
    expect(ping.status).toBe(202);
    expect(handled.count).toBe(6);
  });

  it('ends the POST of a cancelled request with 202, and of one in flight when the session is deleted with 503', async () => {
    const session = await open('refund-agent');
    // Held for approval (amount over 100): the gateway keeps the call open for mcp.approval_wait.
    const held = (id: number, order: string) => post('refund-agent', session, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'issue_refund', arguments: { order_id: order, amount: 250 } } });
    const first = held(11, 'o-lean-1');
    await until(async () => (await h.warden.store.listApprovals({ status: 'pending' })).some((a) => JSON.stringify(a).includes('o-lean-1')));
    expect((await post('refund-agent', session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 11, reason: 'changed my mind' } })).status).toBe(202);
    expect(await first).toMatchObject({ status: 202, raw: '' });

    const second = held(12, 'o-lean-2');
    await until(async () => (await h.warden.store.listApprovals({ status: 'pending' })).some((a) => JSON.stringify(a).includes('o-lean-2')));
    const deleted = await fetch(`${base}/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${h.keys['refund-agent']}`, 'mcp-session-id': session, 'mcp-protocol-version': VERSION } });
    expect(deleted.status).toBe(200);
    const answer = await second;
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ error: { code: -32000 } });
  });

  it('serves the official SDK client, whose calls all take the lean path', async () => {
    const client = new Client({ name: 'sdk', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${h.keys['support-agent']}` } } }));
    try {
      handled.count = 0;
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => client.callTool({ name: 'echo_request', arguments: { n: i } }) as Promise<CallToolResult>));
      for (const [i, r] of results.entries()) expect((r.structuredContent as { args: { n: number } }).args.n).toBe(i);
      expect(handled.count).toBe(0);
    } finally {
      await client.close();
    }
  });
});

describe('leanRequest', () => {
  it('takes only requests the SDK schema accepts as they are, without progress or task metadata', () => {
    expect(leanRequest({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).toBeDefined();
    expect(leanRequest({ jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'x', _meta: { 'warden/context': {} } } })).toBeDefined();
    for (const body of [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 1.5, method: 'tools/list' },
      { jsonrpc: '2.0', id: null, method: 'tools/list' },
      { jsonrpc: '1.0', id: 1, method: 'tools/list' },
      { jsonrpc: '2.0', id: 1, method: 'tools/list', more: 1 },
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: [] },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 1 } } },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } } },
      { jsonrpc: '2.0', id: 1, result: {} },
      [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }],
    ]) {
      expect(leanRequest(body)).toBeUndefined();
    }
  });
});

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
