import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { JsonObject, JsonValue } from '../../model/json.js';
import type { CallResult } from '../../enforcement/exchange.js';

/** Where Warden's own facts about a call travel in MCP results (`_meta`, namespaced as MCP asks). */
export const META_DECISION = 'warden/decision';
export const META_APPROVAL = 'warden/approval';
/** Set on a result the injection guard flagged: what Warden found and did (stripped/annotated). */
export const META_RESULT = 'warden/result';

function decisionMeta(result: CallResult): JsonObject {
  const d = result.decision;
  return {
    effect: d.effect,
    status: result.status,
    reason: d.reason,
    auditId: result.auditId,
    ...(d.policy ? { policy: d.policy } : {}),
    ...(d.rule ? { rule: d.rule } : {}),
    ...(d.stage ? { stage: d.stage } : {}),
    ...(result.approvalId ? { approvalId: result.approvalId } : {}),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A tool's result as MCP content. An MCP upstream's result is passed on (after obligations ran on
 * it); a Warden HTTP tool's JSON becomes text plus structured content.
 */
export function toolContent(result: JsonValue | undefined, fromMcp: boolean): CallToolResult {
  if (fromMcp && isObject(result) && Array.isArray(result.content)) return result as unknown as CallToolResult;
  const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
  return { content: [{ type: 'text', text }], ...(isObject(result) ? { structuredContent: result } : {}) };
}

/** An executed call: the tool's result, with Warden's decision in `_meta`. */
export function executedResult(result: CallResult, fromMcp: boolean): CallToolResult {
  const content = toolContent(result.result, fromMcp);
  const note = result.resultNote;
  if (!note) return { ...content, _meta: { ...(content._meta ?? {}), [META_DECISION]: decisionMeta(result) } };
  // A flagged result: the warning goes first, where the model reads before the content.
  const { warning, ...flag } = note;
  return {
    ...content,
    content: [{ type: 'text', text: warning }, ...content.content],
    _meta: { ...(content._meta ?? {}), [META_DECISION]: decisionMeta(result), [META_RESULT]: flag },
  };
}

/**
 * Anything but an execution, as a tool error the agent can read and act on: what was decided,
 * why, and what to do next. Not a JSON-RPC error: the model should see it.
 */
export function refusedResult(result: CallResult): CallToolResult {
  const d = result.decision;
  const lead =
    result.status === 'error'
      ? `Warden could not complete this call: ${d.reason}`
      : `Denied by Warden: ${d.reason}`; // a policy's reason already ends with "(policy …, rule …)"
  const retry = result.retryAfterMs !== undefined ? ` Retry after ${Math.ceil(result.retryAfterMs / 1000)} s.` : '';
  return { content: [{ type: 'text', text: `${lead}${retry} (decision ${result.auditId})` }], isError: true, _meta: { [META_DECISION]: decisionMeta(result) } };
}

/** A call held for a human: names the approval and how to pick the result up. */
export function pendingResult(result: CallResult, waitedMs: number): CallToolResult {
  const id = result.approvalId!;
  const approvers = result.decision.approval?.approvers.join(' or ') ?? 'an approver';
  const text =
    `Not executed yet: this call needs approval by ${approvers} (${result.decision.reason}). ` +
    `Approval ${id} is pending${waitedMs > 0 ? ` after waiting ${Math.round(waitedMs / 1000)} s` : ''}. ` +
    `Once it is approved, call the same tool again with the same arguments to get the result; it runs exactly once.`;
  return {
    content: [{ type: 'text', text }],
    isError: true,
    _meta: { [META_DECISION]: decisionMeta(result), [META_APPROVAL]: { id, status: 'pending' } },
  };
}
