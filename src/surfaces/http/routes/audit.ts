import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AuditFilter } from '../../../services/audit.js';
import type { Warden } from '../../../services/warden.js';
import { csvLines } from '../audit-csv.js';
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
    request: { type: 'string', description: 'the request id the agent gave' },
    policy: { type: 'string' },
    rule: { type: 'string' },
    q: { type: 'string', maxLength: 500, description: 'words of the reason, each as a word or its beginning ("refund ord")' },
    since: { type: 'string', description: 'ISO 8601, or a duration back from now (15m, 24h)' },
    until: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: 10000 },
  },
} as const;

const searchSchema = {
  ...querySchema,
  properties: { ...querySchema.properties, cursor: { type: 'string', maxLength: 200, description: 'the next page: the X-Next-Cursor header of the previous one' } },
} as const;

const exportSchema = {
  ...querySchema,
  properties: { ...querySchema.properties, format: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl' } },
} as const;

/** The URL of the next page: this request's query with the cursor replaced. */
function nextLink(url: string, cursor: string): string {
  const next = new URL(url, 'http://x');
  next.searchParams.set('cursor', cursor);
  return `${next.pathname}${next.search}`;
}

export function registerAuditRoutes(app: FastifyInstance, warden: Warden): void {
  app.get(
    '/v1/audit',
    {
      config: { auth: 'viewer' },
      schema: {
        summary: 'Search the decision log (newest first); the next page is in the X-Next-Cursor and Link headers',
        tags: ['audit'],
        querystring: searchSchema,
      },
    },
    async (req, reply) => {
      const page = await warden.audit.search(principalOf(req), req.query as AuditFilter);
      if (page.next !== undefined) void reply.header('x-next-cursor', page.next).header('link', `<${nextLink(req.url, page.next)}>; rel="next"`);
      return page.records;
    },
  );

  app.get(
    '/v1/audit/export',
    { config: { auth: 'viewer' }, schema: { summary: 'Export the decision log as JSON Lines or CSV (oldest first), streamed', tags: ['audit'], querystring: exportSchema } },
    async (req, reply) => {
      const { format, ...filter } = req.query as AuditFilter & { format?: 'jsonl' | 'csv' };
      if (format === 'csv') {
        const records = await warden.audit.exportRecords(principalOf(req), filter);
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="warden-audit.csv"').send(Readable.from(csvLines(records)));
      }
      const lines = await warden.audit.export(principalOf(req), filter);
      return reply.type('application/x-ndjson').header('content-disposition', 'attachment; filename="warden-audit.jsonl"').send(Readable.from(lines));
    },
  );
}
