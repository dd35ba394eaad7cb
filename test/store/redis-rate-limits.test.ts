import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlidingWindowLimiter, TokenBucketLimiter, type Limiter } from '../../src/guards/rate-limit.js';
import { openRedis, type RedisConnection } from '../../src/store/redis/connection.js';
import { RedisRateLimits } from '../../src/store/redis/rate-limits.js';
import type { LimitVerdict } from '../../src/store/ports.js';
import { teardown } from '../helpers/teardown.js';
import { SHARED_REDIS_URL, deletePrefix, plainClient, randomPrefix } from './redis-helpers.js';

/*
 * The Redis limiters against the in-memory ones of guards/rate-limit.ts: for one sequence of
 * calls they must answer the same, retry times included (same arithmetic, same rounding).
 */

const prefix = randomPrefix();
let connection: RedisConnection;
let limits: RedisRateLimits;
const others: Redis[] = [];

beforeAll(async () => {
  connection = await openRedis({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 2_000 });
  limits = new RedisRateLimits(connection.client, prefix);
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

type Algorithm = 'sliding_window' | 'token_bucket';

interface Step {
  key: string;
  /** Milliseconds since the step before (the clock never goes back). */
  dt: number;
  peek: boolean;
}

const steps = (windowMs: number) =>
  fc.array(
    fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      // Mostly within a window, sometimes a jump over one or several.
      dt: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: Math.max(1, Math.floor(windowMs / 10)) }) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: windowMs }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 * windowMs }) }),
      peek: fc.boolean(),
    }),
    { minLength: 1, maxLength: 120 },
  );

const scenario = fc
  .record({
    limit: fc.integer({ min: 1, max: 12 }),
    windowMs: fc.constantFrom(7, 100, 999, 1_000, 60_000, 3_600_000),
    t0: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  })
  .chain((s) => steps(s.windowMs).map((list) => ({ ...s, steps: list })));

let run = 0;

async function compare(algorithm: Algorithm, s: { limit: number; windowMs: number; t0: number; steps: Step[] }): Promise<void> {
  run += 1;
  const memory: Limiter = algorithm === 'token_bucket' ? new TokenBucketLimiter(s.limit, s.windowMs) : new SlidingWindowLimiter(s.limit, s.windowMs);
  let now = s.t0;
  for (const [i, step] of s.steps.entries()) {
    now += step.dt;
    const key = `run${run}|${step.key}`;
    const expected = await (step.peek ? memory.peek(key, now) : memory.take(key, now));
    const actual =
      algorithm === 'token_bucket'
        ? await limits.tokenBucket(key, s.limit, s.windowMs, now, step.peek)
        : await limits.slidingWindow(key, s.limit, s.windowMs, now, step.peek);
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      throw new Error(`step ${i} (${step.peek ? 'peek' : 'take'} ${step.key} at t0+${now - s.t0}): Redis ${JSON.stringify(actual)}, memory ${JSON.stringify(expected)}`);
    }
  }
}

describe('RedisRateLimits answers what the in-memory limiters answer', () => {
  it('sliding window, random sequences of takes and peeks', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) => compare('sliding_window', s)),
      { numRuns: 300 },
    );
  }, 120_000);

  it('token bucket, random sequences of takes and peeks', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) => compare('token_bucket', s)),
      { numRuns: 300 },
    );
  }, 120_000);

  it('a few hand-picked cases, retry times included', async () => {
    const t = 1_700_000_000_000; // a multiple of 1000: the start of a window
    const take = (key: string, now: number) => limits.slidingWindow(key, 2, 1_000, now, false);
    expect(await take('hand', t)).toEqual({ ok: true });
    expect(await take('hand', t + 10)).toEqual({ ok: true });
    expect(await take('hand', t + 20)).toEqual({ ok: false, retryAfterMs: 980 });
    // Next window: the previous (2) weighs 1 - 0.25 → 1.5 + 1 > 2; 0.5 of it must slide out.
    expect(await take('hand', t + 1_250)).toEqual({ ok: false, retryAfterMs: 250 });
    expect(await take('hand', t + 1_500)).toEqual({ ok: true });
    // Next window: the previous (1) weighs 0.9; peeks take nothing, so the take still fits.
    for (let i = 0; i < 3; i++) expect(await limits.slidingWindow('hand', 2, 1_000, t + 2_100, true)).toEqual({ ok: true });
    expect(await take('hand', t + 2_100)).toEqual({ ok: true });
    expect((await limits.slidingWindow('hand', 2, 1_000, t + 2_100, true)).ok).toBe(false);

    const memory = new TokenBucketLimiter(2, 1_000);
    const bucket = async (now: number, peek = false) => {
      const actual = await limits.tokenBucket('hand-b', 2, 1_000, now, peek);
      expect(actual).toEqual(peek ? memory.peek('hand-b', now) : memory.take('hand-b', now));
      return actual;
    };
    expect((await bucket(t)).ok).toBe(true);
    expect((await bucket(t)).ok).toBe(true);
    expect(await bucket(t, true)).toEqual({ ok: false, retryAfterMs: 500 });
    expect((await bucket(t + 100)).ok).toBe(false);
    expect((await bucket(t + 500, true)).ok).toBe(true);
    expect((await bucket(t + 500)).ok).toBe(true);
    expect((await bucket(t + 500)).ok).toBe(false);
  });
});

describe('RedisRateLimits across replicas', () => {
  const expectExactly = async (algorithm: Algorithm) => {
    const clients = [plainClient(), plainClient(), plainClient()];
    others.push(...clients);
    const stores = clients.map((c) => new RedisRateLimits(c, prefix));
    const now = Date.now();
    const key = `shared-${algorithm}`;
    // 3 × 40 takes at once from one limit of 50.
    const verdicts: LimitVerdict[] = await Promise.all(
      Array.from({ length: 120 }, (_, i) => {
        const store = stores[i % 3]!;
        return algorithm === 'token_bucket' ? store.tokenBucket(key, 50, 60_000, now, false) : store.slidingWindow(key, 50, 60_000, now, false);
      }),
    );
    expect(verdicts.filter((v) => v.ok)).toHaveLength(50);
    expect(verdicts.filter((v) => !v.ok)).toHaveLength(70);
    for (const v of verdicts) if (!v.ok) expect(v.retryAfterMs).toBeGreaterThan(0);
  };

  it('three clients taking at once from one sliding window of 50: exactly 50 go through', () => expectExactly('sliding_window'));
  it('three clients taking at once from one token bucket of 50: exactly 50 go through', () => expectExactly('token_bucket'));

  it('keys live under the prefix and expire', async () => {
    const now = Date.now();
    await limits.slidingWindow('ttl', 5, 1_000, now, false);
    await limits.tokenBucket('ttl', 5, 1_000, now, false);
    const keys = (await connection.client.keys(`${prefix}rl:*{ttl}*`)).sort();
    expect(keys).toHaveLength(2);
    for (const k of keys) {
      expect(k.startsWith(prefix)).toBe(true);
      const ttl = await connection.client.pttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3_000);
    }
    // A peek writes nothing.
    await limits.slidingWindow('peek-only', 5, 1_000, now, true);
    await limits.tokenBucket('peek-only', 5, 1_000, now, true);
    expect(await connection.client.keys(`${prefix}rl:*{peek-only}*`)).toEqual([]);
  });
});
