/**
 * Property-based tests for the PDP (src/policy/decide.ts): random policy sets and requests,
 * checked against an oracle that evaluates the generated conditions in plain JS
 * (see ./arbitraries.ts), plus invariances (determinism, order, formatting, shadow mode).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compilePolicies, decide, parseActionRequest, type Decision, type PolicySet } from '../../src/index.js';
import {
  NOW,
  applies,
  compileModels,
  compileOrThrow,
  condArb,
  evalCond,
  expectDecision,
  expectShadow,
  flipped,
  isActive,
  normaliseObligations,
  policySetArb,
  renderOptionsArb,
  requestArb,
  shuffledSetArb,
  toActionRequest,
  toSources,
  withEffect,
  type PolicyModel,
  type RequestModel,
  type RuleModel,
} from './arbitraries.js';

const RUNS = { numRuns: 200 };

function decideModel(set: PolicySet, request: RequestModel, explain = false): Decision {
  return decide(set, toActionRequest(request), { now: NOW, explain });
}

/** The parts of a decision that order, formatting and shadow policies must not change. */
function enforcedView(d: Decision) {
  return {
    effect: d.effect,
    policy: d.policy,
    rule: d.rule,
    policyVersion: d.policyVersion,
    reason: d.reason,
    obligations: d.obligations,
    approval: d.approval,
    matched: d.matched,
    advice: d.advice,
  };
}

/** Single-policy YAML for example-based tests. */
function compileYaml(rules: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): PolicySet {
  return compileOrThrow([{ file: 'p.yaml', text: stringify({ id: 'p', version: 1, ...extra, rules }) }]);
}

function request(overrides: { args?: Record<string, unknown>; tool?: string; action?: string } = {}) {
  const parsed = parseActionRequest({
    requestId: 'req-x',
    tenant: 'acme',
    actor: { agent: { id: 'agent-1', roles: ['support'], trust: 'medium' } },
    action: overrides.action ?? 'tool.call',
    resource: { type: 'tool', id: overrides.tool ?? 'issue_refund' },
    args: overrides.args ?? {},
  });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}

describe('PDP oracle sanity', () => {
  // Guards the oracle itself: the test generators must produce every kind of outcome, or the
  // properties below would hold vacuously.
  it('generated scenarios reach every effect, errors, and the default deny', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(policySetArb(), requestArb, (policies, req) => {
        const exp = expectDecision(policies, req);
        seen.add(exp.effect);
        if (exp.deny.length + exp.requireApproval.length + exp.allow.length === 0) seen.add('default');
        if (exp.errorMatches > 0) seen.add('error-match');
        if (exp.deny.length > 0 && exp.allow.length > 0) seen.add('deny-over-allow');
      }),
      { numRuns: 500 },
    );
    expect([...seen].sort()).toEqual(['allow', 'default', 'deny', 'deny-over-allow', 'error-match', 'require_approval']);
  });
});

describe('PDP properties', () => {
  it('1. deny always wins: any matching enforced deny rule makes the decision deny', () => {
    fc.assert(
      fc.property(policySetArb(), requestArb, (policies, req) => {
        const exp = expectDecision(policies, req);
        fc.pre(exp.deny.length > 0);
        const d = decideModel(compileModels(policies), req);
        expect(d.effect).toBe('deny');
        expect([...d.matched].sort()).toEqual(exp.deny.map((o) => o.key).sort());
        expect(exp.deny.map((o) => o.key)).toContain(`${d.policy}/${d.rule}`);
        expect(d.obligations).toEqual([]);
        expect(d.approval).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('1b. adding a matching deny rule (true or erroring condition) to any set makes it deny', () => {
    fc.assert(
      fc.property(
        policySetArb(),
        requestArb,
        condArb,
        fc.constantFrom<'none' | 'exact' | 'glob' | 'star'>('none', 'exact', 'glob', 'star'),
        fc.boolean(),
        (policies, req, cond, toolsStyle, withAction) => {
          // Negate a false condition so the injected rule always matches (true, or error → matched).
          const when = evalCond(cond, req) === 'F' ? { k: 'not' as const, c: cond } : cond;
          const tools =
            toolsStyle === 'none' ? undefined : toolsStyle === 'exact' ? [req.tool] : toolsStyle === 'star' ? ['*'] : [`${req.tool.slice(0, 4)}*`];
          const rule: RuleModel = { id: 'stop', effect: 'deny', when, ...(tools ? { tools } : {}), ...(withAction ? { actions: [req.action] } : {}) };
          const guard: PolicyModel = { id: 'guard', version: 1, mode: 'enforce', rules: [rule] };
          const d = decideModel(compileModels([...policies, guard]), req);
          expect(d.effect).toBe('deny');
          expect(d.matched).toContain('guard/stop');
        },
      ),
      RUNS,
    );
  });

  it('2. nothing is allowed when no allow rule matches; no matching rule at all is the default deny', () => {
    fc.assert(
      fc.property(policySetArb(), requestArb, (policies, req) => {
        const exp = expectDecision(policies, req);
        const d = decideModel(compileModels(policies), req);
        if (exp.allow.length === 0) expect(d.effect).not.toBe('allow');
        if (exp.deny.length + exp.requireApproval.length + exp.allow.length === 0) {
          expect(d).toMatchObject({ effect: 'deny', reason: 'no rule allowed this action', matched: [], obligations: [] });
          expect(d.rule).toBeUndefined();
          expect(d.policy).toBeUndefined();
          expect(d.approval).toBeUndefined();
        }
      }),
      RUNS,
    );
  });

  it('2b. a set with every allow rule removed never allows anything', () => {
    fc.assert(
      fc.property(policySetArb(), requestArb, (policies, req) => {
        const withoutAllows = policies
          .map((p) => ({ ...p, rules: p.rules.filter((r) => r.effect !== 'allow') }))
          .filter((p) => p.rules.length > 0);
        fc.pre(withoutAllows.length > 0);
        const d = decideModel(compileModels(withoutAllows), req);
        expect(d.effect).not.toBe('allow');
        if (d.effect === 'deny' && d.rule === undefined) expect(d.reason).toBe('no rule allowed this action');
      }),
      RUNS,
    );
  });

  it('3. evaluation is deterministic: same set twice, and two separately compiled copies', () => {
    fc.assert(
      fc.property(policySetArb(30), requestArb, fc.boolean(), (policies, req, explain) => {
        const a = compileModels(policies);
        const b = compileModels(policies);
        const first = decideModel(a, req, explain);
        const again = decideModel(a, req, explain);
        const other = decideModel(b, req, explain);
        expect(again).toEqual(first);
        expect(other).toEqual(first);
        // Interleaving another request must not leak state (the CEL scope and the index cache).
        decideModel(a, { ...req, roles: ['admin'], trust: 'admin', tool: 'read_files' }, explain);
        expect(decideModel(a, req, explain)).toEqual(first);
      }),
      RUNS,
    );
  });

  it('3b. asking for an explanation does not change the decision', () => {
    fc.assert(
      fc.property(policySetArb(30), requestArb, (policies, req) => {
        const set = compileModels(policies);
        const plain = decideModel(set, req, false);
        const { explanation, ...explained } = decideModel(set, req, true);
        expect(explanation).toBeDefined();
        expect(explained).toEqual(plain);
      }),
      RUNS,
    );
  });

  it('3c. asking for an explanation does not change the decision, by example (require_approval + allow with obligations)', () => {
    const set = compileYaml([
      { id: 'needs-approval', effect: 'require_approval' },
      { id: 'reads', effect: 'allow', obligations: [{ redact: ['result.secret'] }] },
    ]);
    const plain = decide(set, request(), { now: NOW });
    const { explanation, ...explained } = decide(set, request(), { now: NOW, explain: true });
    expect(explanation).toBeDefined();
    expect(plain.effect).toBe('require_approval');
    expect(explained).toEqual(plain);
  });

  it('4. order-independent: shuffling rules inside policies and the policy files changes nothing', () => {
    fc.assert(
      fc.property(
        policySetArb(30).chain((policies) => fc.tuple(fc.constant(policies), shuffledSetArb(policies))),
        requestArb,
        ([policies, shuffled], req) => {
          const d1 = decideModel(compileModels(policies), req);
          const d2 = decideModel(compileModels(shuffled), req);
          expect(enforcedView(d2)).toEqual(enforcedView(d1));
          expect(d2.shadow).toEqual(d1.shadow);
          expect(d2.bundle).toBe(d1.bundle);
        },
      ),
      RUNS,
    );
  });

  it('5. file order, file names, key order, formatting and comments change neither bundle nor decisions', () => {
    fc.assert(
      fc.property(
        policySetArb(30).chain((policies) => fc.tuple(fc.constant(policies), fc.shuffledSubarray(policies, { minLength: policies.length, maxLength: policies.length }))),
        renderOptionsArb,
        requestArb,
        ([policies, reordered], options, req) => {
          const plain = compileOrThrow(toSources(policies));
          const restyled = compileOrThrow(toSources(reordered, options, 'elsewhere/renamed-'));
          expect(restyled.bundle).toBe(plain.bundle);
          expect(restyled.bundle).toMatch(/^sha256:[0-9a-f]{64}$/);
          expect(decideModel(restyled, req)).toEqual(decideModel(plain, req));
        },
      ),
      RUNS,
    );
  });

  it('5b. a change of meaning (effect, version or mode) changes the bundle revision', () => {
    fc.assert(
      fc.property(
        policySetArb(30),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('effect', 'version', 'mode'),
        fc.nat({ max: 1 }),
        (policies, pi, ri, change, pick) => {
          const p = policies[pi % policies.length]!;
          let changed: PolicyModel;
          if (change === 'effect') {
            const idx = ri % p.rules.length;
            const rule = p.rules[idx]!;
            const others = (['allow', 'deny', 'require_approval'] as const).filter((e) => e !== rule.effect);
            changed = { ...p, rules: p.rules.map((r, i) => (i === idx ? withEffect(r, others[pick]!) : r)) };
          } else if (change === 'version') {
            changed = { ...p, version: p.version + 1 };
          } else {
            changed = { ...p, mode: p.mode === 'enforce' ? 'shadow' : 'enforce' };
          }
          const before = compileModels(policies).bundle;
          const after = compileModels(policies.map((q) => (q.id === p.id ? changed : q))).bundle;
          expect(after).not.toBe(before);
        },
      ),
      RUNS,
    );
  });

  it('6. exact-effect oracle: deny > require_approval > allow > default deny, with merged requirements', () => {
    fc.assert(
      fc.property(policySetArb(), requestArb, (policies, req) => {
        const exp = expectDecision(policies, req);
        const d = decideModel(compileModels(policies), req);
        expect(d.effect).toBe(exp.effect);
        expect([...d.matched].sort()).toEqual(exp.matched);
        // The deciding rule is listed first in `matched`.
        if (exp.matched.length > 0) expect(d.matched[0]).toBe(`${d.policy}/${d.rule}`);
        else expect(d.rule).toBeUndefined();
        // Every rule that only matched because its condition failed is reported in the advice.
        expect(d.advice.filter((a) => a.includes('fail closed'))).toHaveLength(exp.errorMatches);
        if (exp.effect === 'require_approval') expect(d.approval).toEqual(exp.approval);
        else expect(d.approval).toBeUndefined();
        if (exp.effect === 'deny') expect(d.obligations).toEqual([]);
        else expect(normaliseObligations(d.obligations)).toEqual(exp.obligations);
        expect(d.bundle).toMatch(/^sha256:/);
        expect(d.requestId).toBe('req-1');
      }),
      RUNS,
    );
  });

  it('7. a shadow copy of a policy (effects flipped) never changes the enforced decision, and is reported', () => {
    fc.assert(
      fc.property(policySetArb(), fc.nat(), requestArb, (policies, pi, req) => {
        const source = policies[pi % policies.length]!;
        const copy: PolicyModel = {
          ...source,
          id: `shadow-${source.id}`,
          mode: 'shadow',
          rules: source.rules.map((r) => withEffect(r, flipped(r.effect))),
        };
        const base = decideModel(compileModels(policies), req);
        const withShadow = decideModel(compileModels([...policies, copy]), req);
        expect(enforcedView(withShadow)).toEqual(enforcedView(base));

        const reported = withShadow.shadow.find((s) => s.policy === copy.id);
        const expected = expectShadow([copy], req)[0];
        if (!copy.rules.some((r) => applies(r, req))) {
          expect(reported).toBeUndefined();
        } else {
          expect(reported).toBeDefined();
          expect(reported!.effect).toBe(expected!.effect);
          expect(reported!.policyVersion).toBe(String(copy.version));
          if (expected!.rules.length) expect(expected!.rules).toContain(reported!.rule);
          else expect(reported!.rule).toBeUndefined();
        }
        // Shadow results of the other policies are untouched.
        expect(withShadow.shadow.filter((s) => s.policy !== copy.id)).toEqual(base.shadow);
      }),
      RUNS,
    );
  });

  it('7b. shadow policies in a random set are reported as the oracle says and do not affect the effect', () => {
    fc.assert(
      fc.property(policySetArb(40), requestArb, (policies, req) => {
        const d = decideModel(compileModels(policies), req);
        expect(d.effect).toBe(expectDecision(policies, req).effect);
        const expected = expectShadow(policies, req);
        const actual = [...d.shadow].sort((a, b) => (a.policy < b.policy ? -1 : 1));
        expect(actual.map((s) => [s.policy, s.effect])).toEqual(expected.map((s) => [s.policy, s.effect]));
        actual.forEach((s, i) => {
          if (expected[i]!.rules.length) expect(expected[i]!.rules).toContain(s.rule);
        });
      }),
      RUNS,
    );
  });

  it('8. fail closed: an erroring condition matches deny / require_approval rules, never allow rules', () => {
    fc.assert(
      fc.property(
        policySetArb(),
        requestArb,
        fc.constantFrom('deny', 'require_approval', 'allow') as fc.Arbitrary<'deny' | 'require_approval' | 'allow'>,
        (policies, req, effect) => {
          const broken: RuleModel = { id: 'broken', effect, when: { k: 'missing' } };
          const extra: PolicyModel = { id: 'broken-policy', version: 1, mode: 'enforce', rules: [broken] };
          const all = [...policies, extra];
          const before = expectDecision(policies, req);
          const d = decideModel(compileModels(all), req);
          expect(d.effect).toBe(expectDecision(all, req).effect);
          if (effect === 'deny') {
            expect(d.effect).toBe('deny');
            expect(d.matched).toContain('broken-policy/broken');
            expect(d.advice.some((a) => a.startsWith('rule broken-policy/broken: condition failed'))).toBe(true);
          } else if (effect === 'require_approval') {
            expect(d.effect).not.toBe('allow');
            if (before.deny.length === 0) expect(d.matched).toContain('broken-policy/broken');
          } else {
            // The broken allow rule is ignored: the decision is what it was without it.
            expect(d.effect).toBe(before.effect);
            expect(d.matched).not.toContain('broken-policy/broken');
          }
        },
      ),
      RUNS,
    );
  });

  it('8b. fail closed, by example: args.missing_key > 1 on a request without that key', () => {
    const req = request({ args: { amount: 5 } });
    const deny = decide(compileYaml([{ id: 'ok', effect: 'allow' }, { id: 'guard', effect: 'deny', when: 'args.missing_key > 1' }]), req, { now: NOW });
    expect(deny).toMatchObject({ effect: 'deny', rule: 'guard', matched: ['p/guard'] });
    expect(deny.advice).toHaveLength(1);

    const approval = decide(
      compileYaml([{ id: 'ok', effect: 'allow' }, { id: 'check', effect: 'require_approval', when: 'args.missing_key > 1' }]),
      req,
      { now: NOW },
    );
    expect(approval).toMatchObject({ effect: 'require_approval', rule: 'check' });

    const allow = decide(compileYaml([{ id: 'maybe', effect: 'allow', when: 'args.missing_key > 1' }]), req, { now: NOW });
    expect(allow).toMatchObject({ effect: 'deny', reason: 'no rule allowed this action', matched: [] });
  });

  it('8c. fail closed: a deny condition that yields a non-boolean at runtime is not treated as false', () => {
    // `args.flag` type-checks as dyn, so it compiles; at runtime it may be a string or a number.
    // A deny rule whose condition cannot be read as true/false must count as matched (fail closed),
    // exactly as an erroring condition does; otherwise a caller picks the argument's type to
    // switch the deny off.
    const set = compileYaml([
      { id: 'ok', effect: 'allow' },
      { id: 'flagged', effect: 'deny', when: 'args.flag' },
    ]);
    expect(decide(set, request({ args: { flag: true } }), { now: NOW }).effect).toBe('deny');
    expect(decide(set, request({ args: { flag: false } }), { now: NOW }).effect).toBe('allow');
    for (const flag of ['yes', 1, 'false', {}]) {
      expect(decide(set, request({ args: { flag } }), { now: NOW }), `args.flag = ${JSON.stringify(flag)}`).toMatchObject({
        effect: 'deny',
      });
    }
  });

  it('9. CEL int literals against JSON numbers: args.amount > 100', () => {
    const set = compileYaml([{ id: 'big', effect: 'deny', when: 'args.amount > 100' }, { id: 'ok', effect: 'allow' }]);
    const effectFor = (amount: number) => decide(set, request({ args: { amount } }), { now: NOW }).effect;
    expect(effectFor(250)).toBe('deny');
    expect(effectFor(250.5)).toBe('deny');
    expect(effectFor(100.0001)).toBe('deny');
    expect(effectFor(100)).toBe('allow');
    expect(effectFor(99.9)).toBe('allow');
    expect(effectFor(-3)).toBe('allow');

    const doubles = compileYaml([{ id: 'big', effect: 'deny', when: 'args.amount >= 100.5 || args.amount == 42' }, { id: 'ok', effect: 'allow' }]);
    const effectFor2 = (amount: number) => decide(doubles, request({ args: { amount } }), { now: NOW }).effect;
    expect(effectFor2(100.5)).toBe('deny');
    expect(effectFor2(42)).toBe('deny');
    expect(effectFor2(100)).toBe('allow');
  });

  it('9b. glob tools and action lists select rules as the oracle does', () => {
    const set = compileYaml([
      { id: 'reads', effect: 'allow', actions: ['resource.read'], tools: ['read_*'] },
      { id: 'tools', effect: 'require_approval', tools: ['tool_?eta', 'issue_refund'] },
      { id: 'orders', effect: 'deny', actions: ['tool.call'], tools: ['*_orders'] },
    ]);
    const effectFor = (action: string, tool: string) => decide(set, request({ action, tool }), { now: NOW }).effect;
    expect(effectFor('resource.read', 'read_orders')).toBe('allow');
    expect(effectFor('tool.call', 'read_orders')).toBe('deny');
    expect(effectFor('tool.call', 'read_files')).toBe('deny'); // no rule: default deny
    expect(effectFor('tool.call', 'tool_beta')).toBe('require_approval');
    expect(effectFor('tool.call', 'tool_alpha')).toBe('deny');
    expect(decide(set, request({ action: 'tool.call', tool: 'tool_alpha' }), { now: NOW }).reason).toBe('no rule allowed this action');
  });

  it('effective windows: a policy outside its window never contributes', () => {
    fc.assert(
      fc.property(policySetArb(), requestArb, (policies, req) => {
        fc.pre(policies.some((p) => !isActive(p, NOW)));
        const active = policies.filter((p) => isActive(p, NOW) || p.mode === 'shadow');
        fc.pre(active.length > 0);
        const all = decideModel(compileModels(policies), req);
        const onlyActive = decideModel(compileModels(active), req);
        expect(enforcedView(all)).toEqual(enforcedView(onlyActive));
      }),
      RUNS,
    );
  });

  it('compiling rejects nothing the generators produce (and compilePolicies reports no errors)', () => {
    fc.assert(
      fc.property(policySetArb(30), renderOptionsArb, (policies, options) => {
        const { policySet, diagnostics } = compilePolicies(toSources(policies, options));
        expect(diagnostics.filter((x) => x.severity === 'error')).toEqual([]);
        expect(policySet?.rules).toHaveLength(policies.reduce((n, p) => n + p.rules.length, 0));
      }),
      { numRuns: 100 },
    );
  });
});
