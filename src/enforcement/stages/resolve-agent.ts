import type { WardenConfig } from '../../config/index.js';
import type { AgentStore } from '../../store/ports.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';

export interface AgentResolutionDeps {
  agents: Pick<AgentStore, 'getAgent' | 'upsertAgent'>;
  registration: WardenConfig['registration'];
}

/**
 * Stage 2: the agent's record. Unknown agents are denied, or registered at trust low when
 * configured (a dry run sees the record such an agent would get, and stores nothing).
 */
export async function resolveAgent(x: Exchange, deps: AgentResolutionDeps): Promise<void> {
  let agent = await deps.agents.getAgent(x.call.agentId);
  if (!agent) {
    if (!deps.registration.auto_register_unknown) {
      throw new EnforcementError('agent', `unknown agent "${x.call.agentId}": agents must be registered`, { httpStatus: 403 });
    }
    agent = {
      id: x.call.agentId,
      roles: [...deps.registration.auto_register_roles],
      tenant: x.call.tenant,
      trust: 'low',
      status: 'active',
      source: 'auto',
      createdAt: x.now,
      updatedAt: x.now,
    };
    if (!x.dryRun) await deps.agents.upsertAgent(agent);
    x.details.autoRegistered = true;
  }
  // Known from here on, even when refused: its records belong to its tenant.
  x.agent = agent;
  if (agent.status === 'suspended') {
    throw new EnforcementError('agent', `agent "${agent.id}" is suspended${agent.statusReason ? `: ${agent.statusReason}` : ''}`, { httpStatus: 403 });
  }
}
