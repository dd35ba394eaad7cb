import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { AuditUnavailableError } from '../audit/decision-log.js';
import type { Redactor } from '../audit/redact.js';
import { sha256 } from '../auth/credentials.js';
import type { GuardsConfig, WardenConfig } from '../config/index.js';
import { durationMs } from '../lib/duration.js';
import { parseActionRequest, type ActionRequest, type ToolEntry } from '../model/action-request.js';
import { canonicalJson } from '../model/canonical-json.js';
import type { Decision } from '../model/decision.js';
import { copyJson, type JsonObject, type JsonValue } from '../model/json.js';
import { decide } from '../policy/decide.js';
import type { ApprovalStore, DecisionLogStore, RelationshipStore } from '../store/ports.js';
import type { ApprovalRecord, Outcome, SessionRecord } from '../store/records.js';
import type { Executor } from '../upstream/executor.js';
import type { ToolRegistry } from '../upstream/tool-registry.js';
import { auditRecord, deferredAuditRecord } from './audit-record.js';
import type { DecisionRecorder } from './decision-recorder.js';
import { EnforcementError } from './errors.js';
import type { CallResult, Credentials, Exchange, ToolCall } from './exchange.js';
import { incidentForDeny, type IncidentRecorder } from './incidents.js';
import { treatResult, treatStoredResult, type TreatedResult } from './result-treatment.js';
import { applyToArguments, applyToResult, ObligationError, type AppliedObligations } from './obligations/apply-obligations.js';
import { buildActionRequest, relationshipSubjects } from './request-builder.js';
import { emptySession, type SessionState } from './session-state.js';
import { authenticate, type AuthenticationDeps } from './stages/authenticate.js';
import { checkArguments } from './stages/check-arguments.js';
import { chargeSessionBudget, checkRateLimits, spendOf, type ConfiguredLimit, type SessionBudget } from './stages/limits.js';
import { decideWithPolicy, type PolicyDecisionDeps } from './stages/policy-decision.js';
import { resolveAgent, type AgentResolutionDeps } from './stages/resolve-agent.js';
import { addSignals, inspectResult, withDenialAt, withExecution, type ResultLesson } from './stages/signals.js';
import { buildAuthzenRequest, withAuthzenContext } from './stages/authzen-mapping.js';
import { decideWithExternalPdp } from './stages/authzen-pdp.js';
import { classifyCall, classifyResult, type ExternalClassifierDeps } from './stages/external-classifier.js';
import type { AuthzenPepDeps } from './authzen/configure.js';
import { guardTenant } from './stages/tenant-guard.js';
import { RetryQuery } from './retry-query.js';
import type { Telemetry } from './telemetry.js';
import { timeOrderedId } from '../lib/time-ordered-id.js';
import { sessionView } from '../guards/sequence.js';

/** Fields of an ActionRequest only Warden fills in; what a caller sends there is dropped and recorded as `details.ignored`. */
const CALLERS_CANNOT_SAY = ['tool', 'session', 'relationships'] as const;

export type DecideOnly = { ok: true; decision: Decision; auditId: string } | { ok: false; errors: string[]; auditId?: string };

/** What a dry run answers: what a real call would have been answered, without any of its effects. */
export interface DryRunResult {
  /** `executed` here means "would execute". */
  status: CallResult['status'];
  decision: Decision;
  httpStatus: CallResult['httpStatus'];
  retryAfterMs?: number;
  /** The request the PDP saw, when the call got that far. */
  request?: ActionRequest;
  /** The decision record, when the dry run was recorded. */
  auditId?: string;
}

/** What the pipeline is built from; each stage is handed only its own part. */
export interface PipelineDeps {
  authentication: AuthenticationDeps;
  agents: AgentResolutionDeps;
  tools: ToolRegistry;
  executors: ReadonlyMap<string, Executor>;
  arguments: WardenConfig['arguments'];
  limits: readonly ConfiguredLimit[];
  budget: SessionBudget;
  sessions: SessionState;
  guards: GuardsConfig;
  /** guards.injection.external: a classifier outside Warden; absent: none. */
  classifier?: ExternalClassifierDeps;
  policy: PolicyDecisionDeps;
  /** AuthZEN as a PEP (COAZ-MCP mappings, an external PDP); absent: neither. */
  authzen?: Pick<AuthzenPepDeps, 'pdp'>;
  relationships: Pick<RelationshipStore, 'relationshipsOf'>;
  approvals: Pick<ApprovalStore, 'createApproval' | 'claimApprovalForExecution' | 'settleApproval' | 'findApprovalForRetry' | 'getApproval'>;
  /** How long a settled approval answers retries of its call (approvals.retry_window), in ms. */
  approvalRetryWindowMs: number;
  decisions: Pick<DecisionLogStore, 'getDecision'>;
  recorder: DecisionRecorder;
  /** Present when a policy deny is an incident (incidents.on_policy_deny). */
  incidents?: IncidentRecorder;
  telemetry: Telemetry;
  redactor: Redactor;
  clock: () => number;
}

/**
 * The policy enforcement point. Every surface hands its exchanges to `call` (a tool call through
 * the full pipeline), `dryRun` (the same stages, none of their effects) or `decideOnly` (a
 * decision for a caller that executes tools itself). The stages run in the order
 * docs/architecture.md gives; every ending, allow or not, leaves one decision record, and every
 * exchange is counted and traced here, whatever surface it came through.
 */
export class Pipeline {
  constructor(private readonly d: PipelineDeps) {}

  async call(call: ToolCall, credentials: Credentials): Promise<CallResult> {
    const x = this.exchange(call, credentials, false);
    return this.traced('warden.tool_call', x, 'call', async () => {
      try {
        const tenant = await this.screen(x, credentials);
        // A retry of a call whose approval was decided is answered from it (idempotent approvals).
        const sent = await this.approvalForRetry(x, tenant);
        if (sent && sent.status !== 'pending') return await this.answerRetry(x, sent);
        const decision = await this.decideScreened(x, tenant);
        if (decision.effect === 'deny') return await this.policyDeny(x, decision);
        const pre = this.argumentObligations(x, decision);
        if (decision.effect === 'require_approval') {
          // Held again: the approval already open for this call (or, when an argument obligation
          // changed the arguments, the one for the arguments as the approval froze them).
          const held = pre.applied.length ? await this.approvalForRetry(x, tenant) : sent;
          return held ? await this.answerRetry(x, held, decision) : await this.hold(x, decision);
        }
        return await this.execute(x, decision, pre);
      } catch (error) {
        return this.ended(x, error);
      }
    });
  }

  /**
   * A dry run: the stages of a real call (agent, registry, arguments, tenant, rate limits and
   * session budget, guards, policies, break-glass, obligations, executor), each reading and none
   * writing: no rate limit is taken, no session changes, no approval is opened, nothing runs. The
   * caller vouches for the agent (a surface that authenticated it). Recorded when `record` is set.
   */
  async dryRun(call: ToolCall, options: { record: boolean; explain?: boolean }): Promise<DryRunResult> {
    // The surface asking authenticated the agent; a user it names is as unproven as in a real call.
    const credentials: Credentials = { kind: 'session' };
    const x = this.exchange(call, credentials, true);
    return this.traced('warden.dry_run', x, 'dry_run', async () => {
      let answer: DryRunResult;
      try {
        const decision = await this.decideExchange(x, credentials, options.explain);
        if (decision.effect !== 'deny') this.argumentObligations(x, decision);
        if (decision.effect === 'allow') this.executorOf(x);
        const status = decision.effect === 'allow' ? 'executed' : decision.effect === 'deny' ? 'denied' : 'pending_approval';
        answer = { status, decision, httpStatus: status === 'executed' ? 200 : status === 'denied' ? 403 : 202 };
      } catch (error) {
        const ending = this.endingOf(error);
        answer = { status: ending.status, decision: this.endingDecision(x, ending), httpStatus: ending.httpStatus, ...(ending.retryAfterMs !== undefined ? { retryAfterMs: ending.retryAfterMs } : {}) };
      }
      if (x.request) answer.request = x.request;
      if (options.record) {
        const outcome: Outcome = answer.decision.effect === 'allow' ? 'allowed' : answer.decision.effect === 'deny' ? 'denied' : 'pending';
        const auditId = this.d.recorder.tryAppend(auditRecord(x, answer.decision, answer.status === 'error' ? 'error' : outcome, this.d.redactor));
        if (auditId) answer.auditId = auditId;
      }
      return answer;
    });
  }

  /** PDP as a service: decides an ActionRequest and logs it; executes nothing. */
  async decideOnly(input: unknown, via: ToolCall['via'] = 'sdk'): Promise<DecideOnly> {
    const parsed = parseActionRequest(input);
    if (!parsed.ok) {
      const { auditId } = this.refuse({ ...describeInvalid(input), via }, new EnforcementError('request', `invalid request: ${parsed.errors.join('; ')}`, { httpStatus: 400 }));
      return { ok: false, errors: parsed.errors, ...(auditId ? { auditId } : {}) };
    }
    return this.decideRequest(parsed.value, via);
  }

  /**
   * Decides an ActionRequest that is already valid, as given: the caller (a surface or service)
   * is responsible for what it asserts in it. `details` are facts for the record (what was asserted).
   */
  async decideRequest(input: ActionRequest, via: ToolCall['via'] = 'sdk', details: JsonObject = {}): Promise<Extract<DecideOnly, { ok: true }>> {
    // Object.assign, not a spread: V8 clones a parsed request (its properties past the in-object
    // ones) through a slow runtime path for `{ ...input }`, ~5 µs per request against ~0.2 here.
    const request: ActionRequest = Object.assign({}, input);
    request.requestId = input.requestId ?? timeOrderedId('req_');
    const tool = this.d.tools.get(request.resource.id);
    const stored = await this.settleFacts(request, tool?.entry);
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
        via,
      },
      { kind: 'trusted' },
      false,
    );
    x.args = request.args;
    x.request = request;
    x.tenant = request.tenant;
    Object.assign(x.details, details);
    x.tool = tool;
    const ignored = CALLERS_CANNOT_SAY.filter((field) => input[field] !== undefined);
    if (ignored.length) x.details.ignored = ignored;
    // The guards look at this request as they would at a call; their findings replace any the
    // caller sent under the same names (a caller cannot vouch for its own input).
    const sent = request.signals;
    return this.d.telemetry.span('warden.decision', exchangeAttributes(x), async (span) => {
      if (this.d.classifier) x.externalVerdict = await classifyCall(x, request.context, this.d.classifier, this.d.guards);
      addSignals(x, request, stored, this.d.guards, this.d.redactor);
      if (sent) request.signals = { ...sent, ...request.signals };
      const decision = decide(this.d.policy.policies.current, request, { now: new Date(x.now) });
      const outcome: Outcome = decision.effect === 'allow' ? 'allowed' : decision.effect === 'deny' ? 'denied' : 'pending';
      const record = await this.d.recorder.append(auditRecord(x, decision, outcome, this.d.redactor), false);
      if (span.isRecording()) span.setAttributes(outcomeAttributes(x, decision, 'decided', record.id));
      this.measure(x, 'decision', decision, 'decided');
      return { ok: true, decision, auditId: record.id };
    });
  }

  /**
   * What a request says of the tool, the session and relationships is Warden's to fill in, never
   * the caller's (README "The ActionRequest"): the registry's entry of a called tool, the session
   * as stored (read, not changed: a decision executes nothing), the relationship store's tuples.
   * Returns the stored session, for the guards.
   */
  private async settleFacts(request: ActionRequest, entry: ToolEntry | undefined): Promise<SessionRecord | undefined> {
    delete request.tool;
    delete request.session;
    delete request.relationships;
    if (entry && request.action === 'tool.call') request.tool = entry;
    const stored = request.sessionId ? await this.d.sessions.read(request.tenant, request.sessionId) : undefined;
    if (stored) request.session = sessionView(stored);
    if (this.d.policy.policies.current.usesRelationships) {
      request.relationships = await this.d.relationships.relationshipsOf(relationshipSubjects(request.actor.agent.id, request.actor.user?.id));
    }
    return stored;
  }

  /**
   * Records a request refused before any decision (an ending at `stage`): a deny from that stage,
   * logged like every other. Returns the record's id.
   */
  refuse(call: ToolCall, error: EnforcementError, tenant?: string): { decision: Decision; auditId?: string } {
    const x = this.exchange(call, { kind: 'trusted' }, false);
    if (tenant !== undefined) x.tenant = tenant;
    const decision = this.endingDecision(x, error);
    const auditId = this.d.recorder.tryAppend(auditRecord(x, decision, 'denied', this.d.redactor));
    this.measure(x, 'decision', decision, 'denied');
    return { decision, ...(auditId ? { auditId } : {}) };
  }

  /** Runs an approved action if nobody else has: the store's claim is the exactly-once gate. */
  async executeApproved(id: string): Promise<CallResult | undefined> {
    const approval = await this.d.approvals.claimApprovalForExecution(id);
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
        via: 'approval',
      },
      { kind: 'trusted' },
      false,
    );
    x.args = approval.args;
    x.tenant = approval.tenant;
    x.details.approvedBy = approval.votes.filter((v) => v.vote === 'approve').map((v) => v.approver);
    return this.traced('warden.approved_call', x, 'call', async () => {
      const original = await this.d.decisions.getDecision(approval.decisionId);
      const decision: Decision = {
        requestId: approval.requestId,
        effect: 'allow',
        reason: `approved by ${(x.details.approvedBy as string[]).join(', ')}: ${approval.reason}`,
        policy: approval.policy,
        rule: approval.rule,
        policyVersion: original?.policyVersion,
        bundle: original?.bundle ?? this.d.policy.policies.current.bundle,
        obligations: original?.obligations ?? [],
        advice: [],
        matched: [],
        shadow: [],
      };
      try {
        if (!approval.args || sha256(canonicalJson(approval.args)) !== approval.argsHash) {
          throw new EnforcementError('approval', 'the frozen arguments no longer match what was approved; not executed', { httpStatus: 409, status: 'error' });
        }
        if (!original) throw new EnforcementError('approval', `the decision record ${approval.decisionId} that asked for approval is missing`, { httpStatus: 409, status: 'error' });
        x.tool = this.d.tools.get(approval.tool);
        if (!x.tool) throw new EnforcementError('approval', `tool "${approval.tool}" is no longer registered; not executed`, { httpStatus: 409, status: 'error' });
        await this.reserveApprovedSpend(x, approval);
        const pre: AppliedObligations = { applied: [], idempotencyKey: idempotencyKeyOf(decision, approval.args) };
        const result = await this.execute(x, decision, pre, approval.id);
        await this.d.approvals.settleApproval(id, result.status === 'executed' ? 'executed' : 'failed', result.result ?? { status: result.status, reason: result.decision.reason }, this.d.clock());
        return result;
      } catch (error) {
        const result = this.ended(x, error, approval.id);
        await this.d.approvals.settleApproval(id, 'failed', { reason: result.decision.reason }, this.d.clock());
        return result;
      }
    });
  }

  // ---------------------------------------------------------------------------------------------

  private exchange(call: ToolCall, credentials: Credentials, dryRun: boolean): Exchange {
    const generated = (credentials.kind === 'trusted' || credentials.kind === 'session') && !call.requestId;
    return {
      started: process.hrtime.bigint(),
      now: this.d.clock(),
      call,
      requestId: generated ? timeOrderedId('req_') : (call.requestId ?? ''),
      dryRun,
      details: {},
    };
  }

  /** Stages 1-7, the same for a call and a dry run: who, which tool, which tenant, limits, signals, the decision. */
  private async decideExchange(x: Exchange, credentials: Credentials, explain = false): Promise<Decision> {
    return this.decideScreened(x, await this.screen(x, credentials), explain);
  }

  /** Stages 1-5 before the session: who, which tool and arguments, which tenant, rate limits. Returns the tenant. */
  private async screen(x: Exchange, credentials: Credentials): Promise<string> {
    const call = x.call;
    if (typeof call.agentId !== 'string' || call.agentId === '' || typeof call.tool !== 'string' || call.tool === '') {
      throw new EnforcementError('request', 'a tool call needs an agent id and a tool name', { httpStatus: 400 });
    }
    await authenticate(x, credentials, this.d.authentication);
    await resolveAgent(x, this.d.agents);
    checkArguments(x, this.d.tools, this.d.arguments);
    const tenant = guardTenant(x);
    x.tenant = tenant;
    await checkRateLimits(x, this.d.limits, tenant);
    // The COAZ mapping: a mapping error ends the call here, before the session and any PDP.
    if (this.d.authzen) x.authzen = buildAuthzenRequest(x, tenant);
    return tenant;
  }

  /** The session's part (budget, guards) and the policies' decision, after `screen`. */
  private async decideScreened(x: Exchange, tenant: string, explain = false): Promise<Decision> {
    // Asked before the session's lock is taken: the classifier's round trip must not hold it.
    if (this.d.classifier) x.externalVerdict = await classifyCall(x, x.call.context, this.d.classifier, this.d.guards);
    await this.failOpen(x, 'limits', () => this.admit(x, tenant));
    if (!x.request) {
      // Failed open: the store could not give the session; the guards see the call alone.
      x.request = await this.buildRequest(x, tenant);
      addSignals(x, x.request, undefined, this.d.guards, this.d.redactor);
    }
    x.decision = await decideWithPolicy(x, x.request, this.d.policy, explain);
    const pdp = this.d.authzen?.pdp;
    if (pdp) x.decision = await decideWithExternalPdp(x, x.decision, x.authzen, pdp);
    return x.decision;
  }

  /**
   * Idempotent approvals. A call that repeats one held for approval — the same agent, tenant,
   * user, tool and canonical arguments — resolves to that approval, whatever its state, instead of
   * opening a second one (which an approver would approve, running the action twice):
   * - executed: its stored result, without running the tool again;
   * - denied: the denial, naming the approval and who denied it;
   * - approved: executed now, through the store's exactly-once claim; executing: pending;
   * - pending (not expired): still pending, the same approval — when the policies hold the call
   *   again (a call they now allow or deny, its context having changed, is decided as such).
   * Decided approvals answer before the session and the policies (a retry costs no budget and
   * cannot run again because the context changed); a pending one after them.
   * An expired approval, a failed execution, or an approval settled longer than
   * `approvals.retry_window` ago answers nothing: a new approval is opened. Each answer is
   * recorded, its details naming the approval (`retryOf`; `servedFromApproval` for a stored result).
   */
  private async approvalForRetry(x: Exchange, tenant: string): Promise<ApprovalRecord | undefined> {
    // The arguments' hash is computed only if the store reads it (retry-query.ts); they do not
    // change during the lookup.
    const query = new RetryQuery(x.agent!.id, tenant, x.call.tool, x.args!, x.user?.id);
    const approval = await this.d.approvals.findApprovalForRetry(query);
    return approval && this.answersRetry(approval, x.now) ? approval : undefined;
  }

  /** The answer of the approval a retried call resolves to (see `approvalForRetry`). */
  private async answerRetry(x: Exchange, found: ApprovalRecord, pdp?: Decision): Promise<CallResult> {
    let approval = found;
    await this.settle(x, 'released');
    x.details.retryOf = approval.id;
    if (approval.status === 'approved') {
      const execution = await this.executeApproved(approval.id);
      if (execution) return execution;
      approval = (await this.d.approvals.getApproval(approval.id)) ?? approval;
    }
    const approvers = approval.votes.filter((v) => v.vote === 'approve').map((v) => v.approver);
    const base: Decision = {
      ...(pdp ?? { requestId: x.requestId, bundle: this.d.policy.policies.current.bundle, advice: [], matched: [], shadow: [] }),
      effect: 'allow',
      reason: '',
      policy: approval.policy,
      rule: approval.rule,
      obligations: [],
      approval: undefined,
      stage: 'approval',
    };
    const respond = async (decision: Decision, outcome: Outcome, result: Omit<CallResult, 'decision' | 'auditId' | 'approvalId'>): Promise<CallResult> => {
      const record = await this.d.recorder.append(auditRecord(x, decision, outcome, this.d.redactor, { approvalId: approval.id }), false);
      return { ...result, decision, approvalId: approval.id, auditId: record.id };
    };
    switch (approval.status) {
      case 'executed': {
        x.details.servedFromApproval = approval.id;
        const served = this.servedResult(approval.tool, approval.result ?? null);
        if (served.effect === 'withhold') {
          x.details.resultTreatment = { treatment: 'withheld', kinds: served.kinds, critical: served.critical };
          return respond({ ...base, effect: 'deny', reason: served.reason, stage: 'result' }, 'denied', { status: 'denied', success: false, httpStatus: 403 });
        }
        const note = served.effect === 'deliver' ? served.note : undefined;
        if (note) x.details.resultTreatment = { treatment: note.treatment, kinds: note.kinds, critical: note.critical, removed: note.removed };
        const decision = { ...base, reason: `served from approval ${approval.id} (approved by ${approvers.join(', ') || 'an approver'}: ${approval.reason}); executed once at ${new Date(approval.settledAt ?? approval.createdAt).toISOString()}, not run again` };
        return respond(decision, 'executed', { status: 'executed', success: true, result: served.result, httpStatus: 200, ...(note ? { resultNote: note } : {}) });
      }
      case 'denied': {
        const vote = approval.votes.find((v) => v.vote === 'deny');
        const decision = { ...base, effect: 'deny' as const, reason: `approval ${approval.id} was denied by ${vote?.approver ?? 'an approver'}${vote?.reason ? `: ${vote.reason}` : ''}; not run` };
        return respond(decision, 'denied', { status: 'denied', success: false, httpStatus: 403 });
      }
      default: {
        // pending, or approved and being executed by another caller right now.
        const status = approval.status === 'pending' ? 'pending' : `${approval.status} (its result follows on a retry)`;
        const decision: Decision = { ...base, effect: 'require_approval', reason: `approval ${approval.id} is ${status}: ${approval.reason}`, approval: approval.requirement };
        return respond(decision, 'pending', { status: 'pending_approval', success: false, httpStatus: 202 });
      }
    }
  }

  /** An approved call's stored result, served again: treated as a fresh result is (result-treatment.ts). */
  servedResult(tool: string, stored: JsonValue): TreatedResult {
    return treatStoredResult(tool, stored, this.d.guards);
  }

  /** Whether an approval still answers a retry of its call at `now` (see `approvalForRetry`). */
  private answersRetry(approval: ApprovalRecord, now: number): boolean {
    switch (approval.status) {
      case 'pending':
        return approval.expiresAt > now;
      case 'approved':
      case 'executing':
        return true;
      case 'executed':
      case 'denied':
        return (approval.settledAt ?? approval.createdAt) + this.d.approvalRetryWindowMs > now;
      default:
        return false;
    }
  }

  /**
   * The session's part of admitting a call, in one read and one write under its lock: the budget
   * is charged, the request is built with the session as the call found it, the guards read it,
   * and what the call taught the session (tainted prompt values) is kept. A dry run reads only.
   */
  private async admit(x: Exchange, tenant: string): Promise<void> {
    const sessionId = x.call.sessionId;
    const admitWith = async (stored: ReturnType<typeof emptySession> | undefined) => {
      const current = stored ?? emptySession(sessionId!, tenant, x.now);
      const charged = chargeSessionBudget(x, current, this.d.budget, tenant);
      x.session = current;
      x.request = await this.buildRequest(x, tenant, current);
      return addSignals(x, x.request, charged, this.d.guards, this.d.redactor);
    };
    if (!sessionId) {
      x.request = await this.buildRequest(x, tenant);
      addSignals(x, x.request, undefined, this.d.guards, this.d.redactor);
    } else if (x.dryRun) {
      await admitWith(await this.d.sessions.read(tenant, sessionId));
    } else {
      await this.d.sessions.update(tenant, sessionId, async (stored) => ({ next: await admitWith(stored), value: undefined }));
    }
  }

  private async buildRequest(x: Exchange, tenant: string, session?: Exchange['session']): Promise<ActionRequest> {
    const call = x.call;
    const agent = x.agent!;
    const policies = this.d.policy.policies.current;
    x.historyUnread = !policies.readsSessionHistory;
    const relationships = policies.usesRelationships ? await this.d.relationships.relationshipsOf(relationshipSubjects(agent.id, x.user?.id)) : undefined;
    return buildActionRequest({
      requestId: x.requestId,
      traceId: call.traceId,
      tenant,
      sessionId: call.sessionId,
      agent,
      user: x.user,
      service: call.service,
      action: call.action ?? 'tool.call',
      resourceId: call.tool,
      args: x.args!,
      context: withAuthzenContext(call.context, x.authzen),
      tool: x.tool!.entry,
      session,
      relationships,
    });
  }

  /**
   * What the outcome of a call teaches its session, in one read and one write: an execution joins
   * its history (and may taint it), a denial joins its denials, and spend reserved for a call that
   * did not run is given back.
   */
  private async settle(x: Exchange, how: 'executed' | 'denied' | 'released', lesson?: ResultLesson): Promise<void> {
    const sessionId = x.call.sessionId;
    const reserved = x.reservedSpend ?? 0;
    x.reservedSpend = undefined;
    const tenant = x.tenant;
    if (!sessionId || tenant === undefined || x.dryRun || (how === 'released' && reserved === 0)) return;
    await this.d.sessions.update(tenant, sessionId, (stored) => {
      if (!stored) return { value: undefined };
      let next = stored;
      if (reserved > 0 && how !== 'executed') next = { ...next, spend: Math.max(0, next.spend - reserved) };
      if (how === 'executed') next = withExecution(x, next, lesson!, this.d.guards);
      if (how === 'denied') next = withDenialAt(x, next);
      return { next: { ...next, updatedAt: this.d.clock() }, value: undefined };
    });
  }

  /**
   * Runs a stage that reads the store. For a tool configured fail-open (low-risk reads only), a
   * store failure lets the call through, and the record says so; otherwise the call is denied.
   */
  private async failOpen<T>(x: Exchange, stage: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof EnforcementError || !x.tool?.failOpen) throw error;
      x.details.failOpen = `${stage}: ${this.d.redactor.redactText((error as Error).message)}`;
      return undefined;
    }
  }

  private argumentObligations(x: Exchange, decision: Decision): AppliedObligations {
    // Caps and redactions change the arguments in place; the record keeps what the PDP saw (replay).
    if (x.decidedArgs === undefined && decision.obligations.some((o) => o.type === 'cap' || o.type === 'redact')) x.decidedArgs = copyJson(x.args!);
    try {
      const applied = applyToArguments(decision.obligations, x.args!);
      if (applied.applied.length) {
        x.details.obligationsApplied = applied.applied;
        // An argument an obligation set or changed must still be one the tool accepts.
        const errors = x.tool!.validate(x.args!);
        if (errors.length) throw new EnforcementError('obligations', `the arguments after obligations (${applied.applied.join('; ')}) do not match the schema of "${x.call.tool}": ${errors.join('; ')}; denied`, { httpStatus: 400 });
      }
      return applied;
    } catch (error) {
      if (error instanceof ObligationError) throw new EnforcementError('obligations', `${error.message}; denied`, { httpStatus: 400 });
      throw error;
    }
  }

  /** require_approval: freeze the arguments, record the decision, persist the approval. */
  private async hold(x: Exchange, decision: Decision): Promise<CallResult> {
    await this.settle(x, 'released');
    const requirement = decision.approval!;
    const id = `apr_${randomUUID()}`;
    const record = await this.d.recorder.appendDurably(auditRecord(x, decision, 'pending', this.d.redactor, { approvalId: id }));
    const args = x.args!;
    await this.d.approvals.createApproval({
      id,
      status: 'pending',
      createdAt: x.now,
      expiresAt: x.now + durationMs(requirement.expiresIn),
      requestId: x.requestId,
      tenant: x.request!.tenant,
      sessionId: x.call.sessionId,
      agentId: x.agent!.id,
      userId: x.user?.id,
      action: x.request!.action,
      tool: x.call.tool,
      args,
      argsHash: sha256(canonicalJson(args)),
      argsRedacted: this.d.redactor.redact(args),
      requirement,
      policy: decision.policy,
      rule: decision.rule,
      reason: decision.reason,
      decisionId: record.id,
      votes: [],
    });
    return { status: 'pending_approval', success: false, decision, approvalId: id, auditId: record.id, httpStatus: 202 };
  }

  private executorOf(x: Exchange): Executor {
    const executor = this.d.executors.get(x.tool!.entry.name);
    if (!executor) {
      throw new EnforcementError('execute', `tool "${x.tool!.entry.name}" has no executor configured (add http: to its entry)`, { httpStatus: 502, status: 'error' });
    }
    return executor;
  }

  /**
   * Runs the tool. A side-effecting tool runs only after its decision record is durable; its
   * outcome is a second record. A read is recorded once, with its outcome, after it ran.
   */
  private async execute(x: Exchange, decision: Decision, pre: AppliedObligations, approvalId?: string): Promise<CallResult> {
    const tool = x.tool!;
    const executor = this.executorOf(x);
    const sideEffect = tool.entry.effect !== 'read';
    const { recorder, redactor } = this.d;
    const first = sideEffect ? await recorder.appendDurably(auditRecord(x, decision, 'allowed', redactor, { approvalId })) : undefined;
    // Built by the flush that writes it: a read's answer does not wait for its record.
    const outcomeRecord = (outcome: Outcome, d: Decision, result?: JsonValue) =>
      deferredAuditRecord(x, d, outcome, redactor, { result, approvalId, kind: first ? 'outcome' : 'decision', decisionId: first?.id });

    // A client span around the tool: HTTP tools and HTTP MCP upstreams are sent its traceparent.
    const run = await this.d.telemetry.span(
      'warden.execute',
      { 'warden.tool': tool.entry.name, 'warden.tool.effect': tool.entry.effect, ...(tool.entry.server ? { 'warden.upstream': tool.entry.server } : {}) },
      async (span) => {
        const answer = await executor({ args: x.args!, requestId: x.requestId, agentId: x.call.agentId, traceId: x.call.traceId, idempotencyKey: pre.idempotencyKey, ...(x.call.channel ? { channel: x.call.channel } : {}) });
        if (!answer.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: 'the tool failed' });
        return answer;
      },
      SpanKind.CLIENT,
    );
    const ran = run.ok ? run.result : undefined;
    const external = this.d.classifier ? await classifyResult(x, ran, this.d.classifier, this.d.guards) : undefined;
    const lesson = inspectResult(x, ran, this.d.guards, redactor, external);
    await this.settle(x, 'executed', lesson);
    if (!run.ok) {
      const failed = { ...decision, reason: `the tool failed: ${redactor.redactText(run.message)}`, stage: 'execute' };
      const record = await recorder.append(outcomeRecord('error', failed), sideEffect);
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
      const record = await recorder.append(outcomeRecord('denied', withheld), sideEffect);
      return { status: 'denied', success: false, decision: withheld, auditId: first?.id ?? record.id, httpStatus: 403 };
    }
    const treated = treatResult(x.call.tool, result, lesson.scan, this.d.guards);
    if (treated.effect === 'withhold') {
      x.details.resultTreatment = { treatment: 'withheld', kinds: treated.kinds, critical: treated.critical };
      const withheld = { ...decision, effect: 'deny' as const, reason: treated.reason, stage: 'result' };
      const record = await recorder.append(outcomeRecord('denied', withheld), sideEffect);
      if (treated.critical) await this.resultIncident(x, treated.reason, first?.id ?? record.id);
      return { status: 'denied', success: false, decision: withheld, auditId: first?.id ?? record.id, httpStatus: 403 };
    }
    const note = treated.effect === 'deliver' ? treated.note : undefined;
    if (treated.effect === 'deliver') {
      result = treated.result;
      x.details.resultTreatment = { treatment: treated.note.treatment, kinds: treated.note.kinds, critical: treated.note.critical, removed: treated.note.removed };
    }
    const record = await recorder.append(outcomeRecord('executed', decision, result), sideEffect);
    if (note?.critical) await this.resultIncident(x, `${x.call.tool} returned ${note.kinds.join(', ')}; the result was ${note.treatment}`, first?.id ?? record.id);
    return { status: 'executed', success: true, result, decision, auditId: first?.id ?? record.id, httpStatus: 200, ...(approvalId ? { approvalId } : {}), ...(note ? { resultNote: note } : {}) };
  }

  /**
   * A critical finding in a result (an exfiltration link) is an incident. Severity high, not
   * critical: the agent is the target of the content, not its author, and a critical incident
   * would suspend it. Recording it may not fail the call.
   */
  private async resultIncident(x: Exchange, description: string, decisionId: string): Promise<void> {
    if (!x.agent || !this.d.incidents) return;
    try {
      await this.d.incidents.report({ agentId: x.agent.id, type: 'result_injection', severity: 'high', description, decisionId, reportedBy: 'warden' }, x.agent);
    } catch {
      // the result's treatment stands without the incident
    }
  }

  /** An approved call's spend is reserved again at execution; the budget may have moved since. */
  private async reserveApprovedSpend(x: Exchange, approval: ApprovalRecord): Promise<void> {
    const amount = spendOf(x);
    const max = this.d.budget.max_spend;
    if (!approval.sessionId || amount === 0) return;
    await this.d.sessions.update(approval.tenant, approval.sessionId, (session) => {
      if (!session) return { value: undefined };
      if (max !== undefined && session.spend + amount > max) {
        throw new EnforcementError('limits', `session spend budget exceeded at execution: ${session.spend} spent + ${amount} > ${max}`, { httpStatus: 429, status: 'error' });
      }
      return { next: { ...session, spend: session.spend + amount, updatedAt: this.d.clock() }, value: undefined };
    });
    x.reservedSpend = amount;
  }

  private endingOf(error: unknown): EnforcementError {
    if (error instanceof EnforcementError) return error;
    if (error instanceof AuditUnavailableError) return new EnforcementError('audit', `${error.message}; denied (fail closed)`, { httpStatus: 503, status: 'error' });
    return new EnforcementError('internal', `Warden could not complete its checks (${(error as Error)?.message ?? String(error)}); denied (fail closed)`, { httpStatus: 503, status: 'error' });
  }

  /** The decision an ending leaves: the PDP's, turned into a deny from the stage, or a synthetic one. */
  private endingDecision(x: Exchange, ending: EnforcementError): Decision {
    Object.assign(x.details, ending.details);
    return x.decision && ending.stage !== 'internal'
      ? { ...x.decision, effect: 'deny', reason: this.d.redactor.redactText(ending.message), stage: ending.stage }
      : this.d.recorder.synthetic(x, ending);
  }

  /** Every early ending: a deny decision from the stage that ended it, logged like any other. */
  private ended(x: Exchange, error: unknown, approvalId?: string): CallResult {
    const ending = this.endingOf(error);
    const decision = this.endingDecision(x, ending);
    const outcome: Outcome = ending.status === 'error' ? 'error' : 'denied';
    const auditId = this.d.recorder.tryAppend(auditRecord(x, decision, outcome, this.d.redactor, { approvalId })) ?? '';
    // A denial after the limits counted the call joins the session's denials (sequence rules).
    void this.settle(x, x.request && outcome === 'denied' ? 'denied' : 'released').catch(() => undefined);
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
    const record = await this.d.recorder.append(auditRecord(x, decision, 'denied', this.d.redactor), false);
    await this.afterPolicyDeny(x, decision, record.id);
    return { status: 'denied', success: false, decision, auditId: record.id, httpStatus: 403 };
  }

  /**
   * After the deny is recorded: the session counts the denial, and the violation (or the guard
   * deny) becomes an incident, which may suspend the agent. Neither may turn the deny into an error.
   */
  private async afterPolicyDeny(x: Exchange, decision: Decision, decisionId: string): Promise<void> {
    await this.settle(x, 'denied').catch(() => undefined);
    if (!x.agent || !this.d.incidents) return;
    try {
      // A suspension is recorded by the incident recorder itself (agent.suspend, audited).
      await this.d.incidents.report(incidentForDeny(decision, x.request?.signals, x.agent.id, decisionId), x.agent);
    } catch {
      // the deny stands; a store that cannot take the incident fails the next call anyway
    }
  }

  /** Runs an exchange in a span, and counts it, whatever surface it came through. */
  private async traced<T extends { status: string; decision: Decision; auditId?: string }>(name: string, x: Exchange, kind: 'call' | 'dry_run', run: () => Promise<T>): Promise<T> {
    return this.d.telemetry.span(name, exchangeAttributes(x), async (span) => {
      const result = await run();
      if (span.isRecording()) span.setAttributes(outcomeAttributes(x, result.decision, result.status, result.auditId));
      // Never the reason as the status message: a policy's reason may quote the arguments.
      if (result.status === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: `ended at ${result.decision.stage ?? 'policy'}` });
      this.measure(x, kind, result.decision, result.status);
      return result;
    });
  }

  private measure(x: Exchange, kind: 'call' | 'decision' | 'dry_run', decision: Decision, status: string): void {
    this.d.telemetry.exchange({ surface: x.call.via ?? 'sdk', kind, tool: String(x.call.tool), effect: decision.effect, stage: decision.stage ?? 'policy', status, started: x.started });
  }
}

/**
 * What a span says about an exchange: who, which tool, through which surface. Never arguments,
 * reasons, user tokens or credentials; the agent and tool are the caller's strings (the tracer's
 * span limits cap their length).
 */
function exchangeAttributes(x: Exchange): Attributes {
  return { 'warden.agent': String(x.call.agentId), 'warden.tool': String(x.call.tool), 'warden.request_id': x.requestId, 'warden.surface': x.call.via ?? 'sdk' };
}

/** What a span says about how an exchange ended: the decision's identifiers, never its reason. */
function outcomeAttributes(x: Exchange, decision: Decision, status: string, auditId: string | undefined): Attributes {
  return {
    'warden.effect': decision.effect,
    'warden.status': status,
    'warden.stage': decision.stage ?? 'policy',
    ...(decision.policy ? { 'warden.policy': decision.policy } : {}),
    ...(decision.rule ? { 'warden.rule': decision.rule } : {}),
    ...(x.tenant !== undefined ? { 'warden.tenant': x.tenant } : {}),
    ...(auditId ? { 'warden.audit_id': auditId } : {}),
  };
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
