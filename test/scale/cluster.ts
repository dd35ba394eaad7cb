/**
 * Several real `warden serve` processes on one Postgres schema and one Redis prefix, a small
 * round-robin HTTP proxy in front (the load balancer), and private Redis / PostgreSQL servers for
 * the failure tests. Nothing here is mocked: every replica is the built CLI
 * (`dist/surfaces/cli/main.js serve`) in its own process, as an operator runs it.
 *
 * Isolation on the machine's shared servers: each cluster has its own schema
 * (`?schema=t_<random>`) and key prefix (`t_<random>:`), dropped and deleted by `close()`.
 * The shared servers are never stopped; failure tests start their own (PrivateRedis,
 * PrivatePostgres) and stop those.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startToolServer, type ToolServer } from '../../examples/tools/tool-server.mjs';
import { generateApiKey, sha256 } from '../../src/auth/credentials.js';

export const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));
export const EXAMPLE_POLICIES = fileURLToPath(new URL('../../examples/policies', import.meta.url));
export const SHARED_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';
export const SHARED_REDIS = 'redis://127.0.0.1:6379';
export const PG_BIN = '/usr/lib/postgresql/15/bin';
const TOOLS_TOKEN = 'scale-tools-token-3b9d0f2a7c4e6a1b';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const randomName = (prefix = 't_') => `${prefix}${randomBytes(6).toString('hex')}`;

/** A port nobody listens on right now (the OS picks it; closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` every `every` ms until it returns a value other than undefined, or throws after `ms` (or as soon as `giveUp` says why). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000, every = 100, giveUp?: () => string | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const why = giveUp?.();
    if (why) throw new Error(`gave up waiting for ${what}: ${why}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(every);
  }
}

/* ------------------------------------------------------------------ HTTP helpers */

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** One JSON request; `body` undefined → no body. Never throws on an HTTP status. */
export async function http<T = Record<string, unknown>>(
  method: string,
  url: string,
  token: string | undefined,
  body?: unknown,
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    /* not JSON: kept as text */
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** The bundle revision a replica reports: /readyz's `policy_bundle` if present, else parsed from its policies check. */
export function bundleOfReadyz(body: Record<string, unknown>): string | undefined {
  for (const key of ['policy_bundle', 'bundle', 'policyBundle']) {
    const v = body[key];
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object' && typeof (v as { revision?: unknown }).revision === 'string') return (v as { revision: string }).revision;
  }
  const detail = (body.checks as { policies?: { detail?: string } } | undefined)?.policies?.detail ?? '';
  return /bundle (sha256:[0-9a-f]{64})/.exec(detail)?.[1];
}

/* ------------------------------------------------------------------ one replica */

export interface Replica {
  /** Index in the cluster (stable across restarts). */
  index: number;
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9: no chance to flush anything. */
  kill9(): Promise<void>;
  /** SIGTERM (finishes requests, writes the decision log), SIGKILL after `ms`. */
  stop(ms?: number): Promise<void>;
  alive(): boolean;
}

/** `node dist/surfaces/cli/main.js serve --config <file> --port <port>` on 127.0.0.1; resolves once it says where it serves. */
export async function startReplica(config: string, index = 0, options: { port?: number; env?: Record<string, string>; logLevel?: string; nodeArgs?: string[] } = {}): Promise<Replica> {
  const { WARDEN_URL: _u, WARDEN_TOKEN: _t, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), CLI, 'serve', '--config', config, '--port', String(options.port ?? 0), '--host', '127.0.0.1', '--log-level', options.logLevel ?? 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, ...options.env } },
  );
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    let found = false;
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
      const m = !found && /serving on (http:\/\/\S+)/.exec(output);
      if (m) {
        found = true;
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    void exited.then(({ code, signal }) => {
      if (!found) reject(new Error(`replica ${index}: warden serve exited (${code ?? signal}) before serving:\n${output.slice(-4000)}`));
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    index,
    url,
    pid: child.pid!,
    child,
    output: () => output,
    exited,
    alive,
    async kill9() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop(ms = 15_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until GET /readyz answers 200; returns its body. */
export function waitReady(url: string, ms = 30_000): Promise<Record<string, unknown>> {
  return waitFor(`${url}/readyz to answer 200`, async () => {
    const r = await http('GET', `${url}/readyz`, undefined, undefined, { timeoutMs: 5_000 });
    return r.status === 200 ? r.body : undefined;
  }, ms, 150);
}

/* ------------------------------------------------------------------ the load balancer */

export interface Proxy {
  url: string;
  /** Requests answered by each backend (by index). */
  served: number[];
  /** Requests the proxy answered itself with 502 (no backend answered). Marked `x-proxy-error: 1`. */
  failed: number;
  close(): Promise<void>;
}

/**
 * A round-robin reverse proxy (node:http), as a load balancer would stand in front of replicas.
 * Request bodies are read whole first (Warden's body limit is 1 MiB), so that a request refused at
 * connect (ECONNREFUSED: a replica that is down; the request never left) can be sent to the next
 * replica; responses are streamed as they come (SSE, MCP streams). A request that reached a
 * replica which then failed (ECONNRESET: killed mid-request) is answered 502 with
 * `x-proxy-error: 1`, never retried: it may have run. Every answer from a replica carries
 * `x-backend: <index>`. `x-backend: <index>` on a request pins it to that replica.
 */
export async function startProxy(backends: () => ReadonlyArray<string | undefined>): Promise<Proxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let next = 0;
  const served: number[] = [];
  const state = { failed: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const list = backends();
      const pinned = req.headers['x-backend'];
      const order: number[] = [];
      if (typeof pinned === 'string') order.push(Number(pinned));
      else for (let k = 0; k < list.length; k++) order.push((next + k) % list.length);
      if (typeof pinned !== 'string') next = (next + 1) % Math.max(1, list.length);
      const tryNext = (attempt: number, lastError?: string): void => {
        const i = order[attempt];
        if (i === undefined) {
          state.failed++;
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json', 'x-proxy-error': '1' });
          res.end(JSON.stringify({ error: 'bad_gateway', message: `no replica answered: ${lastError ?? 'none up'}` }));
          return;
        }
        const base = list[i];
        if (!base) return tryNext(attempt + 1, lastError);
        const target = new URL(base);
        const headers: IncomingHttpHeaders = { ...req.headers, host: target.host, 'content-length': String(body.length) };
        delete headers['x-backend'];
        delete headers['transfer-encoding'];
        const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent }, (up) => {
          served[i] = (served[i] ?? 0) + 1;
          res.writeHead(up.statusCode ?? 502, { ...up.headers, 'x-backend': String(i) });
          res.flushHeaders();
          up.pipe(res);
          up.on('error', () => res.destroy());
          up.on('aborted', () => res.destroy());
        });
        let answered = false;
        upstream.on('response', () => (answered = true));
        upstream.on('error', (e: NodeJS.ErrnoException) => {
          if (answered) return res.destroy();
          if (e.code === 'ECONNREFUSED') return tryNext(attempt + 1, `${base}: ${e.code}`);
          state.failed++;
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json', 'x-proxy-error': '1' });
          res.end(JSON.stringify({ error: 'bad_gateway', message: `${base}: ${e.code ?? e.message}` }));
        });
        res.on('close', () => {
          if (!res.writableFinished) upstream.destroy();
        });
        upstream.end(body);
      };
      tryNext(0);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    get failed() {
      return state.failed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

/* ------------------------------------------------------------------ config */

export interface ClusterConfigOptions {
  /** `storage:` — default: the shared Postgres, schema `schema`. */
  storage: string;
  /** `redis.url`, `redis.prefix`, `redis.command_timeout`; omitted: no redis section (SQLite). */
  redis?: { url: string; prefix: string; commandTimeout?: string };
  /** `postgres:` options as YAML flow, e.g. `{ connect_timeout: 2s }`. */
  postgres?: string;
  /** The tenant rate limit per minute (default 50). */
  tenantRateLimit?: number;
  /** How many approvers (approver-0…) to create (default 100). */
  approvers?: number;
  /** How many load agents (load-0…, each in tenant load-corp-<i>) to create (default 16). */
  loadAgents?: number;
  /** `audit.durable_reads` (default true: every answered call's record is durable first). */
  durableReads?: boolean;
  /** YAML appended at the end. */
  extra?: string;
}

export interface Credentials {
  /** API keys by agent id. */
  keys: Record<string, string>;
  admin: string;
  /** A viewer of tenant acme-corp. */
  viewer: string;
  /** Approvers with the finance_manager role, tenant acme-corp. */
  approvers: string[];
}

/**
 * Writes `<dir>/warden.yaml`: the example policies (copied to `<dir>/policies`, not watched: a
 * reload happens only when asked), a rate limit per tenant, refunds over 100 held for a finance
 * manager, agents with API keys (support-agent, refund-agent of acme-corp; rate-agent of
 * rate-corp; load-<i> each in its own tenant load-corp-<i>), humans with bearer tokens, and every
 * decision durable before it is answered (`audit.durable_reads`).
 */
export function writeClusterConfig(dir: string, toolsUrl: string, o: ClusterConfigOptions): { file: string; credentials: Credentials } {
  cpSync(EXAMPLE_POLICIES, join(dir, 'policies'), { recursive: true });
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  writeFileSync(join(dir, 'secrets', 'tools_token'), TOOLS_TOKEN);
  // One secret for every replica's MCP session ids: a session opened on one goes on on any other.
  writeFileSync(join(dir, 'secrets', 'mcp_sessions'), randomBytes(32).toString('base64url'));
  const keys: Record<string, string> = {};
  const agent = (id: string, roles: string[], tenant: string) => {
    const k = generateApiKey();
    keys[id] = k.key;
    return `  - { id: ${id}, roles: [${roles.join(', ')}], tenant: ${tenant}, trust: medium, credentials: [{ key_id: ${k.keyId}, api_key_hash: "${k.hash}" }] }`;
  };
  const token = () => `tok-${randomBytes(16).toString('hex')}`;
  const admin = token();
  const viewer = token();
  const approvers = Array.from({ length: o.approvers ?? 100 }, token);
  const human = (id: string, roles: string[], t: string, tenant?: string) =>
    `    - { id: ${id}, roles: [${roles.join(', ')}], ${tenant ? `tenant: ${tenant}, ` : ''}token_hash: "${sha256(t)}" }`;
  const tool = (name: string, effect: string, risk: string, extra = '') =>
    `  - { name: ${name}, effect: ${effect}, risk: ${risk}${extra}, http: { url: "${toolsUrl}/tools/${name}", headers: { authorization: "Bearer \${secret:tools_token}" } } }`;
  const lines = [
    `storage: "${o.storage}"`,
    ...(o.postgres ? [`postgres: ${o.postgres}`] : []),
    ...(o.redis ? [`redis: { url: "${o.redis.url}", prefix: "${o.redis.prefix}"${o.redis.commandTimeout ? `, command_timeout: ${o.redis.commandTimeout}` : ''} }`] : []),
    'policies: ./policies',
    'server: { host: 127.0.0.1, port: 0, watch_policies: false }',
    'secrets:',
    '  providers:',
    '    - { type: file, dir: ./secrets }',
    'decision_cache: { ttl: 0s }',
    'mcp: { session_secret: "${secret:mcp_sessions}" }',
    `audit: { durable_reads: ${o.durableReads ?? true} }`,
    'limits:',
    '  rate:',
    `    - { scope: tenant, limit: ${o.tenantRateLimit ?? 50}, window: 1m }`,
    'agents:',
    agent('support-agent', ['support'], 'acme-corp'),
    agent('refund-agent', ['finance'], 'acme-corp'),
    agent('rate-agent', ['support'], 'rate-corp'),
    ...Array.from({ length: o.loadAgents ?? 16 }, (_, i) => agent(`load-${i}`, ['support'], `load-corp-${i}`)),
    'humans:',
    '  tokens:',
    human('ada', ['admin'], admin),
    human('vic', ['viewer'], viewer, 'acme-corp'),
    ...approvers.map((t, i) => human(`approver-${i}`, ['approver', 'finance_manager'], t, 'acme-corp')),
    'tools:',
    tool('read_orders', 'read', 'low'),
    tool('issue_refund', 'write', 'high', ', spend_arg: amount, input_schema: { type: object, required: [order_id, amount], properties: { order_id: { type: string }, amount: { type: number } } }'),
    tool('create_support_ticket', 'write', 'low'),
    tool('search_knowledge_base', 'read', 'low'),
    tool('restart_service', 'destructive', 'high'),
    o.extra ?? '',
  ];
  const file = join(dir, 'warden.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, credentials: { keys, admin, viewer, approvers } };
}

/* ------------------------------------------------------------------ the cluster */

export interface ClusterOptions extends Partial<Omit<ClusterConfigOptions, 'redis'>> {
  replicas: number;
  /** `redis.command_timeout` (default: Warden's). */
  redisCommandTimeout?: string;
  /** Postgres server URL without the schema (default: the shared one). */
  postgresUrl?: string;
  /** Redis URL (default: the shared one). `false`: SQLite storage, no Redis. */
  redisUrl?: string | false;
  logLevel?: string;
}

export interface Cluster {
  dir: string;
  config: string;
  /** Postgres schema and Redis prefix of this cluster. */
  schema: string;
  prefix: string;
  postgresUrl: string;
  redisUrl: string | false;
  tools: ToolServer;
  credentials: Credentials;
  replicas: Replica[];
  proxy: Proxy;
  /** The proxy's URL: what clients use. */
  url: string;
  /** kill -9 replica i (the proxy then skips it). */
  kill9(i: number): Promise<void>;
  /** Starts replica i again (after kill9 or stop) and waits for /readyz. */
  restart(i: number): Promise<Replica>;
  /** Tool-server calls of one tool. */
  toolCalls(tool: string): Array<{ tool: string; args: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** For failure messages: each replica that exited, how, and the end of what it wrote. */
export function deaths(c: { replicas: Replica[] }): string {
  return c.replicas
    .filter((r) => !r.alive())
    .map((r) => `replica ${r.index} (pid ${r.pid}) exited (${r.child.exitCode ?? r.child.signalCode}); its last output:\n${r.output().slice(-3000)}`)
    .join('\n\n');
}

/** Runs `f`; if it throws while a replica has died, the error says which and what it printed. */
export async function withDeaths<T>(c: { replicas: Replica[] }, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const d = deaths(c);
    if (d && e instanceof Error) e.message = `${e.message}\n\n${d}`;
    throw e;
  }
}

/** Drops a schema on a Postgres server (CASCADE). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '')}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Deletes every key under a prefix (SCAN, never KEYS). Returns how many. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3_000 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Keys under a prefix (for checks), at most `max`. */
export async function listKeys(url: string, prefix: string, max = 10_000): Promise<string[]> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3_000 });
  await redis.connect();
  const out: string[] = [];
  try {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      out.push(...keys);
    } while (cursor !== '0' && out.length < max);
  } finally {
    redis.disconnect();
  }
  return out;
}

/**
 * N replicas of `warden serve` on one config (Postgres schema + Redis prefix of their own, or a
 * SQLite file with `redisUrl: false`), each waited for on /readyz, the example tool service, and
 * the round-robin proxy in front.
 */
export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-scale-'));
  const schema = randomName('t_');
  const prefix = `${schema}:`;
  const postgresUrl = o.postgresUrl ?? SHARED_POSTGRES;
  const redisUrl = o.redisUrl === undefined ? SHARED_REDIS : o.redisUrl;
  const tools = await startToolServer({ token: TOOLS_TOKEN });
  const storage = o.storage ?? (redisUrl === false ? 'sqlite:./warden.db' : `${postgresUrl}?schema=${schema}`);
  const { file, credentials } = writeClusterConfig(dir, tools.url, {
    ...o,
    storage,
    redis: redisUrl === false ? undefined : { url: redisUrl, prefix, commandTimeout: o.redisCommandTimeout },
  });
  const replicas: Replica[] = [];
  const urls: Array<string | undefined> = [];
  /** Stops everything, drops the schema, deletes the keys; every step runs, failures are reported together. */
  const cleanups = async () => {
    const failures: string[] = [];
    const step = async (name: string, f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
      }
    };
    await step('stop replicas', () => Promise.all(replicas.map((r) => r.stop())));
    await step('close the tool service', () => tools.close());
    if (redisUrl !== false) {
      await step(`drop schema ${schema}`, () => dropSchema(postgresUrl, schema));
      await step(`delete keys ${prefix}*`, () => deleteKeys(redisUrl, prefix));
    }
    if (failures.length) throw new Error(`cluster cleanup failed — ${failures.join('; ')}`);
  };
  try {
    // One after the other: the first runs the migrations (the others would wait on its lock anyway).
    for (let i = 0; i < o.replicas; i++) {
      const r = await startReplica(file, i, { logLevel: o.logLevel });
      replicas[i] = r;
      urls[i] = r.url;
      await waitReady(r.url);
    }
  } catch (e) {
    await cleanups().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const proxy = await startProxy(() => urls);
  let closed = false;
  return {
    dir,
    config: file,
    schema,
    prefix,
    postgresUrl,
    redisUrl,
    tools,
    credentials,
    replicas,
    proxy,
    url: proxy.url,
    async kill9(i) {
      urls[i] = undefined;
      await replicas[i]!.kill9();
    },
    async restart(i) {
      urls[i] = undefined;
      await replicas[i]!.stop();
      const r = await startReplica(file, i, { logLevel: o.logLevel });
      replicas[i] = r;
      await waitReady(r.url);
      urls[i] = r.url;
      return r;
    },
    toolCalls: (tool) => tools.calls.filter((c) => c.tool === tool) as Array<{ tool: string; args: Record<string, unknown> }>,
    async close() {
      if (closed) return;
      closed = true;
      await proxy.close();
      try {
        await cleanups();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/* ------------------------------------------------------------------ private servers */

export interface PrivateRedis {
  port: number;
  url: string;
  /** kill -9 the server (its data is gone: no persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  running(): boolean;
  close(): Promise<void>;
}

/** `redis-server --port <free> --save "" --appendonly no`, a child of this process. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes('Ready to accept connections')) resolve();
      };
      c.stdout!.on('data', onData);
      c.stderr!.on('data', onData);
      void exited.then(() => reject(new Error(`redis-server exited:\n${out}`)));
    });
  };
  await start();
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill = async () => {
    if (running()) child!.kill('SIGKILL');
    await exited;
  };
  return { port, url: `redis://127.0.0.1:${port}`, kill, start, running, close: kill };
}

export interface PrivatePostgres {
  port: number;
  /** The server's log file. */
  log: string;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: connections are closed, the server exits. */
  stop(): Promise<void>;
  running(): boolean;
  close(): Promise<void>;
}

async function asPostgres(args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileP('runuser', ['-u', 'postgres', '--', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return `${stdout}${stderr}`;
}

/**
 * A private PostgreSQL 15 cluster: `initdb` in a temp folder owned by postgres, `pg_ctl start` on
 * a free port (socket in that folder too), trust auth. Never the machine's shared server.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-pg-'));
  const uid = Number((await execFileP('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  await asPostgres([`${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const log = join(dir, 'postgres.log');
  let up = false;
  const start = async () => {
    await asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-l', log, '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
    up = true;
  };
  const stop = async () => {
    if (!up) return;
    await asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
    up = false;
  };
  await start();
  return {
    port,
    log,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    running: () => up,
    async close() {
      try {
        await stop();
      } catch {
        await asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The server log of a private Postgres (for failure messages). */
export function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/* ------------------------------------------------------------------ SSE */

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Opens an SSE stream (fetch streaming, as the dashboard reads it) and collects its events.
 * `opened` settles when the response headers arrived.
 */
export function openEventStream(url: string, token: string): { events: SseEvent[]; opened: Promise<number>; waitFor(pred: (e: SseEvent) => boolean, ms: number): Promise<SseEvent>; close(): void } {
  const controller = new AbortController();
  const events: SseEvent[] = [];
  const waiters: Array<{ pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
  const opened = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: controller.signal });
    if (!res.body) return res.status;
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const e: SseEvent = { data: '' };
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) e.id = line.slice(4);
              else if (line.startsWith('event: ')) e.event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length === 0) continue;
            e.data = data.join('\n');
            events.push(e);
            for (const w of waiters.splice(0)) {
              if (w.pred(e)) w.resolve(e);
              else waiters.push(w);
            }
          }
        }
      } catch {
        /* aborted */
      }
    })();
    return res.status;
  })();
  return {
    events,
    opened,
    waitFor(pred, ms) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<SseEvent>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${ms} ms (${events.length} events seen)`)), ms);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    close: () => controller.abort(),
  };
}

/* ------------------------------------------------------------------ load */

export interface CallLog {
  agent: string;
  requestId: string;
  tool: string;
  /** Date.now() when sent and when answered (or failed). */
  start: number;
  end: number;
  /** HTTP status, or 0 when no HTTP answer came (connection error, timeout). */
  status: number;
  /** The proxy answered itself (no replica did). */
  proxyError: boolean;
  /** The replica that answered (proxy's x-backend). */
  backend?: number;
  auditId?: string;
  approvalId?: string;
  effect?: string;
  reason?: string;
  stage?: string;
  error?: string;
}

let requestCounter = 0;
export const nextRequestId = (tag = 'r') => `${tag}-${process.pid}-${Date.now().toString(36)}-${++requestCounter}`;

/** One tool call; never throws. */
export async function callTool(url: string, key: string, agent: string, tool: string, args: Record<string, unknown>, options: { requestId?: string; timeoutMs?: number; sessionId?: string } = {}): Promise<CallLog> {
  const requestId = options.requestId ?? nextRequestId(agent);
  const start = Date.now();
  try {
    const r = await http<{ audit_id?: string; approval_id?: string; decision?: { effect?: string; reason?: string; stage?: string }; status?: string }>(
      'POST',
      `${url}/v1/tools/call`,
      key,
      { agent_id: agent, request_id: requestId, tool, arguments: args, ...(options.sessionId ? { session_id: options.sessionId } : {}) },
      { timeoutMs: options.timeoutMs ?? 60_000 },
    );
    const backend = r.headers.get('x-backend');
    return {
      agent,
      requestId,
      tool,
      start,
      end: Date.now(),
      status: r.status,
      proxyError: r.headers.get('x-proxy-error') === '1',
      backend: backend === null ? undefined : Number(backend),
      auditId: typeof r.body === 'object' ? r.body.audit_id : undefined,
      approvalId: typeof r.body === 'object' ? r.body.approval_id : undefined,
      effect: r.body?.decision?.effect,
      reason: r.body?.decision?.reason ?? (typeof r.body === 'object' ? ((r.body as { detail?: string; message?: string }).detail ?? (r.body as { message?: string }).message) : String(r.body)),
      stage: r.body?.decision?.stage,
    };
  } catch (e) {
    return { agent, requestId, tool, start, end: Date.now(), status: 0, proxyError: false, error: (e as Error).message };
  }
}

/**
 * Closed-loop load: one worker per agent, each sending its next call when the previous is
 * answered, alternating read_orders (a read) and create_support_ticket (a side effect), until
 * `stop()` or `maxPerAgent` calls each. `calls` grows as answers come.
 */
export function runLoad(url: string, agents: Array<{ id: string; key: string }>, o: { maxPerAgent?: number; pauseMs?: number; timeoutMs?: number } = {}): { calls: CallLog[]; stop(): void; done: Promise<CallLog[]> } {
  const calls: CallLog[] = [];
  let stopped = false;
  const worker = async (a: { id: string; key: string }) => {
    for (let n = 0; !stopped && n < (o.maxPerAgent ?? Number.MAX_SAFE_INTEGER); n++) {
      const read = n % 2 === 0;
      calls.push(await callTool(url, a.key, a.id, read ? 'read_orders' : 'create_support_ticket', read ? { limit: 3 } : { subject: `load ${n}` }, { timeoutMs: o.timeoutMs }));
      if (o.pauseMs) await sleep(o.pauseMs);
    }
  };
  const done = Promise.all(agents.map(worker)).then(() => calls);
  return {
    calls,
    stop: () => {
      stopped = true;
    },
    done,
  };
}

/** Every record of the decision log (GET /v1/audit/export, JSON Lines), as the admin sees it. */
export async function exportLog(url: string, adminToken: string): Promise<Array<{ id: string; seq: number; requestId: string; agentId: string; kind: string; effect: string }>> {
  const res = await fetch(`${url}/v1/audit/export`, { headers: { authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /v1/audit/export answered ${res.status}: ${text.slice(0, 500)}`);
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/** `warden <args>` as a separate process. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { WARDEN_URL: _u, WARDEN_TOKEN: _t, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, ...args], { env: { ...inherited, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message };
  }
}

/**
 * Open-loop calls: one new read_orders every `everyMs`, whether or not the previous ones were
 * answered (a closed loop stalls when calls hang, and then sends nothing while a server is down).
 */
export function openLoop(url: string, agent: { id: string; key: string }, everyMs: number, timeoutMs = 60_000): { calls: CallLog[]; stop(): Promise<CallLog[]> } {
  const calls: CallLog[] = [];
  const pending: Array<Promise<void>> = [];
  const timer = setInterval(() => {
    pending.push(callTool(url, agent.key, agent.id, 'read_orders', { limit: 1 }, { timeoutMs }).then((c) => void calls.push(c)));
  }, everyMs);
  return {
    calls,
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return calls;
    },
  };
}
