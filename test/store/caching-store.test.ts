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
