import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Effect } from '../../../model/effect.js';
import { parseInstant } from '../../../lib/duration.js';
import type { DecisionQuery } from '../../../store/records.js';
import type { ServerContext } from '../context.js';
import { sendProblem } from '../problem.js';

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

type AuditQuery = { agent?: string; tool?: string; effect?: Effect; tenant?: string; session?: string; since?: string; until?: string; limit?: number };

/** An optional query parameter as an instant: undefined when absent, null when unreadable. */
export function queryInstant(text: string | undefined, now: number): number | undefined | null {
  return text === undefined ? undefined : (parseInstant(text, now) ?? null);
}

export function registerAuditRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const toQuery = (q: AuditQuery, tenant: string): DecisionQuery | string => {
    const now = ctx.now();
    const since = queryInstant(q.since, now);
    const until = queryInstant(q.until, now);
    if (since === null) return 'since must be an ISO 8601 date-time or a duration such as 24h';
    if (until === null) return 'until must be an ISO 8601 date-time or a duration such as 1h';
    if (tenant !== '*' && q.tenant && q.tenant !== tenant) return `you may only read tenant ${tenant}`;
    return { agentId: q.agent, tool: q.tool, effect: q.effect, tenant: tenant === '*' ? q.tenant : tenant, sessionId: q.session, since, until };
  };

  app.get('/v1/audit', { schema: { summary: 'Query the decision log (newest first)', tags: ['audit'], querystring: querySchema } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const query = toQuery(req.query as AuditQuery, human.tenant);
    if (typeof query === 'string') return sendProblem(reply, 400, query);
    await ctx.warden.pipeline.rt.log.flush();
    return ctx.warden.store.queryDecisions({ ...query, limit: (req.query as AuditQuery).limit ?? 100, order: 'desc' });
  });

  app.get('/v1/audit/export', { schema: { summary: 'Export the decision log as JSON Lines (oldest first)', tags: ['audit'], querystring: querySchema } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const query = toQuery(req.query as AuditQuery, human.tenant);
    if (typeof query === 'string') return sendProblem(reply, 400, query);
    await ctx.warden.pipeline.rt.log.flush();
    const limit = (req.query as AuditQuery).limit ?? Number.MAX_SAFE_INTEGER;
    const store = ctx.warden.store;
    // Page by seq so a large log streams instead of loading into memory.
    async function* lines() {
      let after = 0;
      let sent = 0;
      while (sent < limit) {
        const page = await store.queryDecisions({ ...(query as DecisionQuery), afterSeq: after, order: 'asc', limit: Math.min(5000, limit - sent) });
        if (page.length === 0) return;
        for (const record of page) yield `${JSON.stringify(record)}\n`;
        sent += page.length;
        after = page[page.length - 1]!.seq;
      }
    }
    return reply.type('application/x-ndjson').header('content-disposition', 'attachment; filename="warden-audit.jsonl"').send(Readable.from(lines()));
  });
}
