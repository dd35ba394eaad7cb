import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardPolicyOptions } from '../../src/guards/default-policies.js';
import { recordedRequestOf } from '../../src/model/compact-recorded-request.js';
import type { JsonObject } from '../../src/model/json.js';
import { RECORDED_REQUEST_KEY } from '../../src/model/recorded-request.js';
import { loadPolicyFolder } from '../../src/policy/load.js';
import type { PolicySet } from '../../src/policy/policy-set.js';
import { replay, replayInto } from '../../src/replay/replay.js';
import { ReportBuilder, type ReplayReport } from '../../src/replay/replay-report.js';
import { rangePages, scanPages } from '../../src/store/decision-pages.js';
import type { DecisionRecord } from '../../src/store/records.js';
import { startFixture, type Fixture } from './fixture.js';

let f: Fixture;
let candidate: PolicySet;
let records: DecisionRecord[];

const refundOf = (amount: number) => records.find((r) => r.kind === 'decision' && r.resourceId === 'issue_refund' && (r.args as { amount?: number }).amount === amount)!;
const run = (filter = {}, options = {}): Promise<ReplayReport> => replay(scanPages(f.warden.store, filter), { current: f.warden.policySet, candidate, ...options });

beforeAll(async () => {
  f = await startFixture();
  const loaded = await loadPolicyFolder(f.candidate, guardPolicyOptions(true));
  candidate = loaded.policySet!;
  records = await f.records();
}, 60_000);
afterAll(async () => {
  await f?.close();
});

describe('the decision log keeps the request as decided', () => {
  it('keeps what the request builder added, and lists the redacted paths', () => {
    const lookup = records.find((r) => r.resourceId === 'lookup_customer' && JSON.stringify(r.args).includes('REDACTED'))!;
    expect(lookup.args).toEqual({ email: '[REDACTED:email]' });
    // Stored compact (form 2), read back whole.
    expect((lookup.details[RECORDED_REQUEST_KEY] as JsonObject).v).toBe(2);
    const recorded = recordedRequestOf(lookup.details[RECORDED_REQUEST_KEY], lookup)!;
    expect(recorded.v).toBe(1);
    expect(recorded.redacted).toContainEqual(['args', 'email']);
    expect(recorded.request).toMatchObject({ tenant: 'acme', actor: { agent: { id: 'support-agent', roles: ['support'], trust: 'medium', tenant: 'acme' } }, tool: { name: 'lookup_customer', effect: 'read', risk: 'low' } });
    // The address itself is nowhere in the record.
    expect(JSON.stringify(lookup)).not.toContain('competitor.example');
  });

  it('keeps the arguments as decided when an obligation changed them afterwards', () => {
    const listing = records.find((r) => r.resourceId === 'list_orders')!;
    expect(listing.args).toEqual({ limit: 10 });
    const recorded = recordedRequestOf(listing.details[RECORDED_REQUEST_KEY], listing)!;
    expect(recorded.request.args).toEqual({ limit: 50 });
  });

  it('is not kept in outcome records', () => {
    const outcomes = records.filter((r) => r.kind === 'outcome');
    expect(outcomes.length).toBeGreaterThan(0);
    for (const r of outcomes) expect(r.details[RECORDED_REQUEST_KEY]).toBeUndefined();
  });
});

describe('replay', () => {
  let report: ReplayReport;
  beforeAll(async () => {
    report = await run();
  });

  it('catches the denies the candidate turns into allows, with their records as samples', () => {
    const t = report.transitions.find((x) => x.transition === 'deny→allow')!;
    expect(t.count).toBe(3);
    const expected = [refundOf(2000), refundOf(2500), refundOf(3000)];
    expect(t.samples.map((s) => s.seq).sort((a, b) => a - b)).toEqual(expected.map((r) => r.seq).sort((a, b) => a - b));
    for (const s of t.samples) {
      expect(s).toMatchObject({ logged: 'deny', current: { effect: 'deny', rule: 'payments/large-refunds' }, candidate: { effect: 'allow', rule: 'payments/refunds-up-to-5000' } });
    }
    expect(report.rules).toContainEqual({ transition: 'deny→allow', from: 'payments/large-refunds', to: 'payments/refunds-up-to-5000', count: 3 });
    expect(report.tenants.find((g) => g.key === 'acme')?.transitions['deny→allow']).toBe(2);
    expect(report.tenants.find((g) => g.key === 'globex')?.transitions['deny→allow']).toBe(1);
    expect(report.agents.find((g) => g.key === 'globex-agent')?.changed).toBe(1);
    expect(report.tools.find((g) => g.key === 'issue_refund')?.changed).toBe(3);
  });

  it('decides with the arguments as decided, not as an obligation left them', () => {
    const t = report.transitions.find((x) => x.transition === 'allow→deny')!;
    expect(t.count).toBe(1);
    expect(t.samples[0]).toMatchObject({ tool: 'list_orders', current: { rule: 'customers/orders-capped' }, candidate: { effect: 'deny', rule: 'customers/no-big-listings' } });
  });

  it('reports a rule whose condition reads a redacted argument as undetermined, never guessed', () => {
    expect(report.undetermined).toBe(2);
    expect(report.undeterminedBy).toEqual([expect.objectContaining({ rule: 'customers/no-competitor-lookups', path: 'args.email', count: 2 })]);
    // The look-up that sent no e-mail address is decided: the condition's path is not redacted there.
    const lookups = report.tools.find((g) => g.key === 'lookup_customer')!;
    expect(lookups).toMatchObject({ replayed: 3, undetermined: 2, changed: 0 });
  });

  it('counts the rest as unchanged, and what is not a decided request as skipped', () => {
    expect(report.changed).toBe(4);
    expect(report.unchanged).toBe(3);
    expect(report.reattributed).toBe(1);
    expect(report.replayed).toBe(report.changed + report.unchanged + report.undetermined);
    expect(report.skipped['outcome record']).toBeGreaterThan(0);
    expect(report.read).toBe(records.length);
  });

  it('replays only the records the filter names', async () => {
    const globex = await run({ tenant: 'globex' });
    expect(globex.transitions).toEqual([expect.objectContaining({ transition: 'deny→allow', count: 1 })]);
    expect(globex.transitions[0]!.samples[0]!.tenant).toBe('globex');
    expect(globex.undetermined).toBe(0);
  });

  it('counts the same when the log is split into shares and their counts merged (worker threads)', async () => {
    const head = records.at(-1)!.seq;
    const middle = Math.floor(head / 2);
    const shares = [
      { first: 1, last: middle },
      { first: middle + 1, last: head },
    ];
    const merged = new ReportBuilder();
    for (const range of shares) {
      const share = new ReportBuilder();
      await replayInto(share, rangePages(f.warden.store, {}, range), { current: f.warden.policySet, candidate });
      merged.merge(share.state());
    }
    const whole = merged.build({ current: '', candidate: '', truncated: false, elapsedMs: 1 });
    for (const key of ['read', 'replayed', 'unchanged', 'changed', 'undetermined', 'reattributed', 'skipped', 'rules', 'tools', 'agents', 'tenants'] as const) expect(whole[key]).toEqual(report[key]);
    expect(whole.transitions.map((t) => [t.transition, t.count, t.samples.map((x) => x.seq).sort()])).toEqual(report.transitions.map((t) => [t.transition, t.count, t.samples.map((x) => x.seq).sort()]));
  });

  it('finds nothing to report when the candidate is the current set', async () => {
    const same = await replay(scanPages(f.warden.store, {}), { current: f.warden.policySet, candidate: f.warden.policySet });
    expect(same).toMatchObject({ changed: 0, undetermined: 0, reattributed: 0 });
    expect(same.unchanged).toBe(report.replayed);
  });
});

describe('records written before the log kept the request as decided', () => {
  let report: ReplayReport;
  beforeAll(async () => {
    const set = f.warden.policySet;
    const legacy = (tool: string, args: JsonObject, decided: { effect: 'allow' | 'deny'; policy: string; rule: string }) => ({
      id: `dec_legacy_${tool}_${Math.random().toString(36).slice(2)}`,
      time: Date.now(),
      kind: 'decision' as const,
      requestId: `req-legacy-${Math.random()}`,
      tenant: 'acme',
      agentId: 'support-agent',
      action: 'tool.call',
      resourceType: 'tool',
      resourceId: tool,
      reason: 'logged before replay existed',
      stage: 'policy',
      policyVersion: '1',
      bundle: set.bundle,
      obligations: [],
      outcome: decided.effect === 'allow' ? ('executed' as const) : ('denied' as const),
      latencyUs: 10,
      args,
      details: { matched: [`${decided.policy}/${decided.rule}`] },
      ...decided,
    });
    await f.warden.recorder.appendDurably(legacy('issue_refund', { order_id: 'o-old', amount: 4000 }, { effect: 'deny', policy: 'payments', rule: 'large-refunds' }));
    await f.warden.recorder.appendDurably(legacy('lookup_customer', { customer_id: 'c-old' }, { effect: 'allow', policy: 'customers', rule: 'support-looks-up' }));
    const last = (await f.records()).at(-1)!.seq;
    report = await replay(scanPages(f.warden.store, {}), { current: set, candidate });
    expect(report.window.lastSeq).toBe(last);
  });

  it('are decided from their columns, with what the record says it decided as evidence', () => {
    expect(report.legacy.replayed).toBe(2);
    // The look-up's rule reads the agent's roles, which such a record does not hold; the record
    // says that rule matched, and the candidate keeps it: unchanged, not undetermined.
    expect(report.tools.find((g) => g.key === 'lookup_customer')).toMatchObject({ replayed: 4, undetermined: 2 });
    // The old refund of 4,000 would be allowed by the candidate, unless a guard would have held
    // it: the guards' signals are not in such a record, so it is undetermined, not deny→allow.
    expect(report.legacy.undetermined).toBe(1);
    expect(report.transitions.find((t) => t.transition === 'deny→allow')!.count).toBe(3);
    const cause = report.undeterminedBy.find((u) => u.rule.startsWith('guard-'))!;
    expect(cause.path).toMatch(/^signals/);
    expect(cause.samples[0]!.seq).toBe(report.window.lastSeq! - 1);
  });
});
