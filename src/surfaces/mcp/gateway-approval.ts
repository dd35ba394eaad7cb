import { setTimeout as sleep } from 'node:timers/promises';
import type { Decision } from '../../model/decision.js';
import { approverRefusal, type Approver } from '../../enforcement/approvers.js';
import type { CallResult } from '../../enforcement/exchange.js';
import type { Pipeline } from '../../enforcement/pipeline.js';
import type { ApprovalRecord } from '../../store/records.js';
import type { Warden } from '../../services/warden.js';

/** How a held call can be settled while the agent's request is still open. */
export interface HoldContext {
  warden: Warden;
  /** The user the session acts for, as an approver (roles and tenant from warden.yaml's humans). */
  user?: Approver;
  /**
   * Asks the user in the client (MCP elicitation); undefined when the client cannot, or cannot be
   * reached from here. The question is withdrawn when `signal` aborts.
   */
  elicit?: (message: string, signal: AbortSignal) => Promise<{ approve: boolean; reason: string } | undefined>;
  /** How long to keep the request open waiting for an approver. */
  waitMs: number;
  /** Progress notifications while waiting (when the client sent a progress token). */
  progress?: (elapsedMs: number, totalMs: number, message: string) => Promise<void>;
  signal: AbortSignal;
}

export type Settled = { kind: 'final'; result: CallResult } | { kind: 'pending'; result: CallResult; waitedMs: number };

const POLL_MS = 200;
const PROGRESS_EVERY_MS = 1_000;

/**
 * A call the pipeline held for approval: asks the requesting user through elicitation when the
 * rule lets them approve, otherwise waits (with progress) for an approver on the API, and gives
 * up with "pending" after `waitMs`. The execution itself is the pipeline's exactly-once claim.
 */
export async function settleHeld(held: CallResult, ctx: HoldContext): Promise<Settled> {
  const id = held.approvalId!;
  const approval = await ctx.warden.store.getApproval(id);
  if (!approval) return { kind: 'pending', result: held, waitedMs: 0 };
  if (ctx.user && ctx.elicit && approverRefusal(approval, ctx.user) === undefined) {
    const started = Date.now();
    // The answer may never come (the client ignores it, or it reached another replica): an
    // approver settling the approval elsewhere ends the question, and the wait is one budget.
    const question = new AbortController();
    const watch = new AbortController();
    let settled = false;
    const asked = ctx.elicit(elicitationMessage(approval), question.signal).then(
      (a) => ((settled = true), a),
      () => ((settled = true), undefined),
    );
    const answer = await Promise.race([asked, decidedElsewhere(id, ctx, watch.signal)]);
    watch.abort();
    // Decided elsewhere first: the question is withdrawn (the client is told it was cancelled).
    if (!settled) question.abort();
    if (answer) {
      const vote = await ctx.warden.approvals.vote(id, ctx.user, answer.approve ? 'approve' : 'deny', answer.reason || (answer.approve ? 'approved in the MCP client' : 'declined in the MCP client'));
      if (vote.ok && vote.execution) return { kind: 'final', result: vote.execution };
      // Someone else settled it first, or the vote did not reach the quorum: wait like anyone else.
    }
    return waitForApprover(held, { ...ctx, waitMs: Math.max(0, ctx.waitMs - (Date.now() - started)) });
  }
  return waitForApprover(held, ctx);
}

/** Resolves (undefined) once the approval is no longer pending, or when `signal` aborts. */
async function decidedElsewhere(id: string, ctx: HoldContext, signal: AbortSignal): Promise<undefined> {
  while (!signal.aborted) {
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
    const approval = await ctx.warden.store.getApproval(id).catch(() => undefined);
    if (!approval || approval.status !== 'pending' || approval.expiresAt <= ctx.warden.clock()) break;
  }
  return undefined;
}

async function waitForApprover(held: CallResult, ctx: HoldContext): Promise<Settled> {
  const id = held.approvalId!;
  const started = Date.now();
  let lastProgress = -Infinity;
  let sawApproved = false;
  for (;;) {
    const approval = await ctx.warden.store.getApproval(id);
    if (!approval) return { kind: 'final', result: { ...held, status: 'error', decision: { ...held.decision, effect: 'deny', reason: `approval ${id} no longer exists` } } };
    const now = ctx.warden.clock();
    if (approval.status === 'pending' && approval.expiresAt <= now) await ctx.warden.approvals.sweep();
    if (approval.status === 'approved') {
      // The approver's request normally executes it at once; if it has not, this claim does (once).
      if (sawApproved) {
        const execution = await ctx.warden.pipeline.executeApproved(id);
        if (execution) return { kind: 'final', result: execution };
      }
      sawApproved = true;
    }
    const settled = fromSettledApproval(approval, held, ctx.warden.pipeline);
    if (settled) return { kind: 'final', result: settled };
    const waited = Date.now() - started;
    if (waited >= ctx.waitMs || ctx.signal.aborted) return { kind: 'pending', result: held, waitedMs: waited };
    if (ctx.progress && waited - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = waited;
      await ctx.progress(waited, ctx.waitMs, `waiting for approval ${id} (${approval.status})`).catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, ctx.waitMs - waited)));
  }
}

/** The answer for an approval that reached an end: its execution's result, or why it will not run. */
function fromSettledApproval(approval: ApprovalRecord, held: CallResult, pipeline: Pick<Pipeline, 'servedResult'>): CallResult | undefined {
  const approvers = approval.votes.filter((v) => v.vote === 'approve').map((v) => v.approver);
  const base: Decision = { ...held.decision, approval: undefined };
  switch (approval.status) {
    case 'executed': {
      // The result as the approved execution stored it, with the warning a fresh one would carry.
      const served = pipeline.servedResult(approval.tool, approval.result ?? null);
      if (served.effect === 'withhold') return { ...held, status: 'denied', decision: { ...base, effect: 'deny', reason: served.reason, stage: 'result' }, httpStatus: 403 };
      return {
        status: 'executed',
        success: true,
        result: served.result,
        decision: { ...base, effect: 'allow', reason: `approved by ${approvers.join(', ')}: ${approval.reason}` },
        approvalId: approval.id,
        auditId: held.auditId,
        httpStatus: 200,
        ...(served.effect === 'deliver' ? { resultNote: served.note } : {}),
      };
    }
    case 'failed': {
      const why = (approval.result as { reason?: string } | undefined)?.reason ?? 'the tool failed';
      return { ...held, status: 'error', decision: { ...base, effect: 'deny', reason: `approved, but the execution failed: ${why}` }, httpStatus: 502 };
    }
    case 'denied': {
      const vote = approval.votes.find((v) => v.vote === 'deny');
      return { ...held, status: 'denied', decision: { ...base, effect: 'deny', reason: `denied by ${vote?.approver ?? 'an approver'}${vote?.reason ? `: ${vote.reason}` : ''}` }, httpStatus: 403 };
    }
    case 'expired':
      return { ...held, status: 'denied', decision: { ...base, effect: 'deny', reason: `approval ${approval.id} expired before anyone approved it` }, httpStatus: 403 };
    default:
      return undefined;
  }
}

function elicitationMessage(approval: ApprovalRecord): string {
  return (
    `Warden holds this action for your approval.\n` +
    `Agent ${approval.agentId} wants to call ${approval.tool} with ${JSON.stringify(approval.argsRedacted)}.\n` +
    `Why it needs approval: ${approval.reason}\n` +
    `Approve it? It runs once if you do.`
  );
}
