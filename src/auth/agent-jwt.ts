import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { AgentJwtConfig } from '../config/config-schema.js';
import { AuthenticationError } from './errors.js';


/** A JWT in compact form: three base64url parts. */
export const looksLikeJwt = (token: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);

/**
 * Agents that authenticate with a JWT from the organisation's identity provider (workload
 * identity) instead of a Warden API key: signature against the issuer's JWKS, issuer, audience
 * and expiry checked by jose; the agent id is a claim. The agent must still be registered.
 */
export class AgentJwtVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly config: AgentJwtConfig) {
    this.jwks = createRemoteJWKSet(new URL(config.jwks_uri ?? `${config.issuer.replace(/\/$/, '')}/.well-known/jwks.json`));
  }

  /** The agent id the token names; throws AuthenticationError when it is not valid. */
  async agentOf(token: string): Promise<string> {
    let claim: unknown;
    try {
      const { payload } = await jwtVerify(token, this.jwks, { issuer: this.config.issuer, audience: this.config.audience, clockTolerance: 5 });
      claim = payload[this.config.agent_claim];
    } catch (e) {
      throw new AuthenticationError(`the agent token was refused: ${(e as Error).message}`);
    }
    if (typeof claim !== 'string' || claim === '') throw new AuthenticationError(`the agent token has no "${this.config.agent_claim}" claim`);
    return claim;
  }
}
