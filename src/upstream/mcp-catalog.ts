import type { CompleteRequest, Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { ToolConfig } from '../config/config-schema.js';
import { canonicalJson } from '../model/canonical-json.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import type { Executor } from './executor.js';
import type { ToolRegistry } from './tool-registry.js';
import type { Store } from '../store/store.js';
import { effectOfAnnotations } from './mcp-annotations.js';
import type { McpUpstream } from './mcp-upstream.js';
import { approvedPin, definitionHash, toolDefinition, upgradeLegacyPin, type ToolDefinition } from './tool-definition.js';
import { CLIENT_METHODS, completionEntryName, type ClientMethod } from './upstream-requests.js';

/** An upstream tool as agents see it through the gateway. */
export interface ExposedTool {
  /** The name agents call and policies match (`<upstream>.<tool>` when prefixed). */
  name: string;
  upstream: string;
  /** The name at the upstream. */
  original: string;
  tool: Tool;
  /** Why calls are refused before any policy runs (a changed or unapproved definition). */
  blocked?: string;
}

export interface ExposedPrompt {
  name: string;
  upstream: string;
  original: string;
  prompt: Prompt;
  /** The registry entry calls go through: `prompt:<name>`. */
  registryName: string;
}

export interface ExposedResource {
  uri: string;
  upstream: string;
  resource: Resource;
  /** The registry entry reads go through: `resource:<upstream>`. */
  registryName: string;
}

export interface ExposedResourceTemplate {
  upstream: string;
  template: ResourceTemplate;
  /** The registry entry reads of its URIs go through: `resource:<upstream>`. */
  registryName: string;
}

/** Something every surface and operator must hear about: a tool definition no longer matches its pin. */
export interface PinEvent {
  /** `poisoned`: the description reads like instructions to the model (the injection guard's verdict). */
  kind: 'changed' | 'unapproved' | 'poisoned';
  key: string;
  exposedName: string;
  upstream: string;
  pinnedHash?: string;
  observedHash: string;
  /** What the guard found, for `poisoned`. */
  findings?: string;
}

/** The injection guard's view of a tool description: suspicious or not, and what it found. */
export type DescriptionScanner = (name: string, description: string) => { suspicious: boolean; kinds: string[] };

const PIN_RECHECK_MS = 5_000;
/**
 * How long after start a listing may wait for boot upstreams still in their first attempt (each
 * also bounded by its own timeout); later arrivals announce themselves with `list_changed`. Long
 * enough for a stdio server that starts slowly on a busy machine, short of a client's patience.
 */
const LISTING_WAIT_MS = 20_000;

/** `promise`, or nothing after `ms` (it goes on in the background). */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return;
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export const resourceEntryName = (upstream: string) => `resource:${upstream}`;
export const promptEntryName = (exposed: string) => `prompt:${exposed}`;

/**
 * The gateway's view of every upstream: which name each tool, prompt and resource is exposed as
 * (prefixed by its upstream where names collide, or always when configured), the registry entries
 * and executors the pipeline runs them through, and the pins that catch changed definitions.
 */
export class McpCatalog {
  private tools = new Map<string, ExposedTool>();
  /** The boot upstreams' first connection attempts (connectBoot), and until when a listing waits for them. */
  private startup: Promise<void> = Promise.resolve();
  private startupDeadline = 0;
  /** Exposed names of tools that upstreams not listing now offered before (pins), by upstream. */
  private absentOwners = new Map<string, string>();
  private prompts = new Map<string, ExposedPrompt>();
  private resources = new Map<string, ExposedResource>();
  private templates: Array<ExposedResourceTemplate & { matcher: UriTemplate }> = [];
  /** Registry names this catalog added, so a tool that disappears is removed again. */
  private registered = new Set<string>();
  private listeners = new Set<() => void>();
  private refreshing: Promise<void> = Promise.resolve();
  private recheck?: NodeJS.Timeout;
  /** What sessions were last told they can see. */
  private signature?: string;

  constructor(
    private readonly upstreams: readonly McpUpstream[],
    private readonly deps: {
      registry: ToolRegistry;
      executors: Map<string, Executor>;
      store: Store;
      /** Tools of warden.yaml: an upstream tool with the same name is prefixed. */
      configuredTools: ReadonlySet<string>;
      pinNewTools: 'first_use' | 'approve';
      /** Scans descriptions Warden has not trusted yet (new or changed ones). */
      scanDescription?: DescriptionScanner;
      clock: () => number;
      onPinEvent: (event: PinEvent) => void | Promise<void>;
      log: (level: 'info' | 'warn' | 'error', message: string) => void;
    },
  ) {
    deps.registry.explainAbsent = (name) => this.unavailableReason(name);
  }

  /**
   * Why `name` is not callable when its upstream is the reason: a tool that upstream offered
   * before (its pins), or a name with its prefix, while it is not connected. Undefined otherwise
   * (then the name is simply unknown).
   */
  unavailableReason(name: string): string | undefined {
    const owner = this.upstream(this.absentOwners.get(name) ?? '') ?? this.upstreams.find((u) => name.startsWith(`${u.name}.`));
    if (!owner) return undefined;
    const health = owner.health();
    if (health.state === 'ready') return undefined;
    const why = health.lastError ?? (health.state === 'connecting' ? 'still connecting' : health.state);
    return `upstream "${owner.name}" is unavailable (${why}): "${name}" cannot be called until Warden reconnects to it`;
  }

  /** Called when lists change (a session sends `notifications/*\/list_changed` to its client). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The gateway's upstreams at a glance: `degraded` while any of them is down or still connecting
   * (its tools fail until it is back); a lazy upstream not started yet is not a fault.
   */
  availability(): { status: 'ready' | 'degraded'; unavailable: string[] } {
    const unavailable = this.upstreams
      .map((u) => u.health())
      .filter((h) => h.state === 'down' || h.state === 'connecting')
      .map((h) => `${h.name} is ${h.state}${h.lastError ? ` (${h.lastError})` : ''}`);
    return { status: unavailable.length ? 'degraded' : 'ready', unavailable };
  }

  upstream(name: string): McpUpstream | undefined {
    return this.upstreams.find((u) => u.name === name);
  }

  allUpstreams(): readonly McpUpstream[] {
    return this.upstreams;
  }

  listTools(): ExposedTool[] {
    return [...this.tools.values()];
  }

  listPrompts(): ExposedPrompt[] {
    return [...this.prompts.values()];
  }

  listResources(): ExposedResource[] {
    return [...this.resources.values()];
  }

  listResourceTemplates(): ExposedResourceTemplate[] {
    return this.templates.map(({ matcher: _, ...t }) => t);
  }

  /**
   * The upstream a resource URI belongs to: the one that listed it, else the first whose template
   * matches it, else the only upstream with resources at all; undefined when nothing says.
   */
  resourceUpstream(uri: string): string | undefined {
    const known = this.resources.get(uri)?.upstream ?? this.templates.find((t) => t.matcher.match(uri) !== null)?.upstream;
    if (known) return known;
    const withResources = this.upstreams.filter((u) => u.catalog.resources.length > 0 || u.catalog.resourceTemplates.length > 0);
    return withResources.length === 1 ? withResources[0]!.name : undefined;
  }

  tool(name: string): ExposedTool | undefined {
    return this.tools.get(name);
  }

  prompt(name: string): ExposedPrompt | undefined {
    return this.prompts.get(name);
  }

  resource(uri: string): ExposedResource | undefined {
    return this.resources.get(uri);
  }

  /** Disconnects every upstream (stdio servers are stopped). */
  async close(): Promise<void> {
    clearTimeout(this.recheck);
    this.listeners.clear();
    await Promise.all(this.upstreams.map((u) => u.close()));
  }

  /**
   * Connects the `start: boot` upstreams; resolves when every one is up or down, or after
   * `waitMs`, whichever comes first. Warden then serves with what is up (an MCP client's
   * initialize is answered at once, whatever a silent upstream does); the others join when they
   * answer, and sessions hear `list_changed`. A failed one is retried in the background.
   */
  async connectBoot(waitMs: number, log: (message: string) => void): Promise<void> {
    const boot = this.upstreams.filter((u) => u.config.start === 'boot');
    this.startup = Promise.all(boot.map((u) => u.connect().catch((e: Error) => log(e.message)))).then(() => undefined);
    this.startupDeadline = Date.now() + LISTING_WAIT_MS;
    await within(this.startup, waitMs);
  }

  /**
   * Connects the `start: lazy` upstreams that are not connected yet (the first listing needs them),
   * and lets a listing in the first seconds after start wait for boot upstreams still connecting:
   * a client that lists at once sees them, not an empty list then `list_changed`.
   */
  async connectLazy(): Promise<void> {
    await Promise.all(this.upstreams.filter((u) => u.health().state === 'idle').map((u) => u.connect().catch(() => undefined)));
    // After the first attempts, the exposure they caused (an upstream's listing is rebuilt after it connects).
    await within(this.startup.then(() => this.refreshing), this.startupDeadline - Date.now());
  }

  /** Rebuilds the exposure after an upstream (re)listed; serialised so two relistings never interleave. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.rebuild()).catch(() => undefined);
    return this.refreshing;
  }

  /** Approves the observed definition of a tool (`<upstream>/<tool>`): it becomes the pin. */
  async approve(key: string, by: string): Promise<boolean> {
    const pin = await this.deps.store.getToolPin(key);
    if (!pin?.observedHash) return false;
    await this.deps.store.putToolPin(approvedPin(pin, by, this.deps.clock()));
    await this.refresh();
    return true;
  }

  // ---------------------------------------------------------------------------------------------

  private async rebuild(): Promise<void> {
    const tools = new Map<string, ExposedTool>();
    const prompts = new Map<string, ExposedPrompt>();
    const resources = new Map<string, ExposedResource>();
    const templates: Array<ExposedResourceTemplate & { matcher: UriTemplate }> = [];
    // An upstream that is not listing now (down at start, or lazy) still counts with the tools it
    // offered before (their pins): a name that collided keeps its prefix whichever upstream is up,
    // so a policy on `every.get-tiny-image` never silently stops matching a bare `get-tiny-image`.
    const offeredBefore = await this.pinnedToolNames();
    const toolsOf = (u: McpUpstream) => (u.catalog.tools.length > 0 ? u.catalog.tools : (offeredBefore.get(u.name) ?? []));
    const toolName = exposedNames(this.upstreams, toolsOf, this.deps.configuredTools);
    const promptName = exposedNames(this.upstreams, (u) => u.catalog.prompts);

    const absentOwners = new Map<string, string>();
    for (const upstream of this.upstreams) {
      if (upstream.catalog.tools.length > 0) continue;
      for (const tool of offeredBefore.get(upstream.name) ?? []) absentOwners.set(toolName(upstream, tool.name), upstream.name);
    }
    this.absentOwners = absentOwners;
    // Two upstreams never share an exposed name (a policy on it would govern the other's tool);
    // exposedNames prevents it, and should a name still be taken, the first upstream keeps it.
    const taken = (name: string, upstream: McpUpstream, owner: { upstream: string } | undefined): boolean => {
      if (!owner || owner.upstream === upstream.name) return false;
      this.deps.log('warn', `upstream "${upstream.name}" offers "${name}", which upstream "${owner.upstream}" exposes already; it is not exposed`);
      return true;
    };
    for (const upstream of this.upstreams) {
      const overrides = upstream.config.tools;
      for (const tool of upstream.catalog.tools) {
        if (overrides[tool.name]?.hidden) continue;
        const name = toolName(upstream, tool.name);
        if (taken(name, upstream, tools.get(name))) continue;
        const blocked = await this.checkPin(upstream, tool, name);
        tools.set(name, { name, upstream: upstream.name, original: tool.name, tool, ...(blocked ? { blocked } : {}) });
      }
      for (const prompt of upstream.catalog.prompts) {
        const name = promptName(upstream, prompt.name);
        if (taken(name, upstream, prompts.get(name))) continue;
        prompts.set(name, { name, upstream: upstream.name, original: prompt.name, prompt, registryName: promptEntryName(name) });
      }
      for (const resource of upstream.catalog.resources) {
        // URIs name themselves; two upstreams offering one URI is a configuration mistake, and
        // the first upstream in the config keeps it.
        if (!resources.has(resource.uri)) resources.set(resource.uri, { uri: resource.uri, upstream: upstream.name, resource, registryName: resourceEntryName(upstream.name) });
      }
      for (const template of upstream.catalog.resourceTemplates) {
        try {
          templates.push({ upstream: upstream.name, template, registryName: resourceEntryName(upstream.name), matcher: new UriTemplate(template.uriTemplate) });
        } catch {
          // A template Warden cannot parse cannot route reads: it is not listed.
        }
      }
    }
    this.tools = tools;
    this.prompts = prompts;
    this.resources = resources;
    this.templates = templates;
    this.register();
    // Sessions hear `list_changed` once per change, not at every re-check of a blocked tool's pin
    // (every 5 s, each followed by a re-list and its audit record in every session).
    const signature = exposureSignature(tools, prompts, resources, templates);
    if (signature === this.signature) return this.scheduleRecheck(tools);
    this.signature = signature;
    for (const listener of this.listeners) listener();
    this.scheduleRecheck(tools);
  }

  /** The tool names each upstream was ever seen offering, from the pins (`<upstream>/<tool>`). */
  private async pinnedToolNames(): Promise<Map<string, Array<{ name: string }>>> {
    const names = new Map<string, Array<{ name: string }>>();
    if (this.upstreams.every((u) => u.catalog.tools.length > 0)) return names;
    for (const pin of await this.deps.store.listToolPins()) {
      const slash = pin.tool.indexOf('/');
      const upstream = pin.tool.slice(0, slash);
      names.set(upstream, [...(names.get(upstream) ?? []), { name: pin.tool.slice(slash + 1) }]);
    }
    return names;
  }

  private scheduleRecheck(tools: ReadonlyMap<string, ExposedTool>): void {
    // A blocked tool is unblocked by an approval that may come from another process (the CLI):
    // look at the pins again shortly, for as long as something is blocked.
    if (!this.recheck && [...tools.values()].some((t) => t.blocked)) {
      this.recheck = setTimeout(() => {
        this.recheck = undefined;
        void this.refresh();
      }, PIN_RECHECK_MS);
      this.recheck.unref();
    }
  }

  /**
   * Compares a tool's definition with its pin; returns why it is blocked, if it is. A pin whose
   * observed definition equals its own and was never approved trusts nothing yet (a new tool
   * waiting for review); otherwise `hash` is the trusted definition.
   */
  private async checkPin(upstream: McpUpstream, tool: Tool, exposedName: string): Promise<string | undefined> {
    const key = `${upstream.name}/${tool.name}`;
    const definition = toolDefinition(tool, upstream.serverName);
    const hash = definitionHash(definition);
    let pin = await this.deps.store.getToolPin(key);
    const upgraded = pin && upgradeLegacyPin(pin, definition);
    if (upgraded) await this.deps.store.putToolPin((pin = upgraded));
    const trusted = pin && !(pin.observedHash === pin.hash && !pin.approvedAt) ? pin.hash : undefined;
    if (trusted === hash) {
      // The upstream went back to the trusted definition: nothing to approve any more.
      if (pin!.observedHash) await this.deps.store.putToolPin({ ...pin!, observedHash: undefined, observedAt: undefined, observedDefinition: undefined });
      return undefined;
    }
    // Not trusted: new or changed. The injection guard reads the description first, since tool
    // poisoning hides instructions there; a suspicious one is never pinned on first use.
    const scan = this.deps.scanDescription?.(tool.name, definition.description);
    const approve = `blocked until an admin reviews and approves it: warden tools approve ${key}`;
    let event: PinEvent['kind'] | undefined;
    let reason: string | undefined;
    if (scan?.suspicious) {
      event = 'poisoned';
      reason = `the description of "${exposedName}" reads like instructions to the model (${scan.kinds.join(', ')}); ${approve}`;
    } else if (trusted) {
      event = 'changed';
      reason = `the definition of "${exposedName}" changed since it was pinned (${describeChange(pin!.definition as ToolDefinition | undefined, definition)}); ${approve}`;
    } else if (this.deps.pinNewTools === 'approve') {
      event = 'unapproved';
      reason = `the tool "${key}" is new and this gateway pins tools only after review (mcp.pin_new_tools: approve); ${approve}`;
    }
    const now = this.deps.clock();
    const asJson = definition as unknown as JsonObject;
    if (!reason) {
      await this.deps.store.putToolPin({ tool: key, hash, definition: asJson, firstSeenAt: now });
      return undefined;
    }
    if (pin?.observedHash !== hash) {
      const observed = { observedHash: hash, observedAt: now, observedDefinition: asJson };
      await this.deps.store.putToolPin(pin && trusted ? { ...pin, ...observed } : { tool: key, hash, definition: asJson, firstSeenAt: now, ...observed });
      await this.deps.onPinEvent({ kind: event!, key, exposedName, upstream: upstream.name, ...(trusted ? { pinnedHash: trusted } : {}), observedHash: hash, ...(scan?.suspicious ? { findings: scan.kinds.join(', ') } : {}) });
    }
    return reason;
  }

  /** Puts the exposed tools, prompts and resource readers into the registry with their executors. */
  private register(): void {
    const { registry, executors } = this.deps;
    const next = new Set<string>();
    const add = (config: ToolConfig, server: string, executor: Executor, blocked?: string) => {
      try {
        registry.add(config, { server, ...(blocked ? { blocked } : {}) });
      } catch (error) {
        // A schema Warden cannot compile cannot check arguments: the tool is listed nowhere and refused.
        registry.add({ ...config, input_schema: undefined }, { server, blocked: `${(error as Error).message}; calls are refused` });
      }
      executors.set(config.name, executor);
      next.add(config.name);
    };
    for (const t of this.tools.values()) {
      const upstream = this.upstream(t.upstream)!;
      const override = upstream.config.tools[t.original] ?? {};
      const implied = effectOfAnnotations(t.tool.annotations);
      add(
        {
          name: t.name,
          description: t.tool.description ?? '',
          risk: override.risk ?? implied.risk,
          effect: override.effect ?? implied.effect,
          tags: [...new Set(['mcp', ...upstream.config.tags, ...(override.tags ?? [])])],
          input_schema: t.tool.inputSchema as Record<string, unknown>,
          idempotent: override.idempotent ?? implied.idempotent,
          fail_open: false,
          spend_arg: override.spend_arg,
        },
        t.upstream,
        async ({ args, channel }) => settle(() => upstream.callTool(t.original, args, {}, channel)),
        t.blocked,
      );
    }
    for (const p of this.prompts.values()) {
      const upstream = this.upstream(p.upstream)!;
      const properties: Record<string, unknown> = {};
      for (const a of p.prompt.arguments ?? []) properties[a.name] = { type: 'string', ...(a.description ? { description: a.description } : {}) };
      const required = (p.prompt.arguments ?? []).filter((a) => a.required).map((a) => a.name);
      add(
        {
          name: p.registryName,
          description: p.prompt.description ?? '',
          risk: 'low',
          effect: 'read',
          tags: ['mcp', 'prompt', ...upstream.config.tags],
          input_schema: { type: 'object', properties, required, additionalProperties: false },
          idempotent: true,
          fail_open: false,
        },
        p.upstream,
        async ({ args, channel }) => settle(() => upstream.getPrompt(p.original, args as Record<string, string>, {}, channel)),
      );
    }
    for (const upstream of this.upstreams) {
      this.registerPassthrough(upstream, add);
      if (!upstream.catalog.resources.length && !upstream.catalog.resourceTemplates.length) continue;
      add(
        {
          name: resourceEntryName(upstream.name),
          description: `Reads a resource of the MCP server "${upstream.name}"`,
          risk: 'low',
          effect: 'read',
          tags: ['mcp', 'resource', ...upstream.config.tags],
          input_schema: { type: 'object', properties: { uri: { type: 'string', minLength: 1 } }, required: ['uri'], additionalProperties: false },
          idempotent: true,
          fail_open: false,
        },
        upstream.name,
        async ({ args, channel }) => settle(() => upstream.readResource(String(args.uri), {}, channel)),
      );
    }
    for (const name of this.registered) {
      if (next.has(name)) continue;
      registry.remove(name);
      executors.delete(name);
    }
    this.registered = next;
  }

  /**
   * The entries of the MCP plumbing that carries data: completions (to the upstream) and the
   * upstream's own requests (sampling, elicitation, roots: to the agent's client). Each is an
   * action the pipeline decides and records, like a resource read.
   */
  private registerPassthrough(upstream: McpUpstream, add: (config: ToolConfig, server: string, executor: Executor) => void): void {
    const common = { fail_open: false, tags: ['mcp', ...upstream.config.tags] };
    if (upstream.serverCapabilities?.completions) {
      add(
        {
          ...common,
          name: completionEntryName(upstream.name),
          description: `Completes a prompt or resource-template argument of the MCP server "${upstream.name}"`,
          risk: 'low',
          effect: 'read',
          tags: [...common.tags, 'completion'],
          input_schema: { type: 'object', properties: { ref: { type: 'object' }, argument: { type: 'object' }, context: { type: 'object' } }, required: ['ref', 'argument'] },
          idempotent: true,
        },
        upstream.name,
        async ({ args, channel }) => settle(() => upstream.complete(this.upstreamCompletion(args as unknown as CompleteRequest['params']), channel)),
      );
    }
    for (const [method, { entry, capability }] of Object.entries(CLIENT_METHODS) as Array<[ClientMethod, (typeof CLIENT_METHODS)[ClientMethod]]>) {
      add(
        {
          ...common,
          name: entry(upstream.name),
          description: `The MCP server "${upstream.name}" asks the agent's client: ${method}`,
          // Sampling spends the user's model and elicitation asks the user: neither is a plain read.
          risk: method === 'roots/list' ? 'low' : 'medium',
          effect: method === 'roots/list' ? 'read' : 'write',
          tags: [...common.tags, capability],
          input_schema: { type: 'object' },
          idempotent: method === 'roots/list',
        },
        upstream.name,
        async ({ args, channel }) =>
          channel?.toClient ? settle(() => channel.toClient!(method, args)) : { ok: false, message: `${method} reaches an agent's client only during a gateway call` },
      );
    }
  }

  /** A completion request as its upstream knows it: the prompt under its own name. */
  private upstreamCompletion(params: CompleteRequest['params']): CompleteRequest['params'] {
    if (params.ref.type !== 'ref/prompt') return params;
    const prompt = this.prompts.get(params.ref.name);
    return prompt ? { ...params, ref: { ...params.ref, name: prompt.original } } : params;
  }
}

/** An upstream request as an executor outcome: failures become messages, never exceptions. */
async function settle(run: () => Promise<unknown>): Promise<{ ok: true; result: JsonValue } | { ok: false; message: string }> {
  try {
    return { ok: true, result: (await run()) as JsonValue };
  } catch (error) {
    return { ok: false, message: (error as Error)?.message ?? String(error) };
  }
}

/** Everything a client's lists show: names, definitions, and which tools are blocked and why. */
function exposureSignature(
  tools: ReadonlyMap<string, ExposedTool>,
  prompts: ReadonlyMap<string, ExposedPrompt>,
  resources: ReadonlyMap<string, ExposedResource>,
  templates: readonly ExposedResourceTemplate[],
): string {
  return canonicalJson([
    [...tools.values()].map((t) => [t.name, t.upstream, t.blocked ?? '', t.tool as unknown as JsonValue]),
    [...prompts.values()].map((p) => [p.name, p.upstream, p.prompt as unknown as JsonValue]),
    [...resources.values()].map((r) => [r.uri, r.upstream, r.resource as unknown as JsonValue]),
    templates.map((t) => [t.upstream, t.template as unknown as JsonValue]),
  ]);
}

function describeAnnotations(annotations: JsonObject | undefined): string {
  const hints = Object.entries(annotations ?? {}).filter(([k]) => k.endsWith('Hint')).map(([k, v]) => `${k}: ${String(v)}`);
  return hints.length ? hints.join(', ') : 'none';
}

/**
 * The name each upstream's item is exposed under: its own, or `<upstream>.<name>` when the
 * upstream is prefixed or the name is shared (with another upstream or a `reserved` name). A bare
 * name that equals another item's prefixed one (a tool that calls itself `everything.echo` beside
 * upstream `everything`'s `echo`) takes its upstream's prefix as well.
 */
function exposedNames<T extends { name: string }>(upstreams: readonly McpUpstream[], items: (u: McpUpstream) => readonly T[], reserved: ReadonlySet<string> = new Set()): (u: McpUpstream, name: string) => string {
  const counts = new Map<string, number>();
  for (const name of reserved) counts.set(name, 1);
  // A prefixed upstream's names cannot collide with anyone's.
  for (const u of upstreams) if (!u.config.prefix) for (const item of items(u)) counts.set(item.name, (counts.get(item.name) ?? 0) + 1);
  const first = (u: McpUpstream, name: string) => (u.config.prefix || (counts.get(name) ?? 0) > 1 ? `${u.name}.${name}` : name);
  const prefixed = new Set<string>();
  for (const u of upstreams) {
    for (const item of items(u)) {
      const name = first(u, item.name);
      if (name !== item.name) prefixed.add(name);
    }
  }
  return (u, name) => {
    const exposed = first(u, name);
    return exposed === name && prefixed.has(name) ? `${u.name}.${name}` : exposed;
  };
}

function describeChange(before: ToolDefinition | undefined, after: ToolDefinition): string {
  if (!before) return 'the pinned definition was not kept';
  const parts: string[] = [];
  if (before.name !== after.name) parts.push('name');
  if (before.description !== after.description) parts.push('description');
  const differs = (a: unknown, b: unknown) => canonicalJson((a ?? null) as JsonValue) !== canonicalJson((b ?? null) as JsonValue);
  if (differs(before.inputSchema, after.inputSchema)) parts.push('input schema');
  if (before.pin === after.pin) {
    if (before.title !== after.title) parts.push('title');
    if (differs(before.outputSchema, after.outputSchema)) parts.push('output schema');
    if (differs(before.annotations, after.annotations)) parts.push(`annotations (${describeAnnotations(before.annotations)} → ${describeAnnotations(after.annotations)})`);
    if (before.server !== after.server) parts.push(`server (${before.server ?? 'unnamed'} → ${after.server ?? 'unnamed'})`);
  }
  return parts.length ? `${parts.join(', ')} changed` : 'definition changed';
}
