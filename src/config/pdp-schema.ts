import { z } from 'zod';
import { duration, secretReference, secureUrl } from './schema-parts.js';

/*
 * `pdp`: decision points outside Warden. `pdp.authzen` sends every MCP operation's AuthZEN request
 * (built by the COAZ mapping) to an organisation's AuthZEN PDP, so it is off (absent) by default.
 */

const authzenPdp = z.strictObject({
  /** The PDP's base URL (`https://pdp.example.com`); `/access/v1/evaluation` and `/access/v1/evaluations` are appended. */
  url: secureUrl,
  /** The bearer token sent as `Authorization: Bearer …`, as a secret reference such as `${secret:pdp_token}`. */
  credentials: secretReference.optional(),
  /** A PDP that has not answered within this is a failure: the call is denied (fail closed). */
  timeout: duration.default('2s'),
  /** `combined`: Warden's policies and the PDP both decide, deny overrides. `alone`: the PDP decides. */
  mode: z.enum(['combined', 'alone']).default('combined'),
});

export const pdpSchema = z.strictObject({ authzen: authzenPdp.optional() }).prefault({});

export type AuthzenPdpConfig = z.output<typeof authzenPdp>;
