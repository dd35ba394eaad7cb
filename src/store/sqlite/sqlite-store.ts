import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
} from '../records.js';
import type { ApprovalRetryQuery } from '../ports.js';
import type { ChainLink, Store } from '../store.js';
import { SqliteAgents } from './agents.js';
import { SqliteApprovals } from './approvals.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { SqliteCheckpoints } from './checkpoints.js';
import { SqliteDecisionLog } from './decision-log.js';
import { SqliteGrants } from './grants.js';
import { SqliteIncidents } from './incidents.js';
import { applyMigrations } from './migrations.js';
import { SqlitePolicyBundles } from './policy-bundles.js';
import { SqliteRelationships } from './relationships.js';
import { SqliteReplay } from './replay.js';
import { SessionBuffer } from './session-buffer.js';
import { SqliteSinkCursors } from './sink-cursors.js';
import { prepareStatements, ShapedStatements, type Statements } from './statements.js';
import { SqliteToolPins } from './tool-pins.js';

export interface SqliteStoreOptions {
  /** How long to wait for another connection's write lock before failing, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Checkpoint the WAL from a worker thread instead of inside commits (default true). */
  backgroundCheckpoints?: boolean;
}

/**
 * The embedded store: one SQLite file in WAL mode through better-sqlite3. Every method does its
 * work synchronously (better-sqlite3 is synchronous) and returns a settled Promise, per the Store
 * interface. Multi-step changes run in IMMEDIATE transactions, which take the write lock up front,
 * so several connections or processes on the same file (with busy_timeout) serialize correctly.
 *
 * This class opens and closes the connection; each aggregate's SQL lives in its own file
 * (agents.ts, approvals.ts, decision-log.ts, …), all sharing this connection's statements.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;

  private readonly db: Database.Database;
  private checkpointer?: Checkpointer;
  private readonly s: Statements;
  private readonly agents: SqliteAgents;
  private readonly replay: SqliteReplay;
  private readonly approvals: SqliteApprovals;
  private readonly log: SqliteDecisionLog;
  private readonly checkpoints: SqliteCheckpoints;
  private readonly sessions: SessionBuffer;
  private readonly incidents: SqliteIncidents;
  private readonly grants: SqliteGrants;
  private readonly relationships: SqliteRelationships;
  private readonly bundles: SqlitePolicyBundles;
  private readonly pins: SqliteToolPins;
  private readonly sinkCursors: SqliteSinkCursors;

  private constructor(db: Database.Database) {
    this.db = db;
    this.s = prepareStatements(db);
    const shaped = new ShapedStatements(db);
    this.agents = new SqliteAgents(db, this.s.agents);
    this.replay = new SqliteReplay(this.s.replay);
    this.approvals = new SqliteApprovals(db, this.s.approvals, shaped);
    this.sessions = new SessionBuffer(db, this.s.sessions);
    this.log = new SqliteDecisionLog(db, this.s.decisions, shaped, this.sessions);
    this.checkpoints = new SqliteCheckpoints(db);
    this.incidents = new SqliteIncidents(this.s.incidents, shaped);
    this.grants = new SqliteGrants(db, this.s.grants);
    this.relationships = new SqliteRelationships(this.s.relationships, shaped);
    this.bundles = new SqlitePolicyBundles(this.s.bundles);
    this.pins = new SqliteToolPins(this.s.toolPins);
    this.sinkCursors = new SqliteSinkCursors(db);
  }

  /**
   * Opens (creating if needed) the database at `path` and brings its schema up to date.
   * `:memory:` gives a private in-memory database (tests).
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const memory = path === ':memory:' || path === '';
    if (!memory) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      // Set before anything that may need a lock, so concurrent openers wait instead of failing.
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      // WAL: readers never block the writer and vice versa; the mode persists in the file.
      if (!memory) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (String(mode).toLowerCase() !== 'wal') throw new Error(`could not enable WAL mode on ${path} (got ${String(mode)})`);
      }
      // synchronous=NORMAL in WAL mode: a committed transaction survives a crash of the process
      // (including kill -9), because it is in the WAL file the OS already holds. Only a power loss
      // or OS crash can lose the last few commits, and the database is never corrupted. That is the
      // durability Warden needs, without an fsync on every commit.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      applyMigrations(db);
      const store = new SqliteStore(db);
      if (!memory && options.backgroundCheckpoints !== false) {
        db.pragma('wal_autocheckpoint = 0');
        store.checkpointer = startCheckpointer(path);
      }
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async ping(): Promise<void> {
    this.s.ping.get();
  }

  async close(): Promise<void> {
    this.flushSessions();
    await this.checkpointer?.close();
    this.checkpointer = undefined;
    if (this.db.open) {
      // Fold the WAL back into the database file so it is self-contained at rest.
      try {
        if (!this.db.memory) this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Another connection holds the database; its own close will fold the WAL in.
      }
      this.db.close();
    }
  }

  /** Writes the sessions put since the last flush (also on close). */
  flushSessions(): void {
    this.sessions.flush();
  }

  // agents and credentials
  upsertAgent(agent: AgentRecord): Promise<void> {
    return this.agents.upsertAgent(agent);
  }
  getAgent(id: string): Promise<AgentRecord | undefined> {
    return this.agents.getAgent(id);
  }
  listAgents(): Promise<AgentRecord[]> {
    return this.agents.listAgents();
  }
  setAgentStatus(id: string, status: AgentRecord['status'], reason: string, at: Millis): Promise<AgentRecord | undefined> {
    return this.agents.setAgentStatus(id, status, reason, at);
  }
  putCredential(credential: CredentialRecord): Promise<void> {
    return this.agents.putCredential(credential);
  }
  getCredential(keyId: string): Promise<CredentialRecord | undefined> {
    return this.agents.getCredential(keyId);
  }
  revokeCredentials(agentId: string, kind: CredentialRecord['kind'], at: Millis): Promise<number> {
    return this.agents.revokeCredentials(agentId, kind, at);
  }

  // replay guard
  rememberRequestId(agentId: string, requestId: string, now: Millis, expiresAt: Millis): Promise<boolean> {
    return this.replay.rememberRequestId(agentId, requestId, now, expiresAt);
  }
  pruneRequestIds(now: Millis): Promise<number> {
    return this.replay.pruneRequestIds(now);
  }

  // approvals
  createApproval(approval: ApprovalRecord): Promise<void> {
    return this.approvals.createApproval(approval);
  }
  getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.approvals.getApproval(id);
  }
  listApprovals(filter: { status?: ApprovalStatus; tenant?: string; limit?: number }): Promise<ApprovalRecord[]> {
    return this.approvals.listApprovals(filter);
  }
  findOpenApproval(agentId: string, tool: string, argsHash: string): Promise<ApprovalRecord | undefined> {
    return this.approvals.findOpenApproval(agentId, tool, argsHash);
  }
  findApprovalForRetry(query: ApprovalRetryQuery): Promise<ApprovalRecord | undefined> {
    return this.approvals.findApprovalForRetry(query);
  }
  vote(id: string, vote: ApprovalVote, now: Millis): Promise<VoteOutcome> {
    return this.approvals.vote(id, vote, now);
  }
  claimApprovalForExecution(id: string): Promise<ApprovalRecord | undefined> {
    return this.approvals.claimApprovalForExecution(id);
  }
  settleApproval(id: string, status: 'executed' | 'failed', result: ApprovalRecord['result'], at: Millis): Promise<void> {
    return this.approvals.settleApproval(id, status, result, at);
  }
  expireApprovals(now: Millis): Promise<ApprovalRecord[]> {
    return this.approvals.expireApprovals(now);
  }

  // decision log
  appendDecisions(records: readonly DecisionRecord[]): Promise<void> {
    return this.log.appendDecisions(records);
  }
  appendChained(entries: readonly NewDecisionRecord[], link: ChainLink): Promise<DecisionRecord[]> {
    return this.log.appendChained(entries, link);
  }
  lastDecision(): Promise<DecisionRecord | undefined> {
    return this.log.lastDecision();
  }
  queryDecisions(query: DecisionQuery): Promise<DecisionRecord[]> {
    return this.log.queryDecisions(query);
  }
  getDecision(id: string): Promise<DecisionRecord | undefined> {
    return this.log.getDecision(id);
  }
  decisionStats(since: Millis, bucketMs: number, tenant?: string): Promise<DecisionStats> {
    return this.log.decisionStats(since, bucketMs, tenant);
  }
  scanDecisions(afterSeq: number, limit: number): Promise<DecisionRecord[]> {
    return this.log.scanDecisions(afterSeq, limit);
  }

  // signed checkpoints of the decision log
  addCheckpoint(checkpoint: CheckpointRecord): Promise<boolean> {
    return this.checkpoints.addCheckpoint(checkpoint);
  }
  lastCheckpoint(keyId?: string): Promise<CheckpointRecord | undefined> {
    return this.checkpoints.lastCheckpoint(keyId);
  }
  scanCheckpoints(afterSeq: number, limit: number): Promise<CheckpointRecord[]> {
    return this.checkpoints.scanCheckpoints(afterSeq, limit);
  }

  // sessions
  getSession(tenant: string, id: string): Promise<SessionRecord | undefined> {
    return this.sessions.getSession(tenant, id);
  }
  putSession(session: SessionRecord): Promise<void> {
    return this.sessions.putSession(session);
  }

  // incidents
  createIncident(incident: IncidentRecord): Promise<void> {
    return this.incidents.createIncident(incident);
  }
  listIncidents(filter: { agentId?: string; since?: Millis; limit?: number }): Promise<IncidentRecord[]> {
    return this.incidents.listIncidents(filter);
  }

  // break-glass
  createGrant(grant: BreakGlassGrant): Promise<void> {
    return this.grants.createGrant(grant);
  }
  revokeGrant(id: string, by: string, at: Millis): Promise<BreakGlassGrant | undefined> {
    return this.grants.revokeGrant(id, by, at);
  }
  listGrants(filter: { activeAt?: Millis }): Promise<BreakGlassGrant[]> {
    return this.grants.listGrants(filter);
  }

  // relationships
  addRelationship(tuple: Relationship): Promise<void> {
    return this.relationships.addRelationship(tuple);
  }
  removeRelationship(tuple: Relationship): Promise<void> {
    return this.relationships.removeRelationship(tuple);
  }
  relationshipsOf(subjects: readonly string[]): Promise<Relationship[]> {
    return this.relationships.relationshipsOf(subjects);
  }

  // policy bundles and tool pins
  recordPolicyBundle(record: PolicyBundleRecord): Promise<void> {
    return this.bundles.recordPolicyBundle(record);
  }
  listPolicyBundles(limit: number): Promise<PolicyBundleRecord[]> {
    return this.bundles.listPolicyBundles(limit);
  }
  getToolPin(tool: string): Promise<ToolPin | undefined> {
    return this.pins.getToolPin(tool);
  }
  putToolPin(pin: ToolPin): Promise<void> {
    return this.pins.putToolPin(pin);
  }
  listToolPins(): Promise<ToolPin[]> {
    return this.pins.listToolPins();
  }

  // decision-log sinks
  getSinkCursor(name: string): Promise<number | undefined> {
    return this.sinkCursors.getSinkCursor(name);
  }
  advanceSinkCursor(name: string, seq: number, at: Millis): Promise<void> {
    return this.sinkCursors.advanceSinkCursor(name, seq, at);
  }
}
