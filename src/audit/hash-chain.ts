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

/** Checks records in seq order, continuing from `previous` (the last verified record, if any). */
export class ChainVerifier {
  private expectedSeq: number;
  private previousHash: string;
  checked = 0;

  constructor(previous?: { seq: number; hash: string }) {
    this.expectedSeq = previous ? previous.seq + 1 : 1;
    this.previousHash = previous?.hash ?? GENESIS_HASH;
  }

  /** Returns the first problem in `records`, or undefined when they extend the chain correctly. */
  check(records: readonly DecisionRecord[]): ChainBreak | undefined {
    for (const record of records) {
      const at = { seq: record.seq, id: record.id };
      if (record.seq !== this.expectedSeq) {
        return { ...at, problem: `expected record #${this.expectedSeq} next, found #${record.seq}: ${record.seq > this.expectedSeq ? 'records were removed' : 'records are out of order'}` };
      }
      if (record.prevHash !== this.previousHash) {
        return { ...at, problem: `its prevHash does not match the hash of record #${record.seq - 1}: a record before it was altered, removed or replaced` };
      }
      if (recordHash(record) !== record.hash) {
        return { ...at, problem: 'its content does not match its hash: the record was altered' };
      }
      this.previousHash = record.hash;
      this.expectedSeq++;
      this.checked++;
    }
    return undefined;
  }
}
