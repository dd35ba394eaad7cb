import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { AgentJwtConfig } from '../config/config-schema.js';
import { AuthenticationError } from './errors.js';
import { checkTokenLifetime, JWT_CLOCK_TOLERANCE_S } from './jwt-lifetime.js';

/** A JWT in compact form: three base64url parts. */
export const looksLikeJwt = (token: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);

/**
 * Agents that authenticate with a JWT from the organisation's identity provider (workload
 * identity) instead of a Warden API key: signature against the issuer's JWKS, issuer, audience
 * and expiry checked by jose; a token without `exp`, or living longer than `max_lifetime`, is
 * refused; the agent id is a claim. The agent must still be registered.
 */
export class AgentJwtVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly config: AgentJwtConfig) {
    this.jwks = createRemoteJWKSet(new URL(config.jwks_uri ?? `${config.issuer.replace(/\/$/, '')}/.well-known/jwks.json`));
  }

  /** The agent id the token names; throws AuthenticationError when it is not valid. */
  async agentOf(token: string): Promise<string> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: this.config.issuer, audience: this.config.audience, clockTolerance: JWT_CLOCK_TOLERANCE_S }));
    } catch (e) {
      throw new AuthenticationError(`the agent token was refused: ${(e as Error).message}`);
    }
    checkTokenLifetime(payload, this.config.max_lifetime, 'the agent token', 'authentication.agent_jwt.max_lifetime');
    const claim = payload[this.config.agent_claim];
    if (typeof claim !== 'string' || claim === '') throw new AuthenticationError(`the agent token has no "${this.config.agent_claim}" claim`);
    return claim;
  }
}
