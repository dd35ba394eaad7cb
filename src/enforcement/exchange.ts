import type { ActionRequest } from '../model/action-request.js';
import type { Decision } from '../model/decision.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import type { AgentRecord, SessionRecord } from '../store/records.js';
import type { RegisteredTool } from '../upstream/tool-registry.js';
import type { UpstreamChannel } from '../upstream/upstream-requests.js';
import type { ActingUser } from '../auth/users.js';
import type { ExternalVerdict } from '../guards/external-classifier.js';
import type { CallStatus, EndingHttpStatus } from './errors.js';
import type { ResultNote } from './result-treatment.js';
import type { AuthzenRequest } from './authzen/coaz-anchors.js';

export type { Credentials } from '../auth/agent-credentials.js';
export type { CallStatus } from './errors.js';

/** Which surface an exchange came through: a label on metrics, spans and decision records. */
export type Surface = 'http' | 'mcp' | 'sdk' | 'governance' | 'dashboard' | 'cli' | 'approval' | 'authzen';

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
  /** The user the agent acts for, as the caller names them (unverified unless the caller is trusted). */
  user?: { id: string; roles?: string[] };
  /** An on-behalf-of token proving who the user is (`authentication.user_jwt`). */
  userToken?: string;
  service?: { id: string };
  context?: JsonObject;
  /** Defaults to `tool.call`. */
  action?: string;
  /** Defaults to `sdk`. */
  via?: Surface;
  /** What an MCP gateway call carries to its upstream (cancellation, progress, the session): never decided on. */
  channel?: UpstreamChannel;
}

/** What the pipeline answers. `httpStatus` is what an HTTP surface should send. */
export interface CallResult {
  status: CallStatus;
  success: boolean;
  result?: JsonValue;
  decision: Decision;
  approvalId?: string;
  auditId: string;
  httpStatus: EndingHttpStatus;
  retryAfterMs?: number;
  /** Set when the result guard flagged the result: what Warden did to it, and the warning for the agent (result-treatment.ts). */
  resultNote?: ResultNote;
}

/** The state of one exchange as it moves through the stages. */
export interface Exchange {
  started: bigint;
  now: number;
  call: ToolCall;
  requestId: string;
  /** A dry run: every stage reads, none writes (no rate limit taken, no session change, no execution). */
  dryRun: boolean;
  agent?: AgentRecord;
  /** The tenant the exchange belongs to, once Warden (not the caller) has settled it. */
  tenant?: string;
  /** The user the call acts for, as authentication established them. */
  user?: ActingUser;
  tool?: RegisteredTool;
  args?: JsonObject;
  /** The arguments as the PDP saw them, kept when an obligation is about to change `args` in place. */
  decidedArgs?: JsonObject;
  request?: ActionRequest;
  /** The AuthZEN request the COAZ mapping built (what policies see as context.authzen, what a PDP is sent). */
  authzen?: AuthzenRequest;
  /** The external classifier's verdict on the call's inputs (guards.injection.external), for addSignals. */
  externalVerdict?: ExternalVerdict;
  decision?: Decision;
  /** The session as the call found it (what policies saw). */
  session?: SessionRecord;
  /** No policy in force when the request was built reads the session's history: its record leaves it out. */
  historyUnread?: boolean;
  /** Spend reserved against the session budget by this call, until it is executed or released. */
  reservedSpend?: number;
  /** Extra facts for the decision log (limits hit, fail-open use, signals…). */
  details: JsonObject;
}
