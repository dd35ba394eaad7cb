import { afterEach, describe, expect, it } from 'vitest';
import type {
  AgentRecord,
  ApprovalRecord,
  BreakGlassGrant,
  CheckpointRecord,
  CredentialRecord,
  DecisionRecord,
  IncidentRecord,
  PolicyBundleRecord,
  SessionRecord,
  Store,
  ToolPin,
} from '../../src/store/index.js';
import { T0, agent, approval, decision, minimalDecision, quorum, seedApproved, vote } from './fixtures.js';

/*
 * What every Store must do, whatever keeps the data: each implementation runs this suite (the
 * SQLite one in sqlite-store.test.ts). Nothing here may know which database is behind the store;
 * what only one implementation does (files, migrations, its write-behind) is tested beside it.
 */

export interface StoreContractOptions {
  /**
   * What the store's errors say when a write breaks a constraint: each database words them its
   * own way, and the contract checks the write failed for that reason, not for any other.
   */
  errors: {
    /** A credential whose agent does not exist. */
    missingAgent: RegExp;
    /** A decision whose seq is already taken (in the log or earlier in the same batch). */
    duplicateSeq: RegExp;
    /** A decision whose id is already taken. */
    duplicateId: RegExp;
  };
  /**
   * Two stores over the same, empty data (two connections, two replicas), for the races between
   * them. Without it those tests are skipped.
   */
  openPair?: () => Promise<readonly [Store, Store]> | readonly [Store, Store];
}

/** Each test gets a store of its own from `open`, empty, closed after the test. */
export function describeStoreContract(name: string, open: () => Promise<Store> | Store, options: StoreContractOptions): void {
  const { errors } = options;

  describe(name, () => {
    const opened: Store[] = [];

    async function fresh(): Promise<Store> {
      const store = await open();
      opened.push(store);
      return store;
    }

    async function pair(): Promise<readonly [Store, Store]> {
      if (!options.openPair) throw new Error('this store cannot open a pair: the test should have been skipped');
      const stores = await options.openPair();
      opened.push(...stores);
      return stores;
    }

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    describe('round trips (what is written is what is read)', () => {
      it('agents, full and minimal', async () => {
        const store = await fresh();
        const full = agent();
        const minimal: AgentRecord = { id: 'bare', roles: [], trust: 'low', status: 'suspended', source: 'auto', createdAt: 1, updatedAt: 2 };
        await store.upsertAgent(full);
        await store.upsertAgent(minimal);
        expect(await store.getAgent(full.id)).toStrictEqual(full);
        expect(await store.getAgent('bare')).toStrictEqual(minimal);
        expect(await store.listAgents()).toStrictEqual([minimal, full]);
        expect(await store.getAgent('nobody')).toBeUndefined();

        const changed = agent({ roles: ['admin'], trust: 'admin', tenant: undefined, statusReason: undefined, updatedAt: T0 + 5 });
        await store.upsertAgent(changed);
        const read = await store.getAgent(full.id);
        expect(read).toStrictEqual({ id: full.id, roles: ['admin'], trust: 'admin', status: 'active', source: 'config', createdAt: T0, updatedAt: T0 + 5 });
        expect(read && 'tenant' in read).toBe(false);
      });

      it('credentials of both kinds, revoked or not', async () => {
        const store = await fresh();
        await store.upsertAgent(agent());
        const key: CredentialRecord = { agentId: 'support-agent', keyId: 'k1', kind: 'api_key', hash: 'sha256:aa', createdAt: T0 };
        const hmac: CredentialRecord = { agentId: 'support-agent', keyId: 'h1', kind: 'hmac', secretRef: '${secret:support_hmac}', createdAt: T0, revokedAt: T0 + 9 };
        await store.putCredential(key);
        await store.putCredential(hmac);
        expect(await store.getCredential('k1')).toStrictEqual(key);
        expect(await store.getCredential('h1')).toStrictEqual(hmac);
        expect(await store.getCredential('zz')).toBeUndefined();
      });

      it('approvals with votes, args and a JSON null result; and minimal ones', async () => {
        const store = await fresh();
        const full = approval({
          status: 'executed',
          votes: [vote('alice'), vote('bob', 'approve', T0 + 20)],
          result: null,
          settledAt: T0 + 30,
        });
        const minimal = approval({
          id: 'apr-min',
          sessionId: undefined,
          userId: undefined,
          args: undefined,
          policy: undefined,
          rule: undefined,
        });
        delete minimal.sessionId;
        delete minimal.userId;
        delete minimal.args;
        delete minimal.policy;
        delete minimal.rule;
        await store.createApproval(full);
        await store.createApproval(minimal);
        expect(await store.getApproval(full.id)).toStrictEqual(full);
        expect(await store.getApproval(minimal.id)).toStrictEqual(minimal);
        const withResult = approval({ id: 'apr-r', result: { refunded: 250, ok: true } });
        await store.createApproval(withResult);
        expect(await store.getApproval('apr-r')).toStrictEqual(withResult);
        expect(await store.getApproval('nope')).toBeUndefined();
      });

      it('decisions, full and minimal (a JSON null resultSummary stays null)', async () => {
        const store = await fresh();
        const full = decision(1);
        const minimal = minimalDecision(2);
        const nullSummary = minimalDecision(3, { resultSummary: null, args: [1, 'x', { y: false }] });
        await store.appendDecisions([full, minimal, nullSummary]);
        expect(await store.getDecision('dec-1')).toStrictEqual(full);
        expect(await store.getDecision('dec-2')).toStrictEqual(minimal);
        expect(await store.getDecision('dec-3')).toStrictEqual(nullSummary);
        expect(await store.scanDecisions(0, 10)).toStrictEqual([full, minimal, nullSummary]);
        expect(await store.getDecision('dec-9')).toBeUndefined();
      });

      it('sessions (and put overwrites)', async () => {
        const store = await fresh();
        const session: SessionRecord = {
          id: 'sess-1',
          tenant: 'acme-corp',
          callsUsed: 3,
          spend: 12.75,
          tainted: true,
          recent: [{ tool: 'search_kb', effect: 'allow', at: '2024-01-01T00:00:00Z' }, { tool: 'x', at: '2024-01-01T00:00:01Z' }],
          updatedAt: T0,
        };
        await store.putSession(session);
        expect(await store.getSession('acme-corp', 'sess-1')).toStrictEqual(session);
        const next = { ...session, callsUsed: 4, tainted: false, recent: [], updatedAt: T0 + 1 };
        await store.putSession(next);
        expect(await store.getSession('acme-corp', 'sess-1')).toStrictEqual(next);
        expect(await store.getSession('acme-corp', 'sess-2')).toBeUndefined();
        // The same id in another tenant is another session.
        expect(await store.getSession('competitor-corp', 'sess-1')).toBeUndefined();
        const theirs = { ...session, tenant: 'competitor-corp', callsUsed: 1 };
        await store.putSession(theirs);
        expect(await store.getSession('competitor-corp', 'sess-1')).toStrictEqual(theirs);
        expect(await store.getSession('acme-corp', 'sess-1')).toStrictEqual(next);
      });


      it('incidents, full and minimal', async () => {
        const store = await fresh();
        const full: IncidentRecord = {
          id: 'inc-1',
          time: T0,
          type: 'prompt_injection',
          severity: 'high',
          agentId: 'support-agent',
          tenant: 'acme-corp',
          decisionId: 'dec-1',
          description: 'tried to exfiltrate',
          reportedBy: 'detector',
        };
        const minimal: IncidentRecord = { id: 'inc-2', time: T0 + 1, type: 'manual', severity: 'low', agentId: 'a2', description: 'd', reportedBy: 'ops' };
        await store.createIncident(full);
        await store.createIncident(minimal);
        expect(await store.listIncidents({})).toStrictEqual([minimal, full]);
      });

      it('break-glass grants, full and minimal', async () => {
        const store = await fresh();
        const full: BreakGlassGrant = {
          id: 'bg-1',
          grantedBy: 'oncall',
          reason: 'outage',
          scope: { agentId: 'support-agent', tool: 'db_*', tenant: 'acme-corp' },
          createdAt: T0,
          expiresAt: T0 + 1000,
          revokedAt: T0 + 500,
          revokedBy: 'lead',
        };
        const minimal: BreakGlassGrant = { id: 'bg-2', grantedBy: 'oncall', reason: 'r', scope: {}, createdAt: T0 + 1, expiresAt: T0 + 2 };
        await store.createGrant(full);
        await store.createGrant(minimal);
        expect(await store.listGrants({})).toStrictEqual([full, minimal]);
      });

      it('relationships, policy bundles and tool pins', async () => {
        const store = await fresh();
        await store.addRelationship({ subject: 'user:1', relation: 'owner', object: 'doc:1' });
        expect(await store.relationshipsOf(['user:1'])).toStrictEqual([{ subject: 'user:1', relation: 'owner', object: 'doc:1' }]);

        const bundle: PolicyBundleRecord = { bundle: 'sha256:b1', loadedAt: T0, policies: [{ id: 'p', version: '1', file: 'p.yaml' }] };
        await store.recordPolicyBundle(bundle);
        expect(await store.listPolicyBundles(10)).toStrictEqual([bundle]);

        const pin: ToolPin = { tool: 'search_kb', hash: 'sha256:t', firstSeenAt: T0 };
        await store.putToolPin(pin);
        expect(await store.getToolPin('search_kb')).toStrictEqual(pin);
        const approved: ToolPin = { ...pin, approvedAt: T0 + 1, approvedBy: 'admin' };
        await store.putToolPin(approved);
        expect(await store.getToolPin('search_kb')).toStrictEqual(approved);
        expect(await store.getToolPin('other')).toBeUndefined();
      });
    });

    describe('agents and credentials', () => {
      it('setAgentStatus updates a known agent and returns undefined for an unknown one', async () => {
        const store = await fresh();
        await store.upsertAgent(agent());
        const updated = await store.setAgentStatus('support-agent', 'suspended', 'incident inc-1', T0 + 100);
        expect(updated).toStrictEqual(agent({ status: 'suspended', statusReason: 'incident inc-1', updatedAt: T0 + 100 }));
        expect(await store.getAgent('support-agent')).toStrictEqual(updated);
        expect(await store.setAgentStatus('ghost', 'suspended', 'x', T0)).toBeUndefined();
        expect(await store.getAgent('ghost')).toBeUndefined();
      });

      it('revokeCredentials revokes only live credentials of that kind and counts them', async () => {
        const store = await fresh();
        await store.upsertAgent(agent());
        await store.upsertAgent(agent({ id: 'other' }));
        const base = { agentId: 'support-agent', createdAt: T0 };
        await store.putCredential({ ...base, keyId: 'k1', kind: 'api_key', hash: 'sha256:1' });
        await store.putCredential({ ...base, keyId: 'k2', kind: 'api_key', hash: 'sha256:2' });
        await store.putCredential({ ...base, keyId: 'k3', kind: 'api_key', hash: 'sha256:3', revokedAt: T0 + 1 });
        await store.putCredential({ ...base, keyId: 'h1', kind: 'hmac', secretRef: '${secret:s}' });
        await store.putCredential({ agentId: 'other', createdAt: T0, keyId: 'o1', kind: 'api_key', hash: 'sha256:o' });

        expect(await store.revokeCredentials('support-agent', 'api_key', T0 + 50)).toBe(2);
        expect((await store.getCredential('k1'))?.revokedAt).toBe(T0 + 50);
        expect((await store.getCredential('k2'))?.revokedAt).toBe(T0 + 50);
        expect((await store.getCredential('k3'))?.revokedAt).toBe(T0 + 1);
        expect((await store.getCredential('h1'))?.revokedAt).toBeUndefined();
        expect((await store.getCredential('o1'))?.revokedAt).toBeUndefined();
        expect(await store.revokeCredentials('support-agent', 'api_key', T0 + 60)).toBe(0);
      });

      it('enforces foreign keys: a credential needs its agent, and updating the agent keeps its credentials', async () => {
        const store = await fresh();
        await expect(store.putCredential({ agentId: 'ghost', keyId: 'g', kind: 'api_key', hash: 'h', createdAt: T0 })).rejects.toThrow(errors.missingAgent);
        await store.upsertAgent(agent());
        await store.putCredential({ agentId: 'support-agent', keyId: 'k', kind: 'api_key', hash: 'h', createdAt: T0 });
        await store.upsertAgent(agent({ roles: ['changed'] }));
        expect(await store.getCredential('k')).toBeDefined();
      });
    });

    describe('replay guard', () => {
      it('accepts a request id once, refuses it while remembered, and accepts it again after expiry', async () => {
        let now = T0;
        const store = await fresh();
        expect(await store.rememberRequestId('a1', 'r1', now, T0 + 1000)).toBe(true);
        expect(await store.rememberRequestId('a1', 'r1', now, T0 + 1000)).toBe(false);
        expect(await store.rememberRequestId('a2', 'r1', now, T0 + 1000)).toBe(true);

        now = T0 + 999;
        expect(await store.rememberRequestId('a1', 'r1', now, T0 + 2000)).toBe(false);
        now = T0 + 1000;
        expect(await store.rememberRequestId('a1', 'r1', now, T0 + 2000)).toBe(true);
        // the replacement carries the new window
        now = T0 + 1500;
        expect(await store.rememberRequestId('a1', 'r1', now, T0 + 3000)).toBe(false);
      });

      it('prunes only expired ids', async () => {
        const store = await fresh();
        await store.rememberRequestId('a', 'old', T0, T0 + 10);
        await store.rememberRequestId('a', 'older', T0, T0 + 5);
        await store.rememberRequestId('a', 'live', T0, T0 + 100);
        expect(await store.pruneRequestIds(T0 + 10)).toBe(2);
        expect(await store.pruneRequestIds(T0 + 10)).toBe(0);
        expect(await store.rememberRequestId('a', 'live', T0, T0 + 200)).toBe(false);
        expect(await store.rememberRequestId('a', 'old', T0, T0 + 200)).toBe(true);
      });
    });

    describe('approval votes', () => {
      it('a quorum of 2 needs two distinct approvers', async () => {
        const store = await fresh();
        await store.createApproval(approval({ requirement: quorum(2) }));

        const first = await store.vote('apr-1', vote('alice'), T0 + 10);
        expect(first.ok).toBe(true);
        if (!first.ok) return;
        expect(first.quorumReached).toBe(false);
        expect(first.approval.status).toBe('pending');
        expect(first.approval.votes).toStrictEqual([vote('alice')]);

        const dup = await store.vote('apr-1', vote('alice', 'approve', T0 + 11), T0 + 11);
        expect(dup).toMatchObject({ ok: false, code: 'already_voted' });
        expect((await store.getApproval('apr-1'))?.votes).toHaveLength(1);

        const second = await store.vote('apr-1', vote('bob', 'approve', T0 + 12), T0 + 12);
        expect(second.ok && second.quorumReached).toBe(true);
        expect(second.ok && second.approval.status).toBe('approved');
        expect(second.ok && second.approval.votes.map((v) => v.approver)).toEqual(['alice', 'bob']);
        expect((await store.getApproval('apr-1'))?.status).toBe('approved');
        // approved is not settled: the args are still there to execute
        expect((await store.getApproval('apr-1'))?.args).toEqual(approval().args);
      });

      it('a quorum of 1 is reached by the first approve', async () => {
        const store = await fresh();
        await store.createApproval(approval());
        const outcome = await store.vote('apr-1', vote('alice'), T0 + 10);
        expect(outcome).toMatchObject({ ok: true, quorumReached: true, approval: { status: 'approved' } });
      });

      it('a deny settles it as denied', async () => {
        const store = await fresh();
        await store.createApproval(approval({ requirement: quorum(2) }));
        await store.vote('apr-1', vote('alice'), T0 + 10);
        const denied = await store.vote('apr-1', vote('carol', 'deny'), T0 + 20);
        expect(denied.ok).toBe(true);
        if (!denied.ok) return;
        expect(denied.quorumReached).toBe(false);
        expect(denied.approval.status).toBe('denied');
        expect(denied.approval.settledAt).toBe(T0 + 20);
        expect(denied.approval.votes.map((v) => v.vote)).toEqual(['approve', 'deny']);
        expect(denied.approval.args).toBeUndefined();
        expect(denied.approval.argsRedacted).toEqual(approval().argsRedacted);
      });

      it('voting on a settled approval is refused as not_pending, with the approval', async () => {
        const store = await fresh();
        await store.createApproval(approval());
        await store.vote('apr-1', vote('alice', 'deny'), T0 + 10);
        const late = await store.vote('apr-1', vote('bob'), T0 + 11);
        expect(late).toMatchObject({ ok: false, code: 'not_pending', approval: { id: 'apr-1', status: 'denied' } });
        expect((await store.getApproval('apr-1'))?.votes).toHaveLength(1);

        await store.createApproval(approval({ id: 'apr-2' }));
        await store.vote('apr-2', vote('alice'), T0 + 10);
        expect(await store.vote('apr-2', vote('bob'), T0 + 11)).toMatchObject({ ok: false, code: 'not_pending', approval: { status: 'approved' } });
      });

      it('an expired approval is refused and marked expired', async () => {
        const store = await fresh();
        await store.createApproval(approval({ expiresAt: T0 + 100 }));
        const outcome = await store.vote('apr-1', vote('alice'), T0 + 100);
        expect(outcome).toMatchObject({ ok: false, code: 'expired', approval: { status: 'expired', settledAt: T0 + 100 } });
        const stored = await store.getApproval('apr-1');
        expect(stored?.status).toBe('expired');
        expect(stored?.votes).toEqual([]);
        expect(stored?.args).toBeUndefined();
        expect(await store.vote('apr-1', vote('bob'), T0 + 101)).toMatchObject({ ok: false, code: 'not_pending' });
      });

      it('an unknown approval is not_found', async () => {
        const store = await fresh();
        const outcome = await store.vote('nope', vote('alice'), T0);
        expect(outcome).toMatchObject({ ok: false, code: 'not_found' });
        expect(outcome.ok === false && outcome.approval).toBeUndefined();
      });
    });

    describe('approval lifecycle', () => {
      it('claim is granted once, only for approved; settle clears the frozen args', async () => {
        const store = await fresh();
        await store.createApproval(approval());
        expect(await store.claimApprovalForExecution('apr-1')).toBeUndefined(); // still pending
        await store.vote('apr-1', vote('alice'), T0 + 10);

        const claimed = await store.claimApprovalForExecution('apr-1');
        expect(claimed?.status).toBe('executing');
        expect(claimed?.args).toEqual(approval().args);
        expect(claimed?.votes).toHaveLength(1);
        expect(await store.claimApprovalForExecution('apr-1')).toBeUndefined();
        expect(await store.claimApprovalForExecution('missing')).toBeUndefined();

        await store.settleApproval('apr-1', 'executed', { refunded: 250 }, T0 + 99);
        const settled = await store.getApproval('apr-1');
        const expected: ApprovalRecord = { ...approval(), status: 'executed', votes: [vote('alice')], result: { refunded: 250 }, settledAt: T0 + 99 };
        delete expected.args;
        expect(settled).toStrictEqual(expected);
        expect(settled && 'args' in settled).toBe(false);
        expect(settled?.argsHash).toBe('sha256:abc');
        expect(await store.claimApprovalForExecution('apr-1')).toBeUndefined();
      });

      it('settle as failed without a result', async () => {
        const store = await fresh();
        await store.createApproval(approval({ status: 'executing' }));
        await store.settleApproval('apr-1', 'failed', undefined, T0 + 5);
        const failed = await store.getApproval('apr-1');
        expect(failed?.status).toBe('failed');
        expect(failed?.settledAt).toBe(T0 + 5);
        expect(failed && 'result' in failed).toBe(false);
        expect(failed?.args).toBeUndefined();
      });

      it('expireApprovals expires pending ones whose time ran out, and returns them', async () => {
        const store = await fresh();
        await store.createApproval(approval({ id: 'a', expiresAt: T0 + 100 }));
        await store.createApproval(approval({ id: 'b', expiresAt: T0 + 50 }));
        await store.createApproval(approval({ id: 'c', expiresAt: T0 + 101 }));
        await store.createApproval(approval({ id: 'd', expiresAt: T0 + 10, status: 'approved' }));

        const expired = await store.expireApprovals(T0 + 100);
        expect(expired.map((a) => a.id).sort()).toEqual(['a', 'b']);
        expect(expired.every((a) => a.status === 'expired' && a.settledAt === T0 + 100)).toBe(true);
        expect((await store.getApproval('c'))?.status).toBe('pending');
        expect((await store.getApproval('d'))?.status).toBe('approved');
        expect(await store.expireApprovals(T0 + 100)).toEqual([]);
      });

      it('listApprovals filters by status and tenant, newest first, with a limit', async () => {
        const store = await fresh();
        await store.createApproval(approval({ id: 'a', createdAt: T0 + 1 }));
        await store.createApproval(approval({ id: 'b', createdAt: T0 + 2, tenant: 'globex' }));
        await store.createApproval(approval({ id: 'c', createdAt: T0 + 3, status: 'denied' }));
        await store.createApproval(approval({ id: 'd', createdAt: T0 + 4 }));
        await store.vote('d', vote('alice', 'approve'), T0 + 5);
        await store.createApproval(approval({ id: 'e', createdAt: T0 + 5, requirement: quorum(3) }));
        await store.vote('e', vote('zed'), T0 + 6);

        expect((await store.listApprovals({})).map((a) => a.id)).toEqual(['e', 'd', 'c', 'b', 'a']);
        expect((await store.listApprovals({ status: 'pending' })).map((a) => a.id)).toEqual(['e', 'b', 'a']);
        expect((await store.listApprovals({ status: 'pending', tenant: 'acme-corp' })).map((a) => a.id)).toEqual(['e', 'a']);
        expect((await store.listApprovals({ limit: 2 })).map((a) => a.id)).toEqual(['e', 'd']);
        const [e] = await store.listApprovals({ status: 'pending', limit: 1 });
        expect(e?.votes).toStrictEqual([vote('zed')]);
      });
    });

    describe('the approval a retried call resolves to', () => {
      const call = { agentId: 'refund-agent', tenant: 'acme-corp', userId: 'user-7', tool: 'issue_refund', argsHash: 'sha256:abc', since: T0 };

      it('is the newest of any status for the same agent, tenant, user, tool and arguments', async () => {
        const store = await fresh();
        expect(await store.findApprovalForRetry(call)).toBeUndefined();
        await store.createApproval(approval({ id: 'old', createdAt: T0 + 1, status: 'expired' }));
        await store.createApproval(approval({ id: 'new', createdAt: T0 + 2 }));
        await store.vote('new', vote('alice'), T0 + 3);
        await store.claimApprovalForExecution('new');
        await store.settleApproval('new', 'executed', { refunded: 250 }, T0 + 4);
        // Settled: the stored result answers, the frozen arguments are gone, the votes come along.
        const found = await store.findApprovalForRetry(call);
        expect(found).toMatchObject({ id: 'new', status: 'executed', result: { refunded: 250 }, settledAt: T0 + 4 });
        expect(found?.args).toBeUndefined();
        expect(found?.votes).toStrictEqual([vote('alice')]);
        await store.createApproval(approval({ id: 'denied', createdAt: T0 + 5 }));
        await store.vote('denied', vote('bob', 'deny'), T0 + 6);
        expect(await store.findApprovalForRetry(call)).toMatchObject({ id: 'denied', status: 'denied', votes: [{ approver: 'bob', vote: 'deny' }] });
      });

      it('never another agent, tenant, user, tool or arguments; nothing opened before `since`', async () => {
        const store = await fresh();
        await store.createApproval(approval({ id: 'other-agent', agentId: 'other-agent' }));
        await store.createApproval(approval({ id: 'other-tenant', tenant: 'globex' }));
        await store.createApproval(approval({ id: 'other-user', userId: 'user-8' }));
        await store.createApproval(approval({ id: 'no-user', userId: undefined }));
        await store.createApproval(approval({ id: 'other-tool', tool: 'refund_all' }));
        await store.createApproval(approval({ id: 'other-args', argsHash: 'sha256:def' }));
        expect(await store.findApprovalForRetry(call)).toBeUndefined();
        expect((await store.findApprovalForRetry({ ...call, agentId: 'other-agent' }))?.id).toBe('other-agent');
        expect((await store.findApprovalForRetry({ ...call, userId: undefined }))?.id).toBe('no-user');
        await store.createApproval(approval({ id: 'mine', createdAt: T0 + 10 }));
        expect((await store.findApprovalForRetry(call))?.id).toBe('mine');
        expect(await store.findApprovalForRetry({ ...call, since: T0 + 11 })).toBeUndefined();
      });
    });

    describe('the exactly-once gate under a race', () => {
      it.skipIf(!options.openPair)('two stores on the same data: exactly one claim per approval succeeds', async () => {
        const [a, b] = await pair();
        const ids = await seedApproved(a, 50, 'race');

        const results = await Promise.all(
          ids.flatMap((id) => [
            a.claimApprovalForExecution(id).then((r) => ({ id, by: 'a', r })),
            b.claimApprovalForExecution(id).then((r) => ({ id, by: 'b', r })),
            b.claimApprovalForExecution(id).then((r) => ({ id, by: 'b', r })),
            a.claimApprovalForExecution(id).then((r) => ({ id, by: 'a', r })),
          ]),
        );
        for (const id of ids) {
          const winners = results.filter((x) => x.id === id && x.r !== undefined);
          expect(winners, id).toHaveLength(1);
          expect(winners[0]?.r?.status).toBe('executing');
        }
        const statuses = await a.listApprovals({ status: 'executing', limit: 1000 });
        expect(statuses).toHaveLength(50);
      });
    });

    describe('decision log', () => {
      it('appendDecisions is all or nothing: a duplicate seq or id in a batch inserts nothing', async () => {
        const store = await fresh();
        await expect(store.appendDecisions([decision(1), decision(2), decision(2, { id: 'other' })])).rejects.toThrow(errors.duplicateSeq);
        expect(await store.lastDecision()).toBeUndefined();
        expect(await store.scanDecisions(0, 100)).toEqual([]);

        await expect(store.appendDecisions([decision(1), decision(2, { id: 'dec-1' })])).rejects.toThrow(errors.duplicateId);
        expect(await store.scanDecisions(0, 100)).toEqual([]);

        await store.appendDecisions([decision(1), decision(2)]);
        await expect(store.appendDecisions([decision(3), decision(2, { id: 'x' })])).rejects.toThrow();
        expect((await store.scanDecisions(0, 100)).map((d) => d.seq)).toEqual([1, 2]);
        expect((await store.lastDecision())?.seq).toBe(2);
      });

      it('lastDecision is the highest seq, whatever the insert order', async () => {
        const store = await fresh();
        await store.appendDecisions([decision(5), decision(3)]);
        await store.appendDecisions([decision(4)]);
        expect((await store.lastDecision())?.seq).toBe(5);
        await store.appendDecisions([]);
        expect((await store.lastDecision())?.seq).toBe(5);
      });

      async function seeded(): Promise<Store> {
        const store = await fresh();
        const records: DecisionRecord[] = [];
        for (let seq = 1; seq <= 12; seq++) {
          records.push(
            decision(seq, {
              agentId: seq % 2 === 0 ? 'even-agent' : 'odd-agent',
              resourceId: seq % 3 === 0 ? 'issue_refund' : 'search_kb',
              effect: seq % 4 === 0 ? 'deny' : seq % 4 === 1 ? 'require_approval' : 'allow',
              tenant: seq <= 6 ? 'acme-corp' : 'globex',
              sessionId: seq === 7 ? 'sess-7' : 'sess-1',
            }),
          );
        }
        await store.appendDecisions(records);
        return store;
      }

      const seqs = (records: DecisionRecord[]): number[] => records.map((r) => r.seq);

      it('decisionStats groups the series into whole buckets', async () => {
        const store = await seeded(); // records one second apart from T0 + 1 s
        const stats = await store.decisionStats(0, 5_000);
        expect(stats.total).toBe(12);
        expect(stats.series.map((p) => p.at)).toEqual([T0, T0 + 5_000, T0 + 10_000]);
        expect(stats.series.map((p) => p.allow + p.deny + p.require_approval)).toEqual([4, 5, 3]);
      });

      it('queryDecisions filters by each field, newest first by default', async () => {
        const store = await seeded();
        expect(seqs(await store.queryDecisions({}))).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
        expect(seqs(await store.queryDecisions({ agentId: 'even-agent' }))).toEqual([12, 10, 8, 6, 4, 2]);
        expect(seqs(await store.queryDecisions({ tool: 'issue_refund' }))).toEqual([12, 9, 6, 3]);
        expect(seqs(await store.queryDecisions({ effect: 'deny' }))).toEqual([12, 8, 4]);
        expect(seqs(await store.queryDecisions({ effect: 'require_approval' }))).toEqual([9, 5, 1]);
        expect(seqs(await store.queryDecisions({ tenant: 'globex' }))).toEqual([12, 11, 10, 9, 8, 7]);
        expect(seqs(await store.queryDecisions({ sessionId: 'sess-7' }))).toEqual([7]);
        expect(seqs(await store.queryDecisions({ since: T0 + 10_000 }))).toEqual([12, 11, 10]);
        expect(seqs(await store.queryDecisions({ until: T0 + 2000 }))).toEqual([2, 1]);
        expect(seqs(await store.queryDecisions({ since: T0 + 3000, until: T0 + 5000 }))).toEqual([5, 4, 3]);
        expect(seqs(await store.queryDecisions({ afterSeq: 9 }))).toEqual([12, 11, 10]);
        expect(seqs(await store.queryDecisions({ agentId: 'even-agent', tool: 'issue_refund', tenant: 'acme-corp' }))).toEqual([6]);
        expect(await store.queryDecisions({ agentId: 'nobody' })).toEqual([]);
      });

      it('queryDecisions orders and limits', async () => {
        const store = await seeded();
        expect(seqs(await store.queryDecisions({ order: 'asc', limit: 3 }))).toEqual([1, 2, 3]);
        expect(seqs(await store.queryDecisions({ order: 'desc', limit: 3 }))).toEqual([12, 11, 10]);
        expect(seqs(await store.queryDecisions({ order: 'asc', afterSeq: 10 }))).toEqual([11, 12]);
        expect(await store.queryDecisions({ limit: 0 })).toEqual([]);
        expect(await store.queryDecisions({ limit: -5 })).toEqual([]);
      });

      it('queryDecisions defaults to 100 records and caps at 10,000', async () => {
        const store = await fresh();
        const batch: DecisionRecord[] = [];
        for (let seq = 1; seq <= 10_005; seq++) batch.push(minimalDecision(seq));
        await store.appendDecisions(batch);
        const page = await store.queryDecisions({});
        expect(page).toHaveLength(100);
        expect(page[0]?.seq).toBe(10_005);
        expect(await store.queryDecisions({ limit: 50_000 })).toHaveLength(10_000);
        expect(await store.scanDecisions(0, 50_000)).toHaveLength(10_000);
      });

      it('scanDecisions pages through everything in seq order', async () => {
        const store = await seeded();
        const seen: number[] = [];
        let after = 0;
        let pages = 0;
        for (;;) {
          const page = await store.scanDecisions(after, 5);
          if (page.length === 0) break;
          pages += 1;
          expect(page.length).toBeLessThanOrEqual(5);
          seen.push(...seqs(page));
          after = page[page.length - 1]!.seq;
        }
        expect(pages).toBe(3);
        expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
        expect(seqs(await store.scanDecisions(10, 100))).toEqual([11, 12]);
      });
    });

    describe('break-glass grants', () => {
      it('listGrants({activeAt}) keeps only unrevoked grants in [createdAt, expiresAt)', async () => {
        const store = await fresh();
        await store.createGrant({ id: 'g1', grantedBy: 'ops', reason: 'r', scope: { tool: 'db_*' }, createdAt: 100, expiresAt: 200 });
        await store.createGrant({ id: 'g2', grantedBy: 'ops', reason: 'r', scope: {}, createdAt: 150, expiresAt: 300 });
        await store.createGrant({ id: 'g3', grantedBy: 'ops', reason: 'r', scope: {}, createdAt: 100, expiresAt: 300, revokedAt: 120, revokedBy: 'lead' });
        const active = async (at: number): Promise<string[]> => (await store.listGrants({ activeAt: at })).map((g) => g.id);
        expect(await active(99)).toEqual([]);
        expect(await active(100)).toEqual(['g1']);
        expect(await active(199)).toEqual(['g1', 'g2']);
        expect(await active(200)).toEqual(['g2']);
        expect(await active(300)).toEqual([]);
        expect((await store.listGrants({})).map((g) => g.id)).toEqual(['g1', 'g3', 'g2']);
      });

      it('revokeGrant returns the revoked grant, undefined when unknown, and keeps the first revocation', async () => {
        const store = await fresh();
        await store.createGrant({ id: 'g1', grantedBy: 'ops', reason: 'r', scope: {}, createdAt: 100, expiresAt: 200 });
        const revoked = await store.revokeGrant('g1', 'lead', 150);
        expect(revoked).toStrictEqual({ id: 'g1', grantedBy: 'ops', reason: 'r', scope: {}, createdAt: 100, expiresAt: 200, revokedAt: 150, revokedBy: 'lead' });
        expect(await store.listGrants({ activeAt: 160 })).toEqual([]);
        expect(await store.revokeGrant('g1', 'someone-else', 170)).toStrictEqual(revoked);
        expect(await store.revokeGrant('missing', 'lead', 150)).toBeUndefined();
      });
    });

    describe('relationships', () => {
      it('adds idempotently, finds by subject, removes', async () => {
        const store = await fresh();
        const t1 = { subject: 'user:alice', relation: 'member', object: 'team:support' };
        const t2 = { subject: 'user:alice', relation: 'owner', object: 'doc:1' };
        const t3 = { subject: 'team:support', relation: 'viewer', object: 'folder:kb' };
        const t4 = { subject: 'user:bob', relation: 'member', object: 'team:billing' };
        for (const t of [t1, t2, t3, t4, t1]) await store.addRelationship(t);

        expect(await store.relationshipsOf([])).toEqual([]);
        expect(await store.relationshipsOf(['user:alice'])).toStrictEqual([t1, t2]);
        expect(await store.relationshipsOf(['user:alice', 'team:support', 'user:alice'])).toStrictEqual([t3, t1, t2]);
        expect(await store.relationshipsOf(['user:nobody'])).toEqual([]);

        await store.removeRelationship(t1);
        expect(await store.relationshipsOf(['user:alice'])).toStrictEqual([t2]);
      });

      it('handles more subjects than one IN list holds', async () => {
        const store = await fresh();
        for (let i = 0; i < 1200; i++) await store.addRelationship({ subject: `user:${i}`, relation: 'member', object: 'team:x' });
        const subjects = Array.from({ length: 1500 }, (_, i) => `user:${i}`);
        expect(await store.relationshipsOf(subjects)).toHaveLength(1200);
      });
    });

    describe('incidents, bundles', () => {
      it('listIncidents filters by agent and since, newest first, with a limit', async () => {
        const store = await fresh();
        for (let i = 1; i <= 5; i++) {
          await store.createIncident({ id: `i${i}`, time: T0 + i, type: 't', severity: 'low', agentId: i % 2 ? 'odd' : 'even', description: 'd', reportedBy: 'x' });
        }
        expect((await store.listIncidents({})).map((i) => i.id)).toEqual(['i5', 'i4', 'i3', 'i2', 'i1']);
        expect((await store.listIncidents({ agentId: 'odd' })).map((i) => i.id)).toEqual(['i5', 'i3', 'i1']);
        expect((await store.listIncidents({ since: T0 + 4 })).map((i) => i.id)).toEqual(['i5', 'i4']);
        expect((await store.listIncidents({ agentId: 'odd', limit: 1 })).map((i) => i.id)).toEqual(['i5']);
      });

      it('listPolicyBundles returns the most recent loads first', async () => {
        const store = await fresh();
        for (let i = 1; i <= 4; i++) await store.recordPolicyBundle({ bundle: `sha256:b${i}`, loadedAt: T0 + i, policies: [] });
        await store.recordPolicyBundle({ bundle: 'sha256:b1', loadedAt: T0 + 9, policies: [] });
        expect((await store.listPolicyBundles(3)).map((b) => b.bundle)).toEqual(['sha256:b1', 'sha256:b4', 'sha256:b3']);
      });
    });

    describe('checkpoints of the decision log', () => {
      const checkpoint = (seq: number, keyId = 'ed25519:aaaaaaaaaaaaaaaa'): CheckpointRecord => ({ seq, hash: `sha256:${String(seq).padStart(64, '0')}`, time: T0 + seq, keyId, signature: `sig-${seq}-${keyId}` });

      it('round-trips, keeps the first checkpoint of a seq, and finds the newest (of a key)', async () => {
        const store = await fresh();
        expect(await store.lastCheckpoint()).toBeUndefined();
        expect(await store.addCheckpoint(checkpoint(10))).toBe(true);
        expect(await store.addCheckpoint(checkpoint(30, 'ed25519:bbbbbbbbbbbbbbbb'))).toBe(true);
        expect(await store.addCheckpoint(checkpoint(20))).toBe(true);
        // A second writer signing the same head: the first checkpoint stays.
        expect(await store.addCheckpoint(checkpoint(20, 'ed25519:bbbbbbbbbbbbbbbb'))).toBe(false);
        expect(await store.lastCheckpoint()).toStrictEqual(checkpoint(30, 'ed25519:bbbbbbbbbbbbbbbb'));
        expect(await store.lastCheckpoint('ed25519:aaaaaaaaaaaaaaaa')).toStrictEqual(checkpoint(20));
        expect(await store.lastCheckpoint('ed25519:cccccccccccccccc')).toBeUndefined();
      });

      it('scanCheckpoints pages through every checkpoint in seq order', async () => {
        const store = await fresh();
        for (const seq of [5, 1, 4, 2, 3]) await store.addCheckpoint(checkpoint(seq * 100));
        expect((await store.scanCheckpoints(0, 2)).map((c) => c.seq)).toEqual([100, 200]);
        expect((await store.scanCheckpoints(200, 10)).map((c) => c.seq)).toEqual([300, 400, 500]);
        expect(await store.scanCheckpoints(500, 10)).toEqual([]);
        expect((await store.scanCheckpoints(0, 10))[2]).toStrictEqual(checkpoint(300));
      });
    });

  });
}
