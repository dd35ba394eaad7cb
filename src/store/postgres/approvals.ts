import type { ApprovalRecord, ApprovalStatus, ApprovalVote, Millis, VoteOutcome } from '../records.js';
import type { ApprovalRetryQuery, ApprovalStore } from '../ports.js';
import { APPROVAL_COLUMNS, approvalParams, filteredSelect, insertOf, jsonOrNull, list, toApproval, VOTE_COLUMNS, VOTES_JSON, voteParams, votesOf, type ApprovalRow } from './rows.js';
import type { PgDatabase, Sql } from './sql.js';


/** An approval with its votes, read in one statement (one snapshot). */
const WITH_VOTES = `${list(APPROVAL_COLUMNS, 'a')}, ${VOTES_JSON}`;
const SELECT = `SELECT ${WITH_VOTES} FROM approvals a`;
const RETURNING = `RETURNING ${WITH_VOTES}`;

type Row = ApprovalRow & { votes_json: unknown };
const toRecord = (row: Row): ApprovalRecord => toApproval(row, votesOf(row.votes_json));

/**
 * A vote runs in a transaction that locks the approval's row first (SELECT … FOR UPDATE), so
 * voters of one approval, on any replica, take turns; the exactly-once claim and expiry are single
 * conditional UPDATEs, atomic by themselves.
 */
export class PostgresApprovals implements ApprovalStore {
  constructor(private readonly db: PgDatabase) {}

  async createApproval(approval: ApprovalRecord): Promise<void> {
    const insert = insertOf('approvals', APPROVAL_COLUMNS, approvalParams(approval));
    if (approval.votes.length === 0) {
      await this.db.run(insert.text, insert.values);
      return;
    }
    await this.db.tx(async (sql) => {
      await sql.run(insert.text, insert.values);
      for (const vote of approval.votes) await insertVote(sql, approval.id, vote);
    });
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return load(this.db, id);
  }

  async findOpenApproval(agentId: string, tool: string, argsHash: string): Promise<ApprovalRecord | undefined> {
    const [row] = await this.db.rows<Row>(
      `${SELECT} WHERE status IN ('approved', 'pending') AND agent_id = $1 AND tool = $2 AND args_hash = $3 ORDER BY status = 'approved' DESC, created_at DESC LIMIT 1`,
      [agentId, tool, argsHash],
    );
    return row ? toRecord(row) : undefined;
  }

  async findApprovalForRetry(q: ApprovalRetryQuery): Promise<ApprovalRecord | undefined> {
    // Served by idx_approvals_retry (migration 2): the newest approval of one call, any status.
    const [row] = await this.db.rows<Row>(
      `${SELECT} WHERE a.agent_id = $1 AND a.tool = $2 AND a.args_hash = $3 AND a.tenant = $4 AND a.user_id IS NOT DISTINCT FROM $5 AND a.created_at >= $6 ORDER BY a.created_at DESC, a.id DESC LIMIT 1`,
      [q.agentId, q.tool, q.argsHash, q.tenant, q.userId ?? null, q.since],
    );
    return row ? toRecord(row) : undefined;
  }

  async listApprovals(filter: { status?: ApprovalStatus; tenant?: string; limit?: number }): Promise<ApprovalRecord[]> {
    const { text, values } = filteredSelect(
      WITH_VOTES,
      'approvals a',
      [
        ['status', '=', filter.status],
        ['tenant', '=', filter.tenant],
      ],
      'ORDER BY created_at DESC, id DESC',
      filter.limit,
    );
    return (await this.db.rows<Row>(text, values)).map(toRecord);
  }

  async vote(id: string, vote: ApprovalVote, now: Millis): Promise<VoteOutcome> {
    return this.db.tx(async (sql): Promise<VoteOutcome> => {
      const [row] = await sql.rows<Row>(`${SELECT} WHERE a.id = $1 FOR UPDATE OF a`, [id]);
      if (!row) return { ok: false, code: 'not_found', message: `approval ${id} not found` };
      const current = toRecord(row);
      if (current.status !== 'pending') {
        return { ok: false, code: 'not_pending', message: `approval ${id} is ${current.status}, not pending`, approval: current };
      }
      if (now >= current.expiresAt) {
        await settleUndecided(sql, id, 'expired', now);
        return { ok: false, code: 'expired', message: `approval ${id} expired`, approval: (await load(sql, id))! };
      }
      if (current.votes.some((v) => v.approver === vote.approver)) {
        return { ok: false, code: 'already_voted', message: `${vote.approver} already voted on approval ${id}`, approval: current };
      }
      await insertVote(sql, id, vote);
      let quorumReached = false;
      if (vote.vote === 'deny') {
        await settleUndecided(sql, id, 'denied', now);
      } else {
        const approvals = current.votes.filter((v) => v.vote === 'approve').length + 1;
        if (approvals >= Math.max(1, current.requirement.quorum)) {
          await sql.run("UPDATE approvals SET status = 'approved' WHERE id = $1 AND status = 'pending'", [id]);
          quorumReached = true;
        }
      }
      return { ok: true, approval: (await load(sql, id))!, quorumReached };
    });
  }

  async claimApprovalForExecution(id: string): Promise<ApprovalRecord | undefined> {
    // The exactly-once gate: of concurrent claims, the row lock lets one update the row; the
    // others re-check `status = 'approved'` on the updated row and change nothing.
    const [row] = await this.db.rows<Row>(`UPDATE approvals AS a SET status = 'executing' WHERE a.id = $1 AND a.status = 'approved' ${RETURNING}`, [id]);
    return row ? toRecord(row) : undefined;
  }

  async settleApproval(id: string, status: 'executed' | 'failed', result: ApprovalRecord['result'], at: Millis): Promise<void> {
    await this.db.run('UPDATE approvals SET status = $2, result = $3, settled_at = $4, args = NULL WHERE id = $1', [id, status, jsonOrNull(result), at]);
  }

  async expireApprovals(now: Millis): Promise<ApprovalRecord[]> {
    const rows = await this.db.rows<Row>(
      `UPDATE approvals AS a SET status = 'expired', settled_at = $1, args = NULL WHERE a.status = 'pending' AND a.expires_at <= $1 ${RETURNING}`,
      [now],
    );
    return rows.map(toRecord);
  }
}

async function load(sql: Sql, id: string): Promise<ApprovalRecord | undefined> {
  const [row] = await sql.rows<Row>(`${SELECT} WHERE a.id = $1`, [id]);
  return row ? toRecord(row) : undefined;
}

async function insertVote(sql: Sql, approvalId: string, vote: ApprovalVote): Promise<void> {
  const { text, values } = insertOf('approval_votes', VOTE_COLUMNS, voteParams(approvalId, vote));
  await sql.run(text, values);
}

/** Denied or expired: nothing will run, so the frozen arguments go too. */
async function settleUndecided(sql: Sql, id: string, status: 'denied' | 'expired', at: Millis): Promise<void> {
  await sql.run("UPDATE approvals SET status = $2, settled_at = $3, args = NULL WHERE id = $1 AND status = 'pending'", [id, status, at]);
}
