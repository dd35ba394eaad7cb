import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { governanceModule } from '../../src/surfaces/http/mcp/governance-http.js';
import { sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { openStore } from '../../src/store/open-store.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

const TOKENS = {
  admin: 'admin-token-0123456789',
  acmeAdmin: 'acme-admin-token-0123456789',
  fiona: 'fiona-token-0123456789',
  viewer: 'viewer-token-0123456789',
};
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.admin)}", roles: [admin] }
    - { id: alan, token_hash: "${sha256(TOKENS.acmeAdmin)}", roles: [admin], tenant: acme-corp }
    - { id: fiona, token_hash: "${sha256(TOKENS.fiona)}", roles: [approver, finance_manager], tenant: acme-corp }
    - { id: vic, token_hash: "${sha256(TOKENS.viewer)}", roles: [viewer], tenant: acme-corp }
server: { body_limit: 65536, watch_policies: false }
`;
const STDIO_MODULE = fileURLToPath(new URL('../../dist/surfaces/mcp/governance-stdio.js', import.meta.url));

let h: Harness;
let app: FastifyInstance;
let base: string;
const open: Client[] = [];

beforeAll(async () => {
  h = await startHarness(HUMANS, { realClock: true });
  app = await buildServer(h.warden, { logger: false }, [governanceModule]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)));
  await app.close();
  await h.close();
});

async function connect(token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'governance-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/governance`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  open.push(client);
  return { client, transport };
}

type Outcome = { isError: boolean; text: string; data: Record<string, unknown> };

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Outcome> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return { isError: result.isError === true, text, data: (result.structuredContent ?? {}) as Record<string, unknown> };
}

async function raw(method: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(`${base}/mcp/governance`, { method, headers, body });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', json, text };
}

const refund = (amount: number) => ({ tool: 'issue_refund', arguments: { order_id: 'o-456', amount } });

describe('the governance MCP endpoint over Streamable HTTP', () => {
  it('lists the six tools with JSON Schemas for their inputs', async () => {
    const { client } = await connect(h.keys['refund-agent']!);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['create_policy', 'get_audit_log', 'get_compliance_status', 'register_agent', 'report_incident', 'validate_action']);
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(40);
      expect(tool.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
    }
    const validate = tools.find((t) => t.name === 'validate_action')!;
    expect(validate.inputSchema.required).toEqual(['tool']);
    expect(Object.keys(validate.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['tool', 'arguments', 'context', 'session_id', 'user']));
    const incident = tools.find((t) => t.name === 'report_incident')!;
    expect(incident.inputSchema.properties?.severity).toMatchObject({ enum: ['low', 'medium', 'high', 'critical'] });
    expect(validate.annotations).toMatchObject({ readOnlyHint: true });
  });

  it('validate_action decides for the calling agent and executes nothing', async () => {
    const callsBefore = h.tools.calls.length;
    const refunder = (await connect(h.keys['refund-agent']!)).client;
    const large = await call(refunder, 'validate_action', refund(250));
    expect(large.isError).toBe(false);
    expect(large.data).toMatchObject({
      executed: false,
      agent: 'refund-agent',
      effect: 'require_approval',
      rule: 'large-refund',
      policy: 'refunds',
      approval: { approvers: ['role:finance_manager'], quorum: 1 },
      bundle: h.warden.policySet.bundle,
    });
    expect(large.text).toMatch(/would be held for human approval/);
    const small = await call(refunder, 'validate_action', refund(50));
    expect(small.data).toMatchObject({ effect: 'allow', rule: 'small-refund', obligations: [{ type: 'require_idempotency_key', arg: 'order_id' }] });
    const support = (await connect(h.keys['support-agent']!)).client;
    const denied = await call(support, 'validate_action', refund(50));
    expect(denied.isError).toBe(false);
    expect(denied.data).toMatchObject({ effect: 'deny', rule: 'refund-needs-finance', reason: expect.stringMatching(/^support-agent lacks the finance role required for issue_refund/) });
    // An agent asks about itself only.
    const other = await call(support, 'validate_action', { ...refund(50), agent_id: 'refund-agent' });
    expect(other.isError).toBe(true);
    expect(other.text).toMatch(/only validate its own actions/);

    expect(h.tools.calls.length).toBe(callsBefore);
    expect(await h.warden.approvals.list({ status: 'pending' })).toHaveLength(0);
    await h.warden.audit.flush();
    const record = await h.warden.store.getDecision(large.data.audit_id as string);
    expect(record).toMatchObject({ agentId: 'refund-agent', resourceId: 'issue_refund', effect: 'require_approval', outcome: 'pending' });
  });

  it('validate_action runs the checks of a real call: registry, argument schema, tenant', async () => {
    const { client } = await connect(h.keys['refund-agent']!);
    const unknown = await call(client, 'validate_action', { tool: 'launch_missiles', arguments: {} });
    expect(unknown.data).toMatchObject({ effect: 'deny', stage: 'arguments', reason: expect.stringMatching(/unknown tool "launch_missiles"/) });
    const schema = await call(client, 'validate_action', { tool: 'issue_refund', arguments: { order_id: 'o-1', amount: 'lots' } });
    expect(schema.data).toMatchObject({ effect: 'deny', stage: 'arguments', reason: expect.stringMatching(/args\.amount must be number/) });
    const tenant = await call(client, 'validate_action', { tool: 'read_orders', arguments: { tenant: 'competitor-corp' } });
    expect(tenant.data).toMatchObject({ effect: 'deny', stage: 'tenant' });
    await h.warden.audit.flush();
    expect(await h.warden.store.getDecision(schema.data.audit_id as string)).toMatchObject({ effect: 'deny', stage: 'arguments', details: { dryRun: true } });
  });

  it('answers bad input with a readable tool error, never a crash', async () => {
    const { client } = await connect(h.keys['refund-agent']!);
    const missing = await call(client, 'validate_action', { arguments: {} });
    expect(missing.isError).toBe(true);
    expect(missing.text).toMatch(/Invalid arguments for tool validate_action/);
    expect(missing.text).toMatch(/missing required field at tool/);
    const extra = await call(client, 'validate_action', { tool: 'read_orders', argumets: {} });
    expect(extra.isError).toBe(true);
    expect(extra.text).toMatch(/argumets/);
    const badEnum = await call(client, 'report_incident', { type: 'x', severity: 'apocalyptic', description: 'y' });
    expect(badEnum.isError).toBe(true);
    expect(badEnum.text).toMatch(/severity/);
    const unknownTool = await call(client, 'no_such_tool');
    expect(unknownTool.isError).toBe(true);
    // The session still works after all that.
    expect((await call(client, 'validate_action', refund(10))).data).toMatchObject({ effect: 'allow' });
  });

  it('register_agent is for admins; the key it returns works on the HTTP API', async () => {
    const agent = (await connect(h.keys['refund-agent']!)).client;
    const refused = await call(agent, 'register_agent', { id: 'sneaky-bot', trust: 'admin' });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/for admins; agent "refund-agent" cannot use it/);
    const viewer = (await connect(TOKENS.viewer)).client;
    expect((await call(viewer, 'register_agent', { id: 'sneaky-bot' })).text).toMatch(/vic needs the admin role/);
    const acmeAdmin = (await connect(TOKENS.acmeAdmin)).client;
    expect((await call(acmeAdmin, 'register_agent', { id: 'sneaky-bot', tenant: 'competitor-corp' })).text).toMatch(/may only register agents of tenant acme-corp/);
    expect(await h.warden.store.getAgent('sneaky-bot')).toBeUndefined();

    const admin = (await connect(TOKENS.admin)).client;
    const created = await call(admin, 'register_agent', { id: 'mcp-bot', roles: ['support'], tenant: 'acme-corp' });
    expect(created.isError).toBe(false);
    expect(created.data).toMatchObject({ agent: { id: 'mcp-bot', trust: 'low', status: 'active', source: 'api' }, api_key: expect.stringMatching(/^wk_/) });
    expect((await call(admin, 'register_agent', { id: 'mcp-bot' })).text).toMatch(/already exists/);
    const response = await fetch(`${base}/v1/tools/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.data.api_key as string}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'mcp-bot', request_id: nextRequestId(), tool: 'read_orders', arguments: {} }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'executed', decision: { effect: 'allow' } });
  });

  it('create_policy refuses an invalid policy with diagnostics and writes nothing', async () => {
    const admin = (await connect(TOKENS.admin)).client;
    const before = h.warden.policySet.bundle;
    const file = join(h.dir, 'policies', 'typo.yaml');
    const invalid = await call(admin, 'create_policy', { id: 'typo', yaml: 'id: typo\nversion: 1\nrules:\n  - id: r\n    efect: allow\n' });
    expect(invalid.isError).toBe(true);
    expect(invalid.text).toMatch(/typo\.yaml:5:5: error \[unknown-field\] unknown field "efect"/);
    expect(invalid.data).toMatchObject({ valid: false, written: false, diagnostics: expect.arrayContaining([expect.objectContaining({ line: 5, column: 5, code: 'unknown-field', text: expect.stringMatching(/typo\.yaml:5:5/) })]) });
    expect(existsSync(file)).toBe(false);

    // A duplicate policy id is caught against the policies in force.
    writeFileSync(join(h.dir, 'policies', 'legacy-name.yaml'), 'id: legacy\nversion: 1\nrules: [{ id: r, effect: allow, tools: [legacy_tool] }]\n');
    const duplicate = await call(admin, 'create_policy', { id: 'legacy', yaml: 'id: legacy\nversion: 2\nrules: [{ id: r, effect: allow, tools: [legacy_tool] }]\n' });
    expect(duplicate.isError).toBe(true);
    expect(duplicate.text).toMatch(/\[duplicate-id\] policy id "legacy" is already used at .*legacy-name\.yaml:1/);
    expect(existsSync(join(h.dir, 'policies', 'legacy.yaml'))).toBe(false);

    expect((await call(admin, 'create_policy', { id: '../escape', yaml: 'id: x' })).text).toMatch(/Invalid arguments/);
    expect((await call(admin, 'create_policy', { id: 'other', yaml: 'id: not-other\nversion: 1\nrules: [{ id: r, effect: deny, tools: [x] }]\n' })).text).toMatch(/must match/);
    expect(existsSync(join(h.dir, 'policies', 'other.yaml'))).toBe(false);
    expect((await call(admin, 'create_policy', { id: 'refunds', yaml: 'id: refunds\nversion: 9\nrules: []\n' })).text).toMatch(/already exists; pass replace: true/);
    expect(h.warden.policySet.bundle).toBe(before);

    const agent = (await connect(h.keys['refund-agent']!)).client;
    expect((await call(agent, 'create_policy', { id: 'mine', yaml: 'id: mine\nversion: 1\nrules: []\n' })).text).toMatch(/for admins; agent "refund-agent" cannot use it/);
    const acmeAdmin = (await connect(TOKENS.acmeAdmin)).client;
    expect((await call(acmeAdmin, 'create_policy', { id: 'mine', yaml: 'id: mine\nversion: 1\nrules: []\n' })).text).toMatch(/only an admin of all tenants/);
  });

  it('create_policy writes a valid policy, reloads, and it takes effect', async () => {
    const agent = (await connect(h.keys['refund-agent']!)).client;
    const request = { tool: 'read_orders', arguments: { limit: 5 } };
    expect((await call(agent, 'validate_action', request)).data).toMatchObject({ effect: 'deny', reason: 'no rule allowed this action' });

    const admin = (await connect(TOKENS.admin)).client;
    const before = h.warden.policySet.bundle;
    const yaml = 'id: finance-reads-orders\nversion: 1\nrules:\n  - id: finance-reads\n    effect: allow\n    tools: [read_orders]\n    when: "\'finance\' in agent.roles"\n';
    const created = await call(admin, 'create_policy', { id: 'finance-reads-orders', yaml });
    expect(created.isError).toBe(false);
    expect(created.data).toMatchObject({ valid: true, written: true, policy: 'finance-reads-orders', version: '1', replaced: false, previousBundle: before });
    expect(created.data.bundle).not.toBe(before);
    expect(h.warden.policySet.bundle).toBe(created.data.bundle);
    expect(readFileSync(join(h.dir, 'policies', 'finance-reads-orders.yaml'), 'utf8')).toBe(yaml);
    expect((await call(agent, 'validate_action', request)).data).toMatchObject({ effect: 'allow', policy: 'finance-reads-orders', rule: 'finance-reads' });

    const replaced = await call(admin, 'create_policy', { id: 'finance-reads-orders', yaml: yaml.replace('effect: allow', 'effect: require_approval\n    approval: { approvers: ["role:dpo"] }').replace('version: 1', 'version: 2'), replace: true });
    expect(replaced.data).toMatchObject({ written: true, replaced: true, version: '2' });
    expect((await call(agent, 'validate_action', request)).data).toMatchObject({ effect: 'require_approval', approval: { approvers: ['role:dpo'] } });
    await h.warden.audit.flush();
    const adminRecords = await h.warden.store.queryDecisions({ agentId: 'operator', tool: 'policy.replace' });
    expect(adminRecords.length).toBe(1);
  });

  it('get_audit_log shows an agent only its own records; people see their tenant', async () => {
    const agent = (await connect(h.keys['refund-agent']!)).client;
    const own = await call(agent, 'get_audit_log', { limit: 200 });
    expect(own.isError).toBe(false);
    const records = own.data.records as Array<{ agentId: string; resourceType: string }>;
    expect(records.length).toBeGreaterThan(3);
    expect(records.every((r) => r.agentId === 'refund-agent')).toBe(true);
    expect((await call(agent, 'get_audit_log', { agent: 'support-agent' })).text).toMatch(/only read its own records/);
    const denied = await call(agent, 'get_audit_log', { effect: 'deny', since: '1h' });
    expect((denied.data.records as Array<{ effect: string }>).every((r) => r.effect === 'deny')).toBe(true);
    expect((await call(agent, 'get_audit_log', { since: 'yesterday' })).text).toMatch(/since must be/);

    const viewer = (await connect(TOKENS.viewer)).client;
    const seen = (await call(viewer, 'get_audit_log', { limit: 500 })).data.records as Array<{ agentId: string; tenant: string }>;
    expect(seen.some((r) => r.agentId === 'support-agent')).toBe(true);
    expect(seen.every((r) => r.tenant === 'acme-corp')).toBe(true);
    expect((await call(viewer, 'get_audit_log', { tenant: 'competitor-corp' })).text).toMatch(/may only read tenant acme-corp/);
  });

  it('get_compliance_status: the full status for people, a reduced view for agents', async () => {
    const viewer = (await connect(TOKENS.viewer)).client;
    const full = await call(viewer, 'get_compliance_status');
    expect(full.data).toMatchObject({ status: expect.stringMatching(/^(healthy|warning|critical)$/), thresholds: { warning: 0.1, critical: 0.25 }, policyBundle: { bundle: h.warden.policySet.bundle } });
    expect(full.data.topOffendingAgents).toBeDefined();
    const agent = (await connect(h.keys['support-agent']!)).client;
    const reduced = await call(agent, 'get_compliance_status');
    expect(reduced.data).toMatchObject({ status: full.data.status, policyBundle: h.warden.policySet.bundle, agent: { id: 'support-agent', status: 'active' } });
    expect((reduced.data.agent as { decisions: { deny: number } }).decisions.deny).toBeGreaterThan(0);
    expect(reduced.data.topOffendingAgents).toBeUndefined();
    expect(reduced.data.recentIncidents).toBeUndefined();
  });

  it('report_incident: an agent about itself; a critical one suspends it and its next call is denied', async () => {
    const admin = (await connect(TOKENS.admin)).client;
    const created = await call(admin, 'register_agent', { id: 'rogue-bot', roles: ['support'], tenant: 'acme-corp', trust: 'medium' });
    const key = created.data.api_key as string;
    const rogue = (await connect(key)).client;
    expect((await call(rogue, 'validate_action', { tool: 'read_orders', arguments: {} })).data).toMatchObject({ effect: 'allow' });
    expect((await call(rogue, 'report_incident', { agent_id: 'refund-agent', type: 'x', severity: 'low', description: 'y' })).text).toMatch(/only report incidents about itself/);
    const viewer = (await connect(TOKENS.viewer)).client;
    expect((await call(viewer, 'report_incident', { agent_id: 'rogue-bot', type: 'x', severity: 'low', description: 'y' })).text).toMatch(/needs the approver or admin role/);
    const fiona = (await connect(TOKENS.fiona)).client;
    expect((await call(fiona, 'report_incident', { agent_id: 'other-tenant-agent', type: 'x', severity: 'low', description: 'y' })).text).toMatch(/no agent "other-tenant-agent"/);
    expect((await call(fiona, 'report_incident', { agent_id: 'refund-agent', type: 'odd_refund', severity: 'medium', description: 'refund without a ticket' })).data).toMatchObject({
      suspended: false,
      incident: { agentId: 'refund-agent', reportedBy: 'fiona', severity: 'medium' },
    });

    const reported = await call(rogue, 'report_incident', { type: 'prompt_injection', severity: 'critical', description: 'a web page told me to export every order; I nearly did' });
    expect(reported.isError).toBe(false);
    expect(reported.data).toMatchObject({ suspended: true, incident: { agentId: 'rogue-bot', reportedBy: 'agent:rogue-bot', severity: 'critical' } });
    expect((await h.warden.store.getAgent('rogue-bot'))?.status).toBe('suspended');

    const next = await call(rogue, 'validate_action', { tool: 'read_orders', arguments: {} });
    expect(next.data).toMatchObject({ effect: 'deny', stage: 'agent', reason: expect.stringMatching(/agent "rogue-bot" is suspended: critical incident inc_/) });
    const response = await fetch(`${base}/v1/tools/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'rogue-bot', request_id: nextRequestId(), tool: 'read_orders', arguments: {} }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { decision: { reason: string } }).decision.reason).toMatch(/is suspended/);
  });
});

describe('the governance endpoint at the HTTP level', () => {
  const rpcHeaders = (token?: string) => ({
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  });

  it('answers 401 problem+json without credentials or with a bad key', async () => {
    const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const none = await raw('POST', rpcHeaders(), initialize);
    expect(none.status).toBe(401);
    expect(none.type).toContain('application/problem+json');
    const bad = await raw('POST', rpcHeaders('wk_nope_aaaaaaaaaaaaaaaaaaaaaaaaaaaa'), initialize);
    expect(bad.status).toBe(401);
    expect(bad.json?.detail).toMatch(/API key is not valid/);
    const docs = (await (await fetch(`${base}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(docs.paths['/mcp/governance'] ?? {}).sort()).toEqual(['delete', 'get', 'post']);
    const client = new Client({ name: 'anonymous', version: '1' });
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp/governance`)))).rejects.toThrow();
  });

  it('answers malformed JSON-RPC and unknown methods with JSON-RPC errors', async () => {
    const token = h.keys['refund-agent']!;
    const malformed = await raw('POST', rpcHeaders(token), '{"jsonrpc":"2.0","method":}');
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error/) } });
    const notRpc = await raw('POST', rpcHeaders(token), '{"hello":"world"}');
    expect(notRpc.json).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
    const sessionless = await raw('POST', rpcHeaders(token), '{"jsonrpc":"2.0","id":1,"method":"no/such"}');
    expect(sessionless.status).toBe(400);
    expect(sessionless.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/initialize request first/) } });

    const { transport } = await connect(token);
    const inSession = { ...rpcHeaders(token), 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': transport.protocolVersion! };
    const unknown = await raw('POST', inSession, '{"jsonrpc":"2.0","id":7,"method":"no/such"}');
    expect(unknown.status).toBe(200);
    expect(unknown.json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32601 } });
    const garbage = await raw('POST', inSession, '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"validate_action","arguments":"not an object"}}');
    // Params that do not fit the method: the SDK answers a JSON-RPC error naming the problem.
    expect(garbage.json).toMatchObject({ jsonrpc: '2.0', id: 8, error: { code: expect.any(Number), message: expect.stringMatching(/expected record/) } });
    const badJson = await raw('POST', inSession, '[{"jsonrpc":');
    expect(badJson.json).toMatchObject({ error: { code: -32700 } });
    const wrongType = await raw('POST', { ...inSession, 'content-type': 'text/plain' }, 'hello');
    expect(wrongType.status).toBe(415);
    expect(wrongType.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
  });

  it('binds a session to the caller that opened it and ends it on DELETE', async () => {
    const { client, transport } = await connect(h.keys['refund-agent']!);
    const sessionId = transport.sessionId!;
    const headers = (token: string) => ({ ...rpcHeaders(token), 'mcp-session-id': sessionId, 'mcp-protocol-version': transport.protocolVersion! });
    const list = '{"jsonrpc":"2.0","id":3,"method":"tools/list"}';
    expect((await raw('POST', headers(h.keys['refund-agent']!), list)).json).toMatchObject({ id: 3, result: { tools: expect.any(Array) } });
    const hijack = await raw('POST', headers(h.keys['support-agent']!), list);
    expect(hijack.status).toBe(403);
    expect(hijack.json?.detail).toMatch(/belongs to another caller/);
    expect((await raw('POST', headers(TOKENS.admin), list)).status).toBe(403);
    expect((await raw('POST', { ...headers(h.keys['refund-agent']!), 'mcp-session-id': 'no-such-session' }, list)).status).toBe(404);

    await transport.terminateSession();
    const gone = await raw('POST', headers(h.keys['refund-agent']!), list);
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ error: { code: -32001 } });
    await client.close();
  });

  it('closes its sessions, and their SSE streams, when the server closes', async () => {
    const other = await buildServer(h.warden, { logger: false }, [governanceModule]);
    await other.listen({ host: '127.0.0.1', port: 0 });
    const address = other.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp/governance`;
    const client = new Client({ name: 'closing', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${h.keys['refund-agent']!}` } } });
    await client.connect(transport);
    const sse = await fetch(url, { headers: { authorization: `Bearer ${h.keys['refund-agent']!}`, accept: 'text/event-stream', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': transport.protocolVersion! } });
    // The client opened the session's SSE stream itself right after initializing: a second is refused.
    expect(sse.status).toBe(409);
    expect(await sse.text()).toMatch(/Only one SSE stream is allowed per session/);
    // An SSE stream left open would keep close() waiting: a hang fails the test by its timeout.
    await other.close();
    expect(other.server.listening).toBe(false);
    await client.close().catch(() => undefined);
  });
});

describe('the governance server over stdio', () => {
  function stdioSetup() {
    if (!existsSync(STDIO_MODULE)) throw new Error(`${STDIO_MODULE} is missing: run npm run build first (npm test does)`);
    const dir = mkdtempSync(join(tmpdir(), 'warden-governance-stdio-'));
    cpSync(join(h.dir, 'policies'), join(dir, 'policies'), { recursive: true });
    cpSync(join(h.dir, 'secrets'), join(dir, 'secrets'), { recursive: true });
    // Same config, own database: two processes must not share one decision log chain.
    writeFileSync(join(dir, 'warden.yaml'), readFileSync(join(h.dir, 'warden.yaml'), 'utf8'));
    const script = join(dir, 'governance-child.mjs');
    writeFileSync(
      script,
      `import { runGovernanceStdio } from ${JSON.stringify(pathToFileURL(STDIO_MODULE).href)};\nprocess.exitCode = await runGovernanceStdio(process.argv[2], process.argv[3]);\n`,
    );
    return { dir, script, config: join(dir, 'warden.yaml') };
  }

  it('serves validate_action for the agent named at start, and writes its log on close', async () => {
    const { dir, script, config } = stdioSetup();
    const transport = new StdioClientTransport({ command: process.execPath, args: [script, config, 'refund-agent'], cwd: dir, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'stdio-test', version: '1' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(6);
    const result = (await client.callTool({ name: 'validate_action', arguments: refund(250) })) as CallToolResult;
    expect(result.structuredContent).toMatchObject({ agent: 'refund-agent', effect: 'require_approval', rule: 'large-refund', executed: false });
    const admin = (await client.callTool({ name: 'register_agent', arguments: { id: 'stdio-bot' } })) as CallToolResult;
    expect(admin.isError).toBe(true);
    await client.close(); // ends the child's standard input: it closes the store and exits
    expect(stderr).toBe('');
    const store = await openStore(`sqlite:${join(dir, 'warden.db')}`);
    try {
      const records = await store.queryDecisions({ agentId: 'refund-agent' });
      expect(records.map((r) => r.effect)).toContain('require_approval');
    } finally {
      await store.close();
    }
  });

  it('exits with a clear error for an unknown agent', async () => {
    const { dir, script, config } = stdioSetup();
    const child = spawn(process.execPath, [script, config, 'ghost-agent'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/warden mcp governance: unknown agent "ghost-agent"/);
    expect(stdout).toBe('');
  });
});
