/**
 * Issue 17 (record CPU): a result's summary is measured with a closer bound
 * (model/json-length.ts jsonTextLengthAtMost) before it is serialised to measure it. The bound must
 * never say a value fits when its JSON does not — then the summary is the one the code before it
 * made (written out below: serialise, then keep or cut) — and it is exact for plain text, so that
 * it settles the ~1 KB results it was added for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/audit/redact.js';
import { summarise } from '../../src/enforcement/audit-record.js';
import type { JsonValue } from '../../src/model/json.js';
import { jsonTextLengthAtMost } from '../../src/model/json-length.js';

/** SUMMARY_BOUND_RUNS=5000 for a longer search. */
const RUNS = { numRuns: Number(process.env.SUMMARY_BOUND_RUNS ?? 150) };

/* ------------------------------------------------------------------ generators */

const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('acme-corp', 'support-agent', 'shipped', 'EUR', '2026-11-02T10:00:00Z', 'c-100001', 'bob@example.com', 'password=hunter2', '4111 1111 1111 1111', '[REDACTED]', 'x'.repeat(64)) },
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('"quoted"', 'back\\slash', 'line\nbreak', '\u0000\u001f', '\ud800 lone', '\udc00', 'emoji 😀', '\u2028', 'é'),
);
const key = fc.oneof(fc.constantFrom('password', 'api_key', 'Authorization', 'name', 'value', 'id', 'status', 'total', '__proto__', 'a"b', 'line\nkey', '😀'), fc.string({ maxLength: 8 }));
const number = fc.oneof(fc.integer(), fc.integer({ min: -9_007_199_254_740_991, max: 9_007_199_254_740_991 }), fc.double(), fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 5e-324, 9_007_199_254_740_992, -1e15));
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    fc.tuple(fc.constantFrom('Authorization', 'note'), tie('value')),
  ),
}));
const row = fc.dictionary(key, fc.oneof(text, number, fc.boolean(), fc.constant(null), value), { minKeys: 1, maxKeys: 8 });
/** Results of every size around the summary's 2,048 characters, and small or odd ones. */
const result = fc.oneof(
  fc.array(row, { minLength: 0, maxLength: 40 }).map((rows) => ({ orders: rows, page: 1, more: false })),
  fc.tuple(fc.integer({ min: 1_990, max: 2_060 }), fc.constantFrom('a', '"', '\n', 'é', '\ud800')).map(([n, c]) => ({ text: c.repeat(Math.max(0, n - 11)) })),
  fc.integer({ min: 1_000, max: 1_030 }).map((n) => Array.from({ length: n }, () => 0)),
  value,
  fc.constant(undefined),
);
/** The summary as it was made before the bounds: serialised, then kept whole or cut at 2,048 characters. */
function summaryBefore(value: JsonValue | undefined, redactor: ReturnType<typeof createRedactor>): JsonValue | undefined {
  if (value === undefined) return undefined;
  const redacted = redactor.redact(value);
  const text = JSON.stringify(redacted);
  return text.length <= 2_048 ? redacted : { truncated: true, preview: `${text.slice(0, 2_048)}…`, bytes: text.length };
}

describe('summarise with the closer bound (issue 17)', () => {
  it('the same summary as before, results around the limit included', () => {
    const redactor = createRedactor();
    fc.assert(
      fc.property(result, (r) => {
        const summary = summaryBefore(r as JsonValue, redactor);
        expect(JSON.stringify(summarise(r as JsonValue, redactor))).toBe(JSON.stringify(summary));
        expect(summarise(r as JsonValue, redactor)).toStrictEqual(summary);
      }),
      { numRuns: RUNS.numRuns * 2 },
    );
  });
});

describe('jsonTextLengthAtMost', () => {
  const jsonish = fc.oneof(value, result, fc.array(fc.oneof(text, number), { maxLength: 60 }), fc.dictionary(fc.oneof(key, text), fc.oneof(text, number), { maxKeys: 30 }));

  it('never says a value fits when its JSON does not', () => {
    fc.assert(
      fc.property(jsonish, fc.integer({ min: 0, max: 2_500 }), (v, limit) => {
        const length = (JSON.stringify(v) ?? '').length;
        if (jsonTextLengthAtMost(v, limit)) expect(length).toBeLessThanOrEqual(limit);
        expect(jsonTextLengthAtMost(v, length - 1)).toBe(false);
      }),
      { numRuns: RUNS.numRuns * 5 },
    );
    for (const n of [0, -0, 9, 10, -10, 99, 100, 1e15, -9_007_199_254_740_991, 9_007_199_254_740_991]) {
      expect(jsonTextLengthAtMost(n, JSON.stringify(n).length)).toBe(true);
      expect(jsonTextLengthAtMost(n, JSON.stringify(n).length - 1)).toBe(false);
    }
    expect(jsonTextLengthAtMost({ toJSON: () => 'x' }, 1_000)).toBe(false);
  });

  it('is exact for strings nothing in which is escaped, keys, safe integers, booleans and null', () => {
    // No surrogates: the bound counts six for each code unit of a string with any (paired or lone).
    const plain = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', 'é', '\u2028', '-', ':'), maxLength: 30 });
    const { exact } = fc.letrec<{ exact: unknown }>((tie) => ({
      exact: fc.oneof(
        { depthSize: 'small' },
        plain,
        fc.maxSafeInteger(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('exact'), { maxLength: 5 }),
        fc.dictionary(plain, tie('exact'), { maxKeys: 5 }),
      ),
    }));
    fc.assert(
      fc.property(exact, (v) => {
        expect(jsonTextLengthAtMost(v, JSON.stringify(v).length)).toBe(true);
      }),
      { numRuns: RUNS.numRuns * 5 },
    );
  });
});
