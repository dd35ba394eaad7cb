import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

const ACCEPTED = 'sqlite:<path>, sqlite::memory:, or a path ending in .db, .sqlite or .sqlite3';

/**
 * Opens the store a URL names:
 * - `sqlite:./data/warden.db` (also `sqlite:///abs/path.db`), or `sqlite::memory:`;
 * - a bare path ending in `.db`, `.sqlite` or `.sqlite3`;
 * - `postgres://…` is reserved for several replicas and not implemented yet.
 */
export function openStore(url: string): Store {
  const trimmed = url.trim();
  if (/^postgres(ql)?:/i.test(trimmed)) {
    throw new Error('postgres storage is not implemented yet; use sqlite:<path>');
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
