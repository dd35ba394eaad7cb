import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListResourceTemplatesRequestSchema,
  ListRootsResultSchema,
  McpError,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type LoggingLevel,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { JsonObject, JsonValue } from '../../model/json.js';
import type { McpCatalog } from '../../upstream/mcp-catalog.js';
import type { RegisteredTool } from '../../upstream/tool-registry.js';
import { CLIENT_METHODS, completionEntryName, type ClientMethod, type DownstreamSession, type UpstreamChannel } from '../../upstream/upstream-requests.js';

/**
 * The MCP features the gateway passes through to its upstreams besides tools, prompts and
 * resource reads: progress, cancellation, logging, completion, resource templates and
 * subscriptions, and the upstreams' own requests to the agent's client. Whatever carries data
 * (completions, sampling, elicitation, roots) is an action the pipeline decides and records.
 */

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What the gateway session lends the passthrough: its pipeline call and its listing filter. */
export interface PassthroughHost {
  server: Server;
  catalog: McpCatalog;
  /** Runs an action through the pipeline (held calls settled) and answers its result or throws. */
  decide(entry: string, action: string, args: JsonObject, extra: Extra, meta: Record<string, unknown> | undefined, channel: UpstreamChannel): Promise<unknown>;
  /** Filters items by the list decision on their registry entries, recording the listing. */
  visible<T>(items: T[], entryOf: (item: T) => RegisteredTool | undefined, action: string, label: (item: T) => string, listAction: string): Promise<T[]>;
  entry(name: string): RegisteredTool | undefined;
}

const LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

const RESULT_SCHEMAS = {
  'sampling/createMessage': CreateMessageResultSchema,
  'elicitation/create': ElicitResultSchema,
  'roots/list': ListRootsResultSchema,
} as const;

/**
 * The capabilities the gateway declares beyond tools, prompts and resources: what some upstream
 * declared. An upstream that has not answered its handshake yet (Warden serves before slow ones
 * are up) counts as declaring everything: capabilities cannot be added after initialize, and the
 * handlers answer sensibly (no-op level, no completions, a refused subscription) when it has not.
 */
export function passthroughCapabilities(catalog: McpCatalog): ServerCapabilities {
  const everything: ServerCapabilities = { logging: {}, completions: {}, resources: { subscribe: true } };
  const caps = catalog.allUpstreams().map((u) => u.serverCapabilities ?? everything);
  return {
    ...(caps.some((c) => c.logging) ? { logging: {} } : {}),
    ...(caps.some((c) => c.completions) ? { completions: {} } : {}),
    resources: { listChanged: true, ...(caps.some((c) => c.resources?.subscribe) ? { subscribe: true } : {}) },
  };
}

/** Warden's instructions, then each upstream's, under its name (what the agent would read directly). */
export function mergedInstructions(own: string, catalog: McpCatalog): string {
  const parts = [own];
  for (const upstream of catalog.allUpstreams()) if (upstream.instructions?.trim()) parts.push(`## ${upstream.name}\n${upstream.instructions.trim()}`);
  return parts.join('\n\n');
}

/**
 * Makes the server's initialize answer carry the instructions as they are when the client
 * initializes (upstreams that came up since the session's server was made included). The SDK
 * reads them from `_instructions` only then; test/mcp/passthrough.test.ts catches a change.
 */
export function instructionsAtInitialize(server: Server, instructions: () => string): void {
  Object.defineProperty(server, '_instructions', { get: instructions, configurable: true });
}

/**
 * What a gateway call carries to its upstream: the agent's cancellation, its progress token
 * (progress is relayed under it), and the session the upstream's own requests go back to.
 */
export function callChannel(extra: Extra, session: DownstreamSession): UpstreamChannel {
  const token = extra._meta?.progressToken;
  return {
    signal: extra.signal,
    session,
    ...(token !== undefined
      ? { onprogress: (progress) => void extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken: token } }).catch(() => undefined) }
      : {}),
  };
}

/** Installs the passthrough handlers on a gateway session's server; returns its clean-up. */
export function installPassthrough(host: PassthroughHost, capabilities: ServerCapabilities): { session: (extra: Extra) => DownstreamSession; close: () => void } {
  const { server, catalog } = host;
  /** Upstreams this session's allowed calls reached: only their log messages are relayed here. */
  const used = new Set<string>();
  let level: LoggingLevel | undefined;
  const subscribed = new Map<string, string>(); // uri → upstream

  const session = (extra: Extra): DownstreamSession => ({
    owner: server,
    supports: (method) => server.getClientCapabilities()?.[CLIENT_METHODS[method].capability] !== undefined,
    used: (upstream) => void used.add(upstream),
    // The upstream's request, sent on the call's own stream (over HTTP, the POST's SSE answer).
    ask: async (upstream: string, method: ClientMethod, params: JsonObject, signal: AbortSignal) => {
      const { entry, action } = CLIENT_METHODS[method];
      const toClient = async (m: ClientMethod, p: JsonObject, s?: AbortSignal) =>
        (await extra.sendRequest({ method: m, params: p } as ServerRequest, RESULT_SCHEMAS[m], { signal: s ?? signal })) as unknown as JsonValue;
      return (await host.decide(entry(upstream), action, params, { ...extra, signal }, undefined, { signal, toClient })) as JsonValue;
    },
  });

  const unsubscribers = catalog.allUpstreams().map((upstream) =>
    upstream.onNotification((notification) => {
      if (notification.method === 'notifications/message') {
        if (!used.has(upstream.name)) return;
        if (level && LEVELS.indexOf(notification.params.level) < LEVELS.indexOf(level)) return;
        const logger = notification.params.logger ? `${upstream.name}/${notification.params.logger}` : upstream.name;
        void server.notification({ method: 'notifications/message', params: { ...notification.params, logger } }).catch(() => undefined);
      } else if (notification.method === 'notifications/resources/updated') {
        if (subscribed.get(notification.params.uri) !== upstream.name) return;
        void server.sendResourceUpdated(notification.params).catch(() => undefined);
      }
    }),
  );

  if (capabilities.logging) {
    server.setRequestHandler(SetLevelRequestSchema, async (request) => {
      level = request.params.level;
      // One connection per upstream serves every session: the upstream gets the level asked last,
      // and each session's own level filters what it is sent.
      await Promise.all(catalog.allUpstreams().filter((u) => u.serverCapabilities?.logging).map((u) => u.setLoggingLevel(request.params.level).catch(() => undefined)));
      return {};
    });
  }

  if (capabilities.completions) {
    server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
      const { ref } = request.params;
      const upstream =
        ref.type === 'ref/prompt'
          ? catalog.prompt(ref.name)?.upstream
          : (catalog.listResourceTemplates().find((t) => t.template.uriTemplate === ref.uri)?.upstream ?? catalog.resourceUpstream(ref.uri));
      const target = upstream ? catalog.upstream(upstream) : undefined;
      if (!target) throw new McpError(-32602, `unknown ${ref.type === 'ref/prompt' ? `prompt "${ref.name}"` : `resource "${ref.uri}"`}: no upstream offers it`);
      if (!target.serverCapabilities?.completions) return { completion: { values: [] } };
      const { _meta, ...params } = request.params;
      return (await host.decide(completionEntryName(target.name), 'completion.complete', params as JsonObject, extra, _meta, { signal: extra.signal })) as never;
    });
  }

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => {
    const shown = await host.visible(catalog.listResourceTemplates(), (t) => host.entry(t.registryName), 'resource.read', (t) => t.template.uriTemplate, 'resources.templates.list');
    return { resourceTemplates: shown.map((t) => t.template) };
  });

  if (capabilities.resources?.subscribe) {
    server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      const { uri } = request.params;
      const upstream = catalog.resourceUpstream(uri);
      const target = upstream ? catalog.upstream(upstream) : undefined;
      if (!target?.serverCapabilities?.resources?.subscribe) throw new McpError(-32602, `no upstream offers subscriptions to "${uri}"`);
      // Updates name only the URI; what they announce is read (and decided) like any resource.
      // Subscribing is allowed where the agent may see the resource: the listing decision, recorded.
      const visible = await host.visible([uri], () => host.entry(`resource:${target.name}`), 'resource.read', (u) => u, 'resources.subscribe');
      if (!visible.length) throw new McpError(-32003, `subscribing to "${uri}" is not allowed for this agent`);
      if (!subscribed.has(uri)) {
        await target.subscribeResource(uri);
        subscribed.set(uri, target.name);
      }
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      const upstream = subscribed.get(request.params.uri);
      if (upstream) {
        subscribed.delete(request.params.uri);
        await catalog.upstream(upstream)?.unsubscribeResource(request.params.uri);
      }
      return {};
    });
  }

  const close = () => {
    for (const unsubscribe of unsubscribers) unsubscribe();
    for (const [uri, upstream] of subscribed) void catalog.upstream(upstream)?.unsubscribeResource(uri).catch(() => undefined);
    subscribed.clear();
  };
  return { session, close };
}
