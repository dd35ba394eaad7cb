import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { DecisionQuery } from '../../src/store/records.js';
import { decisionSelects, searchDecisions } from '../../src/store/sqlite/decision-search.js';
import { applyMigrations, MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { registerHasWords } from '../../src/store/sqlite/reason-index.js';
import { decisionParams, decisionValues, DECISION_COLUMNS, type Params } from '../../src/store/sqlite/rows.js';
import { decision, minimalDecision } from './fixtures.js';

/*
 * Which index SQLite's planner picks for each filter the explorer and the API offer
 * (GET /v1/audit, the session view, the agent pages, compliance, the replay guard's start), on
 * the schema as migrated. A dropped or reshaped index that turns one of these into a full scan
 * fails here. Plans are taken as the product runs them: no ANALYZE (the store never runs it).
 */

const open: Database.Database[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function database(migrations = MIGRATIONS): Database.Database {
  const db = new Database(':memory:');
  open.push(db);
  applyMigrations(db, migrations);
  registerHasWords(db);
  return db;
}

const plan = (db: Database.Database, sql: string, params: Params = {}): string =>
  db
    .prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .all(params)
    .map((row) => (row as { detail: string }).detail)
    .join(' | ');

/** The plan of a listing's (single, text-less) SELECT. */
function listingPlan(db: Database.Database, query: DecisionQuery): string {
  const [select, ...more] = decisionSelects({ limit: 100, ...query }, 0);
  expect(more).toEqual([]);
  return plan(db, select!.sql, select!.params);
}

/** Filters answered through an index: the filter, the index it must use. */
const INDEXED: Array<[string, DecisionQuery, RegExp]> = [
  ['agent', { agentId: 'support-agent' }, /USING INDEX idx_decisions_agent_time \(agent_id=\?\)/],
  ['tool', { tool: 'search_kb' }, /USING INDEX idx_decisions_resource \(resource_id=\?\)/],
  ['tenant', { tenant: 'acme-corp' }, /USING INDEX idx_decisions_tenant \(tenant=\?\)/],
  ['session (partial index, migration 10)', { sessionId: 'sess-1' }, /USING INDEX idx_decisions_session \(session_id=\?\)/],
  ['session view: session + tenant, oldest first', { sessionId: 'sess-1', tenant: 'acme-corp', order: 'asc' }, /USING INDEX idx_decisions_session \(session_id=\?\)/],
  ['request id', { requestId: 'req-1' }, /USING INDEX idx_decisions_request \(request_id=\?\)/],
  ['rule (partial index, migration 10)', { rule: 'allow-search' }, /USING INDEX idx_decisions_rule \(rule=\?\)/],
  ['time range', { since: 1, until: 2 }, /USING INDEX idx_decisions_time \(time>\? AND time<\?\)/],
  ['agent + since (compliance)', { agentId: 'support-agent', tenant: 'acme-corp', since: 1 }, /USING INDEX idx_decisions_agent_time \(agent_id=\? AND time>\?\)/],
  ['cursor, newest first', { beforeSeq: 10 }, /USING INTEGER PRIMARY KEY \(rowid<\?\)/],
  ['cursor, oldest first (tailing, export)', { afterSeq: 10, order: 'asc' }, /USING INTEGER PRIMARY KEY \(rowid>\?\)/],
];

/*
 * Filters deliberately answered by walking the log in seq order (the listing's own order, so no
 * sort: a page stops after `limit` matches). effect has three values (no index since migration
 * 2), a policy holds a large share of the records, "not this resource type" matches nearly all;
 * `since` alone is a suffix of the log in seq order as good as in time order.
 */
const SCANNED: Array<[string, DecisionQuery]> = [
  ['no filter', {}],
  ['effect', { effect: 'deny' }],
  ['policy', { policy: 'support' }],
  ['not a resource type', { notResourceType: 'warden' }],
  ['since', { since: 1 }],
];

describe('SQLite decision listings: the planner uses an index for each indexed filter', () => {
  for (const [what, query, index] of INDEXED) {
    it(what, () => {
      const db = database();
      expect(listingPlan(db, query)).toMatch(index);
      expect(listingPlan(db, query)).not.toMatch(/^SCAN decisions/);
    });
  }

  for (const [what, query] of SCANNED) {
    it(`${what}: a walk in seq order, no sort (accepted)`, () => {
      const plan = listingPlan(database(), query);
      expect(plan).toMatch(/^SCAN decisions$/);
    });
  }

  it('text: the full-text index drives the indexed part, the tail is a seq range', () => {
    const db = database();
    const [tail, indexed] = decisionSelects({ text: 'password', tenant: 'acme-corp', limit: 100 }, 10);
    // The tail: the records after the indexed ones, a seq range (here inside the tenant index).
    expect(plan(db, tail!.sql, tail!.params)).toMatch(/^SEARCH decisions USING .*rowid>\?\)$/);
    expect(plan(db, indexed!.sql, indexed!.params)).toMatch(/^SCAN decisions_reason_fts VIRTUAL TABLE .*SEARCH d USING INTEGER PRIMARY KEY \(rowid=\?\)/);
  });

  it("the statistics' time window (decisionStats) is read through the time index", () => {
    const db = database();
    const sql = "SELECT effect, outcome, COUNT(*) AS n FROM decisions WHERE kind = 'decision' AND resource_type != 'warden' AND time >= @since GROUP BY effect, outcome";
    expect(plan(db, sql, { since: 1 })).toMatch(/USING INDEX idx_decisions_time \(time>\?\)/);
  });

  it('a record by id is read through the unique index', () => {
    expect(plan(database(), 'SELECT * FROM decisions WHERE id = @id', { id: 'dec-1' })).toMatch(/USING INDEX sqlite_autoindex_decisions_1 \(id=\?\)/);
  });
});

describe('migration 10: session and rule indexes without the records that have none', () => {
  const BEFORE = MIGRATIONS.filter((m) => m.id < 10);
  const QUERIES: DecisionQuery[] = [
    {},
    { sessionId: 'sess-1' },
    { sessionId: 'sess-2', tenant: 'acme-corp', order: 'asc' },
    { rule: 'allow-search' },
    { rule: 'other-rule', order: 'asc' },
    { agentId: 'support-agent', effect: 'deny' },
    { tenant: 'globex', since: 0, until: Number.MAX_SAFE_INTEGER },
  ];

  function fill(db: Database.Database): void {
    const insert = db.prepare(`INSERT INTO decisions (${DECISION_COLUMNS.join(', ')}) VALUES (${DECISION_COLUMNS.map((c) => `@${c}`).join(', ')})`);
    for (let seq = 1; seq <= 300; seq++) {
      const record =
        seq % 3 === 0
          ? minimalDecision(seq, { tenant: seq % 2 === 0 ? 'globex' : 'acme-corp', effect: 'deny' })
          : decision(seq, { sessionId: seq % 5 === 0 ? 'sess-2' : 'sess-1', rule: seq % 7 === 0 ? 'other-rule' : 'allow-search' });
      insert.run(decisionParams(record));
    }
  }

  const answers = (db: Database.Database) =>
    QUERIES.map((q) => searchDecisions({ limit: 1000, ...q }, 0, (sql, params) => db.prepare(sql).all(params)).map((r) => r.seq));

  it('a log at schema 9 migrates; every listing answers the same records, in the same order', () => {
    const db = database(BEFORE);
    fill(db);
    const before = answers(db);
    expect(before.every((seqs) => seqs.length > 0)).toBe(true);
    expect(applyMigrations(db)).toEqual(MIGRATIONS.filter((m) => m.id >= 10).map((m) => m.id));
    expect(answers(db)).toEqual(before);
    const partial = db.prepare<[], { name: string; partial: number }>("SELECT name, partial FROM pragma_index_list('decisions')").all();
    expect(partial.filter((i) => i.partial === 1).map((i) => i.name).sort()).toEqual(['idx_decisions_rule', 'idx_decisions_session']);
    // The records without a session or a rule are not in those indexes.
    expect(db.prepare('SELECT COUNT(*) AS n FROM decisions INDEXED BY idx_decisions_session WHERE session_id IS NOT NULL').get()).toEqual({ n: 200 });
    expect(listingPlan(db, { sessionId: 'sess-1' })).toMatch(/USING INDEX idx_decisions_session/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  });
});

describe('decisionValues: the positional form of decisionParams', () => {
  it('names every column, in DECISION_COLUMNS order, for full and minimal records', () => {
    for (const record of [decision(7), minimalDecision(8), decision(9, { resultSummary: undefined, sessionId: undefined })]) {
      const params = decisionParams(record);
      expect(decisionValues(record)).toEqual(DECISION_COLUMNS.map((column) => params[column]));
      expect(decisionValues(record)).toHaveLength(DECISION_COLUMNS.length);
    }
  });
});
