import { describe, expect, it } from 'vitest';
import { parseActionRequest } from '../../src/model/action-request.js';
import { DecisionCache } from '../../src/enforcement/decision-cache.js';

const request = (args: Record<string, unknown>, requestId = 'r1') => {
  const parsed = parseActionRequest({ requestId, tenant: 't', actor: { agent: { id: 'a' } }, action: 'tool.call', resource: { type: 'tool', id: 'issue_refund' }, args });
  if (!parsed.ok) throw new Error(parsed.errors.join());
  return parsed.value;
};

describe('the decision cache key', () => {
  const cache = new DecisionCache(2_000, 100);
  it('covers everything the decision depends on, never just agent and tool', () => {
    const k = cache.key('b1', request({ amount: 50 }), 10_000);
    expect(cache.key('b1', request({ amount: 5000 }), 10_000)).not.toBe(k);
    expect(cache.key('b2', request({ amount: 50 }), 10_000)).not.toBe(k);
    expect(cache.key('b1', { ...request({ amount: 50 }), context: { environment: 'production' } }, 10_000)).not.toBe(k);
  });

  it('ignores request and trace ids, and key order', () => {
    const k = cache.key('b1', request({ a: 1, b: 2 }), 10_000);
    expect(cache.key('b1', request({ b: 2, a: 1 }, 'r2'), 10_000)).toBe(k);
  });

  it('never serves a decision older than the TTL', () => {
    const k = cache.key('b1', request({}), 10_000);
    expect(cache.key('b1', request({}), 11_999)).toBe(k);
    expect(cache.key('b1', request({}), 12_000)).not.toBe(k);
  });

  it('is bounded, and is off with a zero TTL', () => {
    const small = new DecisionCache(1_000, 10);
    for (let i = 0; i < 50; i++) small.set(`k${i}`, {} as never);
    expect(small.size).toBeLessThanOrEqual(10);
    expect(new DecisionCache(0, 10).enabled).toBe(false);
  });
});
