import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
  type CompleteRequest,
  type CompleteResult,
  type LoggingLevel,
  type ResourceTemplate,
  type ServerCapabilities,
  type ServerNotification,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from '../config/config-schema.js';
import { resolveFrom } from '../config/load-config.js';
import { durationMs } from '../lib/duration.js';
import { fetch as undiciFetch } from 'undici';
import { traceparentFor } from './http-tool.js';
import { maskSecrets, maskSecretsIn, type SecretResolver } from './secrets.js';
import type { ClientMethod, DownstreamSession, UpstreamChannel } from './upstream-requests.js';
import type { JsonObject } from '../model/json.js';
import type { Writable } from 'node:stream';
import { coalesceThisTurn } from '../lib/coalesced-writes.js';
import { leanPosts } from './lean-http-posts.js';

export type UpstreamState = 'idle' | 'connecting' | 'ready' | 'down' | 'closed';

export interface UpstreamHealth {
  name: string;
  transport: 'stdio' | 'http';
  state: UpstreamState;
  /** When the state last changed (epoch ms). */
  since: number;
  restarts: number;
  lastError?: string;
  tools: number;
  resources: number;
  prompts: number;
}

/** What an upstream offers, as last listed. */
export interface UpstreamCatalog {
  tools: Tool[];
  resources: Resource[];
  prompts: Prompt[];
  resourceTemplates: ResourceTemplate[];
}

export class UpstreamUnavailableError extends Error {}

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** A connection that stayed up this long resets the backoff. */
const STABLE_MS = 30_000;
/** Pages of a listing Warden follows at most (a server that pages forever cannot hang it). */
const MAX_PAGES = 100;

/**
 * One MCP server Warden stands in front of, through the official SDK client. Connects at boot or
 * on first use, relists when the server says its lists changed, and reconnects with exponential
 * backoff when the connection drops (a crashed stdio server is started again). Requests made
 * while it is down fail at once with UpstreamUnavailableError: the gateway denies, it never hangs.
 */
export class McpUpstream {
  private client?: Client;
  private connecting?: Promise<Client>;
  private state: UpstreamState = 'idle';
  private since = Date.now();
  private restarts = 0;
  private backoffMs = FIRST_BACKOFF_MS;
  private lastError?: string;
  private connectedAt = 0;
  private retryTimer?: NodeJS.Timeout;
  private closing = false;
  private stdioPid?: number;
  /** A stdio server's standard input: requests sent in one turn are written together. */
  private stdioIn?: Writable;
  catalog: UpstreamCatalog = { tools: [], resources: [], prompts: [], resourceTemplates: [] };
  /** Calls in flight that came from a gateway session: where the upstream's own requests go. */
  private readonly calls = new Map<number, DownstreamSession>();
  private callSeq = 0;
  /** Sessions subscribed to each resource URI, through Warden's one connection. */
  private readonly subscriptions = new Map<string, number>();
  private readonly notificationListeners = new Set<(notification: ServerNotification) => void>();
  /**
   * The secret values given to the upstream (`${secret:…}` in its env or headers): masked in
   * whatever it sends back — results, errors, notifications, requests to the agent's client, its
   * stderr in the log — as an HTTP tool's are, so an upstream that echoes one leaks nothing.
   */
  private readonly injected = new Set<string>();
  /** The server's capabilities and instructions from its last initialize answer. */
  serverCapabilities?: ServerCapabilities;
  instructions?: string;

  constructor(
    readonly config: UpstreamConfig,
    private readonly deps: {
      secrets: SecretResolver;
      baseDir: string;
      /** Called after every (re)listing, with the new catalog in `this.catalog`. */
      onCatalog: (upstream: McpUpstream) => void | Promise<void>;
      log: (level: 'info' | 'warn' | 'error', message: string) => void;
    },
  ) {}

  get name(): string {
    return this.config.name;
  }

  get timeoutMs(): number {
    return durationMs(this.config.timeout);
  }

  /** The process id of a stdio upstream while it runs (tests kill it to simulate a crash). */
  get pid(): number | undefined {
    return this.stdioPid;
  }

  health(): UpstreamHealth {
    return {
      name: this.name,
      transport: this.config.stdio ? 'stdio' : 'http',
      state: this.state,
      since: this.since,
      restarts: this.restarts,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      tools: this.catalog.tools.length,
      resources: this.catalog.resources.length,
      prompts: this.catalog.prompts.length,
    };
  }

  /**
   * The server's own name from its last initialize answer, part of every pin of its tools. Kept
   * while the upstream is down: its catalog (and so its pins) stays as last listed.
   */
  serverName?: string;

  /** Connects (once; concurrent callers share the attempt) and lists what the server offers. */
  async connect(): Promise<Client> {
    if (this.client && this.state === 'ready') return this.client;
    if (this.closing) throw new UpstreamUnavailableError(`upstream "${this.name}" is shut down`);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async callTool(name: string, args: Record<string, unknown>, options: RequestOptions = {}, channel?: UpstreamChannel): Promise<CallToolResult> {
    return this.tracked(channel, () => this.inSession(async (client) => (await client.callTool({ name, arguments: args }, undefined, this.requestOptions(options, channel))) as CallToolResult));
  }

  async readResource(uri: string, options: RequestOptions = {}, channel?: UpstreamChannel): Promise<ReadResourceResult> {
    return this.tracked(channel, () => this.inSession((client) => client.readResource({ uri }, this.requestOptions(options, channel))));
  }

  async getPrompt(name: string, args: Record<string, string>, options: RequestOptions = {}, channel?: UpstreamChannel): Promise<GetPromptResult> {
    return this.tracked(channel, () => this.inSession((client) => client.getPrompt({ name, arguments: args }, this.requestOptions(options, channel))));
  }

  async complete(params: CompleteRequest['params'], channel?: UpstreamChannel): Promise<CompleteResult> {
    return this.masked(() => this.inSession((client) => client.complete(params, this.requestOptions({}, channel))));
  }

  /** What `run` answers or throws, with the injected secrets masked (see `injected`). */
  private async masked<T>(run: () => Promise<T>): Promise<T> {
    if (this.injected.size === 0) return run();
    try {
      return maskSecretsIn(await run(), this.injected);
    } catch (error) {
      if (error instanceof Error) error.message = maskSecrets(error.message, this.injected);
      throw error;
    }
  }

  async setLoggingLevel(level: LoggingLevel): Promise<void> {
    await this.inSession((client) => client.setLoggingLevel(level, this.requestOptions({})));
  }

  /** Subscribes Warden's one connection for the first session that subscribes to `uri`. */
  async subscribeResource(uri: string): Promise<void> {
    const count = this.subscriptions.get(uri) ?? 0;
    if (count === 0) await this.inSession((client) => client.subscribeResource({ uri }, this.requestOptions({})));
    this.subscriptions.set(uri, count + 1);
  }

  /** Unsubscribes the connection when the last session subscribed to `uri` leaves. */
  async unsubscribeResource(uri: string): Promise<void> {
    const count = this.subscriptions.get(uri) ?? 0;
    if (count > 1) return void this.subscriptions.set(uri, count - 1);
    this.subscriptions.delete(uri);
    if (count === 1) await this.inSession((client) => client.unsubscribeResource({ uri }, this.requestOptions({})));
  }

  /** Hears the upstream's log messages and resource updates (relayed by the gateway's sessions). */
  onNotification(listener: (notification: ServerNotification) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.setState('closed');
    await client?.close().catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------

  private requestOptions(options: RequestOptions, channel?: UpstreamChannel): RequestOptions {
    // With onprogress the SDK asks the upstream for progress (its own token, mapped back here).
    return {
      timeout: this.timeoutMs,
      resetTimeoutOnProgress: true,
      maxTotalTimeout: this.timeoutMs * 10,
      ...(channel?.signal ? { signal: channel.signal } : {}),
      ...(channel?.onprogress ? { onprogress: channel.onprogress } : {}),
      ...options,
    };
  }

  /** Keeps the call's session reachable for the requests the upstream sends while it runs. */
  private async tracked<T>(channel: UpstreamChannel | undefined, run: () => Promise<T>): Promise<T> {
    if (!channel?.session) return this.masked(run);
    const id = ++this.callSeq;
    this.calls.set(id, channel.session);
    channel.session.used?.(this.name);
    try {
      return await this.masked(run);
    } finally {
      this.calls.delete(id);
    }
  }

  /**
   * The upstream asks Warden's client something (sampling, elicitation, roots). One connection
   * serves every gateway session, and the wire names no call: the request goes to the session
   * whose calls are in flight, and is refused when there is none or when several sessions have
   * calls running (Warden cannot tell whose it is, and guessing would hand one agent's request
   * to another's client).
   */
  private async fromUpstream(method: ClientMethod, params: JsonObject, signal: AbortSignal): Promise<Record<string, unknown>> {
    const calls = [...this.calls.values()];
    const sessions = new Set(calls.map((c) => c.owner));
    if (sessions.size !== 1) {
      throw new McpError(
        ErrorCode.InvalidRequest,
        sessions.size === 0
          ? `Warden forwards ${method} only while a call of an agent runs on "${this.name}": this request belongs to no call`
          : `Warden cannot tell which of ${sessions.size} agent sessions with calls in flight on "${this.name}" this ${method} request belongs to; it is refused`,
      );
    }
    // Several calls of the one session: the latest still running carries the request.
    const session = calls[calls.length - 1]!;
    if (!session.supports(method)) throw new McpError(ErrorCode.MethodNotFound, `the agent's client does not support ${method}`);
    return (await session.ask(this.name, method, this.injected.size ? maskSecretsIn(params, this.injected) : params, signal)) as Record<string, unknown>;
  }

  /**
   * Runs a request in the upstream's session. An HTTP upstream that restarted no longer knows the
   * session id Warden holds and refuses every request (404, or 400 "No valid session ID" from
   * servers built on the SDK's examples); nothing was processed, so Warden opens a new session and
   * retries the request once — before, every call failed until Warden itself restarted.
   */
  private async inSession<T>(request: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.ready();
    if (this.stdioIn) coalesceThisTurn(this.stdioIn);
    try {
      return await request(client);
    } catch (error) {
      if (!this.config.http || !sessionLost(error)) throw error;
      this.deps.log('warn', `upstream "${this.name}" no longer knows Warden's session (it restarted?); opening a new session and retrying once`);
      if (this.client === client) {
        this.client = undefined;
        this.setState('connecting');
        void client.close().catch(() => undefined);
      }
      return request(await this.ready());
    }
  }

  /** A connected client, or an immediate error while the upstream is down (no waiting on backoff). */
  private async ready(): Promise<Client> {
    if (this.state === 'down' && !this.connecting) {
      throw new UpstreamUnavailableError(`upstream "${this.name}" is unavailable (${this.lastError ?? 'connection lost'}); Warden is reconnecting`);
    }
    try {
      return await this.connect();
    } catch (error) {
      if (error instanceof UpstreamUnavailableError) throw error;
      throw new UpstreamUnavailableError(`upstream "${this.name}" is unavailable: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  private setState(state: UpstreamState, error?: string): void {
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    if (error !== undefined) this.lastError = error;
  }

  private async open(): Promise<Client> {
    this.setState('connecting');
    // One connection serves every session, so Warden declares what it can forward to any of
    // them; a session whose client lacks a capability gets its requests refused (fromUpstream).
    const client = new Client({ name: 'warden-gateway', version: '0.1.0' }, { capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => this.fromUpstream('sampling/createMessage', request.params as JsonObject, extra.signal) as never);
    client.setRequestHandler(ElicitRequestSchema, (request, extra) => this.fromUpstream('elicitation/create', request.params as JsonObject, extra.signal) as never);
    client.setRequestHandler(ListRootsRequestSchema, (request, extra) => this.fromUpstream('roots/list', (request.params ?? {}) as JsonObject, extra.signal) as never);
    const relay = (sent: ServerNotification) => {
      const notification = this.injected.size ? maskSecretsIn(sent, this.injected) : sent;
      for (const listener of this.notificationListeners) listener(notification);
    };
    client.setNotificationHandler(LoggingMessageNotificationSchema, relay);
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, relay);
    try {
      const transport = await this.transport();
      client.onclose = () => this.lost(client);
      client.onerror = (error) => this.deps.log('warn', `upstream "${this.name}": ${error.message}`);
      // The handshake is a request like any other: an upstream that never answers initialize is
      // down after its timeout, not after the SDK's 60 s default (it held start-up for a minute).
      await client.connect(transport, { timeout: this.timeoutMs });
      this.stdioPid = transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
      this.stdioIn = transport instanceof StdioClientTransport ? stdinOf(transport) : undefined;
      this.client = client;
      this.connectedAt = Date.now();
      const caps = client.getServerCapabilities() ?? {};
      if (caps.tools?.listChanged) client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.relist('tools'));
      if (caps.resources?.listChanged) client.setNotificationHandler(ResourceListChangedNotificationSchema, () => this.relist('resources'));
      if (caps.prompts?.listChanged) client.setNotificationHandler(PromptListChangedNotificationSchema, () => this.relist('prompts'));
      this.serverName = client.getServerVersion()?.name;
      this.serverCapabilities = caps;
      this.instructions = client.getInstructions();
      this.catalog = await this.list(client);
      this.setState('ready');
      this.lastError = undefined;
      await this.deps.onCatalog(this);
      this.deps.log('info', `upstream "${this.name}" ready: ${this.catalog.tools.length} tools, ${this.catalog.resources.length} resources, ${this.catalog.prompts.length} prompts`);
      return client;
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      this.client = undefined;
      await client.close().catch(() => undefined);
      this.setState('down', message);
      this.scheduleReconnect();
      throw new UpstreamUnavailableError(`upstream "${this.name}" could not be reached: ${message}`);
    }
  }

  private async transport(): Promise<StdioClientTransport | StreamableHTTPClientTransport> {
    const { stdio, http } = this.config;
    if (stdio) {
      const env: Record<string, string> = { ...getDefaultEnvironment() };
      for (const [key, value] of Object.entries(stdio.env)) env[key] = await this.deps.secrets.interpolate(value, this.injected);
      const transport = new StdioClientTransport({
        command: stdio.command,
        args: stdio.args,
        env,
        cwd: stdio.cwd ? resolveFrom(this.deps.baseDir, stdio.cwd) : this.deps.baseDir,
        stderr: 'pipe',
      });
      // The server's own diagnostics: kept out of Warden's stdout (which may be an MCP stream).
      transport.stderr?.on('data', (chunk: Buffer) => this.deps.log('info', `upstream "${this.name}" stderr: ${maskSecrets(chunk.toString('utf8').trimEnd(), this.injected).slice(0, 2000)}`));
      return transport;
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(http!.headers)) headers[key] = await this.deps.secrets.interpolate(value, this.injected);
    // undici's own fetch rather than Node 20's global one: measured in bench/mcp, the global fetch
    // keeps an abort listener per request on the transport's shared signal and scans them all on
    // every request (~180 µs per call after a few thousand calls).
    const url = new URL(http!.url);
    const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: fetchWithTraceparent });
    leanPosts(transport, url, headers); // requests after initialize: undici's pooled request, not fetch (lean-http-posts.ts)
    return transport;
  }

  private async list(client: Client): Promise<UpstreamCatalog> {
    const caps = client.getServerCapabilities() ?? {};
    const options = { timeout: this.timeoutMs };
    const pages = async <T>(fetch: (cursor?: string) => Promise<{ items: T[]; nextCursor?: string }>): Promise<T[]> => {
      const all: T[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const { items, nextCursor } = await fetch(cursor);
        all.push(...items);
        if (!nextCursor) break;
        cursor = nextCursor;
      }
      return all;
    };
    const [tools, resources, prompts, resourceTemplates] = await Promise.all([
      caps.tools ? pages(async (cursor) => client.listTools(cursor ? { cursor } : {}, options).then((r) => ({ items: r.tools, nextCursor: r.nextCursor }))) : [],
      caps.resources ? pages(async (cursor) => client.listResources(cursor ? { cursor } : {}, options).then((r) => ({ items: r.resources, nextCursor: r.nextCursor }))) : [],
      caps.prompts ? pages(async (cursor) => client.listPrompts(cursor ? { cursor } : {}, options).then((r) => ({ items: r.prompts, nextCursor: r.nextCursor }))) : [],
      caps.resources
        ? pages(async (cursor) => client.listResourceTemplates(cursor ? { cursor } : {}, options).then((r) => ({ items: r.resourceTemplates, nextCursor: r.nextCursor }))).catch(() => [])
        : [],
    ]);
    return { tools, resources, prompts, resourceTemplates };
  }

  private relist(what: keyof UpstreamCatalog): void {
    const client = this.client;
    if (!client) return;
    this.list(client).then(
      async (catalog) => {
        this.catalog = catalog;
        this.deps.log('info', `upstream "${this.name}" changed its ${what}; relisted`);
        await this.deps.onCatalog(this);
      },
      (error: unknown) => this.deps.log('warn', `upstream "${this.name}": relisting ${what} failed: ${(error as Error)?.message ?? String(error)}`),
    );
  }

  /** The connection ended without Warden closing it: the upstream crashed or went away. */
  private lost(client: Client): void {
    if (this.closing || this.client !== client) return;
    this.client = undefined;
    this.stdioPid = undefined;
    this.stdioIn = undefined;
    this.setState('down', 'the connection closed (the server exited or dropped it)');
    this.deps.log('error', `upstream "${this.name}" connection lost; reconnecting`);
    if (Date.now() - this.connectedAt > STABLE_MS) this.backoffMs = FIRST_BACKOFF_MS;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closing || this.retryTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closing || this.state === 'ready') return;
      this.restarts++;
      this.connect().catch(() => undefined); // open() logs, sets the state and schedules the next try
    }, delay);
    this.retryTimer.unref();
  }
}

/**
 * The child's standard input the SDK's stdio transport writes each message to (not public in the
 * SDK: undefined if that changes, and the writes are simply not coalesced).
 */
function stdinOf(transport: StdioClientTransport): Writable | undefined {
  const stdin = (transport as unknown as { _process?: { stdin?: Writable | null } })._process?.stdin;
  return stdin && typeof stdin.cork === 'function' ? stdin : undefined;
}

/** The upstream answered that the session Warden sent is unknown (the request was not processed). */
function sessionLost(error: unknown): boolean {
  if (!(error instanceof StreamableHTTPError)) return false;
  return error.code === 404 || (error.code === 400 && /session/i.test(error.message));
}

/**
 * undici's fetch, sending the active span's `traceparent` when tracing is on (the upstream's
 * spans then nest under Warden's client span of the call); no header and no copy otherwise.
 */
const fetchWithTraceparent: typeof fetch = (url, init) => {
  const traceparent = traceparentFor(undefined);
  if (!traceparent) return undiciFetch(url as never, init as never) as unknown as Promise<Response>;
  const headers = new Headers(init?.headers);
  headers.set('traceparent', traceparent);
  return undiciFetch(url as never, { ...init, headers: Object.fromEntries(headers) } as never) as unknown as Promise<Response>;
};
