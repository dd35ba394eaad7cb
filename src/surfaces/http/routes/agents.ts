import type { FastifyInstance } from 'fastify';
import { TRUST_LEVELS } from '../../../model/trust.js';
import type { AgentRecord } from '../../../store/records.js';
import { issueApiKey, registerAgent } from '../../../services/agents.js';
import type { ServerContext } from '../context.js';
import { sendProblem } from '../problem.js';

const agentBody = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$' },
    roles: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 64 },
    tenant: { type: 'string', minLength: 1 },
    trust: { type: 'string', enum: [...TRUST_LEVELS] },
  },
} as const;

const reasonBody = { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } } } as const;

/** Registering, listing, suspending and re-keying agents: admins only (viewers may list). */
export function registerAgentRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { warden } = ctx;
  const store = warden.store;

  app.post('/v1/agents', { schema: { summary: 'Register an agent (returns its API key once)', tags: ['agents'], body: agentBody } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'admin');
    if (!human) return reply;
    const body = req.body as { id: string; roles?: string[]; tenant?: string; trust?: AgentRecord['trust'] };
    const registered = await registerAgent(warden, human, body, ctx.now());
    if (!registered.ok) return sendProblem(reply, registered.status, registered.message);
    return reply.code(201).send({ agent: registered.agent, api_key: registered.apiKey, note: 'the API key is shown once; store it now' });
  });

  app.get('/v1/agents', { schema: { summary: 'List agents', tags: ['agents'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const agents = await store.listAgents();
    return agents.filter((a) => human.tenant === '*' || a.tenant === human.tenant);
  });

  app.get('/v1/agents/:id', { schema: { summary: 'One agent', tags: ['agents'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const agent = await store.getAgent((req.params as { id: string }).id);
    if (!agent || (human.tenant !== '*' && agent.tenant !== human.tenant)) return sendProblem(reply, 404, `no agent "${(req.params as { id: string }).id}"`);
    const recent = await store.queryDecisions({ agentId: agent.id, limit: 20 });
    const incidents = await store.listIncidents({ agentId: agent.id, limit: 20 });
    return { ...agent, recent, incidents };
  });

  const adminAgent = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const human = await ctx.requireHuman(req, reply, 'admin');
    if (!human) return undefined;
    const agent = await store.getAgent((req.params as { id: string }).id);
    if (!agent || (human.tenant !== '*' && agent.tenant !== human.tenant)) {
      sendProblem(reply, 404, `no agent "${(req.params as { id: string }).id}"`);
      return undefined;
    }
    return { human, agent };
  };

  for (const [action, status] of [['suspend', 'suspended'], ['resume', 'active']] as const) {
    app.post(`/v1/agents/:id/${action}`, { schema: { summary: `${action === 'suspend' ? 'Suspend' : 'Resume'} an agent`, tags: ['agents'], body: reasonBody } }, async (req, reply) => {
      const found = await adminAgent(req, reply);
      if (!found) return reply;
      const { reason } = req.body as { reason: string };
      const updated = await store.setAgentStatus(found.agent.id, status, reason, ctx.now());
      await warden.pipeline.auditAdmin(`agent.${action}`, found.human.id, `agent ${found.agent.id} ${status}: ${reason}`, { agent: found.agent.id }, found.agent.tenant);
      return updated;
    });
  }

  app.post('/v1/agents/:id/rotate-key', { schema: { summary: "Revoke the agent's API keys and issue a new one", tags: ['agents'] } }, async (req, reply) => {
    const found = await adminAgent(req, reply);
    if (!found) return reply;
    const now = ctx.now();
    const revoked = await store.revokeCredentials(found.agent.id, 'api_key', now);
    const apiKey = await issueApiKey(store, found.agent.id, now);
    await warden.pipeline.auditAdmin('agent.rotate_key', found.human.id, `API keys of ${found.agent.id} rotated (${revoked} revoked)`, { agent: found.agent.id }, found.agent.tenant);
    return { agent: found.agent.id, revoked, api_key: apiKey, note: 'the API key is shown once; store it now' };
  });

  app.patch(
    '/v1/agents/:id',
    {
      schema: {
        summary: 'Change trust level or roles',
        tags: ['agents'],
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { trust: agentBody.properties.trust, roles: agentBody.properties.roles } },
      },
    },
    async (req, reply) => {
      const found = await adminAgent(req, reply);
      if (!found) return reply;
      const body = req.body as { trust?: AgentRecord['trust']; roles?: string[] };
      const updated = { ...found.agent, ...body, updatedAt: ctx.now() };
      await store.upsertAgent(updated);
      await warden.pipeline.auditAdmin('agent.update', found.human.id, `agent ${found.agent.id} changed: ${JSON.stringify(body)}`, { agent: found.agent.id }, found.agent.tenant);
      return updated;
    },
  );
}
