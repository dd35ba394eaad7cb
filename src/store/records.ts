import type { RecordColumns } from '../model/compact-recorded-request.js';
import type { ApprovalRequirement } from '../model/decision.js';
import type { Effect } from '../model/effect.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import type { Obligation } from '../model/obligation.js';
import type { TrustLevel } from '../model/trust.js';

/** Times are epoch milliseconds throughout the store. */
export type Millis = number;

export type AgentStatus = 'active' | 'suspended';

export interface AgentRecord {
  id: string;
  roles: string[];
  tenant?: string;
  trust: TrustLevel;
  status: AgentStatus;
  /** Where the agent came from: the config file, the API, or auto-registration of an unknown agent. */
  source: 'config' | 'api' | 'auto';
  statusReason?: string;
  createdAt: Millis;
  updatedAt: Millis;
}

/**
 * An agent credential. API keys are stored only as SHA-256 hashes, found by their public key id
 * (`wk_<keyId>_<secret>`). HMAC credentials name a secret (`${secret:name}`) resolved when a
 * signature is checked, so the shared secret never sits in the database.
 */
export interface CredentialRecord {
  agentId: string;
  keyId: string;
  kind: 'api_key' | 'hmac';
  /** `sha256:<hex>` of the whole API key (api_key only). */
  hash?: string;
  /** A secret reference such as `${secret:support_hmac}` (hmac only). */
  secretRef?: string;
  createdAt: Millis;
  revokedAt?: Millis;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'executing' | 'executed' | 'failed';

export interface ApprovalVote {
  approver: string;
  approverRoles: string[];
  vote: 'approve' | 'deny';
  reason: string;
  at: Millis;
}

export interface ApprovalRecord {
  id: string;
  status: ApprovalStatus;
  createdAt: Millis;
  expiresAt: Millis;
  requestId: string;
  tenant: string;
  sessionId?: string;
  agentId: string;
  userId?: string;
  action: string;
  tool: string;
  /** The arguments as they will be executed; cleared once the approval is settled. */
  args?: JsonObject;
  /** `sha256:<hex>` of the canonical frozen arguments: what the approvers approved. */
  argsHash: string;
  /** The arguments with secrets and personal data redacted: what approvers and the dashboard see. */
  argsRedacted: JsonObject;
  requirement: ApprovalRequirement;
  policy?: string;
  rule?: string;
  reason: string;
  /** The decision record that asked for the approval. */
  decisionId: string;
  votes: ApprovalVote[];
  /** Redacted summary of the result once executed, or the error. */
  result?: JsonValue;
  settledAt?: Millis;
}

export type VoteOutcome =
  | { ok: true; approval: ApprovalRecord; quorumReached: boolean }
  | { ok: false; code: 'not_found' | 'not_pending' | 'expired' | 'already_voted'; message: string; approval?: ApprovalRecord };

export type Outcome = 'executed' | 'denied' | 'pending' | 'error' | 'allowed';

/**
 * One entry of the append-only, hash-chained decision log. `seq`, `prevHash` and `hash` are set
 * by the log writer; everything else is redacted before it gets here. Who asked for what
 * (RecordColumns: tenant, session, agent, user, service, action, resource) are its columns.
 */
export interface DecisionRecord extends RecordColumns {
  seq: number;
  id: string;
  time: Millis;
  /** `decision` for what was decided; `outcome` for what happened when it was carried out later. */
  kind: 'decision' | 'outcome';
  requestId: string;
  traceId?: string;
  effect: Effect;
  reason: string;
  /** The pipeline stage that ended the exchange: authenticate, arguments, limits, policy, … */
  stage: string;
  policy?: string;
  rule?: string;
  policyVersion?: string;
  bundle?: string;
  obligations: Obligation[];
  outcome: Outcome;
  latencyUs: number;
  args: JsonValue;
  resultSummary?: JsonValue;
  approvalId?: string;
  breakGlass?: string;
  /** For `outcome` records: the decision they complete. */
  decisionId?: string;
  /** Anything else worth keeping: matched rules, advice, shadow results, limit hit, signals. */
  details: JsonObject;
  prevHash: string;
  hash: string;
}

export type NewDecisionRecord = Omit<DecisionRecord, 'seq' | 'prevHash' | 'hash'>;

export interface DecisionQuery {
  agentId?: string;
  tool?: string;
  effect?: Effect;
  tenant?: string;
  sessionId?: string;
  requestId?: string;
  policy?: string;
  rule?: string;
  /** Words the reason must contain, each as a word or a word's beginning (case-insensitive). */
  text?: string;
  /** Leaves out records of this resource type (an agent never reads operator records, "warden"). */
  notResourceType?: string;
  since?: Millis;
  until?: Millis;
  /** Only records with seq greater than this (for tailing). */
  afterSeq?: number;
  /** Only records with seq less than this (paging newest first). */
  beforeSeq?: number;
  limit?: number;
  order?: 'asc' | 'desc';
}

/** Counts over the decision log since an instant (compliance status, dashboards). */
export interface DecisionStats {
  total: number;
  byEffect: Record<Effect, number>;
  byOutcome: Partial<Record<Outcome, number>>;
  topDeniedAgents: Array<{ agentId: string; count: number }>;
  topDeniedTools: Array<{ tool: string; count: number }>;
  /** Decisions per time bucket and effect, oldest first. */
  series: Array<{ at: Millis; allow: number; deny: number; require_approval: number }>;
}

export interface SessionRecord {
  id: string;
  tenant: string;
  callsUsed: number;
  spend: number;
  /** The session has seen untrusted content (an untrusted tool's result, an injection finding). */
  tainted: boolean;
  /** The last calls executed, oldest first (bounded). */
  recent: Array<{ tool: string; effect?: string; risk?: string; at: string }>;
  /** What the guards remember about the session (src/guards); absent in sessions from before them. */
  flow?: SessionFlow;
  updatedAt: Millis;
  /** Bumped by each write of a shared session store (compare-and-set between replicas). */
  version?: number;
}

/** The guards' per-session memory, kept up to date as calls happen (never rebuilt from the log). */
export interface SessionFlow {
  /** Hashes of tainted value tokens (src/guards/taint.ts), oldest first, bounded. */
  taint: readonly string[];
  /** Where untrusted content came from: `prompt`, `args`, `result:<tool>` (the last few). */
  untrusted: string[];
  /** Tools that read private data in this session (the last few). */
  privateReads: string[];
  /** Where the injection guard FOUND an injection in a tool result: `result:<tool>` (the last few); absent when none. */
  injected?: string[];
  /** Every distinct tool executed in the session (bounded). */
  tools: string[];
  /** Hashes of values from trusted data (a trusted prompt; counterparties in trusted tools' results), oldest first, bounded. */
  trusted?: readonly string[];
  /** When the session's last denials happened (ISO 8601, the last few). */
  denials: string[];
}

export interface IncidentRecord {
  id: string;
  time: Millis;
  type: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  agentId: string;
  tenant?: string;
  decisionId?: string;
  description: string;
  reportedBy: string;
}

export interface BreakGlassGrant {
  id: string;
  grantedBy: string;
  reason: string;
  /** Which actions it unlocks: an agent, a tool (glob) and/or a tenant; absent means any. */
  scope: { agentId?: string; tool?: string; tenant?: string };
  createdAt: Millis;
  expiresAt: Millis;
  revokedAt?: Millis;
  revokedBy?: string;
}

export interface Relationship {
  subject: string;
  relation: string;
  object: string;
}

export interface PolicyBundleRecord {
  bundle: string;
  loadedAt: Millis;
  policies: Array<{ id: string; version: string; file: string }>;
}

/**
 * The definition of an upstream tool (name, description, input schema) Warden trusts, by hash.
 * A different definition seen later is kept as `observed*` and blocks the tool until approved.
 */
export interface ToolPin {
  /** `<upstream>/<tool name at the upstream>`. */
  tool: string;
  hash: string;
  /** The pinned definition, for review (JSON). */
  definition?: JsonObject;
  firstSeenAt: Millis;
  approvedAt?: Millis;
  approvedBy?: string;
  /** A definition that differs from the pinned one, seen at `observedAt`. */
  observedHash?: string;
  observedAt?: Millis;
  observedDefinition?: JsonObject;
}

/**
 * A signed statement that the decision log's head was record `seq` with hash `hash` at `time`
 * (audit/checkpoint-signing.ts). Kept in the store and published to an anchor outside it, so that
 * removing the newest records, rewriting the chain or emptying the log can be proven.
 */
export interface CheckpointRecord {
  seq: number;
  /** The hash of record `seq`. */
  hash: string;
  time: Millis;
  /** Which key signed it: `ed25519:` and the start of the SHA-256 of the public key (SPKI DER). */
  keyId: string;
  /** Ed25519 signature of the checkpoint's signed form, base64. */
  signature: string;
}
