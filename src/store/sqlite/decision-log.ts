import type Database from 'better-sqlite3';
import type { Effect } from '../../model/effect.js';
import type { DecisionQuery, DecisionRecord, DecisionStats, Millis, NewDecisionRecord, Outcome } from '../records.js';
import type { ChainLink, DecisionLogStore } from '../ports.js';
import { searchDecisions } from './decision-search.js';
import { ReasonIndex, registerHasWords } from './reason-index.js';
import { decisionValues, toDecision, type Params } from './rows.js';
import type { SessionBuffer } from './session-buffer.js';
import { clampLimit, immediate, type ShapedStatements, type DecisionStatements } from './statements.js';

/** Records a text search indexes before it runs, at most (~0.3 s): the rest is scanned as tail. */
const SEARCH_CATCH_UP = 10_000;

export class SqliteDecisionLog implements DecisionLogStore {
  private readonly reasons: ReasonIndex;

  private readonly tx: {
    appendDecisions: (records: readonly DecisionRecord[]) => void;
    appendChained: (entries: readonly NewDecisionRecord[], link: ChainLink) => DecisionRecord[];
  };

  /** `sessions`: the buffered session writes, which ride along in the log's write transactions. */
  constructor(
    db: Database.Database,
    private readonly s: DecisionStatements,
    private readonly shaped: ShapedStatements,
    private readonly sessions: Pick<SessionBuffer, 'writePending' | 'markWritten'>,
  ) {
    registerHasWords(db);
    this.reasons = new ReasonIndex(db);
    this.tx = {
      appendDecisions: immediate(db, (records: readonly DecisionRecord[]) => {
        for (const record of records) this.s.insertDecision.run(decisionValues(record));
      }),
      appendChained: immediate(db, (entries: readonly NewDecisionRecord[], link: ChainLink) => {
        this.sessions.writePending();
        let previous = this.s.chainHead.get();
        const records: DecisionRecord[] = [];
        for (const entry of entries) {
          const record = link(entry, previous);
          this.s.insertDecision.run(decisionValues(record));
          records.push(record);
          previous = { seq: record.seq, hash: record.hash };
        }
        return records;
      }),
    };
  }

  async appendDecisions(records: readonly DecisionRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.tx.appendDecisions(records);
  }

  async appendChained(entries: readonly NewDecisionRecord[], link: ChainLink): Promise<DecisionRecord[]> {
    if (entries.length === 0) return [];
    const records = this.tx.appendChained(entries, link);
    // Committed with the records: the sessions that rode along are written.
    this.sessions.markWritten();
    return records;
  }

  async lastDecision(): Promise<DecisionRecord | undefined> {
    const row = this.s.lastDecision.get();
    return row ? toDecision(row) : undefined;
  }

  async queryDecisions(query: DecisionQuery): Promise<DecisionRecord[]> {
    // A text search first indexes a bounded chunk of what is not indexed yet (reason-index.ts).
    if (query.text !== undefined) this.reasons.catchUp(SEARCH_CATCH_UP);
    return searchDecisions(query, this.reasons.indexedUpTo(), (sql, params) => this.shaped.get(sql).all(params));
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
    for (const row of this.shaped.get(`SELECT effect, outcome, COUNT(*) AS n FROM decisions WHERE ${where} GROUP BY effect, outcome`).all(params) as Array<{
      effect: Effect;
      outcome: Outcome;
      n: number;
    }>) {
      byEffect[row.effect] += row.n;
      byOutcome[row.outcome] = (byOutcome[row.outcome] ?? 0) + row.n;
      total += row.n;
    }
    const top = (column: 'agent_id' | 'resource_id') =>
      this.shaped.get(`SELECT ${column} AS key, COUNT(*) AS n FROM decisions WHERE ${where} AND effect = 'deny' GROUP BY ${column} ORDER BY n DESC, key LIMIT 10`).all(params) as Array<{
        key: string;
        n: number;
      }>;
    const series = new Map<number, DecisionStats['series'][number]>();
    const buckets = this.shaped.get(`SELECT (time / CAST(@bucket AS INTEGER)) * CAST(@bucket AS INTEGER) AS at, effect, COUNT(*) AS n FROM decisions WHERE ${where} GROUP BY at, effect ORDER BY at`).all({
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
}
