import type { LimitVerdict, RateLimitStore } from '../store/ports.js';

export type { LimitVerdict };

/**
 * A rate limit. In memory it answers at once; shared between replicas it asks Redis, and may
 * throw when Redis cannot answer (the caller denies: limits fail closed).
 */
export interface Limiter {
  /** Takes one unit for `key` at `now` if the limit allows it. */
  take(key: string, now: number): LimitVerdict | Promise<LimitVerdict>;
  /** What `take` would answer at `now`, without taking anything (dry runs). */
  peek(key: string, now: number): LimitVerdict | Promise<LimitVerdict>;
}

/** The same algorithms as below, on counters every replica shares (store/redis/rate-limits.ts). */
export class SharedLimiter implements Limiter {
  constructor(
    private readonly counters: RateLimitStore,
    private readonly algorithm: 'sliding_window' | 'token_bucket',
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  take(key: string, now: number): Promise<LimitVerdict> {
    return this.ask(key, now, false);
  }

  peek(key: string, now: number): Promise<LimitVerdict> {
    return this.ask(key, now, true);
  }

  private ask(key: string, now: number, peek: boolean): Promise<LimitVerdict> {
    // The window is part of the key: a limit whose window changed in the config starts afresh.
    const k = `${key}|${this.limit}/${this.windowMs}`;
    return this.algorithm === 'token_bucket' ? this.counters.tokenBucket(k, this.limit, this.windowMs, now, peek) : this.counters.slidingWindow(k, this.limit, this.windowMs, now, peek);
  }
}

/**
 * Sliding window, approximated the way most gateways do (Cloudflare, Envoy's local limiter): the
 * count of the previous fixed window, weighted by how much of it still overlaps the sliding
 * window, plus the current window's count. Constant memory per key, error well under one window.
 */
export class SlidingWindowLimiter implements Limiter {
  private readonly windows = new Map<string, { start: number; current: number; previous: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  take(key: string, now: number): LimitVerdict {
    const start = now - (now % this.windowMs);
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= this.maxKeys) this.prune(now);
      w = { start, current: 0, previous: 0 };
      this.windows.set(key, w);
    } else if (w.start !== start) {
      w.previous = start - w.start === this.windowMs ? w.current : 0;
      w.current = 0;
      w.start = start;
    }
    const verdict = this.verdict(w, start, now);
    if (verdict.ok) w.current++;
    return verdict;
  }

  peek(key: string, now: number): LimitVerdict {
    const start = now - (now % this.windowMs);
    const w = this.windows.get(key);
    if (!w) return this.verdict({ current: 0, previous: 0 }, start, now);
    if (w.start === start) return this.verdict(w, start, now);
    return this.verdict({ current: 0, previous: start - w.start === this.windowMs ? w.current : 0 }, start, now);
  }

  /** Whether one more call fits the window `w` (already rolled to `start`) at `now`. */
  private verdict(w: { current: number; previous: number }, start: number, now: number): LimitVerdict {
    const overlap = 1 - (now - start) / this.windowMs;
    const estimate = w.previous * overlap + w.current;
    if (estimate + 1 > this.limit) {
      // When enough of the previous window has slid out for one more call to fit.
      const excess = estimate + 1 - this.limit;
      const retryAfterMs = w.previous > 0 && excess <= w.previous ? Math.ceil((excess / w.previous) * this.windowMs) : start + this.windowMs - now;
      return { ok: false, retryAfterMs: Math.max(1, retryAfterMs) };
    }
    return { ok: true };
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) if (now - w.start >= 2 * this.windowMs) this.windows.delete(key);
    // Still full of live keys: forget the oldest half rather than grow without bound.
    if (this.windows.size >= this.maxKeys) {
      let n = 0;
      for (const key of this.windows.keys()) if (n++ < this.maxKeys / 2) this.windows.delete(key);
    }
  }
}

/** Token bucket: bursts up to `limit`, refilled at `limit` per window. */
export class TokenBucketLimiter implements Limiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly ratePerMs: number;

  constructor(
    private readonly limit: number,
    windowMs: number,
    private readonly maxKeys = 100_000,
  ) {
    this.ratePerMs = limit / windowMs;
  }

  take(key: string, now: number): LimitVerdict {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.clear();
      b = { tokens: this.limit, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = this.tokensAt(b, now);
    b.at = now;
    const verdict = this.verdict(b.tokens);
    if (verdict.ok) b.tokens -= 1;
    return verdict;
  }

  peek(key: string, now: number): LimitVerdict {
    const b = this.buckets.get(key);
    return this.verdict(b ? this.tokensAt(b, now) : this.limit);
  }

  private tokensAt(b: { tokens: number; at: number }, now: number): number {
    return Math.min(this.limit, b.tokens + (now - b.at) * this.ratePerMs);
  }

  private verdict(tokens: number): LimitVerdict {
    return tokens < 1 ? { ok: false, retryAfterMs: Math.max(1, Math.ceil((1 - tokens) / this.ratePerMs)) } : { ok: true };
  }
}
