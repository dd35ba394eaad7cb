import type { FastifyInstance } from 'fastify';
import type { Human } from '../../../auth/principal.js';
import type { Warden } from '../../../services/warden.js';
import type { ApprovalStatus } from '../../../store/records.js';
import { principalOf } from '../authenticate.js';
import { sendProblem } from '../problem.js';

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'executing', 'executed', 'failed'];

export function registerApprovalRoutes(app: FastifyInstance, warden: Warden): void {
  const approvals = warden.approvals;

  app.get(
    '/v1/approvals',
    { config: { auth: 'any' }, schema: { summary: 'List approvals (an agent its own; people their tenant’s)', tags: ['approvals'], querystring: { type: 'object', properties: { status: { type: 'string', enum: [...STATUSES] }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } } } },
    (req) => approvals.listFor(principalOf(req), req.query as { status?: ApprovalStatus; limit?: number }),
  );

  app.get('/v1/approvals/:id', { config: { auth: 'any' }, schema: { summary: 'One approval (agents poll their result here)', tags: ['approvals'] } }, (req) => approvals.getFor(principalOf(req), (req.params as { id: string }).id));

  for (const vote of ['approve', 'deny'] as const) {
    app.post(
      `/v1/approvals/:id/${vote}`,
      {
        config: { auth: 'approver' },
        schema: {
          summary: vote === 'approve' ? 'Approve (executes the action once the quorum is reached)' : 'Deny',
          tags: ['approvals'],
          body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } } },
        },
      },
      async (req, reply) => {
        const human = principalOf(req) as Human;
        const { id } = req.params as { id: string };
        const outcome = await approvals.vote(id, human, vote, (req.body as { reason: string }).reason);
        if (!outcome.ok) return sendProblem(reply, outcome.httpStatus, outcome.message, { code: outcome.code, ...(outcome.settled ? { settled: outcome.settled } : {}) }, `approval-${outcome.code.replace(/_/g, '-')}`);
        return { approval: approvals.view(outcome.approval, human), ...(outcome.execution ? { execution: approvals.executionView(outcome.execution) } : {}) };
      },
    );
  }
}
