/**
 * A `${secret:…}` given to an MCP upstream (in its env here; HTTP upstreams' headers alike) is
 * masked in everything the upstream sends back, as an HTTP tool's echoed secret is: the agent, the
 * decision log and Warden's own log never see it. The adversarial review found it returned to the
 * agent in a result and an error, and kept in two records' result summaries. A real stdio server
 * that leaks the secret in its result, its error, a log notification and its stderr.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/credentials.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';

const LEAKY = fileURLToPath(new URL('./fixtures/echo-secret-server.mjs', import.meta.url));
const SECRET = 'Zq8-upstream-password-4f1c9e';

let dir: string;
let server: RunningServer;
let client: Client;
const logs: string[] = [];
const notified: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-upstream-secrets-'));
  mkdirSync(join(dir, 'policies'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'upstream_pw'), `${SECRET}\n`);
  writeFileSync(join(dir, 'policies', 'p.yaml'), 'id: p\nversion: 1\nrules:\n  - { id: leaky, effect: allow, tools: ["whoami", "boom", "chatty"] }\n');
  const k = generateApiKey();
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
server: { watch_policies: false }
secrets: { providers: [{ type: file, dir: ./secrets }] }
agents:
  - { id: reader, roles: [reader], tenant: acme, trust: medium, credentials: [{ key_id: ${k.keyId}, api_key_hash: "${k.hash}" }] }
upstreams:
  - name: leaky
    stdio: { command: "${process.execPath}", args: ["${LEAKY}"], env: { UPSTREAM_SECRET: "\${secret:upstream_pw}" } }
`,
  );
  server = await serve(join(dir, 'warden.yaml'), { port: 0, host: '127.0.0.1', logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } } });
  client = new Client({ name: 'reader', version: '1.0.0' });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void notified.push(JSON.stringify(n.params)));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${k.key}` } } }));
}, 60_000);

afterAll(async () => {
  await client?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const call = async (name: string) => (await client.callTool({ name, arguments: {} })) as CallToolResult;

it('masks the secret in a tool result, text and structured content alike', async () => {
  const result = await call('whoami');
  expect(result.isError).toBeFalsy();
  expect(JSON.stringify(result)).not.toContain(SECRET);
  expect(JSON.stringify(result.content)).toContain('connected as svc with password [REDACTED:secret]');
  expect(result.structuredContent).toMatchObject({ user: 'svc', password: '[REDACTED:secret]' });
});

it('masks the secret in a tool error', async () => {
  const result = await call('boom');
  expect(result.isError).toBe(true);
  expect(JSON.stringify(result)).not.toContain(SECRET);
  expect(JSON.stringify(result)).toContain('password [REDACTED:secret]');
});

it('masks the secret in a log notification relayed to the client, and in the upstream stderr Warden logs', async () => {
  await client.setLoggingLevel('debug');
  expect((await call('chatty')).isError).toBeFalsy();
  for (let i = 0; i < 50 && !(notified.length && logs.some((l) => l.includes('stderr: debug'))); i++) await new Promise((r) => setTimeout(r, 100));
  expect(notified.join('\n')).toContain('logged in with [REDACTED:secret]');
  expect(notified.join('\n')).not.toContain(SECRET);
  expect(logs.find((l) => l.includes('stderr: debug'))).toContain('password=[REDACTED:secret]');
  expect(logs.join('\n')).not.toContain(SECRET);
});

it('keeps the secret out of the decision log', async () => {
  await server.warden.audit.flush();
  const records = await server.warden.store.queryDecisions({ agentId: 'reader', limit: 1_000 });
  expect(records.length).toBeGreaterThanOrEqual(3);
  expect(JSON.stringify(records)).not.toContain(SECRET);
  expect(JSON.stringify(records)).toContain('[REDACTED:secret]');
});
