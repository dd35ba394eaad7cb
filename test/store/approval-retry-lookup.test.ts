import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import type { ApprovalRetryQuery } from '../../src/store/ports.js';
import { T0, approval } from './fixtures.js';

/*
 * SqliteApprovals.findApprovalForRetry answers "no approval" from a two-parameter existence probe
 * (agent, tool) and remembers only pairs that have approvals. These tests pin what that shortcut
 * must never break: an approval another connection or process creates is found by the next retry
 * (exactly-once across gateways), and every answer equals the statement it replaces.
 */

const DIST_STORE = fileURLToPath(new URL('../../dist/store/index.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'warden-retry-lookup-'));
let counter = 0;
const tempDb = () => join(root, `r${++counter}.db`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A query whose argsHash getter counts its reads (the pipeline's hash is lazy the same way). */
function query(q: Omit<ApprovalRetryQuery, 'argsHash'> & { argsHash: string }): { q: ApprovalRetryQuery; hashReads: () => number } {
  let reads = 0;
  const { argsHash, ...rest } = q;
  const lazy = {
    ...rest,
    get argsHash(): string {
      reads += 1;
      return argsHash;
    },
  };
  return { q: lazy, hashReads: () => reads };
}

const call = { agentId: 'refund-agent', tenant: 'acme-corp', userId: 'user-7', tool: 'issue_refund', argsHash: 'sha256:abc', since: 0 };

describe('findApprovalForRetry across connections (real SQLite file)', () => {
  it('a retry finds the approval a second store on the same file created after this one looked and found none', async () => {
    const path = tempDb();
    const gatewayA = SqliteStore.open(path);
    const gatewayB = SqliteStore.open(path);
    try {
      // A has looked for this call (and for the tool) before: none, and the hash was not needed.
      const first = query(call);
      expect(await gatewayA.findApprovalForRetry(first.q)).toBeUndefined();
      expect(first.hashReads()).toBe(0);
      expect(await gatewayA.findApprovalForRetry(query(call).q)).toBeUndefined();

      await gatewayB.createApproval(approval({ id: 'apr-b', status: 'executed', result: { ok: true } }));
      const retry = query(call);
      expect((await gatewayA.findApprovalForRetry(retry.q))?.id).toBe('apr-b');
      expect(retry.hashReads()).toBeGreaterThan(0);

      // Another call of the same tool (other arguments) still finds nothing.
      expect(await gatewayA.findApprovalForRetry(query({ ...call, argsHash: 'sha256:other' }).q)).toBeUndefined();
    } finally {
      await gatewayA.close();
      await gatewayB.close();
    }
  });

  it('a retry finds the approval another process (the built store) created, after restarts of neither', async () => {
    expect(existsSync(DIST_STORE), `${DIST_STORE} missing: run npm run build first`).toBe(true);
    const path = tempDb();
    const gateway = SqliteStore.open(path);
    try {
      expect(await gateway.findApprovalForRetry(query(call).q)).toBeUndefined();
      const script = `import { SqliteStore } from ${JSON.stringify(pathToFileURL(DIST_STORE).href)};
const store = SqliteStore.open(process.argv[1]);
await store.createApproval(${JSON.stringify(approval({ id: 'apr-child', status: 'pending' }))});
await store.close();`;
      execFileSync(process.execPath, ['--input-type=module', '-e', script, path], { stdio: 'inherit' });
      expect((await gateway.findApprovalForRetry(query(call).q))?.id).toBe('apr-child');
    } finally {
      await gateway.close();
    }
  });

  it('a store reopened on the file finds approvals made before (nothing to rebuild at start)', async () => {
    const path = tempDb();
    const before = SqliteStore.open(path);
    await before.createApproval(approval({ id: 'apr-old', status: 'approved' }));
    await before.close();
    const after = SqliteStore.open(path);
    try {
      expect((await after.findApprovalForRetry(query(call).q))?.id).toBe('apr-old');
    } finally {
      await after.close();
    }
  });
});

/** The statement findApprovalForRetry used before the shortcut, run on its own connection. */
const REFERENCE_SQL =
  'SELECT id FROM approvals WHERE agent_id = @agent_id AND tool = @tool AND args_hash = @args_hash AND tenant = @tenant AND user_id IS @user_id AND created_at >= @since ORDER BY created_at DESC, id DESC LIMIT 1';

describe('findApprovalForRetry equals the statement it replaces', () => {
  const agents = ['a1', 'a2'];
  const tools = ['t1', 't2', 't3'];
  const tenants = ['x', 'y'];
  const users = [undefined, 'u1', 'u2'];
  const hashes = ['h1', 'h2'];
  const pick = <T,>(values: T[]) => fc.constantFrom(...values);
  const key = fc.record({ agentId: pick(agents), tool: pick(tools), tenant: pick(tenants), userId: pick(users), argsHash: pick(hashes) });
  // Steps: a lookup by the store under test, or an approval created by the other connection.
  const step = fc.oneof(
    fc.record({ kind: fc.constant('lookup' as const), key, since: fc.constantFrom(0, T0 + 5, T0 + 50) }),
    fc.record({ kind: fc.constant('create' as const), key, at: fc.integer({ min: 0, max: 60 }) }),
  );

  it('for any interleaving of lookups here and approvals created by another connection', async () => {
    // One file and three connections for all runs; each run has agents of its own.
    const path = tempDb();
    const store = SqliteStore.open(path);
    const other = SqliteStore.open(path);
    const reference = new Database(path, { readonly: true });
    const select = reference.prepare(REFERENCE_SQL).pluck();
    let run = 0;
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
          run += 1;
          for (const s of steps) {
            const { userId, agentId, ...k } = s.key;
            const agent = `r${run}-${agentId}`;
            if (s.kind === 'create') {
              await other.createApproval(approval({ ...k, agentId: agent, id: `apr-${++n}`, createdAt: T0 + s.at, userId }));
              continue;
            }
            const q = { ...k, agentId: agent, since: s.since, ...(userId === undefined ? {} : { userId }) };
            const expected = select.get({ agent_id: agent, tool: q.tool, args_hash: q.argsHash, tenant: q.tenant, user_id: userId ?? null, since: q.since });
            expect((await store.findApprovalForRetry(q))?.id).toBe(expected);
          }
        }),
        { numRuns: 150 },
      );
    } finally {
      reference.close();
      await store.close();
      await other.close();
    }
  }, 120_000);
});
