import { hasRole, principalName, type Principal } from '../auth/principal.js';
import { EnforcementError, type EndingHttpStatus } from '../enforcement/errors.js';
import type { Pipeline } from '../enforcement/pipeline.js';
import {
  authzenToActionRequest,
  decisionToAuthzen,
  parseAuthzenEvaluations,
  type AuthzenDecision,
  type AuthzenEvaluation,
  type AuthzenParties,
  type EvaluationsSemantic,
} from '../model/authzen.js';
import type { JsonObject } from '../model/json.js';
import type { AgentStore } from '../store/ports.js';
import { ServiceError } from './errors.js';
import { timeOrderedId } from '../lib/time-ordered-id.js';

export interface AuthzenServiceDeps {
  pipeline: Pipeline;
  agents: Pick<AgentStore, 'getAgent'>;
  /** `authzen.max_evaluations`. */
  maxEvaluations: number;
  /** `authzen.reasons`. */
  reasons: boolean;
}

/** What the caller said besides the body: the tenant it asks for (when it serves several) and its request id. */
export interface AuthzenCall {
  tenant?: string;
  requestId?: string;
}

/** Subject types that are the person an action is for; `agent` is an agent of the registry. */
const AGENT_TYPE = 'agent';

/**
 * Warden as an OpenID AuthZEN PDP (Authorization API 1.0). The caller is a PEP credential (an
 * application, gateway or identity provider that authenticated its own users), an admin asking
 * what-if, or an agent asking about itself. Each evaluation becomes an ActionRequest
 * (model/authzen.ts) decided by the same PDP and recorded like every decision:
 * - a subject of type `agent` is an agent of the registry: its roles, trust and tenant are the
 *   registry's; an unknown agent, one of another tenant, a suspended one, or (for an agent caller)
 *   any agent but itself is refused — `decision: false`, the reason in `context.error`, and a deny
 *   record. Nothing the subject's properties say about an agent is believed.
 * - any other subject is the user: the PEP vouches for them (`verified`), and `properties.roles`
 *   (strings) are their asserted roles; the record says they were asserted and by whom. The
 *   acting agent is the PEP itself, `pep:<id>` (no roles, low trust), as records show it.
 */
export class AuthzenService {
  constructor(private readonly d: AuthzenServiceDeps) {}

  /** POST /access/v1/evaluation: one decision. */
  async evaluate(principal: Principal, body: unknown, call: AuthzenCall = {}): Promise<AuthzenDecision> {
    const tenant = this.tenantOf(principal, call);
    const parsed = parseAuthzenEvaluations(stripEvaluations(body), 1);
    if (!parsed.ok) throw this.invalid(principal, tenant, call, parsed.errors);
    return this.decideOne(principal, tenant, parsed.value.evaluations[0]!, call.requestId ?? timeOrderedId('authzen_'));
  }

  /**
   * POST /access/v1/evaluations: the batch, in order, under its semantic. `deny_on_first_deny`
   * stops after the first decision that is not true, `permit_on_first_permit` after the first true
   * one; the answer lists the decisions made (each one recorded), up to and including that one.
   */
  async evaluateMany(principal: Principal, body: unknown, call: AuthzenCall = {}): Promise<{ evaluations: AuthzenDecision[] } | AuthzenDecision> {
    const tenant = this.tenantOf(principal, call);
    const parsed = parseAuthzenEvaluations(body, this.d.maxEvaluations);
    if (!parsed.ok) throw this.invalid(principal, tenant, call, parsed.errors);
    const { evaluations, semantic } = parsed.value;
    const base = call.requestId ?? timeOrderedId('authzen_');
    // No `evaluations` array: the request is a single evaluation and answers like one.
    if (!isBatch(body)) return this.decideOne(principal, tenant, evaluations[0]!, base);
    const out: AuthzenDecision[] = [];
    for (const [i, evaluation] of evaluations.entries()) {
      const decision = await this.decideOne(principal, tenant, evaluation, `${base}#${i}`, semantic);
      out.push(decision);
      if (stops(semantic, decision)) break;
    }
    return { evaluations: out };
  }

  /** The tenant this request is for; a caller refused here leaves a deny record too. */
  private tenantOf(principal: Principal, call: AuthzenCall): string {
    try {
      return this.settleTenant(principal, call);
    } catch (error) {
      if (error instanceof ServiceError) {
        this.d.pipeline.refuse(
          { agentId: principal.kind === 'agent' ? principal.agentId : principalName(principal), tool: 'authzen', args: {}, action: 'authzen.evaluation', ...(call.tenant ? { tenant: call.tenant } : {}), ...(call.requestId ? { requestId: call.requestId } : {}), via: 'authzen' },
          new EnforcementError(error.code === 'forbidden' ? 'tenant' : 'request', error.message, { httpStatus: error.code === 'forbidden' ? 403 : 400 }),
        );
      }
      throw error;
    }
  }

  /** The one the caller named, checked against what it may ask about; or the only one it has. */
  private settleTenant(principal: Principal, call: AuthzenCall): string {
    const named = call.tenant?.trim() || undefined;
    if (principal.kind === 'pep') {
      if (named !== undefined) {
        if (!principal.tenants.includes(named)) throw new ServiceError('forbidden', `PEP ${principal.id} does not enforce for tenant "${named}" (its tenants: ${principal.tenants.join(', ')})`, { problem: 'cross-tenant' });
        return named;
      }
      if (principal.tenants.length === 1) return principal.tenants[0]!;
      throw new ServiceError('invalid', `PEP ${principal.id} serves several tenants (${principal.tenants.join(', ')}): say which with the X-Warden-Tenant header`, { problem: 'tenant-required' });
    }
    if (principal.kind === 'human') {
      if (!hasRole(principal, 'admin')) throw new ServiceError('forbidden', `${principal.id} needs the admin role (or a PEP credential) to ask for AuthZEN decisions`, { problem: 'missing-role' });
      const tenant = named ?? (principal.tenant === '*' ? undefined : principal.tenant);
      if (!tenant) throw new ServiceError('invalid', 'say which tenant the request is for with the X-Warden-Tenant header', { problem: 'tenant-required' });
      if (principal.tenant !== '*' && tenant !== principal.tenant) throw new ServiceError('forbidden', `${principal.id} may only ask about tenant ${principal.tenant}`, { problem: 'cross-tenant' });
      return tenant;
    }
    // An agent: its tenant is the registry's, settled per evaluation; a named one must match it there.
    return named ?? '';
  }

  private async decideOne(principal: Principal, tenant: string, e: AuthzenEvaluation, requestId: string, semantic?: EvaluationsSemantic): Promise<AuthzenDecision> {
    const settled = await this.parties(principal, tenant, e, requestId);
    if ('refused' in settled) {
      const { stage, message, status } = settled.refused;
      const { auditId } = this.d.pipeline.refuse(
        { agentId: principal.kind === 'agent' ? principal.agentId : principalName(principal), tool: e.resource.id, args: e.action.properties ?? {}, action: e.action.name, tenant: tenant || undefined, requestId, via: 'authzen' },
        new EnforcementError(stage, message, { httpStatus: status satisfies EndingHttpStatus }),
        tenant || undefined,
      );
      return { decision: false, context: { ...(auditId ? { evaluation_id: auditId } : {}), error: { status, message } } };
    }
    const request = authzenToActionRequest(e, settled.parties);
    const details: JsonObject = { protocol: 'authzen', subject: { type: e.subject.type, id: e.subject.id }, ...settled.details, ...(semantic ? { evaluations_semantic: semantic } : {}) };
    const { decision, auditId } = await this.d.pipeline.decideRequest(request, 'authzen', details);
    return decisionToAuthzen(decision, { reasons: this.d.reasons, evaluationId: auditId });
  }

  /** Who acts in one evaluation, settled from the credential and the registry — or why not. */
  private async parties(
    principal: Principal,
    tenant: string,
    e: AuthzenEvaluation,
    requestId: string,
  ): Promise<{ parties: AuthzenParties; details: JsonObject } | { refused: { stage: string; message: string; status: 400 | 403 | 404 } }> {
    const refused = (stage: string, message: string, status: 400 | 403 | 404 = 403) => ({ refused: { stage, message, status } });
    if (e.subject.type === AGENT_TYPE) {
      if (principal.kind === 'agent' && e.subject.id !== principal.agentId) {
        return refused('authenticate', `an agent may only ask about itself (connected as "${principal.agentId}", subject is agent "${e.subject.id}")`);
      }
      const agent = await this.d.agents.getAgent(e.subject.id);
      // An agent of another tenant is as unknown as one that does not exist: nothing to learn by probing.
      const tenantOfAgent = agent?.tenant;
      const visible = agent !== undefined && (principal.kind === 'agent' ? tenant === '' || tenant === tenantOfAgent : tenantOfAgent === tenant);
      if (!agent || !visible) return refused('agent', `unknown agent "${e.subject.id}"${tenant ? ` in tenant ${tenant}` : ''}: agents must be registered`, 404);
      if (agent.status === 'suspended') return refused('agent', `agent "${agent.id}" is suspended${agent.statusReason ? `: ${agent.statusReason}` : ''}`);
      const effectiveTenant = tenantOfAgent ?? tenant;
      if (!effectiveTenant) return refused('tenant', `agent "${agent.id}" has no tenant; say which with the X-Warden-Tenant header`, 400);
      const ignored: JsonObject = e.subject.properties && Object.keys(e.subject.properties).length ? { ignoredSubjectProperties: Object.keys(e.subject.properties) } : {};
      return {
        parties: { tenant: effectiveTenant, requestId, agent: { id: agent.id, roles: agent.roles, trust: agent.trust, ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}) } },
        details: ignored,
      };
    }
    if (principal.kind === 'agent') {
      return refused('authenticate', `an agent may only ask about itself: send subject {"type": "agent", "id": "${principal.agentId}"}`);
    }
    const properties = e.subject.properties ?? {};
    const roles = Array.isArray(properties.roles) ? properties.roles.filter((r): r is string => typeof r === 'string') : [];
    const { roles: _roles, ...attributes } = properties;
    const asker = principalName(principal);
    return {
      parties: {
        tenant,
        requestId,
        // The PEP (or the admin) asks; it is the acting party the records show.
        agent: { id: asker, roles: [], trust: 'low', tenant },
        user: { id: e.subject.id, roles, verified: true, tenant, ...(Object.keys(attributes).length ? { attributes } : {}) },
        service: { id: asker },
      },
      details: roles.length ? { asserted: ['subject.properties.roles'], assertedBy: asker } : {},
    };
  }

  /** A request that is not AuthZEN: recorded as a deny from the request stage, answered 400. */
  private invalid(principal: Principal, tenant: string, call: AuthzenCall, errors: string[]): ServiceError {
    const message = `invalid AuthZEN request: ${errors.slice(0, 10).join('; ')}${errors.length > 10 ? `; and ${errors.length - 10} more` : ''}`;
    const { auditId } = this.d.pipeline.refuse(
      { agentId: principal.kind === 'agent' ? principal.agentId : principalName(principal), tool: 'authzen', args: {}, action: 'authzen.evaluation', tenant: tenant || undefined, ...(call.requestId ? { requestId: call.requestId } : {}), via: 'authzen' },
      new EnforcementError('request', message, { httpStatus: 400 }),
      tenant || undefined,
    );
    return new ServiceError('invalid', message, { problem: 'invalid-request', data: { errors, ...(auditId ? { audit_id: auditId } : {}) } });
  }
}

function stops(semantic: EvaluationsSemantic, d: AuthzenDecision): boolean {
  return (semantic === 'deny_on_first_deny' && d.decision !== true) || (semantic === 'permit_on_first_permit' && d.decision === true);
}

function isBatch(body: unknown): boolean {
  const items = (body as { evaluations?: unknown } | null)?.evaluations;
  return Array.isArray(items) && items.length > 0;
}

/** The single-evaluation endpoint ignores `evaluations`/`options` (members it does not know). */
function stripEvaluations(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const { evaluations: _e, options: _o, ...rest } = body as Record<string, unknown>;
  return rest;
}
