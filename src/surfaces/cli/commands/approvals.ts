import { createRedactor } from '../../../audit/redact.js';
import { summarise } from '../../../enforcement/audit-record.js';
import type { ApprovalView } from '../../../services/approvals.js';
import type { ApprovalRecord, ApprovalStatus } from '../../../store/records.js';
import type { GatewayClient } from '../gateway-client.js';
import { noteIgnored, operatorMode, type OperatorOptions } from '../operator-mode.js';
// state.js and local-admin.js load all of Warden: imported where used, so a command that calls the
// gateway starts as fast as one that prints help.
import type { StoreSource } from '../state.js';
import { formatTable, humanDuration, iso, nonBlank, oneLine, oneOf, parseCount } from '../text-output.js';
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
  return (await import('../state.js')).withStore(options, async (store) => {
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

export interface VoteOptions extends OperatorOptions {
  /** No longer believed: the voter's roles come from their token. */
  roles?: string;
  /** No longer believed: the voter's tenant comes from their token. */
  tenant?: string;
  reason?: string;
}

/** A vote's execution as either way of voting reports it (the result already redacted for people). */
interface ExecutionSummary {
  status: string;
  result?: unknown;
  reason?: string;
}

/**
 * `warden approvals approve|deny <id>`: one vote, by the person the token stands for (through the
 * gateway) or by the local admin; reaching the quorum executes the action, exactly once. Exit 0
 * when the vote was recorded, 1 when it was refused.
 */
export async function approvalsVoteCommand(vote: 'approve' | 'deny', id: string, options: VoteOptions): Promise<number> {
  const reason = nonBlank('--reason', options.reason);
  const mode = operatorMode(options, `approvals ${vote} ${id}`);
  noteIgnored([
    [options.roles !== undefined, "--roles is ignored: a voter's roles come from their token (a local admin holds only the admin role)"],
    [options.tenant !== undefined, "--tenant is ignored: a voter's tenant comes from their token (a local admin acts for every tenant)"],
    [mode.kind === 'api' && options.as !== undefined, '--as is ignored over the API: you vote as the person your token stands for'],
  ]);
  if (mode.kind === 'api') return voteThroughGateway(mode.gateway, vote, id, reason);
  const { withLocalAdmin } = await import('../local-admin.js');
  return withLocalAdmin(mode, `approvals ${vote}`, async (warden, admin) => {
    const outcome = await warden.approvals.vote(id, admin, vote, reason);
    if (!outcome.ok) {
      console.error(`error: refused (${outcome.code}): ${outcome.message}`);
      if (outcome.code === 'forbidden') console.error(`hint: ${VOTE_NEEDS}`);
      return EXIT.problems;
    }
    const execution = outcome.execution && {
      status: outcome.execution.status,
      result: summarise(outcome.execution.result, createRedactor(warden.config.redaction)),
      reason: outcome.execution.decision.reason,
    };
    console.log(describeOutcome(outcome.approval, execution));
    return EXIT.ok;
  });
}

const VOTE_NEEDS = "voting needs a person's token with the approver (or admin) role and a role or user the approval's rule names, for the approval's tenant; a local admin holds only the admin role";

async function voteThroughGateway(gateway: GatewayClient, vote: 'approve' | 'deny', id: string, reason: string): Promise<number> {
  type Voted = { approval: ApprovalView; execution?: { status: string; result?: unknown; decision: { reason: string } } };
  const answer = await gateway.send<Voted>('POST', `/v1/approvals/${encodeURIComponent(id)}/${vote}`, { reason });
  if (!answer.ok) return gateway.refused(answer.problem, VOTE_NEEDS);
  const { approval, execution } = answer.body;
  console.log(describeOutcome(approval, execution && { status: execution.status, result: execution.result, reason: execution.decision.reason }));
  return EXIT.ok;
}

function describeOutcome(approval: Omit<ApprovalRecord, 'args'>, execution: ExecutionSummary | undefined): string {
  const approvals = approval.votes.filter((v) => v.vote === 'approve').length;
  const quorum = approval.requirement.quorum;
  const head = `${approval.id} (${approval.agentId} → ${approval.tool}, tenant ${approval.tenant})`;
  switch (approval.status) {
    case 'pending':
      return `vote recorded: ${head} is still pending, ${approvals} of ${quorum} approvals`;
    case 'denied':
      return `denied: ${head} by ${approval.votes.filter((v) => v.vote === 'deny').at(-1)?.approver ?? 'unknown'}; it will not run`;
    case 'executed':
      return `approved and executed: ${head}\nresult: ${execution?.result === undefined ? '(none)' : truncate(JSON.stringify(execution.result), 500)}`;
    case 'failed':
      return `approved, but the execution failed: ${head}\nreason: ${oneLine(execution?.reason ?? JSON.stringify(approval.result ?? null))}`;
    case 'approved':
    case 'executing':
      return `approved: ${head}; ${execution ? `execution ended with ${execution.status}` : 'another process claimed its execution'}`;
    default:
      return `${approval.status}: ${head}`;
  }
}

const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}…`);
