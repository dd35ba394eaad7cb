/**
 * The hand-checked ActionRequest fast path must give exactly what the zod schema gives (the same
 * values, the same key order, copies rather than the caller's objects) for every input it answers,
 * answer the common shape, and leave every invalid input to zod (whose messages name the problem).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionRequestSchema, parseActionRequest } from '../../src/model/action-request.js';
import { parseCommonActionRequest } from '../../src/model/action-request-fast-path.js';

const common = {
  tenant: 'acme-corp',
  actor: { agent: { id: 'support-agent', roles: ['support'], trust: 'medium' } },
  action: 'tool.call',
  resource: { type: 'tool', id: 'read_orders' },
  args: { limit: 10 },
};

/** A field that is sometimes valid, sometimes not, sometimes absent (undefined: the key left out). */
const maybe = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 30, arbitrary: valid },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant(''), fc.constant([]), fc.string({ maxLength: 3 })) },
  );
const id = fc.oneof({ weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: fc.constant('x'.repeat(512)) }, { weight: 1, arbitrary: fc.constant('x'.repeat(513)) });
const json = fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
const roles = fc.array(fc.oneof({ weight: 40, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: fc.integer() }), { maxLength: 3 });

const withoutUndefined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const party = (kind: 'agent' | 'user') =>
  fc
    .record({
      id: maybe(id),
      roles: maybe(roles),
      trust: kind === 'agent' ? maybe(fc.oneof({ weight: 20, arbitrary: fc.constantFrom('low', 'medium', 'high', 'admin') }, { weight: 1, arbitrary: fc.constant('root') })) : fc.constant(undefined),
      verified: kind === 'user' ? maybe(fc.boolean()) : fc.constant(undefined),
      tenant: maybe(fc.string({ maxLength: 8 })),
      attributes: maybe(json),
      extra: fc.oneof({ weight: 40, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.string() }),
    })
    .map(withoutUndefined);

const request = fc
  .record({
    requestId: maybe(id),
    traceId: maybe(fc.oneof({ weight: 20, arbitrary: fc.string({ maxLength: 64 }) }, { weight: 1, arbitrary: fc.constant('f'.repeat(65)) })),
    tenant: maybe(id),
    sessionId: maybe(id),
    actor: maybe(
      fc
        .record({
          agent: maybe(party('agent')),
          user: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: party('user') }),
          service: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ id, attributes: maybe(json) }).map(withoutUndefined) }),
        })
        .map(withoutUndefined),
    ),
    action: maybe(fc.oneof({ weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) }, { weight: 1, arbitrary: fc.constant('a'.repeat(129)) })),
    resource: maybe(
      fc.record({ type: maybe(fc.string({ minLength: 1, maxLength: 10 })), id: maybe(id), tenant: maybe(fc.string({ maxLength: 5 })), attributes: maybe(json) }).map(withoutUndefined),
    ),
    args: maybe(json),
    context: maybe(json),
    signals: maybe(json),
    session: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant({ callsUsed: 1 }) }),
    unknownField: fc.oneof({ weight: 40, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.string() }),
  })
  .map(withoutUndefined);

describe('the ActionRequest fast path', () => {
  it('answers the common shape (a decision request as agents send it)', () => {
    expect(parseCommonActionRequest(common)).toBeDefined();
    expect(parseCommonActionRequest({ ...common, requestId: 'r1', sessionId: 's', context: { userPrompt: 'hi' }, actor: { agent: { id: 'a' }, user: { id: 'u', roles: ['x'], verified: true } } })).toBeDefined();
  });

  it('gives what zod gives, key order included, for every input it answers; zod answers the rest', () => {
    let answered = 0;
    fc.assert(
      fc.property(request, (input) => {
        const fast = parseCommonActionRequest(input);
        const zod = actionRequestSchema.safeParse(input);
        if (fast === undefined) return;
        answered++;
        expect(zod.success).toBe(true);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
        expect(fast).toStrictEqual(zod.data);
      }),
      { numRuns: 1500 },
    );
    // The generator makes valid requests often enough that the comparison means something.
    expect(answered).toBeGreaterThan(50);
  });

  it('copies what it returns: changing the request leaves the caller\'s object alone', () => {
    const input = structuredClone({ ...common, context: { nested: { a: [1] } } });
    const parsed = parseCommonActionRequest(input)!;
    parsed.actor.agent = { id: 'someone-else', roles: [], trust: 'admin' };
    (parsed.args as { limit: number }).limit = 99;
    ((parsed.context.nested as { a: number[] }).a).push(2);
    expect(input).toStrictEqual({ ...common, context: { nested: { a: [1] } } });
  });

  it('leaves undefined values, class instances and unknown fields to zod, whose errors name them', () => {
    expect(parseCommonActionRequest({ ...common, requestId: undefined })).toBeUndefined();
    expect(parseCommonActionRequest({ ...common, args: { when: new Date(0) } })).toBeUndefined();
    expect(parseCommonActionRequest({ ...common, extra: 1 })).toBeUndefined();
    const result = parseActionRequest({ ...common, extra: 1, actor: { agent: { id: 'a', trust: 'root' } } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('; ')).toMatch(/trust|extra/);
  });
});
