import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teardown } from '../helpers/teardown.js';
import { CLI, runWarden, startGateway, type Gateway } from './processes.js';

/**
 * `warden init` as a newcomer meets it, through the BUILT binary: init in an empty folder, then
 * the checklist it prints is pasted into bash (`bash -e`: every command must succeed), exactly as
 * printed — its own `cd`, key and token, the example tool server and `warden serve` in the
 * background on the ports given to init, the calls with curl, the approval over HTTP with the
 * admin token, the dashboard, and the `kill` that stops both. Each numbered step's output is
 * checked. Every process the checklist starts runs in one process group, killed at the end.
 */

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The environment of a newcomer's shell: none of this machine's Warden settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WARDEN_')));
}

let parent: string;
let dir: string;
let port: number;
let toolPort: number;
let printed: string;
let checklist: ChildProcess | undefined;
const steps = new Map<number, string>();

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  parent = mkdtempSync(join(tmpdir(), 'warden-init-e2e-'));
  dir = join(parent, 'my-warden');
  [port, toolPort] = [await freePort(), await freePort()];
  while (toolPort === port) toolPort = await freePort();
}, 30_000);

afterAll(async () => {
  await teardown({
    'the checklist\'s processes': async () => {
      if (checklist?.pid === undefined) return;
      try {
        process.kill(-checklist.pid, 'SIGKILL');
      } catch {
        // the group is gone: `kill %1 %2` stopped everything
      }
    },
  });
});

describe('warden init, then its checklist pasted into a shell', () => {
  it('writes the starter into a new folder and prints the key and token once', async () => {
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'init', 'my-warden', '--port', String(port), '--tool-port', String(toolPort)], { cwd: parent, env: cleanEnv() });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
    expect(run.code, run.stderr).toBe(0);
    printed = run.stdout;
    const key = /API key of agent my-agent:\s+(wk_\S+)/.exec(printed)?.[1];
    const token = /Token of person admin \([^)]*\):\s+(\S+)/.exec(printed)?.[1];
    expect(key).toBeTruthy();
    expect(token).toBeTruthy();
    const config = readFileSync(join(dir, 'warden.yaml'), 'utf8');
    // Only hashes are stored; the printed credentials are in no file of the starter.
    for (const file of ['warden.yaml', 'policies/starter.yaml', 'tools/tool-server.mjs', '.gitignore']) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text).not.toContain(key);
      expect(text).not.toContain(token);
    }
    expect(config).toContain(`port: ${port}`);
    expect(config).toContain(`http://127.0.0.1:${toolPort}/lookup_customer`);
    expect(config).toMatch(/api_key_hash: "sha256:[0-9a-f]{64}"/);
    expect(config).toMatch(/token_hash: "sha256:[0-9a-f]{64}", roles: \[admin, approver, supervisor\]/);
    // The secret: random, private to the owner, never in version control.
    const secret = readFileSync(join(dir, 'secrets/tools_token'), 'utf8').trim();
    expect(secret).toMatch(/^[\w-]{32}$/);
    expect(printed).not.toContain(secret);
    expect(statSync(join(dir, 'secrets/tools_token')).mode & 0o077).toBe(0);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/^secrets\/$/m);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/^warden\.db$/m);
  });

  it('runs every command of the checklist as printed, each step doing what it says', async () => {
    expect(printed, 'init ran').toBeTruthy();
    const block = /\nNext steps[^\n]*\n([\s\S]*?)\nThen:/.exec(printed)?.[1];
    expect(block, printed).toBeTruthy();
    // Each "# N." comment also prints a marker, to tell the steps' outputs apart.
    const script = block!.replace(/^\s*# (\d+)\..*$/gm, (_line, n: string) => `echo "@@step ${n}"`);
    const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
      checklist = spawn('bash', ['-e', '-c', script], { cwd: parent, env: cleanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      checklist.stdout!.on('data', (d) => (text += d));
      checklist.stderr!.on('data', (d) => (text += d));
      checklist.on('exit', (code) => resolve({ code, text }));
    });
    for (const part of output.text.split('@@step ').slice(1)) {
      const [n, ...rest] = part.split('\n');
      steps.set(Number(n), rest.join('\n'));
    }
    expect(output.code, output.text).toBe(0);
    expect([...steps.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    // 2. check and test
    expect(steps.get(2)).toMatch(/^ok: 1 policies, \d+ rules, 1 test suites/m);
    expect(steps.get(2)).toMatch(/^5 passed, 0 failed$/m);
    // 3. both started; Warden is ready
    expect(steps.get(3)).toContain(`example tools: listening on http://127.0.0.1:${toolPort}`);
    expect(steps.get(3)).toMatch(/"status":"ready".* → HTTP 200/);
    // 4. allowed: the tool server's real answer, with the policy's redaction
    const allowed = JSON.parse(steps.get(4)!.split(' → HTTP ')[0]!) as { status: string; result: { customer: Record<string, string> } };
    expect(steps.get(4)).toContain(' → HTTP 200');
    expect(allowed.status).toBe('executed');
    expect(allowed.result.customer).toEqual({ id: 'c-1', name: 'Ada Lovelace', email: '[REDACTED]', plan: 'gold' });
    // 5. denied by the deny rule
    expect(steps.get(5)).toContain(' → HTTP 403');
    expect(steps.get(5)).toContain('"reason":"agents never delete customers; ask a person (policy starter v1, rule agents-never-delete-customers)"');
    // 6. held, then approved over HTTP with the admin token, which executed it
    const approvalId = /^(apr_[\w-]+)$/m.exec(steps.get(6)!)?.[1];
    expect(approvalId, steps.get(6)).toBeTruthy();
    expect(steps.get(6)).toMatch(new RegExp(`"id":"${approvalId}","status":"pending".* → HTTP 200`));
    expect(steps.get(6)).toMatch(/"approval":\{[^]*"status":"executed"[^]*"execution":\{[^]*"status":"executed","result":\{"updated":50\}[^]* → HTTP 200/);
    // 7. the retry gets the stored result; the tool server ran update_record exactly once
    expect(steps.get(7)).toMatch(new RegExp(`"status":"executed","result":\\{"updated":50\\}.*served from approval ${approvalId}.* → HTTP 200`));
    const calls = JSON.parse(/^(\{"calls".*\}) → HTTP 200$/m.exec(steps.get(7)!)![1]!) as { calls: { tool: string; args: unknown }[] };
    expect(calls.calls.map((c) => c.tool)).toEqual(['lookup_customer', 'update_record']);
    // 8. the log, and its verification
    expect(steps.get(8)).toMatch(/^\[\{"seq":.* → HTTP 200$/m);
    expect(steps.get(8)).toMatch(/^ok: \d+ records, chain intact/m);
    // 9. the dashboard is served
    expect(steps.get(9)).toContain(' → HTTP 200');
    // 10. both processes stopped (Warden after writing its log)
    for (const p of [port, toolPort]) {
      for (let i = 0; i < 100 && (await listening(p)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await listening(p), `port ${p} closed after kill %1 %2`).toBe(false);
    }
    expect(readFileSync(join(dir, 'warden.log'), 'utf8')).toContain('SIGTERM, finishing requests and writing the decision log');
  }, 180_000);

  it('refuses to write into a folder that is not empty, unless --force', async () => {
    const before = readFileSync(join(dir, 'warden.yaml'), 'utf8');
    const again = await runWarden(['init', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${dir} is not empty`);
    expect(again.stderr).toContain('nothing was written');
    expect(again.stdout).toBe('');
    expect(readFileSync(join(dir, 'warden.yaml'), 'utf8')).toBe(before);
    const bad = await runWarden(['init', join(parent, 'other'), '--port', '99999']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port must be a port number 1-65535, not "99999"');
    expect(existsSync(join(parent, 'other'))).toBe(false);
  });
});

describe('a tool Warden cannot reach, or whose secret is missing (502)', () => {
  let gateway: Gateway | undefined;
  afterAll(async () => {
    await teardown({ 'warden serve': gateway && (() => gateway!.stop()) });
  });

  it('names the tool and its URL, never the secret', async () => {
    expect(existsSync(join(dir, 'warden.yaml')), 'the starter exists').toBe(true);
    const key = /API key of agent my-agent:\s+(wk_\S+)/.exec(printed)![1]!;
    const secret = readFileSync(join(dir, 'secrets/tools_token'), 'utf8').trim();
    const call = async (requestId: string) => {
      const response = await fetch(`${gateway!.url}/v1/tools/call`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent_id: 'my-agent', request_id: requestId, tool: 'lookup_customer', arguments: { customer_id: 'c-1' } }),
      });
      return { status: response.status, text: await response.text() };
    };
    // The secret's file is gone and no environment variable holds it.
    renameSync(join(dir, 'secrets/tools_token'), join(dir, 'secrets/tools_token.moved'));
    try {
      gateway = await startGateway(join(dir, 'warden.yaml'));
      const unset = await call('unset-secret-1');
      expect(unset.status).toBe(502);
      const reason = JSON.parse(unset.text).decision.reason as string;
      expect(reason).toBe(`the tool failed: tool "lookup_customer": secret "tools_token" is not set (looked in: environment variable WARDEN_SECRET_TOOLS_TOKEN, file ${join(dir, 'secrets/tools_token')})`);
      expect(unset.text).not.toContain(secret);
    } finally {
      renameSync(join(dir, 'secrets/tools_token.moved'), join(dir, 'secrets/tools_token'));
    }

    // The example tool server is not running (the checklist's kill stopped it).
    const down = await call('unreachable-1');
    expect(down.status).toBe(502);
    expect(JSON.parse(down.text).decision.reason).toBe(`the tool failed: tool "lookup_customer" could not be reached at http://127.0.0.1:${toolPort}/lookup_customer (ECONNREFUSED): is its server running?`);
    expect(down.text).not.toContain(secret);
  }, 60_000);
});
