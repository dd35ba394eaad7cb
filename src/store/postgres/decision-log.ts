import pg from 'pg';
import type { Effect } from '../../model/effect.js';
import type { DecisionQuery, DecisionRecord, DecisionStats, Millis, NewDecisionRecord, Outcome } from '../records.js';
import type { ChainLink, DecisionLogStore } from '../ports.js';
import { sqlState } from './connection.js';
import { decisionSelect } from './decision-search.js';
import { clampLimit, decisionParams, DECISION_COLUMNS, encodeText, list, toDecision, type DecisionRow } from './rows.js';
import { rollback, type PgDatabase } from './sql.js';

const HEAD = 'SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1';
const DECISION = list(DECISION_COLUMNS);

/** A value as an SQL literal: NULL, a safe integer, or a string escaped by pg (its NULs encoded first, rows.ts). */
function literal(value: string | number | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`decision log: ${value} is not an integer the log can store`);
    return String(value);
  }
  return pg.escapeLiteral(encodeText(value));
}

/**
 * The whole batch as one multi-row INSERT with literal values. Literals rather than parameters so
 * that the INSERT, the NOTIFY and the COMMIT go in one simple-protocol message: while the log's
 * lock is held there is one round trip, not two (under contention, each round trip the lock
 * holder waits for is a wait for every writer).
 */
function insertOf(records: readonly DecisionRecord[]): string {
  const rows = records.map((record) => {
    const params = decisionParams(record);
    return `(${DECISION_COLUMNS.map((column) => literal(params[column] ?? null)).join(', ')})`;
  });
  return `INSERT INTO decisions (${DECISION_COLUMNS.join(', ')}) VALUES ${rows.join(',\n')}`;
}

/**
 * The log on Postgres, written by any number of processes. Each write is one transaction that
 * first takes a transaction-level advisory lock of this schema's log, reads the head inside it,
 * inserts the whole batch in one statement and NOTIFYs the schema's channel before COMMIT. The
 * lock is held until COMMIT, so the next writer reads a head that is committed: the chain never
 * forks, and records become visible in seq order (a reader never sees seq n+1 without n), which
 * is what lets followDecisions deliver every record once with no gap.
 */
export class PostgresDecisionLog implements DecisionLogStore {
  /** `BEGIN; take the lock; read the head`: one round trip (each statement its own snapshot, after the lock). */
  private readonly begin: string;

  constructor(
    private readonly db: PgDatabase,
    private readonly lock: string,
    private readonly channel: string,
  ) {
    if (!/^-?\d+$/.test(lock) || !/^[a-z0-9_]+$/.test(channel)) throw new Error('invalid lock key or channel');
    this.begin = `BEGIN; SELECT pg_advisory_xact_lock(${lock}); ${HEAD}`;
  }

  async appendDecisions(records: readonly DecisionRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.write(async () => records);
  }

  async appendChained(entries: readonly NewDecisionRecord[], link: ChainLink): Promise<DecisionRecord[]> {
    if (entries.length === 0) return [];
    try {
      return await this.write(async (head) => {
        let previous = head;
        const records: DecisionRecord[] = [];
        for (const entry of entries) {
          const record = link(entry, previous);
          records.push(record);
          previous = { seq: record.seq, hash: record.hash };
        }
        return records;
      });
    } catch (error) {
      const written = await this.alreadyWritten(entries, error);
      if (written) return written;
      throw error;
    }
  }

  /**
   * A batch retried after its COMMIT was in doubt (the connection dropped while committing) finds
   * its ids taken: when every entry is already in the log, that commit succeeded, and the records
   * written then are the answer (instead of failing on the duplicate ids forever).
   */
  private async alreadyWritten(entries: readonly NewDecisionRecord[], error: unknown): Promise<DecisionRecord[] | undefined> {
    if (sqlState(error) !== '23505' || (error as { constraint?: string }).constraint !== 'decisions_id_key') return undefined;
    const ids = entries.map((e) => e.id);
    const rows = await this.db.rows<DecisionRow>(`SELECT ${DECISION} FROM decisions WHERE id = ANY($1::text[]) ORDER BY seq`, [ids]);
    if (rows.length !== new Set(ids).size) return undefined;
    const byId = new Map(rows.map((row) => [row.id, toDecision(row)]));
    return entries.map((e) => byId.get(e.id)!);
  }

  /**
   * One write transaction of the log in two round trips: `BEGIN; lock; read the head`, then (the
   * records made by `fn` from the head) `INSERT …; NOTIFY; COMMIT`.
   */
  private async write(fn: (head: { seq: number; hash: string } | undefined) => Promise<readonly DecisionRecord[]>): Promise<DecisionRecord[]> {
    return this.db.withClient(async (client) => {
      let records: readonly DecisionRecord[];
      try {
        const results = (await client.query(this.begin)) as unknown as pg.QueryResult[];
        const head = results[2]?.rows[0] as { seq: number; hash: string } | undefined;
        records = await fn(head ? { seq: head.seq, hash: head.hash } : undefined);
        const last = records.reduce((max, r) => Math.max(max, r.seq), 0);
        await client.query(`${insertOf(records)};\nNOTIFY ${this.channel}, '${last}';\nCOMMIT`);
      } catch (error) {
        await rollback(client, error);
        throw error;
      }
      return [...records];
    });
  }

  async lastDecision(): Promise<DecisionRecord | undefined> {
    const [row] = await this.db.rows<DecisionRow>(`SELECT ${DECISION} FROM decisions ORDER BY seq DESC LIMIT 1`);
    return row ? toDecision(row) : undefined;
  }

  async queryDecisions(query: DecisionQuery): Promise<DecisionRecord[]> {
    const { text, values } = decisionSelect(DECISION, query);
    return (await this.db.rows<DecisionRow>(text, values)).map(toDecision);
  }

  async getDecision(id: string): Promise<DecisionRecord | undefined> {
    const [row] = await this.db.rows<DecisionRow>(`SELECT ${DECISION} FROM decisions WHERE id = $1`, [id]);
    return row ? toDecision(row) : undefined;
  }

  async decisionStats(since: Millis, bucketMs: number, tenant?: string): Promise<DecisionStats> {
    const where = `kind = 'decision' AND resource_type <> 'warden' AND time >= $1${tenant === undefined ? '' : ' AND tenant = $2'}`;
    const params: unknown[] = tenant === undefined ? [since] : [since, tenant];
    const byEffect = { allow: 0, deny: 0, require_approval: 0 };
    const byOutcome: DecisionStats['byOutcome'] = {};
    let total = 0;
    const grouped = await this.db.rows<{ effect: Effect; outcome: Outcome; n: number }>(
      `SELECT effect, outcome, COUNT(*) AS n FROM decisions WHERE ${where} GROUP BY effect, outcome`,
      params,
    );
    for (const row of grouped) {
      byEffect[row.effect] += row.n;
      byOutcome[row.outcome] = (byOutcome[row.outcome] ?? 0) + row.n;
      total += row.n;
    }
    const top = (column: 'agent_id' | 'resource_id') =>
      this.db.rows<{ key: string; n: number }>(
        `SELECT ${column} AS key, COUNT(*) AS n FROM decisions WHERE ${where} AND effect = 'deny' GROUP BY ${column} ORDER BY n DESC, key LIMIT 10`,
        params,
      );
    const bucket = `$${params.length + 1}::bigint`;
    const buckets = await this.db.rows<{ at: number; effect: Effect; n: number }>(
      `SELECT (time / ${bucket}) * ${bucket} AS at, effect, COUNT(*) AS n FROM decisions WHERE ${where} GROUP BY 1, effect ORDER BY 1`,
      [...params, Math.max(1, Math.floor(bucketMs))],
    );
    const series = new Map<number, DecisionStats['series'][number]>();
    for (const row of buckets) {
      const point = series.get(row.at) ?? { at: row.at, allow: 0, deny: 0, require_approval: 0 };
      point[row.effect] += row.n;
      series.set(row.at, point);
    }
    const [agents, tools] = await Promise.all([top('agent_id'), top('resource_id')]);
    return {
      total,
      byEffect,
      byOutcome,
      topDeniedAgents: agents.map((r) => ({ agentId: r.key, count: r.n })),
      topDeniedTools: tools.map((r) => ({ tool: r.key, count: r.n })),
      series: [...series.values()],
    };
  }

  async scanDecisions(afterSeq: number, limit: number): Promise<DecisionRecord[]> {
    return (await this.db.rows<DecisionRow>(`SELECT ${DECISION} FROM decisions WHERE seq > $1 ORDER BY seq ASC LIMIT $2`, [afterSeq, clampLimit(limit)])).map(toDecision);
  }
}
