import { AIMessageChunk, HumanMessage, ToolMessage, type AIMessage } from '@langchain/core/messages';
import { tool, type StructuredToolInterface } from '@langchain/core/tools';
import { FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { wardenLangChainTool, wardenLangChainTools, WardenToolRefusal } from '../../src/adapters/langchain.js';
import { AGENT, FIONA, startFixture, TENANT, type Fixture } from './fixture.js';

/**
 * The LangChain.js adapter with the real @langchain/core: tools made with `tool()` invoked with
 * ToolCall objects, as agents invoke them, and once through the tool calls of a FAKE chat model
 * (@langchain/core's FakeStreamingChatModel — an LLM is the one thing that cannot run here).
 */

function shopTools() {
  const ran: Record<string, unknown[]> = { lookup_order: [], delete_account: [], issue_refund: [], export_all: [] };
  const tools = [
    tool(
      async ({ order_id }) => {
        ran.lookup_order!.push({ order_id });
        return JSON.stringify({ order_id, status: 'shipped' });
      },
      { name: 'lookup_order', description: 'Find an order', schema: z.object({ order_id: z.string() }) },
    ),
    tool(
      async (input) => {
        ran.delete_account!.push(input);
        return 'deleted';
      },
      { name: 'delete_account', description: 'Delete an account', schema: z.object({ customer_id: z.string() }) },
    ),
    tool(
      async (input) => {
        ran.issue_refund!.push(input);
        return `refunded ${input.amount} on ${input.order_id}`;
      },
      { name: 'issue_refund', description: 'Refund an order', schema: z.object({ order_id: z.string(), amount: z.number() }) },
    ),
    tool(
      async () => {
        ran.export_all!.push({});
        return 'everything';
      },
      { name: 'export_all', description: 'Export every customer', schema: z.object({}) },
    ),
  ];
  return { tools, ran };
}

function byName(tools: StructuredToolInterface[], name: string): StructuredToolInterface {
  return tools.find((t) => t.name === name)!;
}

let calls = 0;
async function invoke(tools: StructuredToolInterface[], name: string, args: Record<string, unknown>): Promise<ToolMessage> {
  calls += 1;
  const message = await byName(tools, name).invoke({ name, args, id: `call_${calls}`, type: 'tool_call' });
  expect(message).toBeInstanceOf(ToolMessage);
  return message as ToolMessage;
}

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx.close();
});

describe('LangChain tools with an in-process Warden', () => {
  it('runs an allowed call once with its arguments and answers a ToolMessage', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenLangChainTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const message = await invoke(governed, 'lookup_order', { order_id: 'o-1' });
    expect(message.status).toBe('success');
    expect(JSON.parse(String(message.content))).toEqual({ order_id: 'o-1', status: 'shipped' });
    expect(message.name).toBe('lookup_order');
    expect(ran.lookup_order).toEqual([{ order_id: 'o-1' }]);
  });

  it('never runs a denied call, or one no rule allows; the model reads why in an error ToolMessage', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenLangChainTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const denied = await invoke(governed, 'delete_account', { customer_id: 'c-1' });
    expect(denied.status).toBe('error');
    expect(String(denied.content)).toMatch(/^Warden denied the call to delete_account: accounts are never deleted by agents/);
    const unlisted = await invoke(governed, 'export_all', {});
    expect(unlisted.status).toBe('error');
    expect(String(unlisted.content)).toContain('no rule allowed this action');
    expect(ran.delete_account).toEqual([]);
    expect(ran.export_all).toEqual([]);
  });

  it('holds a risky call; after a human approves, the same retry answers and the tool ran exactly once', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenLangChainTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const args = { order_id: 'o-88', amount: 300 };
    const held = await invoke(governed, 'issue_refund', args);
    expect(held.status).toBe('error');
    const text = String(held.content);
    expect(text).toContain('Call it again with the same arguments after approval');
    const approvalId = /approval id (apr_[\w-]+)/.exec(text)?.[1];
    expect(approvalId, text).toBeTruthy();
    expect(ran.issue_refund).toEqual([]);

    expect((await fx.warden.approvals.approve(approvalId!, FIONA, 'ok')).ok).toBe(true);
    const first = await invoke(governed, 'issue_refund', args);
    const second = await invoke(governed, 'issue_refund', args);
    for (const m of [first, second]) {
      expect(m.status).toBe('success');
      expect(m.content).toBe('refunded 300 on o-88');
    }
    expect(ran.issue_refund).toEqual([args]);
  });

  it('throws a WardenToolRefusal when invoked with plain arguments', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenLangChainTool(byName(tools, 'delete_account'), { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    const error = await governed.invoke({ customer_id: 'c-2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenToolRefusal);
    expect((error as Error).message).toContain('accounts are never deleted by agents');
    expect(ran.delete_account).toEqual([]);
  });

  it('governs the tool calls a (fake) chat model makes, keeping names, descriptions and schemas', async () => {
    const { tools, ran } = shopTools();
    const governed = wardenLangChainTools(tools, { warden: fx.warden, agentId: AGENT, tenant: TENANT });
    expect(governed.map((t) => [t.name, t.description])).toEqual(tools.map((t) => [t.name, t.description]));
    const fakeLlm = new FakeStreamingChatModel({
      sleep: 0,
      // The fake model answers with the tool calls of its first chunk.
      chunks: [
        new AIMessageChunk({
          content: '',
          tool_calls: [
            { name: 'lookup_order', args: { order_id: 'o-5' }, id: 'tc-1', type: 'tool_call' },
            { name: 'delete_account', args: { customer_id: 'c-5' }, id: 'tc-2', type: 'tool_call' },
          ],
        }),
      ],
    });
    const reply = (await fakeLlm.bindTools(governed).invoke([new HumanMessage('help')])) as AIMessage;
    const results = await Promise.all((reply.tool_calls ?? []).map((call) => byName(governed, call.name).invoke({ ...call, type: 'tool_call' }) as Promise<ToolMessage>));
    expect(results.map((m) => [m.tool_call_id, m.status])).toEqual([
      ['tc-1', 'success'],
      ['tc-2', 'error'],
    ]);
    expect(ran.lookup_order).toEqual([{ order_id: 'o-5' }]);
    expect(ran.delete_account).toEqual([]);
  });
});

describe('LangChain tools with a remote gateway (decision API)', () => {
  it('runs allowed calls here and refuses denied and held ones', async () => {
    const url = await fx.gatewayUrl();
    const { tools, ran } = shopTools();
    const governed = wardenLangChainTools(tools, { gateway: { url, apiKey: fx.apiKey }, agentId: AGENT, tenant: TENANT });
    expect((await invoke(governed, 'lookup_order', { order_id: 'o-9' })).status).toBe('success');
    const denied = await invoke(governed, 'delete_account', { customer_id: 'c-9' });
    expect(String(denied.content)).toContain('accounts are never deleted by agents');
    const held = await invoke(governed, 'issue_refund', { order_id: 'o-9', amount: 900 });
    expect(held.status).toBe('error');
    expect(String(held.content)).toContain('requires human approval');
    expect(ran).toMatchObject({ lookup_order: [{ order_id: 'o-9' }], delete_account: [], issue_refund: [] });
  });
});
