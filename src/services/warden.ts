import { randomUUID } from 'node:crypto';
import { createRedactor } from '../audit/redact.js';
import { DecisionLog } from '../audit/decision-log.js';
import { toolSchema, type ToolConfig } from '../config/config-schema.js';
import { loadConfig, parseConfig, resolveFrom, type WardenConfig } from '../config/load-config.js';
import { storageUrl } from '../config/storage.js';
import type { ActionRequest } from '../model/action-request.js';
import type { Decision } from '../model/decision.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import { formatDiagnostic, type Diagnostic } from '../lib/diagnostic.js';
import { durationMs } from '../lib/duration.js';
import { loadPolicyFolder } from '../policy/load.js';
import type { PolicySet } from '../policy/policy-set.js';
import type { Approver } from '../enforcement/approvers.js';
import { AgentJwtVerifier } from '../auth/agent-jwt.js';
import { DecisionCache } from '../enforcement/decision-cache.js';
import type { CallResult, Credentials, ToolCall } from '../enforcement/exchange.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import { Pipeline, type ApprovalAction, type DecideOnly } from '../enforcement/pipeline.js';
import type { Executor, Runtime } from '../enforcement/runtime.js';
import { configureLimits } from '../enforcement/stages/limits.js';
import { ToolRegistry } from '../upstream/tool-registry.js';
import { openStore } from '../store/open-store.js';
import { withReadCache } from '../store/caching-store.js';
import { MemoryReplayGuard, StoreReplayGuard } from '../enforcement/replay-guard.js';
import type { ApprovalRecord, ApprovalStatus, BreakGlassGrant, ToolPin } from '../store/records.js';
import type { Store } from '../store/store.js';
import { callHttpTool } from '../upstream/http-tool.js';
import { scanOptions, scanToolDescription } from '../guards/injection-guard.js';
import { McpCatalog, type PinEvent } from '../upstream/mcp-catalog.js';
import { McpUpstream } from '../upstream/mcp-upstream.js';
import { EnvSecretProvider, FileSecretProvider, SecretResolver, type SecretProvider } from '../upstream/secrets.js';
import { guardPolicyOptions } from '../guards/default-policies.js';

export class WardenConfigError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(diagnostics.length ? `${message}\n${diagnostics.map(formatDiagnostic).join('\n')}` : message);
  }
}

/** A call was not executed: denied, held for approval, or failed. Carries the full result. */
export class WardenDeniedError extends Error {
  constructor(readonly outcome: CallResult) {
    super(`${outcome.status}: ${outcome.decision.reason}`);
  }
}

export interface CreateWardenOptions {
  /** A parsed config, the path of `warden.yaml`, or its text with `{ text, file }`. */
  config: WardenConfig | string | { text: string; file: string };
  /** Replaces the config's storage (tests, embedding). */
  store?: Store;
  /** Replaces the clock (tests). */
  clock?: () => number;
  /** Where upstream and background messages go (default: warnings and errors to standard error). */
  log?: WardenLog;
}

export type WardenLogLevel = 'info' | 'warn' | 'error';
export type WardenLog = (level: WardenLogLevel, message: string) => void;

const stderrLog: WardenLog = (level, message) => {
  if (level !== 'info') process.stderr.write(`warden ${level}: ${message}\n`);
};

export interface GuardOptions {
  agentId: string;
  tenant?: string;
  sessionId?: string;
  user?: { id: string; roles?: string[] };
}

/** The tool description `guard` registers: a registry entry without an HTTP endpoint. */
export type GuardedToolSpec = Omit<Partial<ToolConfig>, 'http'> & { name: string };

export interface Warden {
  readonly config: WardenConfig;
  readonly store: Store;
  readonly pipeline: Pipeline;
  /** The policy set in force. */
  readonly policySet: PolicySet;
  /** The MCP upstreams and what the gateway exposes of them. */
  readonly mcp: McpCatalog;
  /** Decision only, for callers that execute tools themselves. Logged. */
  decide(request: ActionRequest | unknown): Promise<DecideOnly>;
  /** The full pipeline: authenticate … execute … audit. In-process callers are trusted by default. */
  call(call: ToolCall, credentials?: Credentials): Promise<CallResult>;
  /**
   * Wraps an async function as a governed tool: each call goes through the pipeline, and the
   * function runs only when Warden allows it. Denials and holds throw WardenDeniedError.
   */
  guard<A extends JsonObject, R extends JsonValue>(fn: (args: A) => Promise<R>, tool: GuardedToolSpec, defaults: GuardOptions): (args: A, overrides?: Partial<GuardOptions>) => Promise<R>;
  approvals: {
    list(filter?: { status?: ApprovalStatus; tenant?: string; limit?: number }): Promise<ApprovalRecord[]>;
    get(id: string): Promise<ApprovalRecord | undefined>;
    approve(id: string, approver: Approver, reason: string): Promise<ApprovalAction>;
    deny(id: string, approver: Approver, reason: string): Promise<ApprovalAction>;
    /** Marks pending approvals past their expiry as expired. */
    sweep(): Promise<ApprovalRecord[]>;
  };
  breakGlass: {
    grant(input: { grantedBy: string; reason: string; scope: BreakGlassGrant['scope']; duration: string }): Promise<BreakGlassGrant>;
    revoke(id: string, by: string): Promise<BreakGlassGrant | undefined>;
  };
  /**
   * Trusts the definition an MCP upstream serves now for `<upstream>/<tool>` (a changed, new or
   * flagged one), audited as `tool.pin.approve`. Undefined when nothing waits for approval.
   */
  approveToolDefinition(key: string, by: string, reason: string, tenant?: string): Promise<ToolPin | undefined>;
  /** Reloads the policy folder; an invalid set is refused and the previous one keeps serving. */
  reloadPolicies(): Promise<{ ok: true; bundle: string } | { ok: false; diagnostics: Diagnostic[] }>;
  /** Writes what the decision log still holds and closes the store. */
  close(): Promise<void>;
}

async function resolveConfig(input: CreateWardenOptions['config']): Promise<WardenConfig> {
  if (typeof input !== 'string' && !('text' in input)) return input;
  const result = typeof input === 'string' ? await loadConfig(input) : parseConfig(input.text, input.file);
  if (!result.ok) throw new WardenConfigError('the configuration is not valid:', result.diagnostics);
  return result.config;
}

function secretProviders(config: WardenConfig): SecretProvider[] {
  return config.secrets.providers.map((p) => (p.type === 'env' ? new EnvSecretProvider(p.prefix) : new FileSecretProvider(resolveFrom(config.baseDir, p.dir))));
}

/** The agents and credentials of the config, written to the store at start. */
async function syncAgents(config: WardenConfig, store: Store, now: number): Promise<void> {
  for (const agent of config.agents) {
    const existing = await store.getAgent(agent.id);
    // A suspension made at run time (an incident, an operator) survives a restart.
    const status = existing?.status === 'suspended' ? 'suspended' : agent.status;
    await store.upsertAgent({
      id: agent.id,
      roles: agent.roles,
      tenant: agent.tenant,
      trust: agent.trust,
      status,
      source: 'config',
      statusReason: existing?.statusReason,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
    for (const c of agent.credentials) {
      await store.putCredential(
        'api_key_hash' in c
          ? { agentId: agent.id, keyId: c.key_id, kind: 'api_key', hash: c.api_key_hash, createdAt: now }
          : { agentId: agent.id, keyId: c.key_id, kind: 'hmac', secretRef: c.hmac_secret, createdAt: now },
      );
    }
  }
}

async function loadPolicies(config: WardenConfig): Promise<PolicySet> {
  // No knownTools check here: tools also arrive from MCP upstreams at run time. `warden check
  // --tools` is where a policy naming a tool that does not exist is reported.
  const { policySet, diagnostics } = await loadPolicyFolder(config.policiesDir, guardPolicyOptions(config.guards.default_policies));
  if (!policySet) throw new WardenConfigError(`the policies in ${config.policiesDir} do not load:`, diagnostics);
  return policySet;
}

export async function createWarden(options: CreateWardenOptions): Promise<Warden> {
  const config = await resolveConfig(options.config);
  const clock = options.clock ?? Date.now;
  const tools = new ToolRegistry(config.tools);
  const policySet = await loadPolicies(config);
  const store = withReadCache(options.store ?? openStore(storageUrl(config)), 1_000, clock);
  await syncAgents(config, store, clock());
  await store.recordPolicyBundle({ bundle: policySet.bundle, loadedAt: clock(), policies: policySet.policies.map((p) => ({ id: p.id, version: p.version, file: p.file })) });
  const decisionLog = await DecisionLog.open(store, { maxBatch: config.audit.max_batch });
  const secrets = new SecretResolver(secretProviders(config));
  const executors = new Map<string, Executor>();
  for (const tool of config.tools) {
    const target = tools.get(tool.name)?.http;
    if (target) executors.set(tool.name, (call) => callHttpTool(target, call, secrets));
  }
  const rt: Runtime = {
    config,
    store,
    log: decisionLog,
    policies: { current: policySet },
    tools,
    executors,
    redactor: createRedactor(config.redaction),
    secrets,
    limits: configureLimits(config),
    cache: new DecisionCache(durationMs(config.decision_cache.ttl), config.decision_cache.max_entries),
    sessionLocks: new KeyedMutex(),
    replay:
      store.kind === 'sqlite'
        ? await MemoryReplayGuard.load(store, clock(), durationMs(config.authentication.replay_window))
        : new StoreReplayGuard(store),
    clock,
    ...(config.authentication.agent_jwt ? { agentJwt: new AgentJwtVerifier(config.authentication.agent_jwt) } : {}),
  };
  const pipeline = new Pipeline(rt);
  const log = options.log ?? stderrLog;
  const mcp: McpCatalog = new McpCatalog(
    config.upstreams.map((u) => new McpUpstream(u, { secrets, baseDir: config.baseDir, onCatalog: (): Promise<void> => mcp.refresh(), log })),
    {
      registry: tools,
      executors,
      store,
      configuredTools: new Set(config.tools.map((t) => t.name)),
      pinNewTools: config.mcp.pin_new_tools,
      scanDescription: (name, description) => scanToolDescription(name, description, scanOptions(config.guards)),
      clock,
      onPinEvent: (event) => reportPinEvent(pipeline, store, event, clock()),
    },
  );
  // Boot upstreams are connected before Warden serves; one that fails is retried in the background.
  await Promise.all(mcp.allUpstreams().filter((u) => u.config.start === 'boot').map((u) => u.connect().catch((e: Error) => log('error', e.message))));
  const maxGrant = durationMs(config.break_glass.max_duration);

  return {
    config,
    store,
    pipeline,
    mcp,
    get policySet() {
      return rt.policies.current;
    },
    decide: (request) => pipeline.decideOnly(request),
    call: (call, credentials = { kind: 'trusted' }) => pipeline.call(call, credentials),
    guard(fn, spec, defaults) {
      const tool = toolSchema.parse({ effect: 'write', risk: 'medium', ...spec });
      tools.add(tool);
      executors.set(tool.name, async ({ args }) => {
        try {
          return { ok: true, result: (await fn(args as never)) as JsonValue };
        } catch (error) {
          return { ok: false, message: (error as Error)?.message ?? String(error) };
        }
      });
      return async (args, overrides = {}) => {
        const who = { ...defaults, ...overrides };
        const result = await pipeline.call({ agentId: who.agentId, tenant: who.tenant, sessionId: who.sessionId, user: who.user, tool: tool.name, args }, { kind: 'trusted' });
        if (result.status !== 'executed') throw new WardenDeniedError(result);
        return result.result as never;
      };
    },
    approvals: {
      list: (filter = {}) => store.listApprovals(filter),
      get: (id) => store.getApproval(id),
      approve: (id, approver, reason) => pipeline.voteOnApproval(id, approver, 'approve', reason),
      deny: (id, approver, reason) => pipeline.voteOnApproval(id, approver, 'deny', reason),
      sweep: () => store.expireApprovals(clock()),
    },
    breakGlass: {
      async grant({ grantedBy, reason, scope, duration }) {
        const ms = durationMs(duration);
        if (ms > maxGrant) throw new WardenConfigError(`a break-glass grant may last at most ${config.break_glass.max_duration}`);
        if (!reason.trim()) throw new WardenConfigError('a break-glass grant needs a reason');
        const now = clock();
        const grant: BreakGlassGrant = { id: `bg_${randomUUID()}`, grantedBy, reason, scope, createdAt: now, expiresAt: now + ms };
        await store.createGrant(grant);
        await pipeline.auditAdmin('break_glass.grant', grantedBy, `break-glass grant ${grant.id} for ${duration}: ${reason}`, { grant: grant.id, scope: grant.scope as JsonObject, expiresAt: new Date(grant.expiresAt).toISOString() });
        return grant;
      },
      async revoke(id, by) {
        const grant = await store.revokeGrant(id, by, clock());
        if (grant) await pipeline.auditAdmin('break_glass.revoke', by, `break-glass grant ${id} revoked`, { grant: id });
        return grant;
      },
    },
    async approveToolDefinition(key, by, reason, tenant = '') {
      const before = await store.getToolPin(key);
      if (!before || !(await mcp.approve(key, by))) return undefined;
      const after = (await store.getToolPin(key))!;
      await pipeline.auditAdmin('tool.pin.approve', by, `definition ${after.hash} of ${key} approved${reason ? `: ${reason}` : ''}`, { tool: key, hash: after.hash, previous: before.hash }, tenant);
      return after;
    },
    async reloadPolicies() {
      const { policySet: next, diagnostics } = await loadPolicyFolder(config.policiesDir, guardPolicyOptions(config.guards.default_policies));
      if (!next) return { ok: false, diagnostics };
      if (next.bundle !== rt.policies.current.bundle) {
        rt.policies.current = next;
        rt.cache.clear();
        await store.recordPolicyBundle({ bundle: next.bundle, loadedAt: clock(), policies: next.policies.map((p) => ({ id: p.id, version: p.version, file: p.file })) });
      }
      return { ok: true, bundle: next.bundle };
    },
    async close() {
      await mcp.close();
      try {
        await decisionLog.close();
      } finally {
        await store.close();
      }
    },
  };
}

/** A tool definition that no longer matches its pin is an incident, and the log says so. */
async function reportPinEvent(pipeline: Pipeline, store: Store, event: PinEvent, now: number): Promise<void> {
  const { description, type, severity } = {
    changed: {
      description: `the definition of MCP tool ${event.key} (exposed as ${event.exposedName}) changed from ${event.pinnedHash} to ${event.observedHash}; the tool is blocked until approved`,
      type: 'tool_definition_changed',
      severity: 'high' as const,
    },
    poisoned: {
      description: `the description of MCP tool ${event.key} (exposed as ${event.exposedName}) reads like instructions to the model (${event.findings}); the tool is blocked until approved`,
      type: 'tool_description_injection',
      severity: 'high' as const,
    },
    unapproved: { description: `MCP tool ${event.key} is new and waits for approval before agents can use it`, type: 'tool_unapproved', severity: 'low' as const },
  }[event.kind];
  await store.createIncident({ id: `inc_${randomUUID()}`, time: now, type, severity, agentId: `upstream:${event.upstream}`, description, reportedBy: 'warden' });
  await pipeline.auditAdmin(`tool.pin.${event.kind}`, 'warden', description, { tool: event.key, exposedAs: event.exposedName, observedHash: event.observedHash, ...(event.pinnedHash ? { pinnedHash: event.pinnedHash } : {}) });
}

export type { Decision };
