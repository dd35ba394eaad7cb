import Database from 'better-sqlite3';
import type { RecordHead } from '../decision-pages.js';
import type { DecisionLogStore } from '../ports.js';
import type { DecisionQuery, DecisionRecord } from '../records.js';
import type { JsonObject, JsonValue } from '../../model/json.js';
import type { Effect } from '../../model/effect.js';
import { searchDecisions } from './decision-search.js';
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
    // Rows as arrays (raw): no object with 21 named properties built per row only to be copied.
    this.heads = db.prepare<[number, number], HeadRow>(`SELECT ${HEAD_COLUMNS.join(', ')} FROM decisions WHERE seq > ? ORDER BY seq ASC LIMIT ?`).raw(true);
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
    return searchDecisions(query, this.reasons.indexedUpTo(), (sql, params) => this.db.prepare(sql).all(params));
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
/** A head row as the raw statement returns it: the values of HEAD_COLUMNS, in that order. */
type HeadRow = [
  seq: number,
  id: string,
  time: number,
  kind: string,
  requestId: string,
  tenant: string,
  sessionId: string | null,
  agentId: string,
  userId: string | null,
  serviceId: string | null,
  action: string,
  resourceType: string,
  resourceId: string,
  effect: string,
  stage: string,
  policy: string | null,
  rule: string | null,
  bundle: string | null,
  breakGlass: string | null,
  args: string,
  details: string,
];

function toHead(row: HeadRow): RecordHead {
  const [seq, id, time, kind, requestId, tenant, sessionId, agentId, userId, serviceId, action, resourceType, resourceId, effect, stage, policy, rule, bundle, breakGlass, args, details] = row;
  const head: RecordHead = {
    seq,
    id,
    time,
    kind: kind as RecordHead['kind'],
    requestId,
    tenant,
    agentId,
    action,
    resourceType,
    resourceId,
    effect: effect as Effect,
    stage,
    args: JSON.parse(args) as JsonValue,
    details: JSON.parse(details) as JsonObject,
  };
  if (sessionId !== null) head.sessionId = sessionId;
  if (userId !== null) head.userId = userId;
  if (serviceId !== null) head.serviceId = serviceId;
  if (policy !== null) head.policy = policy;
  if (rule !== null) head.rule = rule;
  if (bundle !== null) head.bundle = bundle;
  if (breakGlass !== null) head.breakGlass = breakGlass;
  return head;
}
