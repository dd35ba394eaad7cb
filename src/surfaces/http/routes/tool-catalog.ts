import type { FastifyInstance } from 'fastify';
import { pinStatus } from '../../../upstream/tool-definition.js';
import type { ServerContext } from '../context.js';
import { sendProblem } from '../problem.js';

/** The tool registry as operators see it: every tool, where it runs, and the MCP pins that guard it. */
export function registerToolCatalogRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/v1/tools', { schema: { summary: 'Registered tools, MCP upstream health and tool-definition pins', tags: ['tools'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const { rt } = ctx.warden.pipeline;
    const tools = [...rt.tools.all()].map((t) => ({ ...t.entry, description: t.description, executable: rt.executors.has(t.entry.name), ...(t.blocked ? { blocked: t.blocked } : {}) }));
    const pins = (await ctx.warden.store.listToolPins()).map((p) => ({ ...p, status: pinStatus(p) }));
    return { tools, upstreams: ctx.warden.mcp.allUpstreams().map((u) => u.health()), pins };
  });

  app.post(
    '/v1/tools/approve',
    {
      schema: {
        summary: 'Approve the definition an MCP upstream serves now for one tool (unblocks a changed or new tool)',
        tags: ['tools'],
        body: { type: 'object', required: ['tool', 'reason'], additionalProperties: false, properties: { tool: { type: 'string', minLength: 3, maxLength: 512 }, reason: { type: 'string', minLength: 1, maxLength: 2000 } } },
      },
    },
    async (req, reply) => {
      const human = await ctx.requireHuman(req, reply, 'admin');
      if (!human) return reply;
      const { tool, reason } = req.body as { tool: string; reason: string };
      if (!(await ctx.warden.store.getToolPin(tool))) return sendProblem(reply, 404, `no pinned tool "${tool}"; GET /v1/tools lists them as <upstream>/<tool>`);
      const pin = await ctx.warden.approveToolDefinition(tool, human.id, reason, human.tenant === '*' ? '' : human.tenant);
      if (!pin) return sendProblem(reply, 409, `${tool} has nothing waiting for approval`);
      return { tool, pin };
    },
  );
}
