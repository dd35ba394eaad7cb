import { z } from 'zod';
import { parseDuration } from '../lib/duration.js';

/*
 * `pdp`: decision points outside Warden. `pdp.authzen` sends every MCP operation's AuthZEN request
 * (built by the COAZ mapping) to an organisation's AuthZEN PDP, so it is off (absent) by default.
 */

const duration = z.string().refine((s) => parseDuration(s) !== undefined, 'must be a duration such as 500ms, 30s, 15m, 1h');
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** AuthZEN 1.0 requires TLS between PEP and PDP (and a classifier sees the calls' texts): plain http is accepted only on this machine. */
export function secureOrLocal(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
  } catch {
    return false;
  }
}

/** The URL of a service outside Warden that sees what calls carry. */
export const secureUrl = z.string().url().refine(secureOrLocal, 'must be https:// (http:// only to localhost, 127.0.0.1 or [::1])');
/** A bearer token for such a service, as a secret reference such as `${secret:pdp_token}`. */
export const bearerSecret = z.string().regex(/^\$\{secret:[A-Za-z0-9._-]+\}$/, 'must be a secret reference like ${secret:name}');

const authzenPdp = z.strictObject({
  /** The PDP's base URL (`https://pdp.example.com`); `/access/v1/evaluation` and `/access/v1/evaluations` are appended. */
  url: secureUrl,
  /** The bearer token sent as `Authorization: Bearer …`, as a secret reference such as `${secret:pdp_token}`. */
  credentials: bearerSecret.optional(),
  /** A PDP that has not answered within this is a failure: the call is denied (fail closed). */
  timeout: duration.default('2s'),
  /** `combined`: Warden's policies and the PDP both decide, deny overrides. `alone`: the PDP decides. */
  mode: z.enum(['combined', 'alone']).default('combined'),
});

export const pdpSchema = z.strictObject({ authzen: authzenPdp.optional() }).prefault({});

export type AuthzenPdpConfig = z.output<typeof authzenPdp>;
