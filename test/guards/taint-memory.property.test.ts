/**
 * A session's taint memory (flow.taint, flow.trusted) and its membership set (taint.ts hashSet):
 * rememberHashes hands the set of the memory it replaces on to the new array instead of every call
 * building a set of the whole memory (up to 10,000 hashes) again. Whatever sequence of calls,
 * stale memories (a call that failed and was never stored, so its session goes on from the older
 * array), copies read back from a store and memories with repeats, the set of every array must
 * hold exactly that array's hashes, and the arrays must be the ones the plain rule gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashSet, rememberHashes } from '../../src/guards/taint.js';

/** The rule as it was written before the sets were kept: a set of the memory built on every call. */
function reference(memory: readonly string[], hashes: readonly string[], max: number): readonly string[] {
  if (hashes.length === 0) return memory;
  const known = new Set(memory);
  const fresh = hashes.filter((h) => !known.has(h));
  if (fresh.length === 0) return memory;
  const next = [...memory, ...new Set(fresh)];
  return next.length > max ? next.slice(next.length - max) : next;
}

const hash = fc.integer({ min: 0, max: 60 }).map((n) => `h${n}`);
const step = fc.record({
  /** Which earlier memory the call starts from: the newest (0), an older one, or a store's copy of one. */
  from: fc.nat({ max: 6 }),
  copy: fc.boolean(),
  /** Look the memory's set up before the call, as the signals stage does. */
  lookUp: fc.boolean(),
  hashes: fc.array(hash, { maxLength: 12 }),
});

describe('taint memory sets', () => {
  it('every memory set holds exactly its array, through any sequence of calls', () => {
    fc.assert(
      fc.property(fc.array(hash, { maxLength: 20 }), fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 30 }), (start, steps, max) => {
        // `start` may hold repeats: a store's row is not bound to what rememberHashes writes.
        const history: (readonly string[])[] = [start];
        for (const s of steps) {
          const base = history[Math.max(0, history.length - 1 - s.from)]!;
          const memory = s.copy ? [...base] : base;
          if (s.lookUp) expect([...hashSet(memory)].sort()).toEqual([...new Set(memory)].sort());
          const next = rememberHashes(memory, s.hashes, max);
          expect(next).toEqual(reference(memory, s.hashes, max));
          if (s.hashes.length && next !== memory) expect(next).not.toBe(memory); // never changed in place
          history.push(next);
        }
        for (const memory of history) {
          const set = hashSet(memory);
          expect(set.size).toBe(new Set(memory).size);
          for (const h of memory) expect(set.has(h)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('hands the set on: a full memory is not copied into a new set by the next call', () => {
    let memory: readonly string[] = Array.from({ length: 512 }, (_, i) => `h${i}`);
    const set = hashSet(memory);
    for (let i = 512; i < 600; i++) {
      memory = rememberHashes(memory, [`h${i}`, `h${i - 1}`], 512);
      expect(hashSet(memory)).toBe(set);
    }
    expect(memory).toHaveLength(512);
    expect(set.has('h599')).toBe(true);
    expect(set.has('h87')).toBe(false); // forgotten: the oldest beyond 512
    expect(set.size).toBe(512);
  });
});
