import type { Store } from '../store/store.js';

/** Accepts a request id once per agent within the replay window. */
export interface ReplayGuard {
  /** False when the id was already used and its window has not passed. */
  remember(agentId: string, requestId: string, now: number, expiresAt: number): Promise<boolean>;
}

/** Shared through the store: for several gateway replicas (one transaction per call). */
export class StoreReplayGuard implements ReplayGuard {
  constructor(private readonly store: Store) {}

  remember(agentId: string, requestId: string, now: number, expiresAt: number): Promise<boolean> {
    return this.store.rememberRequestId(agentId, requestId, now, expiresAt);
  }
}

/**
 * In memory, for the single gateway an embedded SQLite store serves. Durable anyway: every
 * authenticated call leaves a decision record with its agent and request id, so at start the
 * guard reloads the ids of the replay window from the decision log instead of writing each id
 * a second time. (A side-effecting call's record is durable before the call runs.)
 */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();
  private nextPrune = 0;

  static async load(store: Store, now: number, windowMs: number): Promise<MemoryReplayGuard> {
    const guard = new MemoryReplayGuard();
    let afterSeq = 0;
    for (;;) {
      const page = await store.queryDecisions({ since: now - windowMs, afterSeq, order: 'asc', limit: 10_000 });
      if (page.length === 0) break;
      for (const r of page) {
        // Calls refused before authentication proved nothing: their ids stay free for the agent.
        if (r.kind === 'decision' && r.stage !== 'authenticate' && r.requestId) guard.seen.set(key(r.agentId, r.requestId), r.time + windowMs);
      }
      afterSeq = page[page.length - 1]!.seq;
    }
    return guard;
  }

  async remember(agentId: string, requestId: string, now: number, expiresAt: number): Promise<boolean> {
    if (now >= this.nextPrune) this.prune(now);
    const k = key(agentId, requestId);
    const until = this.seen.get(k);
    if (until !== undefined && until > now) return false;
    this.seen.set(k, expiresAt);
    return true;
  }

  private prune(now: number): void {
    for (const [k, until] of this.seen) if (until <= now) this.seen.delete(k);
    this.nextPrune = now + 10_000;
  }
}

const key = (agentId: string, requestId: string) => `${agentId}\u0000${requestId}`;
