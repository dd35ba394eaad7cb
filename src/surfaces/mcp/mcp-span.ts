import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

/** What a span of one MCP request is told about it. */
export interface McpSpanInfo {
  /** The JSON-RPC method: `tools/call`, `tools/list`, `resources/read`… */
  method: string;
  /** The tool or prompt name (never a resource URI: it may name a private file). */
  target?: string;
  /** `mcp` (the gateway) or `governance`. */
  surface: 'mcp' | 'governance';
  /** The agent the session acts as; `principal` instead for a person or a PEP (governance). */
  agentId?: string;
  principal?: string;
  requestId: string | number;
  /** The request's `params._meta`: a client may send its `traceparent` there. */
  meta?: Record<string, unknown>;
}

/**
 * Runs one MCP request in a server span named `<method> <target>` (the MCP semantic conventions'
 * shape), parent of the pipeline's spans of that request. Over HTTP the request's server span is
 * its parent; over stdio there is none, and a `traceparent` in `params._meta` (as MCP clients
 * that trace send it) is. Attributes name the method, tool, agent and surface, never arguments.
 * A tool result with `isError` is marked `error.type=tool_error`; a JSON-RPC error sets the
 * status with its code only (its message may quote the request).
 */
export function mcpSpan<T>(info: McpSpanInfo, work: () => Promise<T>): Promise<T> {
  const active = context.active();
  const parent = trace.getSpan(active) === undefined && info.meta ? propagation.extract(active, info.meta) : active;
  const attributes: Attributes = {
    'mcp.method.name': info.method,
    ...(info.target && info.method === 'tools/call' ? { 'gen_ai.tool.name': info.target } : {}),
    ...(info.target && info.method === 'prompts/get' ? { 'gen_ai.prompt.name': info.target } : {}),
    'jsonrpc.request.id': String(info.requestId),
    ...(info.agentId ? { 'warden.agent': info.agentId } : {}),
    ...(info.principal ? { 'warden.principal': info.principal } : {}),
    'warden.surface': info.surface,
  };
  const name = info.target ? `${info.method} ${info.target}` : info.method;
  return trace.getTracer('warden').startActiveSpan(name, { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
    try {
      const result = await work();
      if ((result as { isError?: unknown } | undefined)?.isError === true) span.setAttribute('error.type', 'tool_error');
      return result;
    } catch (error) {
      const code = error instanceof McpError ? `MCP error ${error.code}` : error instanceof Error ? error.name : 'error';
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      span.setAttribute('error.type', code);
      throw error;
    } finally {
      span.end();
    }
  });
}
