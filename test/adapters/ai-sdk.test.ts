import { createServer } from 'node:net';
import { generateText, jsonSchema, stepCountIs, tool, type ToolSet } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { wardenTools, WardenToolRefusal } from '../../src/adapters/ai-sdk.js';
import { AGENT, FIONA, startFixture, TENANT, type Fixture } from './fixture.js';

/**
 * The Vercel AI SDK adapter with the real `ai` package: `generateText` runs its tool loop against
 * a FAKE LLM (the SDK's MockLanguageModelV3 — an LLM is the one thing that cannot run here) that
 * asks for one tool call and then reads what came back. No network beyond 127.0.0.1.
 */

type ToolOutput = { type: string; value: unknown };

/** A fake LLM: first step calls `toolName` with `input`; second step answers with text. */
function fakeLlm(toolName: string, input: unknown): MockLanguageModelV3 {
  let step = 0;
  const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
  return new MockLanguageModelV3({
    doGenerate: async () => {
      step += 1;
      return step === 1
        ? { content: [{ type: 'tool-call', toolCallId: `call-${toolName}`, toolName, input: JSON.stringify(input) }], finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage, warnings: [] }
        : { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] };
    },
  });
}

/** What the fake LLM was sent back as the result of its tool call, on its second step. */
function toolOutputSeen(model: MockLanguageModelV3): ToolOutput {
  const second = model.doGenerateCalls[1];
  expect(second, 'the model was called again with the tool result').toBeDefined();
  for (const message of second!.prompt) {
    if (message.role !== 'tool') continue;
    for (const part of message.content) if (part.type === 'tool-result') return part.output as ToolOutput;
  }
  throw new Error('no tool result in the prompt');
}

async function runAgent(tools: ToolSet, toolName: string, input: unknown): Promise<ToolOutput> {
  const model = fakeLlm(toolName, input);
  await generateText({ model, tools, prompt: 'help the customer', stopWhen: stepCountIs(2) });
  return toolOutputSeen(model);
}

/** The shop's tools as a developer writes them, each counting the calls that really ran. */
function shopTools() {
  const ran: Record<string, unknown[]> = { lookup_order: [], delete_account: [], issue_refund: [], export_all: [] };
  const tools = {
    lookup_order: tool({
      description: 'Find an order',
      inputSchema: z.object({ order_id: z.string() }),
      execute: async ({ order_id }) => {
        ran.lookup_order!.push({ order_id });
        return { order_id, status: 'shipped' };
      },
    }),
    delete_account: tool({
      description: 'Delete a customer account',
      inputSchema: z.object({ customer_id: z.string() }),
      execute: async (input) => {
        ran.delete_account!.push(input);
        return { deleted: true };
      },
    }),
    issue_refund: tool({
      description: 'Refund an order',
      inputSchema: jsonSchema<{ order_id: string; amount: number }>({ type: 'object', properties: { order_id: { type: 'string' }, amount: { type: 'number' } }, required: ['order_id', 'amount'] }),
      execute: async (input) => {
        ran.issue_refund!.push(input);
        return { refund_id: `rf-${input.order_id}`, amount: input.amount };
      },
    }),
    export_all: tool({
      description: 'Export every customer',
      inputSchema: z.object({}),
      execute: async () => {
        ran.export_all!.push({});
        return { rows: 100000 };
      },
    }),
  };
  return { tools, ran };
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx.close();
});

describe('AI SDK tools with an in-process Warden', () => {
  it('runs an allowed call once, with the model\'s arguments, and the model reads the result', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const output = await runAgent(governed, 'lookup_order', { order_id: 'o-1' });
    expect(ran.lookup_order).toEqual([{ order_id: 'o-1' }]);
    expect(output).toEqual({ type: 'json', value: { order_id: 'o-1', status: 'shipped' } });
    await fx.warden.audit.flush();
    const records = await fx.warden.store.queryDecisions({ agentId: AGENT, tool: 'lookup_order', order: 'desc', limit: 1 });
    expect(records[0], 'the call is in the decision log').toMatchObject({ effect: 'allow', outcome: 'executed' });
  });

  it('never runs a denied call; the model reads that it was denied and why', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const output = await runAgent(governed, 'delete_account', { customer_id: 'c-9' });
    expect(ran.delete_account).toEqual([]);
    expect(output.type).toBe('error-text');
    expect(output.value).toMatch(/^Warden denied the call to delete_account: accounts are never deleted by agents/);
  });

  it('refuses a tool no policy lets the agent call (deny by default)', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const output = await runAgent(governed, 'export_all', {});
    expect(ran.export_all).toEqual([]);
    expect(output).toMatchObject({ type: 'error-text', value: expect.stringContaining('no rule allowed this action') });
  });

  it('holds a risky call for a human; after approval the same retry gets the result, and the tool runs exactly once', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const input = { order_id: 'o-77', amount: 250 };

    const held = await runAgent(governed, 'issue_refund', input);
    expect(ran.issue_refund).toEqual([]);
    expect(held.type).toBe('error-text');
    const text = String(held.value);
    expect(text).toContain('refunds over 100 need a finance manager');
    expect(text).toContain('call it again with the same arguments after approval'.replace('call it', 'Call it'));
    const approvalId = /approval id (apr_[\w-]+)/.exec(text)?.[1];
    expect(approvalId, text).toBeTruthy();

    // Before anyone decides, a retry is held on the same approval and runs nothing.
    const again = await runAgent(governed, 'issue_refund', input);
    expect(String(again.value)).toContain(approvalId!);
    expect(ran.issue_refund).toEqual([]);

    const vote = await fx.warden.approvals.approve(approvalId!, FIONA, 'checked with the customer');
    expect(vote.ok).toBe(true);

    const retried = await runAgent(governed, 'issue_refund', input);
    expect(retried).toEqual({ type: 'json', value: { refund_id: 'rf-o-77', amount: 250 } });
    const once = await runAgent(governed, 'issue_refund', input);
    expect(once).toEqual({ type: 'json', value: { refund_id: 'rf-o-77', amount: 250 } });
    expect(ran.issue_refund, 'the refund ran exactly once, with the approved arguments').toEqual([input]);
  });

  it('keeps the operator\'s registry entry: arguments warden.yaml\'s schema refuses never reach the tool', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    // The framework's schema lets `note` through; warden.yaml's issue_refund entry does not.
    const output = await runAgent(governed, 'issue_refund', { order_id: 'o-5', amount: 5, note: 'x' });
    expect(ran.issue_refund).toEqual([]);
    expect(String(output.value)).toMatch(/^Warden denied the call to issue_refund: .*note/);
  });

  it('will not let a framework tool take over a tool Warden itself executes (warden.yaml http:)', async () => {
    let ran = 0;
    const impostor = { send_invoice: tool({ inputSchema: z.object({}), execute: async () => ++ran }) };
    const output = await runAgent(wardenTools(impostor, { warden: fx.warden, agentId: AGENT, tenant: TENANT }), 'send_invoice', {});
    expect(output).toMatchObject({ type: 'error-text', value: expect.stringContaining('tool "send_invoice" is already executed by Warden') });
    expect(ran).toBe(0);
    expect(fx.warden.tools.all().find((t) => t.entry.name === 'send_invoice')?.http?.url, 'the operator\'s entry stands').toBe('http://127.0.0.1:1/send_invoice');
  });

  it('applies the allow\'s obligations: the tool gets the capped arguments, the model the redacted result', async () => {
    const seen: unknown[] = [];
    const listOrders = tool({
      inputSchema: z.object({ limit: z.number() }),
      execute: async (input) => {
        seen.push(input);
        return { orders: [{ id: 'o-1', email: 'jane@example.com' }] };
      },
    });
    const output = await runAgent(wardenTools({ list_orders: listOrders }, { warden: fx.warden, agentId: AGENT, tenant: TENANT }), 'list_orders', { limit: 5000 });
    expect(seen).toEqual([{ limit: 10 }]);
    expect(output).toEqual({ type: 'json', value: { orders: [{ id: 'o-1', email: '[REDACTED]' }] } });
  });

  it('registers an undeclared tool with the framework\'s JSON Schema: Warden checks arguments the SDK did not', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    // Called directly, past the SDK's own validation: Warden still refuses what the schema does not allow.
    const error = await Promise.resolve(governed.lookup_order.execute!({ order_id: 42 } as never, { toolCallId: 't', messages: [] })).catch((e: unknown) => e);
    expect((error as WardenToolRefusal).refusal).toMatchObject({ kind: 'denied', reason: expect.stringContaining('args.order_id must be string') });
    expect(ran.lookup_order).toEqual([]);
  });

  it('throws a WardenToolRefusal carrying the outcome when the tool is called directly', async () => {
    const { tools } = shopTools();
    const governed = wardenTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const error = await Promise.resolve(governed.delete_account.execute!({ customer_id: 'c-1' }, { toolCallId: 't', messages: [] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenToolRefusal);
    expect((error as WardenToolRefusal).refusal).toMatchObject({ kind: 'denied', auditId: expect.stringMatching(/^dec_/) });
  });

  it('refuses to wrap a tool without execute (it would run elsewhere, unguarded)', () => {
    expect(() => wardenTools({ ask: tool({ inputSchema: z.object({}) }) } as ToolSet, { warden: fx.warden, agentId: AGENT })).toThrow(/no execute function/);
  });
});

describe('AI SDK tools with a remote gateway (decision API)', () => {
  it('runs an allowed call here, never a denied or held one, and says why', async () => {
    const url = await fx.gatewayUrl();
    const { tools, ran } = shopTools();
    const governed = wardenTools(tools, { gateway: { url, apiKey: fx.apiKey }, agentId: AGENT, tenant: TENANT });

    expect(await runAgent(governed, 'lookup_order', { order_id: 'o-2' })).toEqual({ type: 'json', value: { order_id: 'o-2', status: 'shipped' } });
    expect(ran.lookup_order).toEqual([{ order_id: 'o-2' }]);

    const denied = await runAgent(governed, 'delete_account', { customer_id: 'c-1' });
    expect(String(denied.value)).toMatch(/^Warden denied the call to delete_account: accounts are never deleted by agents .*\(audit dec_/);

    const held = await runAgent(governed, 'issue_refund', { order_id: 'o-3', amount: 500 });
    expect(String(held.value)).toContain('requires human approval for the call to issue_refund: refunds over 100 need a finance manager');
    expect(ran.delete_account).toEqual([]);
    expect(ran.issue_refund).toEqual([]);

    // An allow with obligations the decision API cannot apply here is not run (fail closed).
    let listed = 0;
    const listOrders = tool({ inputSchema: z.object({ limit: z.number() }), execute: async () => ++listed });
    const remote = wardenTools({ list_orders: listOrders }, { gateway: { url, apiKey: fx.apiKey }, agentId: AGENT, tenant: TENANT });
    const capped = await runAgent(remote, 'list_orders', { limit: 5000 });
    expect(String(capped.value)).toMatch(/^Warden denied the call to list_orders: the allow carries obligations \((cap, redact|redact, cap)\) that only Warden itself applies/);
    expect(listed).toBe(0);
  });

  it('fails closed with a wrong key, and names the gateway when it cannot be reached', async () => {
    const url = await fx.gatewayUrl();
    const { tools, ran } = shopTools();
    const wrongKey = wardenTools(tools, { gateway: { url, apiKey: 'wk_nobody_aaaaaaaaaaaaaaaaaaaaaaaaaaaa' }, agentId: AGENT, tenant: TENANT });
    const refused = await runAgent(wrongKey, 'lookup_order', { order_id: 'o-4' });
    expect(refused.type).toBe('error-text');
    expect(String(refused.value)).toMatch(/^Warden denied the call to lookup_order/);

    const closed = await closedPort();
    const nowhere = wardenTools(tools, { gateway: { url: `http://127.0.0.1:${closed}`, apiKey: fx.apiKey }, agentId: AGENT, tenant: TENANT });
    const unreachable = await runAgent(nowhere, 'lookup_order', { order_id: 'o-4' });
    expect(String(unreachable.value)).toContain(`Warden at http://127.0.0.1:${closed} could not be reached (ECONNREFUSED)`);
    expect(String(unreachable.value)).not.toContain(fx.apiKey);
    expect(ran.lookup_order).toEqual([]);
  });
});
