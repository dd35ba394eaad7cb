/**
 * Slow and idle connections are closed (server.headers_timeout, request_timeout,
 * keep_alive_timeout), the gateway stays up, and long-lived responses (the decision event stream)
 * are not cut by the request timeout. Raw sockets on 127.0.0.1 against the real server.
 */
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

const VIEWER = 'viewer-token-for-timeouts-0123';
let h: Harness;
let app: FastifyInstance;
let port: number;
let base: string;

beforeAll(async () => {
  h = await startHarness(
    `server: { watch_policies: false, headers_timeout: 1s, request_timeout: 2s, keep_alive_timeout: 1s }
humans: { tokens: [{ id: vic, token_hash: "${sha256(VIEWER)}", roles: [viewer], tenant: acme-corp }] }`,
    { realClock: true },
  );
  app = await buildServer(h.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw connection that records what the server sent and whether it closed the connection. */
async function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  socket.on('data', (chunk) => (data += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, closed };
}

/** Writes `piece` every 100 ms until the server closes the connection (or `max` writes). */
async function dribble(c: Awaited<ReturnType<typeof open>>, piece: string, max = 150): Promise<boolean> {
  let closed = false;
  void c.closed.then(() => (closed = true));
  for (let i = 0; i < max && !closed; i++) {
    if (!c.socket.destroyed) c.socket.write(piece);
    await sleep(100);
  }
  return closed;
}

const healthy = async () => (await fetch(`${base}/healthz`)).status;

describe('slow and idle clients', () => {
  it('closes a slow-loris connection that dribbles its headers, and keeps serving', async () => {
    const c = await open();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // One header line every 100 ms: the connection is never idle, the headers never end.
    expect(await dribble(c, 'X-Slow: 1\r\n')).toBe(true);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(await healthy()).toBe(200);
  });

  it('closes a connection that dribbles its body', async () => {
    const c = await open();
    c.socket.write(`POST /v1/tools/call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"agent_id":`);
    expect(await dribble(c, ' ')).toBe(true);
    expect(await healthy()).toBe(200);
  });

  it('closes an idle keep-alive connection after its response', async () => {
    const c = await open();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    await c.closed; // the test's own timeout bounds the wait
    expect(c.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(c.received()).toMatch(/keep-alive: timeout=1/i);
  });

  it('many slow-loris connections at once do not take the gateway down', async () => {
    const connections = await Promise.all(Array.from({ length: 50 }, () => open()));
    for (const c of connections) c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const results = await Promise.all(connections.map((c) => dribble(c, 'X-Slow: 1\r\n')));
    expect(results.every(Boolean)).toBe(true);
    expect(await healthy()).toBe(200);
  });
});

describe('long-lived responses are not cut', () => {
  it('the decision event stream outlives request_timeout and keeps delivering', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/v1/events/decisions`, { headers: { authorization: `Bearer ${VIEWER}` }, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before "${needle}" arrived; got: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil('retry:');
    // Well past request_timeout (2 s) and several of Node's timeout checks.
    await sleep(3_500);
    const call = await fetch(`${base}/v1/tools/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.keys['support-agent']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: { limit: 1 } }),
    });
    const { audit_id } = (await call.json()) as { audit_id: string };
    await readUntil(audit_id);
    controller.abort();
  });
});
