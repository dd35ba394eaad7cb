/**
 * The built-in guard policies: they load beside a folder, a policy of the same id replaces one,
 * and — the property that matters — no signals ever turn a policy's deny into anything else, nor
 * make any decision less cautious than the policies alone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD_POLICIES, GUARD_POLICY_IDS, guardPolicyOptions } from '../../src/guards/default-policies.js';
import { withBuiltInPolicies } from '../../src/policy/load.js';
import type { JsonObject } from '../../src/model/json.js';
import { compilePolicies, decide, loadPolicyFolder } from '../../src/policy/index.js';
import { NOW, compileOrThrow, policySetArb, requestArb, toActionRequest, toSources } from '../policy/arbitraries.js';
import { policySet, request } from '../policy/helpers.js';

/** Policies plus the built-in guards, compiled as the loader does it. */
const withGuards = (sources: Parameters<typeof withBuiltInPolicies>[0]) => compileOrThrow(withBuiltInPolicies(sources, DEFAULT_GUARD_POLICIES), { cautionOnly: GUARD_POLICY_IDS });

const RANK = { allow: 0, require_approval: 1, deny: 2 } as const;

const injectionArb = fc.record({
  score: fc.double({ min: 0, max: 1, noNaN: true }),
  suspicious: fc.boolean(),
  critical: fc.boolean(),
  kinds: fc.subarray(['instruction_override', 'role_header', 'hidden_text', 'script', 'exfiltration_link', 'encoded_blob']),
  findings: fc.constant([]),
});
/** Signals as the pipeline makes them, plus partial and odd shapes a caller of the decision API might send. */
const signalsArb: fc.Arbitrary<JsonObject> = fc.oneof(
  fc.record({
    injection: fc.record({ prompt: injectionArb, args: injectionArb }),
    taint: fc.record({ session: fc.boolean(), sensitive_args: fc.subarray(['amount', 'to', 'url']), sources: fc.constant([]) }),
    trifecta: fc.boolean(),
  }),
  fc.record({ injection: fc.oneof(fc.constant({}), fc.record({ args: injectionArb })) }, { requiredKeys: [] }),
  fc.record({ taint: fc.constant('yes'), trifecta: fc.constant(1), injection: fc.constant([]) }, { requiredKeys: [] }),
) as fc.Arbitrary<JsonObject>;

describe('the built-in guard policies', () => {
  it('compile, and only add caution (deny or require_approval rules)', () => {
    const set = compileOrThrow(DEFAULT_GUARD_POLICIES, { cautionOnly: GUARD_POLICY_IDS });
    expect(set.policies.map((p) => p.id)).toEqual(['guard-classifier', 'guard-counterparty', 'guard-injection', 'guard-taint', 'guard-trifecta']);
    expect(set.rules.every((r) => r.effect !== 'allow')).toBe(true);
    expect(set.policies.every((p) => p.file.startsWith('<built-in>/guards/'))).toBe(true);
  });

  it('do not match a request without signals (the decision API, policy tests)', () => {
    const set = withGuards([{ file: 'p.yaml', text: 'id: p\nversion: 1\nrules: [{ id: all, effect: allow }]\n' }]);
    const d = decide(set, request('issue_refund'), { now: NOW });
    expect(d).toMatchObject({ effect: 'allow', policy: 'p' });
    expect(d.advice).toEqual([]); // no condition errored (an error would count as matched)
  });

  it('hold or deny on the signals the pipeline sets', () => {
    const set = withGuards([{ file: 'p.yaml', text: 'id: p\nversion: 1\nrules: [{ id: all, effect: allow }]\n' }]);
    const inj = (over: object) => ({ score: 0.9, suspicious: true, critical: false, kinds: ['instruction_override'], findings: [], ...over });
    const clean = { score: 0, suspicious: false, critical: false, kinds: [], findings: [] };
    const at = (signals: JsonObject) => decide(set, request('send_email', { signals }), { now: NOW });
    const base = { injection: { prompt: clean, args: clean }, taint: { session: false, sensitive_args: [], sources: [] }, trifecta: false };
    expect(at(base).effect).toBe('allow');
    expect(at({ ...base, injection: { prompt: inj({}), args: clean } })).toMatchObject({ effect: 'require_approval', policy: 'guard-injection', rule: 'injection-in-prompt' });
    expect(at({ ...base, injection: { prompt: clean, args: inj({}) } })).toMatchObject({ effect: 'require_approval', rule: 'injection-in-arguments' });
    expect(at({ ...base, injection: { prompt: clean, args: inj({ critical: true }) } })).toMatchObject({ effect: 'deny', rule: 'exfiltration-in-arguments' });
    const tainted = at({ ...base, taint: { session: true, sensitive_args: ['amount'], sources: ['prompt'] } });
    expect(tainted).toMatchObject({ effect: 'require_approval', policy: 'guard-taint' });
    expect(tainted.reason).toContain('["amount"]');
    expect(at({ ...base, trifecta: true })).toMatchObject({ effect: 'require_approval', policy: 'guard-trifecta' });
    expect(at({ ...base, counterparty: { new: [] } }).effect).toBe('allow');
    const payee = at({ ...base, counterparty: { new: ['recipient'] } });
    expect(payee).toMatchObject({ effect: 'require_approval', policy: 'guard-counterparty', rule: 'new-counterparty' });
    expect(payee.reason).toContain('["recipient"]');
  });

  it('hold every call with an effect once an injection was found in a result of the session, and no read', () => {
    const set = withGuards([{ file: 'p.yaml', text: 'id: p\nversion: 1\nrules: [{ id: all, effect: allow }]\n' }]);
    const clean = { score: 0, suspicious: false, critical: false, kinds: [], findings: [] };
    const signals = (injected: string[]) => ({ injection: { prompt: clean, args: clean }, taint: { session: true, sensitive_args: [], sources: ['result:fetch_page'], injected }, trifecta: false });
    const at = (effect: string, injected: string[]) => decide(set, request('some_tool', { signals: signals(injected), tool: { name: 'some_tool', effect } } as never), { now: NOW });
    for (const effect of ['write', 'external', 'destructive']) {
      expect(at(effect, ['result:fetch_page'])).toMatchObject({ effect: 'require_approval', policy: 'guard-injection', rule: 'act-after-injection' });
      expect(at(effect, []).effect).toBe('allow');
    }
    expect(at('read', ['result:fetch_page']).effect).toBe('allow');
  });

  it('are replaced by a policy of the same id in the folder, and named in diagnostics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-guards-'));
    writeFileSync(join(dir, 'mine.yaml'), 'id: guard-taint\nversion: 7\nmode: shadow\nrules: [{ id: off, effect: deny, when: "false" }]\n');
    const { policySet: set, diagnostics } = await loadPolicyFolder(dir, guardPolicyOptions(true));
    expect(diagnostics).toEqual([]);
    expect(set!.policies.map((p) => `${p.id} v${p.version} ${p.file.startsWith('<built-in>') ? 'built-in' : 'folder'}`)).toEqual([
      'guard-classifier v1 built-in',
      'guard-counterparty v1 built-in',
      'guard-injection v1 built-in',
      'guard-taint v7 folder',
      'guard-trifecta v1 built-in',
    ]);
    const without = await loadPolicyFolder(dir, {});
    expect(without.policySet!.policies.map((p) => p.id)).toEqual(['guard-taint']);
    expect(without.policySet!.bundle).not.toBe(set!.bundle); // the bundle hash covers the built-in policies
    // a broken built-in (simulated) is reported under its own name
    const broken = compilePolicies([{ file: DEFAULT_GUARD_POLICIES[0]!.file, text: DEFAULT_GUARD_POLICIES[0]!.text.replace('signals.injection.args.critical == true', 'signals.injection.args.critical ==') }]);
    expect(broken.diagnostics[0]!.file).toBe('<built-in>/guards/guard-injection.yaml');
  });

  it('property: no guard ever allows what the policies denied, nor lowers any decision', () => {
    fc.assert(
      fc.property(policySetArb(), requestArb, signalsArb, (policies, model, signals) => {
        const sources = toSources(policies);
        const plain = compileOrThrow(sources);
        const guarded = withGuards(sources);
        const base = toActionRequest(model);
        const before = decide(plain, base, { now: NOW });
        const after = decide(guarded, { ...base, signals }, { now: NOW });
        if (before.effect === 'deny') expect(after.effect).toBe('deny');
        expect(RANK[after.effect]).toBeGreaterThanOrEqual(RANK[before.effect]);
      }),
      { numRuns: 150 },
    );
  });

  it('the example policies plus the guards decide a clean request as before', () => {
    const set = policySet('id: refunds\nversion: 1\nrules: [{ id: small, effect: allow, tools: [issue_refund], when: "args.amount <= 100" }]\n');
    const guarded = withGuards([{ file: 'r.yaml', text: 'id: refunds\nversion: 1\nrules: [{ id: small, effect: allow, tools: [issue_refund], when: "args.amount <= 100" }]\n' }]);
    const r = request('issue_refund', { args: { amount: 50 } });
    expect(decide(guarded, r, { now: NOW }).effect).toBe(decide(set, r, { now: NOW }).effect);
  });
});
