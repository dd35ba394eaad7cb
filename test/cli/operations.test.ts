import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionLog } from '../../src/audit/decision-log.js';
import type { Credentials, ToolCall } from '../../src/enforcement/exchange.js';
import type { DecisionRecord, NewDecisionRecord } from '../../src/store/records.js';
import { openStore } from '../../src/store/index.js';
import { createWarden } from '../../src/services/warden.js';
import { EXAMPLE_POLICIES, nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/** The built CLI (`npm test` builds first), run as an operator would run it. */
const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function warden(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'warden-ops-'));

function call(agentId: string, tool: string, args: unknown, extra: Partial<ToolCall> = {}): ToolCall {
  return { agentId, tool, args, requestId: nextRequestId(), tenant: 'acme-corp', ...extra };
}

async function allRecords(file: string): Promise<DecisionRecord[]> {
  const store = openStore(`sqlite:${file}`);
  try {
    return await store.scanDecisions(0, 10_000);
  } finally {
    await store.close();
  }
}

let appended = 0;
/** Appends records to a log file the way the gateway does: chained by DecisionLog, written durably. */
async function appendRecords(file: string, entries: Array<Partial<NewDecisionRecord>>): Promise<DecisionRecord[]> {
  const store = openStore(`sqlite:${file}`);
  const log = await DecisionLog.open(store);
  try {
    const written = entries.map((fields) =>
      log.append({
        id: `dec_test_${process.pid}_${++appended}`,
        time: Date.now(),
        kind: 'decision',
        requestId: `req-test-${appended}`,
        tenant: 'acme-corp',
        agentId: 'support-agent',
        action: 'tool.call',
        resourceType: 'tool',
        resourceId: 'read_orders',
        effect: 'deny',
        reason: 'appended by the test',
        stage: 'policy',
        obligations: [],
        outcome: 'denied',
        latencyUs: 12,
        args: {},
        details: {},
        ...fields,
      }),
    );
    return Promise.all(written.map((w) => w.durable));
  } finally {
    await log.close();
    await store.close();
  }
}

/** A copy of a closed database file, to tamper with. */
function copyDb(file: string): string {
  const copy = join(tempDir(), 'copy.db');
  copyFileSync(file, copy);
  return copy;
}

/** RFC 4180 CSV (CRLF records, quoted fields with doubled quotes) into rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

const TRICKY_REASON = 'refund "o-1", over the limit';

describe('warden audit', () => {
  let h: Harness;
  let db: string;
  let config: string;
  let records: DecisionRecord[];
  const old = Date.now() - 3 * 3_600_000;

  beforeAll(async () => {
    h = await startHarness('', { realClock: true });
    db = join(h.dir, 'warden.db');
    config = join(h.dir, 'warden.yaml');
    const key = (agent: string): Credentials => ({ kind: 'api_key', key: h.keys[agent]! });
    expect((await h.warden.call(call('support-agent', 'read_orders', { limit: 5 }), key('support-agent'))).status).toBe('executed');
    expect((await h.warden.call(call('support-agent', 'issue_refund', { order_id: 'o-1', amount: 5 }), key('support-agent'))).status).toBe('denied');
    expect((await h.warden.call(call('refund-agent', 'issue_refund', { order_id: 'o-2', amount: 20 }), key('refund-agent'))).status).toBe('executed');
    expect((await h.warden.call(call('refund-agent', 'issue_refund', { order_id: 'o-3', amount: 250 }), key('refund-agent'))).status).toBe('pending_approval');
    expect((await h.warden.call(call('hacker-bot', 'read_orders', {}), { kind: 'trusted' })).status).toBe('denied');
    await h.close();
    // An older record, out of time order, whose reason needs CSV quoting.
    await appendRecords(db, [{ time: old, reason: TRICKY_REASON, agentId: 'refund-agent', resourceId: 'issue_refund' }]);
    records = await allRecords(db);
    expect(records.length).toBeGreaterThanOrEqual(7);
  });

  afterAll(async () => {
    await h?.tools.close();
  });

  describe('verify', () => {
    it('passes a real log written by the pipeline, by --config and by --db', async () => {
      const head = records[records.length - 1]!.hash;
      const byConfig = await warden(['audit', 'verify', '--config', config]);
      expect(byConfig).toMatchObject({ code: 0, stderr: '' });
      expect(byConfig.stdout).toBe(`ok: ${records.length} records, chain intact (head ${head})\n`);
      const byDb = await warden(['audit', 'verify', '--db', db]);
      expect(byDb.code).toBe(0);
      expect(byDb.stdout).toBe(byConfig.stdout);
    });

    it('finds an edited record, naming its seq', async () => {
      const copy = copyDb(db);
      const sqlite = new Database(copy);
      sqlite.prepare("UPDATE decisions SET reason = 'nothing to see here' WHERE seq = 3").run();
      sqlite.close();
      const run = await warden(['audit', 'verify', '--db', copy]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`BROKEN at record #3 (${records[2]!.id}): its content does not match its hash: the record was altered`);
      expect(run.stdout).toContain('2 records verified before it');
    });

    it('finds a deleted record', async () => {
      const copy = copyDb(db);
      const sqlite = new Database(copy);
      sqlite.prepare('DELETE FROM decisions WHERE seq = 2').run();
      sqlite.close();
      const run = await warden(['audit', 'verify', '--db', copy]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`BROKEN at record #3 (${records[2]!.id}): expected record #2 next, found #3: records were removed`);
      expect(run.stdout).toContain('1 records verified before it');
    });

    it('finds a record whose hash was recomputed after an edit (the next link breaks)', async () => {
      const copy = copyDb(db);
      const sqlite = new Database(copy);
      sqlite.prepare("UPDATE decisions SET hash = 'sha256:" + 'a'.repeat(64) + "' WHERE seq = 4").run();
      sqlite.close();
      const run = await warden(['audit', 'verify', '--db', copy]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^BROKEN at record #4 /);
    });

    it('accepts an empty log', async () => {
      const file = join(tempDir(), 'empty.db');
      await openStore(`sqlite:${file}`).close();
      const run = await warden(['audit', 'verify', '--db', file]);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`ok: 0 records, chain intact (head sha256:${'0'.repeat(64)})\n`);
    });

    it('exits 2 on a missing database and does not create it', async () => {
      const dir = tempDir();
      const missing = join(dir, 'missing.db');
      const run = await warden(['audit', 'verify', '--db', missing]);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`error: database file ${missing} does not exist (check --db, or the storage in the config)\n`);
      expect(existsSync(missing)).toBe(false);
      writeFileSync(join(dir, 'warden.yaml'), 'storage: sqlite:./data/none.db\npolicies: ./policies\n');
      const byConfig = await warden(['audit', 'verify', '--config', join(dir, 'warden.yaml')]);
      expect(byConfig.code).toBe(2);
      expect(byConfig.stderr).toContain(join(dir, 'data', 'none.db'));
      expect(existsSync(join(dir, 'data'))).toBe(false);
    });

    it('reports progress on standard error for a large log', async () => {
      const file = copyDb(db);
      await appendRecords(file, Array.from({ length: 50_000 }, () => ({})));
      const run = await warden(['audit', 'verify', '--db', file]);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('verified 50,000 records…\n');
      expect(run.stdout).toMatch(new RegExp(`^ok: ${records.length + 50_000} records, chain intact`));
    });
  });

  describe('export', () => {
    it('writes every record as a JSON line, in seq order, as the store holds it', async () => {
      const run = await warden(['audit', 'export', '--db', db]);
      expect(run.code).toBe(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(records)));
    });

    it('writes CSV with a header and RFC 4180 quoting', async () => {
      const run = await warden(['audit', 'export', '--config', config, '--format', 'csv']);
      expect(run.code).toBe(0);
      expect(run.stdout.startsWith(
        'seq,id,time,kind,request_id,tenant,session_id,agent_id,user_id,action,resource_id,effect,outcome,stage,policy,rule,policy_version,reason,approval_id,break_glass,latency_us,hash\r\n',
      )).toBe(true);
      expect(run.stdout).toContain(',"refund ""o-1"", over the limit",');
      const rows = parseCsv(run.stdout);
      expect(rows).toHaveLength(records.length + 1);
      expect(rows.every((r) => r.length === 22)).toBe(true);
      const tricky = rows.find((r) => r[17] === TRICKY_REASON)!;
      expect(tricky[0]).toBe(String(records[records.length - 1]!.seq));
      expect(tricky[2]).toBe(new Date(old).toISOString());
      expect(rows[1]![0]).toBe('1');
      expect(rows[1]![21]).toBe(records[0]!.hash);
    });

    it('filters by --since (duration or ISO), --until, --agent, --tool and --effect', async () => {
      const lines = async (...args: string[]) => {
        const run = await warden(['audit', 'export', '--db', db, ...args]);
        expect(run.code).toBe(0);
        return run.stdout.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionRecord);
      };
      const recent = await lines('--since', '1h');
      expect(recent.map((r) => r.seq)).toEqual(records.filter((r) => r.time >= Date.now() - 3_600_000).map((r) => r.seq));
      expect(recent.some((r) => r.reason === TRICKY_REASON)).toBe(false);
      expect(recent.length).toBe(records.length - 1);
      expect(await lines('--since', new Date(old - 1000).toISOString())).toHaveLength(records.length);
      expect((await lines('--until', new Date(old + 1000).toISOString())).map((r) => r.reason)).toEqual([TRICKY_REASON]);
      const refunds = await lines('--agent', 'refund-agent', '--tool', 'issue_refund');
      expect(refunds.length).toBeGreaterThanOrEqual(3);
      expect(refunds.every((r) => r.agentId === 'refund-agent' && r.resourceId === 'issue_refund')).toBe(true);
      const denies = await lines('--effect', 'deny');
      expect(denies.map((r) => r.seq)).toEqual(records.filter((r) => r.effect === 'deny').map((r) => r.seq));
      expect(await lines('--agent', 'nobody')).toEqual([]);
    });

    it('exits 2 on a bad --format, --effect or --since', async () => {
      expect((await warden(['audit', 'export', '--db', db, '--format', 'xml'])).code).toBe(2);
      expect((await warden(['audit', 'export', '--db', db, '--effect', 'maybe'])).code).toBe(2);
      const since = await warden(['audit', 'export', '--db', db, '--since', 'yesterday']);
      expect(since.code).toBe(2);
      expect(since.stderr).toContain('--since "yesterday" is neither an ISO 8601 time');
      expect(since.stdout).toBe('');
    });
  });

  describe('tail', () => {
    const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) {2}(allow|deny|require_approval) * {2}(\S+) → (\S+) {2}(.*)$/;

    it('prints the last n records, one line each, oldest first', async () => {
      const run = await warden(['audit', 'tail', '--db', db, '-n', '3']);
      expect(run.code).toBe(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      lines.forEach((line, i) => {
        const r = records[records.length - 3 + i]!;
        const m = LINE.exec(line);
        expect(m, line).not.toBeNull();
        expect(m!.slice(1)).toEqual([new Date(r.time).toISOString(), r.effect, r.agentId, r.resourceId, r.reason]);
      });
      const all = await warden(['audit', 'tail', '--config', config]);
      expect(all.stdout.trimEnd().split('\n')).toHaveLength(Math.min(20, records.length));
      expect((await warden(['audit', 'tail', '--db', db, '-n', 'lots'])).code).toBe(2);
    });

    it('follows new records until SIGTERM, then exits 0', async () => {
      const file = copyDb(db);
      const child = spawn(process.execPath, [CLI, 'audit', 'tail', '--db', file, '-n', '1', '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const waitFor = async (text: string) => {
        for (let i = 0; i < 200 && !stdout.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
        expect(stdout, stderr).toContain(text);
      };
      try {
        await waitFor(TRICKY_REASON);
        await appendRecords(file, [{ reason: 'a record written while following', agentId: 'support-agent', resourceId: 'export_csv' }]);
        await waitFor('a record written while following');
        expect(stdout.trimEnd().split('\n')).toHaveLength(2);
        expect(stdout.trimEnd().split('\n')[1]).toMatch(/ {2}deny {14}support-agent → export_csv {2}a record written while following$/);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
    });
  });

  it('exits 2 when both --db and --config are given, or the config is missing', async () => {
    expect((await warden(['audit', 'verify', '--db', db, '--config', config])).code).toBe(2);
    const missing = await warden(['audit', 'verify', '--config', join(tempDir(), 'warden.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: config file .*warden\.yaml not found; pass --config <file> or --db <path>\n$/);
    expect((await warden(['audit', 'frobnicate'])).code).toBe(2);
  });

  it('exits 1 with the diagnostics when the config is invalid', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'warden.yaml'), 'storage: sqlite:./w.db\nstorgae: x\n');
    const run = await warden(['audit', 'verify', '--config', join(dir, 'warden.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error: the configuration in ${join(dir, 'warden.yaml')} is not valid:`);
    expect(run.stderr).toMatch(/warden\.yaml:2:1: error \[/);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('warden approvals and break-glass', () => {
  let h: Harness;
  let config: string;
  let forApprove: string;
  let forDeny: string;
  let fionasOwn: string;
  let deletion: string;
  const refundCalls = () => h.tools.calls.filter((c) => c.tool === 'issue_refund');

  beforeAll(async () => {
    // delete_file (no executor) needs two project owners: for the "n of quorum" case.
    h = await startHarness('  - { name: delete_file, effect: destructive, risk: high }', { realClock: true });
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
    // The CLI writes to the same decision log: only one writer at a time.
    await h.warden.close();
  });

  afterAll(async () => {
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
    const noRole = await warden(['approvals', 'approve', forApprove, '--as', 'sam', '--reason', 'looks fine', '--config', config]);
    expect(noRole.code).toBe(1);
    expect(noRole.stderr).toBe(
      "error: refused (forbidden): sam is not an approver for this request (needs role:finance_manager)\nhint: no --roles were given; pass the voter's roles, e.g. --roles finance_manager\n",
    );
    const wrongRole = await warden(['approvals', 'approve', forApprove, '--as', 'sam', '--roles', 'support', '--reason', 'x', '--config', config]);
    expect(wrongRole.code).toBe(1);
    const otherTenant = await warden(['approvals', 'approve', forApprove, '--as', 'olga', '--roles', 'finance_manager', '--tenant', 'competitor-corp', '--reason', 'x', '--config', config]);
    expect(otherTenant.code).toBe(1);
    expect(otherTenant.stderr).toContain('belongs to tenant competitor-corp');
    const self = await warden(['approvals', 'approve', fionasOwn, '--as', 'fiona', '--roles', 'finance_manager', '--reason', 'mine', '--config', config]);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('fiona asked for this action and may not approve it themselves');
    expect(await warden(['approvals', 'approve', 'apr_nope', '--as', 'fiona', '--roles', 'finance_manager', '--reason', 'x', '--config', config])).toMatchObject({
      code: 1,
      stderr: 'error: refused (not_found): no approval "apr_nope"\n',
    });
    expect(refundCalls()).toHaveLength(0);
  });

  it('approves a refund, which executes it exactly once; a second approve is refused', async () => {
    const run = await warden(['approvals', 'approve', forApprove, '--as', 'fiona', '--roles', 'finance_manager', '--tenant', 'acme-corp', '--reason', 'verified with the customer', '--config', config]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^approved and executed: ${forApprove} \\(refund-agent → issue_refund, tenant acme-corp\\)\\nresult: \\{.*"refund_id":"rf-1".*\\}\\n$`));
    expect(refundCalls()).toHaveLength(1);
    expect(refundCalls()[0]!.args).toEqual({ order_id: 'o-456', amount: 250 });
    const again = await warden(['approvals', 'approve', forApprove, '--as', 'frank', '--roles', 'finance_manager', '--reason', 'me too', '--config', config]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: refused \(not_pending\): /);
    expect(refundCalls()).toHaveLength(1);
    const listed = JSON.parse((await warden(['approvals', 'list', '--status', 'executed', '--json', '--config', config])).stdout) as Array<{ id: string }>;
    expect(listed.map((a) => a.id)).toEqual([forApprove]);
  });

  it('denies a refund, which then never runs', async () => {
    const run = await warden(['approvals', 'deny', forDeny, '--as', 'frank', '--roles', 'finance_manager', '--reason', 'customer did not ask', '--config', config]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`denied: ${forDeny} (refund-agent → issue_refund, tenant acme-corp) by frank; it will not run\n`);
    expect((await warden(['approvals', 'approve', forDeny, '--as', 'fiona', '--roles', 'finance_manager', '--reason', 'x', '--config', config])).code).toBe(1);
    expect(refundCalls()).toHaveLength(1);
  });

  it('reports a vote short of the quorum as still pending', async () => {
    const run = await warden(['approvals', 'approve', deletion, '--as', 'pat', '--roles', 'project_owner', '--reason', 'stale file', '--config', config]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`vote recorded: ${deletion} (admin-agent → delete_file, tenant acme-corp) is still pending, 1 of 2 approvals\n`);
    const twice = await warden(['approvals', 'approve', deletion, '--as', 'pat', '--roles', 'project_owner', '--reason', 'again', '--config', config]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^error: refused \(already_voted\)/);
  });

  it('exits 2 on usage errors', async () => {
    const noAs = await warden(['approvals', 'approve', forDeny, '--reason', 'x', '--config', config]);
    expect(noAs.code).toBe(2);
    expect(noAs.stderr).toContain("required option '--as <user>' not specified");
    expect((await warden(['approvals', 'deny', forDeny, '--as', 'frank', '--config', config])).code).toBe(2);
    expect((await warden(['approvals', 'deny', forDeny, '--as', 'frank', '--reason', '  ', '--config', config])).code).toBe(2);
    expect((await warden(['approvals', 'approve', '--as', 'frank', '--reason', 'x', '--config', config])).code).toBe(2);
    expect((await warden(['approvals', 'list', '--status', 'maybe', '--config', config])).code).toBe(2);
  });

  it('grants break-glass within the maximum, lists it while active, and revokes it', async () => {
    const tooLong = await warden(['break-glass', 'grant', '--as', 'ciso', '--reason', 'outage', '--for', '2h', '--config', config]);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toBe('error: refused: a break-glass grant may last at most 1h\n');
    const noReason = await warden(['break-glass', 'grant', '--as', 'ciso', '--reason', ' ', '--for', '15m', '--config', config]);
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toContain('needs a reason');

    const run = await warden(['break-glass', 'grant', '--as', 'ciso', '--reason', 'refund backlog during outage', '--agent', 'support-agent', '--tool', 'issue_*', '--tenant', 'acme-corp', '--for', '15m', '--config', config]);
    expect(run.code).toBe(0);
    const id = /^granted: (bg_[0-9a-f-]+)$/m.exec(run.stdout)?.[1];
    expect(id).toBeDefined();
    expect(run.stdout).toMatch(/^expires: \d{4}-\d\d-\d\dT[\d:.]+Z \(in 15m\)$/m);
    expect(run.stdout).toContain('scope:   agent support-agent, tool issue_*, tenant acme-corp');

    // The grant is honoured by the gateway.
    const gateway = await createWarden({ config });
    try {
      const allowed = await gateway.call(call('support-agent', 'issue_refund', { order_id: 'o-9', amount: 5 }), { kind: 'trusted' });
      expect(allowed.decision.breakGlass?.grant).toBe(id);
    } finally {
      await gateway.close();
    }

    const active = await warden(['break-glass', 'list', '--active', '--config', config]);
    expect(active.code).toBe(0);
    expect(active.stdout).toMatch(new RegExp(`^${id} +active +ciso +agent support-agent, tool issue_\\*, tenant acme-corp +in 1[45]m( \\d+s)? +refund backlog during outage$`, 'm'));
    const revoke = await warden(['break-glass', 'revoke', id!, '--as', 'ciso', '--config', config]);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toMatch(new RegExp(`^revoked: ${id} by ciso at `));
    expect((await warden(['break-glass', 'list', '--active', '--config', config])).stdout).toBe('no active break-glass grants\n');
    const all = JSON.parse((await warden(['break-glass', 'list', '--json', '--db', join(h.dir, 'warden.db')])).stdout) as Array<Record<string, unknown>>;
    expect(all).toEqual([expect.objectContaining({ id, state: 'revoked', revokedBy: 'ciso', grantedBy: 'ciso' })]);
    expect((await warden(['break-glass', 'revoke', 'bg_nope', '--as', 'ciso', '--config', config])).code).toBe(1);
    expect((await warden(['break-glass', 'grant', '--as', 'ciso', '--reason', 'x', '--for', 'soon', '--config', config])).code).toBe(2);
    expect((await warden(['break-glass', 'grant', '--as', 'ciso', '--reason', 'x', '--config', config])).code).toBe(2);
  });

  it('leaves a decision log that still verifies, with every operator action in it', async () => {
    const verify = await warden(['audit', 'verify', '--config', config]);
    expect(verify.code).toBe(0);
    const records = (await warden(['audit', 'export', '--config', config])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    const votes = records.filter((r) => r.stage === 'approval' && r.approvalId === forApprove);
    expect(votes.map((r) => r.userId)).toEqual(['fiona']);
    expect(records.filter((r) => r.action === 'break_glass.grant' || r.action === 'break_glass.revoke').map((r) => r.action)).toEqual(['break_glass.grant', 'break_glass.revoke']);
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

  it('suspends an agent, whose next call is denied, and resumes it', async () => {
    const refund = async () => {
      const gateway = await createWarden({ config });
      try {
        return await gateway.call(call('refund-agent', 'issue_refund', { order_id: 'o-7', amount: 5 }), { kind: 'api_key', key: h.keys['refund-agent']! });
      } finally {
        await gateway.close();
      }
    };
    const run = await warden(['agents', 'suspend', 'refund-agent', '--as', 'alice', '--reason', 'incident 42: odd refunds', '--config', config]);
    expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'suspended: refund-agent\n', stderr: '' });
    const denied = await refund();
    expect(denied.status).toBe('denied');
    expect(denied.decision.reason).toBe('agent "refund-agent" is suspended: incident 42: odd refunds');
    expect(h.tools.calls).toHaveLength(0);
    expect((await warden(['agents', 'list', '--config', config])).stdout).toMatch(/^refund-agent +suspended +medium +acme-corp +finance +incident 42: odd refunds$/m);

    const resumed = await warden(['agents', 'resume', 'refund-agent', '--as', 'alice', '--config', config]);
    expect(resumed, resumed.stderr).toMatchObject({ code: 0, stdout: 'resumed: refund-agent\n' });
    expect((await refund()).status).toBe('executed');
    expect(h.tools.calls.filter((c) => c.tool === 'issue_refund')).toHaveLength(1);

    const admin = (await warden(['audit', 'export', '--config', config, '--agent', 'operator'])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(admin.map((r) => [r.action, r.userId])).toEqual([
      ['agent.suspend', 'alice'],
      ['agent.resume', 'alice'],
    ]);
    expect((await warden(['audit', 'verify', '--config', config])).code).toBe(0);
  });

  it('refuses an unknown agent (exit 1) and exits 2 on usage errors', async () => {
    const unknown = await warden(['agents', 'suspend', 'ghost', '--as', 'alice', '--reason', 'x', '--config', config]);
    expect(unknown).toMatchObject({ code: 1, stderr: 'error: no agent "ghost"\n' });
    expect((await warden(['agents', 'suspend', 'refund-agent', '--as', 'alice', '--config', config])).code).toBe(2);
    expect((await warden(['agents', 'suspend', 'refund-agent', '--reason', 'x', '--config', config])).code).toBe(2);
    expect((await warden(['agents', 'resume', 'refund-agent', '--config', config])).code).toBe(2);
    expect((await warden(['agents', 'suspend', 'refund-agent', '--as', 'alice', '--reason', 'x', '--config', join(tempDir(), 'none.yaml')])).code).toBe(2);
  });
});
