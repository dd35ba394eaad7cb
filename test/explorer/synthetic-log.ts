import { linkRecord } from '../../src/audit/decision-log.js';
import type { DecisionLogStore } from '../../src/store/ports.js';
import type { Effect } from '../../src/model/effect.js';
import type { NewDecisionRecord } from '../../src/store/records.js';

/** Where the synthetic log starts, and how far apart its records are. */
export const BASE_TIME = Date.parse('2026-11-01T00:00:00Z');
export const STEP_MS = 10;

const WORDS = ['support', 'may', 'read', 'orders', 'refund', 'limit', 'exceeded', 'tenant', 'policy', 'rule', 'agent', 'lacks', 'role', 'session', 'budget'];

/**
 * The i-th record of a synthetic log: 50 agents, 40 tools, 8 policies of 15 rules, 2,000 sessions,
 * 90% of tenant acme-corp and 10% of competitor-corp, allow or deny (never require_approval: the
 * tests' needles are the only ones), a reason of five common words. `over` replaces fields.
 */
export function syntheticEntry(i: number, over: Partial<NewDecisionRecord> = {}): NewDecisionRecord {
  const effect: Effect = i % 7 === 0 ? 'deny' : 'allow';
  const words = [0, 1, 2, 3, 4].map((k) => WORDS[(i * (k + 3) + k) % WORDS.length]).join(' ');
  return {
    id: `dec_syn_${i}`,
    time: BASE_TIME + i * STEP_MS,
    kind: 'decision',
    requestId: `syn-${i}`,
    tenant: i % 10 === 9 ? 'competitor-corp' : 'acme-corp',
    sessionId: `sess-${i % 2000}`,
    agentId: `agent-${i % 50}`,
    action: 'call',
    resourceType: 'tool',
    resourceId: `tool_${i % 40}`,
    effect,
    reason: `${words} (policy policy-${i % 8}, rule rule-${i % 120})`,
    stage: 'policy',
    policy: `policy-${i % 8}`,
    rule: `rule-${i % 120}`,
    obligations: [],
    outcome: effect === 'allow' ? 'executed' : 'denied',
    latencyUs: 100 + (i % 900),
    args: { n: i },
    details: {},
    ...over,
  };
}

/** Appends `count` entries made by `make`, chained as the gateway chains them, 5,000 per transaction. */
export async function fillLog(store: Pick<DecisionLogStore, 'appendChained'>, count: number, make: (i: number) => NewDecisionRecord = syntheticEntry): Promise<void> {
  for (let start = 0; start < count; start += 5000) {
    const batch: NewDecisionRecord[] = [];
    for (let i = start; i < Math.min(count, start + 5000); i++) batch.push(make(i));
    await store.appendChained(batch, linkRecord);
  }
}
