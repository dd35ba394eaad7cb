import { ConditionTree, EAGER_BUDGET, NONE_USED } from './condition-tree.js';
import type { CompiledRule } from './policy-set.js';
import { TermTable } from './term-table.js';

/**
 * Narrows a list of rules (the candidates of one action and resource, of one effect) by their
 * conditions, per request, so that the rules a request meets are about the rules that match it,
 * however many rules name the same tool.
 *
 * A rule whose condition is a conjunction holding index terms (condition-plan.ts) is filed under
 * one of them — `"role" in agent.roles` under the role, `resource.tenant == tenant` under "equal",
 * `args.amount <= 500` in a list sorted by the limit — and the rules filed under the same value are
 * filed again by their next term, a few levels deep. A request walks only the branches its values
 * lead to. Leaving the other rules out is exact: a term is judged false only where its check in
 * condition-plan.ts is false (a plain string, a list of strings, a finite number that does not
 * fit), which is when judge() says the rule does not match — in CEL `false && x` is false even
 * when `x` fails (cel-js follows the spec). On any other value (missing, a number where a string is
 * compared, a map) every rule of the branch is kept and judged.
 *
 * A rule the walk reached with every conjunct of its condition found true on the way (all of them
 * index terms: ConditionPlan.exact), in a policy with no effective window, is `sure`: it matches,
 * and the caller need not judge it. The others it reaches are `maybe`: the caller judges them.
 * Rules come back in no particular order: the caller orders what matched.
 *
 * The tree is packed into one Float64Array per index (layout at ConditionTree, condition-tree.ts).
 * With 200 tools and 10,000 rules a request lands on a different tool's index almost every time;
 * profiled, the walk of the object tree cost mostly cache misses on the dozens of small objects it
 * chased (nodes, maps, splits, bound lists) scattered over a heap the size of the set. The packed
 * walk reads a few consecutive cache lines. Paths and string literals are numbered in one
 * TermTable per set (term-table.ts), so the look-ups a request makes go to one small table
 * whichever tool it calls, and each path is read once per request. Lists are split by their next
 * term down to the last level, even a list of one rule: a split read in passing costs less than
 * judging the rule, whose objects are cold too.
 *
 * Levels a request reaches rarely (the fallback for a value the index cannot judge, and anything
 * past the build budget) are packed the first time a request reaches them, so a term with many
 * literals costs memory only for the values requests carry. The walk allocates nothing.
 */
export class ConditionIndex extends ConditionTree {
  constructor(
    readonly rules: readonly CompiledRule[],
    table: TermTable = new TermTable(),
  ) {
    // The root is this object: one read fewer on the way to the tree of the tool called.
    super(rules, NONE_USED, 0, true, { left: EAGER_BUDGET * rules.length + 64 - rules.length }, table);
  }

  /** Every rule that can match this request, sure or not, unordered (a new array). */
  select(activation: Record<string, unknown>): CompiledRule[] {
    const sure: number[] = [];
    const maybe: CompiledRule[] = [];
    this.collect(activation, sure, maybe);
    const byOrder = new Map(this.rules.map((r) => [r.order, r]));
    return [...sure.map((o) => byOrder.get(o)!), ...maybe];
  }
}
