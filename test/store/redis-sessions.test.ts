import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, type RedisConnection } from '../../src/store/redis/connection.js';
import { RedisSessions } from '../../src/store/redis/sessions.js';
import type { SessionRecord } from '../../src/store/records.js';
import { teardown } from '../helpers/teardown.js';
import { SHARED_REDIS_URL, deletePrefix, plainClient, randomPrefix } from './redis-helpers.js';

const prefix = randomPrefix();
let connection: RedisConnection;
let sessions: RedisSessions;
const others: Redis[] = [];

beforeAll(async () => {
  connection = await openRedis({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 2_000 });
  sessions = new RedisSessions(connection.client, prefix);
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

function session(id: string, callsUsed = 0): SessionRecord {
  return {
    id,
    tenant: 'acme-corp',
    callsUsed,
    spend: 12.75,
    tainted: true,
    recent: [{ tool: 'search_kb', effect: 'allow', at: '2024-01-01T00:00:00Z' }],
    flow: { taint: ['h1'], untrusted: ['prompt'], privateReads: [], tools: ['search_kb'], denials: [] },
    updatedAt: T0,
  };
}

describe('RedisSessions', () => {
  it('reads back what it wrote, with a version bumped by every write', async () => {
    expect(await sessions.getSession('acme-corp', 's-none')).toBeUndefined();
    const s = session('s-1', 3);
    await sessions.putSession(s);
    expect(await sessions.getSession('acme-corp', 's-1')).toStrictEqual({ ...s, version: 1 });
    // The version a caller sets is not what is stored: the store keeps count.
    await sessions.putSession({ ...s, callsUsed: 4, version: 77 });
    expect(await sessions.getSession('acme-corp', 's-1')).toStrictEqual({ ...s, callsUsed: 4, version: 2 });
  });

  it('compare-and-set: writes only over the version read', async () => {
    const s = session('s-cas');
    expect(await sessions.putSessionIf({ ...s, version: 1 }, undefined)).toBe(true);
    // It exists now: "must not exist" fails.
    expect(await sessions.putSessionIf({ ...s, callsUsed: 9, version: 1 }, undefined)).toBe(false);
    const read = await sessions.getSession('acme-corp', 's-cas');
    expect(read?.version).toBe(1);
    expect(await sessions.putSessionIf({ ...s, callsUsed: 1, version: 2 }, 1)).toBe(true);
    // A writer still at version 1 lost.
    expect(await sessions.putSessionIf({ ...s, callsUsed: 5, version: 2 }, 1)).toBe(false);
    expect(await sessions.getSession('acme-corp', 's-cas')).toMatchObject({ callsUsed: 1, version: 2 });
    // A version that never was, and a session that does not exist.
    expect(await sessions.putSessionIf({ ...s, version: 100 }, 99)).toBe(false);
    expect(await sessions.putSessionIf(session('s-missing'), 3)).toBe(false);
    expect(await sessions.getSession('acme-corp', 's-missing')).toBeUndefined();
  });

  it('two writers racing 200 increments (read, putSessionIf, retry) lose none', async () => {
    const clients = [plainClient(), plainClient()];
    others.push(...clients);
    const writers = clients.map((c) => new RedisSessions(c, prefix));
    let conflicts = 0;
    const increment = async (store: RedisSessions) => {
      for (;;) {
        const current = await store.getSession('acme-corp', 's-race');
        const next: SessionRecord = current ? { ...current, callsUsed: current.callsUsed + 1, version: (current.version ?? 0) + 1 } : { ...session('s-race', 1), version: 1 };
        if (await store.putSessionIf(next, current?.version)) return;
        conflicts += 1;
      }
    };
    // Each writer runs 10 increments at a time, 100 in all.
    const writer = async (store: RedisSessions) => {
      for (let batch = 0; batch < 10; batch++) await Promise.all(Array.from({ length: 10 }, () => increment(store)));
    };
    await Promise.all(writers.map(writer));
    const final = await sessions.getSession('acme-corp', 's-race');
    expect(final?.callsUsed).toBe(200);
    expect(final?.version).toBe(200);
    // The race was real.
    expect(conflicts).toBeGreaterThan(0);
  });

  it('a session not written for the idle TTL expires; each write starts the TTL afresh', async () => {
    const short = new RedisSessions(connection.client, prefix, { idleTtlMs: 1_000 });
    await short.putSession(session('s-idle'));
    await sleep(600);
    expect(await short.putSessionIf(session('s-idle', 1), 1)).toBe(true);
    await sleep(600);
    // 1.2 s after the first write, 0.6 s after the second: still there.
    expect(await short.getSession('acme-corp', 's-idle')).toMatchObject({ callsUsed: 1, version: 2 });
    const ttl = await connection.client.pttl(`${prefix}session:9:acme-corp:s-idle`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_000);
    await sleep(1_200);
    expect(await short.getSession('acme-corp', 's-idle')).toBeUndefined();
    // Gone: a writer that read it earlier cannot write over nothing.
    expect(await short.putSessionIf(session('s-idle', 2), 2)).toBe(false);

    // The default TTL is a day.
    await sessions.putSession(session('s-day'));
    const dayTtl = await connection.client.pttl(`${prefix}session:9:acme-corp:s-day`);
    expect(dayTtl).toBeGreaterThan(23 * 3_600_000);
    expect(dayTtl).toBeLessThanOrEqual(24 * 3_600_000);
  });
});
