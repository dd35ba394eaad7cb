import type { ActionRequest } from '../model/action-request.js';
import { buildActivation } from './activation.js';
import { enterScope } from './cel-environment.js';
import { evaluateRule } from './decide.js';
import type { CompiledRule, PolicySet } from './policy-set.js';

/** Whether a tool is shown to an actor, and the rule that settled it. */
export interface ListDecision {
  visible: boolean;
  reason: string;
  rule?: string;
}

/** Variables whose value is only known when a call is made. */
const PER_CALL = ['args', 'context', 'session', 'signals'] as const;

class UnknownAtListing extends Error {}
const refuse = (): never => {
  throw new UnknownAtListing('not known when listing');
};
/**
 * Stands in for a per-call variable: any use of it is an error. CEL's logic absorbs errors where
 * the result does not depend on them (`false && args.x` is false, `true || args.x` is true), so a
 * condition that evaluates to a bool was settled without the call; one that errors was not.
 */
const UNKNOWN = new Proxy(Object.freeze({}), { get: refuse, has: refuse, ownKeys: refuse, getOwnPropertyDescriptor: refuse });

type Outcome = 'true' | 'false' | 'unknown';

/** A rule's result at listing time: an error (a per-call variable was needed) is "unknown". */
function evaluate(rule: CompiledRule, activation: Record<string, unknown>, at: number): Outcome {
  const result = evaluateRule(rule, activation, at);
  return result === 'matched' ? 'true' : typeof result === 'object' ? 'unknown' : 'false';
}

/**
 * The list decision: could policy allow this actor some call of this tool? `request` describes
 * the call without its arguments. A tool is hidden when a deny rule matches whatever the
 * arguments are, or when no allow rule could match and no approval rule surely matches; allow
 * rules that depend on per-call input count as "could match".
 * The call decision still decides each call. Pure, like `decide`.
 */
export function listDecision(policySet: PolicySet, request: ActionRequest, now: Date): ListDecision {
  const candidates = policySet.index.candidates(request.action, request.resource.id);
  const activation: Record<string, unknown> = buildActivation(request, now, policySet.data.values);
  for (const name of PER_CALL) activation[name] = UNKNOWN;
  // resource.attributes come with the call too.
  activation.resource = { ...request.resource, attributes: UNKNOWN };
  enterScope(request.actor.agent.trust, request.relationships, now.getTime());
  const at = now.getTime();
  for (const rule of candidates.deny) {
    if (evaluate(rule, activation, at) === 'true') return { visible: false, reason: `denied whatever the arguments by ${rule.key}`, rule: rule.key };
  }
  // An allow rule counts when it could match. An approval rule counts only when it matches
  // whatever the call holds: one that depends on the call (a guard's "suspicious input needs a
  // human") is caution added to other permissions, not a permission of its own.
  for (const rule of candidates.allow) {
    if (evaluate(rule, activation, at) !== 'false') return { visible: true, reason: `${rule.key} could allow it`, rule: rule.key };
  }
  for (const rule of candidates.requireApproval) {
    if (evaluate(rule, activation, at) === 'true') return { visible: true, reason: `${rule.key} lets an approver allow it`, rule: rule.key };
  }
  return { visible: false, reason: 'no rule could allow it' };
}
