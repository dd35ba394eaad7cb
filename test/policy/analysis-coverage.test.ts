import { describe, expect, it } from 'vitest';
import { ruleCoverage } from '../../src/policy/analysis/index.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { DEFAULT_GUARD_POLICIES, GUARD_POLICY_IDS } from '../../src/guards/default-policies.js';
import { withBuiltInPolicies } from '../../src/policy/load.js';
import { runTestSuites } from '../../src/policy/test-suite.js';

const POLICY = `id: refunds
version: 1
rules:
  - id: no-finance
    effect: deny
    tools: [issue_refund]
    when: "!('finance' in agent.roles)"
  - id: small
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 100"
    obligations: [{ require_idempotency_key: { arg: order_id } }]
  - id: large
    effect: require_approval
    tools: [issue_refund]
    when: "args.amount > 100"
  - id: any-refund
    effect: allow
    tools: [issue_refund]
  - id: never-tested
    effect: allow
    tools: [other_tool]
`;

const DRAFT = `id: draft\nversion: 1\nmode: shadow\nrules:\n  - id: huge\n    effect: deny\n    tools: [issue_refund]\n    when: "args.amount > 1000"\n  - id: untested-draft\n    effect: deny\n    tools: [other_tool]\n`;

const suite = (cases: string) => ({
  file: 'refunds.test.yaml',
  text: `defaults:\n  request: { tenant: t, actor: { agent: { id: a, roles: [finance] } }, action: tool.call, resource: { type: tool, id: issue_refund } }\ncases:\n${cases}`,
});

function coverage(cases: string) {
  const sources = withBuiltInPolicies([{ file: 'refunds.yaml', text: POLICY }, { file: 'draft.yaml', text: DRAFT }], DEFAULT_GUARD_POLICIES);
  const { policySet } = compilePolicies(sources, { cautionOnly: GUARD_POLICY_IDS });
  const run = runTestSuites(policySet!, [suite(cases)]);
  return ruleCoverage(policySet!, run.results.map((r) => ({ name: r.name, decision: r.decision })));
}

describe('rule coverage', () => {
  it('lists the rules no case exercises, per policy and in total, leaving the built-in guards out', () => {
    const report = coverage(`  - name: small\n    request: { args: { order_id: o, amount: 5 } }\n    expect: { effect: allow }\n`);
    const refunds = report.policies.find((p) => p.policy === 'refunds')!;
    // small and any-refund both matched the allow; large, no-finance and never-tested did not.
    expect(refunds.uncovered.map((u) => u.rule)).toEqual(['large', 'never-tested', 'no-finance']);
    expect(refunds).toMatchObject({ rules: 5, covered: 2, percent: 40 });
    expect(report.excluded).toEqual(DEFAULT_GUARD_POLICIES.map((p) => p.id).sort());
    expect(report.rules).toBe(7);
    expect(report.percent).toBe(Math.round((2 / 7) * 1000) / 10);
    expect(report.detail.find((d) => d.key === 'refunds/small')!.coveredBy).toEqual(['small']);
  });

  it('does not count an allow a deny overrode, counts the allows under an approval, and shadow rules by their result', () => {
    const report = coverage(
      [
        `  - name: no role\n    request: { actor: { agent: { roles: [] } }, args: { order_id: o, amount: 5 } }\n    expect: { effect: deny }\n`,
        `  - name: huge\n    request: { args: { order_id: o, amount: 5000 } }\n    expect: { effect: require_approval }\n`,
      ].join(''),
    );
    const covered = new Set(report.detail.filter((d) => d.coveredBy.length).map((d) => d.key));
    expect(covered).toEqual(new Set(['refunds/no-finance', 'refunds/large', 'refunds/any-refund', 'draft/huge']));
    // small matched nothing; in the deny case it did match (amount 5) but the deny decided.
    expect(covered.has('refunds/small')).toBe(false);
  });
});
