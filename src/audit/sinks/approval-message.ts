import type { JsonObject, JsonValue } from '../../model/json.js';
import type { DecisionRecord } from '../../store/records.js';

export type ApprovalEvent = 'pending' | 'approved' | 'denied' | 'expired';

/** What a notification says, taken from a (redacted) decision record only. */
export interface ApprovalNotice {
  event: ApprovalEvent;
  approvalId: string;
  tool: string;
  agentId: string;
  tenant: string;
  userId?: string;
  /** The policy's reason (pending) or the approver's (decided), as redacted in the log. */
  reason: string;
  /** Who decided (approved, denied). */
  decidedBy?: string;
  /** The redacted arguments. */
  args: JsonValue;
  record: { id: string; seq: number; hash: string; time: number };
}

const MAX_REASON = 500;
const MAX_ARGS = 1_500;

/**
 * The notice a record is, if any: a new approval (the `require_approval` decision that opened
 * it, not the retries that point back at it, nor a dry run), a vote that settled one, or its
 * expiry. Other records say nothing to approvers.
 */
export function approvalNotice(r: DecisionRecord): ApprovalNotice | undefined {
  if (!r.approvalId) return undefined;
  const base = { approvalId: r.approvalId, tool: r.resourceId, agentId: r.agentId, tenant: r.tenant, args: r.args, record: { id: r.id, seq: r.seq, hash: r.hash, time: r.time } };
  if (r.kind === 'decision' && r.effect === 'require_approval' && r.outcome === 'pending' && r.stage !== 'approval' && r.details.dryRun !== true) {
    return { ...base, event: 'pending', reason: r.reason, ...(r.userId ? { userId: r.userId } : {}) };
  }
  const vote = r.details.vote as JsonObject | undefined;
  if ((r.action === 'approval.approve' || r.action === 'approval.deny') && vote && (vote.status === 'approved' || vote.status === 'denied')) {
    return { ...base, event: vote.status, reason: typeof vote.reason === 'string' ? vote.reason : '', decidedBy: String(vote.approver ?? r.userId ?? '') };
  }
  if (r.action === 'approval.expire') return { ...base, event: 'expired', reason: r.reason };
  return undefined;
}

/** The dashboard's page of an approval, under `publicUrl`. */
export function approvalLink(publicUrl: string | undefined, approvalId: string): string | undefined {
  if (!publicUrl) return undefined;
  return `${publicUrl.replace(/\/+$/, '')}/#/approvals/${encodeURIComponent(approvalId)}`;
}

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * Text a Slack message shows as written: `&`, `<` and `>` escaped, so a reason or an argument
 * cannot become a link, a mention (`<!channel>`) or markup.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code in Slack: backticks in the text would end it. */
const code = (text: string) => `\`${slackEscape(text).replace(/`/g, "'")}\``;

const TITLES: Record<ApprovalEvent, string> = { pending: 'Approval needed', approved: 'Approval granted', denied: 'Approval denied', expired: 'Approval expired' };

/** A Slack-compatible message (incoming webhooks): `text` for notifications, `blocks` for the channel. */
export function slackMessage(n: ApprovalNotice, link: string | undefined, includeArguments: boolean): JsonObject {
  const who = `${code(n.tool)} for agent ${code(n.agentId)} in tenant ${code(n.tenant || '(none)')}`;
  const reason = slackEscape(clip(n.reason, MAX_REASON));
  const by = n.decidedBy ? ` by ${code(n.decidedBy)}` : '';
  const text = `${TITLES[n.event]}: ${who}${by}${reason ? ` — ${reason}` : ''}${link ? ` <${link}|Open in Warden>` : ''}`;
  const fields = [
    { type: 'mrkdwn', text: `*Tool*\n${code(n.tool)}` },
    { type: 'mrkdwn', text: `*Agent*\n${code(n.agentId)}` },
    { type: 'mrkdwn', text: `*Tenant*\n${code(n.tenant || '(none)')}` },
    { type: 'mrkdwn', text: `*Approval*\n${code(n.approvalId)}` },
    ...(n.userId ? [{ type: 'mrkdwn', text: `*On behalf of*\n${code(n.userId)}` }] : []),
    ...(n.decidedBy ? [{ type: 'mrkdwn', text: `*Decided by*\n${code(n.decidedBy)}` }] : []),
  ];
  const blocks: JsonObject[] = [
    { type: 'header', text: { type: 'plain_text', text: TITLES[n.event] } },
    { type: 'section', fields },
  ];
  if (reason) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Reason*\n${reason}` } });
  if (includeArguments) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Arguments (redacted)*\n\`\`\`${slackEscape(clip(JSON.stringify(n.args), MAX_ARGS)).replace(/```/g, "'''")}\`\`\`` } });
  if (link) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: n.event === 'pending' ? 'Review in Warden' : 'Open in Warden' }, url: link, ...(n.event === 'pending' ? { style: 'primary' } : {}) }],
    });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `decision record ${code(n.record.id)} (#${n.record.seq})` }] });
  return { text, blocks };
}

/** Warden's own notification: the notice's fields in snake_case. */
export function jsonMessage(n: ApprovalNotice, link: string | undefined, includeArguments: boolean): JsonObject {
  return {
    event: `approval.${n.event}`,
    approval_id: n.approvalId,
    tool: n.tool,
    agent_id: n.agentId,
    tenant: n.tenant,
    ...(n.userId ? { user_id: n.userId } : {}),
    reason: n.reason,
    ...(n.decidedBy ? { decided_by: n.decidedBy } : {}),
    ...(includeArguments ? { arguments: n.args } : {}),
    ...(link ? { link } : {}),
    record: n.record,
  };
}
