import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditIdOf, callError, closedPort, decisionOf, startWorld, TestPdp, type FixtureTool, type World } from './harness.js';

/**
 * An external AuthZEN PDP (`pdp.authzen`, mode combined) beside Warden's own policies: a real
 * HTTP listener that answers per the Authorization API 1.0 and records what it was asked. Deny
 * overrides in both directions; a PDP that does not answer, answers an error or answers nonsense
 * is a deny (JSON-RPC -32603, fail closed); what it is asked names the authenticated subject.
 */

const subject = { type: 'identity', id: '$token.sub' };
const TOOLS: FixtureTool[] = [
  {
    name: 'get_customer',
    args: { id: 'string' },
    mapping: { evaluation: { subject, action: { name: 'get_customer' }, resource: { type: 'customer', id: '$params.arguments.id' }, context: { agent: '$token.?client_id' } } },
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
];

const POLICY = `id: warden-side
version: 1
rules:
  - id: customers-but-one
    effect: allow
    tools: [get_customer]
    when: "context.authzen.resource.id != 'cust-warden-no'"
  - id: copies
    effect: allow
    tools: [copy_object]
`;

const PDP_TOKEN = 's3cret-pdp-token-0123456789';
/** The test PDP's own policy: everything but the resources it was told to refuse. */
const pdpDecides = (e: Record<string, unknown>) => !['cust-pdp-no', '/archive/locked'].includes(String((e.resource as { id?: string }).id));

let w: World;
let pdp: TestPdp;
beforeAll(async () => {
  pdp = await new TestPdp().start();
  w = await startWorld({
    tools: TOOLS,
    policy: POLICY,
    files: { 'secrets/pdp_token': PDP_TOKEN },
    extraConfig: `secrets: { providers: [{ type: file, dir: ./secrets }] }
pdp: { authzen: { url: "${pdp.url}", credentials: "\${secret:pdp_token}", timeout: 500ms } }`,
  });
}, 60_000);
afterAll(async () => {
  await w?.close();
  await pdp?.close();
});

const ran = (tool: string) => w.upstreamCalls().filter((c) => c.tool === tool);

describe('combined with Warden’s policies: deny overrides', () => {
  it('runs the call when both permit, and asks the PDP with the authenticated subject and agent', async () => {
    pdp.behaviour = { kind: 'decide', decide: pdpDecides };
    const client = await w.connect('agent-a', { user: 'alice' });
    const result = (await client.callTool({ name: 'get_customer', arguments: { id: 'cust-1' } })) as CallToolResult;
    expect(decisionOf(result)).toMatchObject({ effect: 'allow', rule: 'customers-but-one' });
    const asked = pdp.calls.at(-1)!;
    expect(asked).toMatchObject({ path: '/access/v1/evaluation', authorization: `Bearer ${PDP_TOKEN}` });
    expect(asked.body).toEqual({ subject: { type: 'identity', id: 'alice' }, action: { name: 'get_customer' }, resource: { type: 'customer', id: 'cust-1' }, context: { agent: 'agent-a' } });
    const record = await w.record(decisionOf(result).auditId);
    expect(asked.requestId).toBe(record.requestId);
    expect(record.details.authzenPdp).toBe('permit');
    expect(ran('get_customer').map((c) => c.args.id)).toContain('cust-1');
  });

  it('a PDP deny overrides Warden’s allow: nothing runs, the reason is the PDP’s', async () => {
    pdp.behaviour = { kind: 'decide', decide: pdpDecides };
    const client = await w.connect('agent-a', { user: 'alice' });
    const result = (await client.callTool({ name: 'get_customer', arguments: { id: 'cust-pdp-no' } })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(decisionOf(result)).toMatchObject({ effect: 'deny', policy: 'authzen-pdp' });
    expect(decisionOf(result).reason).toContain('the AuthZEN PDP denied: denied by the test PDP for "cust-pdp-no"');
    expect((await w.record(decisionOf(result).auditId)).details.authzenPdp).toBe('deny');
    expect(ran('get_customer').some((c) => c.args.id === 'cust-pdp-no')).toBe(false);
  });

  it('Warden’s deny overrides a PDP permit, and the PDP is not asked', async () => {
    pdp.behaviour = { kind: 'decide', decide: () => true };
    const client = await w.connect('agent-a', { user: 'alice' });
    const before = pdp.calls.length;
    const result = (await client.callTool({ name: 'get_customer', arguments: { id: 'cust-warden-no' } })) as CallToolResult;
    expect(decisionOf(result).effect).toBe('deny');
    expect(decisionOf(result).policy).not.toBe('authzen-pdp');
    expect(pdp.calls.length).toBe(before);
    expect((await w.record(decisionOf(result).auditId)).details.authzenPdp).toBe('not asked: Warden denied (deny overrides)');
    expect(ran('get_customer').some((c) => c.args.id === 'cust-warden-no')).toBe(false);
  });

  it('asks about the authenticated agent, not a user it only claims to act for', async () => {
    pdp.behaviour = { kind: 'decide', decide: () => true };
    const client = await w.connect('agent-b', { claimedUser: 'alice' });
    await client.callTool({ name: 'get_customer', arguments: { id: 'cust-2' } });
    expect(pdp.calls.at(-1)!.body).toMatchObject({ subject: { type: 'identity', id: 'agent-b' }, context: { agent: 'agent-b' } });
  });

  it('an evaluations mapping goes to /access/v1/evaluations; one deny is a deny', async () => {
    pdp.behaviour = { kind: 'decide', decide: pdpDecides };
    const client = await w.connect('agent-a', { user: 'alice' });
    const ok = (await client.callTool({ name: 'copy_object', arguments: { source: '/bucket/a', destination: '/bucket/b' } })) as CallToolResult;
    expect(decisionOf(ok).effect).toBe('allow');
    expect(pdp.calls.at(-1)!.path).toBe('/access/v1/evaluations');
    const no = (await client.callTool({ name: 'copy_object', arguments: { source: '/bucket/a', destination: '/archive/locked' } })) as CallToolResult;
    expect(decisionOf(no)).toMatchObject({ effect: 'deny', policy: 'authzen-pdp' });
    expect(decisionOf(no).reason).toContain('(evaluation 2 of 2)');
    expect(ran('copy_object').map((c) => c.args.destination)).toEqual(['/bucket/b']);
  });
});

describe('a PDP without the Access Evaluations API', () => {
  afterAll(() => {
    pdp.evaluationsApi = true;
  });

  it('is asked one Access Evaluation per entry, defaults applied, until the first deny', async () => {
    pdp.behaviour = { kind: 'decide', decide: pdpDecides };
    pdp.evaluationsApi = false;
    const client = await w.connect('agent-a', { user: 'alice' });
    const before = pdp.calls.length;
    const ok = (await client.callTool({ name: 'copy_object', arguments: { source: '/bucket/x', destination: '/bucket/y' } })) as CallToolResult;
    expect(decisionOf(ok).effect).toBe('allow');
    const asked = pdp.calls.slice(before);
    expect(asked.map((c) => c.path)).toEqual(['/access/v1/evaluations', '/access/v1/evaluation', '/access/v1/evaluation']);
    const alice = { subject: { type: 'identity', id: 'alice' }, context: { agent: 'agent-a' } };
    expect(asked[1]!.body).toEqual({ ...alice, action: { name: 'read' }, resource: { type: 'storage_object', id: '/bucket/x' } });
    expect(asked[2]!.body).toEqual({ ...alice, action: { name: 'write' }, resource: { type: 'storage_object', id: '/bucket/y' } });

    const from = pdp.calls.length;
    const no = (await client.callTool({ name: 'copy_object', arguments: { source: '/archive/locked', destination: '/bucket/y' } })) as CallToolResult;
    expect(decisionOf(no)).toMatchObject({ effect: 'deny', policy: 'authzen-pdp' });
    expect(pdp.calls.slice(from).map((c) => c.path)).toEqual(['/access/v1/evaluations', '/access/v1/evaluation']);
  });
});

describe('a PDP that cannot decide is a deny (fail closed, -32603)', () => {
  const failures: Array<[string, TestPdp['behaviour'], string, string]> = [
    ['no answer within the timeout', { kind: 'silent' }, 'get_customer', 'no answer within 500 ms'],
    ['an HTTP error', { kind: 'raw', status: 500, body: '{"decision":true}' }, 'get_customer', 'answered HTTP 500'],
    ['a decision that is not a boolean', { kind: 'raw', status: 200, body: '{"decision":"true"}' }, 'get_customer', 'decision is not a boolean ("true")'],
    ['a missing decision', { kind: 'raw', status: 200, body: '{"context":{}}' }, 'get_customer', 'decision is missing'],
    ['a body that is not JSON', { kind: 'raw', status: 200, body: 'permit' }, 'get_customer', 'its answer is not JSON'],
    ['fewer decisions than evaluations', { kind: 'raw', status: 200, body: '{"evaluations":[{"decision":true}]}' }, 'copy_object', 'it answered 1 decisions for 2 evaluations'],
  ];
  it.each(failures)('%s', async (_name, behaviour, tool, message) => {
    pdp.behaviour = behaviour;
    const client = await w.connect('agent-a', { user: 'alice' });
    const before = ran(tool).length;
    const error = await callError(client, tool, tool === 'copy_object' ? { source: '/bucket/a', destination: '/bucket/c' } : { id: 'cust-3' });
    expect(error?.code).toBe(-32603);
    expect(error?.message).toContain(message);
    expect(error?.message).toContain('denied (fail closed)');
    const record = await w.record(auditIdOf(error!));
    expect(record).toMatchObject({ effect: 'deny', stage: 'pdp', outcome: 'error' });
    expect(ran(tool).length).toBe(before);
  });
});

describe('an unreachable PDP', () => {
  let down: World;
  beforeAll(async () => {
    down = await startWorld({ tools: TOOLS, policy: POLICY, extraConfig: `pdp: { authzen: { url: "${await closedPort()}", timeout: 2s } }` });
  }, 60_000);
  afterAll(async () => {
    await down?.close();
  });

  it('denies with a clear reason and runs nothing', async () => {
    const client = await down.connect('agent-a', { user: 'alice' });
    const error = await callError(client, 'get_customer', { id: 'cust-1' });
    expect(error?.code).toBe(-32603);
    expect(error?.message).toMatch(/the AuthZEN PDP could not decide: unreachable \(ECONNREFUSED\); denied \(fail closed\)/);
    expect((await down.record(auditIdOf(error!))).stage).toBe('pdp');
    expect(down.upstreamCalls()).toHaveLength(0);
  });
});
