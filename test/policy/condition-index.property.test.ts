/**
 * The condition index and the conjunct checks (src/policy/condition-index.ts, condition-plan.ts)
 * must not change any decision: for random policy sets and requests, the PDP decides exactly as a
 * linear walk of every rule with CEL alone does — effect, deciding rule, reason, matched rules,
 * obligations, approval, advice (conditions that failed and counted closed), shadow results.
 * The conditions use the shapes the index files rules under (`args.x == "lit"`, `tenant == "t"`,
 * `"role" in agent.roles`, `args.x in [...]`, `resource.tenant == tenant` / `!=` either way round,
 * `args.amount > 100` and the other bounds either way round, several on one path), conjunctions of
 * them alone (which the index reports as sure matches without judging them), and values the index
 * must leave to CEL (a number where a string is compared, a missing key, a list of mixed types, a
 * map, a string where a number is compared, a string no condition names). Rules carry fixed and
 * templated reasons (a fixed one is concluded from the rule index's table, not the rule), and one
 * set holds more lists than the build budget packs up front, so levels are packed on first use.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { decide, parseActionRequest, type ActionRequest, type PolicySet } from '../../src/index.js';
import type { CompiledRule } from '../../src/policy/policy-set.js';
import { compileOrThrow } from './arbitraries.js';
import { linear } from './linear-set.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const TOOLS = ['refund', 'read_orders', 'read_files'];

const ATOMS = [
  "tenant == 'acme'",
  "'globex' == tenant",
  "'support' in agent.roles",
  "'admin' in agent.roles",
  "args.kind == 'a'",
  "args['kind'] == 'b'",
  "args.kind in ['a', 'c']",
  "args.kind != 'a'",
  "args.nested.kind == 'a'",
  "'x' in args.tags",
  "'k' in args.obj",
  'resource.tenant == tenant',
  'resource.tenant != tenant',
  'args.amount > 100',
  'args.amount <= 250.5',
  '100 < args.amount',
  'args.amount >= 0',
  'args.amount < 300',
  '300 > args.amount',
  'args.amount >= 100',
  '100.5 <= args.amount',
  'args.amount <= 100',
  'tenant == resource.tenant',
  'tenant != resource.tenant',
  "tenant in ['acme', 'initech']",
  "'finance' in agent.roles",
  'args.missing_key > 1',
  'args.kind > 1',
  'has(args.kind)',
  "trust_at_least('high')",
  'true',
  'false',
];

const condArb: fc.Arbitrary<string> = fc.letrec<{ cond: string }>((tie) => ({
  cond: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    { arbitrary: fc.constantFrom(...ATOMS), weight: 5 },
    { arbitrary: fc.array(tie('cond'), { minLength: 2, maxLength: 4 }).map((parts) => parts.join(' && ')), weight: 4 },
    { arbitrary: fc.tuple(tie('cond'), tie('cond')).map(([a, b]) => `(${a}) || (${b})`), weight: 1 },
    { arbitrary: tie('cond').map((c) => `!(${c})`), weight: 1 },
  ),
})).cond;

const ruleArb = fc
  .record({
    effect: fc.constantFrom('allow', 'deny', 'require_approval'),
    tools: fc.option(fc.subarray([...TOOLS, 'read_*'], { minLength: 1 }), { nil: undefined }),
    when: fc.option(condArb, { nil: undefined, freq: 8 }),
    obligation: fc.option(fc.constantFrom({ redact: ['args.card'] }, { cap: { arg: 'amount', max: 100 } }), { nil: undefined }),
    approval: fc.option(fc.record({ approvers: fc.constantFrom(['role:finance'], ['user:bob']), quorum: fc.integer({ min: 1, max: 2 }), expires: fc.constantFrom('15m', '1h') }), { nil: undefined }),
    // A fixed reason comes from the rule index's table of conclusions, a template from the rule.
    reason: fc.option(fc.constantFrom('blocked by policy', '${agent.id} asked for ${action}'), { nil: undefined }),
  })
  .map(({ effect, tools, when, obligation, approval, reason }) => ({
    effect,
    ...(reason ? { reason } : {}),
    actions: ['tool.call'],
    ...(tools ? { tools } : {}),
    ...(when ? { when } : {}),
    ...(obligation && effect !== 'deny' ? { obligations: [obligation] } : {}),
    ...(approval && effect === 'require_approval' ? { approval } : {}),
  }));

const policiesArb = fc.array(
  fc.record({
    shadow: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    window: fc.option(fc.constantFrom({ from: '2025-01-01T00:00:00Z' }, { from: '2026-06-01T00:00:00Z' }), { nil: undefined, freq: 4 }),
    rules: fc.array(ruleArb, { minLength: 1, maxLength: 12 }),
  }),
  { minLength: 1, maxLength: 5 },
);

// 'z' is a string no condition names.
const valueArb = fc.constantFrom<unknown>('a', 'b', 'c', 'z', 1, true, null, ['a'], { kind: 'a' });
const argsArb = fc.record(
  {
    kind: valueArb,
    nested: fc.constantFrom<unknown>({ kind: 'a' }, { kind: 'b' }, { kind: 1 }, 'a', {}),
    tags: fc.constantFrom<unknown>(['x', 'y'], ['y'], ['x', 1], 'x', { x: 1 }, []),
    obj: fc.constantFrom<unknown>({ k: 1 }, ['k'], {}),
    amount: fc.constantFrom<unknown>(0, 50, 100, 100.5, 250.5, 300, '150', -1),
  },
  { requiredKeys: [] },
);

const requestArb = fc.record({
  tenant: fc.constantFrom('acme', 'globex'),
  resourceTenant: fc.constantFrom<string | undefined>('acme', 'globex', undefined),
  roles: fc.subarray(['support', 'admin', 'finance', 'guest']),
  trust: fc.constantFrom('low', 'medium', 'high'),
  tool: fc.constantFrom(...TOOLS),
  args: argsArb,
});

type RequestModel = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function toRequest(r: RequestModel): ActionRequest {
  const parsed = parseActionRequest({
    requestId: 'req-1',
    tenant: r.tenant,
    actor: { agent: { id: 'agent-1', roles: r.roles, trust: r.trust } },
    action: 'tool.call',
    resource: { type: 'tool', id: r.tool, ...(r.resourceTenant ? { tenant: r.resourceTenant } : {}) },
    args: r.args,
  });
  if (!parsed.ok) throw new Error(`generated request is invalid: ${parsed.errors.join('; ')}`);
  return parsed.value;
}

function compile(policies: RequestModelPolicies): PolicySet {
  return compileOrThrow(
    policies.map((p, i) => ({
      file: `p${i}.yaml`,
      text: stringify({
        id: `p${i}`,
        version: 1,
        ...(p.shadow ? { mode: 'shadow' } : {}),
        ...(p.window ? { effective: p.window } : {}),
        rules: p.rules.map((r, j) => ({ id: `r${j}`, ...r })),
      }),
    })),
  );
}
type RequestModelPolicies = typeof policiesArb extends fc.Arbitrary<infer T> ? T : never;

describe('condition index', () => {
  it('decides every request exactly as a linear CEL walk of every rule', () => {
    const seen = { effects: new Set<string>(), advice: 0, narrowed: 0, sure: 0 };
    fc.assert(
      fc.property(policiesArb, fc.array(requestArb, { minLength: 1, maxLength: 6 }), (policies, requests) => {
        const set = compile(policies);
        const plain = linear(set);
        for (const model of requests) {
          const request = toRequest(model);
          const indexed = decide(set, request, { now: NOW });
          expect(indexed).toEqual(decide(plain, request, { now: NOW }));
          seen.effects.add(indexed.effect);
          if (indexed.advice.length) seen.advice++;
          const c = set.index.candidates('tool.call', request.resource.id);
          const activation = { ...request, agent: request.actor.agent };
          if (c.byCondition.allow.select(activation).length < c.allow.length) seen.narrowed++;
          const sure: number[] = [];
          c.byCondition.allow.collect(activation, sure, []);
          if (sure.length > 0) seen.sure++;
        }
      }),
      { numRuns: 200 },
    );
    // The generators reach every outcome, conditions failing closed, requests the index narrowed,
    // and rules it found matched without judging them.
    expect([...seen.effects].sort()).toEqual(['allow', 'deny', 'require_approval']);
    expect(seen.advice).toBeGreaterThan(0);
    expect(seen.narrowed).toBeGreaterThan(0);
    expect(seen.sure).toBeGreaterThan(0);
  });

  it('leaves a rule to CEL when the value is not a plain string: a deny whose condition fails still counts', () => {
    const set = compile([
      {
        shadow: false,
        window: undefined,
        rules: [
          { effect: 'allow', actions: ['tool.call'] },
          { effect: 'deny', actions: ['tool.call'], when: "args.kind == 'a' && args.missing_key > 1" },
        ],
      },
    ]);
    const base: Omit<RequestModel, 'args'> = { tenant: 'acme', resourceTenant: 'acme', roles: [], trust: 'low', tool: 'refund' };
    // 'b' is a plain string that is not 'a': the key term is false, so the deny cannot match.
    expect(decide(set, toRequest({ ...base, args: { kind: 'b' } }), { now: NOW }).effect).toBe('allow');
    // 'a': the other conjunct fails, and a failing deny counts as matched (fail closed).
    const failed = decide(set, toRequest({ ...base, args: { kind: 'a' } }), { now: NOW });
    expect(failed.effect).toBe('deny');
    expect(failed.advice[0]).toMatch(/condition failed .*No such key: missing_key/);
    // A list is no string: the index keeps the rule, CEL says the equality is false.
    expect(decide(set, toRequest({ ...base, args: { kind: ['a'] } }), { now: NOW }).effect).toBe('allow');
  });

  it('hands a request only the rules that match it when conditions are role, tenant pair and amount cap', () => {
    // The bench:pdp shape: many allow rules on one tool. Each request must meet exactly the rules
    // that match (as sure matches, not judged), not every rule of the tool.
    const roles = ['support', 'billing', 'finance', 'ops'];
    const caps = [100, 500, 1000, 5000];
    const rules = Array.from({ length: 48 }, (_, i) => ({
      effect: 'allow' as const,
      actions: ['tool.call'],
      tools: ['refund'],
      when: `'${roles[i % 4]}' in agent.roles && resource.tenant == tenant && args.amount <= ${caps[Math.floor(i / 4) % 4]}`,
    }));
    const set = compile([{ shadow: false, window: undefined, rules }]);
    const base = { tenant: 'acme', resourceTenant: 'acme', trust: 'low', tool: 'refund' } as const;
    for (const [roleList, amount, expected] of [
      [['support'], 300, 9], // 12 support rules, 3 per cap: caps 500, 1000 and 5000 fit
      [['support', 'ops'], 100, 24],
      [['finance'], 5000, 3],
      [['finance'], 6000, 0],
      [['admin'], 10, 0],
    ] as const) {
      const request = toRequest({ ...base, roles: [...roleList], args: { amount } });
      const activation = { ...request, agent: request.actor.agent };
      const sure: number[] = [];
      const maybe: CompiledRule[] = [];
      set.index.candidates('tool.call', 'refund').byCondition.allow.collect(activation, sure, maybe);
      const decision = decide(set, request, { now: NOW });
      expect(maybe).toEqual([]);
      expect(sure.length).toBe(expected);
      expect(decision.matched).toEqual([...sure].sort((a, b) => a - b).map((o) => set.rules[o]!.key));
      expect(decision.matched).toEqual(decide(linear(set), request, { now: NOW }).matched);
    }
    // Another tenant's resource: the tenant pair is false, so no rule is met at all.
    const cross = toRequest({ ...base, resourceTenant: 'globex', roles: ['support'], args: { amount: 1 } });
    expect(set.index.candidates('tool.call', 'refund').byCondition.allow.select({ ...cross, agent: cross.actor.agent })).toEqual([]);
  });

  it('decides as the linear walk past the build budget, where levels are packed when a request first reaches them', () => {
    // Each rule lists 30 of 60 kinds: filed under every one, the rules fill far more lists than the
    // budget packs up front (4 entries per rule), so most levels wait for a request to reach them.
    const kinds = Array.from({ length: 60 }, (_, i) => `k${i}`);
    const rules = Array.from({ length: 40 }, (_, i) => ({
      effect: i % 5 === 0 ? ('deny' as const) : ('allow' as const),
      actions: ['tool.call'],
      tools: ['refund'],
      when: `args.kind in [${kinds
        .filter((_, k) => (k * 7 + i) % 2 === 0)
        .map((k) => `'${k}'`)
        .join(', ')}] && '${['support', 'admin'][i % 2]}' in agent.roles && args.amount ${i % 5 === 0 ? '>' : '<='} ${[100, 250.5, 300][i % 3]}`,
    }));
    const set = compile([{ shadow: false, window: undefined, rules }]);
    const plain = linear(set);
    let allowed = 0;
    for (const kind of [...kinds, 'z', 1]) {
      for (const roles of [['support'], ['admin'], ['support', 'admin'], []]) {
        for (const amount of [50, 100, 250.5, 300, '150']) {
          const request = toRequest({ tenant: 'acme', resourceTenant: 'acme', roles, trust: 'low', tool: 'refund', args: { kind, amount } });
          const indexed = decide(set, request, { now: NOW });
          expect(indexed).toEqual(decide(plain, request, { now: NOW }));
          if (indexed.effect === 'allow') allowed++;
        }
      }
    }
    expect(allowed).toBeGreaterThan(0);
  });
});
