import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { generateApiKey } from '../../src/auth/credentials.js';
import type { DecisionRecord } from '../../src/store/records.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';
import { startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { teardown } from '../helpers/teardown.js';

/**
 * The AuthZEN PEP tests' world: the real Warden (serve(), Streamable HTTP /mcp) in front of a real
 * MCP server (fixtures/coaz-server.mjs, the official SDK's McpServer over stdio) whose tools
 * declare `x-authzen-mapping`; agents with API keys; a real identity provider for on-behalf-of
 * user tokens (a verified user); and, when asked for, a real AuthZEN PDP listener.
 */

const SERVER = fileURLToPath(new URL('./fixtures/coaz-server.mjs', import.meta.url));

export interface FixtureTool {
  name: string;
  args?: Record<string, 'string' | 'number'>;
  mapping?: unknown;
}

/** What a test PDP was asked: the path, its headers and the AuthZEN request body. */
export interface PdpCall {
  path: string;
  authorization?: string;
  requestId?: string;
  body: Record<string, unknown>;
}

/** How the test PDP answers: a function of the request (per the spec), or a failure. */
export type PdpBehaviour =
  | { kind: 'decide'; decide: (evaluation: Record<string, unknown>) => boolean }
  | { kind: 'raw'; status: number; body: string }
  | { kind: 'silent' };

/**
 * A real AuthZEN PDP on 127.0.0.1: POST /access/v1/evaluation and /access/v1/evaluations answered
 * as the Authorization API 1.0 says (evaluations with the top-level defaults applied per entry),
 * every request recorded. `behaviour` can be swapped between tests.
 */
export class TestPdp {
  readonly calls: PdpCall[] = [];
  behaviour: PdpBehaviour = { kind: 'decide', decide: () => true };
  /** Whether it offers the Access Evaluations API (a PDP that does not answers 404 there). */
  evaluationsApi = true;
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();
  url = '';

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const path = req.url ?? '';
    this.calls.push({ path, body, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), ...(req.headers['x-request-id'] ? { requestId: String(req.headers['x-request-id']) } : {}) });
    const b = this.behaviour;
    if (b.kind === 'silent') {
      this.hanging.add(res);
      return;
    }
    if (b.kind === 'raw') {
      res.writeHead(b.status, { 'content-type': 'application/json' }).end(b.body);
      return;
    }
    const answer = (e: Record<string, unknown>) => ({ decision: b.decide(e), ...(b.decide(e) ? {} : { context: { reason_admin: { '403': `denied by the test PDP for ${JSON.stringify((e.resource as { id?: string })?.id)}` } } }) });
    if (path === '/access/v1/evaluation') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(body)));
    } else if (path === '/access/v1/evaluations' && this.evaluationsApi) {
      const { evaluations, ...defaults } = body as { evaluations: Record<string, unknown>[] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ evaluations: evaluations.map((e) => answer({ ...defaults, ...e })) }));
    } else {
      res.writeHead(404).end();
    }
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A port nothing listens on (listened on, then closed): an unreachable PDP. */
export async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

export interface World {
  dir: string;
  server: RunningServer;
  idp: IdentityProvider;
  keys: Record<string, string>;
  /** What the upstream actually executed, in order. */
  upstreamCalls(): Array<{ tool: string; args: Record<string, unknown> }>;
  /** A client of /mcp as `agent`, optionally for a verified user (a token) or a user it only names. */
  connect(agent: string, options?: { user?: string; claimedUser?: string }): Promise<Client>;
  /** The decision record of an audit id, once the log has written it. */
  record(auditId: string): Promise<DecisionRecord>;
  close(): Promise<void>;
}

export async function startWorld(options: { tools: FixtureTool[]; policy: string; extraConfig?: string; agents?: string[]; files?: Record<string, string> }): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-authzen-pep-'));
  for (const [path, content] of Object.entries(options.files ?? {})) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'pep.yaml'), options.policy);
  writeFileSync(join(dir, 'tools.json'), JSON.stringify(options.tools));
  const callsFile = join(dir, 'calls.log');
  const idp = await startIdentityProvider();
  const keys: Record<string, string> = {};
  const agents = (options.agents ?? ['agent-a', 'agent-b'])
    .map((id) => {
      const k = generateApiKey();
      keys[id] = k.key;
      return `  - { id: ${id}, roles: [support], tenant: acme, trust: medium, credentials: [{ key_id: ${k.keyId}, api_key_hash: "${k.hash}" }] }`;
    })
    .join('\n');
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
server: { watch_policies: false }
guards: { default_policies: false }
incidents: { on_policy_deny: false }
authentication: { user_jwt: { issuer: "${idp.issuer}", audience: warden, agent_claim: azp } }
agents:
${agents}
upstreams:
  - name: crm
    stdio: { command: "${process.execPath}", args: ["${SERVER}", "${join(dir, 'tools.json')}", "${callsFile}"] }
${options.extraConfig ?? ''}
`,
  );
  const server = await serve(join(dir, 'warden.yaml'), { port: 0, host: '127.0.0.1', logger: false });
  const clients: Client[] = [];
  const warden = server.warden;
  const world: World = {
    dir,
    server,
    idp,
    keys,
    upstreamCalls: () =>
      existsSync(callsFile)
        ? readFileSync(callsFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { tool: string; args: Record<string, unknown> })
        : [],
    async connect(agent, o = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${keys[agent]}` };
      if (o.user) headers['x-warden-user-token'] = await idp.token({ azp: agent }).setSubject(o.user).setAudience('warden').setIssuedAt().setExpirationTime('5m').sign(idp.key);
      if (o.claimedUser) headers['x-warden-user'] = o.claimedUser;
      const client = new Client({ name: 'authzen-pep-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers } }));
      clients.push(client);
      return client;
    },
    async record(auditId) {
      for (let i = 0; i < 200; i++) {
        const r = await warden.store.getDecision(auditId);
        if (r) return r;
        await new Promise((res) => setTimeout(res, 10));
      }
      throw new Error(`no decision record ${auditId}`);
    },
    close: () =>
      teardown({
        clients: () => Promise.all(clients.map((c) => c.close().catch(() => undefined))),
        server: () => server.close(),
        idp: () => idp.close(),
      }),
  };
  return world;
}

/** Calls a tool and returns the JSON-RPC error it was refused with, or undefined when it answered. */
export async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<McpError | undefined> {
  try {
    await client.callTool({ name, arguments: args });
    return undefined;
  } catch (error) {
    if (error instanceof McpError) return error;
    throw error;
  }
}

/** The audit id a refused call's JSON-RPC error carries. */
export const auditIdOf = (error: McpError) => (error.data as { decision: { auditId: string } }).decision.auditId;

/** Warden's decision on a call that answered (executed or refused as a tool error). */
export const decisionOf = (result: { _meta?: Record<string, unknown> }) => result._meta?.['warden/decision'] as { effect: string; status: string; reason: string; auditId: string; policy?: string; rule?: string; stage?: string };
