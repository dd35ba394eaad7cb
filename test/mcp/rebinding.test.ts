import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayModule } from '../../src/surfaces/http/mcp/gateway-http.js';
import { governanceModule } from '../../src/surfaces/http/mcp/governance-http.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { startHarness, type Harness } from '../pipeline/harness.js';

/**
 * DNS rebinding: a page of evil.example re-resolves its name to 127.0.0.1 and makes the browser
 * call Warden's MCP endpoints. Those requests carry the page's Host and Origin — refused. Clients
 * that are not browsers (no Origin, their real Host) go on as before.
 */
let h: Harness;
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  h = await startHarness('mcp: { allowed_hosts: [warden.internal], allowed_origins: ["https://console.example.com"] }\n');
  app = await buildServer(h.warden, { logger: false }, [gatewayModule, governanceModule]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await app.close();
  await h.close();
});

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

/** A raw POST (fetch would not let the test choose the Host header). */
function post(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          authorization: `Bearer ${h.keys['support-agent']}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(INIT);
  });
}

describe('DNS-rebinding protection of /mcp and /mcp/governance', () => {
  it('answers clients that name this server, with no Origin or their own', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `warden.internal:${port}`]) {
      expect((await post('/mcp', { host })).status, host).toBe(200);
    }
    expect((await post('/mcp', { host: `localhost:${port}`, origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await post('/mcp', { host: `127.0.0.1:${port}`, origin: 'https://console.example.com' })).status).toBe(200);
  });

  it("refuses a request naming another site's host, or sent from another site's page", async () => {
    for (const path of ['/mcp', '/mcp/governance']) {
      const rebound = await post(path, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` });
      expect(rebound.status).toBe(403);
      expect(JSON.parse(rebound.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringContaining('Host "evil.example') } });
      const crossSite = await post(path, { host: `127.0.0.1:${port}`, origin: 'https://evil.example' });
      expect(crossSite.status).toBe(403);
      expect(JSON.parse(crossSite.body).error.message).toContain('Origin "https://evil.example" may not call this endpoint');
      expect((await post(path, { host: `127.0.0.1:${port}`, origin: 'null' })).status).toBe(403);
    }
  });
});
