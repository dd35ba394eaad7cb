import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import { recordedRequestOf } from '../../src/model/compact-recorded-request.js';
import { RECORDED_REQUEST_KEY } from '../../src/model/recorded-request.js';
import { createWarden, type Warden } from '../../src/services/warden.js';

/**
 * A read's decision record is completed by the flush that writes it (enforcement/audit-record.ts
 * deferredAuditRecord): its answer does not wait for the arguments' redaction and the request the
 * PDP saw. The record must still say what happened when the call was made, whatever its caller
 * (or the tool) changes afterwards, and must not be lost when its costly part fails.
 */

let warden: Warden | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await warden?.close();
  warden = undefined;
});

/** A Warden whose in-process read_orders answers `result` (the same object every time). */
async function start(result: { orders: Array<{ id: string }> }, extraConfig = ''): Promise<Warden> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-deferred-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(
    join(dir, 'policies', 'reads.yaml'),
    `id: reads
version: "1"
rules:
  - id: reads
    effect: allow
    tools: [read_orders]
    when: "context.channel == 'chat'"
    reason: "reads from the chat are allowed"
`,
  );
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
agents:
  - { id: support-agent, roles: [support], tenant: acme, trust: medium }
server: { watch_policies: false }
${extraConfig}`,
  );
  warden = await createWarden({ config: join(dir, 'warden.yaml') });
  warden.guard(async () => result, { name: 'read_orders', effect: 'read', risk: 'low' }, { agentId: 'support-agent' });
  return warden;
}

describe("a read's decision record", () => {
  it('is completed by the flush that writes it, not while the caller waits for its answer', async () => {
    const w = await start({ orders: [{ id: 'o-1' }] });
    const redactShared = vi.spyOn(w.recorder.redactor, 'redactShared');
    const answer = await w.call({ agentId: 'support-agent', tenant: 'acme', tool: 'read_orders', args: { limit: 5 }, context: { channel: 'chat' } });
    expect(answer.status).toBe('executed');
    // The recorded request (what the PDP saw) is the record's costly part: not made yet.
    expect(redactShared).not.toHaveBeenCalled();
    await w.audit.flush();
    expect(redactShared).toHaveBeenCalled();
    const record = await w.store.getDecision(answer.auditId!);
    expect(record).toMatchObject({ id: answer.auditId, resourceId: 'read_orders', effect: 'allow', outcome: 'executed', args: { limit: 5 } });
    expect(recordedRequestOf(record!.details[RECORDED_REQUEST_KEY], record!)!.request.context).toMatchObject({ channel: 'chat' });
  });

  it('says what happened when the call was made, whatever the caller and the tool change afterwards', async () => {
    const kept = { orders: [{ id: 'o-1' }] };
    const w = await start(kept);
    const context = { channel: 'chat', ticket: { id: 'T-1' } };
    const call = { agentId: 'support-agent', tenant: 'acme', tool: 'read_orders', args: { limit: 5 }, context, service: { id: 'helpdesk' } };
    const answer = await w.call(call);
    expect(answer.status).toBe('executed');
    // Everything the caller handed in or got back, changed before the record is written.
    context.channel = 'email';
    context.ticket.id = 'T-2';
    call.tool = 'delete_orders';
    call.args.limit = 500;
    call.service.id = 'someone-else';
    (answer.result as typeof kept).orders.push({ id: 'o-2' });
    kept.orders[0]!.id = 'o-changed';
    await w.audit.flush();
    const record = (await w.store.getDecision(answer.auditId!))!;
    expect(record).toMatchObject({ resourceId: 'read_orders', serviceId: 'helpdesk', args: { limit: 5 }, resultSummary: { orders: [{ id: 'o-1' }] } });
    const recorded = recordedRequestOf(record.details[RECORDED_REQUEST_KEY], record)!;
    expect(recorded.request.context).toMatchObject({ channel: 'chat', ticket: { id: 'T-1' } });
    expect(recorded.request).toMatchObject({ actor: { service: { id: 'helpdesk' } } });
  });

  it('is written with what it has, saying what it lacks, when its costly part fails', async () => {
    const w = await start({ orders: [] });
    const answer = await w.call({ agentId: 'support-agent', tenant: 'acme', tool: 'read_orders', args: { limit: 5 }, context: { channel: 'chat' } });
    expect(answer.status).toBe('executed');
    vi.spyOn(w.recorder.redactor, 'redact').mockImplementation(() => {
      throw new Error('redactor out of order');
    });
    await w.audit.flush();
    const record = (await w.store.getDecision(answer.auditId!))!;
    expect(record).toMatchObject({ resourceId: 'read_orders', effect: 'allow', outcome: 'executed', args: {} });
    expect(record.details.recordIncomplete).toMatch(/could not be recorded: redactor out of order/);
    expect(record.details).not.toHaveProperty(RECORDED_REQUEST_KEY);
    expect(await verifyDecisionLog(w.store)).toMatchObject({ ok: true });
  });

  it('is on file when the answer arrives with audit.durable_reads, built by the write the call waited for', async () => {
    const w = await start({ orders: [{ id: 'o-1' }] }, 'audit: { durable_reads: true }\n');
    const answer = await w.call({ agentId: 'support-agent', tenant: 'acme', tool: 'read_orders', args: { limit: 7 }, context: { channel: 'chat' } });
    expect(answer.status).toBe('executed');
    // No flush: the call waited for its record to be durable.
    expect(await w.store.getDecision(answer.auditId!)).toMatchObject({ resourceId: 'read_orders', args: { limit: 7 }, resultSummary: { orders: [{ id: 'o-1' }] } });
  });

  it('is built before the answer when a context cannot be copied, as before', async () => {
    const w = await start({ orders: [] });
    // A caller in the same process can pass what no copy takes (an object of a class with a
    // function member: structuredClone refuses it); the record is then made at once.
    class Ticket {
      id = 'T-1';
      reopen = (): boolean => true;
    }
    const context = { channel: 'chat', ticket: new Ticket() } as unknown as Record<string, string>;
    const redactShared = vi.spyOn(w.recorder.redactor, 'redactShared');
    const answer = await w.call({ agentId: 'support-agent', tenant: 'acme', tool: 'read_orders', args: {}, context });
    expect(answer.status).toBe('executed');
    expect(redactShared).toHaveBeenCalled();
    await w.audit.flush();
    expect(await w.store.getDecision(answer.auditId!)).toMatchObject({ resourceId: 'read_orders', outcome: 'executed' });
  });
});
