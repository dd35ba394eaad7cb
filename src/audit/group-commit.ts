/*
 * When the decision log writes what it has queued. A write (one transaction) has a fixed cost —
 * a few hundred µs on SQLite, a round trip and the lock on Postgres — that the records sharing it
 * split between them, so the log wants few, large transactions under load and an immediate one
 * when a lone caller waits. The window follows the load it measures:
 * - a full batch (maxBatch records) is written at once;
 * - a record somebody waits for (before a side effect) is written at once when, at the rate
 *   records arrive, fewer than one more would arrive during a write; otherwise the write waits
 *   about one write's time (at most maxUrgentDelayMs) so the records arriving meanwhile share it.
 *   The busier the log, the longer its writes and so its window: it grows with load, and shrinks
 *   back as soon as records stop arriving;
 * - a record nobody waits for waits up to maxDelayMs for company.
 * Nothing here reads a clock: the log passes the times in, which keeps the policy testable.
 */

export interface GroupCommitOptions {
  /** Records written per transaction at most: a full batch is written without waiting. */
  maxBatch: number;
  /** How long a record nobody waits for may wait for others to join its transaction. */
  maxDelayMs: number;
  /** How long a record somebody waits for may wait for others, under load only. */
  maxUrgentDelayMs: number;
}

/** Weight of the newest measurement in the moving averages. */
const ALPHA = 0.25;

export class GroupCommitWindow {
  /** Moving average of one write's duration, ms. */
  private writeMs = 0;
  /** Moving average of records appended per ms, measured from one write's start to the next. */
  private ratePerMs = 0;
  private lastStart: number | undefined;
  private lastEnd: number | undefined;

  constructor(private readonly o: GroupCommitOptions) {}

  /** How long to wait before writing the `queued` records at `now` (0: now). */
  delay(queued: number, urgent: boolean, now: number): number {
    if (queued >= this.o.maxBatch) return 0;
    if (!urgent) return this.o.maxDelayMs;
    // The average, unless the records queued since the last write say the load has dropped
    // (after a quiet spell the first caller must not wait for company that is not coming).
    const since = this.lastEnd === undefined ? 0 : now - this.lastEnd;
    const rate = since > 0 ? Math.min(this.ratePerMs, queued / since) : this.ratePerMs;
    // Fewer than one more record expected during a write: waiting would only add latency.
    if (rate * this.writeMs < 1) return 0;
    return Math.min(this.o.maxUrgentDelayMs, this.writeMs);
  }

  /** A write of `records` started at `start` and took `durationMs` (times in ms, any origin). */
  written(records: number, start: number, durationMs: number): void {
    this.writeMs = this.writeMs === 0 ? durationMs : this.writeMs + ALPHA * (durationMs - this.writeMs);
    if (this.lastStart !== undefined && start > this.lastStart) {
      const rate = records / (start - this.lastStart);
      this.ratePerMs += ALPHA * (rate - this.ratePerMs);
    }
    this.lastStart = start;
    this.lastEnd = start + durationMs;
  }

  /** What the window has measured (metrics, tests). */
  get measured(): { writeMs: number; ratePerMs: number } {
    return { writeMs: this.writeMs, ratePerMs: this.ratePerMs };
  }
}
