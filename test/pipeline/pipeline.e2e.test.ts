import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import { bodySha256, signEnvelope } from '../../src/auth/credentials.js';
import type { CallResult, Credentials, ToolCall } from '../../src/enforcement/exchange.js';
import { HMAC_SECRET, nextRequestId, startHarness, TOOLS_TOKEN, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const key = (agent: string): Credentials => ({ kind: 'api_key', key: h.keys[agent]! });

function call(agentId: string, tool: string, args: unknown, extra: Partial<ToolCall> = {}): ToolCall {
  return { agentId, tool, args, requestId: nextRequestId(), tenant: 'acme-corp', ...extra };
}

async function records() {
  await h.warden.audit.flush();
  return h.warden.store.queryDecisions({ order: 'asc', limit: 10_000 });
}

const callsTo = (tool: string) => h.tools.calls.filter((c) => c.tool === tool);

describe('the pipeline, end to end against a real HTTP tool service and a SQLite file', () => {
  it('executes an allowed read, applies its obligations, and records one decision', async () => {
    const result = await h.warden.call(call('support-agent', 'read_orders', { limit: 5000 }), key('support-agent'));
    expect(result).toMatchObject({ status: 'executed', success: true, httpStatus: 200 });
    const orders = (result.result as { orders: Array<Record<string, unknown>> }).orders;
    expect(orders.map((o) => o.id)).toEqual(['o-123', 'o-456']); // competitor-corp's row filtered out
    expect(orders.every((o) => o.customer_email === '[REDACTED]')).toBe(true);
    expect(callsTo('read_orders')[0]!.args.limit).toBe(100); // capped from 5000
    const log = await records();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ outcome: 'executed', effect: 'allow', rule: 'support-reads-orders', agentId: 'support-agent', resourceId: 'read_orders' });
    expect(log[0]!.details.obligationsApplied).toEqual(['capped limit 5000 → 100', 'removed 1 row of other tenants from result.orders', 'redacted 2 result values']);
  });

  describe('every stage denies with a reason and an audit record', () => {
    const cases: Array<[string, () => Promise<CallResult>, number, string, RegExp]> = [
      ['no credentials', () => h.warden.call(call('support-agent', 'read_orders', {}), { kind: 'none' }), 401, 'authenticate', /no credentials/],
      ['a malformed API key', () => h.warden.call(call('support-agent', 'read_orders', {}), { kind: 'api_key', key: 'nope' }), 401, 'authenticate', /not an agent's API key/],
      ['a wrong API key', () => h.warden.call(call('support-agent', 'read_orders', {}), { kind: 'api_key', key: h.keys['support-agent']!.slice(0, -4) + 'AAAA' }), 401, 'authenticate', /not valid/],
      ["another agent's API key", () => h.warden.call(call('support-agent', 'read_orders', {}), key('refund-agent')), 401, 'authenticate', /does not belong to agent "support-agent"/],
      ['an unknown agent', () => h.warden.call(call('hacker-bot', 'read_orders', {}), { kind: 'trusted' }), 403, 'agent', /unknown agent "hacker-bot"/],
      ['a suspended agent', () => h.warden.call(call('suspended-bot', 'read_orders', {}), { kind: 'trusted' }), 403, 'agent', /is suspended/],
      ['an unknown tool', () => h.warden.call(call('support-agent', 'drop_database', {}), key('support-agent')), 403, 'arguments', /unknown tool "drop_database".*deny by default/],
      ['non-object arguments', () => h.warden.call(call('support-agent', 'read_orders', ['x']), key('support-agent')), 400, 'arguments', /must be a JSON object/],
      ['arguments against the schema', () => h.warden.call(call('support-agent', 'read_orders', { limit: 'all' }), key('support-agent')), 400, 'arguments', /args\.limit must be integer/],
      ['an unexpected argument', () => h.warden.call(call('support-agent', 'read_orders', { sql: 'drop' }), key('support-agent')), 400, 'arguments', /unexpected field "sql"/],
      ['a credential in the arguments', () => h.warden.call(call('refund-agent', 'issue_refund', { order_id: 'o-1', amount: 5, meta: { Api_Key: 'x' } }), key('refund-agent')), 400, 'arguments', /args\.meta\.Api_Key is forbidden/],
      ['a 10 MB argument', () => h.warden.call(call('support-agent', 'search_knowledge_base', { query: 'x'.repeat(10_000_000) }), key('support-agent')), 400, 'arguments', /args\.query is a string of 10000000 characters/],
      ['deep nesting', () => h.warden.call(call('support-agent', 'search_knowledge_base', { q: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }), key('support-agent')), 400, 'arguments', /nested deeper than 16/],
      ['a cross-tenant argument', () => h.warden.call(call('support-agent', 'read_orders', { tenant: 'competitor-corp' }), key('support-agent')), 403, 'tenant', /cross-tenant access: request tenant acme-corp does not match competitor-corp/],
      ["another tenant's request", () => h.warden.call(call('support-agent', 'read_orders', {}, { tenant: 'competitor-corp' }), key('support-agent')), 403, 'tenant', /cross-tenant access/],
      ['a policy deny', () => h.warden.call(call('support-agent', 'issue_refund', { order_id: 'o-1', amount: 5 }), key('support-agent')), 403, 'policy', /support-agent lacks the finance role/],
      ['the default deny', () => h.warden.call(call('refund-agent', 'search_knowledge_base', {}), key('refund-agent')), 403, 'policy', /no rule allowed this action/],
      ['a missing idempotency key', () => h.warden.call(call('support-agent', 'create_support_ticket', { subject: 'keyed' }), key('support-agent')), 400, 'obligations', /idempotency key is required in argument "ticket_key"/],
    ];
    for (const [name, run, status, stage, reason] of cases) {
      it(name, async () => {
        const result = await run();
        expect(result.status).toBe('denied');
        expect(result.httpStatus).toBe(status);
        expect(result.decision.effect).toBe('deny');
        expect(result.decision.reason).toMatch(reason);
        expect(result.decision.stage ?? 'policy').toBe(stage);
        const log = await records();
        const record = log.find((r) => r.id === result.auditId);
        expect(record).toMatchObject({ effect: 'deny', outcome: 'denied', stage });
        expect(h.tools.calls).toHaveLength(0);
      });
    }
  });

  it('rate-limits per agent and tool, saying which limit and when to retry', async () => {
    for (let i = 0; i < 3; i++) expect((await h.warden.call(call('support-agent', 'search_knowledge_base', { query: 'q' }), key('support-agent'))).status).toBe('executed');
    const limited = await h.warden.call(call('support-agent', 'search_knowledge_base', { query: 'q' }), key('support-agent'));
    expect(limited).toMatchObject({ status: 'denied', httpStatus: 429 });
    expect(limited.decision.reason).toMatch(/rate limit exceeded: 3 calls per 1m per agent\+tool search_knowledge_base/);
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(60_000);
    h.clock.now += 120_000;
    expect((await h.warden.call(call('support-agent', 'search_knowledge_base', { query: 'q' }), key('support-agent'))).status).toBe('executed');
  });

  it('enforces the session spend budget, counting only what was executed', async () => {
    const refund = (amount: number, order: string) => h.warden.call(call('refund-agent', 'issue_refund', { order_id: order, amount }, { sessionId: 's-1' }), key('refund-agent'));
    expect((await refund(100, 'o-1')).status).toBe('executed');
    expect((await refund(100, 'o-2')).status).toBe('executed');
    const over = await refund(150, 'o-3');
    expect(over).toMatchObject({ status: 'denied', httpStatus: 429 });
    expect(over.decision.reason).toMatch(/session spend budget exceeded: 200 spent \+ 150 requested > 300/);
    expect((await refund(100, 'o-4')).status).toBe('executed');
    expect((await h.warden.store.getSession('acme-corp', 's-1'))?.spend).toBe(300);
  });

  it('runs a tool with the secret injected upstream, and keeps the secret out of the log', async () => {
    const result = await h.warden.call(call('refund-agent', 'issue_refund', { order_id: 'o-9', amount: 20 }), key('refund-agent'));
    expect(result.status).toBe('executed');
    expect(callsTo('issue_refund')[0]!.authorization).toBe(`Bearer ${TOOLS_TOKEN}`);
    await h.warden.close();
    const files = readdirSync(h.dir).filter((f) => f.startsWith('warden.db'));
    for (const f of files) expect(readFileSync(join(h.dir, f)).includes(TOOLS_TOKEN)).toBe(false);
    h = { ...h, close: () => h.tools.close() };
  });

  it('never hands an injected credential back to the agent, and redacts personal data in the log', async () => {
    const result = await h.warden.call(call('support-agent', 'echo_request', { note: 'call jane@example.com' }), key('support-agent'));
    expect(result.status).toBe('executed');
    expect(callsTo('echo_request')[0]!.authorization).toBe(`Bearer ${TOOLS_TOKEN}`);
    expect(JSON.stringify(result)).not.toContain(TOOLS_TOKEN);
    expect(result.result).toMatchObject({ authorization: 'Bearer [REDACTED:secret]', args: { note: 'call jane@example.com' } });
    const [record] = await records();
    expect(JSON.stringify(record)).not.toContain('jane@example.com');
    expect(JSON.stringify(record)).not.toContain(TOOLS_TOKEN);
  });

  it('fails closed when the tool fails, times out or answers too much, without retrying', async () => {
    const failing = await h.warden.call(call('support-agent', 'failing_tool', {}), key('support-agent'));
    expect(failing).toMatchObject({ status: 'error', httpStatus: 502, success: false });
    expect(failing.decision.reason).toBe('the tool failed: the tool answered HTTP 500');
    expect(callsTo('failing_tool')).toHaveLength(1);
    const slow = await h.warden.call(call('support-agent', 'slow_tool', { ms: 2000 }), key('support-agent'));
    expect(slow.decision.reason).toBe('the tool failed: the tool did not answer within 300 ms');
    const huge = await h.warden.call(call('support-agent', 'huge_tool', { bytes: 50_000 }), key('support-agent'));
    expect(huge.decision.reason).toBe("the tool failed: the tool's response exceeded 10000 bytes");
    const log = await records();
    expect(log.filter((r) => r.outcome === 'error')).toHaveLength(3);
  });

  it('writes the decision of a side-effecting tool before running it, then its outcome', async () => {
    const result = await h.warden.call(call('refund-agent', 'issue_refund', { order_id: 'o-5', amount: 10 }), key('refund-agent'));
    const log = await records();
    expect(log.map((r) => [r.kind, r.outcome])).toEqual([
      ['decision', 'allowed'],
      ['outcome', 'executed'],
    ]);
    expect(log[1]!.decisionId).toBe(log[0]!.id);
    expect(result.auditId).toBe(log[0]!.id);
    expect(log[0]!.time).toBeLessThanOrEqual(Date.parse(callsTo('issue_refund')[0]!.at) + 1000);
  });

  describe('authentication with signed envelopes', () => {
    const signed = (requestId: string, timestamp: string, body = '{"tool":"search_knowledge_base"}', secret = HMAC_SECRET): Credentials => ({
      kind: 'hmac',
      keyId: 'supporthmac',
      timestamp,
      bodySha256: bodySha256(body),
      signature: signEnvelope(secret, { agentId: 'support-agent', agentVersion: '1.2', requestId, timestamp, bodySha256: bodySha256(body) }),
    });

    it('accepts a valid signature once and refuses the replay', async () => {
      const at = new Date(h.clock.now).toISOString();
      const first = await h.warden.call(call('support-agent', 'search_knowledge_base', { query: 'q' }, { requestId: 'sig-1', agentVersion: '1.2' }), signed('sig-1', at));
      expect(first.status).toBe('executed');
      const replay = await h.warden.call(call('support-agent', 'search_knowledge_base', { query: 'q' }, { requestId: 'sig-1', agentVersion: '1.2' }), signed('sig-1', at));
      expect(replay).toMatchObject({ status: 'denied', httpStatus: 409 });
      expect(replay.decision.reason).toMatch(/request id "sig-1" was already used: replay refused/);
    });

    it('still refuses the replay after a restart: request ids are reloaded from the decision log', async () => {
      const at = new Date(h.clock.now).toISOString();
      expect((await h.warden.call(call('support-agent', 'search_knowledge_base', { query: 'q' }, { requestId: 'sig-r', agentVersion: '1.2' }), signed('sig-r', at))).status).toBe('executed');
      await h.warden.close();
      const { createWarden } = await import('../../src/services/warden.js');
      const restarted = await createWarden({ config: join(h.dir, 'warden.yaml'), clock: () => h.clock.now });
      h = { ...h, warden: restarted };
      const replay = await restarted.call(call('support-agent', 'search_knowledge_base', { query: 'q' }, { requestId: 'sig-r', agentVersion: '1.2' }), signed('sig-r', at));
      expect(replay).toMatchObject({ status: 'denied', httpStatus: 409 });
    });

    it('refuses a wrong secret, a tampered field and a stale timestamp', async () => {
      const at = new Date(h.clock.now).toISOString();
      const wrong = await h.warden.call(call('support-agent', 'search_knowledge_base', {}, { requestId: 'sig-2', agentVersion: '1.2' }), signed('sig-2', at, undefined, 'guess'));
      expect(wrong.decision.reason).toBe('the signature does not match the envelope');
      const tampered = await h.warden.call(call('support-agent', 'search_knowledge_base', {}, { requestId: 'sig-3', agentVersion: '9.9' }), signed('sig-3', at));
      expect(tampered.decision.reason).toBe('the signature does not match the envelope');
      const stale = new Date(h.clock.now - 6 * 60_000).toISOString();
      const old = await h.warden.call(call('support-agent', 'search_knowledge_base', {}, { requestId: 'sig-4', agentVersion: '1.2' }), signed('sig-4', stale));
      expect(old.decision.reason).toMatch(/outside the 5m clock-skew window/);
      expect(h.tools.calls).toHaveLength(0);
    });
  });

  describe('approvals', () => {
    const fiona = { id: 'fiona', roles: ['finance_manager'], tenant: 'acme-corp' };
    const frank = { id: 'frank', roles: ['finance_manager'], tenant: 'acme-corp' };

    async function pendingRefund(amount = 250, user?: { id: string; roles?: string[] }) {
      const result = await h.warden.call(call('refund-agent', 'issue_refund', { order_id: 'o-456', amount }, { user }), key('refund-agent'));
      expect(result).toMatchObject({ status: 'pending_approval', httpStatus: 202 });
      expect(result.approvalId).toMatch(/^apr_/);
      return result.approvalId!;
    }

    it('holds a large refund, then executes it exactly once when two approvers race', async () => {
      const id = await pendingRefund();
      expect(callsTo('issue_refund')).toHaveLength(0);
      const approval = await h.warden.approvals.get(id);
      expect(approval).toMatchObject({ status: 'pending', tool: 'issue_refund', argsRedacted: { order_id: 'o-456', amount: 250 } });
      const [a, b] = await Promise.all([h.warden.approvals.approve(id, fiona, 'ok'), h.warden.approvals.approve(id, frank, 'ok')]);
      const executions = [a, b].filter((r) => r.ok && r.execution).map((r) => (r.ok ? r.execution : undefined));
      expect(executions).toHaveLength(1);
      expect(executions[0]).toMatchObject({ status: 'executed', result: { refund_id: 'rf-1', amount: 250 } });
      expect(callsTo('issue_refund')).toHaveLength(1);
      expect(callsTo('issue_refund')[0]!.args).toEqual({ order_id: 'o-456', amount: 250 });
      const settled = await h.warden.approvals.get(id);
      expect(settled?.status).toBe('executed');
      expect(settled?.args).toBeUndefined();
      // A late approve cannot run it again.
      const late = await h.warden.approvals.approve(id, { ...fiona, id: 'fred' }, 'me too');
      expect(late).toMatchObject({ ok: false, code: 'not_pending' });
      expect(callsTo('issue_refund')).toHaveLength(1);
    });

    it('refuses approvers without the role, from another tenant, or approving their own request', async () => {
      const id = await pendingRefund(250, { id: 'fiona', roles: ['finance_manager'] });
      expect(await h.warden.approvals.approve(id, { id: 'sam', roles: ['support'], tenant: 'acme-corp' }, 'x')).toMatchObject({ ok: false, code: 'forbidden', httpStatus: 403 });
      const otherTenant = await h.warden.approvals.approve(id, { id: 'olga', roles: ['finance_manager'], tenant: 'competitor-corp' }, 'x');
      // Another tenant's approval is no approval at all to olga (as GET says).
      expect(otherTenant).toMatchObject({ ok: false, code: 'not_found', httpStatus: 404, message: `no approval "${id}"` });
      const self = await h.warden.approvals.approve(id, fiona, 'mine');
      expect(self).toMatchObject({ ok: false, code: 'forbidden', message: 'fiona asked for this action and may not approve it themselves' });
      expect((await h.warden.approvals.get(id))?.status).toBe('pending');
      expect(callsTo('issue_refund')).toHaveLength(0);
    });

    it('refuses an expired approval and marks it expired', async () => {
      const id = await pendingRefund();
      h.clock.now += 61 * 60_000;
      expect(await h.warden.approvals.approve(id, fiona, 'too late')).toMatchObject({ ok: false, code: 'expired' });
      expect((await h.warden.approvals.get(id))?.status).toBe('expired');
      expect(callsTo('issue_refund')).toHaveLength(0);
    });

    it('settles a denied approval without running it, and logs every vote', async () => {
      const id = await pendingRefund();
      expect(await h.warden.approvals.deny(id, fiona, 'suspicious')).toMatchObject({ ok: true, approval: { status: 'denied' } });
      expect(await h.warden.approvals.approve(id, frank, 'ok')).toMatchObject({ ok: false, code: 'not_pending' });
      const votes = (await records()).filter((r) => r.approvalId === id && r.stage === 'approval');
      expect(votes.map((r) => [r.userId, r.effect])).toEqual([['fiona', 'deny']]);
      expect(callsTo('issue_refund')).toHaveLength(0);
    });
  });

  it('lets an active break-glass grant override a policy deny, flagged in the decision and log', async () => {
    const denied = await h.warden.call(call('support-agent', 'issue_refund', { order_id: 'o-1', amount: 5 }), key('support-agent'));
    expect(denied.status).toBe('denied');
    await expect(h.warden.breakGlass.grant({ grantedBy: 'ciso', reason: 'outage', scope: {}, duration: '2h' })).rejects.toThrow(/at most 1h/);
    const grant = await h.warden.breakGlass.grant({ grantedBy: 'ciso', reason: 'refund backlog during outage', scope: { agentId: 'support-agent', tool: 'issue_*' }, duration: '15m' });
    const allowed = await h.warden.call(call('support-agent', 'issue_refund', { order_id: 'o-1', amount: 5 }), key('support-agent'));
    expect(allowed.status).toBe('executed');
    expect(allowed.decision.breakGlass).toEqual({ grant: grant.id, grantedBy: 'ciso', reason: 'refund backlog during outage' });
    expect(allowed.decision.reason).toMatch(/^BREAK-GLASS: allowed by grant/);
    const other = await h.warden.call(call('support-agent', 'export_csv', {}), key('support-agent'));
    expect(other.decision.breakGlass).toBeUndefined();
    h.clock.now += 16 * 60_000;
    expect((await h.warden.call(call('support-agent', 'issue_refund', { order_id: 'o-2', amount: 5 }), key('support-agent'))).status).toBe('denied');
    const log = await records();
    expect(log.filter((r) => r.breakGlass === grant.id).length).toBe(2);
    expect(log.some((r) => r.action === 'break_glass.grant' && r.userId === 'ciso')).toBe(true);
  });

  it('guards an in-process function: it runs only when allowed', async () => {
    let runs = 0;
    const lookup = h.warden.guard(
      async (args: { q: string }) => {
        runs++;
        return { answer: `found ${args.q}` };
      },
      { name: 'search_knowledge_base', effect: 'read', risk: 'low', input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } },
      { agentId: 'support-agent', tenant: 'acme-corp' },
    );
    expect(await lookup({ q: 'refunds' })).toEqual({ answer: 'found refunds' });
    await expect(lookup({ q: 'x' }, { agentId: 'refund-agent' })).rejects.toThrow(/denied: no rule allowed this action/);
    await expect(lookup({} as { q: string })).rejects.toThrow(/args\.q is required/);
    expect(runs).toBe(1);
  });

  it('keeps a verifiable hash chain; an edited or a deleted row is detected', async () => {
    for (let i = 0; i < 5; i++) await h.warden.call(call('support-agent', 'read_orders', {}), key('support-agent'));
    await h.warden.call(call('support-agent', 'drop_database', {}), key('support-agent'));
    await h.warden.audit.flush();
    expect(await verifyDecisionLog(h.warden.store)).toMatchObject({ ok: true, checked: 6 });
    await h.warden.close();
    const db = new Database(join(h.dir, 'warden.db'));
    db.prepare("UPDATE decisions SET effect = 'allow' WHERE seq = 6").run();
    db.close();
    const { openStore } = await import('../../src/store/open-store.js');
    let store = await openStore(`sqlite:${join(h.dir, 'warden.db')}`);
    expect(await verifyDecisionLog(store)).toMatchObject({ ok: false, broken: { seq: 6, problem: 'its content does not match its hash: the record was altered' } });
    await store.close();
    const db2 = new Database(join(h.dir, 'warden.db'));
    db2.prepare("UPDATE decisions SET effect = 'deny' WHERE seq = 6").run();
    db2.prepare('DELETE FROM decisions WHERE seq = 3').run();
    db2.close();
    store = await openStore(`sqlite:${join(h.dir, 'warden.db')}`);
    const result = await verifyDecisionLog(store);
    expect(result).toMatchObject({ ok: false, checked: 2, broken: { seq: 4 } });
    expect(result.broken?.problem).toMatch(/expected record #3 next, found #4: records were removed/);
    await store.close();
    h = { ...h, close: () => h.tools.close() };
  });
});
