import type { Redactor } from '../audit/redact.js';
import { hasRole, type Human, type Principal } from '../auth/principal.js';
import { approverRefusal, type Approver } from '../enforcement/approvers.js';
import type { DecisionRecorder } from '../enforcement/decision-recorder.js';
import { auditRecord } from '../enforcement/audit-record.js';
import type { CallResult } from '../enforcement/exchange.js';
import type { Pipeline } from '../enforcement/pipeline.js';
import type { Decision } from '../model/decision.js';
import type { JsonValue } from '../model/json.js';
import type { ApprovalStore } from '../store/ports.js';
import type { ApprovalRecord, ApprovalStatus } from '../store/records.js';
import { requireHuman, seesTenant, tenantScope } from './access.js';
import { ServiceError } from './errors.js';

export type ApprovalAction =
  | { ok: true; approval: ApprovalRecord; execution?: CallResult }
  | {
      ok: false;
      code: 'not_found' | 'forbidden' | 'not_pending' | 'expired' | 'already_voted';
      message: string;
      httpStatus: 403 | 404 | 409;
      /** On a conflict: where the approval stands and who voted, so the loser sees who decided. */
      settled?: { status: ApprovalStatus; votes: Array<{ approver: string; vote: 'approve' | 'deny'; at: string; reason: string }>; settledAt?: string };
    };

/** What an approval looks like to a caller: the frozen arguments only in redacted form. */
export type ApprovalView = Omit<ApprovalRecord, 'args'> & { expiresInMs: number; canDecide?: boolean; cannotDecideBecause?: string };

export interface ApprovalServiceDeps {
  approvals: ApprovalStore;
  pipeline: Pipeline;
  recorder: DecisionRecorder;
  redactor: Redactor;
  clock: () => number;
}

/**
 * Approvals: who may see which, votes (reaching the quorum executes the action exactly once,
 * through the pipeline's claim), and expiry. Every vote is in the decision log.
 */
export class ApprovalService {
  constructor(private readonly d: ApprovalServiceDeps) {}

  list(filter: { status?: ApprovalStatus; tenant?: string; limit?: number } = {}): Promise<ApprovalRecord[]> {
    return this.d.approvals.listApprovals(filter);
  }

  get(id: string): Promise<ApprovalRecord | undefined> {
    return this.d.approvals.getApproval(id);
  }

  /**
   * Marks pending approvals past their expiry as expired and writes one `approval.expire` record
   * for each (the log says how every approval ended, and approval webhooks tell the channel that
   * nobody needs to look any more); returns them.
   */
  async sweep(): Promise<ApprovalRecord[]> {
    const now = this.d.clock();
    const expired = await this.d.approvals.expireApprovals(now);
    for (const approval of expired) this.recordExpiry(approval, now);
    return expired;
  }

  /** An agent sees its own requests; people with the viewer role see their tenant's. */
  async listFor(principal: Principal, filter: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalView[]> {
    const limit = filter.limit ?? 100;
    if (principal.kind === 'agent') {
      const list = await this.list({ status: filter.status, limit });
      return list.filter((a) => a.agentId === principal.agentId).map((a) => this.view(a));
    }
    const human = requireHuman(principal, 'viewer', 'listing approvals');
    const list = await this.list({ status: filter.status, tenant: tenantScope(human), limit });
    return list.map((a) => this.view(a, human));
  }

  /** One approval, for its agent (polling for the result) or a viewer of its tenant. */
  async getFor(principal: Principal, id: string): Promise<ApprovalView> {
    const approval = await this.get(id);
    const visible = approval && (principal.kind === 'agent' ? approval.agentId === principal.agentId : principal.kind === 'human' && hasRole(principal, 'viewer') && seesTenant(principal, approval.tenant));
    if (!visible) throw new ServiceError('not_found', `no approval "${id}"`);
    return this.view(approval, principal.kind === 'human' ? principal : undefined);
  }

  approve(id: string, approver: Approver, reason: string): Promise<ApprovalAction> {
    return this.vote(id, approver, 'approve', reason);
  }

  deny(id: string, approver: Approver, reason: string): Promise<ApprovalAction> {
    return this.vote(id, approver, 'deny', reason);
  }

  /** A human's vote on a pending approval; reaching the quorum executes the action exactly once. */
  async vote(id: string, approver: Approver, vote: 'approve' | 'deny', reason: string): Promise<ApprovalAction> {
    const approval = await this.d.approvals.getApproval(id);
    // Another tenant's approval looks like none at all, as it does to GET (README "Tenancy").
    if (!approval || (approver.tenant !== '*' && approver.tenant !== approval.tenant)) return { ok: false, code: 'not_found', message: `no approval "${id}"`, httpStatus: 404 };
    const refusal = approverRefusal(approval, approver);
    if (refusal) return { ok: false, code: 'forbidden', message: refusal, httpStatus: 403 };
    const now = this.d.clock();
    const outcome = await this.d.approvals.vote(id, { approver: approver.id, approverRoles: approver.roles, vote, reason, at: now }, now);
    if (!outcome.ok) {
      const current = outcome.approval ?? (await this.d.approvals.getApproval(id));
      if (!current) return { ok: false, code: outcome.code, message: outcome.message, httpStatus: 409 };
      const votes = current.votes.map((v) => ({ approver: v.approver, vote: v.vote, at: new Date(v.at).toISOString(), reason: v.reason }));
      const who = votes.length ? `: ${current.status} (${votes.map((v) => `${v.vote === 'approve' ? 'approved' : 'denied'} by ${v.approver} at ${v.at}`).join('; ')})` : `: ${current.status}`;
      return {
        ok: false,
        code: outcome.code,
        message: `${outcome.message}${who}`,
        httpStatus: 409,
        settled: { status: current.status, votes, ...(current.settledAt ? { settledAt: new Date(current.settledAt).toISOString() } : {}) },
      };
    }
    this.recordVote(outcome.approval, approver, vote, reason, now);
    if (outcome.approval.status !== 'approved') return { ok: true, approval: outcome.approval };
    const execution = await this.d.pipeline.executeApproved(id);
    return { ok: true, approval: (await this.d.approvals.getApproval(id)) ?? outcome.approval, execution };
  }

  /**
   * An approval as a caller sees it. The result of the executed action is the agent's: humans see
   * it through the redactor, as in the log.
   */
  view(a: ApprovalRecord, human?: Human): ApprovalView {
    const { args: _frozen, ...rest } = a;
    if (human && rest.result !== undefined) rest.result = this.d.redactor.redact(rest.result);
    const refusal = human && a.status === 'pending' ? approverRefusal(a, human) : undefined;
    return {
      ...rest,
      expiresInMs: Math.max(0, a.expiresAt - this.d.clock()),
      ...(human ? { canDecide: a.status === 'pending' && !refusal, ...(refusal ? { cannotDecideBecause: refusal } : {}) } : {}),
    };
  }

  /** The execution a vote set off, with its result redacted for the human who voted (they are not the agent). */
  executionView(r: CallResult): { success: boolean; status: CallResult['status']; result: unknown; decision: Decision; audit_id: string } {
    return { success: r.success, status: r.status, result: r.result === undefined ? undefined : this.d.redactor.redact(r.result), decision: r.decision, audit_id: r.auditId };
  }

  private recordVote(approval: ApprovalRecord, approver: Approver, vote: 'approve' | 'deny', reason: string, now: number): void {
    const { redactor } = this.d;
    this.recordSettlement(approval, `approval.${vote}`, { id: approver.id, roles: approver.roles }, now, {
      detail: { vote: { approver: approver.id, vote, reason: redactor.redactText(reason), status: approval.status } },
      message: `${approver.id} voted ${vote} on ${approval.id}${reason ? `: ${reason}` : ''}`,
      allowed: vote === 'approve',
    });
  }

  /** Nobody decided in time: the action is refused for good, and the log says so. */
  private recordExpiry(approval: ApprovalRecord, now: number): void {
    const expiredAt = new Date(approval.expiresAt).toISOString();
    this.recordSettlement(approval, 'approval.expire', undefined, now, {
      detail: { expiry: { status: 'expired', expiredAt, votes: approval.votes.length, quorum: approval.requirement.quorum } },
      message: `approval ${approval.id} expired at ${expiredAt} without a decision (${approval.votes.length} of ${approval.requirement.quorum} votes cast)`,
      allowed: false,
    });
  }

  /** One record of how an approval moved on (a vote, its expiry), tied to the request it holds. */
  private recordSettlement(
    approval: ApprovalRecord,
    action: string,
    user: { id: string; roles: string[] } | undefined,
    now: number,
    what: { detail: Record<string, JsonValue>; message: string; allowed: boolean },
  ): void {
    const { recorder, redactor } = this.d;
    const x = recorder.exchange(
      { agentId: approval.agentId, tool: approval.tool, args: approval.argsRedacted, tenant: approval.tenant, ...(user ? { user } : {}), action, requestId: approval.requestId },
      approval.requestId,
      now,
    );
    x.args = approval.argsRedacted;
    Object.assign(x.details, what.detail);
    const decision: Decision = {
      ...recorder.synthetic(x, { message: what.message, stage: 'approval' }),
      effect: what.allowed ? 'allow' : 'deny',
      policy: approval.policy,
      rule: approval.rule,
    };
    recorder.tryAppend(auditRecord(x, decision, what.allowed ? 'allowed' : 'denied', redactor, { approvalId: approval.id }));
  }
}
