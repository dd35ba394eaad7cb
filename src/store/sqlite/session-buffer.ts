import type Database from 'better-sqlite3';
import type { SessionRecord } from '../records.js';
import type { SessionStore } from '../ports.js';
import { sessionParams, toSession } from './rows.js';
import { immediate, type SessionStatements } from './statements.js';

/** How long a session update waits to ride along with a decision-log write before it is written alone. */
const SESSION_FLUSH_MS = 2;
/** Sessions kept in memory; the least recently used beyond this are read from the file again. */
const MAX_CACHED_SESSIONS = 50_000;

/**
 * Sessions are kept in memory and written behind. Only the gateway's pipeline writes them,
 * under its per-session lock, so the copy here is what the file holds or is about to. A call
 * updates its session twice (limits, then what it did) and concurrent calls update many: the
 * puts ride along in the decision log's next write transaction, or in their own within 2 ms.
 * A crash loses at most those 2 ms of session counters; the decision records, which say what
 * ran, are written before any side effect.
 */
export class SessionBuffer implements SessionStore {
  private readonly pending = new Map<string, SessionRecord>();
  private readonly cached = new Map<string, SessionRecord>();
  private flushTimer?: NodeJS.Timeout;
  private readonly writeAlone: () => void;

  constructor(
    private readonly db: Database.Database,
    private readonly s: SessionStatements,
  ) {
    this.writeAlone = immediate(db, () => this.writePending());
  }

  async getSession(tenant: string, id: string): Promise<SessionRecord | undefined> {
    const known = this.cached.get(sessionKey(tenant, id));
    if (known) return { ...known };
    const row = this.s.getSession.get(tenant, id);
    if (!row) return undefined;
    const session = toSession(row);
    this.remember(session);
    return { ...session };
  }

  async putSession(session: SessionRecord): Promise<void> {
    const copy = { ...session };
    this.remember(copy);
    this.pending.set(sessionKey(session.tenant, session.id), copy);
    this.flushTimer ??= setTimeout(() => this.flush(), SESSION_FLUSH_MS);
  }

  /** Writes the sessions put since the last flush (also on close). */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.size === 0 || !this.db.open) return;
    try {
      this.writeAlone();
      this.pending.clear(); // committed
    } catch {
      // Kept for the next flush; the decision log, written to the same file, fails closed meanwhile.
      this.flushTimer = setTimeout(() => this.flush(), 100);
    }
  }

  /**
   * Inside another write transaction (the decision log's): writes the pending sessions. They stay
   * pending until the caller says that transaction committed (`markWritten`), so a rollback loses none.
   */
  writePending(): void {
    for (const session of this.pending.values()) this.s.putSession.run(sessionParams(session));
  }

  /** The transaction that ran writePending committed: those sessions are in the file. */
  markWritten(): void {
    this.pending.clear();
  }

  private remember(session: SessionRecord): void {
    if (this.cached.size >= MAX_CACHED_SESSIONS) this.cached.delete(this.cached.keys().next().value!);
    const key = sessionKey(session.tenant, session.id);
    this.cached.delete(key); // re-inserted last: the map's order is the eviction order
    this.cached.set(key, session);
  }
}

/** One key for a tenant's session: a tenant id cannot hold U+0000, so no two pairs share a key. */
const sessionKey = (tenant: string, id: string): string => `${tenant}\u0000${id}`;
