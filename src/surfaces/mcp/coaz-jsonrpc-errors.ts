import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallResult } from '../../enforcement/exchange.js';

/** COAZ-MCP §Error Handling: a mapping error is Invalid params. */
export const COAZ_MAPPING_ERROR = -32602;
/** COAZ-MCP §PDP Communication Errors: Internal error. */
export const COAZ_PDP_ERROR = -32603;

/**
 * The JSON-RPC error COAZ-MCP prescribes for a call the mapping or the PDP could not decide, or
 * undefined for every other ending (a policy deny stays a tool result with `isError`, which the
 * binding permits). The record id goes along so an operator can find the decision.
 */
export function coazError(result: CallResult): McpError | undefined {
  const stage = result.decision.stage;
  const data = { decision: { effect: result.decision.effect, status: result.status, stage, auditId: result.auditId } };
  if (stage === 'mapping') return new McpError(COAZ_MAPPING_ERROR, result.decision.reason, data);
  if (stage === 'pdp' && result.status === 'error') return new McpError(COAZ_PDP_ERROR, result.decision.reason, data);
  return undefined;
}
