/**
 * Issue 17 made the decision record cheaper to build and hash: copy-on-write redaction
 * (redactShared), the recorded request never copied whole, a length bound instead of a
 * serialisation for its size check, a cached template to compact it against, canonical text with
 * its strings checked for escapes once per record. None of it may change a byte: against the code
 * it replaced (audit-record-reference.ts, kept verbatim), for generated exchanges — secrets under
 * sensitive keys, in `[key, value]` pairs and `{ name, value }` entries, in text; values already
 * "[REDACTED]"; nested objects and arrays; unicode, lone surrogates, quotes and controls; NaN, -0,
 * undefined members; "__proto__" keys; contexts large enough to be left out; more redacted paths
 * than are listed; arguments an obligation changed — the record has the same members (in the same
 * order), the same stored JSON, the same chain hashes, and shares no object with the exchange.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyHash, recordHash } from '../../src/audit/hash-chain.js';
import { createRedactor, MAX_NODES } from '../../src/audit/redact.js';
import { DeferredEntry } from '../../src/audit/decision-log.js';
import { auditRecord, deferredAuditRecord } from '../../src/enforcement/audit-record.js';
import type { Exchange } from '../../src/enforcement/exchange.js';
import { recordedRequest } from '../../src/enforcement/recorded-request.js';
import type { ActionRequest } from '../../src/model/action-request.js';
import { canonicalJson } from '../../src/model/canonical-json.js';
import { compactRecordedRequest, type RecordColumns } from '../../src/model/compact-recorded-request.js';
import type { Decision } from '../../src/model/decision.js';
import type { JsonObject, JsonValue } from '../../src/model/json.js';
import { jsonLengthAtMost } from '../../src/model/json-length.js';
import { differingPaths } from '../../src/model/recorded-request.js';
import type { NewDecisionRecord } from '../../src/store/records.js';
import * as reference from './audit-record-reference.js';

/** EQUIVALENCE_RUNS=20000 for a longer search (with --testTimeout=0). */
const RUNS = { numRuns: Number(process.env.EQUIVALENCE_RUNS ?? 300) };
const redactor = createRedactor();
const custom = createRedactor({ keys: ['customer_id'], patterns: [{ name: 'order', regex: 'ORD-\\d{4}' }], disable: ['email'] });

/* ------------------------------------------------------------------ generators */

const secret = fc.constantFrom(
  'bob@example.com',
  'write to ada@lovelace.org today',
  'Bearer abcdefghijklmnop1234567890',
  '4111 1111 1111 1111',
  'password=hunter2',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl',
  'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789',
  'https://user:pa55word@example.com/x',
  'ORD-1234',
  '[REDACTED]',
);
const word = fc.constantFrom('support', 'acme-corp', 'read_orders', 'low', 'medium', 'tool', 'identity', 'tools/call', '', 'c-100001', 'orders');
const text = fc.oneof(
  word,
  secret,
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom('"quoted"', 'back\\slash', 'line\nbreak', '\u0000\u001f', '\ud800 lone', 'emoji 😀', '\u2028\u2029', 'é', 'ü'),
);
const key = fc.oneof(
  fc.constantFrom('password', 'api_key', 'Authorization', 'x-api-key', 'token', 'secret', 'name', 'key', 'value', 'email', 'customer_id', '__proto__', 'toJSON', 'note', 'id', 'tags'),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
);
const leaf = fc.oneof(text, fc.integer(), fc.double(), fc.constantFrom(Number.NaN, -0, Number.POSITIVE_INFINITY, 1e21, 5e-324), fc.boolean(), fc.constant(null));

/** JSON-like values as requests carry them, with what the redactor treats specially. */
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    fc.tuple(fc.constantFrom('Authorization', 'x-api-key', 'note'), tie('value')),
    fc.record({ name: fc.constantFrom('Authorization', 'API_KEY', 'colour'), value: tie('value') }),
    fc.record({ key: fc.constantFrom('password', 'plain'), value: tie('value') }),
    fc.constant(undefined),
  ),
}));
const object = fc.dictionary(key, value, { maxKeys: 5 }) as fc.Arbitrary<JsonObject>;

/** Often what the template predicts (so little is stored), sometimes anything. */
const agentId = fc.constantFrom('support-agent', 'a', 'bob@example.com');
const tenant = fc.constantFrom('acme-corp', '', 'globex');
const quiet = { score: 0, suspicious: false, critical: false, kinds: [], findings: [] };
const quietSignals = { injection: { prompt: quiet, args: quiet }, taint: { session: false, sensitive_args: [], sources: [], injected: [] }, trifecta: false, counterparty: { new: [] } };

const exchangeFacts = fc.record({
  agentId,
  tenant,
  callTenant: fc.option(tenant, { nil: undefined }),
  roles: fc.oneof(fc.constant([]), fc.array(word, { maxLength: 2 })),
  trust: fc.constantFrom('low', 'medium', 'high'),
  user: fc.option(fc.record({ id: fc.constantFrom('ada', 'bob@example.com'), roles: fc.array(word, { maxLength: 2 }), verified: fc.boolean() }), { nil: undefined }),
  sessionId: fc.option(fc.constantFrom('s-1', 'sess'), { nil: undefined }),
  session: fc.option(fc.record({ callsUsed: fc.nat(5), spend: fc.double(), tainted: fc.boolean(), recent: fc.array(value, { maxLength: 3 }) }), { nil: undefined }),
  action: fc.constantFrom('tool.call', 'tools/list'),
  tool: fc.constantFrom('read_orders', 'x'),
  args: object,
  decidedArgs: fc.option(object, { nil: undefined }),
  context: fc.oneof(
    fc.constant({}),
    fc.constant({ authzen: { subject: { type: 'identity', id: 'support-agent' }, action: { name: 'tools/call' }, resource: { type: 'tool', id: 'read_orders' }, context: { agent: 'support-agent' } } }),
    object,
    // Large: left out of the recorded request for size, with or without secrets in it.
    fc.tuple(fc.constantFrom('x', 'mail bob@example.com '), fc.integer({ min: 600, max: 3_000 })).map(([s, n]) => ({ userPrompt: s.repeat(n) })),
    // Many secrets: more differing paths than are listed (overflow).
    fc.integer({ min: 60, max: 80 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`password${i}`, `v${i}`]))),
  ),
  toolEntry: fc.option(fc.record({ name: fc.constantFrom('read_orders', 'x'), risk: fc.constantFrom('low', 'high'), tags: fc.oneof(fc.constant([]), fc.array(text, { maxLength: 2 })), extra: value }, { requiredKeys: ['name'] }), { nil: undefined }),
  relationships: fc.option(fc.oneof(fc.constant([]), fc.array(value, { maxLength: 2 })), { nil: undefined }),
  signals: fc.option(fc.oneof(fc.constant(quietSignals), object), { nil: undefined }),
  resourceAttributes: fc.oneof(fc.constant({}), object),
  traceId: fc.option(fc.constantFrom('t-1'), { nil: undefined }),
  details: fc.oneof(fc.constant({}), object),
  via: fc.option(fc.constantFrom('http', 'mcp'), { nil: undefined }),
  dryRun: fc.boolean(),
  reason: text,
  advice: fc.oneof(fc.constant([]), fc.array(value, { maxLength: 2 })),
  shadow: fc.oneof(fc.constant([]), fc.constant([{ policy: 'orders-v5-draft', policyVersion: '5', effect: 'deny', reason: 'no rule of this policy matched' }])),
  result: fc.option(fc.oneof(value, fc.constant({ orders: [] }), fc.integer({ min: 300, max: 600 }).map((n) => ({ rows: 'row bob@example.com '.repeat(n) }))), { nil: undefined }),
  kind: fc.constantFrom<'decision' | 'outcome' | undefined>(undefined, 'decision', 'outcome'),
  unvalidated: fc.boolean(),
});
type Facts = typeof exchangeFacts extends fc.Arbitrary<infer T> ? T : never;

/** A fresh exchange (the code under test and the reference each get their own). */
function exchangeOf(f: Facts): Exchange {
  const clone = <T>(v: T): T => structuredClone(v);
  const args = clone(f.args);
  const decidedArgs = f.decidedArgs === undefined ? undefined : clone(f.decidedArgs);
  const request = {
    requestId: 'req-1',
    ...(f.traceId ? { traceId: f.traceId } : {}),
    tenant: f.tenant,
    ...(f.sessionId ? { sessionId: f.sessionId } : {}),
    actor: {
      agent: { id: f.agentId, roles: clone(f.roles), trust: f.trust, tenant: f.tenant },
      ...(f.user ? { user: clone(f.user) } : {}),
    },
    action: f.action,
    resource: { type: 'tool', id: f.tool, tenant: f.tenant, attributes: clone(f.resourceAttributes) },
    args: decidedArgs ?? args,
    context: clone(f.context),
    ...(f.toolEntry ? { tool: clone(f.toolEntry) } : {}),
    ...(f.session ? { session: clone(f.session) } : {}),
    ...(f.relationships ? { relationships: clone(f.relationships) } : {}),
    ...(f.signals ? { signals: clone(f.signals) } : {}),
  } as unknown as ActionRequest;
  return {
    started: process.hrtime.bigint(),
    now: 1_796_000_000_000,
    call: {
      agentId: f.agentId,
      tool: f.tool,
      args: f.unvalidated ? clone(f.args) : args,
      ...(f.callTenant !== undefined ? { tenant: f.callTenant } : {}),
      ...(f.sessionId ? { sessionId: f.sessionId } : {}),
      ...(f.traceId ? { traceId: f.traceId } : {}),
      ...(f.user ? { user: { id: f.user.id } } : {}),
      ...(f.via ? { via: f.via as 'http' } : {}),
      ...(f.action !== 'tool.call' ? { action: f.action } : {}),
    },
    requestId: 'req-1',
    dryRun: f.dryRun,
    tenant: f.tenant,
    ...(f.user ? { user: { id: f.user.id, roles: f.user.roles, verified: f.user.verified } as Exchange['user'] } : {}),
    ...(f.unvalidated ? {} : { args, request, ...(decidedArgs ? { decidedArgs } : {}) }),
    details: clone(f.details),
  };
}

function decisionOf(f: Facts): Decision {
  return {
    requestId: 'req-1',
    effect: 'allow',
    reason: f.reason,
    policy: 'orders',
    rule: 'support-reads-orders',
    policyVersion: '4',
    bundle: 'sha256:ab',
    obligations: [],
    advice: structuredClone(f.advice) as Decision['advice'],
    matched: ['orders/support-reads-orders'],
    shadow: structuredClone(f.shadow) as unknown as Decision['shadow'],
  };
}

/* ------------------------------------------------------------------ comparisons */

/** Every object reachable from `value`. */
function objectsIn(value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value !== 'object' || value === null || into.has(value)) return into;
  into.add(value);
  for (const key of Object.keys(value)) objectsIn((value as Record<string, unknown>)[key], into);
  return into;
}

/** The same record, byte for byte: members (and undefined ones), their order, the stored JSON, both chain formats' hashes. */
function expectSameRecord(actual: object, expected: object): void {
  expect(actual).toStrictEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
  const chained = (r: object) => ({ seq: 7, prevHash: 'sha256:00', ...r });
  expect(bodyHash(actual as NewDecisionRecord)).toBe(reference.bodyHash(expected));
  expect(recordHash(chained(actual) as never)).toBe(reference.recordHash(chained(expected)));
}

describe('the decision record (issue 17) against the code it replaced', () => {
  it('auditRecord: same members, order, stored JSON and hashes; nothing shared with the exchange', () => {
    fc.assert(
      fc.property(exchangeFacts, fc.boolean(), (f, customRedactor) => {
        const r = customRedactor ? custom : redactor;
        const x = exchangeOf(f);
        const extra = { ...(f.result !== undefined ? { result: f.result as JsonValue } : {}), ...(f.kind ? { kind: f.kind } : {}) };
        const actual = auditRecord(x, decisionOf(f), 'executed', r, extra);
        const expected = reference.auditRecord(exchangeOf(f), decisionOf(f), 'executed', r, extra, actual.id, actual.latencyUs);
        expectSameRecord(actual, expected);
        // The log owns the record: nothing in it is the exchange's (an obligation changes x.args in
        // place), but for the details' members, which the record always took as they are.
        const live = objectsIn({ ...x, details: undefined });
        for (const o of objectsIn(actual)) expect(live.has(o)).toBe(false);
      }),
      RUNS,
    );
  });

  it('deferredAuditRecord: built later, the same record, whatever the caller changed in its context and result meanwhile', () => {
    /** What a caller may do to what it passed and got back once the call returned. */
    const scramble = (v: unknown): void => {
      if (typeof v !== 'object' || v === null) return;
      for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = 'scrambled';
      (v as Record<string, unknown>).added = 'after the call';
    };
    fc.assert(
      fc.property(exchangeFacts, fc.boolean(), (f, customRedactor) => {
        const r = customRedactor ? custom : redactor;
        const x = exchangeOf(f);
        const extraOf = () => ({ ...(f.result !== undefined ? { result: structuredClone(f.result) as JsonValue } : {}), ...(f.kind ? { kind: f.kind } : {}) });
        const extra = extraOf();
        const made = deferredAuditRecord(x, decisionOf(f), 'executed', r, extra);
        scramble(x.request?.context);
        scramble(extra.result);
        const actual = made instanceof DeferredEntry ? made.build() : made;
        const expected = reference.auditRecord(exchangeOf(f), decisionOf(f), 'executed', r, extraOf(), actual.id, actual.latencyUs);
        expectSameRecord(actual, expected);
      }),
      RUNS,
    );
  });

  it('recordedRequest (the whole request, a copy) and compactRecordedRequest: the same as before', () => {
    fc.assert(
      fc.property(exchangeFacts, (f) => {
        const x = exchangeOf(f);
        if (!x.request || !x.args) return;
        const logged = redactor.redact(x.args);
        const changed = x.decidedArgs !== undefined;
        const actual = recordedRequest(x.request, x.decidedArgs ?? x.args, logged, redactor, changed);
        const expected = reference.recordedRequest(exchangeOf(f).request!, x.decidedArgs ?? x.args, logged, redactor, changed);
        expect(actual).toStrictEqual(expected);
        expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
        const live = objectsIn(x);
        for (const o of objectsIn(actual)) expect(live.has(o)).toBe(false);
        const columns: RecordColumns = { tenant: f.tenant, sessionId: f.sessionId, agentId: f.agentId, userId: f.user?.id, action: f.action, resourceType: 'tool', resourceId: f.tool };
        const compact = compactRecordedRequest(actual, columns);
        expect(compact).toStrictEqual(reference.compactRecordedRequest(expected, columns));
        expect(JSON.stringify(compact)).toBe(JSON.stringify(reference.compactRecordedRequest(expected, columns)));
        // A copy: nothing in it is the recorded request's (which may share with the live request).
        const full = objectsIn(actual.request);
        for (const o of objectsIn((compact as { request: unknown }).request)) expect(full.has(o)).toBe(false);
      }),
      RUNS,
    );
  });
});

/* ------------------------------------------------------------------ the parts */

/** Values the redactor copies rather than shares, or cannot read: each must come out as redact makes it. */
const exotic = fc.constantFrom(
  () => new Date(0),
  () => new Date(Number.NaN),
  () => new Map<unknown, unknown>([['password', 'x'], ['a', { b: 'bob@example.com' }], [1, 'one']]),
  () => new Set(['a', 'bob@example.com']),
  () => Object.assign(Object.create(null) as object, { a: 'plain', b: { c: 1 } }),
  () => ({ toJSON: () => ({ a: 'via toJSON', email: 'bob@example.com' }) }),
  () => ({ toJSON: 'not a function', a: 1 }),
  () => Object.assign([1, 2], { toJSON: () => 'array toJSON' }),
  () => [1, , 3], // eslint-disable-line no-sparse-arrays
  () => new (class Point { x = 1; y = 'bob@example.com'; })(),
  () => Object.defineProperty({ a: 1 }, 'b', { get: () => { throw new Error('no'); }, enumerable: true }),
  () => Buffer.from('abc'),
  () => 12n,
  () => Symbol('s'),
  () => () => 1,
  () => new String('boxed'),
  () => new Error('failed for bob@example.com'),
  () => {
    const cycle: Record<string, unknown> = { a: 'x' };
    cycle.self = cycle;
    return cycle;
  },
  () => {
    const shared = { s: 'shared', n: [1, 2] };
    return { one: shared, two: shared, three: [shared] };
  },
  () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 70; i++) deep = { d: deep };
    return deep;
  },
);
const anything = fc.oneof(value, exotic.map((make) => make()), fc.dictionary(key, fc.oneof(value, exotic.map((make) => make())), { maxKeys: 4 }));

describe('redactShared', () => {
  it('is redact, copied on write: the same JSON, canonical JSON, members and differing paths; the input untouched', () => {
    fc.assert(
      fc.property(anything, fc.boolean(), (v, customRedactor) => {
        const r = customRedactor ? custom : redactor;
        const before = reference.canonicalJson(safeForJson(v));
        const shared = r.redactShared(v);
        const copied = r.redact(v);
        expect(JSON.stringify(shared)).toBe(JSON.stringify(copied));
        expect(reference.canonicalJson(shared)).toBe(reference.canonicalJson(copied));
        // toEqual: a hole in a shared array is the undefined a copy holds there.
        expect(shared).toEqual(copied);
        // A getter that throws throws in differingPaths too, as it did: compare what happens.
        const paths = (redacted: unknown) =>
          attempt(() => {
            const out: string[][] = [];
            const complete = reference.differingPaths(v, redacted, ['p'], out);
            return { complete, out };
          });
        expect(paths(shared)).toEqual(paths(copied));
        expect(reference.canonicalJson(safeForJson(v))).toBe(before);
      }),
      RUNS,
    );
  });

  it('shares what nothing is redacted in, and copies what is', () => {
    const clean = { a: 'plain', b: [1, { c: 'x' }], d: { e: null } };
    expect(redactor.redactShared(clean)).toBe(clean);
    const mixed = { keep: { a: 'plain' }, change: { password: 'hunter2' } };
    const out = redactor.redactShared(mixed);
    expect(out).not.toBe(mixed);
    expect(out.keep).toBe(mixed.keep);
    expect(out.change).toEqual({ password: '[REDACTED]' });
    expect(mixed.change.password).toBe('hunter2');
    // NaN is not identical to itself: copied, so differingPaths lists it as it did.
    const nan = { n: Number.NaN };
    expect(redactor.redactShared(nan)).not.toBe(nan);
  });

  it('truncates past MAX_NODES as redact does (arrays and objects alike)', () => {
    const huge = { a: new Array<number>(MAX_NODES).fill(1), b: { c: 'x' }, d: ['y'], e: 'z' };
    const shared = redactor.redactShared(huge);
    expect(shared).not.toBe(huge);
    expect(JSON.stringify(shared)).toBe(JSON.stringify(redactor.redact(huge)));
    expect(shared.e).toBe('[TRUNCATED]');
    // The limit reached exactly at the end of a member: the next ones are cut, nothing else changed.
    const exact = { a: new Array<number>(MAX_NODES - 2).fill(1), b: 'x' };
    const cut = redactor.redactShared(exact);
    expect(cut.b).toBe('[TRUNCATED]');
    expect(cut.a).toBe(exact.a);
    expect(JSON.stringify(cut)).toBe(JSON.stringify(redactor.redact(exact)));
  });
});

/** What `f` returns, or the message of what it throws. */
function attempt<T>(f: () => T): { value: T } | { error: string } {
  try {
    return { value: f() };
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

/** A value canonicalJson can write (a bigint throws), for checking the input is untouched. */
function safeForJson(v: unknown): unknown {
  try {
    reference.canonicalJson(v);
    return v;
  } catch {
    return null;
  }
}

describe('canonicalJson and the chain hashes', () => {
  const jsonish = fc.oneof(value, fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }), fc.dictionary(fc.string({ unit: 'binary', maxLength: 20 }), value, { maxKeys: 20 }));

  it('canonicalJson writes what it wrote before, escapes and unsorted keys included', () => {
    fc.assert(
      fc.property(jsonish, (v) => {
        expect(canonicalJson(v)).toBe(reference.canonicalJson(v));
      }),
      { numRuns: Number(process.env.EQUIVALENCE_RUNS ?? 1_000) },
    );
    for (const v of [undefined, () => 1, Symbol('s'), Number.NaN, -0, [undefined, () => 1], { a: () => 1, b: Symbol('s'), c: undefined }, new Date(0), new String('ab')]) {
      expect(canonicalJson(v)).toBe(reference.canonicalJson(v));
    }
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
  });

  it('bodyHash and recordHash are the hashes they were, whatever the fields hold', () => {
    const field = fc.oneof(fc.constant(undefined), value, fc.constant(() => 1));
    const record = fc.dictionary(fc.constantFrom(...reference.HASHED_FIELDS), field, { maxKeys: reference.HASHED_FIELDS.length });
    fc.assert(
      fc.property(record, (r) => {
        expect(bodyHash(r as never)).toBe(reference.bodyHash(r));
        expect(recordHash(r as never)).toBe(reference.recordHash(r));
      }),
      RUNS,
    );
  });
});

describe('jsonLengthAtMost', () => {
  it('never says a value fits when its JSON does not', () => {
    const escapes = fc.string({ unit: fc.constantFrom('\u0000', '\u001f', '"', '\\', '\n', 'a', '\ud800', '\udc00', 'é'), maxLength: 40 });
    const big = fc.oneof(value, escapes, fc.array(fc.oneof(value, escapes), { maxLength: 40 }), fc.dictionary(fc.oneof(key, escapes), fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), escapes), { maxKeys: 30 }));
    fc.assert(
      fc.property(big, fc.integer({ min: 0, max: 2_000 }), (v, limit) => {
        const length = (JSON.stringify(v) ?? '').length;
        if (jsonLengthAtMost(v, limit)) expect(length).toBeLessThanOrEqual(limit);
        // Just too short a limit: never "fits".
        expect(jsonLengthAtMost(v, length - 1)).toBe(false);
      }),
      { numRuns: Number(process.env.EQUIVALENCE_RUNS ?? 1_000) },
    );
    // The longest number, every escape.
    expect(jsonLengthAtMost(-0.0000012345678901234567, 25)).toBe(true);
    expect(JSON.stringify(-0.0000012345678901234567).length).toBe(25);
    expect(jsonLengthAtMost('\u0000', 8)).toBe(true);
    expect(jsonLengthAtMost({ toJSON: () => 'x'.repeat(100) }, 1_000)).toBe(false);
  });
});

it('differingPaths is unchanged (the recorded request relies on it stopping at identity)', () => {
  fc.assert(
    fc.property(anything, anything, (a, b) => {
      const x: string[][] = [];
      const y: string[][] = [];
      expect(attempt(() => differingPaths(a, b, ['p'], x, 8))).toEqual(attempt(() => reference.differingPaths(a, b, ['p'], y, 8)));
      expect(x).toEqual(y);
    }),
    RUNS,
  );
});
