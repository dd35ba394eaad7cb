import { hasRole, principalName, type Principal } from '../auth/principal.js';
import { EnforcementError } from '../enforcement/errors.js';
import type { Surface } from '../enforcement/exchange.js';
import type { DecideOnly, DryRunResult, Pipeline } from '../enforcement/pipeline.js';
import { parseActionRequest, type ActionRequest } from '../model/action-request.js';
import type { JsonObject } from '../model/json.js';
import type { Decision } from '../model/decision.js';
import { decide } from '../policy/decide.js';
import type { PoliciesInForce } from '../enforcement/stages/policy-decision.js';
import type { AgentStore } from '../store/ports.js';
import type { AgentRecord } from '../store/records.js';
import type { ToolRegistry } from '../upstream/tool-registry.js';
import { requireHuman, seesTenant, visibleAgent } from './access.js';
import { ServiceError } from './errors.js';
import { timeOrderedId } from '../lib/time-ordered-id.js';

/** An action to check before taking it: what a tool call would carry. */
export interface ActionCheck {
  /** The agent to check for: agents always check themselves; people name one. */
  agentId?: string;
  tool: string;
  action?: string;
  arguments?: JsonObject;
  context?: JsonObject;
  sessionId?: string;
  /** Only for agents not bound to a tenant. */
  tenant?: string;
  user?: { id: string; roles?: string[] };
}

export interface DecisionServiceDeps {
  pipeline: Pipeline;
  agents: Pick<AgentStore, 'getAgent'>;
  tools: ToolRegistry;
  policies: PoliciesInForce;
  clock: () => number;
}

/**
 * Asking without acting. `validate` (the governance MCP's validate_action) and `tryCall` (the
 * dashboard's "Try a request", `POST /v1/policies/try`) are the pipeline's dry run, so they answer
 * what a real call would: guards, limits, session budget, break-glass and obligations included.
 * `decide` is the decision API for frameworks that execute tools themselves.
 */
export class DecisionService {
  constructor(private readonly d: DecisionServiceDeps) {}

  /**
   * validate_action: an agent about itself; an admin about any agent of its tenant. Recorded in
   * the decision log (flagged as a dry run). Consumes nothing.
   */
  async validate(principal: Principal, check: ActionCheck, via: Surface): Promise<DryRunResult & { agentId: string }> {
    let agentId: string;
    if (principal.kind === 'agent') {
      if (check.agentId !== undefined && check.agentId !== principal.agentId) {
        throw new ServiceError('forbidden', `an agent may only validate its own actions (connected as "${principal.agentId}"); agent_id is for admins`, { problem: 'not-your-agent' });
      }
      agentId = principal.agentId;
      if (!(await this.d.agents.getAgent(agentId))) throw new ServiceError('not_found', `agent "${agentId}" is not registered`);
    } else {
      const human = requireHuman(principal, 'admin', 'validate_action');
      if (!check.agentId) throw new ServiceError('invalid', 'agent_id is required: which agent should the action be checked for?');
      agentId = check.agentId;
      visibleAgent(human, await this.d.agents.getAgent(agentId), agentId);
    }
    const result = await this.d.pipeline.dryRun(this.toCall(check, agentId, check.tenant, via), { record: true });
    return { ...result, agentId };
  }

  /** "Try a request": a viewer of the agent's tenant asks what a call would get, with the PDP's explanation. Not recorded. */
  async tryCall(principal: Principal, check: ActionCheck & { agentId: string }): Promise<DryRunResult> {
    const human = requireHuman(principal, 'viewer', 'trying requests');
    const agent = visibleAgent(human, await this.d.agents.getAgent(check.agentId), check.agentId);
    const tenant = check.tenant ?? agent.tenant ?? (human.tenant === '*' ? undefined : human.tenant);
    if (!tenant) throw new ServiceError('invalid', `agent ${agent.id} has no tenant; say which tenant the request is for`);
    if (!seesTenant(human, tenant)) throw new ServiceError('forbidden', `${human.id} may only try requests of tenant ${human.tenant}`);
    return this.d.pipeline.dryRun(this.toCall(check, agent.id, tenant, 'dashboard'), { record: false, explain: true });
  }

  /**
   * The PDP alone on a whole ActionRequest, with its explanation: for policy authors who want to
   * see how a request they wrote by hand is decided. Not a call: no registry, guards or limits.
   */
  explainRequest(principal: Principal, input: unknown): { request: ActionRequest; decision: Decision; knownTool: boolean } {
    const human = requireHuman(principal, 'viewer', 'trying requests');
    const parsed = parseActionRequest(input);
    if (!parsed.ok) throw new ServiceError('invalid', `invalid ActionRequest: ${parsed.errors.join('; ')}`, { data: { errors: parsed.errors }, problem: 'invalid-request' });
    const request: ActionRequest = { ...parsed.value, requestId: parsed.value.requestId ?? 'try' };
    if (!seesTenant(human, request.tenant)) throw new ServiceError('forbidden', `${human.id} may only try requests of tenant ${human.tenant}`);
    if (!request.tool && request.action === 'tool.call') request.tool = this.d.tools.get(request.resource.id)?.entry;
    const decision = decide(this.d.policies.current, request, { now: new Date(this.d.clock()), explain: true });
    return { request, decision, knownTool: request.tool !== undefined };
  }

  /**
   * The decision API: an agent asks about itself; admins about any agent of their tenant; a PEP
   * credential about agents of its tenants. Logged; executes nothing. Who the agent is, its roles,
   * trust and tenant come from the registry: a value the caller sends for them that differs is
   * refused (403 naming the field). A user the request names is unverified with no roles when an
   * agent names them; a PEP (which authenticates its own users) and an admin (asking what-if) may
   * assert the user's roles, and the record says what was asserted and by whom.
   */
  async decide(principal: Principal, body: unknown, via: Surface): Promise<DecideOnly> {
    if (principal.kind === 'human' && !hasRole(principal, 'admin')) {
      throw new ServiceError('forbidden', `${principal.id} needs the admin role to ask for decisions on behalf of agents`, { problem: 'missing-role' });
    }
    const parsed = parseActionRequest(body);
    if (!parsed.ok) return this.d.pipeline.decideOnly(body, via);
    const request = parsed.value;
    const claimed = request.actor.agent;
    const sent = ((body as { actor?: { agent?: Record<string, unknown> } }).actor?.agent ?? {}) as Record<string, unknown>;
    if (principal.kind === 'agent' && claimed.id !== principal.agentId) {
      throw this.refused(request, via, undefined, 'authenticate', `an agent may only ask for decisions about itself (${principal.agentId})`, 'not-your-agent');
    }
    const agent = await this.d.agents.getAgent(claimed.id);
    const outOfScope = (principal.kind === 'human' && !seesTenant(principal, agent?.tenant)) || (principal.kind === 'pep' && !principal.tenants.includes(agent?.tenant ?? ''));
    if (!agent || outOfScope) {
      throw this.refused(request, via, undefined, 'agent', `unknown agent "${claimed.id}": agents must be registered`, 'unknown-agent', 'not_found');
    }
    const mismatch = assertedAgentField(sent, agent);
    if (mismatch) {
      throw this.refused(request, via, agent.tenant, 'request', `actor.agent.${mismatch} is not the caller's to say: the registry has ${JSON.stringify(agent[mismatch] ?? null)} for ${agent.id}; leave it out`, 'asserted-attribute');
    }
    if (agent.tenant !== undefined && request.tenant !== agent.tenant) {
      throw this.refused(request, via, agent.tenant, 'tenant', `cross-tenant access: request tenant ${request.tenant} is not ${agent.id}'s tenant ${agent.tenant}`, 'cross-tenant');
    }
    if (request.resource.tenant !== undefined && request.resource.tenant !== request.tenant) {
      throw this.refused(request, via, request.tenant, 'tenant', `cross-tenant access: resource.tenant ${request.resource.tenant} is not the request's tenant ${request.tenant}`, 'cross-tenant');
    }
    if (agent.status === 'suspended') {
      throw this.refused(request, via, request.tenant, 'agent', `agent "${agent.id}" is suspended${agent.statusReason ? `: ${agent.statusReason}` : ''}`, 'agent-suspended');
    }
    const asserted: string[] = [];
    const user = request.actor.user;
    if (user && principal.kind === 'agent') request.actor.user = { ...user, roles: [], verified: false };
    else if (user) {
      // A PEP authenticated its own user; an admin's what-if user is as verified as they say.
      request.actor.user = { ...user, verified: principal.kind === 'pep' || user.verified === true };
      if (user.roles.length) asserted.push('actor.user.roles');
    }
    request.actor.agent = { id: agent.id, roles: agent.roles, trust: agent.trust, ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}) };
    const details = { ...(asserted.length ? { asserted, assertedBy: principalName(principal) } : {}), ...(user && principal.kind === 'agent' && user.roles.length ? { ignoredUserRoles: user.roles } : {}) };
    return this.d.pipeline.decideRequest(request, via, details);
  }

  /** A refused decision request: logged as a deny from `stage`, then answered as a ServiceError. */
  private refused(request: ActionRequest, via: Surface, tenant: string | undefined, stage: string, message: string, problem: string, code: 'forbidden' | 'not_found' = 'forbidden'): ServiceError {
    const { auditId } = this.d.pipeline.refuse(
      { agentId: request.actor.agent.id, tool: request.resource.id, args: request.args, action: request.action, tenant: request.tenant, ...(request.requestId ? { requestId: request.requestId } : {}), via },
      new EnforcementError(stage, message, { httpStatus: code === 'not_found' ? 404 : 403 }),
      tenant,
    );
    return new ServiceError(code, message, { problem, data: auditId ? { audit_id: auditId } : {} });
  }

  private toCall(check: ActionCheck, agentId: string, tenant: string | undefined, via: Surface) {
    return {
      agentId,
      requestId: timeOrderedId('dry_'),
      tool: check.tool,
      action: check.action ?? 'tool.call',
      args: check.arguments ?? {},
      ...(tenant ? { tenant } : {}),
      ...(check.sessionId ? { sessionId: check.sessionId } : {}),
      ...(check.user ? { user: check.user } : {}),
      ...(check.context ? { context: check.context } : {}),
      via,
    };
  }
}

/**
 * The first agent attribute a caller sent that the registry disagrees with (roles compared as
 * sets); undefined when every one it sent matches, or it sent none.
 */
function assertedAgentField(sent: Record<string, unknown>, agent: AgentRecord): 'roles' | 'trust' | 'tenant' | undefined {
  if ('roles' in sent) {
    const roles = Array.isArray(sent.roles) ? sent.roles : [];
    if (roles.length !== agent.roles.length || !agent.roles.every((r) => roles.includes(r))) return 'roles';
  }
  if ('trust' in sent && sent.trust !== agent.trust) return 'trust';
  if ('tenant' in sent && sent.tenant !== agent.tenant) return 'tenant';
  return undefined;
}
