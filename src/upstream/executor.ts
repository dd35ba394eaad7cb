import type { JsonObject, JsonValue } from '../model/json.js';

/** Runs a tool. Returns failures instead of throwing; messages must not contain secrets. */
export type Executor = (call: {
  args: JsonObject;
  requestId: string;
  agentId: string;
  traceId?: string;
  idempotencyKey?: string;
}) => Promise<{ ok: true; result: JsonValue } | { ok: false; message: string }>;
