import type { DecisionRecord, NewDecisionRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { GENESIS_HASH, recordHash } from './hash-chain.js';

export interface DecisionLogOptions {
  /** Records written per transaction at most. */
  maxBatch?: number;
  /** Appends are refused (and the action denied) when this many records wait to be written. */
  maxQueue?: number;
  /** Called when a write fails; the log retries the same batch until it succeeds or closes. */
  onError?: (error: Error) => void;
}

export class AuditUnavailableError extends Error {}

interface Pending {
  record: DecisionRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The append-only, hash-chained decision log. Records are chained in the order they are
 * appended (seq and hash are assigned at once), then written in batches, one transaction per
 * batch (group commit), off the caller's path. `append` returns a promise that settles when the
 * record is durable: callers about to cause a side effect wait for it; others need not.
 *
 * One writer per store: the chain head is read at open and then kept here.
 */
export class DecisionLog {
  private queue: Pending[] = [];
  private seq = 0;
  private head = GENESIS_HASH;
  private flushing = false;
  private scheduled = false;
  private closed = false;
  private retryDelay = 0;
  private readonly maxBatch: number;
  private readonly maxQueue: number;

  private constructor(
    private readonly store: Store,
    private readonly options: DecisionLogOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 1024;
    this.maxQueue = options.maxQueue ?? 100_000;
  }

  static async open(store: Store, options: DecisionLogOptions = {}): Promise<DecisionLog> {
    const log = new DecisionLog(store, options);
    const last = await store.lastDecision();
    if (last) {
      log.seq = last.seq;
      log.head = last.hash;
    }
    return log;
  }

  /** Records waiting to be written (a metric, and the back-pressure signal). */
  get depth(): number {
    return this.queue.length;
  }

  /** Chains the record now and queues it; the promise settles when it is durable. */
  append(entry: NewDecisionRecord): { record: DecisionRecord; durable: Promise<void> } {
    if (this.closed) throw new AuditUnavailableError('the decision log is closed');
    if (this.queue.length >= this.maxQueue) {
      throw new AuditUnavailableError(`the decision log has ${this.queue.length} records waiting to be written; refusing more`);
    }
    const unsigned = { ...entry, seq: this.seq + 1, prevHash: this.head };
    const record: DecisionRecord = { ...unsigned, hash: recordHash(unsigned) };
    this.seq = record.seq;
    this.head = record.hash;
    let pending!: Pending;
    const durable = new Promise<void>((resolve, reject) => {
      pending = { record, resolve, reject };
    });
    // Nobody may be awaiting a read's durability; an unobserved rejection must not crash the process.
    durable.catch(() => undefined);
    this.queue.push(pending);
    this.schedule();
    return { record, durable };
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      void this.flushOnce();
    };
    if (this.retryDelay > 0) setTimeout(run, this.retryDelay).unref?.();
    else setImmediate(run);
  }

  private async flushOnce(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.slice(0, this.maxBatch);
    try {
      await this.store.appendDecisions(batch.map((p) => p.record));
      this.queue.splice(0, batch.length);
      this.retryDelay = 0;
      for (const p of batch) p.resolve();
    } catch (e) {
      // The batch stays at the head of the queue with its seq and hashes: retrying it later keeps
      // the chain intact, and callers waiting for durability keep waiting (and time out, denied).
      this.retryDelay = Math.min(Math.max(this.retryDelay * 2, 10), 1_000);
      this.options.onError?.(e as Error);
    } finally {
      this.flushing = false;
    }
    if (this.queue.length > 0 && !this.closed) this.schedule();
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
      for (const p of this.queue.splice(0)) p.reject(new AuditUnavailableError('the decision log closed before this record was written'));
    }
  }
}
