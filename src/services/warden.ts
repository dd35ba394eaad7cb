import { randomUUID } from 'node:crypto';
import { DecisionLog } from '../audit/decision-log.js';
import { createRedactor, type Redactor } from '../audit/redact.js';
import { AgentCredentialVerifier, type Credentials } from '../auth/agent-credentials.js';
import { AgentJwtVerifier } from '../auth/agent-jwt.js';
import { HumanAuthenticator } from '../auth/human-auth.js';
import { PrincipalResolver } from '../auth/principals.js';
import { UserTokenVerifier, type UserDirectory } from '../auth/users.js';
import { toolSchema, type ToolConfig } from '../config/config-schema.js';
import { loadConfig, parseConfig, type WardenConfig } from '../config/load-config.js';
import { sqlitePath, storageUrl } from '../config/storage.js';
import { DecisionCache } from '../enforcement/decision-cache.js';
import { DecisionRecorder } from '../enforcement/decision-recorder.js';
import type { CallResult, ToolCall } from '../enforcement/exchange.js';
import { IncidentRecorder } from '../enforcement/incidents.js';
import { Pipeline, type DecideOnly } from '../enforcement/pipeline.js';
import { MemoryReplayGuard, StoreReplayGuard, type ReplayGuard } from '../enforcement/replay-guard.js';
import { SessionState } from '../enforcement/session-state.js';
import { configureLimits } from '../enforcement/stages/limits.js';
import type { PoliciesInForce } from '../enforcement/stages/policy-decision.js';
import { Telemetry } from '../enforcement/telemetry.js';
import { scanOptions, scanToolDescription } from '../guards/injection-guard.js';
import { formatDiagnostic, type Diagnostic } from '../lib/diagnostic.js';
import { durationMs } from '../lib/duration.js';
import type { ActionRequest } from '../model/action-request.js';
import type { Decision } from '../model/decision.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import type { PolicySet } from '../policy/policy-set.js';
import { withReadCache } from '../store/caching-store.js';
import { openStore } from '../store/open-store.js';
import type { LeaseStore } from '../store/ports.js';
import type { ApprovalRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Executor } from '../upstream/executor.js';
import { HttpTool } from '../upstream/http-tool.js';
import { McpCatalog, type PinEvent } from '../upstream/mcp-catalog.js';
import { McpUpstream } from '../upstream/mcp-upstream.js';
import { SecretResolver } from '../upstream/secrets.js';
import { configureAuthzen } from '../enforcement/authzen/configure.js';
import type { ExternalClassifierDeps } from '../enforcement/stages/external-classifier.js';
import { ExternalClassifier } from '../guards/external-classifier.js';
import { ToolRegistry } from '../upstream/tool-registry.js';
import { AgentService } from './agents.js';
import { ApprovalService } from './approvals.js';
import { AuditService } from './audit.js';
import { BreakGlassService } from './break-glass.js';
import { startCheckpoints } from './checkpoints.js';
import { secretProviders } from './secret-providers.js';
import { startSinks, type Sinks } from './sinks.js';
import { ComplianceService } from './compliance.js';
import { DecisionService } from './decisions.js';
import { AuthzenService } from './authzen.js';
import { IncidentService } from './incidents.js';
import { analysedTools, PolicyService, type ReloadResult } from './policies.js';
import { PolicyReplayService } from './policy-replay.js';
import { ReplicaCoordinator, type ReplicaView } from './replicas.js';
import { openSharedState, type SharedState } from './shared-state.js';
import { ToolService } from './tools.js';

/** What the gateway surfaces give boot MCP upstreams before serving without the slow ones (clients expect initialize within ~2 s). */
export const UPSTREAM_HEAD_START_MS = 1_500;

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
  /**
   * How long start-up waits for the boot MCP upstreams before it goes on without the slow ones
   * (they join as they answer, announced with `list_changed`). Default: until each has connected
   * or failed within its own timeout. The gateway surfaces pass a short head start: an MCP
   * client's initialize must not wait for a silent server.
   */
  upstreamWaitMs?: number;
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

/**
 * One Warden: the pipeline (the enforcement point) and the services every surface calls. Surfaces
 * (HTTP, MCP, CLI, the dashboard, an embedding application) translate their wire formats into
 * calls of these, and never decide themselves.
 */
export interface Warden {
  readonly config: WardenConfig;
  readonly store: Store;
  /** Warden's clock (replaced in tests). */
  readonly clock: () => number;
  readonly pipeline: Pipeline;
  /** The policy set in force. */
  readonly policySet: PolicySet;
  /** The MCP upstreams and what the gateway exposes of them. */
  readonly mcp: McpCatalog;
  /** Metrics (Prometheus) and spans, recorded by the pipeline for every surface. */
  readonly telemetry: Telemetry;
  /** Who a bearer token stands for (agents and humans), for every surface that takes one. */
  readonly principals: PrincipalResolver;
  /** Writes decision records (operator actions of surfaces that act themselves, such as the CLI). */
  readonly recorder: DecisionRecorder;
  readonly agents: AgentService;
  readonly approvals: ApprovalService;
  readonly audit: AuditService;
  readonly breakGlass: BreakGlassService;
  readonly compliance: ComplianceService;
  readonly decisions: DecisionService;
  /** Warden as an OpenID AuthZEN PDP (/access/v1/evaluation, /access/v1/evaluations). */
  readonly authzen: AuthzenService;
  readonly incidents: IncidentService;
  readonly policies: PolicyService;
  /** The impact of a candidate policy set on the logged traffic (replay). */
  readonly replay: PolicyReplayService;
  readonly tools: ToolService;
  /** The decision-log sinks and approval webhooks (audit.sinks, approvals.notify): their state for /metrics and /readyz. */
  readonly sinks: Sinks;
  /** Decision only, for callers that execute tools themselves. Logged. */
  decide(request: ActionRequest | unknown): Promise<DecideOnly>;
  /** The full pipeline: authenticate … execute … audit. In-process callers are trusted by default. */
  call(call: ToolCall, credentials?: Credentials): Promise<CallResult>;
  /**
   * Wraps an async function as a governed tool: each call goes through the pipeline, and the
   * function runs only when Warden allows it. Denials and holds throw WardenDeniedError.
   */
  guard<A extends JsonObject, R extends JsonValue>(fn: (args: A) => Promise<R>, tool: GuardedToolSpec, defaults: GuardOptions): (args: A, overrides?: Partial<GuardOptions>) => Promise<R>;
  /** Reloads the policy folder; an invalid set is refused and the previous one keeps serving. */
  reloadPolicies(why?: string): Promise<ReloadResult>;
  /**
   * Expires approvals whose time ran out. On several replicas only the one holding the sweep
   * lease does it (another takes over when it dies); the others return nothing.
   */
  sweep(): Promise<ApprovalRecord[]>;
  /** Several replicas on Postgres + Redis: who they are and which bundle each serves. Absent on one process. */
  readonly cluster?: {
    readonly replicaId: string;
    replicas(): Promise<ReplicaView[]>;
    /** Answers when the shared state (Redis) does. */
    ping(): Promise<void>;
  };
  /** Writes what the decision log still holds and closes the store. */
  close(): Promise<void>;
}

async function resolveConfig(input: CreateWardenOptions['config']): Promise<WardenConfig> {
  if (typeof input !== 'string' && !('text' in input)) return input;
  const result = typeof input === 'string' ? await loadConfig(input) : parseConfig(input.text, input.file);
  if (!result.ok) throw new WardenConfigError('the configuration is not valid:', result.diagnostics);
  return result.config;
}

/** Warden's own directory of people (warden.yaml's humans), by id: roles a verified user also holds. */
function directoryOf(config: WardenConfig): UserDirectory {
  const people = new Map(config.humans.tokens.map((t) => [t.id, { roles: t.roles, ...(t.tenant !== '*' ? { tenant: t.tenant } : {}) }]));
  return (id) => people.get(id);
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

/** The composition root: every part built once, each handed only what it uses. */
export async function createWarden(options: CreateWardenOptions): Promise<Warden> {
  const config = await resolveConfig(options.config);
  const clock = options.clock ?? Date.now;
  const log = options.log ?? stderrLog;
  const registry = new ToolRegistry(config.tools);
  const loaded = await PolicyService.load(config.policiesDir, config.guards.default_policies);
  if (!loaded.policySet) throw new WardenConfigError(`the policies in ${config.policiesDir} do not load:`, loaded.diagnostics);
  const policies: PoliciesInForce = { current: loaded.policySet };
  const store = withReadCache(options.store ?? (await openStore(storageUrl(config), { postgres: config.postgres })), 1_000, clock);
  let shared: SharedState | undefined;
  try {
    await syncAgents(config, store, clock());
    if (config.redis) shared = await openSharedState(config.redis, log);
  } catch (error) {
    if (!options.store) await store.close();
    throw config.redis && !shared ? new WardenConfigError(`redis: ${(error as Error).message}`) : error;
  }
  const decisionLog = await DecisionLog.open(store, { maxBatch: config.audit.max_batch });
  const secrets = new SecretResolver(secretProviders(config));
  const checkpoints = await startCheckpoints(config, { store, secrets, decisionLog, clock, log }).catch(async (e: Error) => {
    if (!options.store) await store.close();
    await shared?.close();
    throw new WardenConfigError(`audit.checkpoints: ${e.message}`);
  });
  const executors = new Map<string, Executor>();
  for (const tool of config.tools) {
    const target = registry.get(tool.name)?.http;
    if (target) {
      // Made once per tool: its templates are split and its URL parsed once, not per call.
      const http = new HttpTool({ ...target, tool: tool.name }, secrets);
      executors.set(tool.name, (call) => http.call(call));
    }
  }
  const redactor = createRedactor(config.redaction);
  const cache = new DecisionCache(durationMs(config.decision_cache.ttl), config.decision_cache.max_entries);
  const recorder = new DecisionRecorder(decisionLog, redactor, config.audit.durable_reads, () => policies.current.bundle, clock);
  const telemetry = new Telemetry((name) => registry.get(name) !== undefined);
  const agentJwt = config.authentication.agent_jwt ? new AgentJwtVerifier(config.authentication.agent_jwt) : undefined;
  const users = config.authentication.user_jwt ? new UserTokenVerifier(config.authentication.user_jwt, directoryOf(config)) : undefined;
  const replayWindowMs = durationMs(config.authentication.replay_window);
  // Request ids journalled beside the SQLite file Warden opened itself (not for :memory:, nor for
  // a store handed in): see enforcement/replay-guard.ts.
  const dbFile = options.store ? undefined : sqlitePath(config);
  const replay: ReplayGuard = shared
    ? new StoreReplayGuard(shared.replay)
    : store.kind === 'sqlite'
      ? await MemoryReplayGuard.load(store, clock(), replayWindowMs, dbFile && dbFile !== ':memory:' ? `${dbFile}-requests` : undefined)
      : new StoreReplayGuard(store);
  const incidentRecorder = new IncidentRecorder({ incidents: store, agents: store, recorder, redactor, config: config.incidents, clock });

  const authzenPep = configureAuthzen(config, secrets);
  const classifier = configureClassifier(config.guards, secrets, redactor, telemetry);
  const pipeline = new Pipeline({
    authentication: {
      verifier: new AgentCredentialVerifier({
        agents: store,
        agentJwt,
        resolveSecret: (name) => secrets.resolve(name),
        clockSkewMs: durationMs(config.authentication.clock_skew),
        clockSkew: config.authentication.clock_skew,
      }),
      replay,
      replayWindowMs,
      ...(users ? { users } : {}),
    },
    agents: { agents: store, registration: config.registration },
    tools: registry,
    executors,
    arguments: config.arguments,
    limits: configureLimits(config, shared?.limits),
    budget: config.limits.session,
    sessions: new SessionState(shared?.sessions ?? store),
    guards: config.guards,
    ...(classifier ? { classifier } : {}),
    policy: { policies, cache, grants: store },
    ...(authzenPep ? { authzen: authzenPep } : {}),
    relationships: store,
    approvals: store,
    approvalRetryWindowMs: durationMs(config.approvals.retry_window),
    decisions: store,
    recorder,
    ...(config.incidents.on_policy_deny ? { incidents: incidentRecorder } : {}),
    telemetry,
    redactor,
    clock,
  });

  const mcp: McpCatalog = new McpCatalog(
    config.upstreams.map((u) => new McpUpstream(u, { secrets, baseDir: config.baseDir, onCatalog: (): Promise<void> => mcp.refresh(), log })),
    {
      registry,
      executors,
      store,
      configuredTools: new Set(config.tools.map((t) => t.name)),
      pinNewTools: config.mcp.pin_new_tools,
      scanDescription: (name, description) => scanToolDescription(name, description, scanOptions(config.guards)),
      clock,
      onPinEvent: (event) => reportPinEvent(recorder, store, event, clock()),
      log,
    },
  );

  const flushLog = () => decisionLog.flush();
  const policyService = new PolicyService({ policiesDir: config.policiesDir, defaultGuards: config.guards.default_policies, policies, cache, bundles: store, recorder, toolNames: () => registry.names(), tools: () => analysedTools(registry.all()), clock });
  await policyService.recordBundle(policies.current);
  const coordinator = shared ? new ReplicaCoordinator(shared.bus, policyService, clock, log, store.readCache) : undefined;
  await coordinator?.start();
  const approvals = new ApprovalService({ approvals: store, pipeline, recorder, redactor, clock });
  const tools = new ToolService({ tools: registry, executors, mcp, pins: store, recorder });
  const sinks = await startSinks(config, { store, decisionLog, secrets, telemetry, clock, log });

  telemetry.gauge('warden_approvals_pending', 'Approvals waiting for a human.', async () => (await store.listApprovals({ status: 'pending', limit: 10_000 })).length);
  telemetry.gauge('warden_audit_queue_depth', 'Decision records waiting to be written.', () => decisionLog.depth);
  telemetry.gauge('warden_policy_rules', 'Rules in the policy set in force.', () => policies.current.rules.length);
  telemetry.gauge('warden_policy_reload_failed', 'Whether the last policy reload was refused (1): the previous policies keep serving.', () => (policyService.reloadStatus.ok ? 0 : 1));

  // Boot upstreams get a head start (options.upstreamWaitMs), not a veto: Warden serves with what
  // is up by then, the rest join as they answer. Each first attempt is bounded by its timeout.
  await mcp.connectBoot(options.upstreamWaitMs ?? Number.POSITIVE_INFINITY, (message) => log('error', message));
  // Loaded with a warning, refused on reload: see PolicyService.checkLoaded.
  for (const d of policyService.checkLoaded(loaded.folder.policies)) log('warn', `policy: ${formatDiagnostic(d).replace('\n', ';')}`);

  return {
    config,
    store,
    clock,
    pipeline,
    mcp,
    telemetry,
    recorder,
    principals: new PrincipalResolver(
      store,
      new HumanAuthenticator(config.humans.tokens, config.humans.oidc),
      agentJwt,
      config.humans.oidc !== undefined,
      users,
      new Map(config.peps.map((p) => [p.token_hash, { kind: 'pep' as const, id: p.id, tenants: p.tenants }])),
    ),
    agents: new AgentService({ agents: store, decisions: store, incidents: store, recorder, clock }),
    approvals,
    audit: new AuditService({ decisions: store, sessions: shared?.sessions ?? store, log: decisionLog, chain: checkpoints.monitor, signing: checkpoints.checkpointer !== undefined, clock }),
    breakGlass: new BreakGlassService({ grants: store, agents: store, recorder, maxDuration: config.break_glass.max_duration, clock }),
    compliance: new ComplianceService({ store, policies, config: config.compliance, flushLog, clock }),
    decisions: new DecisionService({ pipeline, agents: store, tools: registry, policies, clock }),
    authzen: new AuthzenService({ pipeline, agents: store, maxEvaluations: config.authzen.max_evaluations, reasons: config.authzen.reasons }),
    incidents: new IncidentService({ recorder: incidentRecorder, agents: store, incidents: store, decisions: store, flushLog }),
    policies: policyService,
    replay: new PolicyReplayService({ decisions: store, policies, policiesDir: config.policiesDir, defaultGuards: config.guards.default_policies, flushLog, clock }),
    tools,
    sinks,
    get policySet() {
      return policies.current;
    },
    decide: (request) => pipeline.decideOnly(request),
    call: async (call, credentials = { kind: 'trusted' }) => {
      // A tool not listed yet may be one of a boot upstream still connecting: give it its head start.
      if (!registry.get(call.tool)) await mcp.connectLazy();
      return pipeline.call(call, credentials);
    },
    guard(fn, spec, defaults) {
      const tool = toolSchema.parse({ effect: 'write', risk: 'medium', ...spec });
      registry.add(tool);
      tools.useExecutor(tool.name, async ({ args }) => {
        try {
          return { ok: true, result: (await fn(args as never)) as JsonValue };
        } catch (error) {
          return { ok: false, message: (error as Error)?.message ?? String(error) };
        }
      });
      return async (args, overrides = {}) => {
        const who = { ...defaults, ...overrides };
        const result = await pipeline.call({ agentId: who.agentId, tenant: who.tenant, sessionId: who.sessionId, user: who.user, tool: tool.name, args, via: 'sdk' }, { kind: 'trusted' });
        if (result.status !== 'executed') throw new WardenDeniedError(result);
        return result.result as never;
      };
    },
    reloadPolicies: (why = 'reload requested') => policyService.reload(why),
    sweep: async () => {
      const leases = store as Partial<LeaseStore>;
      if (typeof leases.whileLeader !== 'function') return approvals.sweep();
      let expired: ApprovalRecord[] = [];
      await leases.whileLeader('approval-expiry', async () => {
        expired = await approvals.sweep();
      });
      return expired;
    },
    ...(coordinator && shared
      ? { cluster: { replicaId: coordinator.replicaId, replicas: () => coordinator.replicas(), ping: () => shared.ping() } }
      : {}),
    async close() {
      await coordinator?.close();
      await mcp.close();
      await authzenPep?.close();
      await classifier?.client.close();
      replay.close?.();
      try {
        await decisionLog.close();
      } finally {
        // Each sink stops after its delivery in flight; its cursor says where to go on.
        await sinks.close();
        // The final head, signed and anchored: records removed after shutdown are detected.
        // (It reports its own failures and never throws.)
        await checkpoints.close();
        await store.close();
        await shared?.close();
      }
    },
  };
}

/** guards.injection.external: the classifier outside Warden, when one is configured. */
function configureClassifier(guards: WardenConfig['guards'], secrets: Pick<SecretResolver, 'interpolate'>, redactor: Redactor, telemetry: Telemetry): (ExternalClassifierDeps & { client: ExternalClassifier }) | undefined {
  const external = guards.injection.external;
  if (!external) return undefined;
  const reference = external.credentials;
  const client = new ExternalClassifier({ url: external.url, timeoutMs: durationMs(external.timeout), ...(reference ? { credential: () => secrets.interpolate(reference) } : {}) });
  return { client, config: external, redactor, telemetry };
}

/** A tool definition that no longer matches its pin is an incident, and the log says so. */
async function reportPinEvent(recorder: DecisionRecorder, store: Store, event: PinEvent, now: number): Promise<void> {
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
  await recorder.admin(`tool.pin.${event.kind}`, 'warden', description, { tool: event.key, exposedAs: event.exposedName, observedHash: event.observedHash, ...(event.pinnedHash ? { pinnedHash: event.pinnedHash } : {}) });
}

export type { Decision };
