import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ApprovalRequirement } from '../../model/decision.js';
import type { Effect } from '../../model/effect.js';
import type { JsonObject, JsonValue } from '../../model/json.js';
import type { Obligation } from '../../model/obligation.js';
import type { TrustLevel } from '../../model/trust.js';
import type {
  AgentRecord,
  ApprovalRecord,
  ApprovalStatus,
  ApprovalVote,
  BreakGlassGrant,
  CredentialRecord,
  DecisionQuery,
  DecisionRecord,
  DecisionStats,
  NewDecisionRecord,
  IncidentRecord,
  Millis,
  Outcome,
  PolicyBundleRecord,
  Relationship,
  SessionRecord,
  ToolPin,
  VoteOutcome,
} from '../records.js';
import type { ChainLink, Store } from '../store.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { applyMigrations } from './migrations.js';

export interface SqliteStoreOptions {
  /** How long to wait for another connection's write lock before failing, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Checkpoint the WAL from a worker thread instead of inside commits (default true). */
  backgroundCheckpoints?: boolean;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
/** Stays well under SQLite's bound-parameter limit. */
const IN_CHUNK = 500;

// ---------------------------------------------------------------------------------------------
// rows as SQLite returns them

interface AgentRow {
  id: string;
  roles: string;
  tenant: string | null;
  trust: string;
  status: string;
  source: string;
  status_reason: string | null;
  created_at: number;
  updated_at: number;
}

interface CredentialRow {
  key_id: string;
  agent_id: string;
  kind: string;
  hash: string | null;
  secret_ref: string | null;
  created_at: number;
  revoked_at: number | null;
}

interface ApprovalRow {
  id: string;
  status: string;
  created_at: number;
  expires_at: number;
  request_id: string;
  tenant: string;
  session_id: string | null;
  agent_id: string;
  user_id: string | null;
  action: string;
  tool: string;
  args: string | null;
  args_hash: string;
  args_redacted: string;
  requirement: string;
  policy: string | null;
  rule: string | null;
  reason: string;
  decision_id: string;
  result: string | null;
  settled_at: number | null;
}

interface VoteRow {
  approver: string;
  approver_roles: string;
  vote: string;
  reason: string;
  at: number;
}

interface DecisionRow {
  seq: number;
  id: string;
  time: number;
  kind: string;
  request_id: string;
  trace_id: string | null;
  tenant: string;
  session_id: string | null;
  agent_id: string;
  user_id: string | null;
  service_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string;
  effect: string;
  reason: string;
  stage: string;
  policy: string | null;
  rule: string | null;
  policy_version: string | null;
  bundle: string | null;
  obligations: string;
  outcome: string;
  latency_us: number;
  args: string;
  result_summary: string | null;
  approval_id: string | null;
  break_glass: string | null;
  decision_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

interface SessionRow {
  id: string;
  tenant: string;
  calls_used: number;
  spend: number;
  tainted: number;
  recent: string;
  flow: string;
  updated_at: number;
}

interface IncidentRow {
  id: string;
  time: number;
  type: string;
  severity: string;
  agent_id: string;
  tenant: string | null;
  decision_id: string | null;
  description: string;
  reported_by: string;
}

interface GrantRow {
  id: string;
  granted_by: string;
  reason: string;
  scope: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
}

interface BundleRow {
  bundle: string;
  loaded_at: number;
  policies: string;
}

interface ToolPinRow {
  tool: string;
  hash: string;
  first_seen_at: number;
  approved_at: number | null;
  approved_by: string | null;
  definition: string | null;
  observed_hash: string | null;
  observed_at: number | null;
  observed_definition: string | null;
}

type Params = Record<string, string | number | null>;

/** How long a session update waits to ride along with a decision-log write before it is written alone. */
const SESSION_FLUSH_MS = 2;
/** Sessions kept in memory; the least recently used beyond this are read from the file again. */
const MAX_CACHED_SESSIONS = 50_000;

// ---------------------------------------------------------------------------------------------
// helpers

function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** JSON for a column that is NULL when the value is absent (a JSON `null` is stored as 'null'). */
function jsonOrNull(value: JsonValue | undefined): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function orNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}

/** Sets `key` only when the column held a value, so absent fields stay absent (not undefined). */
function setIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | null): void {
  if (value !== null && value !== undefined) target[key] = value;
}

/** One optional filter of a listing: skipped when its value is undefined. */
type Filter = [column: string, op: '=' | '>' | '>=' | '<=', value: string | number | undefined];

/**
 * `SELECT * FROM table WHERE <the filters that have a value> <orderBy> LIMIT @limit`. Parameters
 * are named by position, so calls with the same filters share one cached statement.
 */
function filteredSelect(table: string, filters: readonly Filter[], orderBy: string, limit: number | undefined): { sql: string; params: Params } {
  const where: string[] = [];
  const params: Params = { limit: clampLimit(limit) };
  filters.forEach(([column, op, value], i) => {
    if (value === undefined) return;
    where.push(`${column} ${op} @p${i}`);
    params[`p${i}`] = value;
  });
  return { sql: `SELECT * FROM ${table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ${orderBy} LIMIT @limit`, params };
}

function clampLimit(limit: number | undefined, fallback = DEFAULT_LIMIT): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.max(0, Math.min(MAX_LIMIT, Math.floor(limit)));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toAgent(row: AgentRow): AgentRecord {
  const agent: AgentRecord = {
    id: row.id,
    roles: parseJson<string[]>(row.roles),
    trust: row.trust as TrustLevel,
    status: row.status as AgentRecord['status'],
    source: row.source as AgentRecord['source'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  setIf(agent, 'tenant', row.tenant);
  setIf(agent, 'statusReason', row.status_reason);
  return agent;
}

function toCredential(row: CredentialRow): CredentialRecord {
  const credential: CredentialRecord = {
    agentId: row.agent_id,
    keyId: row.key_id,
    kind: row.kind as CredentialRecord['kind'],
    createdAt: row.created_at,
  };
  setIf(credential, 'hash', row.hash);
  setIf(credential, 'secretRef', row.secret_ref);
  setIf(credential, 'revokedAt', row.revoked_at);
  return credential;
}

function toVote(row: VoteRow): ApprovalVote {
  return {
    approver: row.approver,
    approverRoles: parseJson<string[]>(row.approver_roles),
    vote: row.vote as ApprovalVote['vote'],
    reason: row.reason,
    at: row.at,
  };
}

function toApproval(row: ApprovalRow, votes: ApprovalVote[]): ApprovalRecord {
  const approval: ApprovalRecord = {
    id: row.id,
    status: row.status as ApprovalStatus,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    requestId: row.request_id,
    tenant: row.tenant,
    agentId: row.agent_id,
    action: row.action,
    tool: row.tool,
    argsHash: row.args_hash,
    argsRedacted: parseJson<JsonObject>(row.args_redacted),
    requirement: parseJson<ApprovalRequirement>(row.requirement),
    reason: row.reason,
    decisionId: row.decision_id,
    votes,
  };
  setIf(approval, 'sessionId', row.session_id);
  setIf(approval, 'userId', row.user_id);
  if (row.args !== null) approval.args = parseJson<JsonObject>(row.args);
  setIf(approval, 'policy', row.policy);
  setIf(approval, 'rule', row.rule);
  if (row.result !== null) approval.result = parseJson<JsonValue>(row.result);
  setIf(approval, 'settledAt', row.settled_at);
  return approval;
}

function toDecision(row: DecisionRow): DecisionRecord {
  const record: DecisionRecord = {
    seq: row.seq,
    id: row.id,
    time: row.time,
    kind: row.kind as DecisionRecord['kind'],
    requestId: row.request_id,
    tenant: row.tenant,
    agentId: row.agent_id,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    effect: row.effect as Effect,
    reason: row.reason,
    stage: row.stage,
    obligations: parseJson<Obligation[]>(row.obligations),
    outcome: row.outcome as Outcome,
    latencyUs: row.latency_us,
    args: parseJson<JsonValue>(row.args),
    details: parseJson<JsonObject>(row.details),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  setIf(record, 'traceId', row.trace_id);
  setIf(record, 'sessionId', row.session_id);
  setIf(record, 'userId', row.user_id);
  setIf(record, 'serviceId', row.service_id);
  setIf(record, 'policy', row.policy);
  setIf(record, 'rule', row.rule);
  setIf(record, 'policyVersion', row.policy_version);
  setIf(record, 'bundle', row.bundle);
  if (row.result_summary !== null) record.resultSummary = parseJson<JsonValue>(row.result_summary);
  setIf(record, 'approvalId', row.approval_id);
  setIf(record, 'breakGlass', row.break_glass);
  setIf(record, 'decisionId', row.decision_id);
  return record;
}

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    callsUsed: row.calls_used,
    spend: row.spend,
    tainted: row.tainted !== 0,
    recent: parseJson<SessionRecord['recent']>(row.recent),
    ...(row.flow && row.flow !== '{}' ? { flow: parseJson<NonNullable<SessionRecord['flow']>>(row.flow) } : {}),
    updatedAt: row.updated_at,
  };
}

function toIncident(row: IncidentRow): IncidentRecord {
  const incident: IncidentRecord = {
    id: row.id,
    time: row.time,
    type: row.type,
    severity: row.severity as IncidentRecord['severity'],
    agentId: row.agent_id,
    description: row.description,
    reportedBy: row.reported_by,
  };
  setIf(incident, 'tenant', row.tenant);
  setIf(incident, 'decisionId', row.decision_id);
  return incident;
}

function toGrant(row: GrantRow): BreakGlassGrant {
  const grant: BreakGlassGrant = {
    id: row.id,
    grantedBy: row.granted_by,
    reason: row.reason,
    scope: parseJson<BreakGlassGrant['scope']>(row.scope),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
  setIf(grant, 'revokedAt', row.revoked_at);
  setIf(grant, 'revokedBy', row.revoked_by);
  return grant;
}

function toBundle(row: BundleRow): PolicyBundleRecord {
  return { bundle: row.bundle, loadedAt: row.loaded_at, policies: parseJson<PolicyBundleRecord['policies']>(row.policies) };
}

function sessionParams(session: SessionRecord): Params {
  return {
    id: session.id,
    tenant: session.tenant,
    calls_used: session.callsUsed,
    spend: session.spend,
    tainted: session.tainted ? 1 : 0,
    recent: JSON.stringify(session.recent),
    flow: session.flow ? JSON.stringify(session.flow) : '{}',
    updated_at: session.updatedAt,
  };
}

function toToolPin(row: ToolPinRow): ToolPin {
  const pin: ToolPin = { tool: row.tool, hash: row.hash, firstSeenAt: row.first_seen_at };
  setIf(pin, 'approvedAt', row.approved_at);
  setIf(pin, 'approvedBy', row.approved_by);
  setIf(pin, 'observedHash', row.observed_hash);
  setIf(pin, 'observedAt', row.observed_at);
  if (row.definition) pin.definition = parseJson<JsonObject>(row.definition);
  if (row.observed_definition) pin.observedDefinition = parseJson<JsonObject>(row.observed_definition);
  return pin;
}

function decisionParams(r: DecisionRecord): Params {
  return {
    seq: r.seq,
    id: r.id,
    time: r.time,
    kind: r.kind,
    request_id: r.requestId,
    trace_id: orNull(r.traceId),
    tenant: r.tenant,
    session_id: orNull(r.sessionId),
    agent_id: r.agentId,
    user_id: orNull(r.userId),
    service_id: orNull(r.serviceId),
    action: r.action,
    resource_type: r.resourceType,
    resource_id: r.resourceId,
    effect: r.effect,
    reason: r.reason,
    stage: r.stage,
    policy: orNull(r.policy),
    rule: orNull(r.rule),
    policy_version: orNull(r.policyVersion),
    bundle: orNull(r.bundle),
    obligations: JSON.stringify(r.obligations),
    outcome: r.outcome,
    latency_us: r.latencyUs,
    args: JSON.stringify(r.args),
    result_summary: jsonOrNull(r.resultSummary),
    approval_id: orNull(r.approvalId),
    break_glass: orNull(r.breakGlass),
    decision_id: orNull(r.decisionId),
    details: JSON.stringify(r.details),
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

const DECISION_COLUMNS = Object.keys(decisionParams({} as DecisionRecord));

// ---------------------------------------------------------------------------------------------

/**
 * The embedded store: one SQLite file in WAL mode through better-sqlite3. Every method does its
 * work synchronously (better-sqlite3 is synchronous) and returns a settled Promise, per the Store
 * interface. Multi-step changes run in IMMEDIATE transactions, which take the write lock up front,
 * so several connections or processes on the same file (with busy_timeout) serialize correctly.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;

  private readonly db: Database.Database;
  private checkpointer?: Checkpointer;
  private readonly dynamic = new Map<string, Database.Statement<[Params]>>();

  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly pendingSessions = new Map<string, SessionRecord>();
  private readonly sessions = new Map<string, SessionRecord>();
  private sessionFlush?: NodeJS.Timeout;
  private readonly tx: {
    vote: (id: string, vote: ApprovalVote, now: Millis) => VoteOutcome;
    claim: (id: string) => ApprovalRecord | undefined;
    expire: (now: Millis) => ApprovalRecord[];
    createApproval: (approval: ApprovalRecord) => void;
    appendDecisions: (records: readonly DecisionRecord[]) => void;
    appendChained: (entries: readonly NewDecisionRecord[], link: ChainLink) => DecisionRecord[];
    setAgentStatus: (id: string, status: AgentRecord['status'], reason: string, at: Millis) => AgentRecord | undefined;
    revokeGrant: (id: string, by: string, at: Millis) => BreakGlassGrant | undefined;
    read: <T>(fn: () => T) => T;
    putSessions: () => void;
  };

  private constructor(db: Database.Database) {
    this.db = db;
    this.s = prepareStatements(db);

    const read = db.transaction((fn: () => unknown) => fn());
    this.tx = {
      vote: wrapImmediate(db, (id: string, vote: ApprovalVote, now: Millis) => this.voteSync(id, vote, now)),
      claim: wrapImmediate(db, (id: string) => this.claimSync(id)),
      expire: wrapImmediate(db, (now: Millis) => this.expireSync(now)),
      createApproval: wrapImmediate(db, (approval: ApprovalRecord) => this.createApprovalSync(approval)),
      putSessions: wrapImmediate(db, () => this.writePendingSessions()),
      appendDecisions: wrapImmediate(db, (records: readonly DecisionRecord[]) => {
        for (const record of records) this.s.insertDecision.run(decisionParams(record));
      }),
      appendChained: wrapImmediate(db, (entries: readonly NewDecisionRecord[], link: ChainLink) => {
        this.writePendingSessions();
        const head = this.s.lastDecision.get();
        let previous = head ? { seq: head.seq, hash: head.hash } : undefined;
        const records: DecisionRecord[] = [];
        for (const entry of entries) {
          const record = link(entry, previous);
          this.s.insertDecision.run(decisionParams(record));
          records.push(record);
          previous = { seq: record.seq, hash: record.hash };
        }
        return records;
      }),
      setAgentStatus: wrapImmediate(db, (id: string, status: AgentRecord['status'], reason: string, at: Millis) => {
        const row = this.s.setAgentStatus.get({ id, status, reason, at });
        return row ? toAgent(row) : undefined;
      }),
      // Revoking twice keeps the first revocation (who and when) and still returns the grant.
      revokeGrant: wrapImmediate(db, (id: string, by: string, at: Millis) => {
        this.s.revokeGrant.run({ id, by, at });
        const row = this.s.getGrant.get(id);
        return row ? toGrant(row) : undefined;
      }),
      // A deferred transaction gives multi-statement reads (an approval and its votes) one snapshot.
      read: <T>(fn: () => T): T => read(fn) as T,
    };
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

  // -------------------------------------------------------------------------------------------
  // agents and credentials

  async upsertAgent(agent: AgentRecord): Promise<void> {
    this.s.upsertAgent.run({
      id: agent.id,
      roles: JSON.stringify(agent.roles),
      tenant: orNull(agent.tenant),
      trust: agent.trust,
      status: agent.status,
      source: agent.source,
      status_reason: orNull(agent.statusReason),
      created_at: agent.createdAt,
      updated_at: agent.updatedAt,
    });
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const row = this.s.getAgent.get(id);
    return row ? toAgent(row) : undefined;
  }

  async listAgents(): Promise<AgentRecord[]> {
    return this.s.listAgents.all().map(toAgent);
  }

  async setAgentStatus(id: string, status: AgentRecord['status'], reason: string, at: Millis): Promise<AgentRecord | undefined> {
    return this.tx.setAgentStatus(id, status, reason, at);
  }

  async putCredential(credential: CredentialRecord): Promise<void> {
    this.s.putCredential.run({
      key_id: credential.keyId,
      agent_id: credential.agentId,
      kind: credential.kind,
      hash: orNull(credential.hash),
      secret_ref: orNull(credential.secretRef),
      created_at: credential.createdAt,
      revoked_at: orNull(credential.revokedAt),
    });
  }

  async getCredential(keyId: string): Promise<CredentialRecord | undefined> {
    const row = this.s.getCredential.get(keyId);
    return row ? toCredential(row) : undefined;
  }

  async revokeCredentials(agentId: string, kind: CredentialRecord['kind'], at: Millis): Promise<number> {
    return this.s.revokeCredentials.run({ agent_id: agentId, kind, at }).changes;
  }

  // -------------------------------------------------------------------------------------------
  // replay guard

  async rememberRequestId(agentId: string, requestId: string, now: Millis, expiresAt: Millis): Promise<boolean> {
    // One statement, so atomic: inserts the first time; replaces a row whose window has passed;
    // leaves a live row alone (changes = 0, a replay).
    const result = this.s.rememberRequestId.run({
      agent_id: agentId,
      request_id: requestId,
      expires_at: expiresAt,
      now,
    });
    return result.changes > 0;
  }

  async pruneRequestIds(now: Millis): Promise<number> {
    return this.s.pruneRequestIds.run(now).changes;
  }

  // -------------------------------------------------------------------------------------------
  // approvals

  async createApproval(approval: ApprovalRecord): Promise<void> {
    this.tx.createApproval(approval);
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.tx.read(() => this.loadApproval(id));
  }

  async findOpenApproval(agentId: string, tool: string, argsHash: string): Promise<ApprovalRecord | undefined> {
    const row = this.s.findOpenApproval.get(agentId, tool, argsHash);
    return row ? this.withVotes(row) : undefined;
  }

  async listApprovals(filter: { status?: ApprovalStatus; tenant?: string; limit?: number }): Promise<ApprovalRecord[]> {
    const { sql, params } = filteredSelect(
      'approvals',
      [
        ['status', '=', filter.status],
        ['tenant', '=', filter.tenant],
      ],
      'ORDER BY created_at DESC, id DESC',
      filter.limit,
    );
    const statement = this.statement(sql);
    return this.tx.read(() => (statement.all(params) as ApprovalRow[]).map((row) => this.withVotes(row)));
  }

  async vote(id: string, vote: ApprovalVote, now: Millis): Promise<VoteOutcome> {
    return this.tx.vote(id, vote, now);
  }

  async claimApprovalForExecution(id: string): Promise<ApprovalRecord | undefined> {
    return this.tx.claim(id);
  }

  async settleApproval(id: string, status: 'executed' | 'failed', result: ApprovalRecord['result'], at: Millis): Promise<void> {
    this.s.settleApproval.run({ id, status, result: jsonOrNull(result), at });
  }

  async expireApprovals(now: Millis): Promise<ApprovalRecord[]> {
    return this.tx.expire(now);
  }

  private loadApproval(id: string): ApprovalRecord | undefined {
    const row = this.s.getApproval.get(id);
    return row ? this.withVotes(row) : undefined;
  }

  private withVotes(row: ApprovalRow): ApprovalRecord {
    return toApproval(row, this.s.votesOf.all(row.id).map(toVote));
  }

  private createApprovalSync(approval: ApprovalRecord): void {
    this.s.insertApproval.run({
      id: approval.id,
      status: approval.status,
      created_at: approval.createdAt,
      expires_at: approval.expiresAt,
      request_id: approval.requestId,
      tenant: approval.tenant,
      session_id: orNull(approval.sessionId),
      agent_id: approval.agentId,
      user_id: orNull(approval.userId),
      action: approval.action,
      tool: approval.tool,
      args: jsonOrNull(approval.args),
      args_hash: approval.argsHash,
      args_redacted: JSON.stringify(approval.argsRedacted),
      requirement: JSON.stringify(approval.requirement),
      policy: orNull(approval.policy),
      rule: orNull(approval.rule),
      reason: approval.reason,
      decision_id: approval.decisionId,
      result: jsonOrNull(approval.result),
      settled_at: orNull(approval.settledAt),
    });
    for (const vote of approval.votes) this.insertVote(approval.id, vote);
  }

  private insertVote(approvalId: string, vote: ApprovalVote): void {
    this.s.insertVote.run({
      approval_id: approvalId,
      approver: vote.approver,
      approver_roles: JSON.stringify(vote.approverRoles),
      vote: vote.vote,
      reason: vote.reason,
      at: vote.at,
    });
  }

  private voteSync(id: string, vote: ApprovalVote, now: Millis): VoteOutcome {
    const current = this.loadApproval(id);
    if (!current) return { ok: false, code: 'not_found', message: `approval ${id} not found` };
    if (current.status !== 'pending') {
      return { ok: false, code: 'not_pending', message: `approval ${id} is ${current.status}, not pending`, approval: current };
    }
    if (now >= current.expiresAt) {
      this.s.settleUndecided.run({ id, status: 'expired', at: now });
      return { ok: false, code: 'expired', message: `approval ${id} expired`, approval: this.loadApproval(id)! };
    }
    if (current.votes.some((v) => v.approver === vote.approver)) {
      return { ok: false, code: 'already_voted', message: `${vote.approver} already voted on approval ${id}`, approval: current };
    }
    this.insertVote(id, vote);
    let quorumReached = false;
    if (vote.vote === 'deny') {
      this.s.settleUndecided.run({ id, status: 'denied', at: now });
    } else {
      const approvals = current.votes.filter((v) => v.vote === 'approve').length + 1;
      if (approvals >= Math.max(1, current.requirement.quorum)) {
        this.s.markApproved.run(id);
        quorumReached = true;
      }
    }
    return { ok: true, approval: this.loadApproval(id)!, quorumReached };
  }

  private claimSync(id: string): ApprovalRecord | undefined {
    const changed = this.s.claim.run(id).changes;
    return changed === 1 ? this.loadApproval(id) : undefined;
  }

  private expireSync(now: Millis): ApprovalRecord[] {
    const ids = this.s.expirePending.all({ now }).map((row) => row.id);
    return ids.map((id) => this.loadApproval(id)!);
  }

  // -------------------------------------------------------------------------------------------
  // decision log

  async appendDecisions(records: readonly DecisionRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.tx.appendDecisions(records);
  }

  async appendChained(entries: readonly NewDecisionRecord[], link: ChainLink): Promise<DecisionRecord[]> {
    if (entries.length === 0) return [];
    const records = this.tx.appendChained(entries, link);
    // Committed with the records: the sessions that rode along are written.
    this.pendingSessions.clear();
    return records;
  }

  async lastDecision(): Promise<DecisionRecord | undefined> {
    const row = this.s.lastDecision.get();
    return row ? toDecision(row) : undefined;
  }

  async queryDecisions(query: DecisionQuery): Promise<DecisionRecord[]> {
    const { sql, params } = filteredSelect(
      'decisions',
      [
        ['agent_id', '=', query.agentId],
        ['resource_id', '=', query.tool],
        ['effect', '=', query.effect],
        ['tenant', '=', query.tenant],
        ['session_id', '=', query.sessionId],
        ['time', '>=', query.since],
        ['time', '<=', query.until],
        ['seq', '>', query.afterSeq],
      ],
      `ORDER BY seq ${query.order === 'asc' ? 'ASC' : 'DESC'}`,
      query.limit,
    );
    return (this.statement(sql).all(params) as DecisionRow[]).map(toDecision);
  }

  async getDecision(id: string): Promise<DecisionRecord | undefined> {
    const row = this.s.getDecision.get(id);
    return row ? toDecision(row) : undefined;
  }

  async decisionStats(since: Millis, bucketMs: number, tenant?: string): Promise<DecisionStats> {
    const where = `kind = 'decision' AND resource_type != 'warden' AND time >= @since${tenant === undefined ? '' : ' AND tenant = @tenant'}`;
    const params: Params = tenant === undefined ? { since } : { since, tenant };
    const byEffect = { allow: 0, deny: 0, require_approval: 0 };
    const byOutcome: DecisionStats['byOutcome'] = {};
    let total = 0;
    for (const row of this.statement(`SELECT effect, outcome, COUNT(*) AS n FROM decisions WHERE ${where} GROUP BY effect, outcome`).all(params) as Array<{
      effect: Effect;
      outcome: Outcome;
      n: number;
    }>) {
      byEffect[row.effect] += row.n;
      byOutcome[row.outcome] = (byOutcome[row.outcome] ?? 0) + row.n;
      total += row.n;
    }
    const top = (column: 'agent_id' | 'resource_id') =>
      this.statement(`SELECT ${column} AS key, COUNT(*) AS n FROM decisions WHERE ${where} AND effect = 'deny' GROUP BY ${column} ORDER BY n DESC, key LIMIT 10`).all(params) as Array<{
        key: string;
        n: number;
      }>;
    const series = new Map<number, DecisionStats['series'][number]>();
    const buckets = this.statement(`SELECT (time / CAST(@bucket AS INTEGER)) * CAST(@bucket AS INTEGER) AS at, effect, COUNT(*) AS n FROM decisions WHERE ${where} GROUP BY at, effect ORDER BY at`).all({
      ...params,
      bucket: Math.max(1, Math.floor(bucketMs)),
    }) as Array<{ at: number; effect: Effect; n: number }>;
    for (const row of buckets) {
      const point = series.get(row.at) ?? { at: row.at, allow: 0, deny: 0, require_approval: 0 };
      point[row.effect] += row.n;
      series.set(row.at, point);
    }
    return {
      total,
      byEffect,
      byOutcome,
      topDeniedAgents: top('agent_id').map((r) => ({ agentId: r.key, count: r.n })),
      topDeniedTools: top('resource_id').map((r) => ({ tool: r.key, count: r.n })),
      series: [...series.values()],
    };
  }

  async scanDecisions(afterSeq: number, limit: number): Promise<DecisionRecord[]> {
    return this.s.scanDecisions.all(afterSeq, clampLimit(limit)).map(toDecision);
  }

  // -------------------------------------------------------------------------------------------
  // sessions

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const known = this.sessions.get(id);
    if (known) return { ...known };
    const row = this.s.getSession.get(id);
    if (!row) return undefined;
    const session = toSession(row);
    this.remember(session);
    return { ...session };
  }

  /**
   * Sessions are kept in memory and written behind. Only the gateway's pipeline writes them,
   * under its per-session lock, so the copy here is what the file holds or is about to. A call
   * updates its session twice (limits, then what it did) and concurrent calls update many: the
   * puts ride along in the decision log's next write transaction, or in their own within 2 ms.
   * A crash loses at most those 2 ms of session counters; the decision records, which say what
   * ran, are written before any side effect.
   */
  async putSession(session: SessionRecord): Promise<void> {
    const copy = { ...session };
    this.remember(copy);
    this.pendingSessions.set(session.id, copy);
    this.sessionFlush ??= setTimeout(() => this.flushSessions(), SESSION_FLUSH_MS);
  }

  /** Writes the sessions put since the last flush (also on close). */
  flushSessions(): void {
    clearTimeout(this.sessionFlush);
    this.sessionFlush = undefined;
    if (this.pendingSessions.size === 0 || !this.db.open) return;
    try {
      this.tx.putSessions();
      this.pendingSessions.clear(); // committed
    } catch {
      // Kept for the next flush; the decision log, written to the same file, fails closed meanwhile.
      this.sessionFlush = setTimeout(() => this.flushSessions(), 100);
    }
  }

  /** Inside a write transaction: the pending sessions (cleared only when it commits, by the caller). */
  private writePendingSessions(): void {
    for (const session of this.pendingSessions.values()) this.s.putSession.run(sessionParams(session));
  }

  private remember(session: SessionRecord): void {
    if (this.sessions.size >= MAX_CACHED_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.delete(session.id); // re-inserted last: the map's order is the eviction order
    this.sessions.set(session.id, session);
  }

  // -------------------------------------------------------------------------------------------
  // incidents

  async createIncident(incident: IncidentRecord): Promise<void> {
    this.s.insertIncident.run({
      id: incident.id,
      time: incident.time,
      type: incident.type,
      severity: incident.severity,
      agent_id: incident.agentId,
      tenant: orNull(incident.tenant),
      decision_id: orNull(incident.decisionId),
      description: incident.description,
      reported_by: incident.reportedBy,
    });
  }

  async listIncidents(filter: { agentId?: string; since?: Millis; limit?: number }): Promise<IncidentRecord[]> {
    const { sql, params } = filteredSelect(
      'incidents',
      [
        ['agent_id', '=', filter.agentId],
        ['time', '>=', filter.since],
      ],
      'ORDER BY time DESC, id DESC',
      filter.limit,
    );
    return (this.statement(sql).all(params) as IncidentRow[]).map(toIncident);
  }

  // -------------------------------------------------------------------------------------------
  // break-glass

  async createGrant(grant: BreakGlassGrant): Promise<void> {
    this.s.insertGrant.run({
      id: grant.id,
      granted_by: grant.grantedBy,
      reason: grant.reason,
      scope: JSON.stringify(grant.scope),
      created_at: grant.createdAt,
      expires_at: grant.expiresAt,
      revoked_at: orNull(grant.revokedAt),
      revoked_by: orNull(grant.revokedBy),
    });
  }

  async revokeGrant(id: string, by: string, at: Millis): Promise<BreakGlassGrant | undefined> {
    return this.tx.revokeGrant(id, by, at);
  }

  async listGrants(filter: { activeAt?: Millis }): Promise<BreakGlassGrant[]> {
    const rows = filter.activeAt === undefined ? this.s.listGrants.all() : this.s.listActiveGrants.all({ at: filter.activeAt });
    return rows.map(toGrant);
  }

  // -------------------------------------------------------------------------------------------
  // relationships

  async addRelationship(tuple: Relationship): Promise<void> {
    this.s.addRelationship.run(tuple.subject, tuple.relation, tuple.object);
  }

  async removeRelationship(tuple: Relationship): Promise<void> {
    this.s.removeRelationship.run(tuple.subject, tuple.relation, tuple.object);
  }

  async relationshipsOf(subjects: readonly string[]): Promise<Relationship[]> {
    const unique = [...new Set(subjects)];
    if (unique.length === 0) return [];
    const out: Relationship[] = [];
    for (const chunk of chunks(unique, IN_CHUNK)) {
      const params: Params = {};
      chunk.forEach((subject, i) => (params[`s${i}`] = subject));
      const sql = `SELECT subject, relation, object FROM relationships WHERE subject IN (${chunk.map((_, i) => `@s${i}`).join(', ')})`;
      out.push(...(this.statement(sql).all(params) as Relationship[]));
    }
    return out.sort(
      (a, b) => cmp(a.subject, b.subject) || cmp(a.relation, b.relation) || cmp(a.object, b.object),
    );
  }

  // -------------------------------------------------------------------------------------------
  // policy bundles and tool pins

  async recordPolicyBundle(record: PolicyBundleRecord): Promise<void> {
    this.s.insertBundle.run({ bundle: record.bundle, loaded_at: record.loadedAt, policies: JSON.stringify(record.policies) });
  }

  async listPolicyBundles(limit: number): Promise<PolicyBundleRecord[]> {
    return this.s.listBundles.all(clampLimit(limit)).map(toBundle);
  }

  async getToolPin(tool: string): Promise<ToolPin | undefined> {
    const row = this.s.getToolPin.get(tool);
    return row ? toToolPin(row) : undefined;
  }

  async putToolPin(pin: ToolPin): Promise<void> {
    this.s.putToolPin.run({
      tool: pin.tool,
      hash: pin.hash,
      first_seen_at: pin.firstSeenAt,
      approved_at: orNull(pin.approvedAt),
      approved_by: orNull(pin.approvedBy),
      definition: pin.definition ? JSON.stringify(pin.definition) : null,
      observed_hash: orNull(pin.observedHash),
      observed_at: orNull(pin.observedAt),
      observed_definition: pin.observedDefinition ? JSON.stringify(pin.observedDefinition) : null,
    });
  }

  async listToolPins(): Promise<ToolPin[]> {
    return this.s.listToolPins.all().map(toToolPin);
  }

  // -------------------------------------------------------------------------------------------

  /** Statements whose SQL depends on which filters are set: prepared once per shape, then reused. */
  private statement(sql: string): Database.Statement<[Params]> {
    let statement = this.dynamic.get(sql);
    if (!statement) {
      statement = this.db.prepare<[Params]>(sql);
      this.dynamic.set(sql, statement);
    }
    return statement;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Wraps `fn` in a BEGIN IMMEDIATE transaction (takes the write lock before the first read). */
function wrapImmediate<A extends unknown[], R>(db: Database.Database, fn: (...args: A) => R): (...args: A) => R {
  const transaction = db.transaction(fn);
  return (...args: A): R => transaction.immediate(...args);
}

function prepareStatements(db: Database.Database) {
  return {
    ping: db.prepare<[], { one: number }>('SELECT 1 AS one'),

    upsertAgent: db.prepare<[Params]>(`
      INSERT INTO agents (id, roles, tenant, trust, status, source, status_reason, created_at, updated_at)
      VALUES (@id, @roles, @tenant, @trust, @status, @source, @status_reason, @created_at, @updated_at)
      ON CONFLICT(id) DO UPDATE SET
        roles = excluded.roles, tenant = excluded.tenant, trust = excluded.trust, status = excluded.status,
        source = excluded.source, status_reason = excluded.status_reason,
        created_at = excluded.created_at, updated_at = excluded.updated_at`),
    getAgent: db.prepare<[string], AgentRow>('SELECT * FROM agents WHERE id = ?'),
    listAgents: db.prepare<[], AgentRow>('SELECT * FROM agents ORDER BY id'),
    setAgentStatus: db.prepare<[{ id: string; status: string; reason: string; at: number }], AgentRow>(
      'UPDATE agents SET status = @status, status_reason = @reason, updated_at = @at WHERE id = @id RETURNING *',
    ),

    putCredential: db.prepare<[Params]>(`
      INSERT INTO credentials (key_id, agent_id, kind, hash, secret_ref, created_at, revoked_at)
      VALUES (@key_id, @agent_id, @kind, @hash, @secret_ref, @created_at, @revoked_at)
      ON CONFLICT(key_id) DO UPDATE SET
        agent_id = excluded.agent_id, kind = excluded.kind, hash = excluded.hash, secret_ref = excluded.secret_ref,
        created_at = excluded.created_at, revoked_at = excluded.revoked_at`),
    getCredential: db.prepare<[string], CredentialRow>('SELECT * FROM credentials WHERE key_id = ?'),
    revokeCredentials: db.prepare<[{ agent_id: string; kind: string; at: number }]>(
      'UPDATE credentials SET revoked_at = @at WHERE agent_id = @agent_id AND kind = @kind AND revoked_at IS NULL',
    ),

    rememberRequestId: db.prepare<[{ agent_id: string; request_id: string; expires_at: number; now: number }]>(`
      INSERT INTO seen_requests (agent_id, request_id, expires_at) VALUES (@agent_id, @request_id, @expires_at)
      ON CONFLICT(agent_id, request_id) DO UPDATE SET expires_at = excluded.expires_at
      WHERE seen_requests.expires_at <= @now`),
    pruneRequestIds: db.prepare<[number]>('DELETE FROM seen_requests WHERE expires_at <= ?'),

    insertApproval: db.prepare<[Params]>(`
      INSERT INTO approvals (id, status, created_at, expires_at, request_id, tenant, session_id, agent_id, user_id,
        action, tool, args, args_hash, args_redacted, requirement, policy, rule, reason, decision_id, result, settled_at)
      VALUES (@id, @status, @created_at, @expires_at, @request_id, @tenant, @session_id, @agent_id, @user_id,
        @action, @tool, @args, @args_hash, @args_redacted, @requirement, @policy, @rule, @reason, @decision_id,
        @result, @settled_at)`),
    getApproval: db.prepare<[string], ApprovalRow>('SELECT * FROM approvals WHERE id = ?'),
    // Served by idx_approvals_status: only open approvals are read.
    findOpenApproval: db.prepare<[string, string, string], ApprovalRow>(
      "SELECT * FROM approvals WHERE status IN ('approved', 'pending') AND agent_id = ? AND tool = ? AND args_hash = ? ORDER BY status = 'approved' DESC, created_at DESC LIMIT 1",
    ),
    votesOf: db.prepare<[string], VoteRow>(
      'SELECT approver, approver_roles, vote, reason, at FROM approval_votes WHERE approval_id = ? ORDER BY id',
    ),
    insertVote: db.prepare<[Params]>(`
      INSERT INTO approval_votes (approval_id, approver, approver_roles, vote, reason, at)
      VALUES (@approval_id, @approver, @approver_roles, @vote, @reason, @at)`),
    /** Denied or expired: nothing will run, so the frozen arguments go too. */
    settleUndecided: db.prepare<[{ id: string; status: string; at: number }]>(
      "UPDATE approvals SET status = @status, settled_at = @at, args = NULL WHERE id = @id AND status = 'pending'",
    ),
    markApproved: db.prepare<[string]>("UPDATE approvals SET status = 'approved' WHERE id = ? AND status = 'pending'"),
    claim: db.prepare<[string]>("UPDATE approvals SET status = 'executing' WHERE id = ? AND status = 'approved'"),
    settleApproval: db.prepare<[{ id: string; status: string; result: string | null; at: number }]>(
      'UPDATE approvals SET status = @status, result = @result, settled_at = @at, args = NULL WHERE id = @id',
    ),
    expirePending: db.prepare<[{ now: number }], { id: string }>(
      "UPDATE approvals SET status = 'expired', settled_at = @now, args = NULL WHERE status = 'pending' AND expires_at <= @now RETURNING id",
    ),

    insertDecision: db.prepare<[Params]>(
      `INSERT INTO decisions (${DECISION_COLUMNS.join(', ')}) VALUES (${DECISION_COLUMNS.map((c) => `@${c}`).join(', ')})`,
    ),
    lastDecision: db.prepare<[], DecisionRow>('SELECT * FROM decisions ORDER BY seq DESC LIMIT 1'),
    getDecision: db.prepare<[string], DecisionRow>('SELECT * FROM decisions WHERE id = ?'),
    scanDecisions: db.prepare<[number, number], DecisionRow>('SELECT * FROM decisions WHERE seq > ? ORDER BY seq ASC LIMIT ?'),

    getSession: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id = ?'),
    putSession: db.prepare<[Params]>(`
      INSERT INTO sessions (id, tenant, calls_used, spend, tainted, recent, flow, updated_at)
      VALUES (@id, @tenant, @calls_used, @spend, @tainted, @recent, @flow, @updated_at)
      ON CONFLICT(id) DO UPDATE SET
        tenant = excluded.tenant, calls_used = excluded.calls_used, spend = excluded.spend,
        tainted = excluded.tainted, recent = excluded.recent, flow = excluded.flow, updated_at = excluded.updated_at`),

    insertIncident: db.prepare<[Params]>(`
      INSERT INTO incidents (id, time, type, severity, agent_id, tenant, decision_id, description, reported_by)
      VALUES (@id, @time, @type, @severity, @agent_id, @tenant, @decision_id, @description, @reported_by)`),

    insertGrant: db.prepare<[Params]>(`
      INSERT INTO break_glass_grants (id, granted_by, reason, scope, created_at, expires_at, revoked_at, revoked_by)
      VALUES (@id, @granted_by, @reason, @scope, @created_at, @expires_at, @revoked_at, @revoked_by)`),
    revokeGrant: db.prepare<[{ id: string; by: string; at: number }]>(
      'UPDATE break_glass_grants SET revoked_at = @at, revoked_by = @by WHERE id = @id AND revoked_at IS NULL',
    ),
    getGrant: db.prepare<[string], GrantRow>('SELECT * FROM break_glass_grants WHERE id = ?'),
    listGrants: db.prepare<[], GrantRow>('SELECT * FROM break_glass_grants ORDER BY created_at, id'),
    listActiveGrants: db.prepare<[{ at: number }], GrantRow>(`
      SELECT * FROM break_glass_grants
      WHERE revoked_at IS NULL AND created_at <= @at AND expires_at > @at
      ORDER BY created_at, id`),

    addRelationship: db.prepare<[string, string, string]>(
      'INSERT OR IGNORE INTO relationships (subject, relation, object) VALUES (?, ?, ?)',
    ),
    removeRelationship: db.prepare<[string, string, string]>(
      'DELETE FROM relationships WHERE subject = ? AND relation = ? AND object = ?',
    ),

    insertBundle: db.prepare<[Params]>(
      'INSERT INTO policy_bundles (bundle, loaded_at, policies) VALUES (@bundle, @loaded_at, @policies)',
    ),
    listBundles: db.prepare<[number], BundleRow>(
      'SELECT bundle, loaded_at, policies FROM policy_bundles ORDER BY loaded_at DESC, id DESC LIMIT ?',
    ),

    getToolPin: db.prepare<[string], ToolPinRow>('SELECT * FROM tool_pins WHERE tool = ?'),
    listToolPins: db.prepare<[], ToolPinRow>('SELECT * FROM tool_pins ORDER BY tool'),
    putToolPin: db.prepare<[Params]>(`
      INSERT INTO tool_pins (tool, hash, first_seen_at, approved_at, approved_by, definition, observed_hash, observed_at, observed_definition)
      VALUES (@tool, @hash, @first_seen_at, @approved_at, @approved_by, @definition, @observed_hash, @observed_at, @observed_definition)
      ON CONFLICT(tool) DO UPDATE SET
        hash = excluded.hash, first_seen_at = excluded.first_seen_at,
        approved_at = excluded.approved_at, approved_by = excluded.approved_by,
        definition = excluded.definition, observed_hash = excluded.observed_hash,
        observed_at = excluded.observed_at, observed_definition = excluded.observed_definition`),
  };
}
