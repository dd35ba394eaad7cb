import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';

/** X-Request-ID is the PEP's; a longer one is not echoed or recorded (it would only be an attack). */
const MAX_REQUEST_ID = 256;

/**
 * The OpenID AuthZEN Authorization API 1.0, HTTPS binding: Warden as a PDP. Wire only: the body
 * goes to `warden.authzen` (services/authzen.ts) with the caller, the tenant header and the
 * request id, and the decision comes back as the spec's JSON. Errors are the spec's status codes
 * (400, 401 with WWW-Authenticate, 403) with the error message string as `detail` of the API's
 * problem+json: the spec wants every body to be a JSON object, and this is the one every Warden
 * route answers (test/security/authorization-matrix.test.ts holds every route to it).
 */
export async function registerAuthzenRoutes(api: FastifyInstance, warden: Warden): Promise<void> {
  await api.register(async (scope) => {
    scope.addHook('onSend', async (req, reply, payload) => {
      const id = requestIdOf(req);
      if (id) reply.header('x-request-id', id);
      return payload;
    });

    const describe = (summary: string) => ({ summary, tags: ['authzen'], body: { type: 'object' } });

    scope.post('/access/v1/evaluation', { config: { auth: 'any' }, schema: describe('AuthZEN Access Evaluation: one decision (PEP credential, admin, or an agent about itself)') }, async (req, reply) =>
      json(reply, await warden.authzen.evaluate(principalOf(req), req.body, callOf(req))),
    );

    scope.post('/access/v1/evaluations', { config: { auth: 'any' }, schema: describe('AuthZEN Access Evaluations: a batch, with defaults and options.evaluations_semantic') }, async (req, reply) =>
      json(reply, await warden.authzen.evaluateMany(principalOf(req), req.body, callOf(req))),
    );
  });

  // Public, as the spec's discovery is: it names endpoints, never policies or tenants.
  api.get('/.well-known/authzen-configuration', { config: { auth: 'public' }, schema: { summary: 'AuthZEN PDP metadata', tags: ['authzen'] } }, async (req, reply) => {
    const pdp = (warden.config.authzen.issuer ?? `${req.protocol}://${req.host}`).replace(/\/+$/, '');
    return json(reply, {
      policy_decision_point: pdp,
      access_evaluation_endpoint: `${pdp}/access/v1/evaluation`,
      access_evaluations_endpoint: `${pdp}/access/v1/evaluations`,
    });
  });
}

function json(reply: FastifyReply, body: object): FastifyReply {
  return reply.type('application/json').send(body);
}

function requestIdOf(req: FastifyRequest): string | undefined {
  const id = req.headers['x-request-id'];
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_REQUEST_ID ? id : undefined;
}

function callOf(req: FastifyRequest): { tenant?: string; requestId?: string } {
  const tenant = req.headers['x-warden-tenant'];
  const requestId = requestIdOf(req);
  return { ...(typeof tenant === 'string' ? { tenant } : {}), ...(requestId ? { requestId } : {}) };
}
