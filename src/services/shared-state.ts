import type { WardenConfig } from '../config/load-config.js';
import { durationMs } from '../lib/duration.js';
import type { RateLimitStore, ReplayStore, ReplicaBus, SharedSessionStore } from '../store/ports.js';
import { openRedis, RedisRateLimits, RedisReplay, RedisReplicaBus, RedisSessions } from '../store/redis/index.js';

/** What the replicas of one deployment share in Redis (absent: this process keeps it in memory). */
export interface SharedState {
  limits: RateLimitStore;
  replay: ReplayStore;
  sessions: SharedSessionStore;
  bus: ReplicaBus;
  /** Answers when Redis does (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Connects to the config's `redis:`; fails with a message naming it when Redis does not answer. */
export async function openSharedState(redis: NonNullable<WardenConfig['redis']>, log: (level: 'info' | 'warn' | 'error', message: string) => void): Promise<SharedState> {
  const connection = await openRedis({ url: redis.url, prefix: redis.prefix, commandTimeoutMs: durationMs(redis.command_timeout), log });
  const { client, prefix } = connection;
  let bus: ReplicaBus;
  try {
    bus = await RedisReplicaBus.open(client, prefix, { log });
  } catch (error) {
    await connection.close();
    throw error;
  }
  return {
    limits: new RedisRateLimits(client, prefix),
    replay: new RedisReplay(client, prefix),
    sessions: new RedisSessions(client, prefix),
    bus,
    ping: async () => {
      await client.ping();
    },
    close: async () => {
      await bus.close();
      await connection.close();
    },
  };
}
