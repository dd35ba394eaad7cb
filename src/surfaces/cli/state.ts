import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, type WardenConfig } from '../../config/load-config.js';
import { sqlitePath } from '../../config/storage.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { createWarden, WardenConfigError, type Warden } from '../../services/warden.js';
import { UsageError } from './usage-error.js';

/** Where the operational commands look for the config when neither --config nor --db is given. */
export const DEFAULT_CONFIG = './warden.yaml';

/** `--db <path>` (a SQLite file) or `--config <file>` (its `storage`): where a command finds the store. */
export interface StoreSource {
  db?: string;
  config?: string;
}

/** Reads and validates the config; a missing file is a usage error, an invalid one a config error (exit 1). */
export async function readConfig(file: string | undefined, orDb = false): Promise<WardenConfig> {
  const path = file ?? DEFAULT_CONFIG;
  if (!existsSync(path)) {
    throw new UsageError(`config file ${path} not found; pass --config <file>${orDb ? ' or --db <path>' : ''}`);
  }
  const result = await loadConfig(path);
  if (!result.ok) throw new WardenConfigError(`the configuration in ${path} is not valid:`, result.diagnostics);
  return result.config;
}

/**
 * The store URL a config names, with a SQLite path resolved against the config's folder (as
 * createWarden does), so every command reads the same file whatever the working directory.
 */
export function storeUrlOf(config: WardenConfig): { url: string; file?: string } {
  const file = sqlitePath(config);
  if (file === undefined) return { url: config.storage };
  if (file === ':memory:') {
    throw new UsageError(`the config's storage is ${config.storage}: an in-memory database that no other process can read; use --db <path>`);
  }
  return { url: `sqlite:${file}`, file };
}

/**
 * Opens the store of an existing database for a command that reads it (and may add to it), never
 * creating one: a missing file is a usage error (exit 2).
 */
export async function openExistingStore(source: StoreSource): Promise<Store> {
  if (source.db !== undefined && source.config !== undefined) throw new UsageError('pass either --db or --config, not both');
  let url: string;
  let file: string | undefined;
  let config: WardenConfig | undefined;
  if (source.db !== undefined) {
    if (source.db.trim() === '') throw new UsageError('--db needs a path');
    file = resolve(source.db);
    url = `sqlite:${file}`;
  } else {
    config = await readConfig(source.config, true);
    ({ url, file } = storeUrlOf(config));
  }
  if (file !== undefined) {
    if (!existsSync(file)) throw new UsageError(`database file ${file} does not exist (check --db, or the storage in the config)`);
    if (!statSync(file).isFile()) throw new UsageError(`${file} is not a file`);
  }
  return openStore(url, { postgres: config?.postgres });
}

/** Runs `fn` with an existing store and closes it afterwards, whatever happens. */
export async function withStore<T>(source: StoreSource, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openExistingStore(source);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Runs `fn` with a full Warden (policies, tools, pipeline, decision log) built from the config:
 * for commands whose effect goes through the pipeline (executing an approved action) or must be
 * audited. The store is the one `storeUrlOf` names, so these commands and the store-only ones
 * always agree on the file. Closes the Warden (flushing the decision log) afterwards.
 */
export async function withWarden<T>(configFile: string | undefined, fn: (warden: Warden) => Promise<T>, options: { upstreams?: boolean } = {}): Promise<T> {
  return withWardenOf(await readConfig(configFile), fn, options);
}

/** withWarden for a config already read (and checked by the caller). */
export async function withWardenOf<T>(read: WardenConfig, fn: (warden: Warden) => Promise<T>, options: { upstreams?: boolean } = {}): Promise<T> {
  // Commands that only touch the store need not start the MCP servers the config names.
  const upstreams = options.upstreams === false ? { ...read, upstreams: [] } : read;
  // Sinks and approval webhooks run in `warden serve`, which delivers what this command writes
  // (it polls the log): followers here too would send the same records twice from two processes.
  const config = { ...upstreams, audit: { ...upstreams.audit, sinks: [] }, approvals: { ...upstreams.approvals, notify: [] } };
  const store = await openStore(storeUrlOf(config).url, { postgres: config.postgres });
  let warden: Warden;
  try {
    warden = await createWarden({ config, store });
  } catch (error) {
    await store.close();
    throw error;
  }
  try {
    return await fn(warden);
  } finally {
    await warden.close();
  }
}
