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
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

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
  const store = await openStore(`sqlite:${file}`);
  try {
    return await store.scanDecisions(0, 10_000);
  } finally {
    await store.close();
  }
}

let appended = 0;
/** Appends records to a log file the way the gateway does: chained by DecisionLog, written durably. */
async function appendRecords(file: string, entries: Array<Partial<NewDecisionRecord>>): Promise<DecisionRecord[]> {
  const store = await openStore(`sqlite:${file}`);
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
      expect(byConfig.stdout.split('\n')[0]).toBe(`ok: ${records.length} records, chain intact (head ${head})`);
      // Without checkpoints it says what the chain alone cannot prove.
      expect(byConfig.stdout).toContain('checkpoints: 0 in the database, no anchor; signatures not checked\n');
      expect(byConfig.stdout).toContain('cannot detect: there are no signed checkpoints and no anchor (--anchor): deleting the newest records, deleting every record, or altering a record and recomputing the hashes after it would all verify as intact');
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
      expect(run.stdout).toContain(`1 problem in ${records.length} records: 2 records verified before the first break`);
    });

    it('finds a deleted record', async () => {
      const copy = copyDb(db);
      const sqlite = new Database(copy);
      sqlite.prepare('DELETE FROM decisions WHERE seq = 2').run();
      sqlite.close();
      const run = await warden(['audit', 'verify', '--db', copy]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`BROKEN at record #3 (${records[2]!.id}): expected record #2 next, found #3: records were removed`);
      expect(run.stdout).toContain('1 records verified before the first break');
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
      await (await openStore(`sqlite:${file}`)).close();
      const run = await warden(['audit', 'verify', '--db', file]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^ok: 0 records, chain intact \\(head sha256:${'0'.repeat(64)}\\)\ncheckpoints: 0 in the database, no anchor; signatures not checked\ncannot detect: there are no signed checkpoints`));
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
