import type { DecisionRecord, NewDecisionRecord } from '../store/records.js';
import type { DecisionFeedStore } from '../store/ports.js';
import type { ChainLink, Store } from '../store/store.js';
import { toWellFormed } from '../model/well-formed.js';
import { GENESIS_HASH, recordHash } from './hash-chain.js';

export interface DecisionLogOptions {
  /** Records written per transaction at most. */
  maxBatch?: number;
  /** Appends are refused (and the action denied) when this many records wait to be written. */
  maxQueue?: number;
  /**
   * How long a record nobody waits for may sit in the queue so that more join its transaction
   * (group commit under light load). An urgent append flushes at once. Default 2 ms.
   */
  maxDelayMs?: number;
  /** Called when a write fails; the log retries the same batch until it succeeds or closes. */
  onError?: (error: Error) => void;
}

export class AuditUnavailableError extends Error {}

interface Pending {
  entry: NewDecisionRecord;
  resolve: (record: DecisionRecord) => void;
  reject: (error: Error) => void;
}

/**
 * Chains an entry after the record before it: seq + 1, and a hash covering the previous hash.
 * Its strings are made well-formed first (a lone surrogate becomes U+FFFD, as it would when
 * written as UTF-8), so the hash covers exactly what the store keeps, whichever surface the entry
 * came from.
 */
export const linkRecord: ChainLink = (entry, previous) => {
  const unsigned = { ...toWellFormed(entry), seq: (previous?.seq ?? 0) + 1, prevHash: previous?.hash ?? GENESIS_HASH };
  return { ...unsigned, hash: recordHash(unsigned) };
};

/**
 * The append-only, hash-chained decision log. Entries are queued and written in batches, one
 * transaction per batch (group commit), off the caller's path. The chain is extended inside that
 * transaction, under the store's write lock, so a gateway and a CLI (or several replicas) can
 * write to the same log without forking it. `append` returns a promise that settles when the
 * record is durable: callers about to cause a side effect wait for it; others need not.
 */
export class DecisionLog {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled: 'soon' | 'now' | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private retryDelay = 0;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly maxDelayMs: number;
  private listeners: Array<(records: readonly DecisionRecord[]) => void> = [];
  /** Other writers' records too, in seq order, when the store has a feed (Postgres: several replicas). */
  private readonly feed?: DecisionFeedStore;
  private feedStop?: Promise<() => Promise<void>>;

  private constructor(
    private readonly store: Store,
    private readonly options: DecisionLogOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 1024;
    this.maxQueue = options.maxQueue ?? 100_000;
    this.maxDelayMs = options.maxDelayMs ?? 2;
    if (typeof (store as Partial<DecisionFeedStore>).followDecisions === 'function') this.feed = store as unknown as DecisionFeedStore;
  }

  static async open(store: Store, options: DecisionLogOptions = {}): Promise<DecisionLog> {
    return new DecisionLog(store, options);
  }

  /**
   * Calls `listener` with each batch of records once it is written (live dashboards). Records
   * are already redacted. Returns the unsubscribe function. Nothing is done when nobody listens.
   */
  onRecords(listener: (records: readonly DecisionRecord[]) => void): () => void {
    this.listeners = [...this.listeners, listener];
    if (this.feed && !this.feedStop) {
      // From the head on: whoever listens reads older records from the log itself (backlogs).
      const feed = this.feed;
      this.feedStop = this.store.lastDecision().then((head) => feed.followDecisions(head?.seq ?? 0, (records) => this.emit(records)));
      this.feedStop.catch((e: Error) => {
        this.feedStop = undefined;
        this.options.onError?.(e);
      });
    }
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Records waiting to be written (a metric, and the back-pressure signal). */
  get depth(): number {
    return this.queue.length;
  }

  /**
   * Queues the entry; `durable` settles with the chained record once it is written. `urgent`
   * when the caller will wait for it (before a side effect): it is written without delay.
   */
  append(entry: NewDecisionRecord, urgent = false): { id: string; durable: Promise<DecisionRecord> } {
    if (this.closed) throw new AuditUnavailableError('the decision log is closed');
    if (this.queue.length >= this.maxQueue) {
      throw new AuditUnavailableError(`the decision log has ${this.queue.length} records waiting to be written; refusing more`);
    }
    let pending!: Pending;
    const durable = new Promise<DecisionRecord>((resolve, reject) => {
      pending = { entry, resolve, reject };
    });
    // Nobody may be awaiting a read's durability; an unobserved rejection must not crash the process.
    durable.catch(() => undefined);
    this.queue.push(pending);
    this.schedule(urgent || this.queue.length >= this.maxBatch);
    return { id: entry.id, durable };
  }

  private schedule(now: boolean): void {
    if (this.flushing) return; // the running flush schedules the next one
    if (this.scheduled === 'now' || (this.scheduled === 'soon' && !now)) return;
    clearTimeout(this.timer);
    const run = () => {
      this.scheduled = undefined;
      this.timer = undefined;
      void this.flushOnce();
    };
    const delay = this.retryDelay > 0 ? this.retryDelay : now ? 0 : this.maxDelayMs;
    this.scheduled = now ? 'now' : 'soon';
    if (delay === 0) setImmediate(run);
    else this.timer = setTimeout(run, delay);
  }

  private async flushOnce(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.slice(0, this.maxBatch);
    try {
      const records = await this.store.appendChained(
        batch.map((p) => p.entry),
        linkRecord,
      );
      this.queue.splice(0, batch.length);
      this.retryDelay = 0;
      batch.forEach((p, i) => p.resolve(records[i]!));
      // With a feed, listeners hear every writer's records from it, this one's included, in order.
      if (!this.feed) this.emit(records);
    } catch (e) {
      // The batch stays at the head of the queue and is retried in order; callers waiting for
      // durability keep waiting (and time out, denied).
      this.retryDelay = Math.min(Math.max(this.retryDelay * 2, 10), 1_000);
      this.options.onError?.(e as Error);
    } finally {
      this.flushing = false;
    }
    if (this.queue.length > 0 && !this.closed) this.schedule(true);
  }

  private emit(records: readonly DecisionRecord[]): void {
    for (const listener of this.listeners) {
      try {
        listener(records);
      } catch {
        // A listener's failure is its own: the records are written, the log carries on.
      }
    }
  }

  /** Writes everything queued; resolves when the queue is empty or rejects if the store fails. */
  async flush(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.flushing) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      const before = this.queue.length;
      this.retryDelay = 0;
      await this.flushOnce();
      if (this.queue.length >= before) throw new AuditUnavailableError('the decision log could not be written');
    }
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      const stop = this.feedStop;
      this.feedStop = undefined;
      await stop?.then((s) => s()).catch(() => undefined);
      for (const p of this.queue.splice(0)) p.reject(new AuditUnavailableError('the decision log closed before this record was written'));
    }
  }
}
