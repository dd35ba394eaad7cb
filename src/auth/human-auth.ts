import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { HumanTokenConfig, OidcConfig } from '../config/config-schema.js';
import { sha256 } from './credentials.js';
import { AuthenticationError } from './errors.js';
import { checkTokenLifetime, JWT_CLOCK_TOLERANCE_S } from './jwt-lifetime.js';
import type { Human } from './principal.js';

/**
 * Humans (viewers, approvers, admins) authenticate with a bearer token from the config (stored
 * hashed) or an OIDC JWT verified against the issuer's JWKS (issuer, audience, an `exp` no further
 * than `max_lifetime` away). API keys of agents are never humans.
 */
export class HumanAuthenticator {
  private readonly tokens = new Map<string, Human>();
  private readonly jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    tokens: readonly HumanTokenConfig[],
    private readonly oidc?: OidcConfig,
  ) {
    for (const t of tokens) this.tokens.set(t.token_hash, { kind: 'human', id: t.id, roles: t.roles, tenant: t.tenant });
    if (oidc) this.jwks = createRemoteJWKSet(new URL(oidc.jwks_uri ?? `${oidc.issuer.replace(/\/$/, '')}/.well-known/jwks.json`));
  }

  /** The human a bearer token stands for; throws AuthenticationError when it stands for nobody. */
  async authenticate(token: string): Promise<Human> {
    const configured = this.tokens.get(sha256(token));
    if (configured) return configured;
    if (this.jwks && this.oidc && token.split('.').length === 3) return this.verifyJwt(token, this.oidc);
    throw new AuthenticationError('the bearer token is not valid');
  }

  private async verifyJwt(token: string, oidc: OidcConfig): Promise<Human> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks!, { issuer: oidc.issuer, audience: oidc.audience, clockTolerance: JWT_CLOCK_TOLERANCE_S }));
    } catch (e) {
      throw new AuthenticationError(`the token was refused: ${(e as Error).message}`);
    }
    checkTokenLifetime(payload, oidc.max_lifetime, 'the token', 'humans.oidc.max_lifetime');
    const subject = payload[oidc.subject_claim];
    if (typeof subject !== 'string' || subject === '') throw new AuthenticationError(`the token has no "${oidc.subject_claim}" claim`);
    const rawRoles = payload[oidc.roles_claim];
    const roles = Array.isArray(rawRoles) ? rawRoles.filter((r): r is string => typeof r === 'string') : typeof rawRoles === 'string' ? rawRoles.split(/\s+/).filter(Boolean) : [];
    // A person acts within one tenant, or every tenant only when the token says so ("*"): a token
    // without a usable tenant is refused rather than read as "every tenant".
    const tenant = payload[oidc.tenant_claim];
    if (typeof tenant !== 'string' || tenant.trim() === '') {
      throw new AuthenticationError(`the token has no "${oidc.tenant_claim}" claim naming the person's tenant (a string; "*" for an operator of every tenant)`);
    }
    return { kind: 'human', id: subject, roles, tenant };
  }
}
