import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/canonical-json.js';
import type { DecisionRecord } from '../store/records.js';

/** The `prevHash` of the first record. */
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;

/**
 * A record's hash covers every field but `hash` itself, including `seq` and `prevHash`, so
 * editing a record, reordering records or removing one breaks the chain from that point on.
 */
export function recordHash(record: Omit<DecisionRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...content } = record;
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
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
