/**
 * canonicalJson is what the decision log's hashes and the cache keys are made of: it must be JSON
 * (parses back to the same value), independent of key order, and the same as JSON.stringify of the
 * value with its keys sorted — for any JSON value, odd keys and lone surrogates included.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { canonicalJson } from '../../src/model/canonical-json.js';

/** Sets a member even when its key is "__proto__" (a plain assignment would set the prototype). */
const put = (out: Record<string, unknown>, key: string, v: unknown) => Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });

function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) put(out, key, sortedDeep((value as Record<string, unknown>)[key]));
  return out;
}

function shuffledKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffledKeys(v, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  const order = keys.map((k, i) => ({ k, r: Math.sin(seed * 7919 + i * 104729) })).sort((a, b) => a.r - b.r);
  const out: Record<string, unknown> = {};
  for (const { k } of order) put(out, k, shuffledKeys((value as Record<string, unknown>)[k], seed + 1));
  return out;
}

const json = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });

it('is JSON.stringify of the value with sorted keys, and parses back to the value', () => {
  fc.assert(
    fc.property(json, (value) => {
      const text = canonicalJson(value);
      expect(text).toBe(JSON.stringify(sortedDeep(value)));
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
    }),
    { numRuns: 500 },
  );
});

it('does not depend on the order keys were added in', () => {
  fc.assert(
    fc.property(json, fc.integer({ min: 1, max: 1_000 }), (value, seed) => {
      expect(canonicalJson(shuffledKeys(value, seed))).toBe(canonicalJson(value));
    }),
    { numRuns: 500 },
  );
});

it('skips undefined object members and writes undefined array items as null, like JSON', () => {
  expect(canonicalJson({ b: undefined, a: [undefined, 'x'], c: {} })).toBe('{"a":[null,"x"],"c":{}}');
  expect(canonicalJson({ '"': 1, '\u2028': 2, __proto__x: 3 })).toBe(JSON.stringify({ '"': 1, __proto__x: 3, '\u2028': 2 }));
  expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"x":"y"}}'))).toBe('{"__proto__":{"x":"y"},"b":1}');
});
