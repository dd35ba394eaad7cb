import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from '../../src/auth/credentials.js';

/** Values that must never leave Warden in telemetry: planted where an attacker would look. */
export const SECRETS = {
  /** An argument value shaped like a live API key. */
  argument: `sk_live_${randomBytes(12).toString('hex')}PLANTED`,
  /** The HTTP tool's bearer token (a `${secret:…}` resolved at the call). */
  toolToken: `tool-token-${randomBytes(12).toString('hex')}`,
  /** The collector's API key (a `${secret:…}` in telemetry.otlp.headers). */
  otlpToken: `otlp-token-${randomBytes(12).toString('hex')}`,
};

/** An HTTP tool service on 127.0.0.1 that records the headers of every call it gets. */
export interface ToolService {
  url: string;
  calls: Array<{ path: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export async function startToolService(): Promise<ToolService> {
  const calls: ToolService['calls'] = [];
  const server = createServer(async (req, res) => {
    for await (const _ of req) void _;
    calls.push({ path: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Setup {
  dir: string;
  file: string;
  /** The agent's API key. */
  key: string;
}

/**
 * A config folder: one agent (tele-agent, API key), an HTTP tool `echo` it may call, a tool
 * `wipe_disk` no rule allows (denied by default), secrets in files, and the `telemetry:` block given.
 */
export function writeSetup(toolsUrl: string, telemetry: string): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'warden-telemetry-'));
  mkdirSync(join(dir, 'policies'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'tool_token'), SECRETS.toolToken);
  writeFileSync(join(dir, 'secrets', 'otlp_token'), SECRETS.otlpToken);
  writeFileSync(
    join(dir, 'policies', 'echo.yaml'),
    `id: echo-policy
version: 1
rules:
  - id: support-may-echo
    effect: allow
    tools: [echo]
    when: "'support' in agent.roles"
`,
  );
  const key = generateApiKey();
  const file = join(dir, 'warden.yaml');
  writeFileSync(
    file,
    `storage: sqlite:./warden.db
policies: ./policies
server: { watch_policies: false }
secrets:
  providers:
    - { type: file, dir: ./secrets }
agents:
  - { id: tele-agent, roles: [support], tenant: acme, trust: medium, credentials: [{ key_id: ${key.keyId}, api_key_hash: "${key.hash}" }] }
tools:
  - { name: echo, effect: read, risk: low, http: { url: "${toolsUrl}/tools/echo", headers: { authorization: "Bearer \${secret:tool_token}" } } }
  - { name: wipe_disk, effect: destructive, risk: critical, http: { url: "${toolsUrl}/tools/wipe_disk" } }
${telemetry}
`,
  );
  return { dir, file, key: key.key };
}

/** The `telemetry:` block of these tests: both signals to `endpoint`, metrics exported only at shutdown. */
export const telemetryBlock = (endpoint: string, extra: { timeout?: string; enabled?: boolean } = {}) => `telemetry:
  service_name: warden-under-test
  resource_attributes: { deployment.environment.name: test }
  otlp: { endpoint: "${endpoint}", headers: { authorization: "Bearer \${secret:otlp_token}" }, timeout: ${extra.timeout ?? '5s'} }
  traces: { enabled: ${extra.enabled ?? true}, sample_ratio: 1 }
  metrics: { enabled: ${extra.enabled ?? true}, interval: 1h }
`;

let counter = 0;
export const requestId = () => `tele-${process.pid}-${++counter}`;
