import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AuditFilter } from '../../../services/audit.js';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';

const querySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    agent: { type: 'string' },
    tool: { type: 'string' },
    effect: { type: 'string', enum: ['allow', 'deny', 'require_approval'] },
    tenant: { type: 'string' },
    session: { type: 'string' },
    since: { type: 'string', description: 'ISO 8601, or a duration back from now (15m, 24h)' },
    until: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: 10000 },
  },
} as const;

export function registerAuditRoutes(app: FastifyInstance, warden: Warden): void {
  app.get('/v1/audit', { config: { auth: 'viewer' }, schema: { summary: 'Query the decision log (newest first)', tags: ['audit'], querystring: querySchema } }, (req) =>
    warden.audit.query(principalOf(req), req.query as AuditFilter),
  );

  app.get('/v1/audit/export', { config: { auth: 'viewer' }, schema: { summary: 'Export the decision log as JSON Lines (oldest first)', tags: ['audit'], querystring: querySchema } }, async (req, reply) => {
    const lines = await warden.audit.export(principalOf(req), req.query as AuditFilter);
    return reply.type('application/x-ndjson').header('content-disposition', 'attachment; filename="warden-audit.jsonl"').send(Readable.from(lines));
  });
}
