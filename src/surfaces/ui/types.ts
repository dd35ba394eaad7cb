/** The shapes the dashboard reads from the API (a subset of the server's records). */

// The server's own record types (type-only imports: nothing of the server is bundled).
export type { Decision, RuleTrace } from '../../model/decision.js';
export type { Effect } from '../../model/effect.js';
export type { JsonValue as Json } from '../../model/json.js';
export type { Obligation } from '../../model/obligation.js';
export type { AgentRecord as Agent, ApprovalVote, DecisionRecord, IncidentRecord as Incident } from '../../store/records.js';
import type { Effect } from '../../model/effect.js';
import type { Decision } from '../../model/decision.js';
import type { ApprovalRecord, BreakGlassGrant, DecisionRecord, IncidentRecord as Incident } from '../../store/records.js';

export const EFFECTS: readonly Effect[] = ['allow', 'deny', 'require_approval'];



export interface Me {
  id: string;
  roles: string[];
  tenant: string;
  can: { view: boolean; approve: boolean; admin: boolean };
}


/** An approval as the API shows it: without the frozen arguments, with what the caller may do. */
export type Approval = Omit<ApprovalRecord, 'args'> & { expiresInMs: number; canDecide?: boolean; cannotDecideBecause?: string };

/** A break-glass grant as `GET /v1/break-glass` answers it: with whether it is in force now. */
export type BreakGlassGrantView = BreakGlassGrant & { state: 'active' | 'expired' | 'revoked' | 'scheduled' };



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
  /** Records verified one by one by the gateway: those after `verifiedFrom`. */
  checked: number;
  /** Records up to this seq are vouched for by `checkpoint` (0: every record was read). */
  verifiedFrom: number;
  broken?: { seq: number; id: string; problem: string };
  breaks: Array<{ seq: number; id: string; problem: string }>;
  breakCount: number;
  checkpointProblems: Array<{ seq: number; time: string; keyId: string; source: 'database' | 'anchor'; problem: string }>;
  head?: { seq: number; hash: string };
  /** The last verified checkpoint. */
  checkpoint?: { seq: number; hash: string; time: string; keyId: string; anchored: boolean; signatureChecked: boolean };
  /** Whether the gateway signs checkpoints. */
  signing: boolean;
  verifiedAt: string;
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
  /** Several replicas (Postgres + Redis): each one and the bundle it serves. */
  replicas?: Array<{ id: string; bundle: string; self: boolean; differs: boolean; startedAt: number; seenAt: number }>;
}

export interface PolicyTests {
  bundle: string;
  passed: number;
  failed: number;
  results: Array<{ suite: string; file: string; line: number; name: string; passed: boolean; failures: string[]; effect?: Effect; rule?: string }>;
  diagnostics: Array<{ file: string; line: number; column: number; severity: string; message: string }>;
}



export interface TryResult {
  decision: Decision;
  /** What a real call would have been answered (`executed`: it would run). */
  status?: 'executed' | 'denied' | 'pending_approval' | 'error';
  would?: string;
  known_tool: boolean;
  note: string;
}

export interface SessionTimeline {
  id: string;
  session?: { id: string; tenant: string; callsUsed: number; spend: number; tainted: boolean; recent: Array<{ tool: string; effect?: string; at: string }> };
  records: DecisionRecord[];
}

/** What `POST /v1/policies/replay` answers (src/replay/replay-report.ts), as the dashboard shows it. */
export interface ReplaySample {
  seq: number;
  id: string;
  time: string;
  tenant: string;
  agent: string;
  tool: string;
  session?: string;
  logged: Effect;
  current?: { effect: Effect; rule?: string };
  candidate?: { effect: Effect; rule?: string };
  unknown?: { rule: string; path: string };
  record?: DecisionRecord;
}

export interface ReplayReport {
  current: { bundle: string };
  candidate: { bundle: string };
  window: { from?: string; to?: string; firstSeq?: number; lastSeq?: number };
  read: number;
  replayed: number;
  skipped: Record<string, number>;
  unchanged: number;
  changed: number;
  undetermined: number;
  reattributed: number;
  legacy: { replayed: number; undetermined: number };
  transitions: Array<{ transition: string; count: number; samples: ReplaySample[] }>;
  rules: Array<{ transition: string; from: string; to: string; count: number }>;
  undeterminedBy: Array<{ rule: string; path: string; count: number; samples: ReplaySample[] }>;
  truncated: boolean;
  elapsedMs: number;
}
