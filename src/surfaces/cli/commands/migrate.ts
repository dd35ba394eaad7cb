import { postgresOptions } from '../../../store/open-store.js';
import { PostgresStore } from '../../../store/postgres/postgres-store.js';
import { EXIT } from '../usage-error.js';

export interface MigrateOptions {
  config?: string;
}

/**
 * `warden migrate`: applies the pending schema migrations of the configured Postgres storage (under
 * the same lock replicas take at start, so it is safe while they run) and prints what it applied.
 * For deployments that start replicas with `postgres.migrate_on_start: false`. SQLite needs no
 * step of its own: its migrations run whenever the database is opened.
 */
export async function migrateCommand(options: MigrateOptions): Promise<number> {
  // state.js loads all of Warden (it can build one): imported when the command runs.
  const { readConfig } = await import('../state.js');
  const config = await readConfig(options.config);
  const storage = config.storage.trim();
  if (!/^postgres(ql)?:/i.test(storage)) {
    console.log(`storage is ${storage}: SQLite applies its migrations whenever the database is opened; nothing to do`);
    return EXIT.ok;
  }
  const result = await PostgresStore.migrate(storage, postgresOptions(config.postgres));
  if (result.applied.length === 0) {
    console.log(`postgres schema "${result.schema}" is up to date (version ${result.version}); nothing to apply`);
    return EXIT.ok;
  }
  const count = result.applied.length;
  console.log(`postgres schema "${result.schema}": applied ${count} migration${count === 1 ? '' : 's'}, now at version ${result.version}`);
  for (const m of result.applied) console.log(`  ${m.id}  ${m.name}`);
  return EXIT.ok;
}
