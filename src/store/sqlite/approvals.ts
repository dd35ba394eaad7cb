import type Database from 'better-sqlite3';
import type { ApprovalRecord, ApprovalStatus, ApprovalVote, Millis, VoteOutcome } from '../records.js';
import type { ApprovalRetryQuery, ApprovalStore } from '../ports.js';
import { approvalParams, jsonOrNull, toApproval, toVote, voteParams, type ApprovalRow } from './rows.js';
import { filteredSelect, immediate, type ShapedStatements, type ApprovalStatements } from './statements.js';

/** Bound on the positive memo of findApprovalForRetry (cleared when full: it is only a shortcut). */
const MAX_REMEMBERED = 10_000;

/**
 * Multi-step changes (an approval with its votes, a vote, a claim, expiry) run in IMMEDIATE
 * transactions, which take the write lock before the first read: that is what makes a vote or a
 * claim atomic across connections and processes on the same file.
 */
export class SqliteApprovals implements ApprovalStore {
  private readonly tx: {
    create: (approval: ApprovalRecord) => void;
    vote: (id: string, vote: ApprovalVote, now: Millis) => VoteOutcome;
    claim: (id: string) => ApprovalRecord | undefined;
    expire: (now: Millis) => ApprovalRecord[];
    read: <T>(fn: () => T) => T;
  };
  /** Whether the agent has any approval for the tool (served by the prefix of idx_approvals_retry). */
  private readonly anyForTool: Database.Statement<[string, string], 1>;
  /** `agent\0tool` pairs known to have approvals (see findApprovalForRetry); never a negative. */
  private readonly withApprovals = new Set<string>();

  constructor(
    db: Database.Database,
    private readonly s: ApprovalStatements,
    private readonly shaped: ShapedStatements,
  ) {
    const read = db.transaction((fn: () => unknown) => fn());
    this.anyForTool = db.prepare<[string, string], 1>('SELECT 1 FROM approvals WHERE agent_id = ? AND tool = ? LIMIT 1').pluck();
    this.tx = {
      create: immediate(db, (approval: ApprovalRecord) => this.createSync(approval)),
      vote: immediate(db, (id: string, vote: ApprovalVote, now: Millis) => this.voteSync(id, vote, now)),
      claim: immediate(db, (id: string) => this.claimSync(id)),
      expire: immediate(db, (now: Millis) => this.expireSync(now)),
      // A deferred transaction gives multi-statement reads (an approval and its votes) one snapshot.
      read: <T>(fn: () => T): T => read(fn) as T,
    };
  }

  async createApproval(approval: ApprovalRecord): Promise<void> {
    this.tx.create(approval);
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.tx.read(() => this.load(id));
  }

  async findOpenApproval(agentId: string, tool: string, argsHash: string): Promise<ApprovalRecord | undefined> {
    const row = this.s.findOpenApproval.get(agentId, tool, argsHash);
    return row ? this.withVotes(row) : undefined;
  }

  /**
   * Nearly every tool call has no approval: a call held for approval is the exception, and most
   * tools never are. So the lookup first asks the index whether this agent has any approval for
   * this tool at all (`SELECT 1 … LIMIT 1` on the prefix of idx_approvals_retry, two parameters):
   * when not, it answers at once, without reading `q.argsHash` (the pipeline computes that hash
   * only when it is read). Every lookup reads the database: a negative answer is never remembered,
   * because another connection (a second gateway, the CLI voting) may create an approval at any
   * moment, and a stale "none" would let a retry of an executed call run again. Only the positive
   * answer is remembered (`withApprovals`): it can only cost an exact lookup that finds nothing.
   */
  async findApprovalForRetry(q: ApprovalRetryQuery): Promise<ApprovalRecord | undefined> {
    const coarse = `${q.agentId}\u0000${q.tool}`;
    if (!this.withApprovals.has(coarse)) {
      if (this.anyForTool.get(q.agentId, q.tool) === undefined) return undefined;
      if (this.withApprovals.size >= MAX_REMEMBERED) this.withApprovals.clear();
      this.withApprovals.add(coarse);
    }
    const params = [q.agentId, q.tool, q.argsHash, q.tenant, q.userId ?? null, q.since] as const;
    // One SELECT is its own snapshot, so the transaction (BEGIN and COMMIT, ~6 % of a tool call's
    // CPU) is taken only to read a row with its votes.
    if (!this.s.findApprovalForRetry.get(...params)) return undefined;
    return this.tx.read(() => {
      const row = this.s.findApprovalForRetry.get(...params);
      return row ? this.withVotes(row) : undefined;
    });
  }

  async listApprovals(filter: { status?: ApprovalStatus; tenant?: string; limit?: number }): Promise<ApprovalRecord[]> {
    const { sql, params } = filteredSelect(
      'approvals',
      [
        ['status', '=', filter.status],
        ['tenant', '=', filter.tenant],
      ],
      'ORDER BY created_at DESC, id DESC',
      filter.limit,
    );
    const statement = this.shaped.get(sql);
    return this.tx.read(() => (statement.all(params) as ApprovalRow[]).map((row) => this.withVotes(row)));
  }

  async vote(id: string, vote: ApprovalVote, now: Millis): Promise<VoteOutcome> {
    return this.tx.vote(id, vote, now);
  }

  async claimApprovalForExecution(id: string): Promise<ApprovalRecord | undefined> {
    return this.tx.claim(id);
  }

  async settleApproval(id: string, status: 'executed' | 'failed', result: ApprovalRecord['result'], at: Millis): Promise<void> {
    this.s.settleApproval.run({ id, status, result: jsonOrNull(result), at });
  }

  async expireApprovals(now: Millis): Promise<ApprovalRecord[]> {
    return this.tx.expire(now);
  }

  private load(id: string): ApprovalRecord | undefined {
    const row = this.s.getApproval.get(id);
    return row ? this.withVotes(row) : undefined;
  }

  private withVotes(row: ApprovalRow): ApprovalRecord {
    return toApproval(row, this.s.votesOf.all(row.id).map(toVote));
  }

  private createSync(approval: ApprovalRecord): void {
    this.s.insertApproval.run(approvalParams(approval));
    for (const vote of approval.votes) this.s.insertVote.run(voteParams(approval.id, vote));
  }

  private voteSync(id: string, vote: ApprovalVote, now: Millis): VoteOutcome {
    const current = this.load(id);
    if (!current) return { ok: false, code: 'not_found', message: `approval ${id} not found` };
    if (current.status !== 'pending') {
      return { ok: false, code: 'not_pending', message: `approval ${id} is ${current.status}, not pending`, approval: current };
    }
    if (now >= current.expiresAt) {
      this.s.settleUndecided.run({ id, status: 'expired', at: now });
      return { ok: false, code: 'expired', message: `approval ${id} expired`, approval: this.load(id)! };
    }
    if (current.votes.some((v) => v.approver === vote.approver)) {
      return { ok: false, code: 'already_voted', message: `${vote.approver} already voted on approval ${id}`, approval: current };
    }
    this.s.insertVote.run(voteParams(id, vote));
    let quorumReached = false;
    if (vote.vote === 'deny') {
      this.s.settleUndecided.run({ id, status: 'denied', at: now });
    } else {
      const approvals = current.votes.filter((v) => v.vote === 'approve').length + 1;
      if (approvals >= Math.max(1, current.requirement.quorum)) {
        this.s.markApproved.run(id);
        quorumReached = true;
      }
    }
    return { ok: true, approval: this.load(id)!, quorumReached };
  }

  private claimSync(id: string): ApprovalRecord | undefined {
    const changed = this.s.claim.run(id).changes;
    return changed === 1 ? this.load(id) : undefined;
  }

  private expireSync(now: Millis): ApprovalRecord[] {
    const ids = this.s.expirePending.all({ now }).map((row) => row.id);
    return ids.map((id) => this.load(id)!);
  }
}
