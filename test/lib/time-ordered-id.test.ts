import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/lib/time-ordered-id.js';

describe('timeOrderedId', () => {
  it('is the prefix and a UUIDv7 whose first 48 bits are the milliseconds', () => {
    const now = Date.UTC(2026, 11, 2, 6, 0, 0, 123);
    const id = timeOrderedId('req_', now);
    expect(id).toMatch(/^req_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.slice(4, 12) + id.slice(13, 17), 16)).toBe(now);
  });

  it('sorts as text in the order of time, and never repeats within a millisecond', () => {
    const base = Date.UTC(2026, 0, 1);
    const ids = [0, 1, 255, 256, 65_535, 65_536, 86_400_000].map((d) => timeOrderedId('dec_', base + d));
    expect([...ids].sort()).toEqual(ids);
    const same = new Set(Array.from({ length: 10_000 }, () => timeOrderedId('x', base)));
    expect(same.size).toBe(10_000);
  });
});
