import type { FastifyInstance } from 'fastify';
import { reportIncident } from '../../../enforcement/incidents.js';
import type { IncidentRecord } from '../../../store/records.js';
import type { ServerContext } from '../context.js';
import { hasRole } from '../../../auth/principal.js';
import { sendProblem } from '../problem.js';

const reportBody = {
  type: 'object',
  required: ['agent_id', 'type', 'severity', 'description'],
  additionalProperties: false,
  properties: {
    agent_id: { type: 'string', minLength: 1 },
    type: { type: 'string', minLength: 1, maxLength: 128 },
    severity: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
    description: { type: 'string', minLength: 1, maxLength: 10_000 },
    decision_id: { type: 'string' },
  },
} as const;

export function registerIncidentRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/incidents', { schema: { summary: 'Report an incident', tags: ['incidents'], body: reportBody } }, async (req, reply) => {
    const principal = await ctx.authenticate(req, reply);
    if (!principal) return reply;
    const body = req.body as { agent_id: string; type: string; severity: IncidentRecord['severity']; description: string; decision_id?: string };
    if (principal.kind === 'agent' && principal.agentId !== body.agent_id) {
      return sendProblem(reply, 403, 'an agent may only report incidents about itself', {}, 'not-your-agent');
    }
    if (principal.kind === 'human' && !hasRole(principal, 'approver')) return sendProblem(reply, 403, `${principal.id} needs the approver or admin role to report incidents`);
    const reportedBy = principal.kind === 'agent' ? `agent:${principal.agentId}` : principal.id;
    const result = await reportIncident(ctx.warden.pipeline, { agentId: body.agent_id, type: body.type, severity: body.severity, description: body.description, decisionId: body.decision_id, reportedBy });
    return reply.code(201).send(result);
  });

  app.get('/v1/incidents', { schema: { summary: 'List incidents', tags: ['incidents'], querystring: { type: 'object', properties: { agent: { type: 'string' }, since: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } } } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const q = req.query as { agent?: string; since?: string; limit?: number };
    const since = q.since ? Date.parse(q.since) : undefined;
    if (q.since && Number.isNaN(since)) return sendProblem(reply, 400, 'since must be an ISO 8601 date-time');
    const list = await ctx.warden.store.listIncidents({ agentId: q.agent, since, limit: q.limit ?? 100 });
    return list.filter((i) => human.tenant === '*' || i.tenant === human.tenant);
  });
}
