import type { FastifyInstance } from 'fastify';
import { TRUST_LEVELS } from '../../../model/trust.js';
import type { Warden } from '../../../services/warden.js';
import type { AgentRecord } from '../../../store/records.js';
import { principalOf } from '../authenticate.js';

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
const KEY_NOTE = 'the API key is shown once; store it now';

/** Registering, listing, suspending and re-keying agents: admins only (viewers may list). */
export function registerAgentRoutes(app: FastifyInstance, warden: Warden): void {
  const agents = warden.agents;
  const idOf = (params: unknown) => (params as { id: string }).id;

  app.post('/v1/agents', { config: { auth: 'admin' }, schema: { summary: 'Register an agent (returns its API key once)', tags: ['agents'], body: agentBody } }, async (req, reply) => {
    const registered = await agents.register(principalOf(req), req.body as { id: string; roles?: string[]; tenant?: string; trust?: AgentRecord['trust'] });
    return reply.code(201).send({ agent: registered.agent, api_key: registered.apiKey, note: KEY_NOTE });
  });

  app.get(
    '/v1/agents',
    {
      config: { auth: 'viewer' },
      schema: {
        summary: 'List agents (with activity=true: calls, denials and last seen over the last hour)',
        tags: ['agents'],
        querystring: { type: 'object', additionalProperties: false, properties: { activity: { type: 'boolean' } } },
      },
    },
    (req) => ((req.query as { activity?: boolean }).activity ? agents.listWithActivity(principalOf(req)) : agents.list(principalOf(req))),
  );

  app.get('/v1/agents/:id', { config: { auth: 'viewer' }, schema: { summary: 'One agent', tags: ['agents'] } }, (req) => agents.get(principalOf(req), idOf(req.params)));

  for (const [action, status] of [['suspend', 'suspended'], ['resume', 'active']] as const) {
    app.post(`/v1/agents/:id/${action}`, { config: { auth: 'admin' }, schema: { summary: `${action === 'suspend' ? 'Suspend' : 'Resume'} an agent`, tags: ['agents'], body: reasonBody } }, async (req) => {
      const { agent } = await agents.setStatus(principalOf(req), idOf(req.params), status, (req.body as { reason: string }).reason);
      return agent;
    });
  }

  app.post('/v1/agents/:id/rotate-key', { config: { auth: 'admin' }, schema: { summary: "Revoke the agent's API keys and issue a new one", tags: ['agents'] } }, async (req) => {
    const rotated = await agents.rotateKey(principalOf(req), idOf(req.params));
    return { agent: rotated.agent, revoked: rotated.revoked, api_key: rotated.apiKey, note: KEY_NOTE };
  });

  app.patch(
    '/v1/agents/:id',
    {
      config: { auth: 'admin' },
      schema: {
        summary: 'Change trust level or roles',
        tags: ['agents'],
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { trust: agentBody.properties.trust, roles: agentBody.properties.roles } },
      },
    },
    (req) => agents.update(principalOf(req), idOf(req.params), req.body as { trust?: AgentRecord['trust']; roles?: string[] }),
  );
}
