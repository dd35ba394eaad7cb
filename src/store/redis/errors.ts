/** Redis could not be asked (down, unreachable, too slow): what needs it is refused (fail closed). */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';

  constructor(cause: Error) {
    super(`Redis did not answer: ${plainReason(cause.message)}`, { cause });
  }
}

/** ioredis's wording, said the way an operator reads it (the original stays as `cause`). */
function plainReason(message: string): string {
  if (/enableOfflineQueue|Connection is closed|Stream isn't writeable/i.test(message)) return 'the connection is down (reconnecting)';
  if (/Command timed out/i.test(message)) return 'no answer within redis.command_timeout';
  return message;
}

/** Replies by which Redis says it cannot serve now (starting, busy, a replica, failing over). */
const OUTAGE_REPLIES = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * `promise`, with a failure to reach Redis turned into a RedisUnavailableError. Any other error
 * Redis replied (a script error, a wrong type) is a bug, not an outage, and passes unchanged.
 */
export async function asked<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof Error && !(error instanceof RedisUnavailableError) && (error.name !== 'ReplyError' || OUTAGE_REPLIES.test(error.message))) {
      throw new RedisUnavailableError(error);
    }
    throw error;
  }
}
