/**
 * The decision log stores a recorded request as its difference from a template the record's
 * columns give (form 2, model/compact-recorded-request.ts); replay and the dashboard read it back
 * through recordedRequestOf. Whatever the request holds — values equal to the template, changed,
 * missing, of another type, odd keys — what is read back must be exactly what was recorded, after
 * the record's trip through JSON (the store keeps text). Form 1 records read as they were.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/model/canonical-json.js';
import { compactRecordedRequest, recordedRequestOf, requestTemplate, type RecordColumns } from '../../src/model/compact-recorded-request.js';
import type { JsonObject, JsonValue } from '../../src/model/json.js';
import type { RecordedRequest } from '../../src/model/recorded-request.js';

const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
/** What the store gives back of a stored value: JSON text parsed. */
const stored = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;

const columns: fc.Arbitrary<RecordColumns> = fc.record(
  {
    tenant: fc.constantFrom('', 'acme', 'globex'),
    sessionId: fc.constantFrom('s-1', 'sess'),
    agentId: fc.constantFrom('support-agent', 'a'),
    userId: fc.constantFrom('ada', 'u'),
    serviceId: fc.constantFrom('svc'),
    action: fc.constantFrom('tool.call', 'tools/list'),
    resourceType: fc.constantFrom('tool', 'warden'),
    resourceId: fc.constantFrom('read_orders', 'x'),
  },
  { requiredKeys: ['tenant', 'agentId', 'action', 'resourceType', 'resourceId'] },
);

/** A value near `template`: kept, replaced by any JSON value, or (objects) changed member by member. */
function near(template: JsonValue, depth = 0): fc.Arbitrary<JsonValue> {
  const other = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>;
  if (typeof template !== 'object' || template === null || Array.isArray(template) || depth > 4) return fc.oneof(fc.constant(template), other);
  const members = Object.fromEntries(Object.entries(template).map(([k, v]) => [k, near(v, depth + 1)]));
  const changed = fc
    .tuple(fc.record(members, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 6 }), other, { maxKeys: 3 }))
    .map(([kept, extra]) => {
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(extra)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      return Object.assign(out, kept);
    });
  return fc.oneof({ weight: 1, arbitrary: fc.constant(template) }, { weight: 1, arbitrary: other }, { weight: 4, arbitrary: changed });
}

const recorded = (request: JsonObject, redacted: string[][] = [], overflow = false): RecordedRequest => ({ v: 1, request, redacted, ...(overflow ? { overflow: true as const } : {}) });

describe('the compact recorded request (form 2)', () => {
  it('reads back as exactly the request recorded, for requests near the template', () => {
    const cases = columns.chain((c) =>
      fc.tuple(fc.constant(c), near(requestTemplate(c)).filter((r): r is JsonObject => typeof r === 'object' && r !== null && !Array.isArray(r)), fc.array(fc.array(fc.string(), { maxLength: 3 }), { maxLength: 3 }), fc.boolean()),
    );
    fc.assert(
      fc.property(cases, ([c, request, redacted, overflow]) => {
        const full = viaJson(recorded(request, redacted, overflow));
        const back = recordedRequestOf(stored(compactRecordedRequest(full, c)), c)!;
        expect(back).toEqual(full);
        expect(canonicalJson(back)).toBe(canonicalJson(full));
      }),
      { numRuns: 300 },
    );
  });

  it('reads back as exactly the request recorded, for any JSON object', () => {
    fc.assert(
      fc.property(columns, fc.dictionary(fc.string(), fc.jsonValue() as fc.Arbitrary<JsonValue>), (c, request) => {
        const full = viaJson(recorded(request));
        const back = recordedRequestOf(stored(compactRecordedRequest(full, c)), c)!;
        expect(canonicalJson(back)).toBe(canonicalJson(full));
      }),
      { numRuns: 300 },
    );
  });

  it('stores a request the template predicts as nothing but the form, and what is missing as absent', () => {
    const c: RecordColumns = { tenant: 'acme', agentId: 'a', action: 'tool.call', resourceType: 'tool', resourceId: 'read_orders' };
    expect(compactRecordedRequest(recorded(requestTemplate(c)), c)).toEqual({ v: 2, request: {} });
    const { signals: _s, ...noSignals } = requestTemplate(c);
    const tool = { name: 'read_orders', tags: [], risk: 'low' };
    const compact = compactRecordedRequest(recorded({ ...noSignals, tool }), c);
    expect(compact).toEqual({ v: 2, request: { tool: { risk: 'low' } }, absent: [['signals']] });
    expect(recordedRequestOf(compact as unknown as JsonValue, c)!.request).toEqual({ ...noSignals, tool });
  });

  it('keeps a "__proto__" member as a member, both ways', () => {
    const c: RecordColumns = { tenant: 'acme', agentId: 'a', action: 'tool.call', resourceType: 'tool', resourceId: 'x' };
    const full = viaJson(recorded(JSON.parse('{"context":{"__proto__":{"a":1}},"tool":{"__proto__":[1]}}') as JsonObject));
    const back = recordedRequestOf(stored(compactRecordedRequest(full, c)), c)!;
    expect(canonicalJson(back)).toBe(canonicalJson(full));
    expect(Object.getPrototypeOf(back.request.context)).toBe(Object.prototype);
  });

  it('reads a form 1 value as it is, and neither form as nothing', () => {
    const c: RecordColumns = { tenant: 'acme', agentId: 'a', action: 'tool.call', resourceType: 'tool', resourceId: 'x' };
    const legacy = { v: 1, request: { tenant: 'acme' }, redacted: [] };
    expect(recordedRequestOf(legacy, c)).toBe(legacy);
    for (const bad of [undefined, null, 'x', { v: 3, request: {} }, { v: 1, request: {} }, { v: 2, request: [] }, { v: 2, request: {}, absent: 'x' }]) {
      expect(recordedRequestOf(bad as JsonValue, c)).toBeUndefined();
    }
  });
});
