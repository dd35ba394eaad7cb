import type { ApprovalRequirement } from '../model/decision.js';
import type { Effect } from '../model/effect.js';
import type { Obligation } from '../model/obligation.js';
import type { CompiledExpression } from './cel-environment.js';
import type { ConditionPlan } from './condition-plan.js';
import type { ReasonTemplate } from './reason-template.js';
import type { RuleIndex } from './rule-index.js';
import type { PolicyData } from './policy-data.js';

export interface CompiledPolicy {
  id: string;
  version: string;
  owner?: string;
  description?: string;
  mode: 'enforce' | 'shadow';
  /** Effective window in epoch milliseconds; absent ends are open. */
  from?: number;
  until?: number;
  file: string;
  line: number;
  /**
   * A guard policy (src/guards/default-policies.ts, or one replacing it by id): its rules only add
   * caution. Its require_approval holds an action some other rule allows; it never stands in for
   * an allow, so an action no rule allows stays denied by default.
   */
  cautionOnly?: boolean;
}

export interface CompiledRule {
  /** `policy/rule`, unique in a set; also the deterministic order of evaluation. */
  key: string;
  /** The rule's position in the set (by key): what the evaluator sorts matched rules by. */
  order: number;
  policy: CompiledPolicy;
  id: string;
  effect: Effect;
  /** Undefined means every action / every resource. */
  actions?: readonly string[];
  tools?: readonly string[];
  when?: CompiledExpression;
  whenSource?: string;
  /** The condition's conjuncts the index and the evaluator judge without CEL (condition-plan.ts). */
  plan?: ConditionPlan;
  /** A plain string when the reason has no `${...}` expressions, so nothing is rendered per decision. */
  reason?: string | ReasonTemplate;
  /** ` (policy refunds v3, rule large-refund)`: appended to the reason of every decision it makes. */
  attribution: string;
  obligations: readonly Obligation[];
  approval?: ApprovalRequirement;
  file: string;
  line: number;
}

/** An immutable, compiled policy set: what the PDP decides against. */
export interface PolicySet {
  policies: readonly CompiledPolicy[];
  rules: readonly CompiledRule[];
  index: RuleIndex;
  /** `sha256:<hex>` of the canonical form of every policy; independent of file names and order. */
  bundle: string;
  /** Reference data from the folder's `data/` (`data.*` in conditions). */
  data: PolicyData;
  /** Some condition calls `related(...)`: the pipeline then loads the actor's relationship tuples. */
  usesRelationships: boolean;
  /**
   * Some condition or reason may read the session's history (`session.recent`, or the session
   * whole, as `recent_count(session, …)` does): decision records then keep it. Otherwise they
   * leave it out, as a path replay knows it does not know (enforcement/recorded-request.ts).
   */
  readsSessionHistory: boolean;
}
