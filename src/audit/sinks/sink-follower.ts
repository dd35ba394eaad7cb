import type { DecisionLogStore, LeaseStore, SinkCursorStore } from '../../store/ports.js';
import type { DecisionRecord } from '../../store/records.js';
import { backoffMs } from './backoff.js';
import { acknowledgedBefore, failureText, type SinkDestination } from './destination.js';

export interface SinkFollowerOptions {
  /** The cursor's key in the store, the lease's name, and what logs and metrics call it. */
  name: string;
  destination: SinkDestination;
  store: Pick<DecisionLogStore, 'scanDecisions' | 'lastDecision'> & SinkCursorStore;
  /** With several replicas (Postgres): only the holder of the lease `sink:<name>` delivers. */
  leases?: LeaseStore;
  maxRecords: number;
  /** How long a batch that is not full may wait for more records (0: send at once). */
  maxWaitMs: number;
  retry: { initialMs: number; maxMs: number; /** Give up a record after this many failed attempts (undefined: never). */ maxAttempts?: number };
  /** The log is read this often even without news of new records. */
  pollMs: number;
  /** Where a sink without a cursor begins: the first record, or the head of the log. */
  start: 'first' | 'head';
  clock: () => number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  onDelivered?: (records: number) => void;
  onFailure?: () => void;
  /** A record given up after `retry.maxAttempts` (only when that is set). */
  onDropped?: (record: DecisionRecord, error: string) => void;
  random?: () => number;
}

/** What a sink's state looks like from outside (metrics, /readyz). */
export interface SinkStatus {
  name: string;
  type: string;
  target: string;
  /** The last seq delivered (0: none). */
  cursor: number;
  /** The newest seq known in the log. */
  head: number;
  /** Records written and not yet delivered. */
  lag: number;
  delivered: number;
  failures: number;
  dropped: number;
  lastSuccessAt?: number;
  /** Since when deliveries fail (absent: the last attempt succeeded). */
  failingSince?: number;
  lastError?: string;
  /** false while another replica holds this sink's lease (it delivers; this one waits). */
  leader: boolean;
}

/**
 * One sink: follows the decision log from its durable cursor, hands records to its destination in
 * batches, in seq order, and moves the cursor only past what the destination acknowledged. The
 * log itself is the queue, so nothing is dropped when the destination is down or slow: the sink
 * falls behind (its lag grows, /readyz says so) and catches up when it answers again. Failures
 * are retried with capped exponential backoff and jitter; the log hears of a failure once, when
 * the sink starts failing, and once more when it recovers.
 */
export class SinkFollower {
  private cursor?: number;
  private head = 0;
  private headReadAt = Number.NEGATIVE_INFINITY;
  private delivered = 0;
  private failures = 0;
  private dropped = 0;
  private attempts = 0;
  private lastSuccessAt?: number;
  private failingSince?: number;
  private lastError?: string;
  private leader = true;
  /** The first seq of the batch already held back for `maxWaitMs` (it goes out at the next read). */
  private waitedFor = 0;
  private closed = false;
  private running?: Promise<void>;
  private readonly sleepers = new Set<{ wakeable: boolean; done: () => void }>();

  constructor(private readonly o: SinkFollowerOptions) {}

  /**
   * Settles where the sink begins (its cursor, or the head for a new `start: head` sink, so that
   * records written once Warden serves are never skipped), then follows the log in the background.
   * A store that fails here is retried by the loop.
   */
  async start(): Promise<this> {
    if (this.running) return this;
    await this.initialCursor().catch(() => undefined);
    this.running ??= this.run();
    return this;
  }

  /** New records were written: wake up if waiting for them. */
  noteRecords(records: readonly DecisionRecord[]): void {
    const last = records[records.length - 1];
    if (last && last.seq > this.head) this.head = last.seq;
    this.wake();
  }

  status(): SinkStatus {
    const cursor = this.cursor ?? 0;
    return {
      name: this.o.name,
      type: this.o.destination.type,
      target: this.o.destination.target,
      cursor,
      head: Math.max(this.head, cursor),
      lag: Math.max(0, this.head - cursor),
      delivered: this.delivered,
      failures: this.failures,
      dropped: this.dropped,
      leader: this.leader,
      ...(this.lastSuccessAt !== undefined ? { lastSuccessAt: this.lastSuccessAt } : {}),
      ...(this.failingSince !== undefined ? { failingSince: this.failingSince, lastError: this.lastError } : {}),
    };
  }

  /** Stops after the delivery in flight (if any) settles; the cursor is where delivery stopped. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.running;
    await this.o.destination.close().catch(() => undefined);
  }

  /** Ends the sleeps that new records cut short (all of them when closing). */
  private wake(): void {
    for (const sleeper of [...this.sleepers]) if (sleeper.wakeable || this.closed) sleeper.done();
  }

  /** Sleeps `ms`, or less when closed or (`wakeable`) when new records arrive. */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = {
        wakeable,
        done: () => {
          clearTimeout(timer);
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      const timer = setTimeout(sleeper.done, ms);
      this.sleepers.add(sleeper);
    });
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      let pause: { ms: number; wakeable: boolean };
      try {
        if (this.o.leases) {
          let next: { ms: number; wakeable: boolean } = { ms: this.o.pollMs, wakeable: false };
          // Leader from the moment the lease is held, not once the step returns: what the step
          // delivers may be seen (and status() read) before it does.
          this.leader = await this.o.leases.whileLeader(`sink:${this.o.name}`, async () => {
            this.leader = true;
            next = await this.step();
          });
          if (!this.leader) await this.follow();
          pause = next;
        } else {
          pause = await this.step();
        }
      } catch (error) {
        // The store failed (reading the log, moving the cursor): the same backoff as a destination.
        pause = { ms: await this.failed(error, undefined).catch(() => this.o.retry.maxMs), wakeable: false };
      }
      if (pause.ms > 0) await this.sleep(pause.ms, pause.wakeable);
      // Catching up on a backlog: let the rest of the process (requests) run between batches.
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One read and (at most) one delivery; says how long to wait before the next. */
  private async step(): Promise<{ ms: number; wakeable: boolean }> {
    const cursor = this.cursor ?? (await this.initialCursor());
    const now = this.o.clock();
    // Warden's clock may be a test's frozen one: the poll runs on the monotonic clock.
    if (performance.now() - this.headReadAt >= this.o.pollMs) {
      this.headReadAt = performance.now();
      this.head = Math.max(this.head, (await this.o.store.lastDecision())?.seq ?? 0);
    }
    const records = await this.o.store.scanDecisions(cursor, this.o.maxRecords);
    if (records.length === 0) {
      this.head = Math.max(this.head, cursor);
      return { ms: this.o.pollMs, wakeable: true };
    }
    this.head = Math.max(this.head, records[records.length - 1]!.seq);
    if (records.length < this.o.maxRecords && this.o.maxWaitMs > 0 && this.waitedFor !== records[0]!.seq) {
      // Not full: let more records join, but never hold the oldest one longer than maxWait.
      this.waitedFor = records[0]!.seq;
      const wait = Math.min(this.o.maxWaitMs, records[0]!.time + this.o.maxWaitMs - now);
      if (wait > 0) return { ms: wait, wakeable: false };
    }

    let error: unknown;
    let acknowledged = records.length;
    try {
      await this.o.destination.deliver(records);
    } catch (e) {
      error = e;
      acknowledged = Math.min(records.length, acknowledgedBefore(e));
    }
    if (acknowledged > 0) await this.advance(records[acknowledged - 1]!.seq, acknowledged);
    if (error === undefined) {
      this.succeeded();
      return { ms: 0, wakeable: true };
    }
    return { ms: await this.failed(error, records[acknowledged]), wakeable: false };
  }

  /**
   * Another replica delivers: report its progress (the shared cursor) rather than this replica's
   * stale one, and none of this replica's past failures.
   */
  private async follow(): Promise<void> {
    this.failingSince = undefined;
    this.lastError = undefined;
    this.attempts = 0;
    const shared = await this.o.store.getSinkCursor(this.o.name);
    if (shared !== undefined) this.cursor = Math.max(this.cursor ?? 0, shared);
    this.head = Math.max(this.head, (await this.o.store.lastDecision())?.seq ?? 0);
  }

  private async initialCursor(): Promise<number> {
    const stored = await this.o.store.getSinkCursor(this.o.name);
    let cursor = stored ?? (this.o.start === 'head' ? ((await this.o.store.lastDecision())?.seq ?? 0) : 0);
    const held = await this.o.destination.resumeAfter?.();
    if (held && held.seq > cursor) {
      // Only when the destination's last record is this log's record of that seq (same hash):
      // a file left from another database must not make the sink skip records.
      const [record] = await this.o.store.scanDecisions(held.seq - 1, 1);
      if (record?.seq === held.seq && record.hash === held.hash) cursor = held.seq;
      else this.o.log('warn', `sink "${this.o.name}": ${this.o.destination.target} ends with record #${held.seq}, which is not this log's record #${held.seq}; delivering from #${cursor + 1}`);
    }
    if (cursor !== stored) await this.o.store.advanceSinkCursor(this.o.name, cursor, this.o.clock());
    this.cursor = cursor;
    return cursor;
  }

  private async advance(seq: number, records: number): Promise<void> {
    await this.o.store.advanceSinkCursor(this.o.name, seq, this.o.clock());
    this.cursor = seq;
    this.delivered += records;
    this.lastSuccessAt = this.o.clock();
    this.o.onDelivered?.(records);
  }

  private succeeded(): void {
    if (this.failingSince !== undefined) {
      this.o.log('info', `sink "${this.o.name}" (${this.o.destination.target}) delivers again after ${this.attempts} failed attempt(s); at record #${this.cursor}`);
    }
    this.attempts = 0;
    this.failingSince = undefined;
    this.lastError = undefined;
  }

  /** Counts a failure, gives up `failing` when its attempts are spent, and returns the backoff. */
  private async failed(error: unknown, failing: DecisionRecord | undefined): Promise<number> {
    const message = failureText(error);
    this.failures++;
    this.attempts++;
    this.lastError = message;
    this.o.onFailure?.();
    if (this.failingSince === undefined) {
      this.failingSince = this.o.clock();
      const where = failing ? ` record #${failing.seq}` : '';
      this.o.log('warn', `sink "${this.o.name}" (${this.o.destination.target}) cannot deliver${where}: ${message}; retrying with backoff (logged again when it recovers)`);
    }
    const max = this.o.retry.maxAttempts;
    if (failing && max !== undefined && this.attempts >= max) {
      this.o.log('error', `sink "${this.o.name}" (${this.o.destination.target}) gave up record #${failing.seq} (${failing.id}) after ${this.attempts} attempts: ${message}`);
      this.dropped++;
      this.o.onDropped?.(failing, message);
      this.attempts = 0;
      this.failingSince = undefined;
      await this.o.store.advanceSinkCursor(this.o.name, failing.seq, this.o.clock());
      this.cursor = Math.max(this.cursor ?? 0, failing.seq);
      return 0;
    }
    return backoffMs(this.attempts || 1, this.o.retry.initialMs, this.o.retry.maxMs, this.o.random);
  }
}
