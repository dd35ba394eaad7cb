import { durationMs } from '../lib/duration.js';
import type { PostgresStoreOptions } from './postgres/connection.js';
import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

const ACCEPTED = 'sqlite:<path>, sqlite::memory:, a path ending in .db, .sqlite or .sqlite3, or postgres://…';

/** A duration of the config: ms as a number, or text such as `5s`. */
export type DurationSetting = number | string;

/** The config's `postgres:` section (config-schema.ts), as openStore takes it. */
export interface PostgresSettings {
  pool_size?: number;
  statement_timeout?: DurationSetting;
  connect_timeout?: DurationSetting;
  migrate_on_start?: boolean;
}

export interface OpenStoreOptions {
  /** Used when the URL is postgres:// (ignored for SQLite). */
  postgres?: PostgresSettings;
}

function ms(setting: DurationSetting | undefined, name: string): number | undefined {
  if (setting === undefined) return undefined;
  if (typeof setting === 'number') {
    if (!Number.isFinite(setting) || setting < 0) throw new Error(`postgres.${name}: ${setting} is not a duration`);
    return setting;
  }
  try {
    return durationMs(setting);
  } catch {
    throw new Error(`postgres.${name}: "${setting}" is not a duration (such as 500ms, 5s, 1m)`);
  }
}

/** The config's `postgres:` section as PostgresStore options. */
export function postgresOptions(settings: PostgresSettings = {}): PostgresStoreOptions {
  const options: PostgresStoreOptions = {};
  if (settings.pool_size !== undefined) options.poolSize = settings.pool_size;
  const statement = ms(settings.statement_timeout, 'statement_timeout');
  if (statement !== undefined) options.statementTimeoutMs = statement;
  const connect = ms(settings.connect_timeout, 'connect_timeout');
  if (connect !== undefined) options.connectTimeoutMs = connect;
  if (settings.migrate_on_start !== undefined) options.migrate = settings.migrate_on_start;
  return options;
}

/**
 * Opens the store a URL names:
 * - `sqlite:./data/warden.db` (also `sqlite:///abs/path.db`), or `sqlite::memory:`;
 * - a bare path ending in `.db`, `.sqlite` or `.sqlite3`;
 * - `postgres://user@host:5432/db?schema=warden` (or `postgresql://`), for several replicas:
 *   options from the config's `postgres:` section; the schema is migrated at open unless
 *   `migrate_on_start` is false.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const trimmed = url.trim();
  if (/^postgres(ql)?:/i.test(trimmed)) {
    // Loaded when used: a SQLite deployment never loads pg.
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open(trimmed, postgresOptions(options.postgres));
  }
  if (/^sqlite:/i.test(trimmed)) {
    let path = trimmed.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw new Error(`storage URL "${url}" names no file; accepted forms: ${ACCEPTED}`);
    return SqliteStore.open(path);
  }
  if (/\.(db|sqlite3?)$/i.test(trimmed) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    return SqliteStore.open(trimmed);
  }
  throw new Error(`unsupported storage URL "${url}"; accepted forms: ${ACCEPTED}`);
}
