import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import type { Credentials, ToolCall } from '../../src/enforcement/exchange.js';
import { createWarden } from '../../src/services/warden.js';
import type { DecisionRecord } from '../../src/store/records.js';
import { EXAMPLE_POLICIES, nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';
import { runWarden as warden, startGateway, type Gateway } from './processes.js';

/**
 * The operator commands (approvals, break-glass, agents) as people run them: votes and grants
 * through a real `warden serve` with each person's token; suspensions with --local-admin on a
 * database no gateway serves. test/cli/authenticated-operations.test.ts covers who may do what.
 */
const tempDir = () => mkdtempSync(join(tmpdir(), 'warden-ops-'));
const OS_USER = userInfo().username;

function call(agentId: string, tool: string, args: unknown, extra: Partial<ToolCall> = {}): ToolCall {
  return { agentId, tool, args, requestId: nextRequestId(), tenant: 'acme-corp', ...extra };
}

const TOKENS = {
  alan: 'ops-alan-token-45c48cce2e2d7fbd', // approver, no business role
  sam: 'ops-sam-token-d3d9446802a44259', // approver, support
  olga: 'ops-olga-token-6512bd43d9caa6e0', // finance manager of competitor-corp
  fiona: 'ops-fiona-token-c20ad4d76fe97759',
  frank: 'ops-frank-token-c51ce410c124a10e',
  pat: 'ops-pat-token-aab3238922bcc25a', // project owner
  ciso: 'ops-ciso-token-9bf31c7ff062936a', // admin of every tenant
};
const HUMANS = `
humans:
  tokens:
    - { id: alan, token_hash: "${sha256(TOKENS.alan)}", roles: [approver], tenant: acme-corp }
    - { id: sam, token_hash: "${sha256(TOKENS.sam)}", roles: [approver, support], tenant: acme-corp }
    - { id: olga, token_hash: "${sha256(TOKENS.olga)}", roles: [approver, finance_manager], tenant: competitor-corp }
    - { id: fiona, token_hash: "${sha256(TOKENS.fiona)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: frank, token_hash: "${sha256(TOKENS.frank)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: pat, token_hash: "${sha256(TOKENS.pat)}", roles: [approver, project_owner], tenant: acme-corp }
    - { id: ciso, token_hash: "${sha256(TOKENS.ciso)}", roles: [admin] }
server: { watch_policies: false }
`;

describe('warden approvals and break-glass', () => {
  let h: Harness;
  let gateway: Gateway;
  let config: string;
  let forApprove: string;
  let forDeny: string;
  let fionasOwn: string;
  let deletion: string;
  const refundCalls = () => h.tools.calls.filter((c) => c.tool === 'issue_refund');
  const as = (who: keyof typeof TOKENS) => ({ WARDEN_URL: gateway.url, WARDEN_TOKEN: TOKENS[who] });

  beforeAll(async () => {
    // delete_file (no executor) needs two project owners: for the "n of quorum" case.
    h = await startHarness(`  - { name: delete_file, effect: destructive, risk: high }\n${HUMANS}`, { realClock: true });
    config = join(h.dir, 'warden.yaml');
    const key: Credentials = { kind: 'api_key', key: h.keys['refund-agent']! };
    const refund = async (order: string, user?: { id: string }) => {
      const result = await h.warden.call(call('refund-agent', 'issue_refund', { order_id: order, amount: 250 }, { user }), key);
      expect(result.status).toBe('pending_approval');
      return result.approvalId!;
    };
    forApprove = await refund('o-456');
    forDeny = await refund('o-457');
    fionasOwn = await refund('o-458', { id: 'fiona' });
    const del = await h.warden.call(call('admin-agent', 'delete_file', { path: '/workspace/atlas/old.txt' }), { kind: 'trusted' });
    expect(del.status).toBe('pending_approval');
    deletion = del.approvalId!;
    // The gateway serves the same database: one writer at a time.
    await h.warden.close();
    gateway = await startGateway(config);
  });

  afterAll(async () => {
    await gateway?.stop();
    await h?.tools.close();
  });

  it('lists the pending refunds as a table and as JSON (without the frozen arguments)', async () => {
    const run = await warden(['approvals', 'list', '--config', config]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATUS +AGENT +TOOL +TENANT +EXPIRES +REASON$/);
    const row = lines.find((l) => l.startsWith(forApprove))!;
    expect(row).toMatch(/ pending +refund-agent +issue_refund +acme-corp +in (59m( \d+s)?|1h) +Refunds over 100 need a finance manager/);
    const json = JSON.parse((await warden(['approvals', 'list', '--config', config, '--status', 'pending', '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(json.map((a) => a.id).sort()).toEqual([forApprove, forDeny, fionasOwn, deletion].sort());
    const approval = json.find((a) => a.id === forApprove)!;
    expect(approval).toMatchObject({ status: 'pending', agentId: 'refund-agent', tool: 'issue_refund', argsRedacted: { order_id: 'o-456', amount: 250 } });
    expect(approval).not.toHaveProperty('args');
    const none = await warden(['approvals', 'list', '--db', join(h.dir, 'warden.db'), '--status', 'executed']);
    expect(none).toMatchObject({ code: 0, stdout: 'no approvals with status executed\n' });
  });

  it('refuses a voter without the role, from another tenant, or approving their own request (exit 1)', async () => {
    const noRole = await warden(['approvals', 'approve', forApprove, '--reason', 'looks fine'], as('alan'));
    expect(noRole.code).toBe(1);
    expect(noRole.stderr).toMatch(/^error: refused \(403 approval-forbidden\): alan is not an approver for this request \(needs role:finance_manager\)\n {2}code: forbidden\nhint: /);
    const wrongRole = await warden(['approvals', 'approve', forApprove, '--reason', 'x'], as('sam'));
    expect(wrongRole.code).toBe(1);
    const otherTenant = await warden(['approvals', 'approve', forApprove, '--reason', 'x'], as('olga'));
    expect(otherTenant.code).toBe(1);
    // Another tenant's approval is, to olga, no approval at all.
    expect(otherTenant.stderr).toBe(`error: refused (404 approval-not-found): no approval "${forApprove}"\n  code: not_found\n`);
    const self = await warden(['approvals', 'approve', fionasOwn, '--reason', 'mine'], as('fiona'));
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('fiona asked for this action and may not approve it themselves');
    expect(await warden(['approvals', 'approve', 'apr_nope', '--reason', 'x'], as('fiona'))).toMatchObject({
      code: 1,
      stderr: 'error: refused (404 approval-not-found): no approval "apr_nope"\n  code: not_found\n',
    });
    expect(refundCalls()).toHaveLength(0);
  });

  it('approves a refund, which executes it exactly once; a second approve is refused', async () => {
    const run = await warden(['approvals', 'approve', forApprove, '--reason', 'verified with the customer'], as('fiona'));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^approved and executed: ${forApprove} \\(refund-agent → issue_refund, tenant acme-corp\\)\\nresult: \\{.*"refund_id":"rf-1".*\\}\\n$`));
    expect(refundCalls()).toHaveLength(1);
    expect(refundCalls()[0]!.args).toEqual({ order_id: 'o-456', amount: 250 });
    const again = await warden(['approvals', 'approve', forApprove, '--reason', 'me too'], as('frank'));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: refused \(409 approval-not-pending\): /);
    expect(refundCalls()).toHaveLength(1);
    const listed = JSON.parse((await warden(['approvals', 'list', '--status', 'executed', '--json', '--config', config])).stdout) as Array<{ id: string }>;
    expect(listed.map((a) => a.id)).toEqual([forApprove]);
  });

  it('denies a refund, which then never runs', async () => {
    const run = await warden(['approvals', 'deny', forDeny, '--reason', 'customer did not ask'], as('frank'));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`denied: ${forDeny} (refund-agent → issue_refund, tenant acme-corp) by frank; it will not run\n`);
    expect((await warden(['approvals', 'approve', forDeny, '--reason', 'x'], as('fiona'))).code).toBe(1);
    expect(refundCalls()).toHaveLength(1);
  });

  it('reports a vote short of the quorum as still pending', async () => {
    const run = await warden(['approvals', 'approve', deletion, '--reason', 'stale file'], as('pat'));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`vote recorded: ${deletion} (admin-agent → delete_file, tenant acme-corp) is still pending, 1 of 2 approvals\n`);
    const twice = await warden(['approvals', 'approve', deletion, '--reason', 'again'], as('pat'));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^error: refused \(409 approval-already-voted\)/);
  });

  it('exits 2 on usage errors', async () => {
    const noReason = await warden(['approvals', 'approve', forDeny], as('frank'));
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    expect((await warden(['approvals', 'deny', forDeny, '--reason', '  '], as('frank'))).code).toBe(2);
    expect((await warden(['approvals', 'approve', '--reason', 'x'], as('frank'))).code).toBe(2);
    expect((await warden(['approvals', 'list', '--status', 'maybe', '--config', config])).code).toBe(2);
    // Neither a gateway nor --local-admin: nothing says who is acting.
    expect((await warden(['approvals', 'deny', forDeny, '--reason', 'x', '--config', config])).code).toBe(2);
  });

  it('grants break-glass within the maximum, lists it while active, and revokes it', async () => {
    const tooLong = await warden(['break-glass', 'grant', '--reason', 'outage', '--for', '2h'], as('ciso'));
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toBe('error: refused (400 bad-request): a break-glass grant may last at most 1h\n');
    // A missing or blank --reason is a usage error (2), as for approvals; the gateway refuses a blank one too.
    const noReason = await warden(['break-glass', 'grant', '--for', '15m'], as('ciso'));
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    const blankReason = await warden(['break-glass', 'grant', '--reason', ' ', '--for', '15m'], as('ciso'));
    expect(blankReason.code).toBe(2);
    expect(blankReason.stderr).toContain('--reason must not be empty');

    const run = await warden(['break-glass', 'grant', '--reason', 'refund backlog during outage', '--agent', 'support-agent', '--tool', 'issue_*', '--tenant', 'acme-corp', '--for', '15m'], as('ciso'));
    expect(run.code).toBe(0);
    const id = /^granted: (bg_[0-9a-f-]+)$/m.exec(run.stdout)?.[1];
    expect(id).toBeDefined();
    expect(run.stdout).toMatch(/^expires: \d{4}-\d\d-\d\dT[\d:.]+Z \(in 15m\)$/m);
    expect(run.stdout).toContain('scope:   agent support-agent, tool issue_*, tenant acme-corp');

    // The grant is honoured by the gateway.
    const allowed = await fetch(`${gateway.url}/v1/tools/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.keys['support-agent']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'issue_refund', arguments: { order_id: 'o-9', amount: 5 } }),
    });
    expect(((await allowed.json()) as { decision: { breakGlass?: { grant: string } } }).decision.breakGlass?.grant).toBe(id);

    const active = await warden(['break-glass', 'list', '--active', '--config', config]);
    expect(active.code).toBe(0);
    expect(active.stdout).toMatch(new RegExp(`^${id} +active +ciso +agent support-agent, tool issue_\\*, tenant acme-corp +in 1[45]m( \\d+s)? +refund backlog during outage$`, 'm'));
    const revoke = await warden(['break-glass', 'revoke', id!], as('ciso'));
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toMatch(new RegExp(`^revoked: ${id} by ciso at `));
    expect((await warden(['break-glass', 'list', '--active', '--config', config])).stdout).toBe('no active break-glass grants\n');
    const all = JSON.parse((await warden(['break-glass', 'list', '--json', '--db', join(h.dir, 'warden.db')])).stdout) as Array<Record<string, unknown>>;
    expect(all).toEqual([expect.objectContaining({ id, state: 'revoked', revokedBy: 'ciso', grantedBy: 'ciso' })]);
    expect((await warden(['break-glass', 'revoke', 'bg_nope'], as('ciso'))).code).toBe(1);
    expect((await warden(['break-glass', 'grant', '--reason', 'x', '--for', 'soon'], as('ciso'))).code).toBe(2);
    expect((await warden(['break-glass', 'grant', '--reason', 'x'], as('ciso'))).code).toBe(2);
  });

  it('leaves a decision log that still verifies, with every operator action in it', async () => {
    // Stopped first: the gateway writes what its log still holds as it exits.
    expect(await gateway.stop()).toBe(0);
    const verify = await warden(['audit', 'verify', '--config', config]);
    expect(verify.code).toBe(0);
    const records = (await warden(['audit', 'export', '--config', config])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    const votes = records.filter((r) => r.stage === 'approval' && r.approvalId === forApprove);
    expect(votes.map((r) => r.userId)).toEqual(['fiona']);
    expect(records.filter((r) => r.action === 'break_glass.grant' || r.action === 'break_glass.revoke').map((r) => [r.action, r.userId])).toEqual([
      ['break_glass.grant', 'ciso'],
      ['break_glass.revoke', 'ciso'],
    ]);
  });
});

describe('warden agents', () => {
  let h: Harness;
  let config: string;

  beforeAll(async () => {
    h = await startHarness('', { realClock: true });
    config = join(h.dir, 'warden.yaml');
    await h.warden.close();
  });

  afterAll(async () => {
    await h?.tools.close();
  });

  it('creates a key, shown once, with a credential line warden.yaml accepts', async () => {
    const run = await warden(['agents', 'create-key', 'support-agent']);
    expect(run.code).toBe(0);
    const key = /^ {2}(wk_\S+)$/m.exec(run.stdout)?.[1];
    expect(key).toMatch(/^wk_[A-Za-z0-9]+_[A-Za-z0-9_-]+$/);
    const credential = /^ {2}- (\{ key_id: [A-Za-z0-9]+, api_key_hash: "sha256:[0-9a-f]{64}" \})$/m.exec(run.stdout)?.[1];
    expect(credential).toBeDefined();
    expect(run.stdout.split(key!).length).toBe(2); // printed exactly once
    expect(run.stderr).toContain('warning: the key is shown only once');

    const dir = tempDir();
    const file = join(dir, 'warden.yaml');
    writeFileSync(
      file,
      `storage: sqlite:./warden.db\npolicies: ${EXAMPLE_POLICIES}\nagents:\n  - id: support-agent\n    roles: [support]\n    tenant: acme-corp\n    credentials:\n      - ${credential}\ntools:\n  - { name: search_knowledge_base, effect: read, risk: low }\n`,
    );
    const gateway = await createWarden({ config: file });
    try {
      const request = (k: string) => gateway.call(call('support-agent', 'search_knowledge_base', {}), { kind: 'api_key', key: k });
      const accepted = await request(key!);
      expect(accepted.httpStatus).not.toBe(401);
      expect(accepted.decision.stage).not.toBe('authenticate');
      const wrong = await request(`${key!.slice(0, -4)}AAAA`);
      expect(wrong.httpStatus).toBe(401);
    } finally {
      await gateway.close();
    }
    expect((await warden(['agents', 'create-key', 'not an id'])).code).toBe(2);
  });

  it('lists the agents', async () => {
    const run = await warden(['agents', 'list', '--config', config]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATUS +TRUST +TENANT +ROLES +SUSPENDED BECAUSE$/);
    expect(lines).toContainEqual(expect.stringMatching(/^refund-agent +active +medium +acme-corp +finance$/));
    expect(lines).toContainEqual(expect.stringMatching(/^suspended-bot +suspended +low +acme-corp +support$/));
    expect(lines).toContainEqual(expect.stringMatching(/^admin-agent +active +admin +acme-corp +admin,support$/));
    const json = JSON.parse((await warden(['agents', 'list', '--db', join(h.dir, 'warden.db'), '--json'])).stdout) as Array<{ id: string }>;
    expect(json.map((a) => a.id)).toEqual(['admin-agent', 'other-tenant-agent', 'refund-agent', 'support-agent', 'suspended-bot']);
  });

  it('suspends an agent as local admin, whose next call is denied, and resumes it', async () => {
    const refund = async () => {
      const gateway = await createWarden({ config });
      try {
        return await gateway.call(call('refund-agent', 'issue_refund', { order_id: 'o-7', amount: 5 }), { kind: 'api_key', key: h.keys['refund-agent']! });
      } finally {
        await gateway.close();
      }
    };
    const acting = `warden: acting as local-admin:${OS_USER}:alice (local admin of every tenant) on the database of ${config}\n`;
    const run = await warden(['agents', 'suspend', 'refund-agent', '--local-admin', '--as', 'alice', '--reason', 'incident 42: odd refunds', '--config', config]);
    expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'suspended: refund-agent\n', stderr: acting });
    const denied = await refund();
    expect(denied.status).toBe('denied');
    expect(denied.decision.reason).toBe('agent "refund-agent" is suspended: incident 42: odd refunds');
    expect(h.tools.calls).toHaveLength(0);
    expect((await warden(['agents', 'list', '--config', config])).stdout).toMatch(/^refund-agent +suspended +medium +acme-corp +finance +incident 42: odd refunds$/m);

    const resumed = await warden(['agents', 'resume', 'refund-agent', '--local-admin', '--as', 'alice', '--config', config]);
    expect(resumed, resumed.stderr).toMatchObject({ code: 0, stdout: 'resumed: refund-agent\n' });
    expect((await refund()).status).toBe('executed');
    expect(h.tools.calls.filter((c) => c.tool === 'issue_refund')).toHaveLength(1);

    const admin = (await warden(['audit', 'export', '--config', config, '--agent', 'operator'])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(admin.map((r) => [r.action, r.userId])).toEqual([
      ['agent.suspend', `local-admin:${OS_USER}:alice`],
      ['agent.resume', `local-admin:${OS_USER}:alice`],
    ]);
    expect((await warden(['audit', 'verify', '--config', config])).code).toBe(0);
  });

  it('refuses an unknown agent (exit 1) and exits 2 on usage errors', async () => {
    const unknown = await warden(['agents', 'suspend', 'ghost', '--local-admin', '--reason', 'x', '--config', config]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/\nerror: no agent "ghost"\n$/);
    expect((await warden(['agents', 'suspend', 'refund-agent', '--local-admin', '--config', config])).code).toBe(2);
    // Without --local-admin or a gateway, nobody is acting.
    expect((await warden(['agents', 'suspend', 'refund-agent', '--reason', 'x', '--config', config])).code).toBe(2);
    expect((await warden(['agents', 'resume', 'refund-agent', '--config', config])).code).toBe(2);
    expect((await warden(['agents', 'suspend', 'refund-agent', '--local-admin', '--reason', 'x', '--config', join(tempDir(), 'none.yaml')])).code).toBe(2);
  });
});
