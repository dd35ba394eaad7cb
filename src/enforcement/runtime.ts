import type { Redactor } from '../audit/redact.js';
import type { DecisionLog } from '../audit/decision-log.js';
import type { WardenConfig } from '../config/load-config.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import type { PolicySet } from '../policy/policy-set.js';
import type { Store } from '../store/store.js';
import type { SecretResolver } from '../upstream/secrets.js';
import type { AgentJwtVerifier } from '../auth/agent-jwt.js';
import type { DecisionCache } from './decision-cache.js';
import type { KeyedMutex } from '../lib/keyed-mutex.js';
import type { ReplayGuard } from './replay-guard.js';
import type { ConfiguredLimit } from './stages/limits.js';
import type { ToolRegistry } from '../upstream/tool-registry.js';

/** Runs a tool. Returns failures instead of throwing; messages must not contain secrets. */
export type Executor = (call: {
  args: JsonObject;
  requestId: string;
  agentId: string;
  traceId?: string;
  idempotencyKey?: string;
}) => Promise<{ ok: true; result: JsonValue } | { ok: false; message: string }>;

/** Everything the stages share: configuration, state, and the policy set in force. */
export interface Runtime {
  config: WardenConfig;
  store: Store;
  log: DecisionLog;
  /** Swapped as a whole on reload; an exchange reads it once, at its decide stage. */
  policies: { current: PolicySet };
  tools: ToolRegistry;
  executors: Map<string, Executor>;
  redactor: Redactor;
  secrets: SecretResolver;
  limits: ConfiguredLimit[];
  cache: DecisionCache;
  sessionLocks: KeyedMutex;
  replay: ReplayGuard;
  /** Verifies agent JWTs when `authentication.agent_jwt` is configured. */
  agentJwt?: AgentJwtVerifier;
  clock: () => number;
}
