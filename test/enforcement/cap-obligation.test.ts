/**
 * `cap` bounds an argument: a value above the cap is lowered, and a missing argument is set to the
 * cap (otherwise the tool picks its own default: an export without `limit` returned every row).
 * An obligation that cannot be applied denies the call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToArguments, ObligationError } from '../../src/enforcement/obligations/apply-obligations.js';
import type { JsonObject } from '../../src/model/json.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

describe('cap (applyToArguments)', () => {
  const cap = { type: 'cap', arg: 'limit', max: 100 } as const;

  it('sets a missing argument to the cap, and says so', () => {
    const args: JsonObject = { customer_id: 'c-1' };
    expect(applyToArguments([cap], args).applied).toEqual(['set limit to its cap 100 (it was not given)']);
    expect(args).toEqual({ customer_id: 'c-1', limit: 100 });
  });

  it('lowers a value above the cap and keeps one below it', () => {
    const high: JsonObject = { limit: 5000 };
    expect(applyToArguments([cap], high).applied).toEqual(['capped limit 5000 → 100']);
    expect(high.limit).toBe(100);
    const low: JsonObject = { limit: 7 };
    expect(applyToArguments([cap], low).applied).toEqual([]);
    expect(low.limit).toBe(7);
  });

  it('cannot cap what is not a number: the obligation fails (and the pipeline denies)', () => {
    for (const limit of ['all', null, [5], { n: 5 }, true]) {
      expect(() => applyToArguments([cap], { limit } as JsonObject)).toThrow(ObligationError);
    }
  });
});

describe('cap in the pipeline', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a read without limit reaches the tool with limit set to the cap, and the log says so', async () => {
    const result = await h.warden.call({ agentId: 'support-agent', tool: 'read_orders', args: {}, requestId: nextRequestId(), tenant: 'acme-corp' }, { kind: 'api_key', key: h.keys['support-agent']! });
    expect(result.status).toBe('executed');
    const calls = h.tools.calls.filter((c) => c.tool === 'read_orders');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args.limit).toBe(100);
    await h.warden.audit.flush();
    const record = await h.warden.store.getDecision(result.auditId);
    expect(record?.details.obligationsApplied).toContain('set limit to its cap 100 (it was not given)');
  });
});
