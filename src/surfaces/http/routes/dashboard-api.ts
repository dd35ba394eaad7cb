import type { FastifyInstance } from 'fastify';
import { hasRole } from '../../../auth/principal.js';
import type { JsonObject } from '../../../model/json.js';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';
import { sendProblem } from '../problem.js';

const tryBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    agent_id: { type: 'string', minLength: 1, maxLength: 256 },
    tool: { type: 'string', minLength: 1, maxLength: 256 },
    action: { type: 'string', minLength: 1, maxLength: 128 },
    tenant: { type: 'string', minLength: 1, maxLength: 256 },
    session_id: { type: 'string', minLength: 1, maxLength: 256 },
    arguments: { type: 'object', additionalProperties: true },
    context: { type: 'object', additionalProperties: true },
    user: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1 }, roles: { type: 'array', items: { type: 'string' } } } },
    request: { type: 'object', additionalProperties: true, description: 'A full ActionRequest instead of the fields above: the policies alone decide it (no registry, guards or limits)' },
  },
} as const;

type TryBody = {
  agent_id?: string;
  tool?: string;
  action?: string;
  tenant?: string;
  session_id?: string;
  arguments?: JsonObject;
  context?: JsonObject;
  user?: { id: string; roles?: string[] };
  request?: unknown;
};

/** What "Try a request" ran: a real call's stages without their effects. */
const TRY_NOTE =
  'a dry run of a real call: registry, arguments, tenant, rate limits and session budget (checked, not used), guards, policies, break-glass and obligations; nothing is executed, no approval is opened, and it is not logged';

/**
 * The few read-only API routes the dashboard needs beyond the rest of the API: who is signed in,
 * the results of the policy folder's tests, "try a request", the timeline of one session, and the
 * audit chain status.
 */
export function registerDashboardApiRoutes(app: FastifyInstance, warden: Warden): void {
  app.get('/v1/me', { config: { auth: 'viewer' }, schema: { summary: 'Who the bearer token stands for, and what the dashboard should let them do', tags: ['humans'] } }, (req) => {
    const human = principalOf(req);
    if (human.kind !== 'human') throw new Error('unreachable: the route is for people');
    return { id: human.id, roles: human.roles, tenant: human.tenant, can: { view: true, approve: hasRole(human, 'approver'), admin: hasRole(human, 'admin') } };
  });

  app.get('/v1/policies/tests', { config: { auth: 'viewer' }, schema: { summary: 'Run the policy folder’s *.test.yaml suites against the policies in force', tags: ['policies'] } }, (req) => warden.policies.runTests(principalOf(req)));

  app.post(
    '/v1/policies/try',
    { config: { auth: 'viewer' }, schema: { summary: 'What a call would get: a dry run through the whole pipeline (nothing executed, not logged), with the PDP’s explanation', tags: ['policies'], body: tryBody } },
    async (req, reply) => {
      const body = (req.body ?? {}) as TryBody;
      const principal = principalOf(req);
      if (body.request !== undefined) {
        const { request, decision, knownTool } = warden.decisions.explainRequest(principal, body.request);
        return { request, decision, known_tool: knownTool, note: 'the policies in force alone decided this ActionRequest: no registry, guards, limits, approvals, break-glass or execution, and not logged' };
      }
      if (!body.agent_id || !body.tool) return sendProblem(reply, 400, 'send agent_id and tool (or a full ActionRequest as request)');
      const run = await warden.decisions.tryCall(principal, {
        agentId: body.agent_id,
        tool: body.tool,
        ...(body.action ? { action: body.action } : {}),
        ...(body.tenant ? { tenant: body.tenant } : {}),
        ...(body.session_id ? { sessionId: body.session_id } : {}),
        ...(body.arguments ? { arguments: body.arguments } : {}),
        ...(body.context ? { context: body.context } : {}),
        ...(body.user ? { user: body.user } : {}),
      });
      return {
        request: run.request,
        decision: run.decision,
        status: run.status,
        would: run.status === 'executed' ? 'execute' : run.status === 'pending_approval' ? 'wait for approval' : run.status === 'denied' ? 'be denied' : 'fail',
        known_tool: warden.tools.get(body.tool) !== undefined,
        note: TRY_NOTE,
      };
    },
  );

  app.get(
    '/v1/sessions/:id',
    { config: { auth: 'viewer' }, schema: { summary: 'One session: its state and every decision record of it, oldest first', tags: ['audit'], querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10000 }, tenant: { type: 'string', minLength: 1, description: 'The session’s tenant (operators of every tenant; others see only their own)' } } } } },
    (req) => {
      const query = req.query as { limit?: number; tenant?: string };
      return warden.audit.session(principalOf(req), (req.params as { id: string }).id, query.limit, query.tenant);
    },
  );

  app.get('/v1/audit/verify', { config: { auth: 'viewer' }, schema: { summary: 'Audit chain status: the decision log verified from the last verified checkpoint (the cost of the records since), every break, the checkpoints the log contradicts', tags: ['audit'] } }, (req) =>
    warden.audit.verify(principalOf(req)),
  );
}
