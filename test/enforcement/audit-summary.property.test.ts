/**
 * The result summary of a decision record (src/enforcement/audit-record.ts, summarise) skips
 * serialising a result a length bound shows to fit: it must give exactly what serialising to
 * measure gave (the old code, kept below), for results of every size around the limit, with
 * strings that escape long (control characters, quotes, non-ASCII), numbers of every length,
 * undefined members, secrets redacted, and nested lists and maps.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor, type Redactor } from '../../src/audit/redact.js';
import { summarise } from '../../src/enforcement/audit-record.js';
import type { JsonValue } from '../../src/model/json.js';

/** The summary as it was made before the bound: serialised, measured, cut. */
function reference(value: JsonValue | undefined, redactor: Redactor): JsonValue | undefined {
  if (value === undefined) return undefined;
  const redacted = redactor.redact(value);
  const text = JSON.stringify(redacted);
  return text.length <= 2_048 ? redacted : { truncated: true, preview: `${text.slice(0, 2_048)}…`, bytes: text.length };
}

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('\u0000', '\u001f', '"', '\\', 'é', '😀', 'a'), maxLength: 400 }),
  fc.nat({ max: 2_100 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('jane.doe@example.com', 'password=hunter2'),
);
const scalar = fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined));
const value = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { maxDepth: 4 },
    { arbitrary: scalar, weight: 4 },
    { arbitrary: fc.array(tie('v'), { maxLength: 12 }), weight: 1 },
    { arbitrary: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('token', 'é"\n')), tie('v'), { maxKeys: 8 }), weight: 2 },
  ),
})).v;

describe('decision record result summary', () => {
  const redactor = createRedactor();
  it('is what serialising to measure gave, on both sides of the limit', () => {
    const sizes = { kept: 0, cut: 0 };
    fc.assert(
      fc.property(value, (v) => {
        const want = reference(v as JsonValue, redactor);
        const got = summarise(v as JsonValue, redactor);
        expect(got).toStrictEqual(want);
        expect(JSON.stringify(got)).toBe(JSON.stringify(want));
        if (want && typeof want === 'object' && 'truncated' in (want as object)) sizes.cut++;
        else sizes.kept++;
      }),
      { numRuns: 2_000 },
    );
    expect(sizes.cut).toBeGreaterThan(50);
    expect(sizes.kept).toBeGreaterThan(50);
  });

  it('keeps a result of exactly the limit and cuts one a character over', () => {
    const at = { s: 'x'.repeat(2_048 - 8) }; // {"s":"…"} is 8 characters around the text
    expect(JSON.stringify(at).length).toBe(2_048);
    expect(summarise(at, redactor)).toEqual(at);
    const over = { s: 'x'.repeat(2_048 - 7) };
    expect(summarise(over, redactor)).toEqual({ truncated: true, preview: `${JSON.stringify(over).slice(0, 2_048)}…`, bytes: 2_049 });
  });
});
