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
 *
 * Riding along is what keeps sessions cheap (a transaction of their own cost ~38 µs per MCP call,
 * measured in bench/mcp). A call's last put and its decision record come in the same turn, so their
 * 2 ms timers fall due in the same timers phase; the session's, set first, would run first and write
 * alone. So a due timer hands over to the check phase of that same turn (setImmediate): a log write
 * due in the same phase takes the sessions along, and only what is still pending is written alone —
 * at most the rest of that turn after the 2 ms. A log write that took the sessions along also cancels
 * the timer, so a put after it gets its own 2 ms instead of the stale timer's remainder.
 */
export class SessionBuffer implements SessionStore {
  private readonly pending = new Map<string, SessionRecord>();
  private readonly cached = new Map<string, SessionRecord>();
  private flushTimer?: NodeJS.Timeout;
  /** The timer fell due: the write alone waits for the rest of the turn (see above). */
  private lastChance?: NodeJS.Immediate;
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
    if (!this.flushTimer && !this.lastChance) this.flushTimer = setTimeout(this.due, SESSION_FLUSH_MS);
  }

  /** The 2 ms are up: a decision-log write due in this same turn may still take the sessions along. */
  private readonly due = (): void => {
    this.flushTimer = undefined;
    this.lastChance ??= setImmediate(() => this.flush());
  };

  /** Writes the sessions put since the last flush (also on close). */
  flush(): void {
    this.cancelScheduled();
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
    this.cancelScheduled(); // nothing pending: the next put starts its own 2 ms
  }

  private cancelScheduled(): void {
    clearTimeout(this.flushTimer);
    if (this.lastChance) clearImmediate(this.lastChance);
    this.flushTimer = undefined;
    this.lastChance = undefined;
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
