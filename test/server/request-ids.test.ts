/**
 * The request id and trace id of every API request, and the drain of keep-alive connections on
 * close: both run per request, so they were made cheap (a pooled random trace id, a getter for
 * `req.traceId` instead of a hook, one shared 'finish' listener); these pin what they must keep.
 */
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer, newTraceId, requestId, type RouteModule } from '../../src/surfaces/http/server.js';
import { startHarness, type Harness } from '../pipeline/harness.js';

const HEX32 = /^[0-9a-f]{32}$/;

describe('request ids', () => {
  it('takes the trace id of a valid traceparent, else makes a new 32-hex-digit one', () => {
    expect(requestId('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const bad of [undefined, '', 'garbage', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']]) {
      const id = requestId(bad);
      expect(id).toMatch(HEX32);
      expect(id).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    }
  });

  it('never repeats a trace id, across many refills of its random pool', () => {
    const ids = Array.from({ length: 5_000 }, newTraceId);
    for (const id of ids) expect(id).toMatch(HEX32);
    expect(new Set(ids).size).toBe(ids.length);
    // Every hex digit shows up in every position: the ids are random, not a counter or a constant.
    for (let i = 0; i < 32; i++) expect(new Set(ids.map((id) => id[i])).size).toBe(16);
  });
});

describe('req.traceId and the drain on close', () => {
  let h: Harness;
  let app: FastifyInstance;
  let base: string;
  let release: () => void = () => undefined;
  const probe: RouteModule = (api) => {
    api.get('/test/trace', { config: { auth: 'public' } }, async (req) => ({ id: req.id, traceId: req.traceId }));
    api.get('/test/trace-set', { config: { auth: 'public' } }, async (req) => {
      req.traceId = 'f'.repeat(32); // what a server span does (request-spans.ts)
      return { id: req.id, traceId: req.traceId };
    });
    api.get('/test/slow', { config: { auth: 'public' } }, () => new Promise((resolve) => (release = () => resolve({ slow: true }))));
  };
  beforeAll(async () => {
    h = await startHarness();
    app = await buildServer(h.warden, { logger: false }, [probe]);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  it('is the request id, the caller\'s trace id when it sent a traceparent, and what a span sets', async () => {
    const plain = (await (await fetch(`${base}/test/trace`)).json()) as { id: string; traceId: string };
    expect(plain.id).toMatch(HEX32);
    expect(plain.traceId).toBe(plain.id);
    const traced = (await (await fetch(`${base}/test/trace`, { headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } })).json()) as { id: string; traceId: string };
    expect(traced).toEqual({ id: '4bf92f3577b34da6a3ce929d0e0e4736', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    const set = (await (await fetch(`${base}/test/trace-set`)).json()) as { id: string; traceId: string };
    expect(set.traceId).toBe('f'.repeat(32));
    expect(set.id).not.toBe(set.traceId);
    // The next request on the same process is not affected by the last one's span.
    const next = (await (await fetch(`${base}/test/trace`)).json()) as { id: string; traceId: string };
    expect(next.traceId).toBe(next.id);
  });

  it('on close, ends a keep-alive connection once the response in flight on it is sent, and one idle after its response', async () => {
    const port = (app.server.address() as AddressInfo).port;
    const open = async (): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> => {
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      return { socket, received: () => text, closed };
    };
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`;
    const idle = await open();
    idle.socket.write(get('/test/trace'));
    const busy = await open();
    busy.socket.write(get('/test/slow'));
    const waitFor = async (test: () => boolean) => {
      for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await waitFor(() => idle.received().includes('traceId'));
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(idle.received().toLowerCase()).toContain('connection: keep-alive');
    const closing = app.close();
    await idle.closed; // ended at once: it has no request
    await new Promise((r) => setTimeout(r, 50));
    expect(busy.socket.destroyed).toBe(false); // its request is still being answered
    release();
    await busy.closed; // ended once its response went out, not after keep_alive_timeout
    expect(busy.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(busy.received()).toContain('"slow":true');
    await closing;
  }, 20_000);
});
