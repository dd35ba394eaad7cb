import type {
  AgentRecord,
  ApprovalRecord,
  ApprovalStatus,
  ApprovalVote,
  BreakGlassGrant,
  CheckpointRecord,
  CredentialRecord,
  DecisionQuery,
  DecisionRecord,
  DecisionStats,
  NewDecisionRecord,
  IncidentRecord,
  Millis,
  PolicyBundleRecord,
  Relationship,
  SessionRecord,
  ToolPin,
  VoteOutcome,
} from './records.js';

/*
 * The store's contract, one interface per aggregate, so that a consumer can ask for only the part
 * it uses and each implementation (SQLite now, Postgres next) is the same set of contracts twice.
 * `Store` (store.ts) is all of them together.
 */

/** Makes the next record of the chain from an entry and the record before it (undefined: the first). */
export type ChainLink = (entry: NewDecisionRecord, previous: { seq: number; hash: string } | undefined) => DecisionRecord;

/** Agents and their credentials (a credential belongs to an agent). */
export interface AgentStore {
  upsertAgent(agent: AgentRecord): Promise<void>;
  getAgent(id: string): Promise<AgentRecord | undefined>;
  listAgents(): Promise<AgentRecord[]>;
  setAgentStatus(id: string, status: AgentRecord['status'], reason: string, at: Millis): Promise<AgentRecord | undefined>;
  putCredential(credential: CredentialRecord): Promise<void>;
  getCredential(keyId: string): Promise<CredentialRecord | undefined>;
  revokeCredentials(agentId: string, kind: CredentialRecord['kind'], at: Millis): Promise<number>;
}

/** The request ids seen recently, per agent (the replay guard). */
export interface ReplayStore {
  /**
   * Records a request id for an agent until `expiresAt`; false when it was already seen and its
   * window has not passed at `now` (a replay). The caller's clock decides, not the store's.
   */
  rememberRequestId(agentId: string, requestId: string, now: Millis, expiresAt: Millis): Promise<boolean>;
  /** Forgets request ids whose replay window has passed. */
  pruneRequestIds(now: Millis): Promise<number>;
}

/** What identifies a call for its retries: the same agent, tenant, user, tool and arguments. */
export interface ApprovalRetryQuery {
  agentId: string;
  tenant: string;
  userId?: string;
  tool: string;
  argsHash: string;
  since: Millis;
}

/** Approvals and their votes. */
export interface ApprovalStore {
  createApproval(approval: ApprovalRecord): Promise<void>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  listApprovals(filter: { status?: ApprovalStatus; tenant?: string; limit?: number }): Promise<ApprovalRecord[]>;
  /** The newest approved (else pending) approval of this agent for this tool and these frozen arguments. */
  findOpenApproval(agentId: string, tool: string, argsHash: string): Promise<ApprovalRecord | undefined>;
  /**
   * The approval a retried call resolves to: the newest approval, of any status, opened for this
   * agent in this tenant, for this user (none: none), this tool and these canonical arguments
   * (`argsHash`, as in the approval), opened at or after `since`. Whether it still answers the
   * retry (pending and not expired, settled within the retry window) is the caller's decision.
   */
  findApprovalForRetry(query: ApprovalRetryQuery): Promise<ApprovalRecord | undefined>;
  /**
   * Adds a vote atomically: refused unless the approval is pending and not expired at `now`, and
   * the approver has not voted. A deny settles it as denied; reaching the quorum of approvals
   * settles it as approved.
   */
  vote(id: string, vote: ApprovalVote, now: Millis): Promise<VoteOutcome>;
  /**
   * The exactly-once gate: moves an approved approval to executing and returns it, or returns
   * undefined when another caller already claimed it (or it is not approved).
   */
  claimApprovalForExecution(id: string): Promise<ApprovalRecord | undefined>;
  /** Settles an approval after execution (executed or failed) and clears its frozen arguments. */
  settleApproval(id: string, status: 'executed' | 'failed', result: ApprovalRecord['result'], at: Millis): Promise<void>;
  /** Marks pending approvals whose time ran out as expired; returns them. */
  expireApprovals(now: Millis): Promise<ApprovalRecord[]>;
}

/** The decision log (append-only, hash-chained). */
export interface DecisionLogStore {
  /** Inserts records whose seq, prevHash and hash are already set (imports, tests): all or nothing. */
  appendDecisions(records: readonly DecisionRecord[]): Promise<void>;
  /**
   * Appends new entries after the current head, in one transaction that holds the write lock:
   * `link` turns each entry into a chained record given the one before it. Because the head is
   * read inside the transaction, several processes can append to one log without forking it.
   */
  appendChained(entries: readonly NewDecisionRecord[], link: ChainLink): Promise<DecisionRecord[]>;
  lastDecision(): Promise<DecisionRecord | undefined>;
  queryDecisions(query: DecisionQuery): Promise<DecisionRecord[]>;
  getDecision(id: string): Promise<DecisionRecord | undefined>;
  /**
   * Counts of `decision` records (not outcomes, not operator actions) since `since`, with a
   * series bucketed by `bucketMs`; of one tenant when `tenant` is given.
   */
  decisionStats(since: Millis, bucketMs: number, tenant?: string): Promise<DecisionStats>;
  /** Every record in seq order, in pages, for verification and export. */
  scanDecisions(afterSeq: number, limit: number): Promise<DecisionRecord[]>;
}

/** Signed checkpoints of the decision log's head (audit/checkpointer.ts). */
export interface CheckpointStore {
  /**
   * Keeps a checkpoint; false (nothing written) when one of that seq is already kept: several
   * writers of one log may sign the same head, and the first checkpoint of a seq stays.
   */
  addCheckpoint(checkpoint: CheckpointRecord): Promise<boolean>;
  /** The checkpoint of the highest seq, of one key when `keyId` is given. */
  lastCheckpoint(keyId?: string): Promise<CheckpointRecord | undefined>;
  /** Every checkpoint in seq order, in pages. */
  scanCheckpoints(afterSeq: number, limit: number): Promise<CheckpointRecord[]>;
}

/**
 * Where each decision-log sink (audit/sinks) is: the seq of the last record its destination
 * acknowledged. The log is the sink's queue; this cursor is its only state.
 */
export interface SinkCursorStore {
  /** The last seq the sink `name` delivered; undefined when it has none yet (a new sink). */
  getSinkCursor(name: string): Promise<number | undefined>;
  /** Moves the cursor of `name` forward to `seq`; never back (a lower seq leaves it as it is). */
  advanceSinkCursor(name: string, seq: number, at: Millis): Promise<void>;
}

/**
 * Per-session counters and guard memory. A session is named by its tenant and the id the client
 * chose: two tenants using the same id (a thread number) have two sessions, and neither learns of
 * the other's.
 */
export interface SessionStore {
  getSession(tenant: string, id: string): Promise<SessionRecord | undefined>;
  putSession(session: SessionRecord): Promise<void>;
}

/** Incidents reported against agents. */
export interface IncidentStore {
  createIncident(incident: IncidentRecord): Promise<void>;
  listIncidents(filter: { agentId?: string; since?: Millis; limit?: number }): Promise<IncidentRecord[]>;
}

/** Break-glass grants. */
export interface GrantStore {
  createGrant(grant: BreakGlassGrant): Promise<void>;
  revokeGrant(id: string, by: string, at: Millis): Promise<BreakGlassGrant | undefined>;
  listGrants(filter: { activeAt?: Millis }): Promise<BreakGlassGrant[]>;
}

/** Relationships (ReBAC tuples). */
export interface RelationshipStore {
  addRelationship(tuple: Relationship): Promise<void>;
  removeRelationship(tuple: Relationship): Promise<void>;
  /** Tuples whose subject is one of `subjects`. */
  relationshipsOf(subjects: readonly string[]): Promise<Relationship[]>;
}

/** The policy bundles loaded, newest first. */
export interface PolicyBundleStore {
  recordPolicyBundle(record: PolicyBundleRecord): Promise<void>;
  listPolicyBundles(limit: number): Promise<PolicyBundleRecord[]>;
}

/** The upstream tool definitions Warden trusts. */
export interface ToolPinStore {
  getToolPin(tool: string): Promise<ToolPin | undefined>;
  putToolPin(pin: ToolPin): Promise<void>;
  listToolPins(): Promise<ToolPin[]>;
}

/*
 * What several replicas share beyond the tables above. SQLite (one process) needs none of it; on
 * Postgres + Redis each is implemented once (store/postgres, store/redis).
 */

/** What a rate limit answers: go ahead, or when to try again. */
export type LimitVerdict = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Rate-limit counters shared by replicas (Redis). Each call is atomic on the server; `now` is the
 * caller's clock (replicas' clocks are assumed within a second of each other). A `peek` answers
 * without taking. Throws when the counters cannot be reached: the caller denies (fail closed).
 */
export interface RateLimitStore {
  /** The sliding window of guards/rate-limit.ts (previous window weighted by its overlap, plus the current one). */
  slidingWindow(key: string, limit: number, windowMs: number, now: Millis, peek: boolean): Promise<LimitVerdict>;
  /** A token bucket of `limit` tokens, refilled at `limit` per `windowMs`. */
  tokenBucket(key: string, limit: number, windowMs: number, now: Millis, peek: boolean): Promise<LimitVerdict>;
}

/** A session store replicas share: a write succeeds only over the version it read. */
export interface SharedSessionStore extends SessionStore {
  /**
   * Writes `next` (with `version` = expected + 1) if the stored session is still at
   * `expectedVersion` (undefined: the session must not exist yet); false when another replica
   * wrote it in between (the caller reads again and retries).
   */
  putSessionIf(next: SessionRecord, expectedVersion: number | undefined): Promise<boolean>;
}

/** The decision log as other writers extend it: every record, in seq order, once. */
export interface DecisionFeedStore {
  /**
   * Calls `listener` with the records of seq > `afterSeq` as they are committed by any writer
   * (this process included), in seq order with no gap, in batches. Returns a function that stops.
   */
  followDecisions(afterSeq: number, listener: (records: readonly DecisionRecord[]) => void): Promise<() => Promise<void>>;
}

/** One replica among several doing a periodic task (approval expiry, pruning). */
export interface LeaseStore {
  /**
   * Runs `task` when this process holds the lease `name` (taking it if free) and returns true;
   * false when another live replica holds it. A lease is held until this process stops or loses
   * its connection, so another replica takes over when the holder dies.
   */
  whileLeader(name: string, task: () => Promise<void>): Promise<boolean>;
}

/** What one replica tells the others (Redis pub/sub) and the list of live replicas. */
export interface ReplicaBus {
  readonly replicaId: string;
  /** Asks every replica (this one included) to reload its policies. */
  publishReload(why: string): Promise<void>;
  onReload(listener: (why: string, from: string) => void): void;
  /**
   * Tells every replica that an agent or a credential changed (suspension, revoked or rotated
   * key, roles): each drops what it cached of them, so the change holds everywhere at once.
   */
  publishIdentityChange(): Promise<void>;
  onIdentityChange(listener: (from: string) => void): void;
  /** Announces this replica and the bundle it serves; refreshed on a timer by the caller. */
  heartbeat(state: ReplicaState): Promise<void>;
  /** The replicas seen within `staleMs`. */
  replicas(staleMs: number): Promise<ReplicaState[]>;
  close(): Promise<void>;
}

export interface ReplicaState {
  id: string;
  /** The policy bundle revision (hash) it serves. */
  bundle: string;
  startedAt: Millis;
  seenAt: Millis;
}
