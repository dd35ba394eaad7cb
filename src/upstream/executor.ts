import type { JsonObject, JsonValue } from '../model/json.js';
import type { UpstreamChannel } from './upstream-requests.js';

/** Runs a tool. Returns failures instead of throwing; messages must not contain secrets. */
export type Executor = (call: {
  args: JsonObject;
  requestId: string;
  agentId: string;
  traceId?: string;
  idempotencyKey?: string;
  /** An MCP gateway call's cancellation, progress and session (absent for every other caller). */
  channel?: UpstreamChannel;
}) => Promise<{ ok: true; result: JsonValue } | { ok: false; message: string }>;
