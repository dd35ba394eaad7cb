/** Who is calling the HTTP API: an agent (tool calls, decisions) or a human (approvals, admin). */
export type Principal = { kind: 'agent'; agentId: string } | { kind: 'human'; id: string; roles: string[]; tenant: string };

export type Human = Extract<Principal, { kind: 'human' }>;

/** Warden's own human roles; approval rules add business roles (finance_manager…). */
export const HUMAN_ROLES = { viewer: 'viewer', approver: 'approver', admin: 'admin' } as const;

/** An admin can do what an approver and a viewer can; an approver can view. */
export function hasRole(human: Human, role: keyof typeof HUMAN_ROLES): boolean {
  if (human.roles.includes('admin')) return true;
  if (role === 'viewer') return human.roles.includes('viewer') || human.roles.includes('approver');
  return human.roles.includes(role);
}
