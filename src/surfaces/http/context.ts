import type { FastifyReply, FastifyRequest } from 'fastify';
import { Ending } from '../../enforcement/exchange.js';
import { looksLikeJwt } from '../../auth/agent-jwt.js';
import { agentOfApiKey } from '../../enforcement/stages/authenticate.js';
import type { Warden } from '../../services/warden.js';
import { HumanAuthenticator, HumanAuthError } from '../../auth/human-auth.js';
import type { Metrics } from './metrics.js';
import { hasRole, type Human, type Principal } from '../../auth/principal.js';
import { sendProblem } from './problem.js';

/** What every route module gets: the Warden instance and the ways to find out who is calling. */
export class ServerContext {
  readonly humans: HumanAuthenticator;

  constructor(
    readonly warden: Warden,
    readonly metrics: Metrics,
  ) {
    this.humans = new HumanAuthenticator(warden.config.humans.tokens, warden.config.humans.oidc);
  }

  now(): number {
    return this.warden.pipeline.rt.clock();
  }

  /** Reloads policies (API, file watcher); a refused set is logged and the old one keeps serving. */
  async reloadPolicies(why: string): ReturnType<Warden['reloadPolicies']> {
    const result = await this.warden.reloadPolicies();
    this.onReload?.(why, result);
    return result;
  }

  onReload?: (why: string, result: Awaited<ReturnType<Warden['reloadPolicies']>>) => void;

  private bearer(req: FastifyRequest): string | undefined {
    const header = req.headers.authorization;
    return typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
  }

  /** An agent (API key `wk_…`) or a human (token or OIDC JWT); undefined when no bearer was sent. */
  async principal(req: FastifyRequest): Promise<Principal | undefined> {
    const token = this.bearer(req);
    if (!token) return undefined;
    if (token.startsWith('wk_')) return { kind: 'agent', agentId: await agentOfApiKey(this.warden.store, token) };
    const agentJwt = this.warden.pipeline.rt.agentJwt;
    if (agentJwt && looksLikeJwt(token)) {
      try {
        return { kind: 'agent', agentId: await agentJwt.agentOf(token) };
      } catch (error) {
        // Not an agent token: it may be a person's OIDC token.
        if (!this.warden.config.humans.oidc) throw new HumanAuthError((error as Error).message);
      }
    }
    return this.humans.authenticate(token);
  }

  /**
   * Resolves the caller or answers 401 and returns undefined. Route handlers return right away
   * when they get undefined.
   */
  async authenticate(req: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> {
    try {
      const principal = await this.principal(req);
      if (principal) return principal;
      sendProblem(reply.header('www-authenticate', 'Bearer'), 401, 'send "Authorization: Bearer <API key or token>"');
    } catch (error) {
      if (error instanceof Ending || error instanceof HumanAuthError) sendProblem(reply.header('www-authenticate', 'Bearer'), 401, (error as Error).message ?? (error as Ending).reason);
      else throw error;
    }
    return undefined;
  }

  /** A human with at least `role`; agents are always refused here (approval and admin routes). */
  async requireHuman(req: FastifyRequest, reply: FastifyReply, role: 'viewer' | 'approver' | 'admin'): Promise<Human | undefined> {
    const principal = await this.authenticate(req, reply);
    if (!principal) return undefined;
    if (principal.kind === 'agent') {
      sendProblem(reply, 403, 'agents cannot use this route; it is for people (viewers, approvers, admins)', {}, 'agents-not-allowed');
      return undefined;
    }
    if (!hasRole(principal, role)) {
      sendProblem(reply, 403, `${principal.id} needs the ${role} role for this route`, {}, 'missing-role');
      return undefined;
    }
    return principal;
  }
}
