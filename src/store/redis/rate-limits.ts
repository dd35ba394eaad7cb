import type { Redis } from 'ioredis';
import type { LimitVerdict, RateLimitStore } from '../ports.js';
import type { Millis } from '../records.js';
import { defineScript, type RunScript } from './script.js';

/*
 * The two limiters of guards/rate-limit.ts, with their counters in Redis so that every replica
 * takes from the same limit. Each call is one Lua script, atomic on the server, and does the same
 * floating-point arithmetic in the same order as the in-memory limiter (Lua numbers are IEEE
 * doubles too), so for one sequence of calls both answer the same, retry times included.
 * The time is the caller's; Redis's clock only expires keys that no longer matter.
 */

/**
 * Sliding window. KEYS: the counter of the current fixed window, the one of the window before.
 * ARGV: limit, window ms, now, start of the current window, peek (1/0), ms a counter is kept.
 * Returns {1, 0} or {0, retryAfterMs}.
 */
const SLIDING_WINDOW = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local start = tonumber(ARGV[4])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local overlap = 1 - (now - start) / window
local estimate = previous * overlap + current
if estimate + 1 > limit then
  local excess = estimate + 1 - limit
  local retry
  if previous > 0 and excess <= previous then
    retry = math.ceil((excess / previous) * window)
  else
    retry = start + window - now
  end
  if retry < 1 then retry = 1 end
  return {0, retry}
end
if ARGV[5] == '0' then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return {1, 0}
`;

/**
 * Token bucket. KEYS: the bucket (a hash of `tokens` and `at`). ARGV: limit, window ms, now,
 * peek (1/0), ms kept beyond the time it takes to fill up. Tokens are written with 17
 * significant digits, which reads back as the same double. A take writes the bucket even when it
 * refuses (the in-memory limiter moves `at` then too, and the sums must round the same way). The
 * bucket expires once it would be full again: a missing bucket is a full one.
 * Returns {1, 0} or {0, retryAfterMs}.
 */
const TOKEN_BUCKET = `
local limit = tonumber(ARGV[1])
local rate = limit / tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = limit
if stored[1] then
  tokens = math.min(limit, tonumber(stored[1]) + (now - tonumber(stored[2])) * rate)
end
local ok = tokens >= 1
local retry = 0
if not ok then
  retry = math.ceil((1 - tokens) / rate)
  if retry < 1 then retry = 1 end
end
if ARGV[4] == '0' then
  if ok then tokens = tokens - 1 end
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil((limit - tokens) / rate) + tonumber(ARGV[5]))
end
if ok then return {1, 0} end
return {0, retry}
`;

/** How long counters outlive what the arithmetic needs: replicas' clocks may differ by this. */
const CLOCK_SLACK_MS = 1_000;

export class RedisRateLimits implements RateLimitStore {
  private readonly sliding: RunScript;
  private readonly bucket: RunScript;

  constructor(
    client: Redis,
    private readonly prefix: string,
  ) {
    this.sliding = defineScript(client, 'wardenSlidingWindow', 2, SLIDING_WINDOW);
    this.bucket = defineScript(client, 'wardenTokenBucket', 1, TOKEN_BUCKET);
  }

  async slidingWindow(key: string, limit: number, windowMs: number, now: Millis, peek: boolean): Promise<LimitVerdict> {
    const start = now - (now % windowMs);
    // The braces make both windows of a key one hash slot (Redis Cluster); harmless otherwise.
    const base = `${this.prefix}rl:sw:{${key}}:`;
    const reply = await this.sliding([`${base}${start}`, `${base}${start - windowMs}`], [limit, windowMs, now, start, peek ? 1 : 0, 2 * windowMs + CLOCK_SLACK_MS]);
    return verdict(reply);
  }

  async tokenBucket(key: string, limit: number, windowMs: number, now: Millis, peek: boolean): Promise<LimitVerdict> {
    const reply = await this.bucket([`${this.prefix}rl:tb:{${key}}`], [limit, windowMs, now, peek ? 1 : 0, CLOCK_SLACK_MS]);
    return verdict(reply);
  }
}

function verdict(reply: unknown): LimitVerdict {
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`unexpected answer from the Redis rate-limit script: ${JSON.stringify(reply)}`);
  return Number(reply[0]) === 1 ? { ok: true } : { ok: false, retryAfterMs: Number(reply[1]) };
}
