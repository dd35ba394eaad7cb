/**
 * Session state that replicas share (Redis): two SessionState objects — two replicas, each with
 * its own lock and its own connection — change one session at once, and no change is lost:
 * the compare-and-set sends the loser back to read what the winner wrote.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { emptySession, SessionState } from '../../src/enforcement/session-state.js';
import { openRedis, type RedisConnection } from '../../src/store/redis/connection.js';
import { RedisSessions } from '../../src/store/redis/sessions.js';
import { teardown } from '../helpers/teardown.js';
import { deletePrefix, randomPrefix, SHARED_REDIS_URL } from '../store/redis-helpers.js';

const prefix = randomPrefix();
const connections: RedisConnection[] = [];

beforeAll(async () => {
  for (let i = 0; i < 2; i++) connections.push(await openRedis({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 2_000 }));
});
afterAll(() =>
  teardown({
    'delete keys': () => deletePrefix(connections[0]!.client, prefix),
    close: () => Promise.all(connections.map((c) => c.close())),
  }),
);

it('two replicas charging one session 150 times each count 300 calls and the exact spend', async () => {
  const [a, b] = connections.map((c) => new SessionState(new RedisSessions(c.client, prefix)));
  const charge = (state: SessionState, i: number) =>
    state.update('acme-corp', 'sess-shared', (current) => {
      const s = current ?? emptySession('sess-shared', 'acme-corp', 0);
      return { next: { ...s, callsUsed: s.callsUsed + 1, spend: s.spend + 2, updatedAt: i }, value: undefined };
    });
  await Promise.all(Array.from({ length: 150 }, (_, i) => [charge(a!, i), charge(b!, i)]).flat());
  const stored = await a!.read('acme-corp', 'sess-shared');
  expect(stored?.callsUsed).toBe(300);
  expect(stored?.spend).toBe(600);
  expect(stored?.version).toBe(300);
});

it('a refusal inside the change writes nothing, on the replica that refused', async () => {
  const [a] = connections.map((c) => new SessionState(new RedisSessions(c.client, prefix)));
  await a!.update('acme-corp', 'sess-refuse', () => ({ next: emptySession('sess-refuse', 'acme-corp', 0), value: undefined }));
  await expect(
    a!.update('acme-corp', 'sess-refuse', () => {
      throw new Error('budget exhausted');
    }),
  ).rejects.toThrow('budget exhausted');
  expect((await a!.read('acme-corp', 'sess-refuse'))?.version).toBe(1);
});
