import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from '../../auth/bearer.js';
import { AuthenticationError } from '../../auth/errors.js';
import type { Principal } from '../../auth/principal.js';
import { requireHuman, type HumanRole } from '../../services/access.js';
import { ServiceError } from '../../services/errors.js';
import type { Warden } from '../../services/warden.js';
import { sendProblem, sendServiceError } from './problem.js';

/**
 * Who may reach a route, declared in its config (`config: { auth: 'viewer' }`) and checked by one
 * `onRequest` hook before the body is even read:
 * - `public`: anyone (health, metrics, the dashboard's files);
 * - `pipeline`: the pipeline authenticates the call itself (a tool call's key, JWT or signature
 *   must prove the agent its envelope names);
 * - `any`: an authenticated agent or person (the service decides what each may do);
 * - `viewer` | `approver` | `admin`: a person with at least that role.
 * A route in the API scope that declares nothing is `any`: forgetting is never public.
 */
export type RouteAuth = 'public' | 'pipeline' | 'any' | HumanRole;

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** The authenticated caller, on routes that are not public. */
    principal?: Principal;
  }
}

/** The caller of a route that required authentication (set by the hook). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new Error(`route ${req.routeOptions.url} read a principal it does not require`);
  return req.principal;
}

export function authenticationHook(warden: Warden) {
  return async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const auth = req.routeOptions.config.auth ?? 'any';
    if (auth === 'public' || auth === 'pipeline') return undefined;
    const token = bearerToken(req.headers.authorization);
    const unauthorized = (detail: string) => sendProblem(reply.header('www-authenticate', 'Bearer'), 401, detail);
    if (!token) return unauthorized('send "Authorization: Bearer <API key or token>"');
    try {
      req.principal = await warden.principals.fromBearer(token);
    } catch (error) {
      if (error instanceof AuthenticationError) return unauthorized(error.message);
      throw error;
    }
    if (auth === 'any') return undefined;
    try {
      requireHuman(req.principal, auth, `${req.method} ${req.routeOptions.url}`);
    } catch (error) {
      if (error instanceof ServiceError) return sendServiceError(reply, error);
      throw error;
    }
    return undefined;
  };
}
