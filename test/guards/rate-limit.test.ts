import fc from 'fast-check';
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

describe('peek (dry runs)', () => {
  // Random schedules of takes and peeks: a peek answers what a take at the same instant would,
  // and a limiter that was only peeked at behaves as if nobody had asked.
  const schedule = fc.array(fc.record({ dt: fc.integer({ min: 0, max: 700 }), key: fc.constantFrom('a', 'b'), peek: fc.boolean() }), { maxLength: 60 });
  for (const [name, make] of [
    ['sliding window', () => new SlidingWindowLimiter(4, 1_000)],
    ['token bucket', () => new TokenBucketLimiter(4, 1_000)],
  ] as const) {
    it(`${name}: peek answers as take would, and takes nothing`, () => {
      fc.assert(
        fc.property(schedule, (steps) => {
          const observed = make();
          const control = make();
          let now = 1_000_000_000;
          for (const step of steps) {
            now += step.dt;
            if (step.peek) {
              observed.peek(step.key, now);
            } else {
              expect(observed.take(step.key, now)).toEqual(control.take(step.key, now));
            }
          }
          // Peeks changed nothing: the limiter that was peeked at agrees with one that never was.
          expect(observed.take('a', now)).toEqual(control.take('a', now));
        }),
      );
    });
    it(`${name}: a peek equals the verdict of a take at the same instant`, () => {
      fc.assert(
        fc.property(schedule, (steps) => {
          const limiter = make();
          let now = 2_000_000_000;
          for (const step of steps) {
            now += step.dt;
            const peeked = limiter.peek(step.key, now);
            const taken = limiter.take(step.key, now);
            expect(peeked.ok).toBe(taken.ok);
            if (!peeked.ok && !taken.ok) expect(peeked.retryAfterMs).toBe(taken.retryAfterMs);
          }
        }),
      );
    });
  }
});
