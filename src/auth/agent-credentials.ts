import type { AgentStore } from '../store/ports.js';
import type { AgentJwtVerifier } from './agent-jwt.js';
import { agentOfApiKey } from './api-keys.js';
import { parseApiKey, parseTimestamp, safeEqual, signEnvelope } from './credentials.js';
import { AuthenticationError } from './errors.js';

/**
 * How a caller proved which agent it is.
 * - `trusted`: an in-process host application (the SDK), which vouches for the agent and for the
 *   user it acts for.
 * - `session`: a surface that authenticated the agent itself (an MCP session opened with the
 *   agent's key); it vouches for the agent only, never for a user the agent names.
 * - the others are checked here against the agent the call names.
 */
export type Credentials =
  | { kind: 'api_key'; key: string }
  | { kind: 'jwt'; token: string }
  | { kind: 'hmac'; keyId: string; timestamp: string; signature: string; bodySha256: string }
  | { kind: 'trusted' }
  | { kind: 'session' }
  | { kind: 'none' };

/** What a call claims, that its credentials must prove. */
export interface ClaimedAgent {
  agentId: string;
  agentVersion?: string;
  requestId?: string;
}

export interface AgentCredentialOptions {
  agents: Pick<AgentStore, 'getCredential'>;
  /** Present when `authentication.agent_jwt` is configured. */
  agentJwt?: AgentJwtVerifier;
  /** Resolves the `${secret:…}` an HMAC credential names (the secret providers of warden.yaml). */
  resolveSecret: (name: string) => Promise<string>;
  clockSkewMs: number;
  /** The configured skew as written (for messages). */
  clockSkew: string;
}

/**
 * Checks that credentials prove the claimed agent: an API key or a JWT must belong to it; a
 * signed envelope must carry a valid HMAC made within the clock-skew window. Throws
 * AuthenticationError with a reason the caller may read.
 */
export class AgentCredentialVerifier {
  constructor(private readonly options: AgentCredentialOptions) {}

  async verify(credentials: Credentials, claim: ClaimedAgent, now: number): Promise<void> {
    const o = this.options;
    switch (credentials.kind) {
      case 'trusted':
      case 'session':
        return;
      case 'none':
        throw new AuthenticationError('no credentials: send an API key or a signed envelope');
      case 'api_key': {
        if (!parseApiKey(credentials.key)) {
          // Most often a person's token sent where an agent's credential belongs: say so.
          throw new AuthenticationError(
            "the bearer token is not an agent's API key (wk_…) or agent JWT: tool calls are made by agents; a person's token cannot call tools",
          );
        }
        const owner = await agentOfApiKey(o.agents, credentials.key);
        if (owner !== claim.agentId) throw new AuthenticationError(`the API key does not belong to agent "${claim.agentId}"`);
        return;
      }
      case 'jwt': {
        if (!o.agentJwt) throw new AuthenticationError('agent tokens (JWT) are not accepted here: authentication.agent_jwt is not configured');
        const owner = await o.agentJwt.agentOf(credentials.token).catch((e: Error) => {
          throw new AuthenticationError(e.message);
        });
        if (owner !== claim.agentId) throw new AuthenticationError(`the agent token is for "${owner}", not "${claim.agentId}"`);
        return;
      }
      case 'hmac':
        return this.verifySignature(credentials, claim, now);
    }
  }

  private async verifySignature(credentials: Extract<Credentials, { kind: 'hmac' }>, claim: ClaimedAgent, now: number): Promise<void> {
    const o = this.options;
    const stored = await o.agents.getCredential(credentials.keyId);
    if (!stored || stored.kind !== 'hmac' || stored.revokedAt !== undefined || !stored.secretRef) throw new AuthenticationError('unknown signing key');
    if (stored.agentId !== claim.agentId) throw new AuthenticationError(`the signing key does not belong to agent "${claim.agentId}"`);
    const signedAt = parseTimestamp(credentials.timestamp);
    if (signedAt === undefined) throw new AuthenticationError('the signature timestamp is not ISO 8601 or epoch seconds');
    if (Math.abs(now - signedAt) > o.clockSkewMs) throw new AuthenticationError(`the signature timestamp is outside the ${o.clockSkew} clock-skew window`);
    if (!claim.requestId) throw new AuthenticationError('a signed envelope needs a request id');
    const name = /^\$\{secret:(.+)\}$/.exec(stored.secretRef)?.[1] ?? '';
    const secret = await o.resolveSecret(name);
    const expected = signEnvelope(secret, {
      agentId: claim.agentId,
      agentVersion: claim.agentVersion ?? '',
      requestId: claim.requestId,
      timestamp: credentials.timestamp,
      bodySha256: credentials.bodySha256,
    });
    if (!safeEqual(expected, credentials.signature.toLowerCase())) throw new AuthenticationError('the signature does not match the envelope');
  }
}
