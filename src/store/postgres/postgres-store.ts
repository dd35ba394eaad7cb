import type pg from 'pg';
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
import type { ApprovalRetryQuery, DecisionFeedStore, LeaseStore } from '../ports.js';
import type { ChainLink, Store } from '../store.js';
import { PostgresAgents } from './agents.js';
import { PostgresApprovals } from './approvals.js';
import { PostgresCheckpoints } from './checkpoints.js';
import { createPool, decisionChannel, lockKey, parsePostgresUrl, settingsOf, type ConnectionSettings, type PostgresStoreOptions, type PostgresTarget } from './connection.js';
import { PostgresDecisionLog } from './decision-log.js';
import { DecisionFeed } from './feed.js';
import { PostgresGrants } from './grants.js';
import { PostgresIncidents } from './incidents.js';
import { Leases } from './leases.js';
import { checkSchema, migrateSchema, type MigrationResult } from './migrations.js';
import { PostgresPolicyBundles } from './policy-bundles.js';
import { PostgresRelationships } from './relationships.js';
import { PostgresReplay } from './replay.js';
import { PostgresSessions } from './sessions.js';
import { PostgresSinkCursors } from './sink-cursors.js';
import { PgDatabase } from './sql.js';
import { PostgresToolPins } from './tool-pins.js';

/**
 * The store for several replicas: PostgreSQL through a pg pool, Warden's tables in the schema the
 * URL names (`?schema=warden`, default `public`). Every method has the semantics of SqliteStore
 * (the contract suite checks both); multi-step changes are transactions or single conditional
 * statements, so replicas sharing the database never double-claim, double-vote or fork the log.
 * Beyond Store it follows the decision log as any writer extends it (LISTEN/NOTIFY) and holds
 * leases for periodic tasks (advisory locks).
 *
 * Each aggregate's SQL lives in its own file (agents.ts, approvals.ts, decision-log.ts, …).
 */
export class PostgresStore implements Store, DecisionFeedStore, LeaseStore {
  readonly kind = 'postgres' as const;
  /** The schema Warden's tables are in. */
  readonly schema: string;

  private readonly db: PgDatabase;
  private readonly feed: DecisionFeed;
  private readonly leases: Leases;
  private closing?: Promise<void>;
  private readonly agents: PostgresAgents;
  private readonly replay: PostgresReplay;
  private readonly approvals: PostgresApprovals;
  private readonly log: PostgresDecisionLog;
  private readonly checkpoints: PostgresCheckpoints;
  private readonly sessions: PostgresSessions;
  private readonly incidents: PostgresIncidents;
  private readonly grants: PostgresGrants;
  private readonly relationships: PostgresRelationships;
  private readonly bundles: PostgresPolicyBundles;
  private readonly pins: PostgresToolPins;
  private readonly sinkCursors: PostgresSinkCursors;

  private constructor(pool: pg.Pool, target: PostgresTarget, settings: ConnectionSettings) {
    this.schema = target.schema;
    this.db = new PgDatabase(pool, settings);
    const channel = decisionChannel(target.schema);
    this.agents = new PostgresAgents(this.db);
    this.replay = new PostgresReplay(this.db);
    this.approvals = new PostgresApprovals(this.db);
    this.log = new PostgresDecisionLog(this.db, lockKey(target.schema, 'decision-log'), channel);
    this.checkpoints = new PostgresCheckpoints(this.db);
    this.sessions = new PostgresSessions(this.db);
    this.incidents = new PostgresIncidents(this.db);
    this.grants = new PostgresGrants(this.db);
    this.relationships = new PostgresRelationships(this.db);
    this.bundles = new PostgresPolicyBundles(this.db);
    this.pins = new PostgresToolPins(this.db);
    this.sinkCursors = new PostgresSinkCursors(this.db);
    this.feed = new DecisionFeed(target, settings, channel, (afterSeq, limit) => this.log.scanDecisions(afterSeq, limit));
    this.leases = new Leases(target, settings);
  }

  /**
   * Connects to the database a `postgres://` URL names and brings its schema up to date (creating
   * the schema if needed), or, with `migrate: false`, refuses a schema that is behind.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const target = parsePostgresUrl(url);
    const settings = settingsOf(options);
    if (settings.migrate) await migrateSchema(target, settings);
    else await checkSchema(target, settings);
    return new PostgresStore(createPool(target, settings), target, settings);
  }

  /** Applies the pending migrations of the schema a URL names (`warden migrate`), and says which. */
  static async migrate(url: string, options: Omit<PostgresStoreOptions, 'migrate'> = {}): Promise<MigrationResult> {
    return migrateSchema(parsePostgresUrl(url), settingsOf(options));
  }

  async ping(): Promise<void> {
    await this.db.rows('SELECT 1');
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      await this.feed.close();
      await this.leases.close();
      await this.db.pool.end();
    })();
    return this.closing;
  }

  // the log as other writers extend it, and leases
  followDecisions(afterSeq: number, listener: (records: readonly DecisionRecord[]) => void): Promise<() => Promise<void>> {
    return this.feed.follow(afterSeq, listener);
  }
  whileLeader(name: string, task: () => Promise<void>): Promise<boolean> {
    return this.leases.whileLeader(name, task);
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
