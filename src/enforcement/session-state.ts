import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { SessionRecord } from '../store/records.js';
import type { SessionStore, SharedSessionStore } from '../store/ports.js';

/** Attempts at a compare-and-set before the call is refused (replicas writing one session at once). */
const MAX_ATTEMPTS = 16;

const isShared = (store: SessionStore): store is SharedSessionStore => typeof (store as Partial<SharedSessionStore>).putSessionIf === 'function';

/**
 * Sessions as the pipeline changes them: each change is one read and at most one write, under the
 * session's lock, so concurrent calls of one session in this process cannot interleave a budget
 * check with another's reservation. A call changes its session twice at most: when it is admitted
 * (budget reserved, what the prompt taught) and when it is settled (executed, denied, released).
 */
export class SessionState {
  private readonly locks = new KeyedMutex();

  constructor(private readonly store: SessionStore) {}

  /** The session as stored, without taking the lock (dry runs, listings). */
  read(tenant: string, id: string): Promise<SessionRecord | undefined> {
    return this.store.getSession(tenant, id);
  }

  /**
   * Reads the session, lets `change` decide its next state (or throw to refuse the call), and
   * writes that state when it differs. Returns what `change` returned.
   */
  async update<T>(tenant: string, id: string, change: (current: SessionRecord | undefined) => Promise<{ next?: SessionRecord; value: T }> | { next?: SessionRecord; value: T }): Promise<T> {
    const store = this.store;
    if (!isShared(store)) {
      return this.locks.run(`${tenant}\u0000${id}`, async () => {
        const current = await store.getSession(tenant, id);
        const { next, value } = await change(current);
        if (next && next !== current) await store.putSession(next);
        return value;
      });
    }
    // Shared by replicas: the lock orders this process's calls, and a compare-and-set on the
    // version catches another replica's write in between; `change` then runs again on what it wrote.
    return this.locks.run(`${tenant}\u0000${id}`, async () => {
      for (let attempt = 1; ; attempt++) {
        const current = await store.getSession(tenant, id);
        const { next, value } = await change(current);
        if (!next || next === current) return value;
        if (await store.putSessionIf(next, current?.version)) return value;
        if (attempt >= MAX_ATTEMPTS) throw new Error(`session ${id} is being changed by other replicas; try again`);
        await new Promise((r) => setTimeout(r, Math.random() * 2 * attempt));
      }
    });
  }
}

export function emptySession(id: string, tenant: string, now: number): SessionRecord {
  return { id, tenant, callsUsed: 0, spend: 0, tainted: false, recent: [], updatedAt: now };
}
