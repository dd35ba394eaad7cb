import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';

/** The tool registry as operators see it: every tool, where it runs, and the MCP pins that guard it. */
export function registerToolCatalogRoutes(app: FastifyInstance, warden: Warden): void {
  app.get('/v1/tools', { config: { auth: 'viewer' }, schema: { summary: 'Registered tools, MCP upstream health and tool-definition pins', tags: ['tools'] } }, (req) => warden.tools.catalog(principalOf(req)));

  app.post(
    '/v1/tools/approve',
    {
      config: { auth: 'admin' },
      schema: {
        summary: 'Approve the definition an MCP upstream serves now for one tool (unblocks a changed or new tool)',
        tags: ['tools'],
        body: { type: 'object', required: ['tool', 'reason'], additionalProperties: false, properties: { tool: { type: 'string', minLength: 3, maxLength: 512 }, reason: { type: 'string', minLength: 1, maxLength: 2000 } } },
      },
    },
    async (req) => {
      const { tool, reason } = req.body as { tool: string; reason: string };
      return { tool, pin: await warden.tools.approveDefinition(principalOf(req), tool, reason) };
    },
  );
}
