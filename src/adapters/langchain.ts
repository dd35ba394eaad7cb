/**
 * LangChain.js tools governed by Warden (`import { wardenLangChainTools } from 'warden/adapters/langchain'`).
 *
 * A wrapped tool has the original's name, description and schema (what the model sees); every
 * call goes through Warden and the original runs only when Warden allows it. Invoked with a
 * ToolCall (as agents and ToolNode do), a denial, a hold for approval or a failure comes back as a
 * ToolMessage with `status: "error"` whose text the model reads (held: the approval id and "call
 * again with the same arguments after approval"). Invoked with plain arguments, it throws a
 * `WardenToolRefusal` carrying the same text.
 */
import { ToolMessage } from '@langchain/core/messages';
import { DynamicStructuredTool, type StructuredToolInterface, type ToolRunnableConfig } from '@langchain/core/tools';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import type { JsonObject } from '../model/json.js';
import { registrySchema, toolGate, type GatedTool, type ToolGate, type WardenAdapterOptions } from './gate.js';
import { WardenToolRefusal } from './outcome.js';

export { WardenToolRefusal, refusalText, type GateOutcome, type Refusal } from './outcome.js';
export type { WardenAdapterOptions } from './gate.js';
export type { GatewayConnection } from './remote.js';

/** Wraps each tool; hand the result to your agent or `model.bindTools`. */
export function wardenLangChainTools(tools: readonly StructuredToolInterface[], options: WardenAdapterOptions | ToolGate): DynamicStructuredTool[] {
  const gate = 'run' in options ? options : toolGate(options);
  return tools.map((t) => wardenLangChainTool(t, gate));
}

/** Wraps one StructuredTool (a `tool(…)`, a DynamicStructuredTool or a subclass). */
export function wardenLangChainTool(original: StructuredToolInterface, options: WardenAdapterOptions | ToolGate): DynamicStructuredTool {
  const gate = 'run' in options ? options : toolGate(options);
  const gated: GatedTool = {
    name: original.name,
    description: original.description,
    inputSchema: async () => registrySchema(toJsonSchema(original.schema as never)),
    runDetached: (args) => original.invoke(args),
  };
  return new DynamicStructuredTool({
    name: original.name,
    description: original.description,
    schema: original.schema as never,
    ...(original.returnDirect ? { returnDirect: original.returnDirect } : {}),
    func: async (input: unknown, _runManager?: unknown, config?: ToolRunnableConfig) => {
      // The original is invoked with plain arguments, so it answers content and this tool (which
      // got the ToolCall) wraps it in the ToolMessage, as LangChain does for any tool.
      const { toolCall, ...rest } = config ?? {};
      const outcome = await gate.run(gated, (input ?? {}) as JsonObject, (allowed) => original.invoke(allowed, rest));
      if (outcome.kind === 'executed') return outcome.result as never;
      const refusal = new WardenToolRefusal(original.name, outcome);
      if (toolCall?.id) return new ToolMessage({ content: refusal.message, tool_call_id: toolCall.id, name: original.name, status: 'error', artifact: { warden: outcome } }) as never;
      throw refusal;
    },
  });
}
