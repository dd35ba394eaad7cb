import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/canonical-json.js';
import type { DecisionRecord } from '../store/records.js';

/** The `prevHash` of the first record. */
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;

/**
 * Every field of a record but `hash`, in a fixed order. Adding a field to DecisionRecord means
 * adding it here (the type below fails to compile otherwise) and starting a new chain format.
 */
const HASHED_FIELDS = [
  'seq', 'prevHash', 'id', 'time', 'kind', 'requestId', 'traceId', 'tenant', 'sessionId', 'agentId', 'userId',
  'serviceId', 'action', 'resourceType', 'resourceId', 'effect', 'reason', 'stage', 'policy', 'rule',
  'policyVersion', 'bundle', 'obligations', 'outcome', 'latencyUs', 'args', 'resultSummary', 'approvalId',
  'breakGlass', 'decisionId', 'details',
] as const satisfies ReadonlyArray<keyof DecisionRecord>;
type Unhashed = Exclude<keyof DecisionRecord, (typeof HASHED_FIELDS)[number] | 'hash'>;
// Compile-time check that no field escapes the hash: Unhashed must be empty.
const everyFieldHashed: [Unhashed] extends [never] ? true : never = true;
void everyFieldHashed;

/**
 * A record's hash covers every field but `hash` itself, including `seq` and `prevHash`, so
 * editing a record, reordering records or removing one breaks the chain from that point on.
 * Top-level fields go in a fixed order (fast); nested values in canonical form (key order free).
 */
export function recordHash(record: Omit<DecisionRecord, 'hash'> & { hash?: string }): string {
  const fields = record as unknown as Record<string, unknown>;
  let text = '';
  for (const field of HASHED_FIELDS) {
    const value = fields[field];
    text += value === undefined ? '\u0000|' : `${typeof value === 'object' && value !== null ? canonicalJson(value) : JSON.stringify(value)}|`;
  }
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export interface ChainBreak {
  seq: number;
  id: string;
  problem: string;
}

/**
 * Checks records in seq order, continuing from `previous` (the last verified record, if any).
 * Verification goes on past a break: after a record that does not link, the chain is followed
 * from that record as it stands, so each alteration is reported once and tampering further on is
 * still found.
 */
export class ChainVerifier {
  private expectedSeq: number;
  private previousHash: string;
  /** Records read. */
  read = 0;
  /** Records read before the first break (all of them while there is none). */
  checked = 0;
  /** Breaks found so far. */
  breaks = 0;

  constructor(previous?: { seq: number; hash: string }) {
    this.expectedSeq = previous ? previous.seq + 1 : 1;
    this.previousHash = previous?.hash ?? GENESIS_HASH;
  }

  /** The breaks in `records`, in order; none when they extend the chain correctly. */
  check(records: readonly DecisionRecord[]): ChainBreak[] {
    const found: ChainBreak[] = [];
    for (const record of records) {
      const problem = this.problemOf(record);
      this.read++;
      if (problem) {
        found.push({ seq: record.seq, id: record.id, problem });
        this.breaks++;
      } else if (this.breaks === 0) {
        this.checked++;
      }
      this.previousHash = record.hash;
      this.expectedSeq = record.seq + 1;
    }
    return found;
  }

  /** The last record read (or the starting point): where the next page continues. */
  get position(): { seq: number; hash: string } {
    return { seq: this.expectedSeq - 1, hash: this.previousHash };
  }

  private problemOf(record: DecisionRecord): string | undefined {
    if (record.seq !== this.expectedSeq) {
      return `expected record #${this.expectedSeq} next, found #${record.seq}: ${record.seq > this.expectedSeq ? 'records were removed' : 'records are out of order'}`;
    }
    if (record.prevHash !== this.previousHash) {
      return `its prevHash does not match the hash of record #${record.seq - 1}: a record before it was altered, removed or replaced`;
    }
    if (recordHash(record) !== record.hash) return 'its content does not match its hash: the record was altered';
    return undefined;
  }
}
