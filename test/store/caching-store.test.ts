import { expect, it } from 'vitest';
import { withReadCache } from '../../src/store/caching-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

it('caches agent reads for the TTL and clears them on writes through it', async () => {
  let now = 1_000;
  const raw = SqliteStore.open(':memory:');
  const store = withReadCache(raw, 1_000, () => now);
  const agent = { id: 'a', roles: [], trust: 'low' as const, status: 'active' as const, source: 'config' as const, createdAt: 1, updatedAt: 1 };
  await store.upsertAgent(agent);
  expect((await store.getAgent('a'))?.status).toBe('active');
  // A write through another handle (another process) shows once the TTL has passed.
  await raw.setAgentStatus('a', 'suspended', 'x', 2);
  expect((await store.getAgent('a'))?.status).toBe('active');
  now += 1_001;
  expect((await store.getAgent('a'))?.status).toBe('suspended');
  // A write through the cache applies at once.
  await store.setAgentStatus('a', 'active', 'y', 3);
  expect((await store.getAgent('a'))?.status).toBe('active');
  await store.close();
});

it('hands out the same function for a store method on every read, and wraps a replaced method anew', async () => {
  const raw = SqliteStore.open(':memory:');
  const store = withReadCache(raw, 1_000);
  // Made once, not per read (a closure or bound function per read was garbage on every call).
  expect(store.getAgent).toBe(store.getAgent);
  expect(store.getDecision).toBe(store.getDecision);
  expect(store.upsertAgent).toBe(store.upsertAgent);
  // A method replaced on the store (as a spy does) is what the next read calls.
  const calls: string[] = [];
  const original = raw.getDecision.bind(raw);
  raw.getDecision = (id: string) => {
    calls.push(id);
    return original(id);
  };
  await store.getDecision('dec_x');
  expect(calls).toEqual(['dec_x']);
  // A write through the wrapper still clears the cache and tells its listeners.
  let told = 0;
  store.readCache.onWrite(() => told++);
  await store.upsertAgent({ id: 'a', roles: [], trust: 'low', status: 'active', source: 'config', createdAt: 1, updatedAt: 1 });
  await store.upsertAgent({ id: 'b', roles: [], trust: 'low', status: 'active', source: 'config', createdAt: 1, updatedAt: 1 });
  expect(told).toBe(2);
  await store.close();
});
