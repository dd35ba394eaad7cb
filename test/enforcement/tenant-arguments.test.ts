/**
 * A tenant named in a call's arguments must be the call's, however its key is spelt and wherever
 * it stands (the adversarial review found `tenantID`, `Tenant`, `tenant-id` and `TENANT_ID`
 * reaching the tool with another tenant's id, and nested filters were not looked at). The
 * pipeline against the real HTTP tool service of the harness: a refused call never reaches it.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallResult, ToolCall } from '../../src/enforcement/exchange.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const ticket = (args: Record<string, unknown>): Promise<CallResult> => {
  const call: ToolCall = { agentId: 'support-agent', tool: 'create_support_ticket', args: { subject: 'x', ...args }, requestId: nextRequestId(), tenant: 'acme-corp' };
  return h.warden.call(call, { kind: 'api_key', key: h.keys['support-agent']! });
};
const ticketsSent = () => h.tools.calls.filter((c) => c.tool === 'create_support_ticket').length;

async function expectRefused(args: Record<string, unknown>, argument: string): Promise<void> {
  const before = ticketsSent();
  const result = await ticket(args);
  expect(result).toMatchObject({ status: 'denied', httpStatus: 403, decision: { reason: 'cross-tenant access: request tenant acme-corp does not match competitor-corp' } });
  expect(ticketsSent()).toBe(before);
  await h.warden.audit.flush();
  const record = await h.warden.store.getDecision(result.auditId!);
  expect(record).toMatchObject({ effect: 'deny', stage: 'tenant', tenant: 'acme-corp', details: { argument } });
}

describe('the tenant guard reads every spelling of a tenant argument', () => {
  for (const key of ['tenant_id', 'tenantID', 'TenantId', 'Tenant', 'tenant-id', 'TENANT_ID', 'tenant.id', 'tenant\u200bid', 'ｔｅｎａｎｔ', 'tеnant']) {
    it(`refuses ${JSON.stringify(key)} naming another tenant`, async () => {
      await expectRefused({ [key]: 'competitor-corp' }, key);
    });
  }

  it('refuses another tenant named in a nested object or an array', async () => {
    await expectRefused({ filter: { tenant: 'competitor-corp' } }, 'filter.tenant');
    await expectRefused({ scopes: [{ kind: 'org' }, { TenantId: 'competitor-corp' }] }, 'scopes[1].TenantId');
  });

  it('lets the call through when every tenant argument is the call’s own, and words that merely contain "tenant" alone', async () => {
    const before = ticketsSent();
    const result = await ticket({ TenantID: 'acme-corp', filter: { tenant: 'acme-corp' }, tenant_count: 3, tenants_note: 'competitor-corp' });
    expect(result).toMatchObject({ status: 'executed' });
    expect(ticketsSent()).toBe(before + 1);
  });

  it('refuses any spelling built from "tenant" and "id" with case, separators and invisible characters (property)', async () => {
    const letterCase = (word: string) => fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
    const separator = fc.constantFrom('', '_', '-', '.', ' ', ':', '\u200b', '\u00ad');
    const spelling = fc.tuple(letterCase('tenant'), separator, fc.option(letterCase('id'), { nil: '' })).map(([t, sep, id]) => (id ? `${t}${sep}${id}` : t));
    await fc.assert(
      fc.asyncProperty(spelling, async (key) => {
        const before = ticketsSent();
        const result = await ticket({ [key]: 'competitor-corp' });
        expect(result.status, key).toBe('denied');
        expect(ticketsSent()).toBe(before);
      }),
      { numRuns: 60 },
    );
  });
});
