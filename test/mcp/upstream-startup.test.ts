import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateApiKey, sha256 } from '../../src/auth/credentials.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';

/**
 * Start-up with upstreams that are not all there (issue 18, item 4 and the lifecycle list): one
 * never answers the handshake, one answers only once the test lets it (its first attempts time
 * out; Warden retries it in the background).
 */
const node = process.execPath;
const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const LATE = fileURLToPath(new URL('./fixtures/late-server.mjs', import.meta.url));
const SILENT = ['-e', 'setInterval(() => {}, 1 << 30)'];
const VIEWER = 'viewer-token-0123456789';

let dir: string;
let server: RunningServer;
let client: Client;
let listChanged = 0;
/** The silent upstream's state when Warden started serving. */
let silentAtStart: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-startup-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'p.yaml'), 'id: p\nversion: 1\nrules:\n  - { id: all, effect: allow, tools: ["*"] }\n');
  const k = generateApiKey();
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
server: { watch_policies: false }
humans: { tokens: [{ id: vic, token_hash: "${sha256(VIEWER)}", roles: [viewer] }] }
agents:
  - { id: agent, tenant: t, trust: medium, credentials: [{ key_id: ${k.keyId}, api_key_hash: "${k.hash}" }] }
upstreams:
  - name: everything
    stdio: { command: "${node}", args: ["${EVERYTHING}", "stdio"] }
  - name: silent
    stdio: { command: "${node}", args: ${JSON.stringify(SILENT)} }
    timeout: 4s
    prefix: true
  - name: late
    stdio: { command: "${node}", args: ["${LATE}"], env: { GO_FILE: "${join(dir, 'go')}" } }
    timeout: 4s
`,
  );
  server = await serve(join(dir, 'warden.yaml'), { port: 0, host: '127.0.0.1', logger: false });
  silentAtStart = server.warden.mcp.upstream('silent')!.health().state;
  client = new Client({ name: 'agent', version: '1.0.0' });
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => void listChanged++);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${k.key}` } } }));
}, 30_000);

afterAll(async () => {
  await client?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string, token?: string) => {
  const response = await fetch(`${server.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, json: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary API bodies
};

describe('a gateway whose upstreams are not all up at start', () => {
  it('serves and answers initialize with what is up, whatever a silent upstream does', async () => {
    // Serving began while the silent upstream's handshake was still running, not after its timeout.
    expect(silentAtStart).toBe('connecting');
    expect(client.getServerVersion()).toBeDefined();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('echo');
    expect(names).not.toContain('late_tool');
  });

  it('says a tool of an upstream that is not connected is unavailable, not unknown', async () => {
    const result = (await client.callTool({ name: 'silent.read_file', arguments: {} }).catch((e: Error) => ({ content: [{ type: 'text', text: e.message }], isError: true }))) as CallToolResult;
    const text = (result.content[0] as { text: string }).text;
    expect(result.isError).toBe(true);
    expect(text).toMatch(/upstream "silent" is unavailable/);
    expect(text).not.toMatch(/unknown tool/);
  });

  it('/readyz and /v1/tools say degraded, with the state of each upstream', async () => {
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.status).toBe('degraded');
    expect(ready.json.checks.upstreams).toMatchObject({ ok: true, degraded: true, detail: expect.stringMatching(/silent is (down|connecting)/) });
    const catalog = await get('/v1/tools', VIEWER);
    expect(catalog.json.status).toBe('degraded');
    expect(catalog.json.upstreams).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'everything', state: 'ready' }), expect.objectContaining({ name: 'silent', state: expect.stringMatching(/^(down|connecting)$/) })]),
    );
  });

  it('announces tools/list_changed when a late upstream arrives, and lists its tools', async () => {
    const before = listChanged;
    writeFileSync(join(dir, 'go'), 'now');
    await vi.waitFor(() => expect(listChanged).toBeGreaterThan(before), { timeout: 25_000, interval: 100 });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('late_tool');
    const result = (await client.callTool({ name: 'late_tool', arguments: {} })) as CallToolResult;
    expect((result.content[0] as { text: string }).text).toBe('arrived');
  }, 30_000);
});
