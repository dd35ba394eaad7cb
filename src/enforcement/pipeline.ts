import { randomUUID } from 'node:crypto';
import { AuditUnavailableError } from '../audit/decision-log.js';
import { parseActionRequest, type ActionRequest } from '../model/action-request.js';
import { canonicalJson } from '../model/canonical-json.js';
import type { Decision } from '../model/decision.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import { decide } from '../policy/decide.js';
import { durationMs } from '../lib/duration.js';
import type { ApprovalRecord, DecisionRecord, NewDecisionRecord, Outcome } from '../store/records.js';
import { auditRecord } from './audit-record.js';
import { approverRefusal, type Approver } from './approvers.js';
import { sha256 } from '../auth/credentials.js';
import { Ending, type CallResult, type Credentials, type Exchange, type ToolCall } from './exchange.js';
import { applyToArguments, applyToResult, ObligationError, type AppliedObligations } from './obligations/apply-obligations.js';
import type { Runtime } from './runtime.js';
import { authenticate } from './stages/authenticate.js';
import { checkArguments } from './stages/check-arguments.js';
import { checkLimits, releaseSpend, spendOf } from './stages/limits.js';
import { buildRequest, decideWithPolicy } from './stages/policy-decision.js';
import { resolveAgent } from './stages/resolve-agent.js';
import { guardTenant } from './stages/tenant-guard.js';
import { addSignals, observeDenial, observeExecution } from './stages/signals.js';
import { incidentForDeny, reportIncident } from './incidents.js';

/** How long a side-effecting call waits for its decision record to be durable before giving up. */
const DURABILITY_TIMEOUT_MS = 5_000;

export type ApprovalAction =
  | { ok: true; approval: ApprovalRecord; execution?: CallResult }
  | { ok: false; code: 'not_found' | 'forbidden' | 'not_pending' | 'expired' | 'already_voted'; message: string; httpStatus: 403 | 404 | 409 };

export type DecideOnly = { ok: true; decision: Decision; auditId: string } | { ok: false; errors: string[]; auditId?: string };

/**
 * The policy enforcement point. Every surface hands its exchanges to `call` (a tool call through
 * the full pipeline) or `decideOnly` (a decision for a caller that executes tools itself). The
 * stages run in the order DESIGN.md fixes; every ending, allow or not, leaves one decision record.
 */
export class Pipeline {
  constructor(readonly rt: Runtime) {}

  async call(call: ToolCall, credentials: Credentials): Promise<CallResult> {
    const x = this.exchange(call, credentials);
    try {
      if (typeof call.agentId !== 'string' || call.agentId === '' || typeof call.tool !== 'string' || call.tool === '') {
        throw new Ending('request', 'a tool call needs an agent id and a tool name', 400);
      }
      await authenticate(x, credentials, this.rt);
      await resolveAgent(x, this.rt);
      checkArguments(x, this.rt);
      const tenant = guardTenant(x);
      const session = await this.failOpen(x, 'limits', () => checkLimits(x, this.rt, tenant));
      x.request = await buildRequest(x, this.rt, tenant, session ?? undefined);
      await addSignals(x, this.rt, x.request, session ?? undefined);
      const decision = await decideWithPolicy(x, this.rt, x.request);
      x.decision = decision;
      if (decision.effect === 'deny') {
        await releaseSpend(x, this.rt);
        return await this.policyDeny(x, decision);
      }
      const pre = this.argumentObligations(x, decision);
      if (decision.effect === 'require_approval') return await this.hold(x, decision);
      return await this.execute(x, decision, pre);
    } catch (error) {
      return this.ended(x, error);
    }
  }

  /** PDP as a service: decides an ActionRequest and logs it; executes nothing. */
  async decideOnly(input: unknown): Promise<DecideOnly> {
    const parsed = parseActionRequest(input);
    if (!parsed.ok) {
      const x = this.exchange(describeInvalid(input), { kind: 'trusted' });
      const decision = this.syntheticDecision(x, new Ending('request', `invalid request: ${parsed.errors.join('; ')}`, 400));
      const auditId = this.tryAppend(auditRecord(x, decision, 'denied', this.rt.redactor));
      return { ok: false, errors: parsed.errors, auditId };
    }
    const request: ActionRequest = { ...parsed.value, requestId: parsed.value.requestId ?? `req_${randomUUID()}` };
    if (!request.tool && request.action === 'tool.call') request.tool = this.rt.tools.get(request.resource.id)?.entry;
    const x = this.exchange(
      {
        agentId: request.actor.agent.id,
        tool: request.resource.id,
        args: request.args,
        tenant: request.tenant,
        sessionId: request.sessionId,
        user: request.actor.user,
        service: request.actor.service,
        action: request.action,
        requestId: request.requestId,
        traceId: request.traceId,
      },
      { kind: 'trusted' },
    );
    x.args = request.args;
    x.request = request;
    x.tool = this.rt.tools.get(request.resource.id);
    // The guards look at this request as they would at a call; their findings replace any the
    // caller sent under the same names (a caller cannot vouch for its own input).
    const given = request.signals;
    await addSignals(x, this.rt, request, undefined);
    if (given) request.signals = { ...given, ...request.signals };
    const decision = decide(this.rt.policies.current, request, { now: new Date(x.now) });
    const outcome: Outcome = decision.effect === 'allow' ? 'allowed' : decision.effect === 'deny' ? 'denied' : 'pending';
    const { id, durable } = this.rt.log.append(auditRecord(x, decision, outcome, this.rt.redactor), this.rt.config.audit.durable_reads);
    if (this.rt.config.audit.durable_reads) await durable;
    return { ok: true, decision, auditId: id };
  }

  /** A human's vote on a pending approval; reaching the quorum executes the action exactly once. */
  async voteOnApproval(id: string, approver: Approver, vote: 'approve' | 'deny', reason: string): Promise<ApprovalAction> {
    const approval = await this.rt.store.getApproval(id);
    if (!approval) return { ok: false, code: 'not_found', message: `no approval "${id}"`, httpStatus: 404 };
    const refusal = approverRefusal(approval, approver);
    if (refusal) return { ok: false, code: 'forbidden', message: refusal, httpStatus: 403 };
    const now = this.rt.clock();
    const outcome = await this.rt.store.vote(id, { approver: approver.id, approverRoles: approver.roles, vote, reason, at: now }, now);
    if (!outcome.ok) return { ok: false, code: outcome.code, message: outcome.message, httpStatus: 409 };
    this.auditVote(outcome.approval, approver, vote, reason, now);
    if (outcome.approval.status !== 'approved') return { ok: true, approval: outcome.approval };
    const execution = await this.executeApproved(id);
    return { ok: true, approval: (await this.rt.store.getApproval(id)) ?? outcome.approval, execution };
  }

  /** Runs an approved action if nobody else has: the store's claim is the exactly-once gate. */
  async executeApproved(id: string): Promise<CallResult | undefined> {
    const approval = await this.rt.store.claimApprovalForExecution(id);
    if (!approval) return undefined;
    const x = this.exchange(
      {
        agentId: approval.agentId,
        tool: approval.tool,
        args: approval.args,
        tenant: approval.tenant,
        sessionId: approval.sessionId,
        user: approval.userId ? { id: approval.userId } : undefined,
        action: approval.action,
        requestId: approval.requestId,
      },
      { kind: 'trusted' },
    );
    x.args = approval.args;
    x.details.approvedBy = approval.votes.filter((v) => v.vote === 'approve').map((v) => v.approver);
    const original = await this.rt.store.getDecision(approval.decisionId);
    const decision: Decision = {
      requestId: approval.requestId,
      effect: 'allow',
      reason: `approved by ${(x.details.approvedBy as string[]).join(', ')}: ${approval.reason}`,
      policy: approval.policy,
      rule: approval.rule,
      policyVersion: original?.policyVersion,
      bundle: original?.bundle ?? this.rt.policies.current.bundle,
      obligations: original?.obligations ?? [],
      advice: [],
      matched: [],
      shadow: [],
    };
    try {
      if (!approval.args || sha256(canonicalJson(approval.args)) !== approval.argsHash) {
        throw new Ending('approval', 'the frozen arguments no longer match what was approved; not executed', 409, {}, undefined, 'error');
      }
      if (!original) throw new Ending('approval', `the decision record ${approval.decisionId} that asked for approval is missing`, 409, {}, undefined, 'error');
      x.tool = this.rt.tools.get(approval.tool);
      if (!x.tool) throw new Ending('approval', `tool "${approval.tool}" is no longer registered; not executed`, 409, {}, undefined, 'error');
      await this.reserveApprovedSpend(x, approval);
      const pre: AppliedObligations = { applied: [], idempotencyKey: idempotencyKeyOf(decision, approval.args) };
      const result = await this.execute(x, decision, pre, approval.id);
      await this.rt.store.settleApproval(id, result.status === 'executed' ? 'executed' : 'failed', result.result ?? { status: result.status, reason: result.decision.reason }, this.rt.clock());
      return result;
    } catch (error) {
      const result = this.ended(x, error, approval.id);
      await this.rt.store.settleApproval(id, 'failed', { reason: result.decision.reason }, this.rt.clock());
      return result;
    }
  }

  /** Records an operator's action (break-glass grants, suspensions): durable before it returns. */
  async auditAdmin(action: string, by: string, reason: string, details: JsonObject, tenant = ''): Promise<string> {
    const x = this.exchange({ agentId: 'operator', tool: action, args: {}, tenant, user: { id: by }, action }, { kind: 'trusted' });
    x.args = {};
    Object.assign(x.details, details);
    const decision: Decision = { ...this.syntheticDecision(x, new Ending('admin', reason, 200)), effect: 'allow' };
    const record = await this.appendDurably({ ...auditRecord(x, decision, 'allowed', this.rt.redactor), resourceType: 'warden' });
    return record.id;
  }

  /**
   * Records a list decision (which tools, prompts or resources an agent was shown). Not awaited:
   * a listing changes nothing, so it waits for the next group commit like a read.
   */
  recordListing(listing: { agentId: string; tenant: string; sessionId?: string; userId?: string; action: string; shown: number; hidden: string[] }): string | undefined {
    const x = this.exchange({ agentId: listing.agentId, tool: '*', args: {}, tenant: listing.tenant, sessionId: listing.sessionId, user: listing.userId ? { id: listing.userId } : undefined, action: listing.action }, { kind: 'trusted' });
    x.args = {};
    x.details.shown = listing.shown;
    x.details.hidden = listing.hidden.slice(0, 200);
    const reason = `listed ${listing.shown}; hid ${listing.hidden.length} that policy could not allow this agent`;
    const decision: Decision = { ...this.syntheticDecision(x, new Ending('list', reason, 200)), effect: 'allow' };
    return this.tryAppend(auditRecord(x, decision, 'allowed', this.rt.redactor));
  }

  // ---------------------------------------------------------------------------------------------

  private exchange(call: ToolCall, credentials: Credentials): Exchange {
    const generated = credentials.kind === 'trusted' && !call.requestId;
    return {
      started: process.hrtime.bigint(),
      now: this.rt.clock(),
      call,
      requestId: generated ? `req_${randomUUID()}` : (call.requestId ?? ''),
      details: {},
    };
  }

  /**
   * Runs a stage that reads the store. For a tool configured fail-open (low-risk reads only), a
   * store failure lets the call through, and the record says so; otherwise the call is denied.
   */
  private async failOpen<T>(x: Exchange, stage: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof Ending || !x.tool?.failOpen) throw error;
      x.details.failOpen = `${stage}: ${this.rt.redactor.redactText((error as Error).message)}`;
      return undefined;
    }
  }

  private argumentObligations(x: Exchange, decision: Decision): AppliedObligations {
    try {
      const applied = applyToArguments(decision.obligations, x.args!);
      if (applied.applied.length) x.details.obligationsApplied = applied.applied;
      return applied;
    } catch (error) {
      if (error instanceof ObligationError) throw new Ending('obligations', `${error.message}; denied`, 400);
      throw error;
    }
  }

  /** require_approval: freeze the arguments, record the decision, persist the approval. */
  private async hold(x: Exchange, decision: Decision): Promise<CallResult> {
    await releaseSpend(x, this.rt);
    const now = x.now;
    const requirement = decision.approval!;
    const id = `apr_${randomUUID()}`;
    const record = await this.appendDurably(auditRecord(x, decision, 'pending', this.rt.redactor, { approvalId: id }));
    const args = x.args!;
    await this.rt.store.createApproval({
      id,
      status: 'pending',
      createdAt: now,
      expiresAt: now + durationMs(requirement.expiresIn),
      requestId: x.requestId,
      tenant: x.request!.tenant,
      sessionId: x.call.sessionId,
      agentId: x.agent!.id,
      userId: x.call.user?.id,
      action: x.request!.action,
      tool: x.call.tool,
      args,
      argsHash: sha256(canonicalJson(args)),
      argsRedacted: this.rt.redactor.redact(args),
      requirement,
      policy: decision.policy,
      rule: decision.rule,
      reason: decision.reason,
      decisionId: record.id,
      votes: [],
    });
    return { status: 'pending_approval', success: false, decision, approvalId: id, auditId: record.id, httpStatus: 202 };
  }

  /**
   * Runs the tool. A side-effecting tool runs only after its decision record is durable; its
   * outcome is a second record. A read is recorded once, with its outcome, after it ran.
   */
  private async execute(x: Exchange, decision: Decision, pre: AppliedObligations, approvalId?: string): Promise<CallResult> {
    const tool = x.tool!;
    const executor = this.rt.executors.get(tool.entry.name);
    if (!executor) {
      throw new Ending('execute', `tool "${tool.entry.name}" has no executor configured (add http: to its entry)`, 502, {}, undefined, 'error');
    }
    const sideEffect = tool.entry.effect !== 'read';
    const first = sideEffect ? await this.appendDurably(auditRecord(x, decision, 'allowed', this.rt.redactor, { approvalId })) : undefined;
    const outcomeRecord = (outcome: Outcome, d: Decision, result?: JsonValue) =>
      auditRecord(x, d, outcome, this.rt.redactor, { result, approvalId, kind: first ? 'outcome' : 'decision', decisionId: first?.id });

    const run = await executor({ args: x.args!, requestId: x.requestId, agentId: x.call.agentId, traceId: x.call.traceId, idempotencyKey: pre.idempotencyKey });
    await this.recordActivity(x, run.ok ? run.result : undefined);
    if (!run.ok) {
      const failed = { ...decision, reason: `the tool failed: ${this.rt.redactor.redactText(run.message)}`, stage: 'execute' };
      const record = await this.append(outcomeRecord('error', failed), sideEffect);
      return { status: 'error', success: false, decision: failed, auditId: first?.id ?? record.id, httpStatus: 502, ...(approvalId ? { approvalId } : {}) };
    }
    let result: JsonValue;
    try {
      const applied: string[] = [];
      result = applyToResult(decision.obligations, run.result, x.request?.tenant ?? x.call.tenant ?? '', applied);
      if (applied.length) x.details.obligationsApplied = [...((x.details.obligationsApplied as string[] | undefined) ?? []), ...applied];
    } catch (error) {
      if (!(error instanceof ObligationError)) throw error;
      const withheld = { ...decision, effect: 'deny' as const, reason: `${error.message}; the result is withheld`, stage: 'obligations' };
      const record = await this.append(outcomeRecord('denied', withheld), sideEffect);
      return { status: 'denied', success: false, decision: withheld, auditId: first?.id ?? record.id, httpStatus: 403 };
    }
    const record = await this.append(outcomeRecord('executed', decision, result), sideEffect);
    return { status: 'executed', success: true, result, decision, auditId: first?.id ?? record.id, httpStatus: 200, ...(approvalId ? { approvalId } : {}) };
  }

  /**
   * Adds the call to the session's recent activity (what sequence rules look at), and lets the
   * guards look at the result (indirect injection, untrusted output: the session is tainted).
   */
  private async recordActivity(x: Exchange, result: JsonValue | undefined): Promise<void> {
    delete x.details.spendReserved; // executed: the reserved spend is now spent
    await observeExecution(x, this.rt, result);
  }

  /** An approved call's spend is reserved again at execution; the budget may have moved since. */
  private async reserveApprovedSpend(x: Exchange, approval: ApprovalRecord): Promise<void> {
    const amount = spendOf(x);
    const max = this.rt.config.limits.session.max_spend;
    if (!approval.sessionId || amount === 0) return;
    await this.rt.sessionLocks.run(approval.sessionId, async () => {
      const session = await this.rt.store.getSession(approval.sessionId!);
      if (!session) return;
      if (max !== undefined && session.spend + amount > max) {
        throw new Ending('limits', `session spend budget exceeded at execution: ${session.spend} spent + ${amount} > ${max}`, 429, {}, undefined, 'error');
      }
      await this.rt.store.putSession({ ...session, spend: session.spend + amount, updatedAt: this.rt.clock() });
    });
    x.details.spendReserved = amount;
  }

  private auditVote(approval: ApprovalRecord, approver: Approver, vote: 'approve' | 'deny', reason: string, now: number): void {
    const x = this.exchange(
      { agentId: approval.agentId, tool: approval.tool, args: approval.argsRedacted, tenant: approval.tenant, user: { id: approver.id, roles: approver.roles }, action: `approval.${vote}`, requestId: approval.requestId },
      { kind: 'trusted' },
    );
    x.now = now;
    x.args = approval.argsRedacted;
    x.details.vote = { approver: approver.id, vote, reason: this.rt.redactor.redactText(reason), status: approval.status };
    const decision: Decision = {
      requestId: approval.requestId,
      effect: vote === 'approve' ? 'allow' : 'deny',
      reason: `${approver.id} voted ${vote} on ${approval.id}${reason ? `: ${reason}` : ''}`,
      policy: approval.policy,
      rule: approval.rule,
      bundle: this.rt.policies.current.bundle,
      obligations: [],
      advice: [],
      matched: [],
      shadow: [],
      stage: 'approval',
    };
    this.tryAppend(auditRecord(x, decision, vote === 'approve' ? 'allowed' : 'denied', this.rt.redactor, { approvalId: approval.id }));
  }

  private syntheticDecision(x: Exchange, ending: Ending): Decision {
    return {
      requestId: x.requestId,
      effect: 'deny',
      reason: this.rt.redactor.redactText(ending.reason),
      bundle: this.rt.policies.current.bundle,
      obligations: [],
      advice: [],
      matched: [],
      shadow: [],
      stage: ending.stage,
    };
  }

  /** Every early ending: a deny decision from the stage that ended it, logged like any other. */
  private ended(x: Exchange, error: unknown, approvalId?: string): CallResult {
    const ending =
      error instanceof Ending
        ? error
        : error instanceof AuditUnavailableError
          ? new Ending('audit', `${error.message}; denied (fail closed)`, 503, {}, undefined, 'error')
          : new Ending('internal', `Warden could not complete its checks (${(error as Error)?.message ?? String(error)}); denied (fail closed)`, 503, {}, undefined, 'error');
    void releaseSpend(x, this.rt).catch(() => undefined);
    const decision = x.decision && ending.stage !== 'internal' ? { ...x.decision, effect: 'deny' as const, reason: this.rt.redactor.redactText(ending.reason), stage: ending.stage } : this.syntheticDecision(x, ending);
    Object.assign(x.details, ending.details);
    const outcome: Outcome = ending.status === 'error' ? 'error' : 'denied';
    const auditId = this.tryAppend(auditRecord(x, decision, outcome, this.rt.redactor, { approvalId })) ?? '';
    // A denial after the limits counted the call joins the session's denials (sequence rules).
    if (x.request && outcome === 'denied') void observeDenial(x, this.rt).catch(() => undefined);
    return {
      status: ending.status,
      success: false,
      decision,
      auditId,
      httpStatus: ending.httpStatus,
      ...(ending.retryAfterMs !== undefined ? { retryAfterMs: ending.retryAfterMs } : {}),
      ...(approvalId ? { approvalId } : {}),
    };
  }

  private async policyDeny(x: Exchange, decision: Decision): Promise<CallResult> {
    const record = await this.append(auditRecord(x, decision, 'denied', this.rt.redactor), false);
    await this.afterPolicyDeny(x, decision, record.id);
    return { status: 'denied', success: false, decision, auditId: record.id, httpStatus: 403 };
  }

  /**
   * After the deny is recorded: the session counts the denial, and the violation (or the guard
   * deny) becomes an incident, which may suspend the agent. Neither may turn the deny into an error.
   */
  private async afterPolicyDeny(x: Exchange, decision: Decision, decisionId: string): Promise<void> {
    await observeDenial(x, this.rt).catch(() => undefined);
    if (!x.agent || !this.rt.config.incidents.on_policy_deny) return;
    try {
      // A suspension is recorded by reportIncident itself (agent.suspend, audited).
      await reportIncident(this, incidentForDeny(decision, x.request?.signals, x.agent.id, decisionId));
    } catch {
      // the deny stands; a store that cannot take the incident fails the next call anyway
    }
  }

  /** Appends; waits for durability when asked to, or when the config wants every record durable. */
  private async append(entry: NewDecisionRecord, durable: boolean): Promise<DecisionRecord | NewDecisionRecord> {
    if (durable || this.rt.config.audit.durable_reads) return this.appendDurably(entry);
    this.rt.log.append(entry);
    return entry;
  }

  private async appendDurably(entry: NewDecisionRecord): Promise<DecisionRecord> {
    const { durable } = this.rt.log.append(entry, true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AuditUnavailableError(`the decision record was not durable within ${DURABILITY_TIMEOUT_MS} ms`)), DURABILITY_TIMEOUT_MS);
    });
    try {
      return await Promise.race([durable, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** For endings: a log that refuses the record must not turn a deny into a crash. */
  private tryAppend(entry: NewDecisionRecord): string | undefined {
    try {
      return this.rt.log.append(entry).id;
    } catch {
      return undefined;
    }
  }
}

function idempotencyKeyOf(decision: Decision, args: JsonObject): string | undefined {
  const o = decision.obligations.find((ob) => ob.type === 'require_idempotency_key');
  const value = o && o.type === 'require_idempotency_key' ? args[o.arg] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Enough of an invalid ActionRequest to log who sent it. */
function describeInvalid(input: unknown): ToolCall {
  const value = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const actor = (value.actor ?? {}) as { agent?: { id?: unknown } };
  const resource = (value.resource ?? {}) as { id?: unknown };
  const text = (v: unknown, fallback: string) => (typeof v === 'string' && v.length <= 256 ? v : fallback);
  return {
    agentId: text(actor.agent?.id, 'unknown'),
    tool: text(resource.id, 'unknown'),
    args: value.args,
    tenant: text(value.tenant, ''),
    action: text(value.action, 'unknown'),
  };
}
