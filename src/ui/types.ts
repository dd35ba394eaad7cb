/** The shapes the dashboard reads from the API (a subset of the server's records). */

export type Effect = 'allow' | 'deny' | 'require_approval';
export const EFFECTS: readonly Effect[] = ['allow', 'deny', 'require_approval'];

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface Obligation {
  type: string;
  [key: string]: Json | undefined;
}

export interface DecisionRecord {
  seq: number;
  id: string;
  time: number;
  kind: 'decision' | 'outcome';
  requestId: string;
  traceId?: string;
  tenant: string;
  sessionId?: string;
  agentId: string;
  userId?: string;
  serviceId?: string;
  action: string;
  resourceType: string;
  resourceId: string;
  effect: Effect;
  reason: string;
  stage: string;
  policy?: string;
  rule?: string;
  policyVersion?: string;
  bundle?: string;
  obligations: Obligation[];
  outcome: string;
  latencyUs: number;
  args: Json;
  resultSummary?: Json;
  approvalId?: string;
  breakGlass?: string;
  decisionId?: string;
  details: { [key: string]: Json };
  hash: string;
}

export interface Me {
  id: string;
  roles: string[];
  tenant: string;
  can: { view: boolean; approve: boolean; admin: boolean };
}

export interface ApprovalVote {
  approver: string;
  vote: 'approve' | 'deny';
  reason: string;
  at: number;
}

export interface Approval {
  id: string;
  status: string;
  createdAt: number;
  expiresAt: number;
  expiresInMs: number;
  requestId: string;
  tenant: string;
  sessionId?: string;
  agentId: string;
  userId?: string;
  action: string;
  tool: string;
  argsRedacted: { [key: string]: Json };
  requirement: { approvers: string[]; quorum: number; expiresIn: string; allowRequester: boolean };
  policy?: string;
  rule?: string;
  reason: string;
  decisionId: string;
  votes: ApprovalVote[];
  result?: Json;
  settledAt?: number;
  canDecide?: boolean;
  cannotDecideBecause?: string;
}

export interface Agent {
  id: string;
  roles: string[];
  tenant?: string;
  trust: string;
  status: 'active' | 'suspended';
  source: string;
  statusReason?: string;
  createdAt: number;
  updatedAt: number;
}

export interface Incident {
  id: string;
  time: number;
  type: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  agentId: string;
  tenant?: string;
  decisionId?: string;
  description: string;
  reportedBy: string;
}

export interface Compliance {
  status: 'healthy' | 'warning' | 'critical';
  window: string;
  totals: { decisions: number; allow: number; deny: number; require_approval: number };
  denialRate: number;
  thresholds: { warning: number; critical: number };
  topOffendingAgents: Array<{ agentId: string; count: number }>;
  topDeniedTools: Array<{ tool: string; count: number }>;
  recentIncidents: Incident[];
  suspendedAgents: Array<{ id: string; reason: string }>;
  pendingApprovals: number;
  policyBundle: { bundle: string; policies: Array<{ id: string; version: string; mode: string }> };
  series: Array<{ at: number; allow: number; deny: number; require_approval: number }>;
}

export interface ChainStatus {
  ok: boolean;
  checked: number;
  broken?: { seq: number; id: string; problem: string };
  head?: { seq: number; hash: string };
  fullVerificationAt: string;
}

export interface PolicyInfo {
  id: string;
  version: string;
  owner?: string;
  description?: string;
  mode: string;
  file: string;
  rules: Array<{ id: string; effect: Effect; actions?: string[]; tools?: string[]; when?: string }>;
}

export interface Policies {
  bundle: string;
  policies: PolicyInfo[];
  history: Array<{ bundle: string; loadedAt: number; policies: Array<{ id: string; version: string; file: string }> }>;
}

export interface PolicyTests {
  bundle: string;
  passed: number;
  failed: number;
  results: Array<{ suite: string; file: string; line: number; name: string; passed: boolean; failures: string[]; effect?: Effect; rule?: string }>;
  diagnostics: Array<{ file: string; line: number; column: number; severity: string; message: string }>;
}

export interface RuleTrace {
  policy: string;
  policyVersion: string;
  rule: string;
  effect: Effect;
  mode: string;
  outcome: 'matched' | 'not_matched' | 'error' | 'inactive';
  detail: string;
}

export interface Decision {
  requestId: string;
  effect: Effect;
  reason: string;
  policy?: string;
  rule?: string;
  policyVersion?: string;
  bundle: string;
  obligations: Obligation[];
  advice: string[];
  approval?: { approvers: string[]; quorum: number; expiresIn: string };
  matched: string[];
  shadow: Array<{ policy: string; effect: Effect; rule?: string; reason: string }>;
  explanation?: { candidates: RuleTrace[]; rulesInSet: number; summary: string };
}

export interface TryResult {
  decision: Decision;
  known_tool: boolean;
  note: string;
}

export interface SessionTimeline {
  id: string;
  session?: { id: string; tenant: string; callsUsed: number; spend: number; tainted: boolean; recent: Array<{ tool: string; effect?: string; at: string }> };
  records: DecisionRecord[];
}
