import type { CheckpointRecord } from '../store/records.js';
import type { CheckpointStore, DecisionLogStore } from '../store/ports.js';
import { checkpointProblem, sameCheckpoint, type CheckpointProblem, type CheckpointSource } from './checkpoint-check.js';
import type { TrustedKeys } from './checkpoint-signing.js';
import { ChainVerifier, type ChainBreak } from './hash-chain.js';
import { MAX_REPORTED_BREAKS } from './verify-log.js';

export interface ChainMonitorOptions {
  store: Pick<DecisionLogStore, 'lastDecision' | 'scanDecisions'> & Pick<CheckpointStore, 'lastCheckpoint'>;
  /** The keys checkpoints are believed from (the gateway's own); none: no checkpoint is a starting point. */
  keys: TrustedKeys;
  /** The newest checkpoint of the anchor, when it can be read back (a file). */
  newestAnchored?: () => Promise<CheckpointRecord | undefined>;
  /** Records verified per page before the event loop is given back (default 250, some 5-10 ms of hashing). */
  pageSize?: number;
}

export interface VerifiedCheckpoint extends CheckpointRecord {
  /** Whether it was read from the anchor (else from the database). */
  anchored: boolean;
  /** Whether its signature was checked. */
  signatureChecked: boolean;
}

export interface ChainReport {
  ok: boolean;
  /** Records verified link by link by this monitor: those after `verifiedFrom`. */
  checked: number;
  /** Records up to this seq were vouched for by a signed checkpoint instead of being read (0: none). */
  verifiedFrom: number;
  breaks: ChainBreak[];
  breakCount: number;
  checkpointProblems: CheckpointProblem[];
  head?: { seq: number; hash: string };
  /** The newest checkpoint the log still holds. */
  checkpoint?: VerifiedCheckpoint;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The chain's status for a running gateway, at the cost of the records written since it last
 * looked. It starts from the newest checkpoint signed by a trusted key that the log still holds
 * (the signer verified every record up to it; `warden audit verify` re-reads them), or from the
 * first record when there is none; then follows the log page by page, and holds the newest
 * checkpoint of the database and of the anchor against it. What it has seen stays reported: a
 * record altered after it was verified, a checkpoint the log contradicts.
 */
export class ChainMonitor {
  private verifier?: ChainVerifier;
  private verifiedFrom = 0;
  private readonly breaks = new Map<string, ChainBreak>();
  private breakCount = 0;
  private readonly problems = new Map<string, CheckpointProblem>();
  private checkpoint?: VerifiedCheckpoint;

  constructor(private readonly o: ChainMonitorOptions) {}

  /** Not reentrant: the caller serialises (AuditService shares one run between callers). */
  async status(): Promise<ChainReport> {
    // Read before the records, so each signs records already written (no race with a writer).
    const newestStored = await this.o.store.lastCheckpoint();
    const newestAnchored = await this.o.newestAnchored?.();
    await this.confirmPosition(this.verifier ?? (await this.start(newestStored)));
    const verifier = this.verifier!;
    await this.follow(verifier);

    const position = verifier.position;
    const head = position.seq > 0 ? position : undefined;
    for (const [c, source] of [[newestStored, 'database'], [newestAnchored, 'anchor']] as const) {
      if (c) await this.hold(c, source, position);
    }
    return {
      ok: this.breakCount === 0 && this.problems.size === 0,
      checked: verifier.read,
      verifiedFrom: this.verifiedFrom,
      breaks: [...this.breaks.values()].sort((a, b) => a.seq - b.seq),
      breakCount: this.breakCount,
      checkpointProblems: [...this.problems.values()].sort((a, b) => a.seq - b.seq),
      ...(head ? { head } : {}),
      ...(this.checkpoint ? { checkpoint: this.checkpoint } : {}),
    };
  }

  /** The newest stored checkpoint when it is genuine and holds; else the start of the log. */
  private async start(newest: CheckpointRecord | undefined): Promise<ChainVerifier> {
    if (newest && this.o.keys.size > 0 && this.o.keys.check(newest) === 'valid' && (await this.hashAt(newest.seq)) === newest.hash) {
      this.verifiedFrom = newest.seq;
      this.checkpoint = { ...newest, anchored: false, signatureChecked: true };
      this.verifier = new ChainVerifier(newest);
    } else {
      this.verifiedFrom = 0;
      this.verifier = new ChainVerifier();
    }
    return this.verifier;
  }

  /** The last record verified must still be there as it was: otherwise the log was cut or rewritten. */
  private async confirmPosition(verifier: ChainVerifier): Promise<void> {
    const { seq, hash } = verifier.position;
    if (seq === 0) return;
    const now = await this.hashAt(seq);
    if (now === hash) return;
    this.addBreak({ seq, id: '', problem: now === undefined ? 'it was removed after it was verified: the log was cut' : 'it was altered after it was verified: the log was rewritten' });
    // Followed from here on as the log now stands.
    this.verifier = new ChainVerifier();
    this.verifiedFrom = 0;
    await this.follow(this.verifier);
  }

  private async follow(verifier: ChainVerifier): Promise<void> {
    const pageSize = this.o.pageSize ?? 250;
    for (;;) {
      const page = await this.o.store.scanDecisions(verifier.position.seq, pageSize);
      if (page.length === 0) return;
      for (const b of verifier.check(page)) this.addBreak(b);
      if (page.length < pageSize) return;
      await nextTurn();
    }
  }

  /** Holds a checkpoint against the log; the newest that holds becomes the reported one. */
  private async hold(c: CheckpointRecord, source: CheckpointSource, position: { seq: number; hash: string }): Promise<void> {
    // Checked every time (it costs one read): the record a checkpoint signed may change later.
    const hash = c.seq === position.seq ? position.hash : await this.hashAt(c.seq);
    const problem = checkpointProblem(c, { headSeq: position.seq, hashAt: () => hash, keys: this.o.keys });
    if (problem) {
      const key = `${source}:${c.seq}:${problem}`;
      if (!this.problems.has(key)) this.problems.set(key, { seq: c.seq, time: c.time, keyId: c.keyId, source, problem });
      return;
    }
    if (this.checkpoint && sameCheckpoint(c, this.checkpoint)) {
      if (source === 'anchor') this.checkpoint = { ...this.checkpoint, anchored: true };
    } else if (!this.checkpoint || c.seq > this.checkpoint.seq) {
      this.checkpoint = { ...c, anchored: source === 'anchor', signatureChecked: this.o.keys.size > 0 };
    }
  }

  private addBreak(b: ChainBreak): void {
    const key = `${b.seq}:${b.problem}`;
    if (this.breaks.has(key)) return;
    this.breakCount++;
    if (this.breaks.size < MAX_REPORTED_BREAKS) this.breaks.set(key, b);
  }

  private async hashAt(seq: number): Promise<string | undefined> {
    const [record] = await this.o.store.scanDecisions(seq - 1, 1);
    return record?.seq === seq ? record.hash : undefined;
  }
}
