import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, type RedisConnection } from '../../src/store/redis/connection.js';
import { RedisReplay } from '../../src/store/redis/replay.js';
import { teardown } from '../helpers/teardown.js';
import { SHARED_REDIS_URL, deletePrefix, plainClient, randomPrefix } from './redis-helpers.js';

const prefix = randomPrefix();
let connection: RedisConnection;
let replay: RedisReplay;
const others: Redis[] = [];

beforeAll(async () => {
  connection = await openRedis({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 2_000 });
  replay = new RedisReplay(connection.client, prefix);
});

afterAll(async () => {
  await teardown({
    'delete keys': () => deletePrefix(connection.client, prefix),
    'close clients': async () => {
      for (const c of others) c.disconnect();
    },
    'close connection': () => connection.close(),
  });
});

const T0 = 1_700_000_000_000;

describe('RedisReplay', () => {
  it('the store contract: once per agent within the window, by the caller’s clock', async () => {
    let now = T0;
    expect(await replay.rememberRequestId('a1', 'r1', now, T0 + 1000)).toBe(true);
    expect(await replay.rememberRequestId('a1', 'r1', now, T0 + 1000)).toBe(false);
    expect(await replay.rememberRequestId('a2', 'r1', now, T0 + 1000)).toBe(true);

    now = T0 + 999;
    expect(await replay.rememberRequestId('a1', 'r1', now, T0 + 2000)).toBe(false);
    now = T0 + 1000;
    expect(await replay.rememberRequestId('a1', 'r1', now, T0 + 2000)).toBe(true);
    // the replacement carries the new window
    now = T0 + 1500;
    expect(await replay.rememberRequestId('a1', 'r1', now, T0 + 3000)).toBe(false);
    // Redis expires the ids itself.
    expect(await replay.pruneRequestIds(T0 + 10_000)).toBe(0);
  });

  it('agent and request ids cannot be mixed up', async () => {
    expect(await replay.rememberRequestId('a:b', 'c', T0, T0 + 1000)).toBe(true);
    expect(await replay.rememberRequestId('a', 'b:c', T0, T0 + 1000)).toBe(true);
    expect(await replay.rememberRequestId('a:b', 'c', T0, T0 + 1000)).toBe(false);
  });

  it('an id offered to two replicas at once is accepted by exactly one', async () => {
    const clients = [plainClient(), plainClient()];
    others.push(...clients);
    const [left, right] = clients.map((c) => new RedisReplay(c, prefix)) as [RedisReplay, RedisReplay];
    const now = Date.now();
    const ids = Array.from({ length: 200 }, (_, i) => `race-${i}`);
    const answers = await Promise.all(ids.flatMap((id) => [left.rememberRequestId('agent', id, now, now + 60_000), right.rememberRequestId('agent', id, now, now + 60_000)]));
    for (let i = 0; i < ids.length; i++) expect([answers[2 * i], answers[2 * i + 1]].filter(Boolean)).toHaveLength(1);
    // And again, later, from either: still a replay.
    expect(await left.rememberRequestId('agent', 'race-7', now + 1000, now + 61_000)).toBe(false);
    expect(await right.rememberRequestId('agent', 'race-7', now + 1000, now + 61_000)).toBe(false);
  });

  it('accepted again once its window has passed, and Redis forgets it then', async () => {
    const client = plainClient();
    others.push(client);
    const other = new RedisReplay(client, prefix);
    const now = Date.now();
    expect(await replay.rememberRequestId('agent', 'short', now, now + 200)).toBe(true);
    expect(await other.rememberRequestId('agent', 'short', now + 50, now + 250)).toBe(false);
    const key = `${prefix}rid:5:agent:short`;
    const ttl = await connection.client.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(200);
    await sleep(350);
    expect(await connection.client.exists(key)).toBe(0);
    const later = Date.now();
    expect(await other.rememberRequestId('agent', 'short', later, later + 200)).toBe(true);
    expect(await replay.rememberRequestId('agent', 'short', later, later + 200)).toBe(false);
    // A window that has already passed is accepted and leaves nothing behind.
    expect(await replay.rememberRequestId('agent', 'past', later, later - 1)).toBe(true);
    expect(await connection.client.exists(`${prefix}rid:5:agent:past`)).toBe(0);
  });
});
