import type { CheckpointRecord } from '../store/records.js';
import type { CheckpointStore, DecisionLogStore } from '../store/ports.js';
import type { AnchorSink } from './anchor-sinks.js';
import { checkpointProblem } from './checkpoint-check.js';
import { TrustedKeys, type CheckpointSigner } from './checkpoint-signing.js';
import { ChainVerifier, GENESIS_HASH } from './hash-chain.js';

export interface CheckpointerOptions {
  store: Pick<DecisionLogStore, 'lastDecision' | 'scanDecisions'> & Pick<CheckpointStore, 'addCheckpoint' | 'lastCheckpoint'>;
  signer: CheckpointSigner;
  /** Where checkpoints are published outside the database; none: they stay in the store only. */
  anchor?: AnchorSink;
  /** Sign once this many records were appended through `noteAppended` since the last checkpoint. */
  every: number;
  /** Sign at least this often while the log grows (records from other writers included). */
  intervalMs: number;
  clock: () => number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Records verified per page before the event loop is given back (default 250, some 5-10 ms of hashing). */
  pageSize?: number;
}

/** Checkpoints waiting to be published at most; older ones stay in the store only. */
const MAX_UNPUBLISHED = 10_000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Signs the head of the decision log every `every` records or `intervalMs`, keeps the checkpoint
 * in the store and publishes it to the anchor. It signs only what it has verified: the records
 * since its previous checkpoint are checked link by link first (a page at a time, giving the
 * event loop back between pages), so a signature never launders a tampered log. When the log
 * contradicts its own last checkpoint, or a link is broken, it stops signing and says why.
 */
export class AuditCheckpointer {
  /** The last record verified and signed (or the starting point), once known. */
  private position?: { seq: number; hash: string };
  private appended = 0;
  private running?: Promise<CheckpointRecord | undefined>;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private unpublished: CheckpointRecord[] = [];
  private publishFailing = false;
  /** Why signing stopped; sticky: a tampered log is not signed again by this process. */
  problem?: string;
  last?: CheckpointRecord;

  constructor(private readonly o: CheckpointerOptions) {}

  /** Starts the interval. */
  start(): this {
    this.timer = setInterval(() => void this.checkpoint(), this.o.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Counts records appended by this process; signs once `every` have been. */
  noteAppended(count: number): void {
    this.appended += count;
    if (this.appended >= this.o.every && !this.closed) void this.checkpoint();
  }

  /** Verifies the records since the last checkpoint and signs the head; shared by concurrent callers. */
  checkpoint(): Promise<CheckpointRecord | undefined> {
    this.running ??= this.run()
      .catch((e: Error) => {
        this.o.log('error', `the decision log could not be checkpointed: ${e.message}`);
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Stops the interval, then signs and publishes the final head. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.checkpoint();
    this.closed = true;
  }

  private async run(): Promise<CheckpointRecord | undefined> {
    await this.publish();
    if (this.problem) return undefined;
    this.appended = 0;
    const from = this.position ?? (await this.resumePoint());
    if (!from) return undefined;
    const head = await this.o.store.lastDecision();
    if ((head?.seq ?? 0) < from.seq || (from.seq > 0 && (await this.hashAt(from.seq)) !== from.hash)) {
      return this.stop(`record #${from.seq}, already signed, was removed or altered`);
    }
    this.position = from;
    if (!head || head.seq === from.seq) return undefined;

    const verifier = new ChainVerifier(from);
    let last = from;
    const pageSize = this.o.pageSize ?? 250;
    while (last.seq < head.seq) {
      const page = await this.o.store.scanDecisions(last.seq, Math.min(pageSize, head.seq - last.seq));
      if (page.length === 0) break;
      const [broken] = verifier.check(page);
      if (broken) return this.stop(`record #${broken.seq} (${broken.id}): ${broken.problem}`);
      const end = page[page.length - 1]!;
      last = { seq: end.seq, hash: end.hash };
      await nextTurn();
    }
    if (last.seq === from.seq) return undefined;

    const checkpoint = this.o.signer.sign(last, this.o.clock());
    const kept = await this.o.store.addCheckpoint(checkpoint);
    this.position = last;
    this.last = checkpoint;
    // Another writer of this log may have signed the same head first; its checkpoint stands.
    if (kept && this.o.anchor) {
      this.unpublished.push(checkpoint);
      if (this.unpublished.length > MAX_UNPUBLISHED) this.unpublished.splice(0, this.unpublished.length - MAX_UNPUBLISHED);
      await this.publish();
    }
    this.o.log('info', `checkpoint of the decision log: #${checkpoint.seq} ${checkpoint.hash} signed by ${checkpoint.keyId}`);
    return checkpoint;
  }

  /**
   * Where verification resumes: this key's newest checkpoint when it is genuine and the log still
   * holds what it signed; the start of the log when there is none.
   */
  private async resumePoint(): Promise<{ seq: number; hash: string } | undefined> {
    const newest = await this.o.store.lastCheckpoint(this.o.signer.keyId);
    if (!newest) return { seq: 0, hash: GENESIS_HASH };
    const head = await this.o.store.lastDecision();
    const hash = await this.hashAt(newest.seq);
    const problem = checkpointProblem(newest, { headSeq: head?.seq ?? 0, hashAt: () => hash, keys: new TrustedKeys([this.o.signer.publicKey]) });
    if (problem) return this.stop(`its newest checkpoint (#${newest.seq}) does not hold: ${problem}`);
    return { seq: newest.seq, hash: newest.hash };
  }

  private async hashAt(seq: number): Promise<string | undefined> {
    const [record] = await this.o.store.scanDecisions(seq - 1, 1);
    return record?.seq === seq ? record.hash : undefined;
  }

  private stop(why: string): undefined {
    if (!this.problem) this.o.log('error', `the decision log is no longer signed: ${why}. Run \`warden audit verify\` with the anchor to see every problem.`);
    this.problem = why;
    return undefined;
  }

  /** Publishes what waits, oldest first; what fails waits for the next checkpoint. */
  private async publish(): Promise<void> {
    const anchor = this.o.anchor;
    if (!anchor) return;
    while (this.unpublished.length > 0) {
      try {
        await anchor.publish(this.unpublished[0]!);
      } catch (e) {
        if (!this.publishFailing) this.o.log('warn', `checkpoints could not be published to ${anchor.describe} (they are kept in the database and retried): ${(e as Error).message}`);
        this.publishFailing = true;
        return;
      }
      this.unpublished.shift();
      if (this.publishFailing) this.o.log('info', `checkpoints are published to ${anchor.describe} again`);
      this.publishFailing = false;
    }
  }
}
