import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, type RedisConnection } from '../../src/store/redis/connection.js';
import { RedisUnavailableError } from '../../src/store/redis/errors.js';
import { RedisRateLimits } from '../../src/store/redis/rate-limits.js';
import { RedisReplicaBus } from '../../src/store/redis/replica-bus.js';
import { RedisReplay } from '../../src/store/redis/replay.js';
import { RedisSessions } from '../../src/store/redis/sessions.js';
import type { SessionRecord } from '../../src/store/records.js';
import { teardown } from '../helpers/teardown.js';
import { PrivateRedis, freePort, randomPrefix, within } from './redis-helpers.js';

/*
 * What happens when Redis goes away, on a redis-server of this test's own (never the shared one):
 * every operation fails quickly with an error (the caller denies), none hangs or queues, and once
 * Redis is back the same clients serve again by themselves.
 */

const prefix = randomPrefix();
let server: PrivateRedis;
let connection: RedisConnection | undefined;
let bus: RedisReplicaBus | undefined;
let listener: RedisReplicaBus | undefined;
let listenerConnection: RedisConnection | undefined;
const logged: Array<{ level: string; message: string }> = [];

/** Generous: what is asserted is that nothing hangs; the times themselves are printed. */
const BOUND_MS = 5_000;

beforeAll(async () => {
  server = new PrivateRedis(await freePort());
  await server.start();
});

afterAll(async () => {
  await teardown({
    'resume server': async () => server.signal('SIGCONT'),
    'close buses': async () => {
      await bus?.close();
      await listener?.close();
    },
    'close connections': async () => {
      await connection?.close();
      await listenerConnection?.close();
    },
    'kill server': () => server.kill(),
  });
});

const session = (id: string): SessionRecord => ({ id, tenant: 't', callsUsed: 1, spend: 0, tainted: false, recent: [], updatedAt: Date.now() });

/** Every operation of the Redis stores, each a fresh call. */
function operations(c: RedisConnection, b: RedisReplicaBus): Record<string, () => Promise<unknown>> {
  const limits = new RedisRateLimits(c.client, c.prefix);
  const replay = new RedisReplay(c.client, c.prefix);
  const sessions = new RedisSessions(c.client, c.prefix);
  let n = 0;
  return {
    slidingWindow: () => limits.slidingWindow('k', 100, 60_000, Date.now(), false),
    slidingWindowPeek: () => limits.slidingWindow('k', 100, 60_000, Date.now(), true),
    tokenBucket: () => limits.tokenBucket('k', 100, 60_000, Date.now(), false),
    rememberRequestId: () => replay.rememberRequestId('agent', `r${++n}-${Math.random()}`, Date.now(), Date.now() + 60_000),
    getSession: () => sessions.getSession(session('s').tenant, 's'),
    putSession: () => sessions.putSession(session('s')),
    putSessionIf: () => sessions.putSessionIf(session(`s-new-${Math.random()}`), undefined),
    publishReload: () => b.publishReload('test'),
    heartbeat: () => b.heartbeat({ id: b.replicaId, bundle: 'b', startedAt: 0, seenAt: Date.now() }),
    replicas: () => b.replicas(10_000),
  };
}

/** Runs each operation; returns how each ended and how long it took. */
async function runAll(ops: Record<string, () => Promise<unknown>>): Promise<Record<string, { error?: Error; ms: number }>> {
  const results: Record<string, { error?: Error; ms: number }> = {};
  for (const [name, op] of Object.entries(ops)) {
    const started = performance.now();
    try {
      await within(BOUND_MS, name, op());
      results[name] = { ms: performance.now() - started };
    } catch (error) {
      results[name] = { error: error as Error, ms: performance.now() - started };
    }
  }
  return results;
}

function expectAllFailedFast(results: Record<string, { error?: Error; ms: number }>, why: string): void {
  for (const [name, r] of Object.entries(results)) {
    expect(r.error, `${name} should fail (${why})`).toBeInstanceOf(RedisUnavailableError);
    expect(r.error?.message).not.toMatch(/did not settle/);
    expect(r.ms, `${name} took ${r.ms} ms`).toBeLessThan(BOUND_MS);
  }
  const slowest = Math.max(...Object.values(results).map((r) => r.ms));
  console.log(`${why}: every operation failed; slowest after ${slowest.toFixed(1)} ms (${Object.values(results)[0]?.error?.message})`);
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

describe('Redis failure', () => {
  it('opening fails at once with an error naming the URL (password hidden) when nothing listens', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(openRedis({ url: `redis://:hunter2@127.0.0.1:${port}`, prefix, commandTimeoutMs: 500 })).rejects.toThrow(
      new RegExp(`^Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} is not reachable`),
    );
    expect(Date.now() - started).toBeLessThan(BOUND_MS);
    await expect(openRedis({ url: `redis://:hunter2@127.0.0.1:${port}`, prefix, commandTimeoutMs: 500 })).rejects.not.toThrow(/hunter2/);
  });

  it('killed: every operation rejects quickly; restarted on the same port: the same clients serve again', async () => {
    connection = await openRedis({
      url: server.url,
      prefix,
      commandTimeoutMs: 500,
      maxReconnectDelayMs: 200,
      log: (level, message) => logged.push({ level, message }),
    });
    bus = await RedisReplicaBus.open(connection.client, prefix, { replicaId: 'main' });
    listenerConnection = await openRedis({ url: server.url, prefix, commandTimeoutMs: 500, maxReconnectDelayMs: 200 });
    listener = await RedisReplicaBus.open(listenerConnection.client, prefix, { replicaId: 'listener' });
    const heard: string[] = [];
    listener.onReload((why) => heard.push(why));
    const ops = operations(connection, bus);

    const healthy = await runAll(ops);
    for (const [name, r] of Object.entries(healthy)) expect(r.error, name).toBeUndefined();
    await eventually('a reload reaches the listener', async () => heard.includes('test'));

    // Calls in flight when Redis dies settle too (answered or failed), none is left waiting.
    const inFlight = Array.from({ length: 300 }, (_, i) => (i % 2 ? ops.tokenBucket!() : ops.rememberRequestId!()).then(
      () => 'ok',
      (error: Error) => (error instanceof RedisUnavailableError ? 'unavailable' : `other: ${error.message}`),
    ));
    await server.kill();
    const settled = await within(BOUND_MS, 'the calls in flight', Promise.all(inFlight));
    expect(settled.filter((s) => s !== 'ok' && s !== 'unavailable')).toEqual([]);
    console.log(`in flight when killed: ${settled.filter((s) => s === 'ok').length} answered, ${settled.filter((s) => s === 'unavailable').length} failed`);
    expectAllFailedFast(await runAll(ops), 'Redis killed');
    // Still down after several reconnection attempts: still fast, still failing.
    await sleep(1_500);
    expectAllFailedFast(await runAll(ops), 'Redis still down 1.5 s later');
    // The outage was logged, but not once per reconnection attempt.
    const errors = logged.filter((l) => l.level !== 'info');
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(2);
    expect(errors[0]!.message).toContain(`127.0.0.1:${server.port}`);

    await server.start();
    const back = await eventually('operations succeed again', async () => {
      await ops.slidingWindow!();
      return true;
    });
    console.log(`Redis restarted: the same client served again after ${back} ms`);
    // Every operation now, with scripts Redis forgot in its restart (EVALSHA falls back to EVAL).
    const after = await runAll(ops);
    for (const [name, r] of Object.entries(after)) expect(r.error, name).toBeUndefined();
    expect(logged.some((l) => l.level === 'info' && /reachable again/.test(l.message))).toBe(true);
    // The subscriber resubscribed by itself.
    heard.length = 0;
    await eventually('a reload reaches the listener after the restart', async () => {
      await bus!.publishReload('after restart');
      await sleep(50);
      return heard.includes('after restart');
    });
  }, 60_000);

  it('frozen (SIGSTOP, connection open but no answer): every operation times out with an error; resumed: served again', async () => {
    expect(connection, 'runs after the test above').toBeDefined();
    const ops = operations(connection!, bus!);
    server.signal('SIGSTOP');
    try {
      const results = await runAll(ops);
      expectAllFailedFast(results, 'Redis frozen');
      for (const r of Object.values(results)) expect(r.error?.message).toMatch(/no answer within redis.command_timeout/);
    } finally {
      server.signal('SIGCONT');
    }
    await eventually('operations succeed after SIGCONT', async () => {
      await ops.getSession!();
      return true;
    });
    const after = await runAll(ops);
    for (const [name, r] of Object.entries(after)) expect(r.error, name).toBeUndefined();
  }, 60_000);
});
