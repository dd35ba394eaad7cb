import { describe, expect, it } from 'vitest';
import { differingPaths } from '../../src/model/recorded-request.js';

/**
 * differingPaths lists, for replay, the paths of a recorded request whose logged value is not the
 * one the PDP saw. It runs on every decision record, so it walks with one shared path stack: these
 * pin what it lists (order, prefixes, the limit) and that the caller's prefix is left alone.
 */
describe('differingPaths', () => {
  it('lists each differing leaf under the prefix, the keys of the original first, then keys only the copy has', () => {
    const original = { b: { x: 1, y: 'mail a@b.c' }, a: [1, 'card 4111'], same: { deep: [true] }, gone: 1 };
    const redacted = { b: { x: 1, y: 'mail [REDACTED:email]', z: 'new' }, a: [1, '[REDACTED]'], same: { deep: [true] }, added: 2 };
    const out: string[][] = [];
    const prefix = ['args'];
    expect(differingPaths(original, redacted, prefix, out)).toBe(true);
    expect(out).toEqual([
      ['args', 'b', 'y'],
      ['args', 'b', 'z'],
      ['args', 'a', '1'],
      ['args', 'gone'],
      ['args', 'added'],
    ]);
    expect(prefix).toEqual(['args']);
    // Each listed path is its own array: changing one changes no other.
    out[0]!.push('changed');
    expect(out[1]).toEqual(['args', 'b', 'z']);
  });

  it('lists the prefix itself when the whole value differs (a subtree cut, an object against an array)', () => {
    const out: string[][] = [];
    expect(differingPaths({ a: 1 }, '[TRUNCATED]', ['context'], out)).toBe(true);
    expect(differingPaths([1], { 0: 1 }, [], out)).toBe(true);
    expect(out).toEqual([['context'], []]);
  });

  it('lists nothing for equal values, and stops at the limit with false (an incomplete list)', () => {
    const equal: string[][] = [];
    expect(differingPaths({ a: [{ b: 'x' }] }, { a: [{ b: 'x' }] }, [], equal)).toBe(true);
    expect(equal).toEqual([]);
    const out: string[][] = [];
    const original = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, i]));
    const redacted = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, -i - 1]));
    expect(differingPaths(original, redacted, [], out, 3)).toBe(false);
    expect(out).toEqual([['k0'], ['k1'], ['k2']]);
  });

  it('treats a "__proto__" key as the own property JSON.parse makes it', () => {
    const original = JSON.parse('{"__proto__": {"secret": "a"}, "x": 1}') as unknown;
    const redacted = JSON.parse('{"__proto__": {"secret": "[REDACTED]"}, "x": 1}') as unknown;
    const out: string[][] = [];
    expect(differingPaths(original, redacted, [], out)).toBe(true);
    expect(out).toEqual([['__proto__', 'secret']]);
  });
});
