import type { CheckpointRecord, Millis } from '../store/records.js';
import type { TrustedKeys } from './checkpoint-signing.js';

/** Where a checkpoint was read: the store's table, or the anchor outside the database. */
export type CheckpointSource = 'database' | 'anchor';

/** A checkpoint that the log as it stands contradicts (or that is not genuine). */
export interface CheckpointProblem {
  seq: number;
  time: Millis;
  keyId: string;
  source: CheckpointSource;
  problem: string;
}

export interface LogAsItStands {
  /** The seq of the last record (0: the log is empty). */
  headSeq: number;
  /** The hash of the record of this seq, undefined when there is none. */
  hashAt: (seq: number) => string | undefined;
  /** The keys signatures are checked with; without any, signatures are not checked. */
  keys?: TrustedKeys;
}

/**
 * What is wrong with a checkpoint given the log as it stands; undefined when the log still holds
 * the record it signed. A checkpoint proves the log reached `seq` with `hash`: fewer records mean
 * the newest were removed, another hash means the chain was rewritten up to there.
 */
export function checkpointProblem(c: CheckpointRecord, log: LogAsItStands): string | undefined {
  if (log.keys && log.keys.size > 0) {
    const signature = log.keys.check(c);
    if (signature === 'unknown-key') return `it is signed by ${c.keyId}, which is not a key given to verify with: a forged checkpoint, or one of a key not passed (--public-key)`;
    if (signature === 'invalid') return 'its signature does not verify: the checkpoint was forged or altered';
  }
  if (log.headSeq === 0) return `the log is empty, but it held ${c.seq} records when this checkpoint was signed: every record was deleted`;
  if (c.seq > log.headSeq) return `the log ends at #${log.headSeq}, but it reached #${c.seq} when this checkpoint was signed: the records after #${log.headSeq} were deleted`;
  const hash = log.hashAt(c.seq);
  if (hash === undefined) return `record #${c.seq}, which this checkpoint signed, is missing`;
  if (hash !== c.hash) {
    return `record #${c.seq} has hash ${hash}, not the ${c.hash} this checkpoint signed: the log was rewritten at or before #${c.seq} (records altered or forged and the hashes after them recomputed)`;
  }
  return undefined;
}

/** Two copies of one checkpoint (the database's and the anchor's) say the same. */
export function sameCheckpoint(a: CheckpointRecord, b: CheckpointRecord): boolean {
  return a.seq === b.seq && a.hash === b.hash && a.time === b.time && a.keyId === b.keyId && a.signature === b.signature;
}
