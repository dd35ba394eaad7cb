import type { PolicySet } from '../../src/index.js';
import type { ConditionIndex } from '../../src/policy/condition-index.js';
import { globMatches } from '../../src/policy/glob.js';
import type { CompiledRule } from '../../src/policy/policy-set.js';
import { groupCandidates, type RuleIndex } from '../../src/policy/rule-index.js';

/**
 * The same set decided the plain way, the reference the PDP's shortcuts are held to: every rule of
 * the set, in its order, filtered by action and tool and evaluated with CEL alone (the rules lose
 * their condition plans, the index narrows nothing, no conclusion comes from its table, and every
 * rule counts as carrying obligations, so they are always merged).
 */
export function linear(set: PolicySet): PolicySet {
  const rules: CompiledRule[] = set.rules.map((r) => ({ ...r, plan: undefined }));
  // Every candidate is "maybe": the evaluator judges each one with CEL.
  const everything = (list: readonly CompiledRule[]) => ({
    select: () => list,
    collect: (_activation: unknown, _sure: number[], maybe: CompiledRule[]) => maybe.push(...list),
  });
  const index = {
    keys: rules.map((r) => r.key),
    obligated: new Uint8Array(rules.length).fill(1),
    conclusions: [],
    candidates: (action: string, resource: string) =>
      groupCandidates(
        rules.filter((r) => (!r.actions || r.actions.includes(action)) && (!r.tools || r.tools.some((t) => globMatches(t, resource)))),
        everything as unknown as (list: readonly CompiledRule[]) => ConditionIndex,
      ),
  };
  // A new index object per read: merged obligations are remembered per index, so none ever are here.
  return new Proxy({ ...set, rules }, { get: (target, key) => (key === 'index' ? ({ ...index } as unknown as RuleIndex) : target[key as keyof PolicySet]) });
}
