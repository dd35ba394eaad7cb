import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createWarden, type Warden } from '../../src/services/warden.js';

const node = process.execPath;
const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
/** A process that speaks no MCP at all: it starts, reads nothing and never answers `initialize`. */
const SILENT = ['-e', 'setInterval(() => {}, 1 << 30)'];

let warden: Warden | undefined;
let remote: Warden | undefined;
let everythingHttp: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'warden-upstream-life-'));
afterAll(async () => {
  await warden?.close();
  await remote?.close();
  everythingHttp?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** server-everything over Streamable HTTP on `port`; resolves once it listens. */
async function startEverythingHttp(port: number): Promise<ChildProcess> {
  const child = spawn(node, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`server-everything exited with ${code}`)));
  });
  return child;
}

const stopped = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));

describe('an upstream that never answers the handshake', () => {
  it('is down after its own timeout, and start-up goes on with the others (not after the SDK default of 60 s)', async () => {
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', 'p.yaml'), 'id: p\nversion: 1\nrules:\n  - { id: echo, effect: allow, tools: [echo] }\n');
    const text = `storage: sqlite:./warden.db
policies: ./policies
upstreams:
  - name: silent
    stdio: { command: "${node}", args: ${JSON.stringify(SILENT)} }
    timeout: 1s
  - name: everything
    stdio: { command: "${node}", args: ["${EVERYTHING}", "stdio"] }
`;
    // The test's own limit (20 s) is far below the SDK's default handshake wait: without the
    // upstream's timeout on initialize, createWarden would still be waiting when it expires.
    warden = await createWarden({ config: { text, file: join(dir, 'warden.yaml') } });
    const health = Object.fromEntries(warden.mcp.allUpstreams().map((u) => [u.name, u.health()]));
    expect(health.silent).toMatchObject({ state: expect.stringMatching(/^(down|connecting)$/), lastError: expect.stringMatching(/timed out/i) });
    expect(health.everything).toMatchObject({ state: 'ready' });
    expect(warden.mcp.tool('echo')).toBeDefined();
  }, 20_000);
});

describe('an HTTP upstream that restarts', () => {
  it("is called again at once: Warden's stale session is replaced and the call retried once", async () => {
    const port = 40_000 + Math.floor(Math.random() * 2_000);
    everythingHttp = await startEverythingHttp(port);
    const rdir = mkdtempSync(join(tmpdir(), 'warden-upstream-restart-'));
    mkdirSync(join(rdir, 'policies'));
    writeFileSync(join(rdir, 'policies', 'p.yaml'), 'id: p\nversion: 1\nrules:\n  - { id: echo, effect: allow, tools: [echo] }\n');
    const text = `storage: sqlite:./warden.db\npolicies: ./policies\nupstreams:\n  - name: remote\n    http: { url: "http://127.0.0.1:${port}/mcp" }\n    timeout: 5s\n`;
    remote = await createWarden({ config: { text, file: join(rdir, 'warden.yaml') } });
    const upstream = remote.mcp.upstream('remote')!;
    const echo = async (message: string) => ((await upstream.callTool('echo', { message })).content as Array<{ text: string }>)[0]!.text;
    expect(await echo('before')).toBe('Echo: before');

    everythingHttp.kill();
    await stopped(everythingHttp);
    everythingHttp = await startEverythingHttp(port); // same address, new process: it knows no session

    expect(await echo('after the restart')).toBe('Echo: after the restart');
    expect(upstream.health()).toMatchObject({ state: 'ready' });
    expect(await echo('and again')).toBe('Echo: and again');
  }, 60_000);
});

describe('list_changed', () => {
  it('is announced once per change, not at every re-check of a blocked tool', async () => {
    const RUG_PULL = fileURLToPath(new URL('./fixtures/rug-pull-server.mjs', import.meta.url));
    const ldir = mkdtempSync(join(tmpdir(), 'warden-list-changed-'));
    mkdirSync(join(ldir, 'policies'));
    writeFileSync(join(ldir, 'policies', 'p.yaml'), 'id: p\nversion: 1\nrules:\n  - { id: all, effect: allow, tools: ["*"] }\n');
    const text = `storage: sqlite:./warden.db\npolicies: ./policies\nupstreams:\n  - name: weather\n    stdio: { command: "${node}", args: ["${RUG_PULL}"] }\n`;
    const w = await createWarden({ config: { text, file: join(ldir, 'warden.yaml') } });
    try {
      // get_news is poisoned from the start: blocked, so the catalog keeps re-checking its pin.
      expect(w.mcp.tool('get_news')?.blocked).toBeTruthy();
      let announced = 0;
      w.mcp.onChange(() => announced++);
      for (let i = 0; i < 3; i++) await w.mcp.refresh(); // what each re-check does
      expect(announced).toBe(0);

      await w.mcp.upstream('weather')!.callTool('change_weather_tool', {}); // a real change upstream
      await vi.waitFor(() => expect(announced).toBe(1), { timeout: 10_000 });
      expect(w.mcp.tool('get_weather')?.blocked).toMatch(/changed since it was pinned/);
      for (let i = 0; i < 3; i++) await w.mcp.refresh();
      expect(announced).toBe(1);
    } finally {
      await w.close();
      rmSync(ldir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('pins of upstream tools', () => {
  const FLIP = fileURLToPath(new URL('./fixtures/annotation-flip-server.mjs', import.meta.url));
  const setup = () => {
    const pdir = mkdtempSync(join(tmpdir(), 'warden-pins-'));
    mkdirSync(join(pdir, 'policies'));
    writeFileSync(join(pdir, 'policies', 'p.yaml'), 'id: p\nversion: 1\nrules:\n  - { id: reads, effect: allow, tools: ["*"], when: "tool.effect == \'read\'" }\n');
    const config = (serverName = 'records') => ({
      text: `storage: sqlite:./warden.db\npolicies: ./policies\nagents: [{ id: agent, tenant: t }]\nupstreams:\n  - name: records\n    stdio: { command: "${node}", args: ["${FLIP}"], env: { SERVER_NAME: "${serverName}" } }\n`,
      file: join(pdir, 'warden.yaml'),
    });
    return { pdir, config };
  };

  it('cover the annotations: a destructive tool re-labelled read-only is blocked, with an incident naming the change', async () => {
    const { pdir, config } = setup();
    const w = await createWarden({ config: config() });
    try {
      expect(w.tools.get('purge_records')?.entry).toMatchObject({ effect: 'destructive', risk: 'high' });
      expect(w.mcp.tool('purge_records')?.blocked).toBeUndefined();
      await w.mcp.upstream('records')!.callTool('relabel_purge', {});
      await vi.waitFor(() => expect(w.mcp.tool('purge_records')?.blocked).toMatch(/annotations \(.*destructiveHint: true.* → readOnlyHint: true/), { timeout: 10_000 });
      // Now labelled a read, it would pass the read-only rule: it must not run.
      const call = await w.call({ agentId: 'agent', tenant: 't', tool: 'purge_records', args: { customer: 'c-1' } });
      expect(call).toMatchObject({ status: 'denied', decision: { effect: 'deny', reason: expect.stringMatching(/changed since it was pinned/) } });
      const incidents = await w.store.listIncidents({});
      expect(incidents.map((i) => i.type)).toContain('tool_definition_changed');
    } finally {
      await w.close();
      rmSync(pdir, { recursive: true, force: true });
    }
  }, 30_000);

  it('cover the server: the same tool name from another server is blocked; pins written before annotations were covered upgrade silently', async () => {
    const { pdir, config } = setup();
    let w = await createWarden({ config: config() });
    const pin = (await w.store.getToolPin('records/purge_records'))!;
    expect(pin.definition).toMatchObject({ pin: 2, server: 'records', annotations: { destructiveHint: true } });
    // Rewrite the pin as an older Warden wrote it: name, description and input schema only.
    const { name, description, inputSchema } = pin.definition as { name: string; description: string; inputSchema: never };
    const { definitionHash } = await import('../../src/upstream/tool-definition.js');
    await w.store.putToolPin({ tool: pin.tool, firstSeenAt: pin.firstSeenAt, definition: { name, description, inputSchema }, hash: definitionHash({ name, description, inputSchema }) });
    await w.close();

    w = await createWarden({ config: config() });
    try {
      expect(w.mcp.tool('purge_records')?.blocked).toBeUndefined();
      expect((await w.store.getToolPin('records/purge_records'))!.definition).toMatchObject({ pin: 2, annotations: { destructiveHint: true } });
    } finally {
      await w.close();
    }
    w = await createWarden({ config: config('impostor') });
    try {
      expect(w.mcp.tool('purge_records')?.blocked).toMatch(/server \(records → impostor\)/);
    } finally {
      await w.close();
      rmSync(pdir, { recursive: true, force: true });
    }
  }, 45_000);
});

describe('exposed tool names', () => {
  it('never put two upstreams behind one name: a bare name equal to a prefixed one is prefixed too', async () => {
    const NAMED = fileURLToPath(new URL('./fixtures/named-tool-server.mjs', import.meta.url));
    const ndir = mkdtempSync(join(tmpdir(), 'warden-names-'));
    mkdirSync(join(ndir, 'policies'));
    writeFileSync(join(ndir, 'policies', 'p.yaml'), 'id: p\nversion: 1\nrules:\n  - { id: echo, effect: allow, tools: ["everything.echo"] }\n');
    // `plugins` (listed after) offers a tool it calls "everything.echo": once it took that name
    // over from server-everything's prefixed echo, and the rule above governed it.
    const text = `storage: sqlite:./warden.db
policies: ./policies
agents: [{ id: agent, tenant: t }]
upstreams:
  - name: everything
    stdio: { command: "${node}", args: ["${EVERYTHING}", "stdio"] }
    prefix: true
  - name: plugins
    stdio: { command: "${node}", args: ["${NAMED}"], env: { TOOL_NAME: everything.echo } }
  - name: other
    stdio: { command: "${node}", args: ["${NAMED}"], env: { TOOL_NAME: plugins.everything.echo } }
`;
    const logs: string[] = [];
    const w = await createWarden({ config: { text, file: join(ndir, 'warden.yaml') }, log: (level, message) => void logs.push(`${level}: ${message}`) });
    try {
      const names = w.mcp.listTools().map((t) => t.name).filter((n) => n.endsWith('echo')).sort();
      expect(names).toEqual(['everything.echo', 'plugins.everything.echo']);
      // `other` names its tool as plugins' is now exposed: the first upstream keeps the name, and the log says so.
      expect(logs).toContain('warn: upstream "other" offers "plugins.everything.echo", which upstream "plugins" exposes already; it is not exposed');
      expect(w.mcp.tool('everything.echo')).toMatchObject({ upstream: 'everything', original: 'echo' });
      expect(w.mcp.tool('plugins.everything.echo')).toMatchObject({ upstream: 'plugins', original: 'everything.echo' });
      const result = await w.call({ agentId: 'agent', tenant: 't', tool: 'everything.echo', args: { message: 'hi' } });
      expect(result).toMatchObject({ status: 'executed' });
      expect(JSON.stringify(result.result)).toContain('Echo: hi');
    } finally {
      await w.close();
      rmSync(ndir, { recursive: true, force: true });
    }
  }, 45_000);

  it('do not depend on which upstreams are up: a collision seen once keeps both prefixed', async () => {
    const FLIP = fileURLToPath(new URL('./fixtures/annotation-flip-server.mjs', import.meta.url));
    const ndir = mkdtempSync(join(tmpdir(), 'warden-names-'));
    mkdirSync(join(ndir, 'policies'));
    writeFileSync(join(ndir, 'policies', 'p.yaml'), 'id: p\nversion: 1\nrules:\n  - { id: deny-b, effect: deny, tools: ["b.purge_records"] }\n');
    const config = (bArgs: string[]) => ({
      text: `storage: sqlite:./warden.db\npolicies: ./policies\nupstreams:\n  - name: a\n    stdio: { command: "${node}", args: ["${FLIP}"] }\n  - name: b\n    stdio: { command: "${node}", args: ${JSON.stringify(bArgs)} }\n    timeout: 15s\n`,
      file: join(ndir, 'warden.yaml'),
    });
    let w = await createWarden({ config: config([FLIP]) });
    try {
      expect(w.mcp.listTools().map((t) => t.name).filter((n) => n.endsWith('purge_records')).sort()).toEqual(['a.purge_records', 'b.purge_records']);
    } finally {
      await w.close();
    }
    // b is down at the next start: a's tool keeps its name, and no bare name appears.
    w = await createWarden({ config: config([join(ndir, 'no-such-server.mjs')]) });
    try {
      expect(w.mcp.upstream('b')!.health().state).not.toBe('ready');
      const names = w.mcp.listTools().map((t) => t.name);
      expect(names).toContain('a.purge_records');
      expect(names).not.toContain('purge_records');
    } finally {
      await w.close();
      rmSync(ndir, { recursive: true, force: true });
    }
  }, 45_000);
});
