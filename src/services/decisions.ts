import { randomUUID } from 'node:crypto';
import { hasRole, type Principal } from '../auth/principal.js';
import type { Surface } from '../enforcement/exchange.js';
import type { DecideOnly, DryRunResult, Pipeline } from '../enforcement/pipeline.js';
import { parseActionRequest, type ActionRequest } from '../model/action-request.js';
import type { JsonObject } from '../model/json.js';
import type { Decision } from '../model/decision.js';
import { decide } from '../policy/decide.js';
import type { PoliciesInForce } from '../enforcement/stages/policy-decision.js';
import type { AgentStore } from '../store/ports.js';
import type { ToolRegistry } from '../upstream/tool-registry.js';
import { requireHuman, seesTenant, visibleAgent } from './access.js';
import { ServiceError } from './errors.js';

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

  /** The decision API: an agent asks about itself; admins about anyone. Logged; executes nothing. */
  async decide(principal: Principal, body: unknown, via: Surface): Promise<DecideOnly> {
    const claimed = (body as { actor?: { agent?: { id?: unknown } } } | null)?.actor?.agent?.id;
    if (principal.kind === 'agent' && claimed !== principal.agentId) {
      throw new ServiceError('forbidden', `an agent may only ask for decisions about itself (${principal.agentId})`, { problem: 'not-your-agent' });
    }
    if (principal.kind === 'human' && !hasRole(principal, 'admin')) {
      throw new ServiceError('forbidden', `${principal.id} needs the admin role to ask for decisions on behalf of agents`, { problem: 'missing-role' });
    }
    return this.d.pipeline.decideOnly(body, via);
  }

  private toCall(check: ActionCheck, agentId: string, tenant: string | undefined, via: Surface) {
    return {
      agentId,
      requestId: `dry_${randomUUID()}`,
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
