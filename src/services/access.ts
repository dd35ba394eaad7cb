import { hasRole, type Human, type Principal } from '../auth/principal.js';
import type { AgentRecord } from '../store/records.js';
import { ServiceError } from './errors.js';

export type HumanRole = 'viewer' | 'approver' | 'admin';

const ROLE_NEEDS: Record<HumanRole, string> = { viewer: 'viewer role', approver: 'approver or admin role', admin: 'admin role' };
const ROLE_PEOPLE: Record<HumanRole, string> = { viewer: 'people (viewers, approvers, admins)', approver: 'approvers and admins', admin: 'admins' };

/** The caller as a human with at least `role`, or a refusal that says why (agents never pass). */
export function requireHuman(principal: Principal, role: HumanRole, what: string): Human {
  if (principal.kind === 'agent') throw new ServiceError('forbidden', `${what} is for ${ROLE_PEOPLE[role]}; agent "${principal.agentId}" cannot use it`, { problem: 'agents-not-allowed' });
  if (principal.kind === 'pep') throw new ServiceError('forbidden', `${what} is for ${ROLE_PEOPLE[role]}; the PEP credential "${principal.id}" asks for decisions only`, { problem: 'pep-not-allowed' });
  if (!hasRole(principal, role)) throw new ServiceError('forbidden', `${principal.id} needs the ${ROLE_NEEDS[role]} for ${what}`, { problem: 'missing-role' });
  return principal;
}

/** Whether a human may see things of `tenant` (operators of every tenant see all). */
export function seesTenant(human: Human, tenant: string | undefined): boolean {
  return human.tenant === '*' || tenant === human.tenant;
}

/** The tenant filter for a human's listings: undefined for operators of every tenant. */
export function tenantScope(human: Human): string | undefined {
  return human.tenant === '*' ? undefined : human.tenant;
}

/** An agent a human may see; unknown agents and other tenants' look the same (no such agent). */
export function visibleAgent(human: Human, agent: AgentRecord | undefined, id: string): AgentRecord {
  if (!agent || !seesTenant(human, agent.tenant)) throw new ServiceError('not_found', `no agent "${id}"`);
  return agent;
}
