import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';
import { sendProblem } from '../problem.js';

/** PDP as a service (like OPA's data API): the body is an ActionRequest, the answer its Decision. */
export function registerDecisionRoutes(app: FastifyInstance, warden: Warden): void {
  app.post(
    '/v1/decisions',
    {
      config: { auth: 'any' },
      schema: {
        summary: 'Decide an ActionRequest without executing anything',
        description: 'For agent frameworks that execute tools themselves. An agent may only ask about itself (actor.agent.id); admins may ask about anyone.',
        tags: ['decisions'],
        body: { type: 'object' },
      },
    },
    async (req, reply) => {
      const result = await warden.decisions.decide(principalOf(req), req.body, 'http');
      if (!result.ok) return sendProblem(reply, 400, `invalid ActionRequest: ${result.errors.join('; ')}`, { errors: result.errors, audit_id: result.auditId }, 'invalid-request');
      return reply.header('x-warden-audit-id', result.auditId).send(result.decision);
    },
  );
}
