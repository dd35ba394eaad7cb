import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { gatewayModule } from '../../src/surfaces/http/mcp/gateway-http.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { startHarness, type Harness } from '../pipeline/harness.js';

/**
 * Idempotent approvals through the MCP gateway (issue 18, defects 1 and 6), driven with the
 * official SDK client the way a model drives it: a held call answers "call the same tool again
 * with the same arguments", and the model does exactly that — no `_meta`, a new JSON-RPC request.
 * The example tool service counts every execution.
 */
const APPROVER = 'fiona-token-0123456789';
const EXTRA = `
humans:
  tokens:
    - { id: fiona, token_hash: "${sha256(APPROVER)}", roles: [approver, finance_manager], tenant: acme-corp }
server: { watch_policies: false }
mcp: { approval_wait: 300ms }
`;

let h: Harness;
let app: FastifyInstance;
let base: string;
const clients: Client[] = [];

beforeEach(async () => {
  h = await startHarness(EXTRA);
  app = await buildServer(h.warden, { logger: false }, [gatewayModule]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await app.close();
  await h.close();
});

async function connect(agent: string): Promise<Client> {
  const client = new Client({ name: 'model', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${h.keys[agent]}` } } }));
  clients.push(client);
  return client;
}

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${APPROVER}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const REFUND = { order_id: 'o-456', amount: 250 };
const refund = async (client: Client) => (await client.callTool({ name: 'issue_refund', arguments: { ...REFUND } })) as CallToolResult;
const text = (r: CallToolResult) => (r.content[0] as { text: string }).text;
const approvalOf = (r: CallToolResult) => (r._meta?.['warden/approval'] as { id: string } | undefined)?.id ?? (r._meta?.['warden/decision'] as { approvalId?: string } | undefined)?.approvalId;
const executions = () => h.tools.calls.filter((c) => c.tool === 'issue_refund');
const approvalsOf = async (agentId: string) => (await h.warden.store.listApprovals({ limit: 100 })).filter((a) => a.agentId === agentId);

describe('the MCP gateway: a model retrying a held call gets what its approval became', () => {
  it('approved in the API: the exact retry gets the stored result; the tool ran once; no second approval', async () => {
    const client = await connect('refund-agent');
    const held = await refund(client);
    expect(held.isError).toBe(true);
    const id = approvalOf(held)!;
    expect(text(held)).toContain(`Approval ${id} is pending`);
    expect(text(held)).toContain('call the same tool again with the same arguments');

    const approved = await api('POST', `/v1/approvals/${id}/approve`, { reason: 'verified' });
    expect(approved.json).toMatchObject({ approval: { status: 'executed' }, execution: { status: 'executed' } });
    expect(executions()).toHaveLength(1);

    const retry = await refund(client);
    expect(retry.isError, text(retry)).toBeFalsy();
    expect(retry.structuredContent).toEqual((approved.json.execution as { result: unknown }).result);
    expect(retry._meta?.['warden/decision']).toMatchObject({ effect: 'allow', status: 'executed', approvalId: id, stage: 'approval' });
    expect((retry._meta?.['warden/decision'] as { reason: string }).reason).toMatch(/served from approval .* not run again/);
    // A new session (the client reconnected) retrying once more: the same answer.
    expect((await refund(await connect('refund-agent')))._meta?.['warden/decision']).toMatchObject({ status: 'executed', approvalId: id });
    expect(executions()).toHaveLength(1);
    expect(await approvalsOf('refund-agent')).toHaveLength(1);
  });

  it('a retry while still pending stays on the same approval', async () => {
    const client = await connect('refund-agent');
    const id = approvalOf(await refund(client));
    const again = await refund(client);
    expect(approvalOf(again)).toBe(id);
    expect(text(again)).toContain(`Approval ${id} is pending`);
    expect(await approvalsOf('refund-agent')).toHaveLength(1);
  });

  it('denied: the retry is the denial, naming the approval and who denied it; no new approval', async () => {
    const client = await connect('refund-agent');
    const id = approvalOf(await refund(client))!;
    expect((await api('POST', `/v1/approvals/${id}/deny`, { reason: 'not this customer' })).status).toBe(200);
    const retry = await refund(client);
    expect(retry.isError).toBe(true);
    expect(text(retry)).toContain(`approval ${id} was denied by fiona: not this customer`);
    expect(retry._meta?.['warden/decision']).toMatchObject({ effect: 'deny', status: 'denied', approvalId: id });
    expect(await approvalsOf('refund-agent')).toHaveLength(1);
    expect(executions()).toHaveLength(0);
  });

  it('expired: the retry opens a new approval', async () => {
    const client = await connect('refund-agent');
    const id = approvalOf(await refund(client));
    h.clock.now += 61 * 60_000;
    const retry = await refund(client);
    const next = approvalOf(retry);
    expect(next).toBeDefined();
    expect(next).not.toBe(id);
    expect(text(retry)).toContain(`Approval ${next} is pending`);
    expect(await approvalsOf('refund-agent')).toHaveLength(2);
  });

  it('40 connect/close cycles of one agent (the SDK sends no DELETE) all succeed', async () => {
    for (let i = 0; i < 40; i++) {
      const client = new Client({ name: 'model', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${h.keys['support-agent']}` } } }));
      expect((await client.listTools()).tools.length, `connect ${i + 1}`).toBeGreaterThan(0);
      await client.close();
    }
  });
});
