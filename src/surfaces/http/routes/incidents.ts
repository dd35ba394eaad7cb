import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';
import type { IncidentRecord } from '../../../store/records.js';
import { principalOf } from '../authenticate.js';
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

export function registerIncidentRoutes(app: FastifyInstance, warden: Warden): void {
  app.post('/v1/incidents', { config: { auth: 'any' }, schema: { summary: 'Report an incident (an agent about itself; approvers about an agent of their tenant)', tags: ['incidents'], body: reportBody } }, async (req, reply) => {
    const body = req.body as { agent_id: string; type: string; severity: IncidentRecord['severity']; description: string; decision_id?: string };
    const result = await warden.incidents.report(principalOf(req), { agentId: body.agent_id, type: body.type, severity: body.severity, description: body.description, decisionId: body.decision_id });
    return reply.code(201).send(result);
  });

  app.get('/v1/incidents', { config: { auth: 'viewer' }, schema: { summary: 'List incidents', tags: ['incidents'], querystring: { type: 'object', properties: { agent: { type: 'string' }, since: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } } } }, async (req, reply) => {
    const q = req.query as { agent?: string; since?: string; limit?: number };
    const since = q.since ? Date.parse(q.since) : undefined;
    if (q.since && Number.isNaN(since)) return sendProblem(reply, 400, 'since must be an ISO 8601 date-time');
    return warden.incidents.list(principalOf(req), { agentId: q.agent, since, limit: q.limit });
  });
}
