/**
 * The conjunct checks that judge a condition without cel-js (src/policy/condition-checks.ts,
 * condition-plan.ts) and the shortcuts around them must give what cel-js gives:
 *  - judge() on a generated condition is undefined (left to CEL) or exactly cel-js's bool, on
 *    generated activations with missing fields, wrong types (strings for bools, maps for lists,
 *    a Map, a class instance, null, a key holding undefined, an own `__proto__`), role lists with
 *    duplicates and unicode (NFC and NFD), any trust string, and instants at the edges of time
 *    windows, across midnight and DST, in zones with half-hour and 45-minute offsets and before
 *    1972 (Monrovia's offset had 30 seconds);
 *  - in_time_window's per-minute cache answers as a formatter made afresh for every instant;
 *  - decide() on the example policies plus the built-in guard policies, on gateway-shaped requests
 *    (signals as the guards put them), decides as the same set with every rule evaluated by CEL
 *    alone, also on the second call (merged obligations are remembered, and copied).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD_POLICIES } from '../../src/guards/default-policies.js';
import { decide, parseActionRequest, type ActionRequest, type PolicySet } from '../../src/index.js';
import { compileExpression, enterScope, inTimeWindow } from '../../src/policy/cel-environment.js';
import { judge, planCondition } from '../../src/policy/condition-plan.js';
import { withBuiltInPolicies } from '../../src/policy/load.js';
import { compileOrThrow } from './arbitraries.js';
import { linear } from './linear-set.js';
import { container, containerArb } from './containers.js';

const RUNS = { numRuns: 3_000 };

// ------------------------------------------------------------------------------------ instants

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'Africa/Monrovia'];

/** Instants near midnight, DST changes (2026, both hemispheres), and before 1972 (Monrovia -0:44:30). */
const EDGES = [
  '2026-12-02T10:00:00Z',
  '2026-12-01T23:00:00Z', // Berlin midnight
  '2026-12-02T05:00:00Z', // New York midnight
  '2026-03-29T01:00:00Z', // Berlin spring forward
  '2026-10-25T01:00:00Z', // Berlin fall back
  '2026-03-08T07:00:00Z', // New York spring forward
  '2026-11-01T06:00:00Z', // New York fall back
  '2026-04-04T15:00:00Z', // Lord Howe: back half an hour
  '2026-10-03T15:30:00Z', // Lord Howe: forward half an hour
  '2026-12-01T18:15:00Z', // Kathmandu midnight
  '1960-01-01T00:00:00Z', // Monrovia: the local minute changes at :30 seconds of the UTC one
  '1971-12-31T23:59:00Z',
  '1900-01-01T00:00:00Z',
].map(Date.parse);

const OFFSETS = [-3_600_000, -60_001, -60_000, -30_000, -1, 0, 1, 29_999, 59_999, 60_000, 1_800_000];

const instantArb = fc.oneof(
  fc.tuple(fc.constantFrom(...EDGES), fc.constantFrom(...OFFSETS), fc.integer({ min: -3, max: 3 })).map(([e, o, h]) => e + o + h * 3_600_000),
  fc.tuple(fc.constantFrom(...EDGES), fc.integer({ min: -86_400_000, max: 86_400_000 })).map(([e, o]) => e + o),
  fc.integer({ min: Date.parse('1890-01-01'), max: Date.parse('2040-01-01') }),
);

// ------------------------------------------------------------------------------------ conditions

/** Every shape with a check, shapes without one (left to CEL), errors, and values of every type. */
const ATOMS = [
  'has(signals.injection)',
  'has(signals.injection.args)',
  'has(args.k)',
  'has(args.__proto__)',
  'has(args.constructor)',
  'has(args.toString)',
  'has(resource.tenant)',
  'has(tool.effect)',
  'has(user.roles)',
  'signals.flag == true',
  'false == signals.flag',
  'signals.flag != false',
  'signals.injection.args.critical == true',
  'size(signals.list) > 0',
  '0 < size(signals.list)',
  'size(signals.list) >= 2',
  'size(signals.list) <= 1.5',
  'size(args.k) == 0',
  "trust_at_least('high')",
  "trust_at_least('medium')",
  "trust_at_least('bogus')",
  "in_time_window(now, '22:00', '06:00', 'Europe/Berlin')",
  "in_time_window(now, '07:00', '20:00', 'Europe/Berlin')",
  "in_time_window(now, '02:30', '03:00', 'Europe/Berlin')",
  "in_time_window(now, '01:00', '02:00', 'America/New_York')",
  "in_time_window(now, '00:00', '00:00')",
  "in_time_window(now, '23:59', '00:01', 'Australia/Lord_Howe')",
  "in_time_window(now, '09:00', '17:45', 'Asia/Kathmandu')",
  "in_time_window(now, '23:15', '23:16', 'Africa/Monrovia')",
  "in_time_window(now, '25:00', '06:00')",
  "in_time_window(now, '01:00', '02:00', 'Bad/Zone')",
  "'support' in agent.roles",
  "'ünïcødé' in agent.roles",
  "'e\u0301' in agent.roles",
  "'support_role' in user.roles",
  'resource.tenant != tenant',
  "args.k == 'x'",
  'args.amount > 100',
  'args.missing.deep == 1',
  'args.k',
  "related('a', 'b', 'c')",
  'true',
  'false',
];

const condArb: fc.Arbitrary<string> = fc.letrec<{ cond: string }>((tie) => ({
  cond: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    { arbitrary: fc.constantFrom(...ATOMS), weight: 6 },
    { arbitrary: fc.array(tie('cond'), { minLength: 2, maxLength: 4 }).map((parts) => parts.map((p) => `(${p})`).join(' && ')), weight: 3 },
    { arbitrary: fc.array(tie('cond'), { minLength: 2, maxLength: 3 }).map((parts) => parts.map((p) => `(${p})`).join(' || ')), weight: 2 },
    { arbitrary: tie('cond').map((c) => `!(${c})`), weight: 1 },
  ),
})).cond;

// ------------------------------------------------------------------------------------ activations

class Opaque {
  k = 'x';
  effect = 'read';
  injection = { args: { critical: true } };
}

const ROLE_NAMES = ['support', 'admin', 'ünïcødé', 'u\u0308nïcødé', 'é', 'e\u0301', 'SUPPORT', 'support ', ''];
const rolesArb = fc.oneof(
  { arbitrary: fc.array(fc.constantFrom(...ROLE_NAMES), { maxLength: 5 }), weight: 6 },
  { arbitrary: fc.constant(['support', 1]), weight: 1 },
  { arbitrary: fc.constant('support'), weight: 1 },
  { arbitrary: fc.constant(null), weight: 1 },
);

/** A value of any type a JSON request (or a caller bypassing validation) may put somewhere. */
const anyValue = fc.constantFrom<unknown>(undefined, null, 'x', 'true', true, false, 0, 1, 150, Number.NaN, [], ['a'], ['a', 1], {}, { a: 1 });

/** A field that is missing, present with any value, or holds a value of an odd kind. */
function fieldArb(values: fc.Arbitrary<unknown>): fc.Arbitrary<{ present: boolean; value: unknown }> {
  return fc.record({ present: fc.boolean(), value: fc.oneof(values, anyValue) });
}

function put(target: Record<string, unknown>, key: string, f: { present: boolean; value: unknown }): void {
  if (f.present) target[key] = f.value;
}

const injectionArb = fc.oneof(
  { arbitrary: fc.record({ args: fc.oneof({ arbitrary: fc.record({ critical: fc.oneof({ arbitrary: fc.boolean(), weight: 3 }, anyValue) }), weight: 3 }, anyValue) }), weight: 4 },
  fc.constant({}),
  anyValue,
);

const activationArb = fc
  .record({
    roles: rolesArb,
    userRoles: fc.option(rolesArb, { nil: undefined }),
    trust: fc.constantFrom('low', 'medium', 'high', 'admin', 'root', ''),
    tenant: fc.constantFrom('acme', 'globex'),
    resourceTenant: fieldArb(fc.constantFrom('acme', 'globex')),
    toolEffect: fieldArb(fc.constantFrom('read', 'destructive')),
    toolKind: containerArb,
    k: fieldArb(fc.constantFrom('x', 'y')),
    amount: fieldArb(fc.double({ min: 0, max: 300, noNaN: true })),
    argsKind: containerArb,
    injection: fc.record({ present: fc.boolean(), value: injectionArb }),
    flag: fieldArb(fc.boolean()),
    list: fieldArb(fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 })),
    signalsKind: containerArb,
    now: instantArb,
  })
  .map((m) => {
    const args: Record<string, unknown> = {};
    put(args, 'k', m.k);
    put(args, 'amount', m.amount);
    const signals: Record<string, unknown> = {};
    put(signals, 'injection', m.injection);
    put(signals, 'flag', m.flag);
    put(signals, 'list', m.list);
    const tool: Record<string, unknown> = { name: 'read_orders' };
    put(tool, 'effect', m.toolEffect);
    const resource: Record<string, unknown> = { type: 'tool', id: 'read_orders' };
    put(resource, 'tenant', m.resourceTenant);
    return {
      trust: m.trust,
      activation: {
        agent: { id: 'a', roles: m.roles, trust: m.trust },
        user: m.userRoles === undefined ? {} : { id: 'u', roles: m.userRoles },
        service: {},
        tenant: m.tenant,
        action: 'tool.call',
        tool: container(m.toolKind, tool, () => new Opaque()),
        resource,
        args: container(m.argsKind, args, () => new Opaque()),
        context: {},
        session: {},
        signals: container(m.signalsKind, signals, () => new Opaque()),
        now: new Date(m.now),
        data: {},
      } as Record<string, unknown>,
    };
  });

type Outcome = boolean | 'error' | 'not a bool';

function celOutcome(source: string, activation: Record<string, unknown>): Outcome {
  try {
    const v = compileExpression(source)(activation);
    return typeof v === 'boolean' ? v : 'not a bool';
  } catch {
    return 'error';
  }
}

/** The shortcuts' verdict on a condition: what judge() says (undefined: CEL decides). */
function judged(source: string, activation: Record<string, unknown>): boolean | undefined {
  return judge(planCondition(compileExpression(source), source), activation);
}

describe('condition checks', () => {
  it('judge() gives exactly what cel-js gives, or leaves the condition to it', () => {
    const seen = { true: 0, false: 0, deferred: 0 };
    fc.assert(
      fc.property(condArb, activationArb, (source, { trust, activation }) => {
        enterScope(trust, [], (activation.now as Date).getTime());
        const cel = celOutcome(source, activation);
        const fast = judged(source, { ...activation });
        if (fast === undefined) seen.deferred++;
        else {
          seen[`${fast}`]++;
          expect({ source, fast }).toEqual({ source, fast: cel });
        }
      }),
      RUNS,
    );
    // Not vacuous: the shortcuts decide most conditions, both ways.
    expect(seen.true).toBeGreaterThan(RUNS.numRuns / 10);
    expect(seen.false).toBeGreaterThan(RUNS.numRuns / 10);
  });

  it('each shape with a check is judged without CEL somewhere, and agrees with it there', () => {
    const decided = new Map<string, number>();
    fc.assert(
      fc.property(fc.constantFrom(...ATOMS), activationArb, (source, { trust, activation }) => {
        enterScope(trust, [], (activation.now as Date).getTime());
        const fast = judged(source, { ...activation });
        if (fast === undefined) return;
        decided.set(source, (decided.get(source) ?? 0) + 1);
        expect({ source, fast }).toEqual({ source, fast: celOutcome(source, activation) });
      }),
      RUNS,
    );
    const unjudged = ATOMS.filter((a) => !decided.has(a));
    expect(unjudged.sort()).toEqual(
      [
        'args.k',
        'args.missing.deep == 1',
        'has(args.__proto__)',
        "in_time_window(now, '01:00', '02:00', 'Bad/Zone')",
        "in_time_window(now, '25:00', '06:00')",
        "related('a', 'b', 'c')",
        'size(args.k) == 0',
        "trust_at_least('bogus')",
        'true',
        'false',
      ].sort(),
    );
  });

  it("in_time_window's per-minute cache answers as a fresh formatter does", () => {
    const fresh = (at: number, zone: string) => {
      const [h, m] = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at).split(':');
      return Number(h) * 60 + Number(m);
    };
    const windows = [['22:00', '06:00'], ['07:00', '20:00'], ['02:30', '03:00'], ['00:00', '00:00'], ['23:59', '00:01'], ['23:15', '23:16'], ['21:59', '22:00']] as const;
    fc.assert(
      // Runs of instants close together, so the cache is hit, missed and refilled in between.
      fc.property(fc.constantFrom(...ZONES), fc.array(fc.tuple(instantArb, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 8 }), (zone, runs) => {
        for (const [start, steps] of runs) {
          for (let i = 0; i <= steps; i++) {
            const at = start + i * 7_919;
            const local = fresh(at, zone);
            // The window of exactly this local minute holds it; the next minute's does not.
            const hhmm = (m: number) => `${String(Math.floor((m % 1440) / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
            expect({ zone, at, inOwnMinute: inTimeWindow(new Date(at), hhmm(local), hhmm(local + 1), zone) }).toEqual({ zone, at, inOwnMinute: true });
            expect({ zone, at, inNextMinute: inTimeWindow(new Date(at), hhmm(local + 1), hhmm(local + 2), zone) }).toEqual({ zone, at, inNextMinute: false });
            for (const [from, to] of windows) {
              const [f, t] = [from, to].map((s) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3)));
              const want = f! <= t! ? local >= f! && local < t! : local >= f! || local < t!;
              expect({ zone, at, from, to, got: inTimeWindow(new Date(at), from, to, zone) }).toEqual({ zone, at, from, to, got: want });
            }
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

// ------------------------------------------------------------------------------------ decide()

function examplePolicies(): PolicySet {
  const dir = join(import.meta.dirname, '../../examples/policies');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))
    .map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }));
  return compileOrThrow(withBuiltInPolicies(sources, DEFAULT_GUARD_POLICIES));
}

const TOOLS = ['read_orders', 'issue_refund', 'export_csv', 'export_customer_data', 'create_support_ticket', 'search_knowledge_base', 'restart_service', 'read_file', 'write_file', 'delete_file', 'docs.write_file'];

const gatewayRequestArb = fc
  .record({
    tool: fc.constantFrom(...TOOLS),
    roles: fc.array(fc.constantFrom('support', 'finance', 'admin', 'ops', 'ünïcødé'), { maxLength: 4 }),
    trust: fc.constantFrom('low', 'medium', 'high', 'admin'),
    args: fc.record(
      {
        limit: fc.integer({ min: 1, max: 600 }),
        amount: fc.oneof(fc.double({ min: 0, max: 6000, noNaN: true }), fc.constant('100')),
        tenant: fc.constantFrom('acme-corp', 'globex'),
        path: fc.constantFrom('/workspace/alpha/a.md', '/etc/passwd', '/workspace/../x'),
        priority: fc.constantFrom('low', 'critical'),
      },
      { requiredKeys: [] },
    ),
    environment: fc.option(fc.constantFrom('production', 'staging'), { nil: undefined }),
    resourceTenant: fc.option(fc.constantFrom('acme-corp', 'globex'), { nil: undefined }),
    effect: fc.option(fc.constantFrom('read', 'write', 'external', 'destructive'), { nil: undefined }),
    critical: fc.boolean(),
    suspicious: fc.boolean(),
    injected: fc.array(fc.constant('t-1'), { maxLength: 2 }),
    sensitive: fc.array(fc.constant('amount'), { maxLength: 1 }),
    trifecta: fc.oneof(fc.boolean(), fc.constant('yes')),
    counterparty: fc.array(fc.constant('iban:1'), { maxLength: 1 }),
    bareSignals: fc.boolean(),
    now: instantArb,
  })
  .map((m) => {
    const parsed = parseActionRequest({
      requestId: 'req-1',
      tenant: 'acme-corp',
      actor: { agent: { id: 'agent-1', roles: m.roles, trust: m.trust } },
      action: 'tool.call',
      resource: { type: 'tool', id: m.tool, ...(m.resourceTenant ? { tenant: m.resourceTenant } : {}) },
      args: m.args,
      context: m.environment ? { environment: m.environment } : {},
    });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const request: ActionRequest = parsed.value;
    request.tool = { name: m.tool, tags: [], ...(m.effect ? { effect: m.effect } : {}) } as ActionRequest['tool'];
    const scan = (flagged: boolean) => ({ score: flagged ? 0.9 : 0, suspicious: flagged, critical: flagged && m.critical, kinds: [], findings: [] });
    request.signals = m.bareSignals
      ? {}
      : ({
          injection: { prompt: scan(m.suspicious), args: scan(m.critical) },
          taint: { session: false, sensitive_args: m.sensitive, sources: [], injected: m.injected },
          trifecta: m.trifecta,
          counterparty: { new: m.counterparty },
        } as unknown as ActionRequest['signals']);
    return { request, now: new Date(m.now) };
  });

describe('decide() on the example policies and the guard policies', () => {
  const set = examplePolicies();
  const plain = linear(set);

  it('decides gateway-shaped requests as CEL alone does, on the first call and the next', () => {
    const effects = new Set<string>();
    fc.assert(
      fc.property(gatewayRequestArb, ({ request, now }) => {
        const want = decide(plain, request, { now });
        const first = decide(set, request, { now });
        expect(first).toEqual(want);
        // Whatever a caller does to the obligations it got, the next decision's are intact.
        for (const o of first.obligations) if (o.type === 'redact') o.paths.push('args.tampered');
        expect(decide(set, request, { now })).toEqual(want);
        effects.add(want.effect);
      }),
      { numRuns: 1_500 },
    );
    expect([...effects].sort()).toEqual(['allow', 'deny', 'require_approval']);
  });
});
