import type { WardenConfig } from './load-config.js';
import { resolveFrom } from './load-config.js';

/**
 * The SQLite file a config's `storage` names (`sqlite:./warden.db`, `sqlite:///abs/path.db` or a
 * bare `warden.db`), resolved from the config's folder so every process opens the same file
 * whatever its working directory; `:memory:` as is; undefined for any other store.
 */
export function sqlitePath(config: WardenConfig): string | undefined {
  const storage = config.storage.trim();
  const match = /^sqlite:(.+)$/i.exec(storage);
  const bare = !match && /\.(db|sqlite3?)$/i.test(storage) && !/^[a-z][a-z0-9+.-]*:/i.test(storage);
  if (!match && !bare) return undefined;
  let path = match ? match[1]! : storage;
  if (path === ':memory:') return path;
  if (path.startsWith('//')) path = path.slice(2);
  return resolveFrom(config.baseDir, path);
}

/** The config's storage as a URL for openStore, with a SQLite path resolved as above. */
export function storageUrl(config: WardenConfig): string {
  const path = sqlitePath(config);
  return path === undefined ? config.storage : `sqlite:${path}`;
}
