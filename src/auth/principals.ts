import type { AgentStore } from '../store/ports.js';
import { looksLikeJwt, type AgentJwtVerifier } from './agent-jwt.js';
import { agentOfApiKey } from './api-keys.js';
import { AuthenticationError } from './errors.js';
import type { HumanAuthenticator } from './human-auth.js';
import type { Principal } from './principal.js';

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
  ) {}

  async fromBearer(token: string): Promise<Principal> {
    if (token.startsWith('wk_')) return { kind: 'agent', agentId: await agentOfApiKey(this.agents, token) };
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
