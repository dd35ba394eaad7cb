/**
 * Vercel AI SDK tools governed by Warden (`import { wardenTools } from 'warden/adapters/ai-sdk'`).
 *
 * Each wrapped tool keeps its description and input schema (what the model sees); its `execute`
 * goes through Warden first and runs only when Warden allows the call. A denial, a hold for
 * approval or a failure is thrown as a `WardenToolRefusal`, which the AI SDK hands to the model as
 * the tool's error text: denied and why; or held, the approval id, and "call again with the same
 * arguments after approval" (retrying a held call is idempotent).
 */
import { asSchema, type Tool, type ToolExecutionOptions, type ToolSet } from 'ai';
import type { JsonObject } from '../model/json.js';
import { registrySchema, toolGate, type GatedTool, type ToolGate, type WardenAdapterOptions } from './gate.js';
import { WardenToolRefusal } from './outcome.js';

export { WardenToolRefusal, refusalText, type GateOutcome, type Refusal } from './outcome.js';
export type { WardenAdapterOptions } from './gate.js';
export type { GatewayConnection } from './remote.js';

/** Wraps every tool of a tool set; pass the result to `generateText` / `streamText` as `tools`. */
export function wardenTools<T extends ToolSet>(tools: T, options: WardenAdapterOptions | ToolGate): T {
  const gate = 'run' in options ? options : toolGate(options);
  const wrapped: Record<string, Tool> = {};
  for (const [name, tool] of Object.entries(tools)) wrapped[name] = wardenTool(name, tool, gate);
  return wrapped as T;
}

/** Wraps one tool under the name the model calls it by. */
export function wardenTool<T extends Tool>(name: string, tool: T, options: WardenAdapterOptions | ToolGate): T {
  const execute = tool.execute;
  if (typeof execute !== 'function') {
    throw new TypeError(`AI SDK tool "${name}" has no execute function: Warden governs tools that run in this process; a tool without execute runs elsewhere, unguarded`);
  }
  const gate = 'run' in options ? options : toolGate(options);
  const gated: GatedTool = {
    name,
    ...(tool.description ? { description: tool.description } : {}),
    inputSchema: async () => registrySchema(await asSchema(tool.inputSchema).jsonSchema),
    runDetached: async (args) => execute(args as never, { toolCallId: 'warden-approval', messages: [] }),
  };
  return {
    ...tool,
    execute: async (input: unknown, callOptions: ToolExecutionOptions) => {
      const args = (input ?? {}) as JsonObject;
      const outcome = await gate.run(gated, args, async (allowed) => execute(allowed as never, callOptions));
      if (outcome.kind === 'executed') return outcome.result;
      throw new WardenToolRefusal(name, outcome);
    },
  } as T;
}
