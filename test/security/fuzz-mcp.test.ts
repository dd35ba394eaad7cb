/**
 * Issue 16, "Tests that stay in the suite": a bounded malformed-input fuzz of the MCP endpoints —
 * `/mcp` (the gateway) and `/mcp/governance` — with raw JSON-RPC bodies over fetch: 2,000 cases
 * each from a fixed seed (malformed.ts), inside sessions opened the way a client opens them, plus
 * wrong and missing session ids, Accept headers, protocol versions and content types.
 *
 * Every answer: never a 5xx; a body, when there is one, is JSON-RPC (a result or an error with a
 * code and a message, or a batch of them) or problem+json; a gateway tool call answered with a
 * result went through the pipeline and its decision is in the log (as is each validate_action's).
 * No malformed message ends a session. Afterwards the server is up and a fresh MCP SDK client
 * works.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isObject, isProblem, missingRecords, request, startSecurityServer, TOKENS, type HttpAnswer, type SecurityServer } from './fixture.js';
import { anyJson, anyString, applyMutation, cases, contentType, FUZZ_SEED, hostileValue, mutation, type Mutation } from './malformed.js';

const BODY_LIMIT = 65_536;
const CASES_PER_ENDPOINT = 2_000;
const ACCEPT = 'application/json, text/event-stream';

type Endpoint = '/mcp' | '/mcp/governance';

interface McpCase {
  /** Break the whole message (`m`), or only the tool's arguments (then the message is well-formed). */
  scope: 'message' | 'arguments';
  message: 'tools/list' | 'tools/call' | 'ping' | 'resources/list' | 'resources/read' | 'prompts/list' | 'prompts/get' | 'initialize' | 'notification' | 'batch' | 'unknown';
  tool: string;
  args: unknown;
  m: Mutation;
  ct: string;
  session: 'valid' | 'missing' | 'bogus' | 'other-endpoint' | 'empty';
  accept: string;
  version: string | undefined;
  id: unknown;
}

const GATEWAY_TOOLS = ['read_orders', 'issue_refund', 'create_support_ticket', 'search_knowledge_base', 'export_csv', 'echo_request', 'no_such_tool'];
const GOVERNANCE_TOOLS = ['validate_action', 'get_audit_log', 'get_compliance_status', 'report_incident', 'register_agent', 'create_policy', 'no_such_tool'];

const mcpCase = (tools: string[]): fc.Arbitrary<McpCase> =>
  fc.record({
    scope: fc.constantFrom('message' as const, 'arguments' as const),
    message: fc.oneof(
      { arbitrary: fc.constant('tools/call' as const), weight: 10 },
      { arbitrary: fc.constantFrom('tools/list' as const, 'ping' as const, 'resources/list' as const, 'resources/read' as const, 'prompts/list' as const, 'prompts/get' as const, 'initialize' as const, 'notification' as const, 'batch' as const, 'unknown' as const), weight: 5 },
    ),
    tool: fc.oneof({ arbitrary: fc.constantFrom(...tools), weight: 6 }, { arbitrary: anyString, weight: 1 }),
    args: fc.oneof(
      { arbitrary: fc.constantFrom<unknown>({}, { limit: 1 }, { tool: 'read_orders', arguments: {} }, { order_id: 'o-1', amount: 5 }, { type: 'x', severity: 'low', description: 'fuzz' }, { subject: 'fuzz', priority: 'low' }), weight: 4 },
      { arbitrary: anyJson, weight: 3 },
      { arbitrary: hostileValue, weight: 2 },
      { arbitrary: fc.record({ tool: fc.constantFrom(...GATEWAY_TOOLS), arguments: anyJson, agent_id: anyString, tenant: anyString, session_id: anyString }, { requiredKeys: ['tool'] }), weight: 2 },
    ),
    m: mutation,
    ct: contentType,
    session: fc.oneof({ arbitrary: fc.constant('valid' as const), weight: 20 }, { arbitrary: fc.constantFrom('missing' as const, 'bogus' as const, 'other-endpoint' as const, 'empty' as const), weight: 2 }),
    accept: fc.oneof({ arbitrary: fc.constant(ACCEPT), weight: 20 }, { arbitrary: fc.constantFrom('application/json', 'text/event-stream', '*/*', 'text/html', 'none'), weight: 2 }),
    version: fc.oneof({ arbitrary: fc.constant(undefined), weight: 20 }, { arbitrary: fc.constantFrom('2025-06-18', '2025-03-26', '1999-01-01', 'garbage', ''), weight: 2 }),
    id: fc.oneof({ arbitrary: fc.nat(), weight: 8 }, { arbitrary: fc.constantFrom<unknown>('abc', '', null, 1.5, -1, 2 ** 60, {}, [], true), weight: 1 }),
  });

/** The JSON-RPC message a case starts from, before its mutation. */
function message(c: McpCase): unknown {
  const request = (method: string, params?: unknown) => ({ jsonrpc: '2.0', id: c.id, method, ...(params === undefined ? {} : { params }) });
  switch (c.message) {
    case 'tools/call':
      return request('tools/call', { name: c.tool, arguments: c.args });
    case 'resources/read':
      return request('resources/read', { uri: typeof c.args === 'string' ? c.args : 'file:///etc/passwd' });
    case 'prompts/get':
      return request('prompts/get', { name: c.tool, arguments: c.args });
    case 'initialize':
      return request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } });
    case 'notification':
      return { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: c.id, reason: c.tool } };
    case 'batch':
      return [request('ping'), request('tools/call', { name: c.tool, arguments: c.args })];
    case 'unknown':
      return request(c.tool, c.args);
    default:
      return request(c.message);
  }
}

let s: SecurityServer;
const sessions: Record<Endpoint, string> = { '/mcp': '', '/mcp/governance': '' };

async function post(path: Endpoint, body: Buffer | string, headers: Record<string, string>): Promise<HttpAnswer> {
  return request(s.base, 'POST', path, { token: s.keys.support, raw: body, headers });
}

/** Opens a session the way a client does: initialize, then notifications/initialized. */
async function openSession(path: Endpoint): Promise<string> {
  const init = await post(path, JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } }), { accept: ACCEPT, 'content-type': 'application/json' });
  expect(init.status, init.text).toBe(200);
  const id = init.headers.get('mcp-session-id')!;
  const ready = await post(path, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { accept: ACCEPT, 'content-type': 'application/json', 'mcp-session-id': id });
  expect(ready.status).toBe(202);
  return id;
}

/** A JSON-RPC response: a result, or an error with a numeric code and a message. */
function isRpcResponse(v: unknown): boolean {
  if (!isObject(v) || v.jsonrpc !== '2.0') return false;
  if ('result' in v) return isObject(v.result);
  return isObject(v.error) && typeof v.error.code === 'number' && typeof v.error.message === 'string' && v.error.message.length > 0;
}

/** Decision records a response names: the gateway's `_meta`, validate_action's `audit_id`. */
function auditIdsIn(v: unknown): string[] {
  const ids: string[] = [];
  for (const r of Array.isArray(v) ? v : [v]) {
    if (!isObject(r) || !isObject(r.result)) continue;
    const meta = isObject(r.result._meta) ? r.result._meta['warden/decision'] : undefined;
    if (isObject(meta) && typeof meta.auditId === 'string') ids.push(meta.auditId);
    const structured = r.result.structuredContent;
    if (isObject(structured) && typeof structured.audit_id === 'string') ids.push(structured.audit_id);
  }
  return ids;
}

async function fuzz(path: Endpoint, all: McpCase[]): Promise<{ failures: string[]; auditIds: Set<string>; statuses: Record<number, number>; toolResults: number }> {
  const failures: string[] = [];
  const auditIds = new Set<string>();
  const statuses: Record<number, number> = {};
  let toolResults = 0;
  const other: Endpoint = path === '/mcp' ? '/mcp/governance' : '/mcp';
  for (const [index, c] of all.entries()) {
    const body = applyMutation(message(c), c.scope === 'arguments' ? { kind: 'none' } : c.m);
    const headers: Record<string, string> = {};
    if (c.ct !== 'none') headers['content-type'] = c.ct;
    if (c.accept !== 'none') headers.accept = c.accept;
    if (c.version !== undefined) headers['mcp-protocol-version'] = c.version;
    const sessionHeader = { valid: sessions[path], missing: undefined, bogus: '5f0c6a3e-0000-4000-8000-000000000000', 'other-endpoint': sessions[other], empty: '' }[c.session];
    if (sessionHeader !== undefined) headers['mcp-session-id'] = sessionHeader;
    const answer = await post(path, body, headers);
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    const wrong = (what: string) => failures.push(`${path} #${index} ${what}: ${JSON.stringify(c).slice(0, 300)} body ${JSON.stringify(body.toString('utf8').slice(0, 200))} → ${answer.status} ${answer.text.slice(0, 300)}`);

    if (answer.status >= 500) wrong(`a ${answer.status}`);
    if (answer.text !== '') {
      const j = answer.json;
      const rpc = Array.isArray(j) ? j.length > 0 && j.every(isRpcResponse) : isRpcResponse(j);
      if (!rpc && !isProblem(answer)) wrong('the body is neither JSON-RPC nor problem+json');
      if (answer.status >= 400 && rpc && !Array.isArray(j) && !isObject((j as { error?: unknown }).error)) wrong('an error status with a result');
    } else if (answer.status !== 202 && answer.status !== 200) wrong('an error without a body');
    for (const id of auditIdsIn(answer.json)) auditIds.add(id);
    // A gateway tool call answered with a result went through the pipeline: it names its record.
    const results = (Array.isArray(answer.json) ? answer.json : [answer.json]).filter((r) => isObject(r) && isObject(r.result) && Array.isArray(r.result.content));
    toolResults += results.length;
    if (path === '/mcp' && c.message !== 'batch') for (const r of results) if (auditIdsIn(r).length === 0) wrong('a tool result without its decision record');
    // A session opened by an initialize without a session id is closed again.
    const opened = answer.headers.get('mcp-session-id');
    if (opened && opened !== sessions[path]) await request(s.base, 'DELETE', path, { token: s.keys.support, headers: { 'mcp-session-id': opened, accept: ACCEPT } });
    // No malformed message ends the session it came in.
    if (c.session === 'valid' && answer.status === 404) {
      wrong('the session was gone (ended by the case before?)');
      sessions[path] = await openSession(path);
    }
  }
  return { failures, auditIds, statuses, toolResults };
}

describe('MCP endpoints: malformed JSON-RPC', () => {
  beforeAll(async () => {
    s = await startSecurityServer(`server: { body_limit: ${BODY_LIMIT}, watch_policies: false }\nincidents: { suspend_on_critical: false }\nmcp: { approval_wait: 0s }\n`);
    sessions['/mcp'] = await openSession('/mcp');
    sessions['/mcp/governance'] = await openSession('/mcp/governance');
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it(`answers ${CASES_PER_ENDPOINT} malformed messages on each endpoint (seed ${FUZZ_SEED}) with JSON-RPC, never a 5xx, each tool call recorded`, async () => {
    const [gateway, governance] = await Promise.all([fuzz('/mcp', cases(mcpCase(GATEWAY_TOOLS), CASES_PER_ENDPOINT, 1)), fuzz('/mcp/governance', cases(mcpCase(GOVERNANCE_TOOLS), CASES_PER_ENDPOINT, 2))]);
    const failures = [...gateway.failures, ...governance.failures];
    expect(failures.slice(0, 12), `${failures.length} failures`).toEqual([]);
    if (process.env.FUZZ_STATS) console.log(JSON.stringify({ gateway: gateway.statuses, governance: governance.statuses, records: [gateway.auditIds.size, governance.auditIds.size], toolResults: [gateway.toolResults, governance.toolResults] }));
    // Enough of the messages got through to the tools, and each record they name is in the log.
    expect(gateway.toolResults).toBeGreaterThan(CASES_PER_ENDPOINT / 10);
    expect(governance.toolResults).toBeGreaterThan(CASES_PER_ENDPOINT / 10);
    expect(gateway.auditIds.size).toBeGreaterThan(CASES_PER_ENDPOINT / 10);
    expect(governance.auditIds.size).toBeGreaterThan(0);
    expect(await missingRecords(s.h, [...gateway.auditIds, ...governance.auditIds])).toEqual([]);
  }, 120_000);

  it('keeps its sessions and serves a fresh MCP client afterwards', async () => {
    expect((await request(s.base, 'GET', '/healthz')).status).toBe(200);
    for (const path of ['/mcp', '/mcp/governance'] as const) {
      const listed = await post(path, JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'tools/list' }), { accept: ACCEPT, 'content-type': 'application/json', 'mcp-session-id': sessions[path] });
      expect(listed.status, listed.text).toBe(200);
      expect(((listed.json as { result: { tools: unknown[] } }).result.tools.length)).toBeGreaterThan(0);
    }
    const client = new Client({ name: 'after-fuzz', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${s.base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${s.keys.support}` } } }));
    const result = await client.callTool({ name: 'read_orders', arguments: { limit: 1 } });
    expect(result.isError).not.toBe(true);
    await client.close();
    const verify = await request(s.base, 'GET', '/v1/audit/verify', { token: TOKENS.admin });
    expect(verify.json).toMatchObject({ ok: true, breakCount: 0 });
  });
});
