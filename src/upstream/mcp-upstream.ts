import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
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
import type { SecretResolver } from './secrets.js';

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
  catalog: UpstreamCatalog = { tools: [], resources: [], prompts: [] };

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

  async callTool(name: string, args: Record<string, unknown>, options: RequestOptions = {}): Promise<CallToolResult> {
    return this.inSession(async (client) => (await client.callTool({ name, arguments: args }, undefined, this.requestOptions(options))) as CallToolResult);
  }

  async readResource(uri: string, options: RequestOptions = {}): Promise<ReadResourceResult> {
    return this.inSession((client) => client.readResource({ uri }, this.requestOptions(options)));
  }

  async getPrompt(name: string, args: Record<string, string>, options: RequestOptions = {}): Promise<GetPromptResult> {
    return this.inSession((client) => client.getPrompt({ name, arguments: args }, this.requestOptions(options)));
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

  private requestOptions(options: RequestOptions): RequestOptions {
    return { timeout: this.timeoutMs, resetTimeoutOnProgress: true, maxTotalTimeout: this.timeoutMs * 10, ...options };
  }

  /**
   * Runs a request in the upstream's session. An HTTP upstream that restarted no longer knows the
   * session id Warden holds and refuses every request (404, or 400 "No valid session ID" from
   * servers built on the SDK's examples); nothing was processed, so Warden opens a new session and
   * retries the request once — before, every call failed until Warden itself restarted.
   */
  private async inSession<T>(request: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.ready();
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
    const client = new Client({ name: 'warden-gateway', version: '0.1.0' }, { capabilities: {} });
    try {
      const transport = await this.transport();
      client.onclose = () => this.lost(client);
      client.onerror = (error) => this.deps.log('warn', `upstream "${this.name}": ${error.message}`);
      // The handshake is a request like any other: an upstream that never answers initialize is
      // down after its timeout, not after the SDK's 60 s default (it held start-up for a minute).
      await client.connect(transport, { timeout: this.timeoutMs });
      this.stdioPid = transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
      this.client = client;
      this.connectedAt = Date.now();
      const caps = client.getServerCapabilities() ?? {};
      if (caps.tools?.listChanged) client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.relist('tools'));
      if (caps.resources?.listChanged) client.setNotificationHandler(ResourceListChangedNotificationSchema, () => this.relist('resources'));
      if (caps.prompts?.listChanged) client.setNotificationHandler(PromptListChangedNotificationSchema, () => this.relist('prompts'));
      this.serverName = client.getServerVersion()?.name;
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
      for (const [key, value] of Object.entries(stdio.env)) env[key] = await this.deps.secrets.interpolate(value);
      const transport = new StdioClientTransport({
        command: stdio.command,
        args: stdio.args,
        env,
        cwd: stdio.cwd ? resolveFrom(this.deps.baseDir, stdio.cwd) : this.deps.baseDir,
        stderr: 'pipe',
      });
      // The server's own diagnostics: kept out of Warden's stdout (which may be an MCP stream).
      transport.stderr?.on('data', (chunk: Buffer) => this.deps.log('info', `upstream "${this.name}" stderr: ${chunk.toString('utf8').trimEnd().slice(0, 2000)}`));
      return transport;
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(http!.headers)) headers[key] = await this.deps.secrets.interpolate(value);
    // undici's own fetch rather than Node 20's global one: measured in bench/mcp, the global fetch
    // keeps an abort listener per request on the transport's shared signal and scans them all on
    // every request (~180 µs per call after a few thousand calls).
    return new StreamableHTTPClientTransport(new URL(http!.url), { requestInit: { headers }, fetch: fetchWithTraceparent });
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
    const [tools, resources, prompts] = await Promise.all([
      caps.tools ? pages(async (cursor) => client.listTools(cursor ? { cursor } : {}, options).then((r) => ({ items: r.tools, nextCursor: r.nextCursor }))) : [],
      caps.resources ? pages(async (cursor) => client.listResources(cursor ? { cursor } : {}, options).then((r) => ({ items: r.resources, nextCursor: r.nextCursor }))) : [],
      caps.prompts ? pages(async (cursor) => client.listPrompts(cursor ? { cursor } : {}, options).then((r) => ({ items: r.prompts, nextCursor: r.nextCursor }))) : [],
    ]);
    return { tools, resources, prompts };
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
