import { postgresOptions, type PostgresSettings } from './open-store.js';
import type { DecisionLogStore } from './ports.js';

/** The reading half of the decision log, and how to let it go. */
export type ReadOnlyLog = Pick<DecisionLogStore, 'queryDecisions' | 'scanDecisions' | 'lastDecision'> & { close(): Promise<void> };

/**
 * Opens the decision log a storage URL names for reading only: a SQLite file read-only (it must
 * exist; nothing is migrated or written), or Postgres without migrating (a schema that is behind
 * is refused, as with `migrate_on_start: false`) and with only SELECTs sent.
 */
export async function openReadOnlyLog(url: string, options: { postgres?: PostgresSettings } = {}): Promise<ReadOnlyLog> {
  const trimmed = url.trim();
  if (/^postgres(ql)?:/i.test(trimmed)) {
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open(trimmed, { ...postgresOptions(options.postgres), migrate: false });
  }
  let path = trimmed;
  if (/^sqlite:/i.test(path)) {
    path = path.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
  }
  if (path === '' || path === ':memory:') throw new Error(`storage URL "${url}" names no database file to read`);
  const { ReadOnlySqliteLog } = await import('./sqlite/read-only-log.js');
  return ReadOnlySqliteLog.open(path);
}
