/**
 * The scale tests' own machinery, checked on its own so that a failure of the replica tests points
 * at Warden, not at the proxy or the private servers: the round-robin proxy (retry on a refused
 * connection, streamed SSE), a replica killed with -9 and restarted, a private Redis and a private
 * PostgreSQL stopped and started again.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { http, openEventStream, startCluster, startPrivatePostgres, startPrivateRedis, startProxy, type Cluster } from './cluster.js';

describe('round-robin proxy', () => {
  it('spreads requests, skips a backend that refuses connections, marks its own errors', async () => {
    const backends = await Promise.all(
      [0, 1].map(
        (n) =>
          new Promise<{ url: string; close(): void }>((resolve) => {
            const s = createServer((req, res) => {
              if (req.url === '/sse') {
                res.writeHead(200, { 'content-type': 'text/event-stream' });
                res.write(`id: 1\nevent: decision\ndata: {"from":${n}}\n\n`);
                return; // left open: the client must see the event before the end
              }
              res.end(JSON.stringify({ from: n }));
            });
            s.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => (s.closeAllConnections(), s.close()) }));
          }),
      ),
    );
    const list: Array<string | undefined> = [backends[0]!.url, backends[1]!.url, 'http://127.0.0.1:1'];
    const proxy = await startProxy(() => list);
    try {
      const froms: number[] = [];
      for (let i = 0; i < 6; i++) froms.push(((await http('GET', `${proxy.url}/x`, undefined)).body as { from: number }).from);
      // Backend 2 refuses connections: its turns go to the next one, nothing is lost.
      expect(froms.sort()).toEqual([0, 0, 0, 0, 1, 1]);
      const pinned = await http('GET', `${proxy.url}/x`, undefined, undefined, { headers: { 'x-backend': '1' } });
      expect(pinned.body).toEqual({ from: 1 });
      expect(pinned.headers.get('x-backend')).toBe('1');
      const sse = openEventStream(`${proxy.url}/sse`, 'token');
      expect(await sse.opened).toBe(200);
      const e = await sse.waitFor(() => true, 5_000);
      expect(JSON.parse(e.data)).toHaveProperty('from');
      sse.close();
      list.splice(0, 3, undefined, undefined, undefined);
      const none = await http('GET', `${proxy.url}/x`, undefined);
      expect(none.status).toBe(502);
      expect(none.headers.get('x-proxy-error')).toBe('1');
    } finally {
      await proxy.close();
      for (const b of backends) b.close();
    }
  });
});

describe('a replica of warden serve (SQLite)', () => {
  let cluster: Cluster | undefined;
  afterAll(async () => cluster?.close());

  it('starts, answers through the proxy, dies with -9 and comes back', async () => {
    cluster = await startCluster({ replicas: 1, redisUrl: false });
    const call = () =>
      http('POST', `${cluster!.url}/v1/tools/call`, cluster!.credentials.keys['support-agent'], { agent_id: 'support-agent', request_id: `h-${Math.random()}`, tool: 'read_orders', arguments: { limit: 5 } });
    expect((await call()).status).toBe(200);
    await cluster.kill9(0);
    expect(cluster.replicas[0]!.alive()).toBe(false);
    expect((await call()).status).toBe(502);
    await cluster.restart(0);
    const again = await call();
    expect(again.status).toBe(200);
    expect(again.headers.get('x-backend')).toBe('0');
  });
});

describe('private servers', () => {
  it('a private Redis is killed and started again on the same port', async () => {
    const redis = await startPrivateRedis();
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    try {
      await client.set('k', 'v');
      expect(await client.get('k')).toBe('v');
      await redis.kill();
      await expect(client.get('k')).rejects.toThrow();
      await redis.start();
      // No persistence: a new, empty server.
      await expect.poll(async () => client.get('k').catch(() => 'error'), { timeout: 10_000 }).toBeNull();
    } finally {
      client.disconnect();
      await redis.close();
    }
  });

  it('a private PostgreSQL is stopped and started again, its data kept', async () => {
    const server = await startPrivatePostgres();
    try {
      const q = async (sql: string) => {
        const c = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2_000 });
        await c.connect();
        try {
          return (await c.query(sql)).rows;
        } finally {
          await c.end();
        }
      };
      await q('CREATE TABLE t (x int); INSERT INTO t VALUES (7)');
      await server.stop();
      await expect(q('SELECT 1')).rejects.toThrow();
      await server.start();
      expect(await q('SELECT x FROM t')).toEqual([{ x: 7 }]);
    } finally {
      await server.close();
    }
  }, 60_000);
});
