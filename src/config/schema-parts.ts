import { z } from 'zod';
import { parseDuration } from '../lib/duration.js';

/** The pieces every part of `warden.yaml` writes the same way. */

/** `500ms`, `30s`, `15m`, `1h`. */
export const duration = z.string().refine((s) => parseDuration(s) !== undefined, 'must be a duration such as 500ms, 30s, 15m, 1h');

/** A secret named, never written: `${secret:name}`, resolved when it is used. */
export const secretReference = z.string().regex(/^\$\{secret:[A-Za-z0-9._-]+\}$/, 'must be a secret reference like ${secret:name}');

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https, or http to this machine only: a service outside Warden sees what calls carry (AuthZEN 1.0 requires TLS between PEP and PDP). */
function secureOrLocal(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
  } catch {
    return false;
  }
}

/** The URL of a service outside Warden that sees what calls carry (an AuthZEN PDP, an injection classifier). */
export const secureUrl = z.string().url().refine(secureOrLocal, 'must be https:// (http:// only to localhost, 127.0.0.1 or [::1])');
