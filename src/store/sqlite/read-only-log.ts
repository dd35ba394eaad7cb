import Database from 'better-sqlite3';
import type { RecordHead } from '../decision-pages.js';
import type { DecisionLogStore } from '../ports.js';
import type { DecisionQuery, DecisionRecord } from '../records.js';
import type { JsonObject, JsonValue } from '../../model/json.js';
import type { Effect } from '../../model/effect.js';
import { decisionSelects } from './decision-search.js';
import { ReasonIndex, registerHasWords } from './reason-index.js';
import { toDecision, type DecisionRow } from './rows.js';
import { clampLimit } from './statements.js';

/**
 * The decision log of a SQLite file opened read-only (SQLITE_OPEN_READONLY): no migration, no
 * checkpoint, no lock beyond a reader's; the gateway may keep writing meanwhile (WAL). For
 * commands that only read the log (`warden replay`).
 */
export class ReadOnlySqliteLog implements Pick<DecisionLogStore, 'queryDecisions' | 'scanDecisions' | 'lastDecision'> {
  private readonly scan: Database.Statement<[number, number], DecisionRow>;
  private readonly last: Database.Statement<[], DecisionRow>;
  private readonly heads: Database.Statement<[number, number], HeadRow>;
  private readonly reasons: ReasonIndex;

  private constructor(private readonly db: Database.Database) {
    this.scan = db.prepare<[number, number], DecisionRow>('SELECT * FROM decisions WHERE seq > ? ORDER BY seq ASC LIMIT ?');
    this.last = db.prepare<[], DecisionRow>('SELECT * FROM decisions ORDER BY seq DESC LIMIT 1');
    registerHasWords(db);
    this.reasons = new ReasonIndex(db);
    this.heads = db.prepare<[number, number], HeadRow>(`SELECT ${HEAD_COLUMNS.join(', ')} FROM decisions WHERE seq > ? ORDER BY seq ASC LIMIT ?`);
  }

  static open(path: string): ReadOnlySqliteLog {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      return new ReadOnlySqliteLog(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async queryDecisions(query: DecisionQuery): Promise<DecisionRecord[]> {
    const limit = clampLimit(query.limit);
    const rows: DecisionRow[] = [];
    for (const { sql, params } of decisionSelects(query, this.reasons.indexedUpTo())) {
      rows.push(...(this.db.prepare(sql).all(params) as DecisionRow[]).slice(0, limit - rows.length));
      if (rows.length >= limit) break;
    }
    return rows.map(toDecision);
  }

  async scanDecisions(afterSeq: number, limit: number): Promise<DecisionRecord[]> {
    return this.scan.all(afterSeq, clampLimit(limit)).map(toDecision);
  }

  /** Record heads (decision-pages.ts): a third less to read per row than whole records. */
  async scanHeads(afterSeq: number, limit: number): Promise<RecordHead[]> {
    return this.heads.all(afterSeq, clampLimit(limit)).map(toHead);
  }

  async lastDecision(): Promise<DecisionRecord | undefined> {
    const row = this.last.get();
    return row ? toDecision(row) : undefined;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

const HEAD_COLUMNS = ['seq', 'id', 'time', 'kind', 'request_id', 'tenant', 'session_id', 'agent_id', 'user_id', 'service_id', 'action', 'resource_type', 'resource_id', 'effect', 'stage', 'policy', 'rule', 'bundle', 'break_glass', 'args', 'details'] as const;
type HeadRow = Pick<DecisionRow, (typeof HEAD_COLUMNS)[number]>;

function toHead(row: HeadRow): RecordHead {
  const head: RecordHead = {
    seq: row.seq,
    id: row.id,
    time: row.time,
    kind: row.kind as RecordHead['kind'],
    requestId: row.request_id,
    tenant: row.tenant,
    agentId: row.agent_id,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    effect: row.effect as Effect,
    stage: row.stage,
    args: JSON.parse(row.args) as JsonValue,
    details: JSON.parse(row.details) as JsonObject,
  };
  if (row.session_id !== null) head.sessionId = row.session_id;
  if (row.user_id !== null) head.userId = row.user_id;
  if (row.service_id !== null) head.serviceId = row.service_id;
  if (row.policy !== null) head.policy = row.policy;
  if (row.rule !== null) head.rule = row.rule;
  if (row.bundle !== null) head.bundle = row.bundle;
  if (row.break_glass !== null) head.breakGlass = row.break_glass;
  return head;
}
