import type { JWTPayload } from 'jose';
import { durationMs } from '../lib/duration.js';
import { AuthenticationError } from './errors.js';

/** Seconds of clock difference tolerated between Warden and the identity provider. */
export const JWT_CLOCK_TOLERANCE_S = 5;

/**
 * A verified token must expire, and not too late: its lifetime is `exp - iat` (or `exp - now` when
 * it has no `iat`), and it may not be issued in the future (which would shorten the lifetime it
 * appears to have). A token without `exp` is valid forever once leaked; one that lives for a year
 * nearly so. `what` names the token in the message, `setting` the config key that sets the maximum.
 */
export function checkTokenLifetime(payload: JWTPayload, maxLifetime: string, what: string, setting: string, nowMs = Date.now()): void {
  const { exp, iat } = payload;
  if (typeof exp !== 'number') throw new AuthenticationError(`${what} has no expiry (no "exp" claim); tokens that never expire are refused`);
  const now = Math.floor(nowMs / 1000);
  if (typeof iat === 'number' && iat > now + JWT_CLOCK_TOLERANCE_S) throw new AuthenticationError(`${what} is issued in the future ("iat" ${iat} is after now, ${now})`);
  const lifetime = exp - (typeof iat === 'number' ? iat : now);
  const max = durationMs(maxLifetime) / 1000;
  if (lifetime > max + JWT_CLOCK_TOLERANCE_S) {
    throw new AuthenticationError(`${what} lives ${describeSeconds(lifetime)}, longer than the ${maxLifetime} accepted (${setting})`);
  }
}

function describeSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7_200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8_640) / 10} days`;
}
