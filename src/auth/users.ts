import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { UserJwtConfig } from '../config/config-schema.js';
import { AuthenticationError } from './errors.js';
import { checkTokenLifetime, JWT_CLOCK_TOLERANCE_S } from './jwt-lifetime.js';

/** The user an agent acts for, as a decision may use them. */
export interface ActingUser {
  id: string;
  roles: string[];
  tenant?: string;
  /** Proven by a verified token, or vouched for by an in-process host application. */
  verified: boolean;
}

/** What Warden's own directory (warden.yaml's `humans`) says about a person, by id. */
export type UserDirectory = (id: string) => { roles: readonly string[]; tenant?: string } | undefined;

/** A claim by dotted path (`act.sub`), when it is a non-empty string. */
function claimAt(payload: JWTPayload, path: string): string | undefined {
  let value: unknown = payload;
  for (const key of path.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Verifies on-behalf-of tokens: the user an agent acts for, proven by the organisation's identity
 * provider (signature against its JWKS, issuer, audience, an expiry that must be present), and,
 * when configured, issued to this very agent. Roles are the token's roles claim plus what Warden's
 * own directory gives the same person.
 */
export class UserTokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly config: UserJwtConfig,
    private readonly directory: UserDirectory,
  ) {
    this.jwks = createRemoteJWKSet(new URL(config.jwks_uri ?? `${config.issuer.replace(/\/$/, '')}/.well-known/jwks.json`));
  }

  async verify(token: string, agentId: string): Promise<ActingUser> {
    const c = this.config;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: c.issuer, audience: c.audience, requiredClaims: ['exp'], clockTolerance: JWT_CLOCK_TOLERANCE_S }));
    } catch (e) {
      throw new AuthenticationError(`the user token was refused: ${(e as Error).message}`);
    }
    checkTokenLifetime(payload, c.max_lifetime, 'the user token', 'authentication.user_jwt.max_lifetime');
    const id = claimAt(payload, c.subject_claim);
    if (!id) throw new AuthenticationError(`the user token has no "${c.subject_claim}" claim`);
    if (c.agent_claim) {
      const issuedTo = claimAt(payload, c.agent_claim);
      if (issuedTo !== agentId) throw new AuthenticationError(`the user token was issued to ${issuedTo ? `"${issuedTo}"` : 'no agent'}, not to agent "${agentId}"`);
    }
    const raw = payload[c.roles_claim];
    const claimed = Array.isArray(raw) ? raw.filter((r): r is string => typeof r === 'string') : typeof raw === 'string' ? raw.split(/\s+/).filter(Boolean) : [];
    const known = this.directory(id);
    const tenant = claimAt(payload, c.tenant_claim) ?? known?.tenant;
    return { id, roles: [...new Set([...claimed, ...(known?.roles ?? [])])], ...(tenant ? { tenant } : {}), verified: true };
  }
}

/** A user the caller only names: who they are is unproven, so they have no roles. */
export function unverifiedUser(id: string): ActingUser {
  return { id, roles: [], verified: false };
}
