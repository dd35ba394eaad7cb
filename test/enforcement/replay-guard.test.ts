/**
 * The in-memory replay guard: what it refuses and accepts, and that forgetting expired ids reads
 * only the expired ones (the ids are kept in the order they expire; a full pass over a 10-minute
 * window of ids stalled the event loop for tens of milliseconds).
 */
import { describe, expect, it } from 'vitest';
import { MemoryReplayGuard } from '../../src/enforcement/replay-guard.js';
import type { Store } from '../../src/store/store.js';

const WINDOW = 60_000;
const T0 = 1_800_000_000_000;

/** A store whose decision log holds `records` (what `load` reads back); nothing else is used. */
function storeWith(records: Array<{ agentId: string; requestId: string; time: number }>): Store {
  const rows = records.map((r, i) => ({ kind: 'decision', stage: 'execute', seq: i + 1, ...r }));
  return {
    queryDecisions: async (q: { afterSeq?: number; limit?: number }) => rows.filter((r) => r.seq > (q.afterSeq ?? 0)).slice(0, q.limit ?? rows.length),
  } as unknown as Store;
}

/** The guard's map of ids, counting the entries any pass over it reads. */
function countReads(guard: MemoryReplayGuard): { map: Map<string, number>; reads: () => number } {
  const inner = guard as unknown as { seen: Map<string, number> };
  let reads = 0;
  class Counting extends Map<string, number> {
    override *[Symbol.iterator](): MapIterator<[string, number]> {
      for (const entry of super.entries()) {
        reads++;
        yield entry;
      }
    }
  }
  const counting = new Counting(inner.seen);
  Object.defineProperty(guard, 'seen', { value: counting });
  return { map: counting, reads: () => reads };
}

const remember = (g: MemoryReplayGuard, id: string, now: number, agent = 'a') => g.remember(agent, id, now, now + WINDOW);

describe('MemoryReplayGuard', () => {
  it('refuses an id within its window, per agent, and accepts it again once the window has passed', async () => {
    const g = await MemoryReplayGuard.load(storeWith([]), T0, WINDOW);
    expect(await remember(g, 'r1', T0)).toBe(true);
    expect(await remember(g, 'r1', T0 + 1)).toBe(false);
    expect(await remember(g, 'r1', T0 + 1, 'b')).toBe(true);
    expect(await remember(g, 'r1', T0 + WINDOW - 1)).toBe(false);
    expect(await remember(g, 'r1', T0 + WINDOW)).toBe(true);
    // Used again: refused for a window counted from the second use.
    expect(await remember(g, 'r1', T0 + 2 * WINDOW - 1)).toBe(false);
    expect(await remember(g, 'r1', T0 + 2 * WINDOW)).toBe(true);
  });

  it('forgets expired ids by reading only those: a live id ends the pass', async () => {
    const g = await MemoryReplayGuard.load(storeWith([]), T0, WINDOW);
    for (let i = 0; i < 10; i++) await remember(g, `old-${i}`, T0);
    for (let i = 0; i < 1000; i++) await remember(g, `new-${i}`, T0 + 10_000);
    const { map, reads } = countReads(g);
    // The first call at or after the next prune time forgets the 10 expired ids.
    expect(await remember(g, 'later', T0 + WINDOW + 5_000)).toBe(true);
    expect(map.size).toBe(1001);
    expect(reads()).toBeLessThanOrEqual(11);
    // The expired ids are free again; the live ones are still refused.
    expect(await remember(g, 'old-3', T0 + WINDOW + 5_000)).toBe(true);
    expect(await remember(g, 'new-3', T0 + WINDOW + 5_000)).toBe(false);
  });

  it('moves an expired id used again to the back, so it neither blocks nor is dropped early', async () => {
    const g = await MemoryReplayGuard.load(storeWith([]), T0, WINDOW);
    await remember(g, 'x', T0);
    await remember(g, 'y', T0 + 1_000);
    // A prune just before x expires (x is live: the pass stops at it), so the next second has none.
    await remember(g, 'w', T0 + WINDOW - 100);
    const { map } = countReads(g);
    // x has expired, is still held, and is used again: its new window ends last.
    expect(await remember(g, 'x', T0 + WINDOW + 500)).toBe(true);
    // y expires; the next prune drops it and keeps x, whose window runs on.
    const later = T0 + WINDOW + 1_500;
    expect(await remember(g, 'z', later)).toBe(true);
    expect([...map.keys()]).toEqual(['a\u0000w', 'a\u0000x', 'a\u0000z']);
    expect(await remember(g, 'x', later)).toBe(false);
    expect(await remember(g, 'y', later)).toBe(true);
  });

  it('reads ids back in the order they expire, whatever order the log holds them in', async () => {
    // The log's order is by sequence, not by time (a replica's clock, an imported log).
    const g = await MemoryReplayGuard.load(
      storeWith([
        { agentId: 'a', requestId: 'late', time: T0 + 5_000 },
        { agentId: 'a', requestId: 'early', time: T0 },
      ]),
      T0 + 6_000,
      WINDOW,
    );
    const { map } = countReads(g);
    // Past the earlier id's window only: it is forgotten although it came second.
    expect(await remember(g, 'fresh', T0 + WINDOW + 1_000)).toBe(true);
    expect([...map.keys()]).toEqual(['a\u0000late', 'a\u0000fresh']);
    expect(await remember(g, 'late', T0 + WINDOW + 1_000)).toBe(false);
    expect(await remember(g, 'early', T0 + WINDOW + 1_000)).toBe(true);
  });
});
