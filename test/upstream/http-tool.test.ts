import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTool, type HttpToolTarget } from '../../src/upstream/http-tool.js';
import { EnvSecretProvider, FileSecretProvider, SecretResolver } from '../../src/upstream/secrets.js';

/**
 * The HTTP tool executor against a real tool server: what it sends, what it makes of each kind of
 * answer, its deadline, its size limit, secrets (resolved, masked, rotated) and connection reuse.
 */
let server: Server;
let base: string;
const connections = new Set<unknown>();
let connectionCount = 0;
const seen: { url: string; method: string; headers: IncomingMessage['headers']; body: string }[] = [];

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

const routes: Record<string, (req: IncomingMessage, res: ServerResponse, text: string) => void> = {
  '/json': (_req, res, text) => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ got: JSON.parse(text || 'null') })),
  '/text': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('plain ✓ text'),
  '/echo-auth': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ authorization: req.headers.authorization, url: req.url })),
  '/status': (_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}'),
  '/bad-json': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{not json'),
  '/declared-large': (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' }).end('x'.repeat(5000)),
  '/streamed-large': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length declared
    let n = 0;
    const next = () => (n++ < 10 ? res.write('y'.repeat(300), next) : res.end());
    next();
  },
  // Headers at once, then a byte every 60 ms for ~3 s: no idle timeout ever trips, only the deadline.
  '/drip': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const timer = setInterval(() => (n++ < 50 ? res.write('.') : (clearInterval(timer), res.end())), 60);
    res.on('close', () => clearInterval(timer));
  },
  '/rotated-a': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"path":"a"}'),
  '/rotated-b': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"path":"b"}'),
};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const text = await body(req);
    seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers, body: text });
    const route = routes[(req.url ?? '').split('?')[0]!];
    if (route) route(req, res, text);
    else res.writeHead(404).end();
  });
  server.on('connection', (socket) => {
    connectionCount++;
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const noSecrets = new SecretResolver([]);
const target = (path: string, extra: Partial<HttpToolTarget> = {}): HttpToolTarget => ({ tool: 't', url: `${base}${path}`, method: 'POST', headers: {}, timeoutMs: 5_000, maxResponseBytes: 1_000, ...extra });
const call = { args: { limit: 10 }, requestId: 'r-1', agentId: 'agent-1' };

describe('HttpTool', () => {
  it('sends the arguments as JSON with Warden headers, and parses a JSON answer', async () => {
    const tool = new HttpTool(target('/json', { headers: { 'X-Custom': 'v' } }), noSecrets);
    const result = await tool.call({ ...call, requestId: 'réq-1', traceId: 'a'.repeat(32), idempotencyKey: 'key-1' });
    expect(result).toEqual({ ok: true, status: 200, result: { got: { limit: 10 } } });
    const sent = seen.at(-1)!;
    expect(sent.method).toBe('POST');
    expect(sent.headers['x-custom']).toBe('v');
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.headers['x-warden-request-id']).toBe(encodeURIComponent('réq-1'));
    expect(sent.headers['x-warden-agent']).toBe('agent-1');
    expect(sent.headers['idempotency-key']).toBe('key-1');
    expect(sent.headers.traceparent).toMatch(new RegExp(`^00-${'a'.repeat(32)}-[0-9a-f]{16}-01$`));
  });

  it('sends GET arguments as the query', async () => {
    const result = await new HttpTool(target('/json?x=1', { method: 'GET' }), noSecrets).call({ ...call, args: { q: 'a b', n: 2 } });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(seen.at(-1)!.url).toBe('/json?x=1&q=a+b&n=2');
  });

  it('answers text as a string, a failing status and invalid JSON as errors', async () => {
    expect(await new HttpTool(target('/text'), noSecrets).call(call)).toEqual({ ok: true, status: 200, result: 'plain ✓ text' });
    expect(await new HttpTool(target('/status'), noSecrets).call(call)).toEqual({ ok: false, kind: 'status', status: 503, message: 'the tool answered HTTP 503' });
    expect(await new HttpTool(target('/bad-json'), noSecrets).call(call)).toEqual({ ok: false, kind: 'status', status: 200, message: 'the tool answered invalid JSON' });
  });

  it('refuses an answer over the size limit, declared or streamed, and the next call still works', async () => {
    const tooLarge = { ok: false, kind: 'too_large', message: "the tool's response exceeded 1000 bytes" };
    expect(await new HttpTool(target('/declared-large'), noSecrets).call(call)).toEqual(tooLarge);
    expect(await new HttpTool(target('/streamed-large'), noSecrets).call(call)).toEqual(tooLarge);
    expect(await new HttpTool(target('/json'), noSecrets).call(call)).toMatchObject({ ok: true, status: 200 });
  });

  it('ends a call at its deadline even when the tool keeps dripping its answer', async () => {
    // undici's header and body timeouts are idle timeouts: only the call's own deadline ends this.
    const result = await new HttpTool(target('/drip', { timeoutMs: 400 }), noSecrets).call(call);
    expect(result).toEqual({ ok: false, kind: 'timeout', message: 'the tool did not answer within 400 ms' });
  });

  it('resolves secrets in the URL and headers, and masks them in what comes back', async () => {
    process.env.WARDEN_TEST_HTTPTOOL_TOKEN = 'tok-0123456789';
    try {
      const secrets = new SecretResolver([new EnvSecretProvider('WARDEN_TEST_HTTPTOOL_')]);
      const tool = new HttpTool(target('/echo-auth?k=${secret:token}', { headers: { Authorization: 'Bearer ${secret:token}' } }), secrets);
      // The first call reads the secret, the second takes it from the cache: both the same.
      for (let i = 0; i < 2; i++) {
        expect(await tool.call(call)).toEqual({ ok: true, status: 200, result: { authorization: 'Bearer [REDACTED:secret]', url: '/echo-auth?k=[REDACTED:secret]' } });
        expect(seen.at(-1)!.headers.authorization).toBe('Bearer tok-0123456789');
      }
    } finally {
      delete process.env.WARDEN_TEST_HTTPTOOL_TOKEN;
    }
  });

  it('follows a rotated secret in the URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-httptool-'));
    writeFileSync(join(dir, 'path'), 'rotated-a\n');
    const secrets = new SecretResolver([new FileSecretProvider(dir)], 0); // no cache: every call reads the file
    const tool = new HttpTool(target('/${secret:path}'), secrets);
    expect(await tool.call(call)).toEqual({ ok: true, status: 200, result: { path: 'a' } });
    writeFileSync(join(dir, 'path'), 'rotated-b\n');
    expect(await tool.call(call)).toEqual({ ok: true, status: 200, result: { path: 'b' } });
  });

  it('reuses keep-alive connections: 20 sequential calls open at most two', async () => {
    const agent = new Agent(); // its own pool, so earlier tests' connections do not count
    try {
      const before = connectionCount;
      const tool = new HttpTool(target('/json'), noSecrets, agent);
      for (let i = 0; i < 20; i++) expect(await tool.call(call)).toMatchObject({ ok: true });
      // undici opens a second connection for the second call (its first is not yet free), then reuses them.
      expect(connectionCount - before).toBeLessThanOrEqual(2);
    } finally {
      await agent.close();
    }
  });
});

describe('SecretResolver.interpolateCached', () => {
  it('answers only from the cache, and the same text as interpolate', async () => {
    process.env.WARDEN_TEST_CACHED_KEY = 'value-42';
    try {
      const secrets = new SecretResolver([new EnvSecretProvider('WARDEN_TEST_CACHED_')]);
      expect(secrets.interpolateCached('no secret here')).toBe('no secret here');
      expect(secrets.interpolateCached('Bearer ${secret:key}')).toBeUndefined();
      const used = new Set<string>();
      expect(await secrets.interpolate('Bearer ${secret:key}', used)).toBe('Bearer value-42');
      const usedCached = new Set<string>();
      expect(secrets.interpolateCached('Bearer ${secret:key}!', usedCached)).toBe('Bearer value-42!');
      expect([...usedCached]).toEqual([...used]);
    } finally {
      delete process.env.WARDEN_TEST_CACHED_KEY;
    }
  });
});
