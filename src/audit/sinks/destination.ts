import type { DecisionRecord } from '../../store/records.js';

/**
 * Where a sink sends records. `deliver` resolves once the destination has acknowledged every
 * record given (an HTTP 2xx, a JetStream PubAck, a write and fsync), and rejects otherwise; a
 * `DeliveryError` says how many records, from the first, were acknowledged before it failed, so
 * the follower keeps those and sends the rest again. Delivery is at least once: a destination
 * must accept a record it already has (each carries its stable `id` and `seq` for deduplication).
 */
export interface SinkDestination {
  /** `file`, `http`, `nats`, `webhook`. */
  readonly type: string;
  /** Where it sends, for logs and /readyz: never a credential. */
  readonly target: string;
  deliver(records: readonly DecisionRecord[]): Promise<void>;
  /**
   * The last record the destination itself holds, when it can tell (a file reads its last line):
   * the follower resumes after it when it is the log's own record, so a crash between a write and
   * the cursor's update leaves no duplicate.
   */
  resumeAfter?(): Promise<{ seq: number; hash: string } | undefined>;
  close(): Promise<void>;
}

/** A delivery that failed after its first `acknowledged` records were acknowledged. */
export class DeliveryError extends Error {
  constructor(
    readonly acknowledged: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The acknowledged count of a failed delivery (0 unless it says otherwise). */
export function acknowledgedBefore(error: unknown): number {
  return error instanceof DeliveryError ? error.acknowledged : 0;
}

/** The message of a failure, with its cause (fetch's `fetch failed` says nothing alone). */
export function failureText(error: unknown): string {
  const e = error as Error & { cause?: Error & { code?: string } };
  const message = e?.message ?? String(error);
  const cause = e?.cause;
  if (!cause || typeof cause !== 'object') return message;
  const inner = cause.code ?? cause.message;
  return inner && !message.includes(inner) ? `${message} (${inner})` : message;
}
