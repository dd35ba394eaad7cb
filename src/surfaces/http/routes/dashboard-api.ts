import type { FastifyInstance } from 'fastify';
import { ChainVerifier, type ChainBreak } from '../../../audit/hash-chain.js';
import { parseActionRequest, type ActionRequest } from '../../../model/action-request.js';
import type { JsonObject } from '../../../model/json.js';
import { decide } from '../../../policy/decide.js';
import { readPolicyFolder } from '../../../policy/load.js';
import { runTestSuites } from '../../../policy/test-suite.js';
import type { ServerContext } from '../context.js';
import { hasRole } from '../../../auth/principal.js';
import { sendProblem } from '../problem.js';

/** The whole chain is re-verified at most this often (it reads the whole log); new records every time. */
const VERIFY_CACHE_MS = 30_000;

const tryBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    agent_id: { type: 'string', minLength: 1, maxLength: 256 },
    tool: { type: 'string', minLength: 1, maxLength: 256 },
    action: { type: 'string', minLength: 1, maxLength: 128 },
    tenant: { type: 'string', minLength: 1, maxLength: 256 },
    arguments: { type: 'object', additionalProperties: true },
    context: { type: 'object', additionalProperties: true },
    user: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1 }, roles: { type: 'array', items: { type: 'string' } } } },
    request: { type: 'object', additionalProperties: true, description: 'A full ActionRequest instead of the fields above' },
  },
} as const;

type TryBody = {
  agent_id?: string;
  tool?: string;
  action?: string;
  tenant?: string;
  arguments?: JsonObject;
  context?: JsonObject;
  user?: { id: string; roles?: string[] };
  request?: unknown;
};

/**
 * The few read-only API routes the dashboard needs beyond the rest of the API: the results of the
 * policy folder's tests, a "try a request" evaluation (the pure PDP with its explanation; nothing
 * is executed or logged), the timeline of one session, and the audit chain status.
 */
export function registerDashboardApiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { warden } = ctx;

  app.get('/v1/me', { schema: { summary: 'Who the bearer token stands for, and what the dashboard should let them do', tags: ['humans'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    return { id: human.id, roles: human.roles, tenant: human.tenant, can: { view: true, approve: hasRole(human, 'approver'), admin: hasRole(human, 'admin') } };
  });

  app.get('/v1/policies/tests', { schema: { summary: 'Run the policy folder’s *.test.yaml suites against the policies in force', tags: ['policies'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const folder = await readPolicyFolder(warden.config.policiesDir);
    const run = runTestSuites(warden.policySet, folder.tests);
    return {
      bundle: warden.policySet.bundle,
      passed: run.results.filter((r) => r.passed).length,
      failed: run.results.filter((r) => !r.passed).length,
      results: run.results.map((r) => ({ suite: r.suite, file: r.file, line: r.line, name: r.name, passed: r.passed, failures: r.failures, effect: r.decision?.effect, rule: r.decision?.rule })),
      diagnostics: [...folder.diagnostics, ...run.diagnostics],
    };
  });

  app.post('/v1/policies/try', { schema: { summary: 'Evaluate a request against the policies in force, with the explanation (not executed, not logged)', tags: ['policies'], body: tryBody } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const body = (req.body ?? {}) as TryBody;
    let input: unknown = body.request;
    if (input === undefined) {
      if (!body.agent_id || !body.tool) return sendProblem(reply, 400, 'send agent_id and tool (or a full ActionRequest as request)');
      const agent = await warden.store.getAgent(body.agent_id);
      if (!agent || (human.tenant !== '*' && agent.tenant !== human.tenant)) return sendProblem(reply, 404, `no agent "${body.agent_id}"`);
      const tenant = body.tenant ?? agent.tenant ?? (human.tenant === '*' ? undefined : human.tenant);
      if (!tenant) return sendProblem(reply, 400, `agent ${agent.id} has no tenant; say which tenant the request is for`);
      const tool = warden.pipeline.rt.tools.get(body.tool)?.entry;
      input = {
        requestId: `try_${Date.now().toString(36)}`,
        tenant,
        actor: {
          agent: { id: agent.id, roles: agent.roles, trust: agent.trust, ...(agent.tenant ? { tenant: agent.tenant } : {}) },
          ...(body.user ? { user: { id: body.user.id, roles: body.user.roles ?? [] } } : {}),
        },
        action: body.action ?? 'tool.call',
        resource: { type: 'tool', id: body.tool, tenant, attributes: {} },
        args: body.arguments ?? {},
        context: body.context ?? {},
        ...(tool ? { tool } : {}),
      };
    }
    const parsed = parseActionRequest(input);
    if (!parsed.ok) return sendProblem(reply, 400, `invalid ActionRequest: ${parsed.errors.join('; ')}`, { errors: parsed.errors }, 'invalid-request');
    const request: ActionRequest = { ...parsed.value, requestId: parsed.value.requestId ?? 'try' };
    if (human.tenant !== '*' && request.tenant !== human.tenant) return sendProblem(reply, 403, `${human.id} may only try requests of tenant ${human.tenant}`);
    if (!request.tool && request.action === 'tool.call') request.tool = warden.pipeline.rt.tools.get(request.resource.id)?.entry;
    const decision = decide(warden.policySet, request, { now: new Date(ctx.now()), explain: true });
    return { request, decision, known_tool: request.tool !== undefined, note: 'evaluated by the policies in force only: no limits, approvals, break-glass or execution, and not logged' };
  });

  app.get('/v1/sessions/:id', { schema: { summary: 'One session: its state and every decision record of it, oldest first', tags: ['audit'], querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10000 } } } } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const { id } = req.params as { id: string };
    await warden.pipeline.rt.log.flush();
    const session = await warden.store.getSession(id);
    const tenant = human.tenant === '*' ? undefined : human.tenant;
    const records = await warden.store.queryDecisions({ sessionId: id, tenant, order: 'asc', limit: (req.query as { limit?: number }).limit ?? 1000 });
    const visibleSession = session && (tenant === undefined || session.tenant === tenant) ? session : undefined;
    if (!visibleSession && records.length === 0) return sendProblem(reply, 404, `no session "${id}"`);
    return { id, session: visibleSession, records };
  });

  // The chain is verified in full at most every 30 s; in between, only the records written since
  // are checked, continuing from the last verified one, so the status is always current and cheap.
  let chain: { verifier: ChainVerifier; afterSeq: number; head?: { seq: number; hash: string }; fullAt: number; broken?: ChainBreak } | undefined;
  let running: Promise<NonNullable<typeof chain>> = Promise.resolve(undefined as never);
  const verifyChain = async (): Promise<NonNullable<typeof chain>> => {
    await warden.pipeline.rt.log.flush();
    if (!chain || Date.now() - chain.fullAt > VERIFY_CACHE_MS) chain = { verifier: new ChainVerifier(), afterSeq: 0, fullAt: Date.now() };
    const c = chain;
    while (!c.broken) {
      const page = await warden.store.scanDecisions(c.afterSeq, 5_000);
      if (page.length === 0) break;
      c.broken = c.verifier.check(page);
      const last = page[page.length - 1]!;
      c.afterSeq = last.seq;
      if (!c.broken) c.head = { seq: last.seq, hash: last.hash };
    }
    return c;
  };
  app.get('/v1/audit/verify', { schema: { summary: 'Audit chain status: the hash chain of the decision log, verified in full at most every 30 s and incrementally in between', tags: ['audit'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    running = running.catch(() => undefined).then(verifyChain);
    const c = await running;
    return { ok: !c.broken, checked: c.verifier.checked, broken: c.broken, head: c.head, fullVerificationAt: new Date(c.fullAt).toISOString() };
  });
}
