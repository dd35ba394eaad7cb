/**
 * `warden serve --workers N`: N processes on one port, allowed only where they can share their
 * state (Postgres + Redis), refused with the reason on SQLite. Real processes, the built CLI.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startToolServer, type ToolServer } from '../../examples/tools/tool-server.mjs';
import { teardown } from '../helpers/teardown.js';
import { CLI, deleteKeys, dropSchema, freePort, randomName, runCli, SHARED_POSTGRES, SHARED_REDIS, waitFor, writeClusterConfig } from '../scale/cluster.js';

const TOOLS_TOKEN = 'workers-tools-token-5e1c0b7a9d';
let tools: ToolServer;
const schema = randomName();
const prefix = `${randomName()}:`;

beforeAll(async () => {
  tools = await startToolServer({ token: TOOLS_TOKEN });
});
afterAll(() =>
  teardown({
    'drop schema': () => dropSchema(SHARED_POSTGRES, schema),
    'delete keys': () => deleteKeys(SHARED_REDIS, prefix),
    'tool server': () => tools.close(),
  }),
);

it('refuses several workers on SQLite, saying why, and a worker count that is not one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-workers-'));
  const { file } = writeClusterConfig(dir, tools.url, { storage: 'sqlite:./warden.db', approvers: 1, loadAgents: 1 });
  const refused = await runCli(['serve', '--config', file, '--port', '0', '--workers', '2']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/--workers needs storage: postgres:\/\/… and redis:/);
  expect(refused.stderr).toMatch(/each allow the full rate limit and accept a request id another worker has seen/);
  const bad = await runCli(['serve', '--config', file, '--workers', 'many']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--workers must be 1-64 or auto, not "many"/);
});

it('serves one port from two workers on Postgres + Redis, each a replica, and stops them all on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-workers-'));
  const { file, credentials } = writeClusterConfig(dir, tools.url, {
    storage: `${SHARED_POSTGRES}?schema=${schema}`,
    redis: { url: SHARED_REDIS, prefix },
    approvers: 1,
    loadAgents: 1,
  });
  writeFileSync(join(dir, 'secrets', 'tools_token'), TOOLS_TOKEN);
  const port = await freePort();
  const { WARDEN_URL: _u, WARDEN_TOKEN: _t, ...env } = process.env;
  const primary = spawn(process.execPath, [CLI, 'serve', '--config', file, '--host', '127.0.0.1', '--port', String(port), '--workers', '2', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  primary.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  primary.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
  try {
    // Both workers announce themselves in Redis; /readyz on the one port lists them.
    const replicas = await waitFor(
      'two workers listed by /readyz',
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        const body = (await r.json()) as { replicas?: Array<{ id: string; policy_bundle: string; differs: boolean }> };
        return r.status === 200 && body.replicas?.length === 2 ? body.replicas : undefined;
      },
      60_000,
      250,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${output.slice(-3000)}`);
    });
    expect(new Set(replicas.map((r) => r.id)).size).toBe(2);
    expect(replicas.every((r) => !r.differs)).toBe(true);
    // The port answers calls (whichever worker takes the connection), on one shared log.
    const call = await fetch(`http://127.0.0.1:${port}/v1/tools/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credentials.keys['support-agent']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'support-agent', request_id: randomName('w-'), tool: 'search_knowledge_base', arguments: { query: 'refund policy' } }),
    });
    expect(call.status).toBe(200);
    expect(output).toMatch(/starting 2 workers on one port/);

    // A worker killed with -9 is replaced; the new one joins the replicas.
    const victim = Number(/-(\d+)-[0-9a-f]+$/.exec(replicas[0]!.id)?.[1]);
    expect(Number.isInteger(victim)).toBe(true);
    process.kill(victim, 'SIGKILL');
    await waitFor('the replacement worker', async () => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { replicas?: Array<{ id: string }> };
      return body.replicas?.some((r) => !replicas.some((old) => old.id === r.id)) ? true : undefined;
    }, 60_000, 250);
    expect(output).toMatch(new RegExp(`worker ${victim} ended \\(SIGKILL\\); starting another`));
  } finally {
    primary.kill('SIGTERM');
    const timer = setTimeout(() => primary.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, output.slice(-3000)).toBe(0);
  }
  expect(output).toMatch(/SIGTERM, stopping 2 workers/);
}, 120_000);
