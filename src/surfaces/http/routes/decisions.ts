import type { FastifyInstance } from 'fastify';
import { hasRole } from '../../../auth/principal.js';
import type { ServerContext } from '../context.js';
import { sendProblem } from '../problem.js';

/** PDP as a service (like OPA's data API): the body is an ActionRequest, the answer its Decision. */
export function registerDecisionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post(
    '/v1/decisions',
    {
      schema: {
        summary: 'Decide an ActionRequest without executing anything',
        description: 'For agent frameworks that execute tools themselves. An agent may only ask about itself (actor.agent.id); admins may ask about anyone.',
        tags: ['decisions'],
        body: { type: 'object' },
      },
    },
    async (req, reply) => {
      const principal = await ctx.authenticate(req, reply);
      if (!principal) return reply;
      const body = req.body as { actor?: { agent?: { id?: unknown } } } | null;
      if (principal.kind === 'agent' && body?.actor?.agent?.id !== principal.agentId) {
        return sendProblem(reply, 403, `an agent may only ask for decisions about itself (${principal.agentId})`, {}, 'not-your-agent');
      }
      if (principal.kind === 'human' && !hasRole(principal, 'admin')) {
        return sendProblem(reply, 403, `${principal.id} needs the admin role to ask for decisions on behalf of agents`, {}, 'missing-role');
      }
      const started = process.hrtime.bigint();
      const result = await ctx.warden.decide(req.body);
      ctx.metrics.latency.observe({ route: 'decisions' }, Number(process.hrtime.bigint() - started) / 1e9);
      if (!result.ok) return sendProblem(reply, 400, `invalid ActionRequest: ${result.errors.join('; ')}`, { errors: result.errors, audit_id: result.auditId }, 'invalid-request');
      ctx.metrics.decisions.inc({ effect: result.decision.effect, tool: ctx.metrics.toolLabel(ctx.warden, String((req.body as { resource?: { id?: unknown } }).resource?.id)), stage: 'policy', status: 'decided' });
      return reply.header('x-warden-audit-id', result.auditId).send(result.decision);
    },
  );
}
