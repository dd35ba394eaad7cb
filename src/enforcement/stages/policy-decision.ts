import type { ActionRequest } from '../../model/action-request.js';
import type { Decision } from '../../model/decision.js';
import { decide } from '../../policy/decide.js';
import { globMatches } from '../../policy/glob.js';
import type { PolicySet } from '../../policy/policy-set.js';
import type { GrantStore } from '../../store/ports.js';
import type { DecisionCache } from '../decision-cache.js';
import type { Exchange } from '../exchange.js';

/** The policy set in force: swapped as a whole on reload; an exchange reads it once, here. */
export interface PoliciesInForce {
  current: PolicySet;
}

export interface PolicyDecisionDeps {
  policies: PoliciesInForce;
  cache: DecisionCache;
  grants: Pick<GrantStore, 'listGrants'>;
}

/**
 * Stage 7: the PDP's decision (through the cache), then break-glass for a policy deny. With
 * `explain`, the PDP's explanation is kept (dry runs): never cached, never the cache's.
 */
export async function decideWithPolicy(x: Exchange, request: ActionRequest, deps: PolicyDecisionDeps, explain = false): Promise<Decision> {
  const policySet = deps.policies.current;
  let decision: Decision;
  if (deps.cache.enabled && !explain) {
    const key = deps.cache.key(policySet.bundle, request, x.now);
    const cached = deps.cache.get(key);
    if (cached) decision = { ...cached, requestId: x.requestId };
    else {
      decision = decide(policySet, request, { now: new Date(x.now) });
      deps.cache.set(key, decision);
    }
  } else {
    decision = decide(policySet, request, { now: new Date(x.now), explain });
  }
  if (decision.effect === 'allow') return decision;
  return (await breakGlass(x, request, decision, deps.grants)) ?? decision;
}

/**
 * An active break-glass grant whose scope covers this call turns a policy deny (or a required
 * approval) into an allow. Never silent: the decision names the grant and the log flags it.
 */
async function breakGlass(x: Exchange, request: ActionRequest, decision: Decision, grants: PolicyDecisionDeps['grants']): Promise<Decision | undefined> {
  const active = await grants.listGrants({ activeAt: x.now });
  const grant = active.find(
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
