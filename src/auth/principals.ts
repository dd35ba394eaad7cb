import type { AgentStore } from '../store/ports.js';
import { looksLikeJwt, type AgentJwtVerifier } from './agent-jwt.js';
import { agentOfApiKey } from './api-keys.js';
import { AuthenticationError } from './errors.js';
import type { HumanAuthenticator } from './human-auth.js';
import { sha256 } from './credentials.js';
import type { Pep, Principal } from './principal.js';
import type { ActingUser, UserTokenVerifier } from './users.js';

/**
 * Who a bearer token stands for, on every surface that takes one (the HTTP API, the MCP
 * endpoints): an agent (an API key `wk_…`, or an agent JWT when configured) or a human (a token
 * from warden.yaml or an OIDC JWT). Throws AuthenticationError when it stands for nobody.
 */
export class PrincipalResolver {
  constructor(
    private readonly agents: Pick<AgentStore, 'getCredential'>,
    private readonly humans: HumanAuthenticator,
    private readonly agentJwt: AgentJwtVerifier | undefined,
    /** With OIDC for people, a JWT that is not an agent's may still be a person's. */
    private readonly humansUseOidc: boolean,
    private readonly users?: UserTokenVerifier,
    /** PEP credentials by the hash of their token. */
    private readonly peps: ReadonlyMap<string, Pep> = new Map(),
  ) {}

  /** The user an on-behalf-of token proves, for the agent it was given to. */
  async user(token: string, agentId: string): Promise<ActingUser> {
    if (!this.users) throw new AuthenticationError('user tokens are not accepted here: authentication.user_jwt is not configured');
    return this.users.verify(token, agentId);
  }

  async fromBearer(token: string): Promise<Principal> {
    if (token.startsWith('wk_')) return { kind: 'agent', agentId: await agentOfApiKey(this.agents, token) };
    const pep = this.peps.get(sha256(token));
    if (pep) return pep;
    if (this.agentJwt && looksLikeJwt(token)) {
      try {
        return { kind: 'agent', agentId: await this.agentJwt.agentOf(token) };
      } catch (error) {
        if (!this.humansUseOidc) throw new AuthenticationError((error as Error).message);
      }
    }
    return this.humans.authenticate(token);
  }
}
