import { Ending, type Exchange } from '../exchange.js';
import type { Runtime } from '../runtime.js';

/** Stage 2: the agent's record. Unknown agents are denied, or registered at trust low when configured. */
export async function resolveAgent(x: Exchange, rt: Runtime): Promise<void> {
  let agent = await rt.store.getAgent(x.call.agentId);
  if (!agent) {
    const registration = rt.config.registration;
    if (!registration.auto_register_unknown) {
      throw new Ending('agent', `unknown agent "${x.call.agentId}": agents must be registered`, 403);
    }
    agent = {
      id: x.call.agentId,
      roles: [...registration.auto_register_roles],
      tenant: x.call.tenant,
      trust: 'low',
      status: 'active',
      source: 'auto',
      createdAt: x.now,
      updatedAt: x.now,
    };
    await rt.store.upsertAgent(agent);
    x.details.autoRegistered = true;
  }
  if (agent.status === 'suspended') {
    throw new Ending('agent', `agent "${agent.id}" is suspended${agent.statusReason ? `: ${agent.statusReason}` : ''}`, 403);
  }
  x.agent = agent;
}
