/**
 * Three `warden serve` processes on one Postgres schema and one Redis prefix, a round-robin proxy
 * in front: one truth whichever replica a request reaches. Real processes, real servers (the
 * machine's PostgreSQL and Redis, isolated by schema and key prefix), no mocks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOfReadyz, callTool, exportLog, http, listKeys, nextRequestId, openEventStream, runCli, runLoad, startCluster, waitFor, type Cluster } from './cluster.js';

describe('three replicas on Postgres + Redis behind a round-robin proxy', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ replicas: 3 });
  }, 90_000);
  afterAll(async () => c?.close(), 60_000);

  const key = (agent: string) => c.credentials.keys[agent]!;

  it('100 approvers racing on every replica: the held refund runs exactly once', async () => {
    const held = await callTool(c.replicas[0]!.url, key('refund-agent'), 'refund-agent', 'issue_refund', { order_id: 'o-456', amount: 250 });
    expect(held.status, JSON.stringify(held)).toBe(202);
    const approvalId = held.approvalId!;
    expect(approvalId).toMatch(/^apr_/);
    // Created on replica 0, seen on replica 2.
    const seen = await http<{ status?: string; approval?: { status?: string } }>('GET', `${c.replicas[2]!.url}/v1/approvals/${approvalId}`, c.credentials.approvers[1]);
    expect(seen.status).toBe(200);
    expect(JSON.stringify(seen.body)).toContain('pending');

    const votes = await Promise.all(
      c.credentials.approvers.map((token, i) => http<{ approval?: { status?: string }; execution?: { status?: string } }>('POST', `${c.url}/v1/approvals/${approvalId}/approve`, token, { reason: `race ${i}` })),
    );
    const backends = new Set(votes.map((v) => v.headers.get('x-backend')));
    expect(backends.size, 'the votes reached every replica').toBe(3);
    expect(votes.filter((v) => v.headers.get('x-proxy-error')).length).toBe(0);
    const won = votes.filter((v) => v.status === 200);
    expect(won.length, `statuses: ${JSON.stringify(votes.map((v) => v.status))}`).toBe(1);
    expect(won[0]!.body.execution?.status).toBe('executed');
    expect(votes.filter((v) => v.status === 409).length).toBe(99);

    const refunds = c.toolCalls('issue_refund').filter((x) => x.args.order_id === 'o-456');
    expect(refunds.length, 'the tool service received the refund once').toBe(1);
    for (const r of c.replicas) {
      const final = await http('GET', `${r.url}/v1/approvals/${approvalId}`, c.credentials.approvers[2]);
      expect(JSON.stringify(final.body)).toContain('"executed"');
    }
  }, 60_000);

  it('a rate limit of 50 per minute per tenant is shared: exactly 50 of 80 calls pass', async () => {
    const results = [];
    // 8 at a time, round-robin over the three replicas.
    for (let batch = 0; batch < 10; batch++) {
      results.push(...(await Promise.all(Array.from({ length: 8 }, () => callTool(c.url, key('rate-agent'), 'rate-agent', 'read_orders', { limit: 1 })))));
    }
    expect(new Set(results.map((r) => r.backend)).size).toBe(3);
    const byStatus: Record<number, number> = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    expect(byStatus).toEqual({ 200: 50, 429: 30 });
    for (const r of results.filter((x) => x.status === 429)) expect(r.reason).toMatch(/rate limit exceeded: 50 calls per 1m per tenant/);
  }, 60_000);

  it('a request id used on one replica is refused on the others', async () => {
    const requestId = nextRequestId('replay');
    const first = await callTool(c.replicas[0]!.url, key('support-agent'), 'support-agent', 'create_support_ticket', { subject: 'once' }, { requestId });
    expect(first.status).toBe(200);
    for (const r of [c.replicas[1]!, c.replicas[2]!]) {
      const again = await callTool(r.url, key('support-agent'), 'support-agent', 'create_support_ticket', { subject: 'once' }, { requestId });
      expect(again.status, JSON.stringify(again)).toBe(409);
      expect(again.reason).toContain('already used: replay refused');
    }
    expect(c.tools.calls.filter((x) => (x as { requestId?: string }).requestId === requestId).length).toBe(1);
  }, 30_000);

  it("a decision made on replica A appears in replica B's live stream", async () => {
    const stream = openEventStream(`${c.replicas[1]!.url}/v1/events/decisions`, c.credentials.viewer);
    try {
      expect(await stream.opened).toBe(200);
      const decided = await http<{ effect: string }>('POST', `${c.replicas[0]!.url}/v1/decisions`, key('support-agent'), {
        tenant: 'acme-corp',
        actor: { agent: { id: 'support-agent', roles: ['support'], trust: 'medium' } },
        action: 'tool.call',
        resource: { type: 'tool', id: 'read_orders' },
        args: { limit: 2 },
      });
      expect(decided.status).toBe(200);
      const auditId = decided.headers.get('x-warden-audit-id');
      expect(auditId).toBeTruthy();
      const called = await callTool(c.replicas[2]!.url, key('support-agent'), 'support-agent', 'read_orders', { limit: 2 });
      expect(called.status).toBe(200);
      const e1 = await stream.waitFor((e) => e.data.includes(auditId!), 10_000);
      const e2 = await stream.waitFor((e) => e.data.includes(called.auditId!), 10_000);
      expect(JSON.parse(e1.data)).toMatchObject({ id: auditId, agentId: 'support-agent' });
      expect(JSON.parse(e2.data)).toMatchObject({ id: called.auditId });
      // In seq order, each once.
      const seqs = stream.events.map((e) => Number(e.id));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
    } finally {
      stream.close();
    }
  }, 30_000);

  it('a policy reload on one replica reaches all of them', async () => {
    const decide = (url: string) =>
      http<{ effect: string; reason: string }>('POST', `${url}/v1/decisions`, key('support-agent'), {
        tenant: 'acme-corp',
        actor: { agent: { id: 'support-agent', roles: ['support'], trust: 'medium' } },
        action: 'tool.call',
        resource: { type: 'tool', id: 'search_knowledge_base' },
        args: { query: 'x' },
      });
    const before = await Promise.all(c.replicas.map(async (r) => bundleOfReadyz((await http('GET', `${r.url}/readyz`, undefined)).body)));
    expect(before[0]).toMatch(/^sha256:/);
    expect(new Set(before).size).toBe(1);
    expect((await decide(c.replicas[2]!.url)).body.effect).toBe('allow');

    writeFileSync(
      join(c.dir, 'policies', 'scale-reload.yaml'),
      'id: scale-reload\nversion: 1\nrules:\n  - id: kb-closed\n    effect: deny\n    actions: [tool.call]\n    tools: [search_knowledge_base]\n    reason: "the knowledge base is closed (scale test)"\n',
    );
    const reloaded = await http('POST', `${c.replicas[0]!.url}/v1/policies/reload`, c.credentials.admin);
    expect(reloaded.status, JSON.stringify(reloaded.body)).toBe(200);
    const after = bundleOfReadyz((await http('GET', `${c.replicas[0]!.url}/readyz`, undefined)).body);
    expect(after).toMatch(/^sha256:/);
    expect(after).not.toBe(before[0]);
    // Nothing watches the folder (watch_policies: false): only the reload on replica 0 can tell the others.
    for (const r of c.replicas.slice(1)) {
      await waitFor(`replica ${r.index} to serve bundle ${after}`, async () => ((bundleOfReadyz((await http('GET', `${r.url}/readyz`, undefined)).body) === after) ? true : undefined), 15_000, 200);
      const policies = await http<{ bundle: string }>('GET', `${r.url}/v1/policies`, c.credentials.viewer);
      expect(policies.body.bundle).toBe(after);
      const d = await decide(r.url);
      expect(d.body.effect).toBe('deny');
      expect(d.body.reason).toContain('knowledge base is closed');
    }
    // Each replica lists the three, all on the new bundle.
    const ready = await http<{ replicas?: Array<{ id: string; policy_bundle: string; differs?: boolean }> }>('GET', `${c.replicas[2]!.url}/readyz`, undefined);
    const listed = await waitFor('three replicas listed on the new bundle', async () => {
      const r = await http<{ replicas?: Array<{ id: string; policy_bundle: string; differs?: boolean }> }>('GET', `${c.replicas[2]!.url}/readyz`, undefined);
      const list = r.body.replicas ?? [];
      return list.length === 3 && list.every((x) => x.policy_bundle === after) ? list : undefined;
    }, 10_000, 200).catch((e: Error) => { throw new Error(`${e.message}; /readyz said ${JSON.stringify(ready.body.replicas)}`); });
    expect(listed.filter((x) => x.differs).length).toBe(0);
  }, 60_000);

  it('an MCP session opened on one replica goes on on the others (the official SDK client, through the proxy)', async () => {
    const backends: string[] = [];
    const recording: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if ((init?.method ?? 'GET') === 'POST') backends.push(res.headers.get('x-backend') ?? '?');
      return res;
    };
    const client = new Client({ name: 'scale-test', version: '1' });
    const errors: Error[] = [];
    client.onerror = (e) => errors.push(e);
    const transport = new StreamableHTTPClientTransport(new URL(`${c.url}/mcp`), { fetch: recording, requestInit: { headers: { authorization: `Bearer ${key('support-agent')}` } } });
    await client.connect(transport);
    try {
      expect(transport.sessionId).toBeTruthy();
      const names: string[] = [];
      for (let i = 0; i < 3; i++) names.push(...(await client.listTools()).tools.map((t) => t.name));
      expect(names).toContain('read_orders');
      for (let i = 0; i < 3; i++) {
        const result = (await client.callTool({ name: 'read_orders', arguments: { limit: 2 } })) as CallToolResult;
        expect(result.isError ?? false, JSON.stringify(result)).toBe(false);
        expect(JSON.stringify(result.content)).toContain('[REDACTED]');
      }
      // initialize, initialized, 3 lists, 3 calls: every replica served some, all in the one session.
      expect(new Set(backends)).toEqual(new Set(['0', '1', '2']));
      expect(errors.map((e) => e.message)).toEqual([]);
    } finally {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    }
  }, 30_000);

  it("every replica keeps its state in the cluster's Postgres schema and under its Redis prefix", async () => {
    const client = new pg.Client({ connectionString: c.postgresUrl });
    await client.connect();
    try {
      const tables = (await client.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [c.schema])).rows.map((r) => r.table_name as string);
      expect(tables).toEqual(expect.arrayContaining(['decisions', 'approvals']));
      const rows = Number((await client.query(`SELECT count(*) AS n FROM "${c.schema}".decisions`)).rows[0].n);
      const log = await exportLog(c.url, c.credentials.admin);
      // The 80 rate-limited calls alone, whichever replica answered, are in the one table.
      expect(rows).toBeGreaterThanOrEqual(80);
      expect(rows).toBe(log.length);
    } finally {
      await client.end();
    }
    expect((await listKeys(c.redisUrl as string, c.prefix)).length).toBeGreaterThan(0);
  }, 30_000);

  it('kill -9 one replica under load: every answered call is in the log, and the chain verifies', async () => {
    const agents = Object.keys(c.credentials.keys)
      .filter((a) => a.startsWith('load-'))
      .slice(0, 8)
      .map((id) => ({ id, key: key(id) }));
    // 30 calls per agent at most (each in a tenant of its own): under each tenant's 50 per minute.
    const load = runLoad(c.url, agents, { maxPerAgent: 30 });
    await waitFor('80 answered calls, 20 by replica 1', async () => (load.calls.filter((x) => x.backend === 1).length >= 20 && load.calls.length >= 80 ? true : undefined), 60_000, 10);
    const victim = c.replicas[1]!;
    await c.kill9(1);
    const killedAt = Date.now();
    const calls = await load.done;

    const answered = calls.filter((x) => x.status > 0 && !x.proxyError);
    const lost = calls.filter((x) => x.status === 0 || x.proxyError);
    expect(answered.filter((x) => x.backend === 1).length, 'the victim answered calls before it died').toBeGreaterThan(0);
    expect(answered.filter((x) => x.start > killedAt).length, 'calls went on after the kill').toBeGreaterThan(60);
    expect(answered.filter((x) => x.start > killedAt && x.backend === 1)).toEqual([]);
    // The survivors keep serving: every answer is a success, the killed replica's in-flight calls aside.
    expect(answered.filter((x) => x.status !== 200).map((x) => `${x.status} ${x.reason}`)).toEqual([]);
    // At most one call per agent can have been in flight on the victim when it died.
    expect(lost.length).toBeLessThanOrEqual(agents.length);
    expect(victim.alive()).toBe(false);

    const log = await exportLog(c.replicas[0]!.url, c.credentials.admin);
    const ids = new Set(log.map((r) => r.id));
    const missing = answered.filter((x) => !x.auditId || !ids.has(x.auditId));
    expect(missing.map((x) => `${x.requestId} on replica ${x.backend}: ${x.auditId}`)).toEqual([]);
    const byId = new Map(log.map((r) => [r.id, r]));
    for (const x of answered) expect(byId.get(x.auditId!)!.requestId).toBe(x.requestId);

    const verify = await http<{ ok: boolean; breakCount: number; checked: number }>('GET', `${c.replicas[2]!.url}/v1/audit/verify`, c.credentials.admin);
    expect(verify.status).toBe(200);
    expect(verify.body, JSON.stringify(verify.body).slice(0, 2000)).toMatchObject({ ok: true, breakCount: 0 });
    const cli = await runCli(['audit', 'verify', '--config', c.config]);
    expect(cli.code, `${cli.stdout}\n${cli.stderr}`).toBe(0);
    expect(cli.stdout).toMatch(/ok: \d+ records/);
    const records = Number(/ok: (\d+) records/.exec(cli.stdout)![1]);
    expect(records).toBeGreaterThanOrEqual(log.length);

    // The killed replica comes back and serves.
    const back = await c.restart(1);
    expect(back.pid).not.toBe(victim.pid);
    const after = await callTool(back.url, key('support-agent'), 'support-agent', 'read_orders', { limit: 1 });
    expect(after.status).toBe(200);
  }, 110_000);
});
