import { canonicalJson } from '../model/canonical-json.js';
import type { ActionRequest } from '../model/action-request.js';
import type { Decision } from '../model/decision.js';

/**
 * A short-lived cache of PDP decisions. The key is everything the decision depends on: the policy
 * bundle, the whole enriched request except its ids, and the TTL bucket of the clock (so a cached
 * decision is never older than the TTL, and time-dependent conditions lag by at most the TTL).
 * Never agent+tool alone: two calls of the same tool with different arguments differ.
 */
export class DecisionCache {
  private readonly entries = new Map<string, Decision>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxEntries > 0;
  }

  key(bundle: string, request: ActionRequest, now: number): string {
    const { requestId: _r, traceId: _t, ...rest } = request;
    return `${bundle}|${Math.floor(now / this.ttlMs)}|${canonicalJson(rest)}`;
  }

  get(key: string): Decision | undefined {
    return this.entries.get(key);
  }

  set(key: string, decision: Decision): void {
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: Map iterates in insertion order.
      const drop = Math.max(1, Math.floor(this.maxEntries / 10));
      let n = 0;
      for (const k of this.entries.keys()) {
        if (n++ >= drop) break;
        this.entries.delete(k);
      }
    }
    this.entries.set(key, decision);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
