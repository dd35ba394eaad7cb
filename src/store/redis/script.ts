import type { Redis } from 'ioredis';
import { asked } from './errors.js';

/** Runs a Lua script with its keys and arguments; what it returns, as Redis returns it. */
export type RunScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/**
 * A Lua script of this client, run atomically by Redis: by EVALSHA, falling back to EVAL when
 * Redis does not know the script (first use, or after a restart emptied its script cache).
 * Fails with a RedisUnavailableError when Redis cannot be asked.
 */
export function defineScript(client: Redis, name: string, numberOfKeys: number, lua: string): RunScript {
  client.defineCommand(name, { numberOfKeys, lua });
  const command = (client as unknown as Record<string, (...params: Array<string | number>) => Promise<unknown>>)[name];
  if (typeof command !== 'function') throw new Error(`the Redis script ${name} could not be defined`);
  return (keys, args) => asked(command.call(client, ...keys, ...args));
}
