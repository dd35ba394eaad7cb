import type Database from 'better-sqlite3';

/**
 * One schema change. Migrations are applied in `id` order, each exactly once, and never edited
 * after release: a change to the schema is a new migration appended to the list.
 */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/**
 * Conventions: times are INTEGER epoch milliseconds; JSON values are TEXT (JSON.stringify);
 * booleans are INTEGER 0/1; optional fields are NULL when absent.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE agents (
  id            TEXT PRIMARY KEY,
  roles         TEXT NOT NULL,
  tenant        TEXT,
  trust         TEXT NOT NULL,
  status        TEXT NOT NULL,
  source        TEXT NOT NULL,
  status_reason TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE credentials (
  key_id     TEXT PRIMARY KEY,
  agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL,
  hash       TEXT,
  secret_ref TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX idx_credentials_agent ON credentials(agent_id, kind);

-- The replay guard: one row per (agent, request id) until its window passes.
CREATE TABLE seen_requests (
  agent_id   TEXT NOT NULL,
  request_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (agent_id, request_id)
) WITHOUT ROWID;
CREATE INDEX idx_seen_requests_expires ON seen_requests(expires_at);

CREATE TABLE approvals (
  id            TEXT PRIMARY KEY,
  status        TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  request_id    TEXT NOT NULL,
  tenant        TEXT NOT NULL,
  session_id    TEXT,
  agent_id      TEXT NOT NULL,
  user_id       TEXT,
  action        TEXT NOT NULL,
  tool          TEXT NOT NULL,
  args          TEXT,
  args_hash     TEXT NOT NULL,
  args_redacted TEXT NOT NULL,
  requirement   TEXT NOT NULL,
  policy        TEXT,
  rule          TEXT,
  reason        TEXT NOT NULL,
  decision_id   TEXT NOT NULL,
  result        TEXT,
  settled_at    INTEGER
);
CREATE INDEX idx_approvals_status ON approvals(status, expires_at);
CREATE INDEX idx_approvals_tenant ON approvals(tenant, status);
CREATE INDEX idx_approvals_created ON approvals(created_at);

CREATE TABLE approval_votes (
  id             INTEGER PRIMARY KEY,
  approval_id    TEXT NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
  approver       TEXT NOT NULL,
  approver_roles TEXT NOT NULL,
  vote           TEXT NOT NULL,
  reason         TEXT NOT NULL,
  at             INTEGER NOT NULL,
  UNIQUE (approval_id, approver)
);

-- The append-only, hash-chained decision log. seq is given by the log writer (not generated).
CREATE TABLE decisions (
  seq            INTEGER PRIMARY KEY,
  id             TEXT NOT NULL UNIQUE,
  time           INTEGER NOT NULL,
  kind           TEXT NOT NULL,
  request_id     TEXT NOT NULL,
  trace_id       TEXT,
  tenant         TEXT NOT NULL,
  session_id     TEXT,
  agent_id       TEXT NOT NULL,
  user_id        TEXT,
  service_id     TEXT,
  action         TEXT NOT NULL,
  resource_type  TEXT NOT NULL,
  resource_id    TEXT NOT NULL,
  effect         TEXT NOT NULL,
  reason         TEXT NOT NULL,
  stage          TEXT NOT NULL,
  policy         TEXT,
  rule           TEXT,
  policy_version TEXT,
  bundle         TEXT,
  obligations    TEXT NOT NULL,
  outcome        TEXT NOT NULL,
  latency_us     INTEGER NOT NULL,
  args           TEXT NOT NULL,
  result_summary TEXT,
  approval_id    TEXT,
  break_glass    TEXT,
  decision_id    TEXT,
  details        TEXT NOT NULL,
  prev_hash      TEXT NOT NULL,
  hash           TEXT NOT NULL
);
-- Single-column indexes also carry the rowid (seq), so they serve "filter, then order by seq".
CREATE INDEX idx_decisions_agent_time ON decisions(agent_id, time);
CREATE INDEX idx_decisions_resource ON decisions(resource_id);
CREATE INDEX idx_decisions_effect ON decisions(effect);
CREATE INDEX idx_decisions_tenant ON decisions(tenant);
CREATE INDEX idx_decisions_session ON decisions(session_id);
CREATE INDEX idx_decisions_time ON decisions(time);

CREATE TABLE incidents (
  id          TEXT PRIMARY KEY,
  time        INTEGER NOT NULL,
  type        TEXT NOT NULL,
  severity    TEXT NOT NULL,
  agent_id    TEXT NOT NULL,
  tenant      TEXT,
  decision_id TEXT,
  description TEXT NOT NULL,
  reported_by TEXT NOT NULL
);
CREATE INDEX idx_incidents_agent_time ON incidents(agent_id, time);
CREATE INDEX idx_incidents_time ON incidents(time);

CREATE TABLE sessions (
  id         TEXT PRIMARY KEY,
  tenant     TEXT NOT NULL,
  calls_used INTEGER NOT NULL,
  spend      REAL NOT NULL,
  tainted    INTEGER NOT NULL,
  recent     TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE break_glass_grants (
  id         TEXT PRIMARY KEY,
  granted_by TEXT NOT NULL,
  reason     TEXT NOT NULL,
  scope      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoked_by TEXT
);
CREATE INDEX idx_grants_expires ON break_glass_grants(expires_at);

-- ReBAC tuples. The primary key starts with subject, so it is also the index on subject.
CREATE TABLE relationships (
  subject  TEXT NOT NULL,
  relation TEXT NOT NULL,
  object   TEXT NOT NULL,
  PRIMARY KEY (subject, relation, object)
) WITHOUT ROWID;
CREATE INDEX idx_relationships_object ON relationships(object);

CREATE TABLE policy_bundles (
  id        INTEGER PRIMARY KEY,
  bundle    TEXT NOT NULL,
  loaded_at INTEGER NOT NULL,
  policies  TEXT NOT NULL
);
CREATE INDEX idx_policy_bundles_loaded ON policy_bundles(loaded_at);

CREATE TABLE tool_pins (
  tool          TEXT PRIMARY KEY,
  hash          TEXT NOT NULL,
  first_seen_at INTEGER NOT NULL,
  approved_at   INTEGER,
  approved_by   TEXT
);
`,
  },
  {
    id: 2,
    name: 'fewer decision-log indexes',
    // Each index is one more B-tree written per record; effect and tenant filters are served by
    // scanning recent records in seq order, which the log's queries do anyway.
    sql: `DROP INDEX IF EXISTS idx_decisions_effect;
DROP INDEX IF EXISTS idx_decisions_tenant;`,
  },
  {
    id: 3,
    name: 'tool pins remember a changed definition until it is approved',
    sql: `ALTER TABLE tool_pins ADD COLUMN observed_hash TEXT;
ALTER TABLE tool_pins ADD COLUMN observed_at INTEGER;
ALTER TABLE tool_pins ADD COLUMN observed_definition TEXT;
ALTER TABLE tool_pins ADD COLUMN definition TEXT;`,
  },
  {
    id: 4,
    name: 'sessions remember what the guards saw (taint, private reads, tools called, denials)',
    sql: `ALTER TABLE sessions ADD COLUMN flow TEXT NOT NULL DEFAULT '{}';`,
  },
  {
    id: 5,
    name: 'signed checkpoints of the decision log',
    // One checkpoint per seq: writers that sign the same head keep the first.
    sql: `CREATE TABLE checkpoints (
  seq       INTEGER PRIMARY KEY,
  hash      TEXT NOT NULL,
  time      INTEGER NOT NULL,
  key_id    TEXT NOT NULL,
  signature TEXT NOT NULL
);
CREATE INDEX idx_checkpoints_key ON checkpoints(key_id, seq);`,
  },
  {
    id: 6,
    name: 'a retried call finds its approval, whatever its status',
    sql: `CREATE INDEX idx_approvals_retry ON approvals(agent_id, tool, args_hash, created_at);`,
  },
  {
    id: 7,
    name: 'decision-log sinks: the last record each sink delivered',
    sql: `CREATE TABLE sink_cursors (
  name       TEXT PRIMARY KEY,
  seq        INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);`,
  },
  {
    id: 8,
    name: 'a session is named by its tenant and its id (two tenants may use the same id)',
    // SQLite cannot change a primary key in place: the table is rebuilt with its rows.
    sql: `CREATE TABLE sessions_by_tenant (
  tenant     TEXT NOT NULL,
  id         TEXT NOT NULL,
  calls_used INTEGER NOT NULL,
  spend      REAL NOT NULL,
  tainted    INTEGER NOT NULL,
  recent     TEXT NOT NULL,
  flow       TEXT NOT NULL DEFAULT '{}',
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, id)
);
INSERT INTO sessions_by_tenant (tenant, id, calls_used, spend, tainted, recent, flow, updated_at)
  SELECT tenant, id, calls_used, spend, tainted, recent, flow, updated_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_by_tenant RENAME TO sessions;`,
  },
  {
    id: 9,
    name: 'decision-log search: request id, rule and tenant indexes, full-text index of reasons',
    // The explorer (GET /v1/audit) filters on these and pages newest first: an index on one column
    // also carries seq, so "col = ? ORDER BY seq DESC LIMIT n" reads n entries, not the table.
    // Tenant is back (migration 2 dropped it): a viewer's every query is scoped to a tenant, and a
    // small tenant in a large log is otherwise a full scan. Reasons are searched by word through
    // FTS5 (external content: the text is stored once, in decisions). Records are indexed after
    // they are written, in bulk, up to reason_index_cursor (reason-index.ts): not by a trigger,
    // which would put the FTS write inside every log transaction. detail=none and columnsize=0
    // keep only which records hold each word (all a word search needs). Accents are kept
    // (remove_diacritics 0), as in Postgres's built-in configurations: both answer alike. No
    // trigger follows a record changed or removed behind the log's back (tampering): a removed
    // record drops out of the join; an FTS5 'delete' with values other than those indexed would
    // corrupt the index, which is worse than a stale word.
    sql: `CREATE INDEX idx_decisions_request ON decisions(request_id);
CREATE INDEX idx_decisions_rule ON decisions(rule);
CREATE INDEX idx_decisions_tenant ON decisions(tenant);
CREATE VIRTUAL TABLE decisions_reason_fts USING fts5(reason, content='decisions', content_rowid='seq', tokenize='unicode61 remove_diacritics 0', detail=none, columnsize=0);
INSERT INTO decisions_reason_fts(decisions_reason_fts) VALUES ('rebuild');
CREATE TABLE reason_index_cursor (
  name TEXT PRIMARY KEY,
  seq  INTEGER NOT NULL
);
INSERT INTO reason_index_cursor (name, seq) VALUES ('reasons', COALESCE((SELECT MAX(seq) FROM decisions), 0));`,
  },
  {
    id: 10,
    name: 'decision-log indexes skip records without a session or a rule',
    // Every index is one more B-tree written per record. Records without a session (most calls
    // outside MCP) or without a rule (a default deny) are never looked up by those columns: the
    // explorer filters on `session_id = ?` / `rule = ?`, and SQLite knows that `x = ?` implies
    // `x IS NOT NULL`, so the partial indexes still answer those filters (planner tests in
    // test/store/sqlite-decision-plans.test.ts).
    sql: `DROP INDEX IF EXISTS idx_decisions_session;
CREATE INDEX idx_decisions_session ON decisions(session_id) WHERE session_id IS NOT NULL;
DROP INDEX IF EXISTS idx_decisions_rule;
CREATE INDEX idx_decisions_rule ON decisions(rule) WHERE rule IS NOT NULL;`,
  },
];

/** The newest schema version this code knows. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.id), 0);

export class SchemaVersionError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `database schema version ${found} is newer than this version of Warden supports (${supported}); ` +
        'upgrade Warden, or point it at a different database',
    );
    this.name = 'SchemaVersionError';
  }
}

/**
 * Brings the database up to the newest schema, inside one immediate transaction so that two
 * processes opening the same file at once apply each migration exactly once. A failing migration
 * rolls everything back. Refuses (SchemaVersionError) a database newer than this code.
 * Returns the ids applied now.
 */
export function applyMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const ordered = [...migrations].sort((a, b) => a.id - b.id);
  for (let i = 1; i < ordered.length; i++) {
    if (ordered[i]!.id === ordered[i - 1]!.id) throw new Error(`duplicate migration id ${ordered[i]!.id}`);
  }
  const latest = ordered.length > 0 ? ordered[ordered.length - 1]!.id : 0;

  const run = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`);
    const applied = new Set(
      db
        .prepare<[], { id: number }>('SELECT id FROM schema_migrations')
        .all()
        .map((row) => row.id),
    );
    const current = Math.max(0, ...applied);
    if (current > latest) throw new SchemaVersionError(current, latest);

    const insert = db.prepare<[number, string, number]>(
      'INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)',
    );
    const done: number[] = [];
    for (const migration of ordered) {
      if (applied.has(migration.id)) continue;
      db.exec(migration.sql);
      insert.run(migration.id, migration.name, Date.now());
      done.push(migration.id);
    }
    return done;
  });
  return run.immediate();
}
