import type { ApprovalRecord } from '../store/records.js';

/** A human acting on an approval (from a bearer token, an OIDC token, or the CLI's --as). */
export interface Approver {
  id: string;
  roles: string[];
  /** The tenant they approve for; `*` for operators of every tenant. */
  tenant: string;
}

/**
 * Why `approver` may not decide `approval`, or undefined when they may: they must hold one of the
 * rule's approver entries, belong to its tenant, and not be the requester unless the rule allows.
 */
export function approverRefusal(approval: ApprovalRecord, approver: Approver): string | undefined {
  const eligible = approval.requirement.approvers.some((entry) =>
    entry.startsWith('role:') ? approver.roles.includes(entry.slice(5)) : entry === `user:${approver.id}`,
  );
  if (!eligible) return `${approver.id} is not an approver for this request (needs ${approval.requirement.approvers.join(' or ')})`;
  if (approver.tenant !== '*' && approver.tenant !== approval.tenant) {
    return `${approver.id} belongs to tenant ${approver.tenant}; this request is for ${approval.tenant}`;
  }
  if (!approval.requirement.allowRequester && approval.userId === approver.id) {
    return `${approver.id} asked for this action and may not approve it themselves`;
  }
  return undefined;
}
