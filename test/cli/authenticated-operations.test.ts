import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import type { DecisionRecord } from '../../src/store/records.js';
import { EXAMPLE_POLICIES, nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';
import { runWarden, startGateway, type Gateway, type Run } from './processes.js';

/**
 * Defect 6 of issue 16: commands that change state used to open the database and believe `--as`
 * and `--roles`. Now they act through the running gateway as the person a token stands for, or,
 * with the explicit `--local-admin` switch, as the recorded local admin (which a config may refuse).
 * Real processes: `warden serve` and the built CLI.
 */
const TOKENS = {
  ada: 'cli-ada-token-5d41402abc4b2a76', // admin of every tenant
  tess: 'cli-tess-token-7b52009b64fd0a2a', // admin of acme-corp
  fiona: 'cli-fiona-token-e4da3b7fbbce2345', // approver + finance_manager, acme-corp
  alan: 'cli-alan-token-1679091c5a880faf', // approver, acme-corp (no finance_manager)
  vic: 'cli-vic-token-8f14e45fceea167a', // viewer, acme-corp
};
const WRONG_TOKEN = 'cli-wrong-token-c9f0f895fb98ab91';
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.ada)}", roles: [admin] }
    - { id: tess, token_hash: "${sha256(TOKENS.tess)}", roles: [admin], tenant: acme-corp }
    - { id: fiona, token_hash: "${sha256(TOKENS.fiona)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: alan, token_hash: "${sha256(TOKENS.alan)}", roles: [approver], tenant: acme-corp }
    - { id: vic, token_hash: "${sha256(TOKENS.vic)}", roles: [viewer], tenant: acme-corp }
server: { watch_policies: false }
`;

const OS_USER = userInfo().username;
const tempDir = () => mkdtempSync(join(tmpdir(), 'warden-auth-ops-'));

let h: Harness;
let config: string;
let gateway: Gateway;
let refund: string;
/** Everything every command printed: no token may be in it. */
const printed: string[] = [];

async function warden(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const run = await runWarden(args, env);
  printed.push(run.stdout, run.stderr);
  return run;
}
const as = (who: keyof typeof TOKENS) => ({ WARDEN_URL: gateway.url, WARDEN_TOKEN: TOKENS[who] });

async function api<T>(method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<{ status: number; json: T }> {
  const r = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as T };
}

const refundCalls = () => h.tools.calls.filter((c) => c.tool === 'issue_refund');
const approvalStatus = async (id: string) => (await api<{ status: string }>('GET', `/v1/approvals/${id}`, TOKENS.ada)).json.status;
const grants = async (token: string) => (await api<Array<{ id: string; grantedBy: string; state: string; scope: Record<string, string> }>>('GET', '/v1/break-glass', token)).json;

beforeAll(async () => {
  h = await startHarness(HUMANS, { realClock: true });
  config = join(h.dir, 'warden.yaml');
  const held = await h.warden.call({ agentId: 'refund-agent', tenant: 'acme-corp', tool: 'issue_refund', args: { order_id: 'o-456', amount: 250 }, requestId: nextRequestId() }, { kind: 'api_key', key: h.keys['refund-agent']! });
  expect(held.status).toBe('pending_approval');
  refund = held.approvalId!;
  await h.warden.close();
  gateway = await startGateway(config);
});

afterAll(async () => {
  await gateway?.stop();
  await h?.tools.close();
});

describe('approvals approve <id> --as nobody --roles finance_manager', () => {
  it('refuses without --local-admin or a gateway, saying how to do either, and runs nothing', async () => {
    const run = await warden(['approvals', 'approve', refund, '--as', 'nobody', '--roles', 'finance_manager', '--reason', 'trust me', '--config', config]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`error: say how \`warden approvals approve ${refund}\` should act:`);
    expect(run.stderr).toContain(`WARDEN_URL=http://127.0.0.1:8080 WARDEN_TOKEN=<your token> warden approvals approve ${refund} …`);
    expect(run.stderr).toContain(`warden approvals approve ${refund} … --local-admin [--config warden.yaml]`);
    expect(refundCalls()).toHaveLength(0);
    expect(await approvalStatus(refund)).toBe('pending');
  });

  it('with --local-admin, --roles grants nothing: the local admin is no finance manager, and nothing runs', async () => {
    const run = await warden(['approvals', 'approve', refund, '--local-admin', '--as', 'nobody', '--roles', 'finance_manager', '--reason', 'trust me', '--config', config]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("note: --roles is ignored: a voter's roles come from their token");
    expect(run.stderr).toContain(`warden: acting as local-admin:${OS_USER}:nobody (local admin of every tenant)`);
    expect(run.stderr).toContain(`error: refused (forbidden): local-admin:${OS_USER}:nobody is not an approver for this request (needs role:finance_manager)`);
    expect(refundCalls()).toHaveLength(0);
    expect(await approvalStatus(refund)).toBe('pending');
  });

  it('with a viewer token, the API answers 403 and nothing runs', async () => {
    const run = await warden(['approvals', 'approve', refund, '--as', 'nobody', '--roles', 'finance_manager', '--reason', 'trust me'], as('vic'));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('note: --as is ignored over the API: you vote as the person your token stands for');
    expect(run.stderr).toContain('error: refused (403 missing-role): vic needs the approver or admin role for POST /v1/approvals/:id/approve');
    expect(run.stderr).toContain("hint: voting needs a person's token with the approver (or admin) role");
    // An approver without the rule's role is refused by the approval itself.
    const alan = await warden(['approvals', 'approve', refund, '--roles', 'finance_manager', '--reason', 'trust me'], as('alan'));
    expect(alan.code).toBe(1);
    expect(alan.stderr).toContain('error: refused (403 approval-forbidden): alan is not an approver for this request (needs role:finance_manager)');
    expect(refundCalls()).toHaveLength(0);
    expect(await approvalStatus(refund)).toBe('pending');
  });

  it('with a finance_manager approver token (from --token-file), runs it exactly once', async () => {
    const file = join(tempDir(), 'token');
    writeFileSync(file, `${TOKENS.fiona}\n`, { mode: 0o600 });
    const run = await warden(['approvals', 'approve', refund, '--url', gateway.url, '--token-file', file, '--reason', 'verified with the customer']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^approved and executed: ${refund} \\(refund-agent → issue_refund, tenant acme-corp\\)\\nresult: \\{.*"refund_id":"rf-1".*\\}\\n$`));
    expect(refundCalls()).toHaveLength(1);
    const again = await warden(['approvals', 'approve', refund, '--reason', 'again'], as('fiona'));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: refused \(409 approval-not-pending\): /);
    expect(refundCalls()).toHaveLength(1);
    expect(await approvalStatus(refund)).toBe('executed');
  });
});

describe('break-glass through the API', () => {
  it('is refused for an approver (403, naming the role) and granted for an admin (201), and the grant shows in GET', async () => {
    const approver = await warden(['break-glass', 'grant', '--reason', 'outage', '--for', '15m'], as('alan'));
    expect(approver.code).toBe(1);
    expect(approver.stderr).toContain('error: refused (403 missing-role): alan needs the admin role for POST /v1/break-glass');
    expect(approver.stderr).toContain('hint: break-glass needs a token with the admin role');
    expect(await grants(TOKENS.ada)).toEqual([]);

    const tooLong = await warden(['break-glass', 'grant', '--reason', 'outage', '--for', '2h'], as('ada'));
    expect(tooLong).toMatchObject({ code: 1, stderr: 'error: refused (400 bad-request): a break-glass grant may last at most 1h\n' });

    const run = await warden(['break-glass', 'grant', '--reason', 'refund backlog during outage', '--agent', 'support-agent', '--tool', 'issue_*', '--for', '15m'], as('ada'));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = /^granted: (bg_[0-9a-f-]+)$/m.exec(run.stdout)?.[1];
    expect(id).toBeDefined();
    expect(run.stdout).toMatch(/^expires: \d{4}-\d\d-\d\dT[\d:.]+Z \(in 15m\)$/m);
    expect(run.stdout).toContain('scope:   agent support-agent, tool issue_*, tenant acme-corp');
    expect(await grants(TOKENS.vic)).toEqual([expect.objectContaining({ id, grantedBy: 'ada', state: 'active', scope: { agentId: 'support-agent', tool: 'issue_*', tenant: 'acme-corp' } })]);

    // The running gateway honours it at once.
    const call = await fetch(`${gateway.url}/v1/tools/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.keys['support-agent']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'issue_refund', arguments: { order_id: 'o-9', amount: 5 } }),
    });
    expect(call.status).toBe(200);
    expect(((await call.json()) as { decision: { breakGlass?: { grant: string } } }).decision.breakGlass?.grant).toBe(id);

    const revoked = await warden(['break-glass', 'revoke', id!, '--reason', 'backlog cleared'], as('ada'));
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked: ${id} by ada at \\d{4}-`));
    const twice = await warden(['break-glass', 'revoke', id!], as('ada'));
    expect(twice.code).toBe(0);
    expect(twice.stdout).toMatch(new RegExp(`^already revoked: grant ${id} was already revoked by ada at `));
    expect((await warden(['break-glass', 'revoke', 'bg_nope'], as('ada'))).stderr).toBe('error: refused (404 not-found): no break-glass grant "bg_nope"\n');
    expect((await warden(['break-glass', 'list', '--active', '--config', config])).stdout).toBe('no active break-glass grants\n');
  });

  it("keeps a tenant-scoped admin's grant in their tenant", async () => {
    const other = await warden(['break-glass', 'grant', '--reason', 'x', '--for', '15m', '--tenant', 'competitor-corp'], as('tess'));
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('error: refused (403 other-tenant): tess may only grant break-glass within tenant acme-corp, not competitor-corp');
    const own = await warden(['break-glass', 'grant', '--reason', 'x', '--for', '15m'], as('tess'));
    expect(own.code).toBe(0);
    expect(own.stdout).toContain('scope:   any agent, any tool, tenant acme-corp');
    const id = /^granted: (bg_\S+)$/m.exec(own.stdout)![1]!;
    expect((await warden(['break-glass', 'revoke', id], as('tess'))).code).toBe(0);
  });
});

describe('agents and tools through the API', () => {
  it('suspends and resumes an agent as an admin; a viewer is refused', async () => {
    const viewer = await warden(['agents', 'resume', 'suspended-bot', '--reason', 'x'], as('vic'));
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toContain('error: refused (403 missing-role): vic needs the admin role for POST /v1/agents/:id/resume');
    const resumed = await warden(['agents', 'resume', 'suspended-bot'], as('ada'));
    expect(resumed).toMatchObject({ code: 0, stdout: 'resumed: suspended-bot\n', stderr: '' });
    const suspended = await warden(['agents', 'suspend', 'suspended-bot', '--reason', 'back to sleep'], as('ada'));
    expect(suspended).toMatchObject({ code: 0, stdout: 'suspended: suspended-bot\n' });
    expect(await warden(['agents', 'suspend', 'suspended-bot', '--reason', 'again'], as('ada'))).toMatchObject({ code: 0, stdout: 'suspended: suspended-bot (it was already suspended)\n' });
    expect((await warden(['agents', 'suspend', 'ghost', '--reason', 'x'], as('ada'))).stderr).toBe('error: refused (404 not-found): no agent "ghost"\n');
  });

  it('approves a tool definition only as an admin', async () => {
    const approver = await warden(['tools', 'approve', 'weather/get_news'], as('alan'));
    expect(approver.code).toBe(1);
    expect(approver.stderr).toContain('alan needs the admin role for POST /v1/tools/approve');
    const unknown = await warden(['tools', 'approve', 'weather/get_news'], as('ada'));
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('error: refused (404 not-found): no pinned tool "weather/get_news"') });
  });
});

describe('the token', () => {
  it('is refused on the command line, and a wrong one is named a 401 without being printed', async () => {
    const argv = await warden(['break-glass', 'grant', '--reason', 'x', '--for', '15m', '--url', gateway.url, '--token', TOKENS.ada]);
    expect(argv.code).toBe(2);
    expect(argv.stderr).toContain('--token is not accepted: a token on the command line shows in process listings');
    const wrong = await warden(['agents', 'suspend', 'refund-agent', '--reason', 'x'], { WARDEN_URL: gateway.url, WARDEN_TOKEN: WRONG_TOKEN });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`error: the gateway at ${gateway.url} did not accept the token (401): the bearer token is not valid\nhint: put a valid token of yours in WARDEN_TOKEN or a file given with --token-file\n`);
    const noToken = await warden(['agents', 'suspend', 'refund-agent', '--reason', 'x'], { WARDEN_URL: gateway.url });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('no token to act with: set WARDEN_TOKEN, or pass --token-file <file>');
  });

  it('names the URL when nothing answers there', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const run = await warden(['break-glass', 'grant', '--reason', 'x', '--for', '15m'], { WARDEN_URL: `http://127.0.0.1:${closed}`, WARDEN_TOKEN: TOKENS.ada });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: cannot reach the gateway at http://127.0.0.1:${closed}: connection refused (is \`warden serve\` running there?); check --url or WARDEN_URL\n`);
  });

  it('never appears in the help, in any command output or in the gateway log; the log records who acted', async () => {
    const help = await warden(['approvals', 'approve', '--help']);
    expect(help.stdout).toContain('--token-file <file>');
    expect(help.stdout).not.toContain('--token <');
    expect(await gateway.stop()).toBe(0);
    const secrets = [...Object.values(TOKENS), WRONG_TOKEN];
    for (const text of [...printed, gateway.output()]) for (const token of secrets) expect(text).not.toContain(token);

    const records = (await warden(['audit', 'export', '--config', config])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(records.filter((r) => r.approvalId === refund && r.stage === 'approval').map((r) => r.userId)).toEqual(['fiona']);
    expect(records.filter((r) => r.action.startsWith('break_glass.')).map((r) => [r.action, r.userId])).toEqual([
      ['break_glass.grant', 'ada'],
      ['break_glass.revoke', 'ada'],
      ['break_glass.grant', 'tess'],
      ['break_glass.revoke', 'tess'],
    ]);
    expect((await warden(['audit', 'verify', '--config', config])).code).toBe(0);
  });
});

describe('--local-admin', () => {
  /** A project of its own: one agent, the example policies, a database no gateway serves. */
  function project(extra = ''): { config: string; db: string } {
    const dir = tempDir();
    const file = join(dir, 'warden.yaml');
    writeFileSync(file, `storage: sqlite:./warden.db\npolicies: ${EXAMPLE_POLICIES}\nagents:\n  - { id: support-agent, roles: [support], tenant: acme-corp }\n${extra}`);
    return { config: file, db: join(dir, 'warden.db') };
  }

  it('is refused when the config says cli: { local_admin: false }, before anything is opened', async () => {
    const p = project('cli: { local_admin: false }\n');
    for (const args of [
      ['break-glass', 'grant', '--reason', 'x', '--for', '15m'],
      ['agents', 'suspend', 'support-agent', '--reason', 'x'],
      ['approvals', 'approve', 'apr_1', '--reason', 'x'],
    ]) {
      const run = await warden([...args, '--local-admin', '--config', p.config]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`error: ${p.config} refuses --local-admin (cli: { local_admin: false }); act through the gateway with your token instead: WARDEN_URL=<gateway> WARDEN_TOKEN=<your token> warden ${args.slice(0, 2).join(' ')} …\n`);
    }
    expect(existsSync(p.db)).toBe(false);
  });

  it('acts as admin of every tenant, recorded as local-admin with the OS user and the --as label', async () => {
    const p = project();
    const run = await warden(['break-glass', 'grant', '--local-admin', '--as', 'ciso', '--reason', 'outage', '--for', '15m', '--config', p.config]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(`warden: acting as local-admin:${OS_USER}:ciso (local admin of every tenant) on the database of ${p.config}\n`);
    const suspend = await warden(['agents', 'suspend', 'support-agent', '--local-admin', '--reason', 'incident 7', '--config', p.config]);
    expect(suspend.code).toBe(0);
    const records = (await warden(['audit', 'export', '--config', p.config])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(records.filter((r) => r.agentId === 'operator').map((r) => [r.action, r.userId])).toEqual([
      ['break_glass.grant', `local-admin:${OS_USER}:ciso`],
      ['agent.suspend', `local-admin:${OS_USER}`],
    ]);
    expect((await warden(['break-glass', 'grant', '--local-admin', '--url', 'http://127.0.0.1:8080', '--reason', 'x', '--for', '15m', '--config', p.config])).code).toBe(2);
  });
});
