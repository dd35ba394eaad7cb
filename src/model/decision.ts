import type { Effect } from './effect.js';
import type { Obligation } from './obligation.js';

export interface ApprovalRequirement {
  /** `role:<name>` or `user:<id>` entries; any one of them may approve. */
  approvers: string[];
  quorum: number;
  /** Duration such as `1h`, `15m`. */
  expiresIn: string;
  /** Whether the user on whose behalf the agent acts may approve their own request. */
  allowRequester: boolean;
}

export interface ShadowResult {
  policy: string;
  policyVersion: string;
  effect: Effect;
  rule?: string;
  reason: string;
}

/** Why one candidate rule did or did not contribute to the decision. */
export interface RuleTrace {
  policy: string;
  policyVersion: string;
  rule: string;
  effect: Effect;
  mode: 'enforce' | 'shadow';
  outcome: 'matched' | 'not_matched' | 'error' | 'inactive';
  detail: string;
}

export interface Explanation {
  /** Rules the index selected for this action and resource, in evaluation order. */
  candidates: RuleTrace[];
  rulesInSet: number;
  summary: string;
}

export interface Decision {
  requestId: string;
  effect: Effect;
  reason: string;
  policy?: string;
  rule?: string;
  policyVersion?: string;
  /** Revision of the whole policy set in force: `sha256:<hex>`. */
  bundle: string;
  obligations: Obligation[];
  advice: string[];
  approval?: ApprovalRequirement;
  /** Every enforced rule that matched, `policy/rule`, deciding rule first. */
  matched: string[];
  shadow: ShadowResult[];
  explanation?: Explanation;
  /**
   * Set when a pipeline stage other than the policy ended the exchange (authenticate, agent,
   * arguments, tenant, limits, approval, execute, obligations, audit): a deny the PDP never saw.
   */
  stage?: string;
  /** The break-glass grant that turned a policy deny into this allow. */
  breakGlass?: { grant: string; grantedBy: string; reason: string };
}
