import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallResult } from '../enforcement/exchange.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import type { GuardedToolSpec, GuardOptions, Warden } from '../services/warden.js';
import type { GateOutcome } from './outcome.js';
import { decideRemotely, type GatewayConnection } from './remote.js';

/** Runs the framework tool's own implementation with the arguments Warden let through. */
export type RunTool = (args: JsonObject) => Promise<unknown>;

/** A framework tool as the gate sees it: a name, a description, the JSON Schema of its input. */
export interface GatedTool {
  name: string;
  description?: string;
  /** Read once, when Warden first registers the tool. */
  inputSchema?: () => Promise<Record<string, unknown> | undefined>;
  /**
   * Runs the tool outside any framework call: when an approver's vote executes a held call, there
   * is no call of the framework's (no abort signal, no messages) to run it in.
   */
  runDetached: RunTool;
}

/** Who the calls are made as, and where Warden is. */
export type WardenAdapterOptions = (
  | {
      /** An in-process Warden (`createWarden`): the full pipeline, approvals included. */
      warden: Warden;
      gateway?: never;
    }
  | {
      /** A running `warden serve`: its decision API (`POST /v1/decisions`) with the agent's API key. */
      gateway: GatewayConnection;
      warden?: never;
    }
) &
  GuardOptions & {
    /**
     * Registry entries for tools Warden does not know from warden.yaml (risk, effect, tags,
     * input_schema…). A tool declared in warden.yaml keeps the operator's entry.
     */
    tools?: Record<string, Omit<GuardedToolSpec, 'name'>>;
  };

/** Asks Warden about one call and runs the tool only when Warden allows it. */
export interface ToolGate {
  run(tool: GatedTool, args: JsonObject, runTool: RunTool): Promise<GateOutcome>;
}

export function toolGate(options: WardenAdapterOptions): ToolGate {
  return options.warden ? inProcessGate(options.warden, options) : remoteGate(options.gateway!, options);
}

/**
 * A framework's JSON Schema as Warden's registry takes it: draft 2020-12 (the default) or draft-07
 * as declared; another `$schema` (draft-04…) is dropped, and the schema read as 2020-12.
 */
export function registrySchema(schema: unknown): Record<string, unknown> | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const { $schema, ...rest } = schema as Record<string, unknown>;
  return typeof $schema === 'string' && /draft-07|2020-12/.test($schema) ? { $schema, ...rest } : rest;
}

/** The framework's result as Warden stores it: JSON (`undefined` becomes null). */
async function asJson(value: unknown): Promise<JsonValue> {
  let last: unknown = value;
  // A streaming tool (AI SDK: an AsyncIterable of partial results) ends with its final result.
  if (value !== null && typeof value === 'object' && Symbol.asyncIterator in value) {
    for await (const part of value as AsyncIterable<unknown>) last = part;
  }
  const text = JSON.stringify(last);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

/** The tools adapters registered, per Warden: theirs to register again (another agent's wrapper). */
const adapterTools = new WeakMap<Warden, Set<string>>();

/**
 * In process, through `warden.guard`: every call runs the whole pipeline (authentication as the
 * agent, registry and argument checks, limits, session, guards, policies, approvals, obligations,
 * audit), and Warden runs the tool's own function — in this process — only when it allows the call.
 * A held call is executed exactly once: by the approval that reaches its quorum, or by the retry
 * after it (whichever comes first); other retries get the stored result.
 */
function inProcessGate(warden: Warden, options: WardenAdapterOptions): ToolGate {
  // The framework's per-call context (abort signal, messages, callbacks) travels with the call to
  // the executor Warden calls; an approval executed by a vote runs the tool detached.
  const current = new AsyncLocalStorage<{ tool: string; run: RunTool }>();
  const guarded = new Map<string, ReturnType<Warden['guard']>>();
  const who: GuardOptions = { agentId: options.agentId, ...(options.tenant ? { tenant: options.tenant } : {}), ...(options.sessionId ? { sessionId: options.sessionId } : {}), ...(options.user ? { user: options.user } : {}) };

  const guardOf = async (tool: GatedTool): Promise<ReturnType<Warden['guard']>> => {
    let fn = guarded.get(tool.name);
    if (!fn) {
      const ours = adapterTools.get(warden) ?? new Set<string>();
      adapterTools.set(warden, ours);
      // A tool Warden already runs (an HTTP tool of warden.yaml, an MCP upstream's) must not be
      // replaced by this process's function: every surface's calls of it would run that instead.
      if (warden.tools.isExecutable(tool.name) && !ours.has(tool.name)) {
        throw new Error(`tool "${tool.name}" is already executed by Warden (warden.yaml http:, or an MCP upstream); a framework tool of the same name would replace it for every caller. Rename the framework tool, or remove the tool's executor from warden.yaml`);
      }
      ours.add(tool.name);
      const declared = warden.config.tools.find((t) => t.name === tool.name);
      const schema = declared || options.tools?.[tool.name]?.input_schema ? undefined : await tool.inputSchema?.();
      const spec: GuardedToolSpec = declared
        ? { ...withoutHttp(declared), name: tool.name }
        : { description: tool.description ?? '', ...(schema ? { input_schema: schema } : {}), ...options.tools?.[tool.name], name: tool.name };
      fn = warden.guard(
        async (args: JsonObject) => {
          const here = current.getStore();
          const run = here?.tool === tool.name ? here.run : tool.runDetached;
          return asJson(await run(args));
        },
        spec,
        who,
      );
      guarded.set(tool.name, fn);
    }
    return fn;
  };

  return {
    async run(tool, args, runTool) {
      const fn = await guardOf(tool);
      try {
        const result = await current.run({ tool: tool.name, run: runTool }, () => fn(args));
        return { kind: 'executed', result };
      } catch (error) {
        const outcome = (error as { outcome?: CallResult }).outcome;
        if (!outcome?.decision) throw error;
        return fromCallResult(outcome);
      }
    },
  };
}

function withoutHttp<T extends { http?: unknown }>(tool: T): Omit<T, 'http'> {
  const { http: _http, ...rest } = tool;
  return rest;
}

function fromCallResult(outcome: CallResult): GateOutcome {
  const reason = outcome.decision.reason;
  const auditId = outcome.auditId || undefined;
  switch (outcome.status) {
    case 'executed':
      return { kind: 'executed', result: outcome.result };
    case 'pending_approval':
      return { kind: 'held', reason, ...(outcome.approvalId ? { approvalId: outcome.approvalId } : {}), ...(auditId ? { auditId } : {}) };
    case 'denied':
      return { kind: 'denied', reason, ...(auditId ? { auditId } : {}) };
    default:
      return { kind: 'error', reason, ...(auditId ? { auditId } : {}) };
  }
}

/**
 * A remote gateway's decision API: Warden decides (policies, guards on the request, the registry
 * entry it knows), the tool runs here on allow. The decision API opens no approval and applies no
 * obligation, so a held call is not run and an allow that carries obligations is not run either
 * (fail closed: an obligation nobody applies must not be silently dropped).
 */
function remoteGate(gateway: GatewayConnection, options: WardenAdapterOptions): ToolGate {
  return {
    async run(tool, args, runTool) {
      const answer = await decideRemotely(gateway, { ...options, tool: tool.name, args });
      if (answer.kind !== 'decision') return answer;
      const { decision, auditId } = answer;
      const audit = auditId ? { auditId } : {};
      if (decision.effect === 'deny') return { kind: 'denied', reason: decision.reason, ...audit };
      if (decision.effect === 'require_approval') return { kind: 'held', reason: decision.reason, ...audit };
      if (decision.obligations.length) {
        const types = decision.obligations.map((o) => o.type).join(', ');
        return { kind: 'denied', reason: `the allow carries obligations (${types}) that only Warden itself applies (in process, or a tool the gateway executes); not run`, ...audit };
      }
      return { kind: 'executed', result: await runTool(args) };
    },
  };
}
