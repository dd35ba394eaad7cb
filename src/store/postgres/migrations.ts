import { SchemaVersionError } from '../sqlite/migrations.js';
import { createClient, explainError, lockKey, type ConnectionSettings, type PostgresTarget } from './connection.js';

/**
 * One schema change of the Postgres store, applied in `id` order, each exactly once, and never
 * edited after release (a change is a new migration). The ids are this store's own: they need not
 * follow SQLite's.
 */
export interface PostgresMigration {
  id: number;
  name: string;
  sql: string;
}

/*
 * Conventions, as on SQLite so both keep the same records: times and counts are BIGINT epoch ms
 * (read back as numbers); JSON values TEXT (exactly what JSON.stringify wrote); booleans SMALLINT
 * 0/1; absent fields NULL. Text that is sorted or compared is COLLATE "C" (byte order, as SQLite's
 * BINARY), so listings come out in the same order whatever the database's locale.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    id: 1,
    name: 'initial schema (the SQLite schema as of its migration 5)',
    sql: `
CREATE TABLE agents (
  id            text COLLATE "C" PRIMARY KEY,
  roles         text NOT NULL,
  tenant        text COLLATE "C",
  trust         text NOT NULL,
  status        text NOT NULL,
  source        text NOT NULL,
  status_reason text,
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL
);

CREATE TABLE credentials (
  key_id     text COLLATE "C" PRIMARY KEY,
  agent_id   text COLLATE "C" NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  kind       text COLLATE "C" NOT NULL,
  hash       text,
  secret_ref text,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX idx_credentials_agent ON credentials(agent_id, kind);

CREATE TABLE seen_requests (
  agent_id   text COLLATE "C" NOT NULL,
  request_id text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (agent_id, request_id)
);
CREATE INDEX idx_seen_requests_expires ON seen_requests(expires_at);

CREATE TABLE approvals (
  id            text COLLATE "C" PRIMARY KEY,
  status        text COLLATE "C" NOT NULL,
  created_at    bigint NOT NULL,
  expires_at    bigint NOT NULL,
  request_id    text NOT NULL,
  tenant        text COLLATE "C" NOT NULL,
  session_id    text,
  agent_id      text COLLATE "C" NOT NULL,
  user_id       text,
  action        text NOT NULL,
  tool          text COLLATE "C" NOT NULL,
  args          text,
  args_hash     text COLLATE "C" NOT NULL,
  args_redacted text NOT NULL,
  requirement   text NOT NULL,
  policy        text,
  rule          text,
  reason        text NOT NULL,
  decision_id   text NOT NULL,
  result        text,
  settled_at    bigint
);
CREATE INDEX idx_approvals_status ON approvals(status, expires_at);
CREATE INDEX idx_approvals_tenant ON approvals(tenant, status);
CREATE INDEX idx_approvals_created ON approvals(created_at);
CREATE INDEX idx_approvals_open ON approvals(agent_id, tool, args_hash) WHERE status IN ('approved', 'pending');

CREATE TABLE approval_votes (
  id             bigserial PRIMARY KEY,
  approval_id    text COLLATE "C" NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
  approver       text COLLATE "C" NOT NULL,
  approver_roles text NOT NULL,
  vote           text NOT NULL,
  reason         text NOT NULL,
  at             bigint NOT NULL,
  UNIQUE (approval_id, approver)
);

-- The append-only, hash-chained decision log. seq is given by the log writer (not generated).
CREATE TABLE decisions (
  seq            bigint PRIMARY KEY,
  id             text COLLATE "C" NOT NULL UNIQUE,
  time           bigint NOT NULL,
  kind           text COLLATE "C" NOT NULL,
  request_id     text NOT NULL,
  trace_id       text,
  tenant         text COLLATE "C" NOT NULL,
  session_id     text COLLATE "C",
  agent_id       text COLLATE "C" NOT NULL,
  user_id        text,
  service_id     text,
  action         text NOT NULL,
  resource_type  text COLLATE "C" NOT NULL,
  resource_id    text COLLATE "C" NOT NULL,
  effect         text COLLATE "C" NOT NULL,
  reason         text NOT NULL,
  stage          text NOT NULL,
  policy         text,
  rule           text,
  policy_version text,
  bundle         text,
  obligations    text NOT NULL,
  outcome        text COLLATE "C" NOT NULL,
  latency_us     bigint NOT NULL,
  args           text NOT NULL,
  result_summary text,
  approval_id    text,
  break_glass    text,
  decision_id    text,
  details        text NOT NULL,
  prev_hash      text NOT NULL,
  hash           text NOT NULL
);
CREATE INDEX idx_decisions_agent_time ON decisions(agent_id, time);
CREATE INDEX idx_decisions_resource ON decisions(resource_id, seq);
CREATE INDEX idx_decisions_session ON decisions(session_id, seq);
CREATE INDEX idx_decisions_time ON decisions(time);

CREATE TABLE incidents (
  id          text COLLATE "C" PRIMARY KEY,
  time        bigint NOT NULL,
  type        text NOT NULL,
  severity    text NOT NULL,
  agent_id    text COLLATE "C" NOT NULL,
  tenant      text,
  decision_id text,
  description text NOT NULL,
  reported_by text NOT NULL
);
CREATE INDEX idx_incidents_agent_time ON incidents(agent_id, time);
CREATE INDEX idx_incidents_time ON incidents(time);

CREATE TABLE sessions (
  id         text COLLATE "C" PRIMARY KEY,
  tenant     text NOT NULL,
  calls_used bigint NOT NULL,
  spend      double precision NOT NULL,
  tainted    smallint NOT NULL,
  recent     text NOT NULL,
  flow       text NOT NULL DEFAULT '{}',
  updated_at bigint NOT NULL
);

CREATE TABLE break_glass_grants (
  id         text COLLATE "C" PRIMARY KEY,
  granted_by text NOT NULL,
  reason     text NOT NULL,
  scope      text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  revoked_at bigint,
  revoked_by text
);
CREATE INDEX idx_grants_expires ON break_glass_grants(expires_at);

CREATE TABLE relationships (
  subject  text COLLATE "C" NOT NULL,
  relation text COLLATE "C" NOT NULL,
  object   text COLLATE "C" NOT NULL,
  PRIMARY KEY (subject, relation, object)
);
CREATE INDEX idx_relationships_object ON relationships(object);

CREATE TABLE policy_bundles (
  id        bigserial PRIMARY KEY,
  bundle    text NOT NULL,
  loaded_at bigint NOT NULL,
  policies  text NOT NULL
);
CREATE INDEX idx_policy_bundles_loaded ON policy_bundles(loaded_at);

CREATE TABLE tool_pins (
  tool                text COLLATE "C" PRIMARY KEY,
  hash                text NOT NULL,
  first_seen_at       bigint NOT NULL,
  approved_at         bigint,
  approved_by         text,
  definition          text,
  observed_hash       text,
  observed_at         bigint,
  observed_definition text
);

-- Signed checkpoints of the decision log: one per seq (writers that sign the same head keep the first).
CREATE TABLE checkpoints (
  seq       bigint PRIMARY KEY,
  hash      text NOT NULL,
  time      bigint NOT NULL,
  key_id    text COLLATE "C" NOT NULL,
  signature text NOT NULL
);
CREATE INDEX idx_checkpoints_key ON checkpoints(key_id, seq);
`,
  },
  {
    id: 2,
    name: 'a retried call finds its approval, whatever its status',
    sql: `CREATE INDEX idx_approvals_retry ON approvals(agent_id, tool, args_hash, created_at);`,
  },
  {
    id: 3,
    name: 'decision-log sinks: the last record each sink delivered',
    sql: `CREATE TABLE sink_cursors (
  name       text COLLATE "C" PRIMARY KEY,
  seq        bigint NOT NULL,
  updated_at bigint NOT NULL
);`,
  },
  {
    id: 4,
    name: 'a session is named by its tenant and its id (two tenants may use the same id)',
    sql: `ALTER TABLE sessions DROP CONSTRAINT sessions_pkey;
ALTER TABLE sessions ALTER COLUMN tenant TYPE text COLLATE "C";
ALTER TABLE sessions ADD PRIMARY KEY (tenant, id);`,
  },
  {
    id: 5,
    name: 'decision-log search: request id, rule and tenant indexes, full-text index of reasons',
    // As SQLite's migration 9. Each index ends with seq, so "col = $1 ORDER BY seq DESC LIMIT n"
    // reads n entries. Reasons: a GIN index over their words (punctuation made a space first, so
    // "support-agent" is two words, as FTS5's unicode61 splits it); built-in tsvector, no extension.
    // The expression must stay identical to REASON_WORDS in postgres/decision-search.ts.
    sql: `CREATE INDEX idx_decisions_request ON decisions(request_id, seq);
CREATE INDEX idx_decisions_rule ON decisions(rule, seq);
CREATE INDEX idx_decisions_tenant ON decisions(tenant, seq);
CREATE INDEX idx_decisions_reason_words ON decisions USING gin (to_tsvector('simple'::regconfig, regexp_replace(reason, '[[:punct:]]+', ' ', 'g')));`,
  },
  {
    id: 6,
    name: 'decision-log indexes skip records without a session or a rule',
    // As SQLite's migration 10: a record without a session or a rule writes no entry in those
    // indexes. `col = $1` implies `col IS NOT NULL` (the operator is strict), so the planner still
    // uses them (test/store/postgres-decision-plans.test.ts).
    sql: `DROP INDEX IF EXISTS idx_decisions_session;
CREATE INDEX idx_decisions_session ON decisions(session_id, seq) WHERE session_id IS NOT NULL;
DROP INDEX IF EXISTS idx_decisions_rule;
CREATE INDEX idx_decisions_rule ON decisions(rule, seq) WHERE rule IS NOT NULL;`,
  },
];

/** The newest schema version this code knows. */
export const LATEST_POSTGRES_VERSION: number = POSTGRES_MIGRATIONS.reduce((max, m) => Math.max(max, m.id), 0);

/** The table of applied migrations, in the store's schema. */
export const MIGRATIONS_TABLE = 'warden_migrations';

/** Migrations may rebuild big tables: they get far longer than a statement of the store. */
const MIGRATION_TIMEOUT_MS = 10 * 60_000;

/** The schema has migrations this code needs that are not applied, and the store was told not to apply them. */
export class SchemaBehindError extends Error {
  constructor(
    readonly schema: string,
    readonly found: number,
    readonly needed: number,
  ) {
    super(
      `postgres schema "${schema}" is at version ${found} but this version of Warden needs ${needed}: ` +
        'run `warden migrate` (or set postgres.migrate_on_start: true) before starting it',
    );
    this.name = 'SchemaBehindError';
  }
}

export interface MigrationResult {
  schema: string;
  /** The migrations applied now, in order (none when the schema was up to date). */
  applied: Array<{ id: number; name: string }>;
  /** The schema's version afterwards. */
  version: number;
}

function ordered(migrations: readonly PostgresMigration[]): PostgresMigration[] {
  const list = [...migrations].sort((a, b) => a.id - b.id);
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.id === list[i - 1]!.id) throw new Error(`duplicate migration id ${list[i]!.id}`);
  }
  return list;
}

/** The ids applied in the schema; empty when the schema or the table does not exist yet. */
async function appliedIds(client: { query: (text: string, values?: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }> }, schema: string): Promise<Set<number>> {
  const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [`"${schema}".${MIGRATIONS_TABLE}`]);
  if (exists.rows[0]?.present !== true) return new Set();
  const rows = await client.query(`SELECT version FROM "${schema}".${MIGRATIONS_TABLE}`);
  return new Set(rows.rows.map((r) => Number(r.version)));
}

/**
 * Brings the schema up to date: creates it if missing, then applies the pending migrations in one
 * transaction (a failing one rolls the whole run back). Runs under a session advisory lock keyed
 * by the schema, so replicas starting together wait for each other and each migration is applied
 * once. Refuses (SchemaVersionError) a schema newer than this code.
 */
export async function migrateSchema(target: PostgresTarget, settings: ConnectionSettings, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<MigrationResult> {
  const list = ordered(migrations);
  const latest = list.length > 0 ? list[list.length - 1]!.id : 0;
  const { schema } = target;
  const client = createClient(target, settings, { statementTimeoutMs: MIGRATION_TIMEOUT_MS, role: 'migrate' });
  client.on('error', () => undefined); // reported by the query that fails
  try {
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1::bigint)', [lockKey(schema, 'migrations')]);
    try {
      // CREATE SCHEMA IF NOT EXISTS needs the right to create schemas even when it exists.
      const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (found.rowCount === 0) await client.query(`CREATE SCHEMA "${schema}"`);
      const present = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [`"${schema}".${MIGRATIONS_TABLE}`]);
      if (present.rows[0]?.present !== true) {
        await client.query(`CREATE TABLE "${schema}".${MIGRATIONS_TABLE} (
          version    integer PRIMARY KEY,
          name       text NOT NULL,
          applied_at bigint NOT NULL
        )`);
      }
      const applied = await appliedIds(client, schema);
      const current = Math.max(0, ...applied);
      if (current > latest) throw new SchemaVersionError(current, latest);
      const pending = list.filter((m) => !applied.has(m.id));
      if (pending.length > 0) {
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL search_path TO "${schema}"`);
          for (const migration of pending) {
            await client.query(migration.sql);
            await client.query(`INSERT INTO "${schema}".${MIGRATIONS_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)`, [migration.id, migration.name, Date.now()]);
          }
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
      return { schema, applied: pending.map((m) => ({ id: m.id, name: m.name })), version: Math.max(current, ...pending.map((m) => m.id)) };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey(schema, 'migrations')]).catch(() => undefined);
    }
  } catch (error) {
    throw explainError(error, settings);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * For a store told not to migrate: the schema must have every migration this code knows (else
 * SchemaBehindError, naming `warden migrate`) and none it does not (SchemaVersionError).
 */
export async function checkSchema(target: PostgresTarget, settings: ConnectionSettings, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<number> {
  const list = ordered(migrations);
  const latest = list.length > 0 ? list[list.length - 1]!.id : 0;
  const client = createClient(target, settings, { role: 'migrate' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const applied = await appliedIds(client, target.schema);
    const current = Math.max(0, ...applied);
    if (current > latest) throw new SchemaVersionError(current, latest);
    const missing = list.filter((m) => !applied.has(m.id));
    if (missing.length > 0) throw new SchemaBehindError(target.schema, current, latest);
    return current;
  } catch (error) {
    throw explainError(error, settings);
  } finally {
    await client.end().catch(() => undefined);
  }
}
