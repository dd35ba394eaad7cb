import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter, TokenBucketLimiter } from '../../src/guards/rate-limit.js';

describe('sliding window limiter', () => {
  it('allows the limit per window, then says when to retry', () => {
    const limiter = new SlidingWindowLimiter(3, 60_000);
    const t0 = 1_000_000_020_000; // 20 s into a window
    expect([1, 2, 3].map(() => limiter.take('a', t0).ok)).toEqual([true, true, true]);
    const refused = limiter.take('a', t0);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(limiter.take('b', t0).ok).toBe(true); // keys are independent
  });

  it('weights the previous window by how much of it still overlaps', () => {
    const limiter = new SlidingWindowLimiter(10, 1_000);
    const start = 5_000_000;
    for (let i = 0; i < 10; i++) expect(limiter.take('k', start + 100).ok).toBe(true);
    // Half-way through the next window, half of the previous 10 still count: 5 more fit.
    const mid = start + 1_500;
    const allowed = Array.from({ length: 8 }, () => limiter.take('k', mid).ok).filter(Boolean).length;
    expect(allowed).toBe(5);
    // Two windows later nothing of the old ones counts.
    expect(Array.from({ length: 10 }, () => limiter.take('k', start + 3_100).ok).every(Boolean)).toBe(true);
  });

  it('stays bounded in memory under many keys', () => {
    const limiter = new SlidingWindowLimiter(1, 1_000, 100);
    for (let i = 0; i < 1_000; i++) limiter.take(`k${i}`, 1_000 + i);
    expect((limiter as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThanOrEqual(100);
  });
});

describe('token bucket limiter', () => {
  it('allows a burst up to the limit and refills at limit per window', () => {
    const limiter = new TokenBucketLimiter(5, 1_000);
    const t = 10_000;
    expect(Array.from({ length: 5 }, () => limiter.take('a', t).ok).every(Boolean)).toBe(true);
    const refused = limiter.take('a', t);
    expect(refused).toEqual({ ok: false, retryAfterMs: 200 });
    expect(limiter.take('a', t + 199).ok).toBe(false);
    expect(limiter.take('a', t + 400).ok).toBe(true);
  });
});
