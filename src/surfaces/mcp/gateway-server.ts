import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type CallToolResult,
  type GetPromptResult,
  type ReadResourceResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { buildActionRequest, relationshipSubjects } from '../../enforcement/request-builder.js';
import { isJsonObject, type JsonObject } from '../../model/json.js';
import type { Approver } from '../../enforcement/approvers.js';
import type { CallResult, Credentials } from '../../enforcement/exchange.js';
import type { RegisteredTool } from '../../upstream/tool-registry.js';
import { durationMs } from '../../lib/duration.js';
import { listDecision } from '../../policy/list-decision.js';
import type { AgentRecord } from '../../store/records.js';
import { promptEntryName, resourceEntryName } from '../../upstream/mcp-catalog.js';
import type { Warden } from '../../services/warden.js';
import { settleHeld, type HoldContext, type Settled } from './gateway-approval.js';
import { mcpSpan } from './mcp-span.js';
import { executedResult, pendingResult, refusedResult } from './gateway-results.js';
import { coazError } from './coaz-jsonrpc-errors.js';
import { callChannel, installPassthrough, instructionsAtInitialize, mergedInstructions, passthroughCapabilities } from './gateway-passthrough.js';
import { isPassthroughEntry, type UpstreamChannel } from '../../upstream/upstream-requests.js';

/** JSON-RPC error code for a resource read or prompt refused by policy (server-defined range). */
export const FORBIDDEN_BY_POLICY = -32003;

/** Who a gateway session acts for. */
export interface GatewayCaller {
  agentId: string;
  /**
   * How the agent was proven: `session` when the HTTP endpoint authenticated its key; `trusted`
   * for the stdio gateway, which whoever holds the config starts for a named agent and user.
   */
  credentials: Extract<Credentials, { kind: 'session' | 'trusted' }>;
  /** The user the agent acts for, by name (stdio flag, X-Warden-User): verified only when trusted. */
  userId?: string;
  /** An on-behalf-of token proving the user (X-Warden-User-Token), checked on every call. */
  userToken?: string;
  /** The MCP session: scope of budgets, taint and sequences. */
  sessionId: () => string;
  /**
   * Whether a request this server sends (elicitation) can reach the client now. Over HTTP only
   * while this replica holds the session's SSE stream; absent (stdio): always.
   */
  canAsk?: () => boolean;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A verified user as an approver: roles and tenant from warden.yaml's humans when they are one. */
export function userAsApprover(warden: Warden, userId: string, agent: AgentRecord | undefined): Approver {
  const human = warden.config.humans.tokens.find((t) => t.id === userId);
  return human ? { id: userId, roles: human.roles, tenant: human.tenant } : { id: userId, roles: [], tenant: agent?.tenant ?? '' };
}

/**
 * The aggregated MCP server agents connect to: the tools, prompts and resources of every upstream
 * (and Warden's own HTTP tools), each listing filtered by a list decision and each call sent
 * through the full pipeline. One server per session; it never decides anything itself.
 */
export function createGatewayServer(warden: Warden, caller: GatewayCaller): Server {
  const catalog = warden.mcp;
  const passthroughCaps = passthroughCapabilities(catalog);
  const server = new Server(
    { name: 'warden', version: '0.1.0' },
    {
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, ...passthroughCaps },
    },
  );
  instructionsAtInitialize(server, () =>
    mergedInstructions('Tools here are governed by Warden. A denied call returns isError with the reason; a call that needs approval names the approval to retry with.', catalog),
  );
  const tools = warden.tools;
  const gateway = warden.config.mcp;
  const waitMs = durationMs(gateway.approval_wait);

  const unsubscribe = catalog.onChange(() => {
    void server.sendToolListChanged().catch(() => undefined);
    void server.sendPromptListChanged().catch(() => undefined);
    void server.sendResourceListChanged().catch(() => undefined);
  });
  const passthrough = installPassthrough(
    {
      server,
      catalog,
      decide: async (entry, action, args, extra, meta, channel) => unwrap(await governed(entry, action, args, extra, meta, channel)),
      visible: (items, entryOf, action, label, listAction) => visible(items, entryOf, action, label, listAction),
      entry: (name) => tools.get(name),
    },
    passthroughCaps,
  );
  server.onclose = () => {
    unsubscribe();
    passthrough.close();
  };

  const agentRecord = () => warden.store.getAgent(caller.agentId);

  /**
   * The session's user as Warden knows them: verified (the stdio gateway's own user, or a valid
   * on-behalf-of token) with roles from the token and the directory, or a bare name without roles.
   * A token is verified once per session for listings and approvals; every call checks it again.
   */
  let verifiedByToken: Promise<Approver | undefined> | undefined;
  async function sessionUser(agent: AgentRecord | undefined): Promise<(Approver & { verified: boolean }) | undefined> {
    if (caller.userToken !== undefined) {
      verifiedByToken ??= warden.principals.user(caller.userToken, caller.agentId).then(
        (u) => ({ id: u.id, roles: u.roles, tenant: u.tenant ?? agent?.tenant ?? '' }),
        () => undefined,
      );
      const user = await verifiedByToken;
      return user && { ...user, verified: true };
    }
    if (!caller.userId) return undefined;
    if (caller.credentials.kind === 'trusted') return { ...userAsApprover(warden, caller.userId, agent), verified: true };
    return { id: caller.userId, roles: [], tenant: agent?.tenant ?? '', verified: false };
  }

  /** Filters registry entries by the list decision and records the listing. */
  async function visible<T>(items: T[], entryOf: (item: T) => RegisteredTool | undefined, action: string, label: (item: T) => string, listAction: string): Promise<T[]> {
    await catalog.connectLazy();
    const agent = await agentRecord();
    const user = await sessionUser(agent);
    const shown: T[] = [];
    const hidden: string[] = [];
    if (agent && agent.status === 'active') {
      const policySet = warden.policySet;
      const relationships = policySet.usesRelationships ? await warden.store.relationshipsOf(relationshipSubjects(agent.id, user?.id)) : undefined;
      const now = new Date(warden.clock());
      for (const item of items) {
        const entry = entryOf(item);
        if (!entry || entry.blocked) {
          hidden.push(label(item));
          continue;
        }
        const request = buildActionRequest({ requestId: 'list', tenant: agent.tenant ?? '', agent, user, action, resourceId: entry.entry.name, args: {}, tool: entry.entry, relationships });
        if (listDecision(policySet, request, now).visible) shown.push(item);
        else hidden.push(label(item));
      }
    } else hidden.push(...items.map(label));
    warden.recorder.listing({ agentId: caller.agentId, tenant: agent?.tenant ?? '', sessionId: caller.sessionId() || undefined, userId: user?.id ?? caller.userId, action: listAction, shown: shown.length, hidden });
    return shown;
  }

  /** Runs a call through the pipeline; a held call is settled (elicitation, wait) before answering. */
  async function governed(tool: string, action: string, args: JsonObject, extra: Extra, meta: Record<string, unknown> | undefined, channel?: UpstreamChannel): Promise<Settled> {
    const agent = await agentRecord();
    const user = await sessionUser(agent);
    const hold: HoldContext = {
      warden,
      // Only a verified user may approve in the client: an agent's own client answering for a user
      // it merely names would be the agent approving itself.
      ...(user?.verified ? { user } : {}),
      ...(gateway.elicitation && server.getClientCapabilities()?.elicitation && (caller.canAsk?.() ?? true)
        ? { elicit: (message: string, signal: AbortSignal) => elicit(server, message, waitMs, signal) }
        : {}),
      waitMs,
      signal: extra.signal,
      ...(extra._meta?.progressToken !== undefined ? { progress: progressSender(extra) } : {}),
    };
    // A retry of a held call is a call like any other: the pipeline (authentication, suspension,
    // the same arguments, user and tenant) finds its approval and records the retry. Naming the
    // approval in `_meta` once skipped all of that, so it no longer means anything.
    const context = isJsonObject(meta?.['warden/context']) ? (meta['warden/context'] as JsonObject) : undefined;
    const result = await warden.call(
      {
        agentId: caller.agentId,
        tool,
        args,
        action,
        sessionId: caller.sessionId() || undefined,
        ...(caller.userId ? { user: { id: caller.userId, roles: user?.verified ? user.roles : [] } } : {}),
        ...(caller.userToken !== undefined ? { userToken: caller.userToken } : {}),
        ...(context ? { context } : {}),
        ...(channel ? { channel } : {}),
        via: 'mcp',
      },
      caller.credentials,
    );
    if (result.status !== 'pending_approval') return { kind: 'final', result };
    return settleHeld(result, hold);
  }

  /** One span per MCP request (mcp-span.ts), parent of the pipeline's. */
  const traced = <R>(method: string, extra: Extra, meta: Record<string, unknown> | undefined, work: () => Promise<R>, target?: string) =>
    mcpSpan({ method, ...(target !== undefined ? { target } : {}), surface: 'mcp', agentId: caller.agentId, requestId: extra.requestId, ...(meta ? { meta } : {}) }, work);

  server.setRequestHandler(ListToolsRequestSchema, async (request, extra) =>
    traced('tools/list', extra, request.params?._meta, async () => {
      await catalog.connectLazy(); // lazy upstreams, and boot ones still starting: before the list is read
      const entries = tools.all().filter((t) => tools.isExecutable(t.entry.name) && !isPassthroughEntry(t.entry.name));
      const shown = await visible(entries, (t) => t, 'tool.call', (t) => t.entry.name, 'tools.list');
      return { tools: shown.map((t) => describeTool(t, catalog.tool(t.entry.name)?.tool)) };
    }),
  );

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name, arguments: args, _meta } = request.params;
    return traced('tools/call', extra, _meta, async () => {
      const settled = await governed(name, 'tool.call', (args ?? {}) as JsonObject, extra, _meta, callChannel(extra, passthrough.session(extra)));
      if (settled.kind === 'pending') return pendingResult(settled.result, settled.waitedMs);
      const refused = coazError(settled.result);
      if (refused) throw refused;
      return settled.result.status === 'executed' ? executedResult(settled.result, tools.get(name)?.entry.server !== undefined) : refusedResult(settled.result);
    }, name);
  });

  server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) =>
    traced('resources/list', extra, request.params?._meta, async () => {
      await catalog.connectLazy(); // lazy upstreams, and boot ones still starting: before the list is read
      const resources = catalog.listResources();
      const shown = await visible(resources, (r) => tools.get(r.registryName), 'resource.read', (r) => r.uri, 'resources.list');
      return { resources: shown.map((r) => r.resource) };
    }),
  );

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra): Promise<ReadResourceResult> => {
    const { uri, _meta } = request.params;
    return traced('resources/read', extra, _meta, async () => {
      // A URI no listing offered may still belong to an upstream's template (catalog.resourceUpstream).
      const upstream = catalog.resourceUpstream(uri);
      if (!upstream) throw new McpError(-32602, `unknown resource "${uri}": no upstream offers it`);
      const settled = await governed(resourceEntryName(upstream), 'resource.read', { uri }, extra, _meta, callChannel(extra, passthrough.session(extra)));
      return unwrap(settled) as ReadResourceResult;
    });
  });

  server.setRequestHandler(ListPromptsRequestSchema, async (request, extra) =>
    traced('prompts/list', extra, request.params?._meta, async () => {
      await catalog.connectLazy(); // lazy upstreams, and boot ones still starting: before the list is read
      const prompts = catalog.listPrompts();
      const shown = await visible(prompts, (p) => tools.get(p.registryName), 'prompt.get', (p) => p.name, 'prompts.list');
      return { prompts: shown.map((p) => ({ ...p.prompt, name: p.name })) };
    }),
  );

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra): Promise<GetPromptResult> => {
    const { name, arguments: args, _meta } = request.params;
    return traced('prompts/get', extra, _meta, async () => {
      if (!catalog.prompt(name)) throw new McpError(-32602, `unknown prompt "${name}"`);
      const settled = await governed(promptEntryName(name), 'prompt.get', (args ?? {}) as JsonObject, extra, _meta, callChannel(extra, passthrough.session(extra)));
      return unwrap(settled) as GetPromptResult;
    }, name);
  });

  return server;
}

/** Resource reads and prompts have no `isError`: anything but an execution is a JSON-RPC error. */
function unwrap(settled: Settled): unknown {
  const result: CallResult = settled.result;
  if (settled.kind === 'final' && result.status === 'executed') return result.result;
  const refused = settled.kind === 'final' ? coazError(result) : undefined;
  if (refused) throw refused;
  const text = (settled.kind === 'pending' ? pendingResult(result, settled.waitedMs) : refusedResult(result)).content[0] as { text: string };
  throw new McpError(FORBIDDEN_BY_POLICY, text.text, { decision: { effect: result.decision.effect, status: result.status, auditId: result.auditId, ...(result.approvalId ? { approvalId: result.approvalId } : {}) } });
}

/** A registry entry as an MCP tool: an upstream's own definition under its exposed name. */
function describeTool(entry: RegisteredTool, upstreamTool: Tool | undefined): Tool {
  if (upstreamTool) return { ...upstreamTool, name: entry.entry.name };
  return { name: entry.entry.name, description: entry.description, inputSchema: entry.inputSchema as Tool['inputSchema'] };
}

function progressSender(extra: Extra) {
  const token = extra._meta!.progressToken!;
  return (elapsedMs: number, totalMs: number, message: string) =>
    extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: elapsedMs, total: totalMs, message } });
}

async function elicit(server: Server, message: string, timeoutMs: number, signal: AbortSignal): Promise<{ approve: boolean; reason: string } | undefined> {
  const answer = await server.elicitInput(
    {
      message,
      requestedSchema: {
        type: 'object',
        properties: {
          approve: { type: 'boolean', title: 'Approve', description: 'Run this action once' },
          reason: { type: 'string', title: 'Reason', description: 'Recorded in the decision log' },
        },
        required: ['approve'],
      },
    },
    { timeout: timeoutMs, signal },
  );
  if (answer.action === 'cancel') return undefined;
  const approve = answer.action === 'accept' && answer.content?.approve === true;
  return { approve, reason: typeof answer.content?.reason === 'string' ? answer.content.reason : '' };
}
