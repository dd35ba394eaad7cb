import type { Redis } from 'ioredis';
import type { ReplayStore } from '../ports.js';
import type { Millis } from '../records.js';
import { defineScript, type RunScript } from './script.js';

/**
 * Remembers a request id: KEYS[1] holds the end of its replay window. ARGV: now, expiresAt.
 * A live id (its window ends after `now`, by the caller's clock) is a replay: 0. Otherwise the id
 * is written with its new window, kept by Redis until then (PX, measured from now), and 1.
 * This is `SET key expiresAt NX PX ttl`, except that the caller's clock, not Redis's expiry,
 * decides whether a stored id has run out (the store contract; replicas' clocks agree closely).
 */
const REMEMBER = `
local now = tonumber(ARGV[1])
local until_ = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
if stored and tonumber(stored) > now then return 0 end
if until_ > now then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', math.ceil(until_ - now))
elseif stored then
  redis.call('DEL', KEYS[1])
end
return 1
`;

/**
 * The replay guard's request ids, shared by replicas: one script per call, atomic on the server,
 * so of two replicas offered one id at the same time exactly one accepts it. Redis drops an id
 * once its window has passed. Redis without persistence (`appendonly`) forgets them all when it
 * restarts, and a request replayed within its window would then be accepted again.
 */
export class RedisReplay implements ReplayStore {
  private readonly remember: RunScript;

  constructor(
    client: Redis,
    private readonly prefix: string,
  ) {
    this.remember = defineScript(client, 'wardenRememberRequestId', 1, REMEMBER);
  }

  async rememberRequestId(agentId: string, requestId: string, now: Millis, expiresAt: Millis): Promise<boolean> {
    // The agent id's length first, so that no pair of ids makes the key of another pair.
    const key = `${this.prefix}rid:${agentId.length}:${agentId}:${requestId}`;
    return Number(await this.remember([key], [now, expiresAt])) === 1;
  }

  /** Nothing to do: Redis expires the ids itself. */
  async pruneRequestIds(_now: Millis): Promise<number> {
    return 0;
  }
}
