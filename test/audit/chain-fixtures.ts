import { GENESIS_HASH, recordHash } from '../../src/audit/hash-chain.js';
import { toWellFormed } from '../../src/model/well-formed.js';
import type { ChainLink } from '../../src/store/ports.js';
import type { NewDecisionRecord } from '../../src/store/records.js';

/**
 * The linker of the versions before chain format 2, verbatim (src/audit/decision-log.ts at
 * 852db61): the whole record hashed, seq and prevHash included, inside the write lock. Logs
 * written by those versions look like what it makes: `sha256:<hex>` hashes.
 */
export const linkRecordFormat1: ChainLink = (entry, previous) => {
  const unsigned = { ...toWellFormed(entry), seq: (previous?.seq ?? 0) + 1, prevHash: previous?.hash ?? GENESIS_HASH };
  return { ...unsigned, hash: recordHash(unsigned) };
};

let made = 0;

/** An entry shaped like the pipeline's (nested details, obligations, a result summary). */
export function pipelineEntry(tag: string, overrides: Partial<NewDecisionRecord> = {}): NewDecisionRecord {
  made += 1;
  return {
    id: `dec_${tag}_${made}`,
    time: 1_790_000_000_000 + made,
    kind: 'decision',
    requestId: `req-${tag}-${made}`,
    tenant: 'acme-corp',
    sessionId: 'sess-1',
    agentId: 'support-agent',
    action: 'tool.call',
    resourceType: 'tool',
    resourceId: 'read_orders',
    effect: 'allow',
    reason: 'support may read orders of its own tenant',
    stage: 'policy',
    policy: 'orders',
    rule: 'support-reads-orders',
    policyVersion: '4',
    bundle: `sha256:${'b'.repeat(64)}`,
    obligations: [{ type: 'redact', paths: ['$.orders[*].customer_email'] }] as NewDecisionRecord['obligations'],
    outcome: 'executed',
    latencyUs: 120,
    args: { customer_id: 'c-42', limit: 5, filters: { status: 'open', z: [1, 2, { b: true, a: null }] } },
    resultSummary: { orders: [] },
    details: { matched: ['orders/support-reads-orders'], pdpInput: { v: 1, request: { tenant: 'acme-corp', tool: { name: 'read_orders', tags: [] } } } },
    ...overrides,
  };
}
