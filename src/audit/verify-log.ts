import type { CheckpointRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { checkpointProblem, sameCheckpoint, type CheckpointProblem } from './checkpoint-check.js';
import type { TrustedKeys } from './checkpoint-signing.js';
import { ChainVerifier, type ChainBreak } from './hash-chain.js';

/** Breaks kept in a result at most (a log rewritten wholesale would otherwise fill memory). */
export const MAX_REPORTED_BREAKS = 1_000;

const PAGE = 5_000;

export interface VerifyOptions {
  /** Called after each page with the records read so far. */
  onProgress?: (read: number) => void;
  /** Checkpoints read from an anchor outside the database (audit/anchor-file.ts). */
  anchor?: { describe: string; checkpoints: readonly CheckpointRecord[]; malformedLines?: readonly number[] };
  /** The public keys checkpoint signatures are checked with; none: signatures are not checked. */
  keys?: TrustedKeys;
}

export interface VerifyResult {
  /** No break in the chain and no checkpoint the log contradicts. */
  ok: boolean;
  /** Records verified before the first break (all of them when there is none). */
  checked: number;
  /** Records read. */
  records: number;
  /** The first break of the chain. */
  broken?: ChainBreak;
  /** Every break, in seq order (at most MAX_REPORTED_BREAKS; `breakCount` counts them all). */
  breaks: ChainBreak[];
  breakCount: number;
  /** The last record. */
  head?: { seq: number; hash: string };
  checkpointProblems: CheckpointProblem[];
  checkpoints: {
    inDatabase: number;
    anchored: number;
    /** The newest checkpoint that holds (signature checked when keys were given). */
    newestVerified?: CheckpointRecord;
    signaturesChecked: boolean;
  };
  /** What this verification could not detect, given what it was given. */
  blindSpots: string[];
}

/**
 * Walks the whole decision log in order and checks every link of the hash chain, going on past
 * breaks so that each is reported; then holds every checkpoint (from the database and from the
 * anchor) against the log: a checkpoint past the end means records were removed from the end, one
 * whose hash differs means the chain was rewritten, a bad signature means a forged checkpoint.
 *
 * The anchor is read by the caller before this starts and the database's checkpoints before the
 * records: a checkpoint is stored before it is published, and signs records already written, so
 * a log being appended to (a running gateway) is never a false alarm.
 */
export async function verifyDecisionLog(store: Store, options: VerifyOptions | ((read: number) => void) = {}): Promise<VerifyResult> {
  const o: VerifyOptions = typeof options === 'function' ? { onProgress: options } : options;
  const problems: CheckpointProblem[] = [];
  const problem = (c: CheckpointRecord, source: CheckpointProblem['source'], text: string) => problems.push({ seq: c.seq, time: c.time, keyId: c.keyId, source, problem: text });

  const stored = await allCheckpoints(store);
  const anchored = new Map<number, CheckpointRecord>();
  for (const c of o.anchor?.checkpoints ?? []) {
    const seen = anchored.get(c.seq);
    if (seen && !sameCheckpoint(seen, c)) problem(c, 'anchor', `the anchor holds two different checkpoints of #${c.seq}`);
    anchored.set(c.seq, c);
  }
  for (const line of o.anchor?.malformedLines ?? []) {
    problems.push({ seq: 0, time: 0, keyId: '', source: 'anchor', problem: `line ${line} of the anchor claims to be a checkpoint but lacks seq, hash, time, keyId or signature` });
  }
  for (const [seq, c] of anchored) {
    const own = stored.get(seq);
    if (!own) problem(c, 'anchor', 'the anchor holds this checkpoint but the database does not: checkpoints were deleted from the database');
    else if (!sameCheckpoint(own, c)) problem(own, 'database', 'the database holds another checkpoint of this seq than the anchor: the database\'s checkpoint was replaced');
  }

  // The chain, keeping the hash of each record a checkpoint names.
  const wanted = new Set([...stored.keys(), ...anchored.keys()]);
  const hashes = new Map<number, string>();
  const verifier = new ChainVerifier();
  const breaks: ChainBreak[] = [];
  let head: { seq: number; hash: string } | undefined;
  let after = 0;
  for (;;) {
    const page = await store.scanDecisions(after, PAGE);
    if (page.length === 0) break;
    for (const b of verifier.check(page)) if (breaks.length < MAX_REPORTED_BREAKS) breaks.push(b);
    for (const r of page) if (wanted.has(r.seq)) hashes.set(r.seq, r.hash);
    const last = page[page.length - 1]!;
    head = { seq: last.seq, hash: last.hash };
    after = last.seq;
    o.onProgress?.(verifier.read);
  }

  const log = { headSeq: head?.seq ?? 0, hashAt: (seq: number) => hashes.get(seq), keys: o.keys };
  let newestVerified: CheckpointRecord | undefined;
  const check = (c: CheckpointRecord, source: CheckpointProblem['source']) => {
    const text = checkpointProblem(c, log);
    if (text) problem(c, source, text);
    else if (!newestVerified || c.seq > newestVerified.seq) newestVerified = c;
  };
  for (const c of stored.values()) check(c, 'database');
  // An anchored checkpoint the database also holds (unchanged) was checked above.
  for (const c of anchored.values()) if (!stored.has(c.seq) || !sameCheckpoint(stored.get(c.seq)!, c)) check(c, 'anchor');
  problems.sort((a, b) => a.seq - b.seq);

  const signaturesChecked = (o.keys?.size ?? 0) > 0;
  const result: VerifyResult = {
    ok: verifier.breaks === 0 && problems.length === 0,
    checked: verifier.checked,
    records: verifier.read,
    breaks,
    breakCount: verifier.breaks,
    checkpointProblems: problems,
    checkpoints: { inDatabase: stored.size, anchored: anchored.size, signaturesChecked, ...(newestVerified ? { newestVerified } : {}) },
    blindSpots: blindSpots(stored.size + anchored.size, o.anchor !== undefined, signaturesChecked, head, newestVerified),
  };
  if (breaks[0]) result.broken = breaks[0];
  if (head) result.head = head;
  return result;
}

async function allCheckpoints(store: Store): Promise<Map<number, CheckpointRecord>> {
  const all = new Map<number, CheckpointRecord>();
  let after = 0;
  for (;;) {
    const page = await store.scanCheckpoints(after, PAGE);
    if (page.length === 0) return all;
    for (const c of page) all.set(c.seq, c);
    after = page[page.length - 1]!.seq;
  }
}

/** What could have happened to the log without this verification noticing. */
function blindSpots(checkpoints: number, anchor: boolean, signatures: boolean, head: { seq: number } | undefined, newest: CheckpointRecord | undefined): string[] {
  if (checkpoints === 0 && !anchor) {
    return [
      'there are no signed checkpoints and no anchor (--anchor): deleting the newest records, deleting every record, or altering a record and recomputing the hashes after it would all verify as intact; set audit.checkpoints in warden.yaml and pass --anchor',
    ];
  }
  const spots: string[] = [];
  if (!anchor) {
    spots.push('no anchor (--anchor): checkpoints were read from the database alone, so whoever can write the database can delete the newest records, or every record, together with their checkpoints, unnoticed');
  }
  if (!signatures) {
    spots.push('signatures were not checked (pass --public-key <pem>, or --config with audit.checkpoints.key): a checkpoint forged in the database is believed');
  }
  if (head && (!newest || head.seq > newest.seq)) {
    spots.push(`records after #${newest?.seq ?? 0} are newer than every checkpoint: the hash chain alone covers them, so removing some of them from the end would not be detected`);
  }
  return spots;
}
