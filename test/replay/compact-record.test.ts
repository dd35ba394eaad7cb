/**
 * Decision records keep the request as decided in compact form (form 2: its difference from what
 * the record's columns say, model/compact-recorded-request.ts). Replay must decide a compact
 * record exactly as it decides the same record with the whole request (form 1, what older records
 * hold), and a log mixing both forms must verify.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionLog } from '../../src/audit/decision-log.js';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import { guardPolicyOptions } from '../../src/guards/default-policies.js';
import { recordedRequestOf } from '../../src/model/compact-recorded-request.js';
import type { JsonObject } from '../../src/model/json.js';
import { RECORDED_REQUEST_KEY } from '../../src/model/recorded-request.js';
import { loadPolicyFolder } from '../../src/policy/load.js';
import type { PolicySet } from '../../src/policy/policy-set.js';
import { replay } from '../../src/replay/replay.js';
import { replayCase } from '../../src/replay/replay-input.js';
import { openStore } from '../../src/store/index.js';
import type { DecisionRecord, NewDecisionRecord } from '../../src/store/records.js';
import { startFixture, type Fixture } from './fixture.js';

let f: Fixture;
let candidate: PolicySet;
let records: DecisionRecord[];

/** The same record as an older Warden would have written it: the whole request (form 1). */
function asFormOne(r: DecisionRecord): DecisionRecord {
  const full = recordedRequestOf(r.details[RECORDED_REQUEST_KEY], r);
  if (!full) return structuredClone(r);
  return structuredClone({ ...r, details: { ...r.details, [RECORDED_REQUEST_KEY]: full as unknown as JsonObject } });
}

async function* pagesOf(list: DecisionRecord[]): AsyncIterable<DecisionRecord[]> {
  yield list;
}

beforeAll(async () => {
  f = await startFixture();
  candidate = (await loadPolicyFolder(f.candidate, guardPolicyOptions(true))).policySet!;
  records = await f.records();
}, 60_000);
afterAll(async () => {
  await f?.close();
});

describe('compact recorded requests', () => {
  it('are what every decided record stores, smaller than the whole request, and read back whole', () => {
    const decided = records.filter((r) => r.details[RECORDED_REQUEST_KEY] !== undefined);
    expect(decided.length).toBeGreaterThanOrEqual(9);
    for (const r of decided) {
      const stored = r.details[RECORDED_REQUEST_KEY] as JsonObject;
      expect(stored.v).toBe(2);
      const full = recordedRequestOf(stored, r)!;
      expect(JSON.stringify(stored).length).toBeLessThan(JSON.stringify(full).length);
      // What the columns repeat and the registry added are back.
      expect(full.request).toMatchObject({ tenant: r.tenant, action: r.action, actor: { agent: { id: r.agentId, roles: ['support'], trust: 'medium', tenant: r.tenant } }, resource: { type: 'tool', id: r.resourceId, tenant: r.tenant, attributes: {} }, tool: { name: r.resourceId } });
    }
  });

  it('replay the same as the whole request: each input, and the report', async () => {
    const formOne = records.map(asFormOne);
    for (let i = 0; i < records.length; i++) {
      const compact = replayCase(structuredClone(records[i]!));
      const whole = replayCase(formOne[i]!);
      expect(compact).toEqual(whole);
    }
    const options = { current: f.warden.policySet, candidate };
    const a = await replay(pagesOf(structuredClone(records)), options);
    const b = await replay(pagesOf(records.map(asFormOne)), options);
    expect(a.changed).toBeGreaterThan(0);
    for (const key of ['read', 'replayed', 'unchanged', 'changed', 'undetermined', 'reattributed', 'skipped', 'rules', 'tools', 'agents', 'tenants'] as const) expect(a[key]).toEqual(b[key]);
    expect(a.transitions.map((t) => [t.transition, t.count, t.samples.map((x) => x.seq)])).toEqual(b.transitions.map((t) => [t.transition, t.count, t.samples.map((x) => x.seq)]));
  });

  it('verify in a log that mixes them with whole (form 1) records, none lost', async () => {
    expect((await verifyDecisionLog(f.warden.store)).ok).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'warden-mixed-forms-'));
    try {
      const store = await openStore(`sqlite:${join(dir, 'log.db')}`);
      const log = await DecisionLog.open(store);
      const entries: NewDecisionRecord[] = [];
      for (const r of records) {
        for (const source of [r, asFormOne(r)]) {
          const { seq: _s, prevHash: _p, hash: _h, ...entry } = structuredClone(source);
          entries.push({ ...entry, id: `${entry.id}-${entries.length}` });
        }
      }
      const durable = entries.map((e) => log.append(e).durable);
      await Promise.all(durable);
      await log.close();
      const written = await store.scanDecisions(0, 10_000);
      expect(written).toHaveLength(entries.length);
      const forms = new Set(written.map((w) => (w.details[RECORDED_REQUEST_KEY] as JsonObject | undefined)?.v));
      expect(forms).toEqual(new Set([1, 2, undefined]));
      expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, checked: entries.length });
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
