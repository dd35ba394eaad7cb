import { createHash } from 'node:crypto';
import pg from 'pg';

/** How a PostgresStore connects; every field has a default. */
export interface PostgresStoreOptions {
  /** Connections in the pool of this process. Default 10. */
  poolSize?: number;
  /** A statement running longer is cancelled by the server, in ms (0: never). Default 5000. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection (a new one, or a free one of the pool), in ms. Default 5000. */
  connectTimeoutMs?: number;
  /**
   * Apply pending migrations when opening (under a lock, so replicas starting together do not
   * race). Off: the store refuses to open a schema that is behind (`warden migrate` brings it up).
   * Default true.
   */
  migrate?: boolean;
}

/** The options with their defaults filled in. */
export interface ConnectionSettings {
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  migrate: boolean;
}

export function settingsOf(options: PostgresStoreOptions = {}): ConnectionSettings {
  const ms = (value: number | undefined, fallback: number) => (value === undefined || !Number.isFinite(value) ? fallback : Math.max(0, Math.floor(value)));
  return {
    poolSize: Math.max(1, Math.floor(options.poolSize ?? 10)),
    statementTimeoutMs: ms(options.statementTimeoutMs, 5_000),
    connectTimeoutMs: ms(options.connectTimeoutMs, 5_000),
    migrate: options.migrate ?? true,
  };
}

/** A storage URL taken apart: what pg connects with, and the schema Warden's tables live in. */
export interface PostgresTarget {
  /** The URL without its `schema` parameter. */
  connectionString: string;
  schema: string;
  /** The URL's own `options` parameter (server settings), kept and extended with the search_path. */
  serverOptions?: string;
}

/** Lower case only: an unquoted identifier means the same schema in every tool (psql, pg_dump). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * `postgres://user:pass@host:5432/db?schema=warden&sslmode=require` → the URL pg gets (without
 * `schema`) and the schema (default `public`). Anything else in the query string is pg's.
 */
export function parsePostgresUrl(url: string): PostgresTarget {
  const trimmed = url.trim();
  if (!/^postgres(ql)?:\/\//i.test(trimmed)) throw new Error(`"${redactUrl(url)}" is not a postgres:// or postgresql:// URL`);
  const at = trimmed.indexOf('?');
  const base = at === -1 ? trimmed : trimmed.slice(0, at);
  const params = new URLSearchParams(at === -1 ? '' : trimmed.slice(at + 1));
  const schema = params.get('schema') ?? 'public';
  params.delete('schema');
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`postgres storage: schema "${schema}" is not a plain lower-case identifier (a-z, 0-9 and _, not starting with a digit, at most 63 characters)`);
  }
  const serverOptions = params.get('options') ?? undefined;
  params.delete('options');
  const rest = params.toString();
  return { connectionString: rest === '' ? base : `${base}?${rest}`, schema, ...(serverOptions ? { serverOptions } : {}) };
}

/** The URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/** How much longer than the statement timeout the client waits for an answer before giving up on the server. */
const CLIENT_MARGIN_MS = 2_000;

/** pg returns BIGINT (int8) as a string by default; every BIGINT of the store is a safe integer (ms, seq, counts). */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

export interface ClientOverrides {
  statementTimeoutMs?: number;
  /** What the connection is for (feed, lease, migrate), in its application_name; none for the pool's. */
  role?: string;
}

/**
 * The settings of every connection the store opens (pool, LISTEN, lease, migrations): the search
 * path set at connect time (so no query names the schema), the server cancelling slow statements,
 * and the client giving up on a server that does not answer at all (`query_timeout`), so that a
 * dead server never hangs a caller.
 */
export function clientConfig(target: PostgresTarget, settings: ConnectionSettings, overrides: ClientOverrides = {}): pg.ClientConfig {
  const statementTimeout = overrides.statementTimeoutMs ?? settings.statementTimeoutMs;
  const config: pg.ClientConfig = {
    connectionString: target.connectionString,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    keepAlive: true,
    // What the connection is for and which schema, as pg_stat_activity shows it to an operator.
    application_name: `warden${overrides.role ? `-${overrides.role}` : ''} ${target.schema}`.slice(0, 63),
    options: [target.serverOptions, `-c search_path=${target.schema}`].filter(Boolean).join(' '),
    types,
    statement_timeout: statementTimeout,
  };
  if (statementTimeout > 0) {
    config.query_timeout = statementTimeout + CLIENT_MARGIN_MS;
    // A transaction left open by a stalled process must not hold its locks (the log's) for long.
    config.idle_in_transaction_session_timeout = Math.max(10_000, statementTimeout * 2);
  }
  return config;
}

export function createPool(target: PostgresTarget, settings: ConnectionSettings): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(target, settings), max: settings.poolSize, idleTimeoutMillis: 30_000 });
  // An idle connection that fails (server restart, network) is dropped by the pool; the next
  // query opens a new one. Without a listener the error would crash the process.
  pool.on('error', () => undefined);
  // pg-pool removes its own listener while a client is checked out: a server that ends the
  // connection between two statements of a transaction (shutdown, 57P01) would then raise an
  // unhandled 'error' and end the process. The statement that follows fails instead, and the
  // connection is destroyed on release (sql.ts).
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** A dedicated connection outside the pool (LISTEN, leases, migrations). */
export function createClient(target: PostgresTarget, settings: ConnectionSettings, overrides: ClientOverrides = {}): pg.Client {
  return new pg.Client(clientConfig(target, settings, overrides));
}

/**
 * A key for pg_advisory_lock (a signed 64-bit integer, as text): advisory locks are per database,
 * so the key covers the schema and what is locked.
 */
export function lockKey(schema: string, what: string): string {
  const digest = createHash('sha256').update(`warden\u0000${schema}\u0000${what}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** The NOTIFY channel of a schema's decision log (a channel name is at most 63 bytes). */
export function decisionChannel(schema: string): string {
  const name = `warden_log_${schema}`;
  return name.length <= 63 ? name : `warden_log_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

/** A Postgres error's SQLSTATE, when it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * An error the connection cannot be trusted after (a timeout on the client side, a broken
 * socket, a stale prepared statement): the connection is destroyed rather than returned to the pool.
 */
export function isConnectionFault(error: unknown): boolean {
  if ((error as { connectionFault?: unknown } | undefined)?.connectionFault !== undefined) return true;
  const message = (error as Error | undefined)?.message ?? '';
  // A statement prepared on this connection before a migration changed its table: a new
  // connection prepares it afresh.
  if (/cached plan must not change result type/.test(message)) return true;
  const state = sqlState(error);
  if (state !== undefined) return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03';
  return /Query read timeout|Connection terminated|not queryable|ECONNRESET|EPIPE|ECONNREFUSED|timeout exceeded|^timeout expired$/i.test(message);
}

/** Errors with what to do about them; constraint violations and the like pass unchanged (their code and text are pg's). */
export function explainError(error: unknown, settings: ConnectionSettings): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const state = sqlState(error);
  let message: string | undefined;
  if (state === '57014' && /statement timeout/i.test(error.message)) {
    message = `postgres cancelled a statement that ran longer than ${settings.statementTimeoutMs} ms (postgres.statement_timeout): ${error.message}`;
  } else if (error.message === 'Query read timeout') {
    message = `postgres did not answer within ${settings.statementTimeoutMs + CLIENT_MARGIN_MS} ms (postgres.statement_timeout plus ${CLIENT_MARGIN_MS} ms): the server or the network is down`;
  } else if (/^timeout expired$|timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(error.message)) {
    message = `no postgres connection within ${settings.connectTimeoutMs} ms (postgres.connect_timeout): ${error.message}`;
  } else if (/ECONNREFUSED/.test(error.message)) {
    message = `cannot connect to postgres: ${error.message}`;
  }
  if (message === undefined) return error;
  const wrapped = new Error(message, { cause: error });
  if (state !== undefined) (wrapped as Error & { code?: string }).code = state;
  return wrapped;
}
