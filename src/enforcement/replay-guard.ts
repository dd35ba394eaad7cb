import type { ReplayStore } from '../store/ports.js';
import type { Store } from '../store/store.js';
import { RequestIdJournal } from './request-id-journal.js';

/** Accepts a request id once per agent within the replay window. */
export interface ReplayGuard {
  /** False when the id was already used and its window has not passed. */
  remember(agentId: string, requestId: string, now: number, expiresAt: number): Promise<boolean>;
  /** Releases what the guard holds open (files). */
  close?(): void;
}

/** Shared by every gateway replica (Redis, or the store's table): one round trip per call. */
export class StoreReplayGuard implements ReplayGuard {
  constructor(private readonly store: ReplayStore) {}

  remember(agentId: string, requestId: string, now: number, expiresAt: number): Promise<boolean> {
    return this.store.rememberRequestId(agentId, requestId, now, expiresAt);
  }
}

/**
 * In memory, for the single gateway an embedded SQLite store serves, and durable across restarts
 * (kill -9 included) through a journal (request-id-journal.ts): each id is appended to a file
 * before the call goes on, one write of a few dozen bytes and no fsync, so an id stays used even
 * when the call was answered before its decision record was written (reads do not wait for the
 * decision log's group commit). At start the guard reads the ids of the replay window back from
 * the journal, and from the decision log (which covers ids from before the journal existed).
 * Without a journal (an in-memory database, or a store handed in by an embedding application),
 * only the decision log is read back: the ids of reads answered in the last few milliseconds
 * before a crash may then be accepted again.
 */
export class MemoryReplayGuard implements ReplayGuard {
  /**
   * Each id and when its window ends, in the order the ids were accepted: that is the order in
   * which they expire (every id gets the same window), so pruning reads expired ids off the front
   * and stops at the first live one, once a second (a few thousand ids at most). It visited every
   * id, 10 s apart: with a 10-minute window at 2,500 calls/s that is 1.5 million ids, a 30-170 ms
   * stall of the event loop each time (measured on the bench machine).
   */
  private readonly seen = new Map<string, number>();
  private nextPrune = 0;
  private journal?: RequestIdJournal;

  /** `journal`: the base path of the request-id journal (`<database>-requests`). */
  static async load(store: Store, now: number, windowMs: number, journal?: string): Promise<MemoryReplayGuard> {
    const guard = new MemoryReplayGuard();
    const known = guard.seen;
    if (journal) {
      const opened = RequestIdJournal.open(journal, windowMs, now);
      guard.journal = opened.journal;
      for (const e of opened.entries) {
        const k = key(e.agentId, e.requestId);
        if ((known.get(k) ?? 0) < e.expiresAt) known.set(k, e.expiresAt);
      }
    }
    let afterSeq = 0;
    for (;;) {
      const page = await store.queryDecisions({ since: now - windowMs, afterSeq, order: 'asc', limit: 10_000 });
      if (page.length === 0) break;
      for (const r of page) {
        // Calls refused before authentication proved nothing: their ids stay free for the agent.
        if (r.kind === 'decision' && r.stage !== 'authenticate' && r.requestId) {
          const k = key(r.agentId, r.requestId);
          if ((known.get(k) ?? 0) < r.time + windowMs) known.set(k, r.time + windowMs);
        }
      }
      afterSeq = page[page.length - 1]!.seq;
    }
    guard.inExpiryOrder();
    return guard;
  }

  async remember(agentId: string, requestId: string, now: number, expiresAt: number): Promise<boolean> {
    if (now >= this.nextPrune) this.prune(now);
    const k = key(agentId, requestId);
    const until = this.seen.get(k);
    if (until !== undefined && until > now) return false;
    // Durable before it counts: if the write fails, the call is refused (fail closed).
    this.journal?.append(agentId, requestId, expiresAt, now);
    // An expired id used again goes to the back, where its new expiry belongs.
    if (until !== undefined) this.seen.delete(k);
    this.seen.set(k, expiresAt);
    return true;
  }

  /**
   * Puts the ids read back in order of expiry (see `seen`). The journal gives them in that order
   * (its files oldest first, each in the order the ids were accepted); ids that only the decision
   * log holds (from before the journal existed) come after them, and then the map is rebuilt
   * (sorting a full window of ids costs seconds at start). An id at most a second out of place
   * (the log's time of a record a little after the journal's) is only pruned up to a second late.
   */
  private inExpiryOrder(): void {
    let latest = -Infinity;
    for (const until of this.seen.values()) {
      if (until < latest - 1_000) {
        const sorted = [...this.seen].sort((a, b) => a[1] - b[1]);
        this.seen.clear();
        for (const [k, u] of sorted) this.seen.set(k, u);
        return;
      }
      if (until > latest) latest = until;
    }
  }

  close(): void {
    this.journal?.close();
    this.journal = undefined;
  }

  /**
   * Drops the expired ids at the front. An id that expires before one ahead of it (the clock
   * stepped back, or a window shortened by a restart with another config) waits for that one: it
   * is refused no longer than its own expiry says (`remember` compares), only kept a little longer.
   */
  private prune(now: number): void {
    for (const [k, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(k);
    }
    this.nextPrune = now + 1_000;
  }
}

const key = (agentId: string, requestId: string) => `${agentId}\u0000${requestId}`;
