import type { ActionRequest } from '../../model/action-request.js';
import type { Decision } from '../../model/decision.js';
import { decide } from '../../policy/decide.js';
import { globMatches } from '../../policy/glob.js';
import { sessionView } from '../../guards/sequence.js';
import type { SessionRecord } from '../../store/records.js';
import type { Exchange } from '../exchange.js';
import type { Runtime } from '../runtime.js';

/** The ActionRequest the PDP sees: the call enriched with the agent record, tool entry, session. */
export async function buildRequest(x: Exchange, rt: Runtime, tenant: string, session: SessionRecord | undefined): Promise<ActionRequest> {
  const agent = x.agent!;
  const call = x.call;
  const request: ActionRequest = {
    requestId: x.requestId,
    traceId: call.traceId,
    tenant,
    sessionId: call.sessionId,
    actor: {
      agent: { id: agent.id, roles: agent.roles, trust: agent.trust, tenant: agent.tenant },
      user: call.user ? { id: call.user.id, roles: call.user.roles ?? [] } : undefined,
      service: call.service,
    },
    action: call.action ?? 'tool.call',
    resource: { type: 'tool', id: call.tool, tenant, attributes: {} },
    args: x.args!,
    context: call.context ?? {},
    tool: x.tool!.entry,
    session: session && sessionView(session),
  };
  if (rt.policies.current.usesRelationships) {
    const subjects = [`agent:${agent.id}`, ...(call.user ? [`user:${call.user.id}`] : [])];
    request.relationships = await rt.store.relationshipsOf(subjects);
  }
  return request;
}

/** Stage 6: the PDP's decision (through the cache), then break-glass for a policy deny. */
export async function decideWithPolicy(x: Exchange, rt: Runtime, request: ActionRequest): Promise<Decision> {
  const policySet = rt.policies.current;
  let decision: Decision;
  if (rt.cache.enabled) {
    const key = rt.cache.key(policySet.bundle, request, x.now);
    const cached = rt.cache.get(key);
    if (cached) decision = { ...cached, requestId: x.requestId };
    else {
      decision = decide(policySet, request, { now: new Date(x.now) });
      rt.cache.set(key, decision);
    }
  } else {
    decision = decide(policySet, request, { now: new Date(x.now) });
  }
  if (decision.effect === 'allow') return decision;
  return (await breakGlass(x, rt, request, decision)) ?? decision;
}

/**
 * An active break-glass grant whose scope covers this call turns a policy deny (or a required
 * approval) into an allow. Never silent: the decision names the grant and the log flags it.
 */
async function breakGlass(x: Exchange, rt: Runtime, request: ActionRequest, decision: Decision): Promise<Decision | undefined> {
  const grants = await rt.store.listGrants({ activeAt: x.now });
  const grant = grants.find(
    (g) =>
      (g.scope.agentId === undefined || g.scope.agentId === request.actor.agent.id) &&
      (g.scope.tenant === undefined || g.scope.tenant === request.tenant) &&
      (g.scope.tool === undefined || globMatches(g.scope.tool, request.resource.id)),
  );
  if (!grant) return undefined;
  return {
    ...decision,
    effect: 'allow',
    approval: undefined,
    reason: `BREAK-GLASS: allowed by grant ${grant.id} from ${grant.grantedBy} ("${grant.reason}"), overriding: ${decision.reason}`,
    advice: [...decision.advice, `policy said ${decision.effect}; overridden by break-glass grant ${grant.id}`],
    breakGlass: { grant: grant.id, grantedBy: grant.grantedBy, reason: grant.reason },
  };
}
