export { RedisUnavailableError } from './errors.js';
export { openRedis, closeRedis, redactUrl, type RedisConnection, type RedisConnectionOptions, type RedisLog } from './connection.js';
export { RedisRateLimits } from './rate-limits.js';
export { RedisReplay } from './replay.js';
export { RedisSessions, type RedisSessionsOptions } from './sessions.js';
export { RedisReplicaBus, type RedisReplicaBusOptions } from './replica-bus.js';
