import { createRedactor } from '../../../audit/redact.js';
import type { Approver } from '../../../enforcement/approvers.js';
import { summarise } from '../../../enforcement/audit-record.js';
import type { CallResult } from '../../../enforcement/exchange.js';
import type { ApprovalRecord, ApprovalStatus } from '../../../store/records.js';
import type { Warden } from '../../../services/warden.js';
import { withStore, withWarden, type StoreSource } from '../state.js';
import { commaList, formatTable, humanDuration, iso, nonBlank, oneLine, oneOf, parseCount } from '../text-output.js';
import { EXIT } from '../usage-error.js';

export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'executing', 'executed', 'failed'];

export interface ApprovalsListOptions extends StoreSource {
  status?: string;
  tenant?: string;
  limit?: string;
  json?: boolean;
}

/** What may be shown of an approval: never the frozen arguments, only their redacted copy. */
function shown(approval: ApprovalRecord): Omit<ApprovalRecord, 'args'> {
  const { args: _frozen, ...rest } = approval;
  return rest;
}

function expiry(a: ApprovalRecord, now: number): string {
  if (a.status === 'pending') return a.expiresAt > now ? `in ${humanDuration(a.expiresAt - now)}` : `expired at ${iso(a.expiresAt)}`;
  return `at ${iso(a.expiresAt)}`;
}

/** `warden approvals list`: newest first, as a table or (--json) as JSON. */
export async function approvalsListCommand(options: ApprovalsListOptions): Promise<number> {
  const status = oneOf('--status', options.status, APPROVAL_STATUSES);
  const limit = parseCount('--limit', options.limit ?? '100', 1, 10_000);
  return withStore(options, async (store) => {
    const approvals = await store.listApprovals({ status, tenant: options.tenant, limit });
    if (options.json) {
      console.log(JSON.stringify(approvals.map(shown), null, 2));
      return EXIT.ok;
    }
    if (approvals.length === 0) {
      console.log(`no approvals${status ? ` with status ${status}` : ''}`);
      return EXIT.ok;
    }
    const now = Date.now();
    const rows = approvals.map((a) => [a.id, a.status, a.agentId, a.tool, a.tenant, expiry(a, now), oneLine(a.reason)]);
    console.log(formatTable(['ID', 'STATUS', 'AGENT', 'TOOL', 'TENANT', 'EXPIRES', 'REASON'], rows));
    return EXIT.ok;
  });
}

export interface VoteOptions {
  config?: string;
  as?: string;
  roles?: string;
  tenant?: string;
  reason?: string;
}

/**
 * `warden approvals approve|deny <id>`: one vote through the pipeline (which executes the action,
 * exactly once, when an approve reaches the quorum). Exit 0 when the vote was recorded, 1 when
 * it was refused.
 */
export async function approvalsVoteCommand(vote: 'approve' | 'deny', id: string, options: VoteOptions): Promise<number> {
  const approver: Approver = {
    id: nonBlank('--as', options.as),
    roles: commaList(options.roles),
    // The CLI operator reaches the store directly; they are not confined to one tenant unless they say so.
    tenant: options.tenant === undefined ? '*' : nonBlank('--tenant', options.tenant),
  };
  const reason = nonBlank('--reason', options.reason);
  return withWarden(options.config, async (warden) => {
    const outcome = vote === 'approve' ? await warden.approvals.approve(id, approver, reason) : await warden.approvals.deny(id, approver, reason);
    if (!outcome.ok) {
      console.error(`error: refused (${outcome.code}): ${outcome.message}`);
      if (outcome.code === 'forbidden' && approver.roles.length === 0) console.error("hint: no --roles were given; pass the voter's roles, e.g. --roles finance_manager");
      return EXIT.problems;
    }
    console.log(describeOutcome(warden, outcome.approval, outcome.execution, approver.id));
    return EXIT.ok;
  });
}

function describeOutcome(warden: Warden, approval: ApprovalRecord, execution: CallResult | undefined, by: string): string {
  const approvals = approval.votes.filter((v) => v.vote === 'approve').length;
  const quorum = approval.requirement.quorum;
  const head = `${approval.id} (${approval.agentId} → ${approval.tool}, tenant ${approval.tenant})`;
  switch (approval.status) {
    case 'pending':
      return `vote recorded: ${head} is still pending, ${approvals} of ${quorum} approvals`;
    case 'denied':
      return `denied: ${head} by ${by}; it will not run`;
    case 'executed': {
      const summary = summarise(execution?.result, createRedactor(warden.config.redaction));
      return `approved and executed: ${head}\nresult: ${summary === undefined ? '(none)' : truncate(JSON.stringify(summary), 500)}`;
    }
    case 'failed':
      return `approved, but the execution failed: ${head}\nreason: ${oneLine(execution?.decision.reason ?? JSON.stringify(approval.result ?? null))}`;
    case 'approved':
    case 'executing':
      return `approved: ${head}; ${execution ? `execution ended with ${execution.status}` : 'another process claimed its execution'}`;
    default:
      return `${approval.status}: ${head}`;
  }
}

const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}…`);
