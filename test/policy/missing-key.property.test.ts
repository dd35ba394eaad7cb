/**
 * A condition that fails because the request lacks a field it compares (`context.environment ==
 * 'production'` with no environment) is failed without cel-js's error path
 * (condition-plan.ts's missingKeyError, used by decide()): the rule's result must be exactly
 * evaluateRule's, cel-js's error first line included, on generated conjunctions of every checked
 * shape over fields missing at any depth, present with odd values, or in maps a check must not
 * read (a Map, a class instance, a null-prototype object, an own `__proto__`), with keys that
 * are odd (empty, spaced, a newline, inherited names).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExpression, enterScope } from '../../src/policy/cel-environment.js';
import { judge, missingKeyError, planCondition } from '../../src/policy/condition-plan.js';
import { evaluateRule, type RuleResult } from '../../src/policy/decide.js';
import type { CompiledRule } from '../../src/policy/policy-set.js';
import { container, containerArb } from './containers.js';

/** Chains compared with literals (the shapes missingKeyError names), and others around them. */
const ATOMS = [
  "context.environment == 'production'",
  "context.environment != 'production'",
  "'production' == context.environment",
  "context.environment in ['staging', 'dev']",
  "context.deploy.region == 'eu'",
  "context.deploy.region != 'eu'",
  'args.limit <= 500',
  '500 >= args.limit',
  'args.limit > 10.5',
  "'support' in agent.roles",
  "'ops' in context.teams",
  "args['a b'] == 'x'",
  "args['a\\nb'] == 'x'",
  "args[''] == 'x'",
  "args.toString == 'x'",
  "args.__proto__ == 'x'",
  "args.k == 'v'",
  'resource.tenant == tenant',
  'context.environment == args.k',
  'has(context.environment)',
  'has(context.deploy.region)',
  "trust_at_least('medium')",
  "!(context.environment == 'production')",
  "context.environment == 'production' || args.k == 'v'",
  "context.environment.startsWith('prod')",
  'true',
];

const condArb = fc.array(fc.constantFrom(...ATOMS), { minLength: 1, maxLength: 4 }).map((parts) => parts.map((p) => `(${p})`).join(' && '));

class Opaque {
  environment = 'production';
}

const oddValue = fc.constantFrom<unknown>(null, 'production', 'staging', 'prod-1', true, 7, 600, Number.NaN, [], ['ops'], ['ops', 1], {}, { region: 'eu' }, undefined);

/** Puts `key` (missing, or with any value) on a map. */
function field(key: string): fc.Arbitrary<(t: Record<string, unknown>) => void> {
  return fc.option(oddValue, { nil: undefined, freq: 2 }).chain((v) =>
    fc.boolean().map((present) => (t: Record<string, unknown>) => {
      if (present) t[key] = v;
    }),
  );
}

const activationArb = fc
  .record({
    env: field('environment'),
    teams: field('teams'),
    deploy: fc.oneof(fc.constant(undefined), oddValue, fc.record({ region: fc.option(fc.constantFrom('eu', 'us'), { nil: undefined }) }, { requiredKeys: [] })),
    hasDeploy: fc.boolean(),
    contextKind: containerArb,
    limit: field('limit'),
    k: field('k'),
    odd: fc.array(fc.constantFrom('a b', 'a\nb', '', 'toString'), { maxLength: 2 }),
    argsKind: containerArb,
    roles: fc.option(fc.constantFrom<unknown>(['support'], [], 'support', null), { nil: undefined }),
    resourceTenant: fc.option(fc.constantFrom('acme', 'globex'), { nil: undefined }),
    trust: fc.constantFrom('low', 'medium', 'high'),
  })
  .map((m) => {
    const context: Record<string, unknown> = {};
    m.env(context);
    m.teams(context);
    if (m.hasDeploy) context.deploy = m.deploy;
    const args: Record<string, unknown> = {};
    m.limit(args);
    m.k(args);
    for (const key of m.odd) args[key] = 'x';
    const agent: Record<string, unknown> = { id: 'a', trust: m.trust };
    if (m.roles !== undefined) agent.roles = m.roles;
    const resource: Record<string, unknown> = { type: 'tool', id: 't' };
    if (m.resourceTenant) resource.tenant = m.resourceTenant;
    return {
      trust: m.trust,
      activation: {
        agent,
        user: {},
        service: {},
        tenant: 'acme',
        action: 'tool.call',
        tool: { name: 't', tags: [] },
        resource,
        args: container(m.argsKind, args, () => new Opaque()),
        context: container(m.contextKind, context, () => new Opaque()),
        session: {},
        signals: {},
        now: new Date('2026-12-02T10:00:00Z'),
        data: {},
      } as Record<string, unknown>,
    };
  });

function rule(source: string): CompiledRule {
  const when = compileExpression(source);
  return { effect: 'deny', policy: { id: 'p' }, when, whenSource: source, plan: planCondition(when, source) } as unknown as CompiledRule;
}

/** What decide() makes of the rule: judge(), then missingKeyError(), then CEL. */
function fast(r: CompiledRule, activation: Record<string, unknown>): RuleResult | 'cel' {
  const known = judge(r.plan!, activation);
  if (known !== undefined) return known ? 'matched' : 'not_matched';
  const error = missingKeyError(r.plan!, activation);
  return error === undefined ? 'cel' : { error };
}

describe('missing keys failed without cel-js', () => {
  it("gives exactly evaluateRule's result (cel-js's error text) or leaves the rule to CEL", () => {
    const seen = { errors: 0, cel: 0 };
    const keys = new Set<string>();
    const WANTED = ['No such key: environment', 'No such key: deploy', 'No such key: region', 'No such key: limit', 'No such key: a b', 'No such key: a', 'No such key:'];
    // Rounds of fresh random runs until every wanted error has been met (at most five): one round
    // of 4,000 misses a rare one now and then, and a coverage check must not fail by chance.
    for (let round = 0; round === 0 || (round < 5 && !WANTED.every((k) => keys.has(k))); round++) {
    fc.assert(
      fc.property(condArb, activationArb, (source, { trust, activation }) => {
        enterScope(trust, [], (activation.now as Date).getTime());
        const r = rule(source);
        const got = fast(r, { ...activation });
        if (got === 'cel') return void seen.cel++;
        const want = evaluateRule(r, activation, 0);
        if (typeof got === 'object') {
          seen.errors++;
          keys.add(got.error);
        }
        expect({ source, got }).toEqual({ source, got: want });
      }),
      { numRuns: 4_000 },
    );
    }
    // Not vacuous: errors are failed here, for keys at both depths and odd ones.
    expect(seen.errors).toBeGreaterThan(200);
    expect([...keys]).toEqual(expect.arrayContaining(WANTED));
  });

  it('a restart rule on a request without an environment is failed closed with cel-js\'s reason', () => {
    const r = rule("context.environment != 'production' && !in_time_window(now, '09:00', '17:00', 'Europe/Berlin')");
    const activation = { context: {}, now: new Date('2026-12-02T20:00:00Z') } as Record<string, unknown>;
    enterScope('high', [], (activation.now as Date).getTime());
    expect(fast(r, { ...activation })).toEqual({ error: 'No such key: environment' });
    expect(evaluateRule(r, activation, 0)).toEqual({ error: 'No such key: environment' });
  });
});
