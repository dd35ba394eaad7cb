import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
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

/**
 * A callback hook, not an async one: a public or pipeline route (a tool call) passes without a
 * promise or a tick, and an authenticated one costs the one promise of the credential lookup.
 * Answering 401/403 ends the request: `done` is then not called.
 */
export function authenticationHook(warden: Warden) {
  return function authenticate(req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const auth = req.routeOptions.config.auth ?? 'any';
    if (auth === 'public' || auth === 'pipeline') return done();
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      unauthorized(reply, 'send "Authorization: Bearer <API key or token>"');
      return;
    }
    warden.principals.fromBearer(token).then(
      (principal) => {
        req.principal = principal;
        if (auth === 'any') return done();
        try {
          requireHuman(principal, auth, `${req.method} ${req.routeOptions.url}`);
        } catch (error) {
          if (error instanceof ServiceError) {
            sendServiceError(reply, error);
            return;
          }
          return done(error as Error);
        }
        done();
      },
      (error: unknown) => {
        if (error instanceof AuthenticationError) unauthorized(reply, error.message);
        else done(error as Error);
      },
    );
  };
}

function unauthorized(reply: FastifyReply, detail: string): void {
  sendProblem(reply.header('www-authenticate', 'Bearer'), 401, detail);
}
