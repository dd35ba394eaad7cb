import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';

/** A grant as the API answers it (the OpenAPI schema; also what fastify serialises). */
const grantSchema = {
  type: 'object',
  required: ['id', 'grantedBy', 'reason', 'scope', 'createdAt', 'expiresAt'],
  properties: {
    id: { type: 'string', description: 'bg_…' },
    grantedBy: { type: 'string' },
    reason: { type: 'string' },
    scope: {
      type: 'object',
      description: 'which calls it unlocks; an absent field means any',
      properties: { agentId: { type: 'string' }, tool: { type: 'string', description: 'a glob' }, tenant: { type: 'string' } },
    },
    createdAt: { type: 'integer', description: 'ms since the epoch' },
    expiresAt: { type: 'integer', description: 'ms since the epoch' },
    revokedAt: { type: 'integer', description: 'ms since the epoch' },
    revokedBy: { type: 'string' },
    state: { type: 'string', enum: ['active', 'expired', 'revoked', 'scheduled'] },
  },
} as const;

// Unknown fields are refused with propertyNames, not additionalProperties: false, which fastify's
// validator answers by removing them, and a scope whose `agent` typo was dropped unlocks every agent.
const grantBody = {
  type: 'object',
  required: ['reason', 'duration'],
  propertyNames: { enum: ['reason', 'duration', 'scope'] },
  properties: {
    reason: { type: 'string', minLength: 1, maxLength: 2000, description: 'why (written to the decision log)' },
    duration: { type: 'string', pattern: '^(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?$', minLength: 2, maxLength: 32, description: 'how long: 15m, 1h… (at most break_glass.max_duration)' },
    scope: {
      type: 'object',
      propertyNames: { enum: ['agent_id', 'tenant', 'tool'] },
      description: 'which calls it unlocks; an absent field means any (a tenant-scoped admin’s grant is always confined to their tenant)',
      properties: {
        agent_id: { type: 'string', minLength: 1, maxLength: 128 },
        tenant: { type: 'string', minLength: 1, maxLength: 128 },
        tool: { type: 'string', minLength: 1, maxLength: 256, description: 'a tool name or glob (issue_*)' },
      },
    },
  },
} as const;

interface GrantBody {
  reason: string;
  duration: string;
  scope?: { agent_id?: string; tenant?: string; tool?: string };
}

/** Break-glass over HTTP: admins grant and revoke time-boxed overrides; people of the tenant see them. */
export function registerBreakGlassRoutes(app: FastifyInstance, warden: Warden): void {
  const breakGlass = warden.breakGlass;

  app.post(
    '/v1/break-glass',
    { config: { auth: 'admin' }, schema: { summary: 'Grant a time-boxed override of policy denials (admins; at most break_glass.max_duration)', tags: ['break-glass'], body: grantBody, response: { 201: grantSchema } } },
    async (req, reply) => {
      const body = req.body as GrantBody;
      const scope = {
        ...(body.scope?.agent_id !== undefined ? { agentId: body.scope.agent_id } : {}),
        ...(body.scope?.tool !== undefined ? { tool: body.scope.tool } : {}),
        ...(body.scope?.tenant !== undefined ? { tenant: body.scope.tenant } : {}),
      };
      const grant = await breakGlass.grantFor(principalOf(req), { reason: body.reason, duration: body.duration, scope });
      return reply.code(201).send({ ...grant, state: 'active' });
    },
  );

  app.get(
    '/v1/break-glass',
    {
      config: { auth: 'viewer' },
      schema: {
        summary: 'Break-glass grants of your tenant in force now and those that ended in the last 7 days, newest first',
        tags: ['break-glass'],
        querystring: { type: 'object', additionalProperties: false, properties: { active: { type: 'boolean', description: 'only grants in force now' } } },
        response: { 200: { type: 'array', items: grantSchema } },
      },
    },
    (req) => breakGlass.listFor(principalOf(req), req.query as { active?: boolean }),
  );

  app.post(
    '/v1/break-glass/:id/revoke',
    {
      config: { auth: 'admin' },
      // The body (an optional reason) may be left out altogether.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: {
        summary: 'End a break-glass grant now (admins)',
        tags: ['break-glass'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
        body: { type: 'object', propertyNames: { enum: ['reason'] }, properties: { reason: { type: 'string', maxLength: 2000 } } },
        response: { 200: grantSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const grant = await breakGlass.revokeFor(principalOf(req), id, (req.body as { reason?: string } | undefined)?.reason ?? '');
      return { ...grant, state: 'revoked' };
    },
  );
}
