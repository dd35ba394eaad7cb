import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
  type CreateMessageRequest,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { generateApiKey } from '../../src/auth/credentials.js';
import { createWarden } from '../../src/services/warden.js';
import { createGatewayServer } from '../../src/surfaces/mcp/gateway-server.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';

/**
 * The MCP features besides tools, prompts and resource reads pass through Warden's gateway
 * (issue 18, item 7): progress, cancellation, logging, completion, resource templates and
 * subscriptions, the upstream's sampling/elicitation/roots requests (each decided and logged as
 * an action of its own) and the upstream's instructions. The official SDK client talks to the
 * gateway over Streamable HTTP and over stdio (`warden mcp`, the built CLI), in front of the real
 * server-everything and a small SDK server that records cancellations.
 */

const node = process.execPath;
const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const CANCELLABLE = fileURLToPath(new URL('./fixtures/cancellable-server.mjs', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));

const POLICY = `id: passthrough
version: 1
rules:
  - id: tools
    effect: allow
    tools: [echo, trigger-long-running-operation, toggle-simulated-logging, toggle-subscriber-updates, trigger-sampling-request, trigger-elicitation-request, get-roots-list, wait, cancellations]
  - { id: reads, effect: allow, actions: [resource.read], tools: ["resource:everything"] }
  - { id: prompts, effect: allow, actions: [prompt.get], tools: ["prompt:*"] }
  - { id: completions, effect: allow, actions: [completion.complete], tools: ["completion:everything"], when: "args.argument.name != 'name'" }
  - { id: sampling, effect: allow, actions: [sampling.create], tools: ["sampling:everything"], when: "args.maxTokens <= 100" }
  - { id: elicitation, effect: allow, actions: [elicitation.create], tools: ["elicitation:everything"] }
  - { id: roots, effect: allow, actions: [roots.list], tools: ["roots:everything"] }
`;

const dirs: string[] = [];
/** A Warden directory: policies, config with both upstreams, and the agent's key. */
function warden(): { dir: string; config: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-passthrough-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'p.yaml'), POLICY);
  const k = generateApiKey();
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
server: { watch_policies: false }
agents:
  - { id: agent-a, roles: [mcp], tenant: acme, trust: high, credentials: [{ key_id: ${k.keyId}, api_key_hash: "${k.hash}" }] }
mcp: { approval_wait: 0s, stdio_agent: agent-a }
upstreams:
  - name: everything
    stdio: { command: "${node}", args: ["${EVERYTHING}", "stdio"] }
    timeout: 20s
  - name: cancellable
    stdio: { command: "${node}", args: ["${CANCELLABLE}"] }
`,
  );
  return { dir, config: join(dir, 'warden.yaml'), key: k.key };
}

/** A fake LLM (named so): what the agent's client answers to a sampling request. */
const fakeLlm = (request: CreateMessageRequest) => ({
  model: 'fake-llm',
  role: 'assistant' as const,
  content: { type: 'text' as const, text: `fake completion of ${request.params.messages.length} message(s)` },
});

interface Clients {
  /** Declares no client capabilities. */
  plain: Client;
  /** Declares sampling, elicitation and roots, and answers them. */
  asking: Client;
  /** Questions the asking client was sent. */
  asked: string[];
  http?: RunningServer;
}

async function connect(kind: 'http' | 'stdio'): Promise<Clients> {
  const asked: string[] = [];
  const plain = new Client({ name: 'plain', version: '1' });
  const asking = new Client({ name: 'asking', version: '1' }, { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } });
  asking.setRequestHandler(CreateMessageRequestSchema, async (request) => (asked.push('sampling'), fakeLlm(request)));
  asking.setRequestHandler(ElicitRequestSchema, async () => (asked.push('elicitation'), { action: 'accept', content: { name: 'Ada Lovelace', check: true } }));
  asking.setRequestHandler(ListRootsRequestSchema, async () => (asked.push('roots'), { roots: [{ uri: 'file:///work/project', name: 'project' }] }));
  if (kind === 'http') {
    const w = warden();
    const http = await serve(w.config, { port: 0, host: '127.0.0.1', logger: false });
    // Warden serves before slow upstreams are up; the instructions test needs them connected.
    for (let i = 0; i < 200 && !http.warden.mcp.allUpstreams().every((u) => u.health().state === 'ready'); i++) await new Promise((r) => setTimeout(r, 50));
    const transport = () => new StreamableHTTPClientTransport(new URL(`${http.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${w.key}` } } });
    await plain.connect(transport());
    await asking.connect(transport());
    return { plain, asking, asked, http };
  }
  // One `warden mcp` process per client, each with its own directory (its own SQLite file).
  const stdio = () => new StdioClientTransport({ command: node, args: [CLI, 'mcp', '--config', warden().config], stderr: 'pipe' });
  await Promise.all([plain.connect(stdio()), asking.connect(stdio())]);
  // `warden mcp` serves before slow upstreams are up (they join with list_changed): wait for them.
  await Promise.all([listed(plain, ['trigger-long-running-operation', 'wait']), listed(asking, ['trigger-sampling-request', 'get-roots-list', 'wait'])]);
  return { plain, asking, asked };
}

async function listed(client: Client, names: string[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const tools = new Set((await client.listTools()).tools.map((t) => t.name));
    if (names.every((n) => tools.has(n))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the gateway never listed ${names.join(', ')}`);
}

const text = (result: unknown) => ((result as CallToolResult).content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the capabilities the gateway declares', () => {
  it('leaves out logging, completions and subscriptions when no upstream has them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-passthrough-caps-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', 'p.yaml'), POLICY);
    const text = `storage: sqlite:./warden.db\npolicies: ./policies\nagents:\n  - { id: agent-a, roles: [mcp], tenant: acme }\nupstreams:\n  - name: cancellable\n    stdio: { command: "${node}", args: ["${CANCELLABLE}"] }\n`;
    const w = await createWarden({ config: { text, file: join(dir, 'warden.yaml') } });
    try {
      await w.mcp.upstream('cancellable')!.connect();
      const server = createGatewayServer(w, { agentId: 'agent-a', credentials: { kind: 'trusted' }, sessionId: () => 'caps' });
      const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      const client = new Client({ name: 'caps', version: '1' });
      await client.connect(clientSide);
      const caps = client.getServerCapabilities()!;
      expect(caps.tools).toBeDefined();
      expect(caps.logging).toBeUndefined();
      expect(caps.completions).toBeUndefined();
      expect(caps.resources?.subscribe).toBeUndefined();
      await client.close();
    } finally {
      await w.close();
    }
  }, 30_000);
});

describe.each(['http', 'stdio'] as const)('MCP passthrough through Warden over %s', (kind) => {
  let c: Clients;
  beforeAll(async () => {
    c = await connect(kind);
  }, 60_000);
  afterAll(async () => {
    await c?.plain.close();
    await c?.asking.close();
    await c?.http?.close();
  });

  it("declares logging, completions and subscriptions (server-everything has them), and merges the upstreams' instructions", () => {
    const caps = c.plain.getServerCapabilities()!;
    expect(caps.logging).toBeDefined();
    expect(caps.completions).toBeDefined();
    expect(caps.resources?.subscribe).toBe(true);
    const instructions = c.plain.getInstructions() ?? '';
    expect(instructions).toContain('governed by Warden');
    // Over stdio the client initializes as soon as `warden mcp` serves, perhaps before the
    // upstream answered its handshake: the instructions are checked where the test waits for it.
    if (c.http) expect(instructions).toMatch(/## everything\n\S/);
  });

  it("relays the upstream's progress under the client's own token", async () => {
    const progress: Progress[] = [];
    const result = await c.plain.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, {
      onprogress: (p) => progress.push(p),
      resetTimeoutOnProgress: true,
    });
    expect(text(result)).toContain('Long running operation completed');
    // The last step's notification comes right before the result: the SDK client handles
    // notifications a microtask after responses, so it may find the call already answered and drop
    // it (at Warden's upstream client as at any client talking to the server directly).
    expect(progress.slice(0, 2).map((p) => [p.progress, p.total])).toEqual([
      [1, 3],
      [2, 3],
    ]);
  });

  it("forwards the client's cancellation to the upstream request", async () => {
    const abort = new AbortController();
    const waiting = c.plain.callTool({ name: 'wait', arguments: {} }, undefined, { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 300));
    abort.abort('the user pressed stop');
    await expect(waiting).rejects.toThrow();
    // The upstream saw its request cancelled (it would otherwise wait 30 s).
    let count = '0';
    for (let i = 0; i < 50 && count === '0'; i++) {
      count = text(await c.plain.callTool({ name: 'cancellations', arguments: {} }));
      if (count === '0') await new Promise((r) => setTimeout(r, 100));
    }
    expect(count).toBe('1');
  });

  it("forwards logging/setLevel and relays the upstream's log messages, filtered by the level", async () => {
    const messages: LoggingMessageNotification['params'][] = [];
    c.plain.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void messages.push(n.params));
    await c.plain.setLoggingLevel('debug');
    await c.plain.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    for (let i = 0; i < 50 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(messages.length).toBeGreaterThan(0);
    expect(messages[0]!.logger).toMatch(/^everything/);
    await c.plain.callTool({ name: 'toggle-simulated-logging', arguments: {} }); // off again
  });

  it("routes completion/complete to the prompt's upstream and to a template's, under policy", async () => {
    const prompt = await c.plain.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'Eng' } });
    expect(prompt.completion.values).toEqual(['Engineering']);
    const templates = (await c.plain.listResourceTemplates()).resourceTemplates;
    const template = templates.find((t) => t.uriTemplate.includes('{resourceId}'))!;
    const completed = await c.plain.complete({ ref: { type: 'ref/resource', uri: template.uriTemplate }, argument: { name: 'resourceId', value: '1' } });
    expect(completed.completion).toBeDefined();
    // The policy allows completing every argument but `name`: a completion is decided like any action.
    await expect(c.plain.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'name', value: 'A' }, context: { arguments: { department: 'Engineering' } } })).rejects.toThrow(
      /completion:everything|not allowed|denied|polic/i,
    );
  });

  it('lists resource templates and reads a URI only a template names', async () => {
    const templates = (await c.plain.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toContain('demo://resource/dynamic/text/{resourceId}');
    const read = await c.plain.readResource({ uri: 'demo://resource/dynamic/text/7' });
    expect(read.contents[0]!.uri).toBe('demo://resource/dynamic/text/7');
  });

  it('subscribes to a resource, relays its updates, and unsubscribes', async () => {
    const uri = (await c.plain.listResources()).resources[0]!.uri;
    const updates: string[] = [];
    c.plain.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await c.plain.subscribeResource({ uri });
    await c.plain.callTool({ name: 'toggle-subscriber-updates', arguments: {} }); // sends one update at once
    for (let i = 0; i < 50 && updates.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(updates).toContain(uri);
    await c.plain.callTool({ name: 'toggle-subscriber-updates', arguments: {} }); // off again
    await c.plain.unsubscribeResource({ uri });
  });

  it("forwards the upstream's sampling request to the calling session, as an action the policy decides", async () => {
    c.asked.length = 0;
    const allowed = await c.asking.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 50 } });
    expect(text(allowed)).toContain('fake completion of 1 message(s)');
    expect(c.asked).toEqual(['sampling']);
    // Over the policy's limit: denied by Warden, the client is never asked.
    const denied = await c.asking.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 500 } });
    expect(text(denied)).not.toContain('fake completion');
    expect(c.asked).toEqual(['sampling']);
    if (c.http) {
      await c.http.warden.audit.flush();
      const records = await c.http.warden.store.queryDecisions({ tool: 'sampling:everything' });
      // Sampling is not a read: its decision and its outcome are two records.
      expect([...new Set(records.map((r) => r.effect))].sort()).toEqual(['allow', 'deny']);
    }
  });

  it('refuses a sampling request for a session whose client cannot sample', async () => {
    const result = await c.plain.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 50 } });
    expect(text(result)).toContain("the agent's client does not support sampling/createMessage");
  });

  it("forwards the upstream's elicitation and roots requests to the calling session", async () => {
    c.asked.length = 0;
    const elicited = await c.asking.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(text(elicited)).toContain('Ada Lovelace');
    const roots = await c.asking.callTool({ name: 'get-roots-list', arguments: {} });
    expect(text(roots)).toContain('file:///work/project');
    expect(c.asked).toEqual(expect.arrayContaining(['elicitation', 'roots']));
  });
});
