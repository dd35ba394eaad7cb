import type { ActionRequest } from '../model/action-request.js';
import type { Decision } from '../model/decision.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import type { AgentRecord } from '../store/records.js';
import type { RegisteredTool } from '../upstream/tool-registry.js';

/** A tool call as a surface hands it to the pipeline (the HTTP envelope, an SDK call, MCP). */
export interface ToolCall {
  agentId: string;
  agentVersion?: string;
  /** Unique per agent within the replay window; generated when absent (only for trusted callers). */
  requestId?: string;
  traceId?: string;
  tool: string;
  /** Untrusted until the arguments stage has checked it. */
  args: unknown;
  sessionId?: string;
  tenant?: string;
  user?: { id: string; roles?: string[] };
  service?: { id: string };
  context?: JsonObject;
  /** Defaults to `tool.call`. */
  action?: string;
}

/**
 * How the caller proved who it is. `trusted` is for in-process callers (the SDK inside the
 * host application), which vouch for the agent id themselves.
 */
export type Credentials =
  | { kind: 'api_key'; key: string }
  | { kind: 'jwt'; token: string }
  | { kind: 'hmac'; keyId: string; timestamp: string; signature: string; bodySha256: string }
  | { kind: 'trusted' }
  | { kind: 'none' };

export type CallStatus = 'executed' | 'denied' | 'pending_approval' | 'error';

/** What the pipeline answers. `httpStatus` is what an HTTP surface should send. */
export interface CallResult {
  status: CallStatus;
  success: boolean;
  result?: JsonValue;
  decision: Decision;
  approvalId?: string;
  auditId: string;
  httpStatus: 200 | 202 | 400 | 401 | 403 | 404 | 409 | 429 | 502 | 503;
  retryAfterMs?: number;
}

/** Why an exchange ended early: the stage, its reason and the HTTP status that fits. */
export class Ending {
  constructor(
    readonly stage: string,
    readonly reason: string,
    readonly httpStatus: CallResult['httpStatus'],
    readonly details: JsonObject = {},
    readonly retryAfterMs?: number,
    readonly status: CallStatus = 'denied',
  ) {}
}

/** The state of one exchange as it moves through the stages. */
export interface Exchange {
  started: bigint;
  now: number;
  call: ToolCall;
  requestId: string;
  agent?: AgentRecord;
  tool?: RegisteredTool;
  args?: JsonObject;
  request?: ActionRequest;
  decision?: Decision;
  /** Extra facts for the decision log (limits hit, fail-open use, signals…). */
  details: JsonObject;
}
