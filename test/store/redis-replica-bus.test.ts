import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { openRedis, type RedisConnection } from '../../src/store/redis/connection.js';
import { RedisReplicaBus } from '../../src/store/redis/replica-bus.js';
import { teardown } from '../helpers/teardown.js';
import { SHARED_REDIS_URL, deletePrefix, randomPrefix } from './redis-helpers.js';

const prefix = randomPrefix();
const connections: RedisConnection[] = [];
const buses: RedisReplicaBus[] = [];

afterAll(async () => {
  await teardown({
    'close buses': async () => {
      for (const b of buses) await b.close();
    },
    'delete keys': () => deletePrefix(connections[0]!.client, prefix),
    'close connections': async () => {
      for (const c of connections) await c.close();
    },
  });
});

/** A replica: its own connection and bus. */
async function replica(id: string, options: { clock?: () => number } = {}): Promise<RedisReplicaBus> {
  const connection = await openRedis({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 2_000 });
  connections.push(connection);
  const bus = await RedisReplicaBus.open(connection.client, prefix, { replicaId: id, ...options });
  buses.push(bus);
  return bus;
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('RedisReplicaBus', () => {
  it('a reload published by one replica reaches every replica, itself included', async () => {
    const a = await replica('r-a');
    const b = await replica('r-b');
    const c = await replica('r-c');
    const heard: Record<string, Array<[string, string]>> = { a: [], b: [], c: [] };
    a.onReload((why, from) => heard.a!.push([why, from]));
    b.onReload((why, from) => heard.b!.push([why, from]));
    c.onReload((why, from) => heard.c!.push([why, from]));
    // A listener that throws does not keep the others from hearing.
    b.onReload(() => {
      throw new Error('boom');
    });
    await a.publishReload('policies changed');
    await until(() => heard.a!.length === 1 && heard.b!.length === 1 && heard.c!.length === 1);
    expect(heard.b).toEqual([['policies changed', 'r-a']]);
    expect(heard.c).toEqual([['policies changed', 'r-a']]);
    expect(heard.a).toEqual([['policies changed', 'r-a']]);

    // Another deployment (another prefix) hears nothing of it.
    const elsewhere = randomPrefix();
    const otherConnection = await openRedis({ url: SHARED_REDIS_URL, prefix: elsewhere, commandTimeoutMs: 2_000 });
    connections.push(otherConnection);
    const other = await RedisReplicaBus.open(otherConnection.client, elsewhere, { replicaId: 'r-x' });
    buses.push(other);
    const otherHeard: string[] = [];
    other.onReload((why) => otherHeard.push(why));
    await b.publishReload('second');
    await until(() => heard.c!.length === 2);
    await sleep(50);
    expect(otherHeard).toEqual([]);
  });

  it('replicas() lists live replicas and drops one whose heartbeat is stale', async () => {
    let now = Date.now();
    const clock = () => now;
    const x = await replica('hb-x', { clock });
    const y = await replica('hb-y', { clock });
    const startedAt = now - 1_000;
    await x.heartbeat({ id: 'hb-x', bundle: 'sha256:aaa', startedAt, seenAt: now });
    await y.heartbeat({ id: 'hb-y', bundle: 'sha256:bbb', startedAt: startedAt + 1, seenAt: now });
    const listed = (await x.replicas(15_000)).filter((r) => r.id.startsWith('hb-'));
    expect(listed).toEqual([
      { id: 'hb-x', bundle: 'sha256:aaa', startedAt, seenAt: now },
      { id: 'hb-y', bundle: 'sha256:bbb', startedAt: startedAt + 1, seenAt: now },
    ]);

    // 20 s later only x beat again: y is stale (listed by neither), x is live.
    now += 20_000;
    await x.heartbeat({ id: 'hb-x', bundle: 'sha256:ccc', startedAt, seenAt: now });
    for (const bus of [x, y]) {
      expect((await bus.replicas(15_000)).filter((r) => r.id.startsWith('hb-'))).toEqual([{ id: 'hb-x', bundle: 'sha256:ccc', startedAt, seenAt: now }]);
    }
    // Stale is the reader's judgement: with a longer tolerance y is still there.
    expect((await x.replicas(60_000)).map((r) => r.id).filter((id) => id.startsWith('hb-'))).toEqual(['hb-x', 'hb-y']);

    // A replica gone for more than a day is deleted from the hash.
    now += 25 * 3_600_000;
    await x.heartbeat({ id: 'hb-x', bundle: 'sha256:ccc', startedAt, seenAt: now });
    await x.replicas(15_000);
    expect(await connections[0]!.client.hexists(`${prefix}replicas`, 'hb-y')).toBe(0);

    // A replica that closes leaves the list at once.
    await x.close();
    expect(await connections[0]!.client.hexists(`${prefix}replicas`, 'hb-x')).toBe(0);
  });
});
