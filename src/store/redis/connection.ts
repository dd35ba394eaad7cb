import { Redis } from 'ioredis';

/** Where the connection reports what happens to it (the caller's logger). */
export type RedisLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string;
  /** Prefix of every key and channel (several deployments, or tests, on one Redis). */
  prefix: string;
  /** A command not answered within this is failed (the call it serves is denied), never queued. */
  commandTimeoutMs: number;
  /** How long a connection attempt may take (default: 5 s). */
  connectTimeoutMs?: number;
  /** The longest pause between two reconnection attempts (default: 2 s). */
  maxReconnectDelayMs?: number;
  /** Shown by `CLIENT LIST` (default `warden`). */
  name?: string;
  log?: RedisLog;
}

/** One connection to Redis, with the prefix its users put before their keys. */
export interface RedisConnection {
  readonly client: Redis;
  readonly prefix: string;
  /** The URL without its password, for messages. */
  readonly url: string;
  /** Closes the connection (and stops reconnecting); never hangs, even when Redis is gone. */
  close(): Promise<void>;
}

/** The same error is reported at most once per this many milliseconds. */
const LOG_EVERY_MS = 10_000;

/**
 * Connects to Redis, or fails with an error naming the URL. The client fails fast instead of
 * waiting: while the connection is down every command is rejected at once (no offline queue), a
 * command in flight when it drops is failed rather than sent again (a limit must never take
 * twice), and a command that gets no answer fails after `commandTimeoutMs`. Meanwhile it keeps
 * reconnecting, with a backoff capped at `maxReconnectDelayMs`, and serves again once Redis is
 * back, without being recreated.
 */
export async function openRedis(options: RedisConnectionOptions): Promise<RedisConnection> {
  const url = redactUrl(options.url);
  const log = options.log ?? (() => {});
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const client = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times - 1, 16), maxDelay),
    connectionName: options.name ?? 'warden',
  });
  watchConnection(client, url, log);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(`Redis at ${url} is not reachable: ${(error as Error).message}`, { cause: error });
  }
  return {
    client,
    prefix: options.prefix,
    url,
    close: () => closeRedis(client),
  };
}

/**
 * Closes a client: QUIT when it is connected (replies still owed are delivered), bounded by a
 * second, and a plain disconnect otherwise or after that.
 */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1_000);
    });
    try {
      await Promise.race([client.quit().then(() => undefined), late]);
    } catch {
      // Closing anyway.
    } finally {
      clearTimeout(timer);
    }
  }
  client.disconnect();
}

/**
 * Reports errors without ever throwing them (an `error` event without a listener would be an
 * unhandled error): the first of a run at once, then at most one every 10 s with how many were
 * left out, and `info` when the connection is ready again.
 */
export function watchConnection(client: Redis, url: string, log: RedisLog): void {
  let lastLogged = 0;
  let skipped = 0;
  let failing = false;
  client.on('error', (error: Error) => {
    const now = Date.now();
    if (!failing || now - lastLogged >= LOG_EVERY_MS) {
      const more = skipped > 0 ? ` (${skipped} more errors since the last report)` : '';
      log(failing ? 'warn' : 'error', `Redis at ${url}: ${error.message}${more}; reconnecting, and denying what needs it meanwhile`);
      lastLogged = now;
      skipped = 0;
    } else {
      skipped += 1;
    }
    failing = true;
  });
  client.on('ready', () => {
    if (failing) log('info', `Redis at ${url} is reachable again`);
    failing = false;
    skipped = 0;
  });
}

/** The URL with its password (if any) replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an invalid Redis URL)';
  }
}
