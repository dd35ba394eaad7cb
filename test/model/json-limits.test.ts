import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJsonInput, findLimitViolation, type JsonLimits } from '../../src/model/json-limits.js';
import { copyJson } from '../../src/model/json.js';
import { findIllFormedText } from '../../src/model/well-formed.js';

/**
 * A request body is walked once (checkJsonInput: limits and well-formed text together), and the
 * checks after it (the ActionRequest's limits) answer from what that walk measured. They must
 * answer exactly what walking again would: same verdict, same message.
 */
const WIDE: JsonLimits = { maxDepth: 64, maxStringLength: 10_000, maxNodes: 200_000 };

const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { a: nested(depth - 1) });

describe('checkJsonInput', () => {
  it('answers what the two walks it replaces answered', () => {
    const cases: unknown[] = [
      { tenant: 'acme', args: { limit: 10 } },
      nested(70),
      { text: 'x'.repeat(10_001) },
      { ['k'.repeat(10_001)]: 1 },
      JSON.parse('{"a":{"__proto__":{"admin":true}}}'),
      { a: [1, 2, { b: '\ud800' }] },
      { ['\udc00key']: 1 },
      Array.from({ length: 10 }, () => Array.from({ length: 10 }, () => ({ x: [1, 2, 3] }))),
    ];
    for (const value of cases) {
      const before = findLimitViolation(copyJsonLoose(value), WIDE) ?? findIllFormedText(copyJsonLoose(value), 'body');
      const now = checkJsonInput(value, WIDE, 'body');
      expect(now.ok ? undefined : now.message).toBe(before);
    }
  });

  it('refuses more values than maxNodes without walking the rest', () => {
    const wide = Array.from({ length: 50 }, (_, i) => i);
    const checked = checkJsonInput(wide, { ...WIDE, maxNodes: 10 });
    expect(checked).toEqual({ ok: false, problem: 'limits', message: 'more than 10 values in the document' });
  });
});

describe('findLimitViolation after checkJsonInput', () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 4 }),
  })).value;
  const limits = fc.record({ maxDepth: fc.integer({ min: 0, max: 6 }), maxStringLength: fc.integer({ min: 0, max: 12 }), maxNodes: fc.integer({ min: 1, max: 40 }) });

  it('answers from the measured shape exactly what a fresh walk answers, for any limits', () => {
    fc.assert(
      fc.property(json, limits, (value, l) => {
        const fresh = findLimitViolation(copyJsonLoose(value), l);
        checkJsonInput(value, WIDE);
        expect(findLimitViolation(value, l)).toBe(fresh);
      }),
      { numRuns: 300 },
    );
  });
});

/** A copy that checkJsonInput has never seen (so nothing is remembered about it). */
function copyJsonLoose(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? copyJson(value as never) : value;
}
