import type { Decision } from '../../model/decision.js';
import type { CompiledRule, PolicySet } from '../policy-set.js';

/**
 * Which rules the test suites exercise. A rule is covered when, in at least one test case, it
 * shaped the decision the case checks:
 * - it is in the decision's `matched` list (the deciding rule and every other matched rule of the
 *   winning effect: all matched denies of a deny, all approvals of a require_approval, all allows
 *   of an allow — a deny or approval whose condition failed counts, as it does for the PDP);
 * - or it is an allow rule that matched under a require_approval decision (its obligations are
 *   merged into the held call's);
 * - or, for a shadow-mode policy, it is the rule its shadow result names.
 * A rule that matched but was overridden (an allow under a deny) is not covered: no case checks
 * what it does. A case counts whether it passed or failed; a failing case fails the run anyway.
 */
export interface RuleCoverage {
  key: string;
  policy: string;
  rule: string;
  file: string;
  line: number;
  /** Names of the cases that exercised it (`suite › case`). */
  coveredBy: string[];
}

export interface PolicyCoverage {
  policy: string;
  file: string;
  rules: number;
  covered: number;
  /** 0–100, one decimal. */
  percent: number;
  uncovered: RuleCoverage[];
}

export interface CoverageReport {
  policies: PolicyCoverage[];
  rules: number;
  covered: number;
  percent: number;
  /** Every counted rule and what covered it. */
  detail: RuleCoverage[];
  /** Policies left out of the figures (the built-in guard policies). */
  excluded: string[];
}

/** A decided test case, as coverage needs it. */
export interface DecidedCase {
  name: string;
  decision?: Decision;
}

const percent = (covered: number, total: number) => (total === 0 ? 100 : Math.round((covered / total) * 1000) / 10);

/** The rule keys a decision exercised (see RuleCoverage's definition). */
export function exercisedRules(decision: Decision): Set<string> {
  const keys = new Set(decision.matched);
  if (decision.effect === 'require_approval') {
    for (const t of decision.explanation?.candidates ?? []) {
      if (t.effect === 'allow' && t.mode === 'enforce' && t.outcome === 'matched') keys.add(`${t.policy}/${t.rule}`);
    }
  }
  for (const s of decision.shadow) if (s.rule) keys.add(`${s.policy}/${s.rule}`);
  return keys;
}

/** Built-in guard policies are Warden's, tested by Warden: they are left out unless asked for. */
const isBuiltIn = (rule: CompiledRule) => rule.file.startsWith('<built-in>/');

export function ruleCoverage(policySet: PolicySet, cases: readonly DecidedCase[], options: { includeBuiltIns?: boolean } = {}): CoverageReport {
  const byRule = new Map<string, string[]>();
  for (const c of cases) {
    if (!c.decision) continue;
    for (const key of exercisedRules(c.decision)) {
      const list = byRule.get(key) ?? [];
      list.push(c.name);
      byRule.set(key, list);
    }
  }
  const counted = policySet.rules.filter((r) => options.includeBuiltIns || !isBuiltIn(r));
  const detail: RuleCoverage[] = counted.map((r) => ({ key: r.key, policy: r.policy.id, rule: r.id, file: r.file, line: r.line, coveredBy: byRule.get(r.key) ?? [] }));
  const policies: PolicyCoverage[] = [];
  for (const p of policySet.policies) {
    const rules = detail.filter((d) => d.policy === p.id);
    if (rules.length === 0) continue;
    const covered = rules.filter((d) => d.coveredBy.length > 0).length;
    policies.push({ policy: p.id, file: p.file, rules: rules.length, covered, percent: percent(covered, rules.length), uncovered: rules.filter((d) => d.coveredBy.length === 0) });
  }
  const covered = detail.filter((d) => d.coveredBy.length > 0).length;
  const excluded = [...new Set(policySet.rules.filter((r) => !counted.includes(r)).map((r) => r.policy.id))].sort();
  return { policies, rules: detail.length, covered, percent: percent(covered, detail.length), detail, excluded };
}
