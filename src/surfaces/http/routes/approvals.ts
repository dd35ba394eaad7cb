import type { Redactor } from '../../../audit/redact.js';
import type { FastifyInstance } from 'fastify';
import type { ApprovalRecord, ApprovalStatus } from '../../../store/records.js';
import { approverRefusal } from '../../../enforcement/approvers.js';
import type { ServerContext } from '../context.js';
import { hasRole, type Human } from '../../../auth/principal.js';
import { sendProblem } from '../problem.js';
import type { CallResult } from '../../../enforcement/exchange.js';

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'executing', 'executed', 'failed'];

/**
 * What an approval looks like on the API: the frozen arguments only in redacted form. The result
 * of the executed action is the agent's: humans see it through the redactor, as in the log.
 */
function view(a: ApprovalRecord, now: number, human?: Human, redactor?: Redactor) {
  const { args: _frozen, ...rest } = a;
  if (human && redactor && rest.result !== undefined) rest.result = redactor.redact(rest.result);
  const refusal = human && a.status === 'pending' ? approverRefusal(a, { id: human.id, roles: human.roles, tenant: human.tenant }) : undefined;
  return { ...rest, expiresInMs: Math.max(0, a.expiresAt - now), ...(human ? { canDecide: a.status === 'pending' && !refusal, ...(refusal ? { cannotDecideBecause: refusal } : {}) } : {}) };
}

export function registerApprovalRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { warden } = ctx;

  app.get('/v1/approvals', { schema: { summary: 'List approvals', tags: ['approvals'], querystring: { type: 'object', properties: { status: { type: 'string', enum: [...STATUSES] }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } } } }, async (req, reply) => {
    const principal = await ctx.authenticate(req, reply);
    if (!principal) return reply;
    const q = req.query as { status?: ApprovalStatus; limit?: number };
    if (principal.kind === 'agent') {
      // An agent sees its own requests only.
      const list = await warden.approvals.list({ status: q.status, limit: q.limit ?? 100 });
      return list.filter((a) => a.agentId === principal.agentId).map((a) => view(a, ctx.now()));
    }
    if (!hasRole(principal, 'viewer')) return sendProblem(reply, 403, `${principal.id} needs the viewer role`);
    const list = await warden.approvals.list({ status: q.status, tenant: principal.tenant === '*' ? undefined : principal.tenant, limit: q.limit ?? 100 });
    return list.map((a) => view(a, ctx.now(), principal, warden.pipeline.rt.redactor));
  });

  app.get('/v1/approvals/:id', { schema: { summary: 'One approval (agents poll their result here)', tags: ['approvals'] } }, async (req, reply) => {
    const principal = await ctx.authenticate(req, reply);
    if (!principal) return reply;
    const approval = await warden.approvals.get((req.params as { id: string }).id);
    const visible =
      approval &&
      (principal.kind === 'agent' ? approval.agentId === principal.agentId : hasRole(principal, 'viewer') && (principal.tenant === '*' || principal.tenant === approval.tenant));
    if (!visible) return sendProblem(reply, 404, `no approval "${(req.params as { id: string }).id}"`);
    return view(approval, ctx.now(), principal.kind === 'human' ? principal : undefined, warden.pipeline.rt.redactor);
  });

  for (const vote of ['approve', 'deny'] as const) {
    app.post(
      `/v1/approvals/:id/${vote}`,
      {
        schema: {
          summary: vote === 'approve' ? 'Approve (executes the action once the quorum is reached)' : 'Deny',
          tags: ['approvals'],
          body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } } },
        },
      },
      async (req, reply) => {
        const human = await ctx.requireHuman(req, reply, 'approver');
        if (!human) return reply;
        const { id } = req.params as { id: string };
        const { reason } = req.body as { reason: string };
        const outcome = await (vote === 'approve' ? warden.approvals.approve : warden.approvals.deny)(id, { id: human.id, roles: human.roles, tenant: human.tenant }, reason);
        if (!outcome.ok) return sendProblem(reply, outcome.httpStatus, outcome.message, { code: outcome.code }, `approval-${outcome.code.replace(/_/g, '-')}`);
        return reply.send({
          approval: view(outcome.approval, ctx.now(), human, warden.pipeline.rt.redactor),
          ...(outcome.execution ? { execution: answerBody(outcome.execution, warden.pipeline.rt.redactor) } : {}),
        });
      },
    );
  }
}

/** The execution an approver's vote set off, with its result redacted (they are not the agent). */
function answerBody(r: CallResult, redactor: Redactor) {
  return { success: r.success, status: r.status, result: r.result === undefined ? undefined : redactor.redact(r.result), decision: r.decision, audit_id: r.auditId };
}
