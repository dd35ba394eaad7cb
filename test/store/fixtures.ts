import type { AgentRecord, ApprovalRecord, ApprovalStore, ApprovalVote, DecisionRecord } from '../../src/store/index.js';

/** Records shared by the Store contract and the SQLite-only tests. */

export const T0 = 1_700_000_000_000;

export function agent(overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id: 'support-agent',
    roles: ['support', 'triage'],
    tenant: 'acme-corp',
    trust: 'medium',
    status: 'active',
    source: 'config',
    statusReason: 'loaded from warden.yaml',
    createdAt: T0,
    updatedAt: T0 + 1,
    ...overrides,
  };
}

export function approval(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: 'apr-1',
    status: 'pending',
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
    requestId: 'req-1',
    tenant: 'acme-corp',
    sessionId: 'sess-1',
    agentId: 'refund-agent',
    userId: 'user-7',
    action: 'tool.call',
    tool: 'issue_refund',
    args: { order_id: 'o-1', amount: 250, nested: { list: [1, 'two', null, true] } },
    argsHash: 'sha256:abc',
    argsRedacted: { order_id: 'o-1', amount: 250, card: '[redacted]' },
    requirement: { approvers: ['role:finance', 'user:boss'], quorum: 1, expiresIn: '1h', allowRequester: false },
    policy: 'refunds',
    rule: 'big-refunds-need-approval',
    reason: 'refund over 100 needs finance approval',
    decisionId: 'dec-1',
    votes: [],
    ...overrides,
  };
}

export function quorum(n: number): ApprovalRecord['requirement'] {
  return { approvers: ['role:finance'], quorum: n, expiresIn: '1h', allowRequester: false };
}

export function vote(approver: string, v: ApprovalVote['vote'] = 'approve', at = T0 + 10): ApprovalVote {
  return { approver, approverRoles: ['finance'], vote: v, reason: `${approver} says ${v}`, at };
}

export function decision(seq: number, overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    seq,
    id: `dec-${seq}`,
    time: T0 + seq * 1000,
    kind: 'decision',
    requestId: `req-${seq}`,
    traceId: `trace-${seq}`,
    tenant: 'acme-corp',
    sessionId: 'sess-1',
    agentId: 'support-agent',
    userId: 'user-1',
    serviceId: 'svc-1',
    action: 'tool.call',
    resourceType: 'tool',
    resourceId: 'search_kb',
    effect: 'allow',
    reason: 'support may search',
    stage: 'policy',
    policy: 'support',
    rule: 'allow-search',
    policyVersion: '3',
    bundle: 'sha256:bundle',
    obligations: [{ type: 'redact', paths: ['$.email'] }, { type: 'cap', arg: 'amount', max: 100 }],
    outcome: 'allowed',
    latencyUs: 123,
    args: { q: 'reset password', n: 1.5 },
    resultSummary: { hits: 3 },
    approvalId: 'apr-1',
    breakGlass: 'bg-1',
    decisionId: 'dec-0',
    details: { matched: ['support/allow-search'], advice: [] },
    prevHash: `sha256:prev-${seq}`,
    hash: `sha256:hash-${seq}`,
    ...overrides,
  };
}

/** A decision with every optional field left out. */
export function minimalDecision(seq: number, overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    seq,
    id: `dec-${seq}`,
    time: T0 + seq * 1000,
    kind: 'decision',
    requestId: `req-${seq}`,
    tenant: 'acme-corp',
    agentId: 'support-agent',
    action: 'tool.call',
    resourceType: 'tool',
    resourceId: 'search_kb',
    effect: 'deny',
    reason: 'no rule matched',
    stage: 'policy',
    obligations: [],
    outcome: 'denied',
    latencyUs: 5,
    args: null,
    details: {},
    prevHash: 'sha256:0',
    hash: `sha256:h${seq}`,
    ...overrides,
  };
}

/** Approvals already approved, ready to be claimed. */
export async function seedApproved(store: ApprovalStore, n: number, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) await store.createApproval(approval({ id, status: 'approved' }));
  return ids;
}
