import { randomUUID } from 'node:crypto';
import type { Decision } from '../model/decision.js';
import type { JsonObject } from '../model/json.js';
import type { Refusal } from './outcome.js';

/** A running `warden serve` and the agent's API key (`wk_…`), sent only in the Authorization header. */
export interface GatewayConnection {
  url: string;
  apiKey: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

export interface RemoteCall {
  agentId: string;
  tenant?: string;
  sessionId?: string;
  user?: { id: string; roles?: string[] };
  tool: string;
  args: JsonObject;
}

export type RemoteAnswer = { kind: 'decision'; decision: Decision; auditId?: string } | Refusal;

/**
 * Asks the gateway's decision API (`POST /v1/decisions`) about one tool call. The gateway takes
 * the agent's roles, trust and tenant from its registry; this sends only who, what and the
 * arguments. Every failure (unreachable, refused, malformed answer) is a refusal: fail closed.
 */
export async function decideRemotely(gateway: GatewayConnection, call: RemoteCall): Promise<RemoteAnswer> {
  if (!call.tenant) return { kind: 'error', reason: 'a remote gateway needs the tenant the agent acts in (the `tenant` option)' };
  const target = new URL('v1/decisions', `${gateway.url.replace(/\/+$/, '')}/`);
  const request = {
    requestId: `req_${randomUUID()}`,
    tenant: call.tenant,
    ...(call.sessionId ? { sessionId: call.sessionId } : {}),
    actor: { agent: { id: call.agentId }, ...(call.user ? { user: { id: call.user.id, roles: call.user.roles ?? [] } } : {}) },
    action: 'tool.call',
    resource: { type: 'tool', id: call.tool },
    args: call.args,
  };
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(gateway.timeoutMs ?? 10_000),
    });
  } catch (error) {
    const detail = (error as { cause?: { code?: string; message?: string } }).cause;
    const cause = detail?.code ?? detail?.message ?? (error as Error).message;
    return { kind: 'error', reason: `Warden at ${target.origin} could not be reached (${cause}); not run` };
  }
  const body = (await response.json().catch(() => undefined)) as (Partial<Decision> & { detail?: string; audit_id?: string }) | undefined;
  const auditId = response.headers.get('x-warden-audit-id') ?? body?.audit_id ?? undefined;
  if (!response.ok) {
    const detail = typeof body?.detail === 'string' ? body.detail : `HTTP ${response.status}`;
    return response.status >= 500 ? { kind: 'error', reason: `Warden answered ${response.status}: ${detail}; not run` } : { kind: 'denied', reason: detail, ...(auditId ? { auditId } : {}) };
  }
  if (!body || typeof body.effect !== 'string' || typeof body.reason !== 'string' || !Array.isArray(body.obligations)) {
    return { kind: 'error', reason: `Warden at ${target.origin} answered something that is not a decision; not run` };
  }
  return { kind: 'decision', decision: body as Decision, ...(auditId ? { auditId } : {}) };
}
