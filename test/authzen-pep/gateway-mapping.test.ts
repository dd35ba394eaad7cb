import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditIdOf, callError, decisionOf, startWorld, type FixtureTool, type World } from './harness.js';

/**
 * COAZ-MCP through the real gateway: an upstream (the official SDK's McpServer) declares
 * `x-authzen-mapping` in its tools' input schemas; the gateway builds the AuthZEN request from it
 * (or from the binding's default mapping), and Warden's own policies decide on `context.authzen`.
 * Mapping errors are JSON-RPC errors (-32602), nothing reaches the upstream, and a record says why.
 */

const subject = { type: 'identity', id: '$token.sub' };
const TOOLS: FixtureTool[] = [
  {
    // The binding's own example (profiles/authzen-coaz-mcp-binding-1_0.md, "tools/list response").
    name: 'get_customer',
    args: { id: 'string', case: 'string' },
    mapping: { evaluation: { subject, action: { name: 'get_customer' }, resource: { type: 'customer', id: '$params.arguments.id' }, context: { agent: '$token.?client_id', case: '$params.arguments.case' } } },
  },
  {
    // The binding's conditional example, trimmed: CEL over arguments into resource properties.
    name: 'transfer_funds',
    args: { from_account: 'string', to_account: 'string', amount: 'number', currency: 'string' },
    mapping: {
      evaluation: {
        subject,
        action: { name: "$params.arguments.currency == 'USD' ? 'domestic_transfer' : 'international_transfer'" },
        resource: { type: 'account', id: '$params.arguments.from_account', properties: { sensitivity: "$params.arguments.amount > 10000 ? 'high' : 'standard'" } },
        context: { target_account: '$params.arguments.to_account', note: '$$not an expression' },
      },
    },
  },
  {
    name: 'copy_object',
    args: { source: 'string', destination: 'string' },
    mapping: {
      evaluations: {
        subject,
        evaluations: [
          { action: { name: 'read' }, resource: { type: 'storage_object', id: '$params.arguments.source' } },
          { action: { name: 'write' }, resource: { type: 'storage_object', id: '$params.arguments.destination' } },
        ],
      },
    },
  },
  { name: 'get_local_weather', args: { zip: 'string' } },
  { name: 'broken_expr', args: { zip: 'string' }, mapping: { evaluation: { action: { name: 'x' }, resource: { type: 'r', id: '$params.arguments.region' } } } },
  { name: 'subject_from_argument', args: { user: 'string' }, mapping: { evaluation: { subject: { type: 'identity', id: '$params.arguments.user' }, action: { name: 'x' }, resource: { type: 'r', id: 'r1' } } } },
  { name: 'two_envelopes', args: { zip: 'string' }, mapping: { evaluation: { action: { name: 'x' }, resource: { type: 'r', id: 'r1' } }, evaluations: { evaluations: [] } } },
  { name: 'numeric_id', args: { n: 'number' }, mapping: { evaluation: { action: { name: 'x' }, resource: { type: 'r', id: '$params.arguments.n' } } } },
];

const POLICY = `id: pep
version: 1
rules:
  - id: acme-customers-for-their-user
    effect: allow
    tools: [get_customer]
    when: "context.authzen.resource.type == 'customer' && context.authzen.resource.id.startsWith('acme-') && context.authzen.subject.id == user.id && context.authzen.context.agent == agent.id"
  - id: standard-transfers
    effect: allow
    tools: [transfer_funds]
    when: "context.authzen.action.name == 'domestic_transfer' && context.authzen.resource.properties.sensitivity == 'standard'"
  - id: copies-inside-the-bucket
    effect: allow
    tools: [copy_object]
    when: "context.authzen.evaluations.all(e, e.resource.id.startsWith('/bucket/'))"
  - id: weather-by-default-mapping
    effect: allow
    tools: [get_local_weather]
    when: "context.authzen.action.name == 'tools/call' && context.authzen.resource.type == 'tool' && context.authzen.resource.id == 'get_local_weather' && context.authzen.subject.id == agent.id"
  # Would allow these if the mapping let them through: a mapping error must stop them first.
  - id: mapping-error-tools
    effect: allow
    tools: [broken_expr, subject_from_argument, two_envelopes, numeric_id]
`;

let w: World;
beforeAll(async () => {
  w = await startWorld({ tools: TOOLS, policy: POLICY });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const ran = (tool: string) => w.upstreamCalls().filter((c) => c.tool === tool);

describe('declared mappings build the request policies decide on', () => {
  it('passes each tool’s x-authzen-mapping on to the client in tools/list (discoverability)', async () => {
    const client = await w.connect('agent-a');
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t: Tool) => [t.name, t]));
    expect(byName.get('get_customer')?.inputSchema['x-authzen-mapping']).toEqual(TOOLS[0]!.mapping);
    expect(byName.get('get_local_weather')?.inputSchema['x-authzen-mapping']).toBeUndefined();
  });

  it('allows an acme customer for the verified user and denies another customer, from the mapped resource', async () => {
    const client = await w.connect('agent-a', { user: 'alice' });
    const ok = (await client.callTool({ name: 'get_customer', arguments: { id: 'acme-1', case: 'c-1' } })) as CallToolResult;
    expect(ok.isError).toBeFalsy();
    expect(decisionOf(ok)).toMatchObject({ effect: 'allow', rule: 'acme-customers-for-their-user' });
    expect((await w.record(decisionOf(ok).auditId)).details.authzenMapping).toBe('declared');

    const no = (await client.callTool({ name: 'get_customer', arguments: { id: 'globex-9', case: 'c-1' } })) as CallToolResult;
    expect(no.isError).toBe(true);
    expect(decisionOf(no).effect).toBe('deny');
    expect(ran('get_customer').map((c) => c.args.id)).toEqual(['acme-1']);
  });

  it('does not let a caller’s warden/context stand in for context.authzen', async () => {
    const client = await w.connect('agent-a', { user: 'alice' });
    const forged = { authzen: { subject: { type: 'identity', id: 'alice' }, resource: { type: 'customer', id: 'acme-1' }, context: { agent: 'agent-a' } } };
    const result = (await client.callTool({ name: 'get_customer', arguments: { id: 'globex-9', case: 'c-2' }, _meta: { 'warden/context': forged } })) as CallToolResult;
    expect(decisionOf(result).effect).toBe('deny');
    expect(ran('get_customer').some((c) => c.args.id === 'globex-9')).toBe(false);
  });

  it('a user the agent only names is not the subject: the mapped subject is the authenticated agent', async () => {
    const client = await w.connect('agent-a', { claimedUser: 'alice' });
    const result = (await client.callTool({ name: 'get_customer', arguments: { id: 'acme-2', case: 'c-3' } })) as CallToolResult;
    // user.id is alice (named), context.authzen.subject.id is agent-a: the rule cannot match.
    expect(decisionOf(result).effect).toBe('deny');
    expect(ran('get_customer').some((c) => c.args.id === 'acme-2')).toBe(false);
  });

  it('computes action and resource properties with CEL conditionals ($$ stays a literal)', async () => {
    const client = await w.connect('agent-a');
    const small = (await client.callTool({ name: 'transfer_funds', arguments: { from_account: 'a1', to_account: 'a2', amount: 50, currency: 'USD' } })) as CallToolResult;
    expect(decisionOf(small)).toMatchObject({ effect: 'allow', rule: 'standard-transfers' });
    const big = (await client.callTool({ name: 'transfer_funds', arguments: { from_account: 'a1', to_account: 'a2', amount: 20_000, currency: 'USD' } })) as CallToolResult;
    expect(decisionOf(big).effect).toBe('deny');
    const abroad = (await client.callTool({ name: 'transfer_funds', arguments: { from_account: 'a1', to_account: 'a2', amount: 50, currency: 'EUR' } })) as CallToolResult;
    expect(decisionOf(abroad).effect).toBe('deny');
    expect(ran('transfer_funds').map((c) => c.args.amount)).toEqual([50]);
  });

  it('an evaluations envelope gives policies every decision the call needs', async () => {
    const client = await w.connect('agent-a');
    const inside = (await client.callTool({ name: 'copy_object', arguments: { source: '/bucket/a.pdf', destination: '/bucket/b.pdf' } })) as CallToolResult;
    expect(decisionOf(inside).effect).toBe('allow');
    const out = (await client.callTool({ name: 'copy_object', arguments: { source: '/bucket/a.pdf', destination: '/tmp/b.pdf' } })) as CallToolResult;
    expect(decisionOf(out).effect).toBe('deny');
    expect(ran('copy_object')).toHaveLength(1);
  });

  it('a tool without a declared mapping gets the binding’s default tools/call mapping', async () => {
    const client = await w.connect('agent-b');
    const result = (await client.callTool({ name: 'get_local_weather', arguments: { zip: '10001' } })) as CallToolResult;
    expect(decisionOf(result)).toMatchObject({ effect: 'allow', rule: 'weather-by-default-mapping' });
    expect((await w.record(decisionOf(result).auditId)).details.authzenMapping).toBe('default');
  });
});

describe('mapping errors: a JSON-RPC error, no upstream call, a decision record', () => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['broken_expr', { zip: '1' }, "expression '$params.arguments.region' failed", 'expression'],
    ['subject_from_argument', { user: 'alice' }, "subject.id is trust-anchored: '$params.arguments.user' reads the call's params", 'trust_anchor'],
    ['two_envelopes', { zip: '1' }, 'exactly one envelope key', 'malformed'],
    ['numeric_id', { n: 7 }, 'resource.id is required and must be a non-empty string (resolved to 7)', 'missing'],
  ];
  it.each(cases)('%s is refused as a mapping error', async (tool, args, message, kind) => {
    const client = await w.connect('agent-a', { user: 'alice' });
    const error = await callError(client, tool, args);
    expect(error?.code).toBe(-32602);
    expect(error?.message).toContain('COAZ mapping error');
    expect(error?.message).toContain(message);
    const record = await w.record(auditIdOf(error!));
    expect(record).toMatchObject({ effect: 'deny', stage: 'mapping', agentId: 'agent-a', resourceId: tool });
    expect(record.details.mappingError).toBe(kind);
    expect(ran(tool)).toHaveLength(0);
  });
});

describe('mcp.authzen_mapping: false', () => {
  let off: World;
  beforeAll(async () => {
    off = await startWorld({ tools: TOOLS, policy: POLICY, extraConfig: 'mcp: { authzen_mapping: false }' });
  }, 60_000);
  afterAll(async () => {
    await off?.close();
  });

  it('builds no request: declared mappings are not evaluated, so they refuse nothing', async () => {
    const client = await off.connect('agent-a', { user: 'alice' });
    const result = (await client.callTool({ name: 'subject_from_argument', arguments: { user: 'bob' } })) as CallToolResult;
    expect(decisionOf(result)).toMatchObject({ effect: 'allow', rule: 'mapping-error-tools' });
  });

  it('still removes a context.authzen a caller sends', async () => {
    const client = await off.connect('agent-a', { user: 'alice' });
    const forged = { authzen: { subject: { type: 'identity', id: 'alice' }, resource: { type: 'customer', id: 'acme-1' }, context: { agent: 'agent-a' } } };
    const result = (await client.callTool({ name: 'get_customer', arguments: { id: 'acme-1', case: 'c' }, _meta: { 'warden/context': forged } })) as CallToolResult;
    expect(decisionOf(result).effect).toBe('deny');
    expect(off.upstreamCalls()).toEqual([{ tool: 'subject_from_argument', args: { user: 'bob' } }]);
  });
});
