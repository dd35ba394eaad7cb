import { describe, expect, it } from 'vitest';
import { guardPolicyOptions } from '../../src/guards/default-policies.js';
import type { ActionRequest } from '../../src/model/action-request.js';
import type { JsonObject } from '../../src/model/json.js';
import { buildActivation } from '../../src/policy/activation.js';
import { enterScope } from '../../src/policy/cel-environment.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { conditionReads, overlaps } from '../../src/policy/condition-reads.js';
import { decide, evaluateRule } from '../../src/policy/decide.js';
import { withBuiltInPolicies } from '../../src/policy/load.js';
import type { PolicySet } from '../../src/policy/policy-set.js';
import { combine, decideBoth, JointMemo } from '../../src/replay/joint-decide.js';
import { LEGACY_UNKNOWN } from '../../src/replay/replay-input.js';

function compile(files: Record<string, string>): PolicySet {
  const { builtIns, cautionOnly } = guardPolicyOptions(true);
  const { policySet, diagnostics } = compilePolicies(withBuiltInPolicies(Object.entries(files).map(([file, text]) => ({ file, text })), builtIns!), { cautionOnly });
  if (!policySet) throw new Error(JSON.stringify(diagnostics));
  return policySet;
}

const SET = compile({
  'p.yaml': `id: p
version: "1"
rules:
  - { id: a-allow, effect: allow, tools: [t1, t2], when: "args.n < 10" }
  - { id: b-deny, effect: deny, tools: [t1], when: "args.n > 50" }
  - { id: c-hold, effect: require_approval, tools: [t2], when: "args.n > 5" }
  - { id: d-allow, effect: allow, tools: ["t*"], when: "'ops' in agent.roles" }
  - { id: e-deny, effect: deny, when: "args.flag" }
  - { id: f-hold, effect: require_approval, tools: [t3], when: "session.callsUsed > 2" }
`,
});

function request(i: number): ActionRequest {
  const tools = ['t1', 't2', 't3', 'x'];
  return {
    requestId: `r${i}`,
    tenant: 'acme',
    actor: { agent: { id: 'a', roles: i % 3 === 0 ? ['ops'] : [], trust: 'low' } },
    action: 'tool.call',
    resource: { type: 'tool', id: tools[i % 4]!, attributes: {} },
    args: { n: (i * 7) % 80, ...(i % 11 === 0 ? { flag: 'yes' } : i % 5 === 0 ? { flag: true } : {}) },
    context: {},
    session: { callsUsed: i % 5, spend: 0, tainted: false, recent: [] },
    ...(i % 13 === 0 ? { signals: { injection: { args: { suspicious: true, critical: false } } } } : {}),
  };
}

describe('combine', () => {
  it('decides as the PDP does, for every request of a table', () => {
    const now = new Date('2026-11-02T10:00:00Z');
    for (let i = 0; i < 400; i++) {
      const r = request(i);
      const d = decide(SET, r, { now });
      const activation = buildActivation(r, now);
      enterScope(r.actor.agent.trust, r.relationships, now.getTime());
      const mine = combine(SET.index.candidates(r.action, r.resource.id), (rule) => evaluateRule(rule, activation, now.getTime()));
      expect({ i, effect: mine.effect, rule: mine.rule }).toEqual({ i, effect: d.effect, rule: d.rule ? `${d.policy}/${d.rule}` : undefined });
    }
  });
});

describe('decideBoth', () => {
  const candidate = compile({
    'p.yaml': `id: p
version: "2"
rules:
  - { id: a-allow, effect: allow, tools: [t1], when: "args.n < 10" }
  - { id: g-allow, effect: allow, tools: [t1], when: "args.secret == 'x'" }
`,
  });
  const at = Date.parse('2026-11-02T10:00:00Z');
  const input = (args: JsonObject, unknown: string[][]) => ({ request: { ...request(4), resource: { type: 'tool', id: 't1', attributes: {} }, args }, now: at, unknown, legacy: false });

  it('is determined when no rule that applies reads an unknown path', () => {
    const r = decideBoth(SET, candidate, input({ n: 60, other: '[REDACTED]' }, [['args', 'other']]));
    expect(r).toEqual({ kind: 'determined', current: { effect: 'deny', rule: 'p/b-deny' }, candidate: { effect: 'deny' } });
  });

  it('is undetermined when the outcome depends on a redacted value, with the rule and path', () => {
    const r = decideBoth(SET, candidate, input({ n: 60, secret: '[REDACTED]' }, [['args', 'secret']]));
    expect(r.kind).toBe('undetermined');
    if (r.kind !== 'undetermined') return;
    expect(r.reads).toEqual([{ rule: 'p/g-allow', path: ['args', 'secret'] }]);
    expect(r.possible).toEqual(expect.arrayContaining([{ current: 'deny', candidate: 'allow' }, { current: 'deny', candidate: 'deny' }]));
  });

  it('is determined when the unknown value cannot change the outcome', () => {
    // n < 10: a-allow allows on both sides whatever args.secret is.
    const r = decideBoth(SET, candidate, input({ n: 3, flag: false, secret: '[REDACTED]' }, [['args', 'secret']]));
    expect(r).toMatchObject({ kind: 'determined', current: { effect: 'allow' }, candidate: { effect: 'allow' } });
  });

  it('takes the same condition on both sides to have the same value', () => {
    const both = compile({ 'p.yaml': `id: p\nversion: "1"\nrules:\n  - { id: s, effect: allow, tools: [t1], when: "args.secret == 'x'" }\n` });
    const changed = compile({ 'p.yaml': `id: p\nversion: "3"\nrules:\n  - { id: s, effect: allow, tools: [t1], when: "args.secret == 'x'" }\n  - { id: z, effect: allow, tools: [t2] }\n` });
    const r = decideBoth(both, changed, input({ secret: '[REDACTED]' }, [['args', 'secret']]));
    expect(r).toMatchObject({ kind: 'determined', effectUnknown: true });
  });

  it('decides with a memo exactly as without one, sharing the search between records that agree on what it depends on', () => {
    const plainSet = (text: string, ...more: string[]) => {
      const { policySet, diagnostics } = compilePolicies([text, ...more].map((t, i) => ({ file: `m${i}.yaml`, text: t })));
      if (!policySet) throw new Error(JSON.stringify(diagnostics));
      return policySet;
    };
    const mine = plainSet(`id: m
version: "1"
rules:
  - { id: allow-ops, effect: allow, tools: [t1, t2], when: "'ops' in agent.roles" }
  - { id: deny-big, effect: deny, tools: [t1], when: "args.n > 50" }
  - { id: hold-mid, effect: require_approval, tools: [t2], when: "args.n > 20" }
  - { id: allow-small, effect: allow, tools: [t1, t2], when: "args.n < 10" }
  - { id: hold-secret, effect: require_approval, tools: [t2], when: "args.secret == 'x'" }
`,
      // In force for the first 100 records only: the same unknown read, inactive later.
      `id: w\nversion: "1"\neffective: { until: "${new Date(at + 100).toISOString()}" }\nrules:\n  - { id: ops-hold, effect: require_approval, tools: [t1], when: "'ops' in agent.roles" }\n`,
    );
    const theirs = plainSet(`id: m
version: "2"
rules:
  - { id: allow-small, effect: allow, tools: [t1], when: "args.n < 10" }
  - { id: deny-big, effect: deny, tools: [t1, t2], when: "args.n > 50" }
  - { id: allow-secret, effect: allow, tools: [t1], when: "args.secret == 'x'" }
  - { id: hold-ops, effect: require_approval, tools: [t2], when: "'ops' in agent.roles" }
`);
    const evidence = [
      undefined,
      { bundle: mine.bundle, effect: 'deny' as const, matched: new Set<string>() },
      { bundle: mine.bundle, effect: 'allow' as const, rule: 'm/allow-ops', matched: new Set(['m/allow-ops']) },
      { bundle: mine.bundle, effect: 'allow' as const, rule: 'm/allow-ops', matched: new Set(['m/allow-ops', 'm/allow-small']) },
      { bundle: mine.bundle, effect: 'require_approval' as const, rule: 'm/hold-mid', matched: new Set(['m/hold-mid']) },
      { bundle: 'sha256:another', effect: 'allow' as const, rule: 'm/allow-ops', matched: new Set(['m/allow-ops']) },
    ];
    const unknowns = [[['args', 'secret']], [['agent', 'roles']], [['agent', 'roles'], ['args', 'secret']], LEGACY_UNKNOWN.map((p) => [...p])];
    const memo = new JointMemo();
    let records = 0;
    for (const tool of ['t1', 't2', 't3']) {
      for (const n of [3, 15, 30, 70]) {
        for (const unknown of unknowns) {
          for (const logged of evidence) {
            for (const roles of [['ops'], []]) {
              const one = {
                request: { requestId: `r${records++}`, tenant: 'acme', actor: { agent: { id: 'a', roles, trust: 'low' as const } }, action: 'tool.call', resource: { type: 'tool', id: tool, attributes: {} }, args: { n, secret: '[REDACTED]' }, context: {} },
                now: at + records,
                unknown,
                legacy: unknown.length > 2,
                ...(logged ? { logged } : {}),
              };
              const plain = decideBoth(mine, theirs, structuredClone(one));
              expect({ tool, n, unknown, logged, roles, outcome: decideBoth(mine, theirs, structuredClone(one), memo) }).toEqual({ tool, n, unknown, logged, roles, outcome: plain });
            }
          }
        }
      }
    }
    // The memo was used, and shared: fewer searches remembered than records decided.
    expect(memo.size).toBeGreaterThan(0);
    expect(memo.size).toBeLessThan(records / 2);
  });
});

describe('conditionReads', () => {
  it('lists the paths a condition reads, over-approximating', () => {
    const reads = (s: string) => conditionReads(s).map((p) => p.join('.'));
    expect(reads("args.card.number == '1' && has(args.x)")).toEqual(['args.card.number', 'args.x']);
    expect(reads("args['a b'] > 1 && args[tool.name] == 2")).toEqual(['args.a b', 'args', 'tool.name']);
    expect(reads("recent_count(session, 'high') > 2 && trust_at_least('high')")).toEqual(['session', 'agent.trust']);
    expect(reads("args.items.exists(i, i.x > 1) && related('a', 'b', 'c')")).toEqual(['args.items', 'relationships']);
    expect(reads('size(args) > 1')).toEqual(['args']);
  });

  it('matches a read against a path by prefix, either way', () => {
    expect(overlaps(['args', 'card'], ['args', 'card', 'number'])).toBe(true);
    expect(overlaps(['args', 'card', 'number'], ['args', 'card'])).toBe(true);
    expect(overlaps(['args', 'cardinal'], ['args', 'card'])).toBe(false);
    expect(overlaps(['*'], ['anything'])).toBe(true);
  });
});
