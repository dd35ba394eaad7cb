import type { DecisionRecord, NewDecisionRecord } from '../store/records.js';
import type { DecisionFeedStore } from '../store/ports.js';
import type { ChainLink, Store } from '../store/store.js';
import { toWellFormed } from '../model/well-formed.js';
import { GroupCommitWindow } from './group-commit.js';
import { bodyHash, GENESIS_HASH, linkHash } from './hash-chain.js';

export interface DecisionLogOptions {
  /** Records written per transaction at most. */
  maxBatch?: number;
  /** Appends are refused (and the action denied) when this many records wait to be written. */
  maxQueue?: number;
  /**
   * How long a record nobody waits for may sit in the queue so that more join its transaction
   * (group commit under light load). Default 2 ms.
   */
  maxDelayMs?: number;
  /**
   * How long a record somebody waits for (urgent) may wait for others under load: about one
   * write's time, at most this (group-commit.ts). Without load it is written at once. Default 1 ms.
   */
  maxUrgentDelayMs?: number;
  /** Called when a write fails; the log retries the same batch until it succeeds or closes. */
  onError?: (error: Error) => void;
}

export class AuditUnavailableError extends Error {}

/**
 * An entry the flush that writes it builds, just before sealing it: the costly part of a record
 * (redacting its arguments, the request the PDP saw) done off the path of a caller that does not
 * wait for it. `build` must read only what cannot change after `append` — what the caller could
 * change is copied when the entry is made (enforcement/audit-record.ts) — and should not throw:
 * an entry whose build throws is refused alone, like one that cannot be sealed.
 */
export class DeferredEntry {
  constructor(
    readonly id: string,
    readonly build: () => NewDecisionRecord,
  ) {}
}

interface Pending {
  /** As appended; built if deferred, and sealed (well-formed, its body hash kept in `sealedBodies`), by the flush that writes it. */
  entry: NewDecisionRecord | DeferredEntry;
  urgent: boolean;
  resolve: (record: DecisionRecord) => void;
  reject: (error: Error) => void;
}

/** Body hashes of sealed entries (format 2), computed before they reach the log's lock. */
const sealedBodies = new WeakMap<NewDecisionRecord, string>();

/**
 * Prepares an entry for the chain: its strings made well-formed (a lone surrogate becomes U+FFFD,
 * as it would when written as UTF-8, so the hash covers exactly what the store keeps, whichever
 * surface the entry came from) and its body hashed. The costly part of chaining, done by the flush
 * before the batch reaches the store (outside any lock, off the caller's path); what is left for
 * the ordered section is `linkRecord`.
 */
export function sealEntry(entry: NewDecisionRecord): NewDecisionRecord {
  const sealed = toWellFormed(entry);
  if (!sealedBodies.has(sealed)) sealedBodies.set(sealed, bodyHash(sealed));
  return sealed;
}

/**
 * Chains an entry after the record before it (format 2, hash-chain.ts): seq + 1 and the link
 * H(prevHash ‖ seq ‖ bodyHash). Cheap for a sealed entry — one small hash and one copy — which
 * is what runs inside the store's write transaction; an entry not sealed is sealed first.
 */
export const linkRecord: ChainLink = (entry, previous) => {
  const sealed = sealedBodies.has(entry) ? entry : sealEntry(entry);
  const seq = (previous?.seq ?? 0) + 1;
  const prevHash = previous?.hash ?? GENESIS_HASH;
  // The chain fields first, then the spread: V8 clones the entry's shape at once. Spread first
  // and three fields added after it make a new hidden class per record (measured: ~20x slower).
  const hash = linkHash(prevHash, seq, sealedBodies.get(sealed)!);
  // An entry that carries chain fields of its own (a record passed as an entry) must not override these.
  if ('seq' in sealed || 'prevHash' in sealed || 'hash' in sealed) return { ...sealed, seq, prevHash, hash };
  return { seq, prevHash, hash, ...sealed };
};

/**
 * The append-only, hash-chained decision log. Entries are queued when appended, sealed (body
 * hashed) by the flush that writes them, and written in batches, one transaction per batch
 * (group commit, its window adapting to the load: group-commit.ts), off the caller's path. The chain is extended inside that
 * transaction, under the store's write lock — only the cheap final link — so a gateway and a CLI
 * (or several replicas) can write to the same log without forking it. `append` returns a promise
 * that settles when the record is durable: callers about to cause a side effect wait for it (and
 * act only after it settled); others need not.
 */
export class DecisionLog {
  private queue: Pending[] = [];
  private flushing = false;
  /** When the scheduled write runs (performance.now() ms); undefined when none is scheduled. */
  private dueAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Queued records somebody waits for. */
  private urgentQueued = 0;
  private readonly window: GroupCommitWindow;
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
    this.window = new GroupCommitWindow({ maxBatch: this.maxBatch, maxDelayMs: this.maxDelayMs, maxUrgentDelayMs: options.maxUrgentDelayMs ?? 1 });
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
   * Queues the entry; `durable` settles with the chained record once it is written.
   * `urgent` when the caller will wait for it (before a side effect): it is written at once, or
   * under load within about one write's time. The log owns the entry from here on: it is hashed
   * and written later (the caller does not wait for the hash: ~8 µs of a ~1 KB record), so a
   * caller that wants to change it changes a copy.
   */
  append(entry: NewDecisionRecord | DeferredEntry, urgent = false): { id: string; durable: Promise<DecisionRecord> } {
    if (this.closed) throw new AuditUnavailableError('the decision log is closed');
    if (this.queue.length >= this.maxQueue) {
      throw new AuditUnavailableError(`the decision log has ${this.queue.length} records waiting to be written; refusing more`);
    }
    let pending!: Pending;
    const durable = new Promise<DecisionRecord>((resolve, reject) => {
      pending = { entry, urgent, resolve, reject };
    });
    // Nobody may be awaiting a read's durability; an unobserved rejection must not crash the process.
    durable.catch(() => undefined);
    this.queue.push(pending);
    if (urgent) this.urgentQueued++;
    this.schedule();
    return { id: entry.id, durable };
  }

  /** Schedules the next write, or brings the scheduled one forward; never puts it off. */
  private schedule(): void {
    if (this.flushing) return; // the running flush schedules the next one
    const now = performance.now();
    const delay = this.retryDelay > 0 ? this.retryDelay : this.window.delay(this.queue.length, this.urgentQueued > 0, now);
    if (this.dueAt !== undefined && this.dueAt <= now + delay) return;
    this.cancelScheduled();
    this.dueAt = now + delay;
    const run = () => {
      this.cancelScheduled();
      void this.flushOnce();
    };
    if (delay <= 0) this.immediate = setImmediate(run);
    else this.timer = setTimeout(run, delay);
  }

  private cancelScheduled(): void {
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.dueAt = undefined;
  }

  private async flushOnce(): Promise<void> {
    if (this.flushing) return;
    this.sealQueued();
    if (this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.slice(0, this.maxBatch);
    try {
      const start = performance.now();
      const records = await this.store.appendChained(
        // sealQueued built and sealed every entry of the batch.
        batch.map((p) => p.entry as NewDecisionRecord),
        linkRecord,
      );
      this.window.written(batch.length, start, performance.now() - start);
      this.queue.splice(0, batch.length);
      for (const p of batch) if (p.urgent) this.urgentQueued--;
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
    if (this.queue.length > 0 && !this.closed) this.schedule();
  }

  /**
   * Builds (when deferred) and seals the entries the next batch will hold. An entry that cannot be
   * built or hashed (a cyclic value a bug let into a record) is refused alone — its caller's
   * `durable` rejects, onError hears it — so it cannot hold up the records behind it.
   */
  private sealQueued(): void {
    for (let i = 0; i < this.queue.length && i < this.maxBatch; ) {
      const p = this.queue[i]!;
      let step = 'built';
      try {
        if (p.entry instanceof DeferredEntry) p.entry = p.entry.build();
        step = 'sealed';
        if (!sealedBodies.has(p.entry)) p.entry = sealEntry(p.entry);
        i++;
      } catch (e) {
        this.queue.splice(i, 1);
        if (p.urgent) this.urgentQueued--;
        const error = new AuditUnavailableError(`decision record ${p.entry.id} could not be ${step}: ${(e as Error).message}`);
        p.reject(error);
        this.options.onError?.(error);
      }
    }
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
      this.cancelScheduled();
      this.urgentQueued = 0;
      for (const p of this.queue.splice(0)) p.reject(new AuditUnavailableError('the decision log closed before this record was written'));
    }
  }
}
