import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { RetryQuery } from '../../src/enforcement/retry-query.js';
import { canonicalJson } from '../../src/model/canonical-json.js';
import type { JsonObject } from '../../src/model/json.js';

/**
 * The approval-retry query the pipeline hands the store on every call, before (an object literal
 * with a getter, kept verbatim below from pipeline.ts `approvalForRetry`) and now (RetryQuery):
 * every field a store reads must be the same, and the arguments' hash still computed only when
 * read, once.
 */
function previousQuery(x: { agent: { id: string }; call: { tool: string }; args: JsonObject; user?: { id: string } }, tenant: string) {
  // ---- verbatim from pipeline.ts (commit 721bd16) ----
  const args = x.args!;
  let argsHash: string | undefined;
  const query = {
    agentId: x.agent!.id,
    tenant,
    tool: x.call.tool,
    get argsHash(): string {
      return (argsHash ??= sha256(canonicalJson(args)));
    },
    since: 0,
    ...(x.user?.id !== undefined ? { userId: x.user.id } : {}),
  };
  // ---- end verbatim ----
  return query;
}

/** The arguments behind a proxy that counts how often their keys are listed (canonicalJson lists them once per hash). */
function counted(args: JsonObject): { args: JsonObject; listings: () => number } {
  let listings = 0;
  const proxy = new Proxy(args, {
    ownKeys(target) {
      listings += 1;
      return Reflect.ownKeys(target);
    },
  });
  return { args: proxy, listings: () => listings };
}

const json = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonObject[string]>;
const argsArb = fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 6 });

describe('RetryQuery against the object literal it replaces', () => {
  it('gives a store the same agent, tenant, tool, user, since and arguments hash', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), argsArb, fc.option(fc.string(), { nil: undefined }), (agentId, tenant, tool, args, userId) => {
        const x = { agent: { id: agentId }, call: { tool }, args, ...(userId !== undefined ? { user: { id: userId } } : {}) };
        const before = previousQuery(x, tenant);
        const now = new RetryQuery(agentId, tenant, tool, args, x.user?.id);
        expect(now.agentId).toBe(before.agentId);
        expect(now.tenant).toBe(before.tenant);
        expect(now.tool).toBe(before.tool);
        expect(now.since).toBe(before.since);
        // The stores read `userId ?? null`: absent before, undefined now, when the call has no user.
        expect(now.userId ?? null).toBe((before as { userId?: string }).userId ?? null);
        expect(now.argsHash).toBe(before.argsHash);
      }),
      { numRuns: 500 },
    );
  });

  it('computes the hash only when it is read, and once', () => {
    fc.assert(
      fc.property(argsArb, (plain) => {
        const { args, listings } = counted(plain);
        const q = new RetryQuery('agent', 'tenant', 'tool', args, undefined);
        expect(listings()).toBe(0);
        const first = q.argsHash;
        const afterFirst = listings();
        expect(afterFirst).toBeGreaterThan(0);
        expect(q.argsHash).toBe(first);
        expect(listings()).toBe(afterFirst);
        expect(first).toBe(sha256(canonicalJson(plain)));
      }),
      { numRuns: 200 },
    );
  });
});
