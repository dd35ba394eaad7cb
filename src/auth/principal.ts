/**
 * Who is calling: an agent (tool calls, decisions), a human (approvals, administration), or a PEP
 * — a service that enforces Warden's decisions for its own users, within its tenants, and so may
 * tell the decision API who those users are.
 */
export type Principal =
  | { kind: 'agent'; agentId: string }
  | { kind: 'human'; id: string; roles: string[]; tenant: string }
  | { kind: 'pep'; id: string; tenants: string[] };

export type Human = Extract<Principal, { kind: 'human' }>;
export type Pep = Extract<Principal, { kind: 'pep' }>;

/** A principal's name as records and messages give it. */
export function principalName(p: Principal): string {
  return p.kind === 'agent' ? `agent:${p.agentId}` : p.kind === 'pep' ? `pep:${p.id}` : p.id;
}

/** Warden's own human roles; approval rules add business roles (finance_manager…). */
export const HUMAN_ROLES = { viewer: 'viewer', approver: 'approver', admin: 'admin' } as const;

/** An admin can do what an approver and a viewer can; an approver can view. */
export function hasRole(human: Human, role: keyof typeof HUMAN_ROLES): boolean {
  if (human.roles.includes('admin')) return true;
  if (role === 'viewer') return human.roles.includes('viewer') || human.roles.includes('approver');
  return human.roles.includes(role);
}
