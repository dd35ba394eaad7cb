import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The built CLI (`npm test` builds first), run as a user would run it. */
const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/policies', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function warden(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const request = {
  tenant: 'acme-corp',
  actor: { agent: { id: 'refund-agent', roles: ['finance'], trust: 'medium' } },
  action: 'tool.call',
  resource: { type: 'tool', id: 'issue_refund' },
  args: { order_id: 'o-1', amount: 250 },
};

describe('warden check', () => {
  it('passes the example policies with exit 0', async () => {
    const run = await warden(['check', EXAMPLES, '--tools', join(EXAMPLES, '..', 'tools.json')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ok: 9 policies, \d+ rules, 6 test suites; bundle sha256:[0-9a-f]{64}$/m);
    // The count is of the user's rules: the built-in guard policies are named on their own line.
    const written = readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))
      .reduce((n, f) => n + ((parse(readFileSync(join(EXAMPLES, f), 'utf8')) as { rules?: unknown[] }).rules?.length ?? 0), 0);
    expect(run.stdout).toContain(`ok: 9 policies, ${written} rules,`);
    expect(run.stdout).toMatch(/^built-in guard policies: /m);
  });

  it('a folder that does not exist is a usage error, exit 2, as the CLI reference says', async () => {
    const run = await warden(['check', '/nonexistent-policies']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no policy folder or file at');
  });

  it('prints every problem as file:line:column with a hint, exit 1', async () => {
    const dir = tempDir({
      'a.yaml': 'id: a\nversion: 1\nrules:\n  - id: r\n    efect: allow\n    effect: allow\n    when: "agnt.id == \'x\'"\n',
      'b.yaml': 'id: a\nversion: 2\nrules: [{id: r, effect: allow, obligations: [{mask: [args.x]}]}]\n',
    });
    const run = await warden(['check', dir]);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines).toContain(`${join(dir, 'a.yaml')}:5:5: error [unknown-field] unknown field "efect" in rules[0]`);
    expect(lines).toContain('    hint: did you mean "effect"?');
    expect(lines).toContain(`${join(dir, 'a.yaml')}:7:12: error [unknown-variable] Unknown variable: agnt`);
    expect(run.stdout).toContain(`${join(dir, 'b.yaml')}:1:5: error [duplicate-id] policy id "a" is already used at`);
    expect(run.stdout).toMatch(/\n3 problems in 2 files\n$/);
  });

  it('reports tool patterns that match nothing in --tools', async () => {
    const dir = tempDir({ 'p.yaml': 'id: p\nversion: 1\nrules: [{id: r, effect: allow, tools: [isue_refund]}]\n' });
    const tools = join(dir, 'tools.json');
    writeFileSync(tools, JSON.stringify({ tools: [{ name: 'issue_refund' }] }));
    const run = await warden(['check', dir, '--tools', tools]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('[unmatched-tool] tool "isue_refund" matches no known tool');
  });

  it('exits 2 on usage errors', async () => {
    expect((await warden(['check'])).code).toBe(2);
    expect((await warden(['check', EXAMPLES, '--tools', '/nonexistent.json'])).code).toBe(2);
    const notList = tempDir({ 'tools.json': '{"x": 1}' });
    const run = await warden(['check', EXAMPLES, '--tools', join(notList, 'tools.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('must be a JSON list of tool names');
    expect((await warden(['frobnicate'])).code).toBe(2);
  });

  it('reports an empty folder as a problem', async () => {
    const empty = await warden(['check', tempDir({})]);
    expect(empty.code).toBe(1);
    expect(empty.stdout).toContain('no policy files (*.yaml) found');
  });
});

describe('warden eval', () => {
  it('prints the decision as JSON, exit 0 whatever the effect', async () => {
    const dir = tempDir({ 'r.json': JSON.stringify(request) });
    const run = await warden(['eval', '--policies', EXAMPLES, '--request', join(dir, 'r.json'), '--json', '--now', '2026-11-02T10:00:00Z']);
    expect(run.code).toBe(0);
    const decision = JSON.parse(run.stdout);
    expect(decision).toMatchObject({ effect: 'require_approval', policy: 'refunds', rule: 'large-refund', policyVersion: '3' });
    expect(decision.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const denied = await warden(['eval', '--policies', EXAMPLES, '--request', '-', '--json'], JSON.stringify({ ...request, actor: { agent: { id: 'x' } } }));
    expect(denied.code).toBe(0);
    expect(JSON.parse(denied.stdout).effect).toBe('deny');
  });

  it('explains each candidate rule in text form', async () => {
    const run = await warden(['eval', '--policies', EXAMPLES, '--request', '-', '--explain'], JSON.stringify(request));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('effect:      require_approval');
    expect(run.stdout).toContain('✔ refunds/large-refund (require_approval): condition args.amount > 100: true');
    expect(run.stdout).toContain('· refunds/small-refund (allow): condition args.amount <= 100: false');
  });

  it('exits 1 with a clear error on an invalid request', async () => {
    const missing = await warden(['eval', '--policies', EXAMPLES, '--request', '-'], JSON.stringify({ tenant: 'x', action: 'tool.call' }));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('actor is required');
    const notJson = await warden(['eval', '--policies', EXAMPLES, '--request', '-'], '{"tenant": ');
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('is not valid JSON');
    const proto = await warden(['eval', '--policies', EXAMPLES, '--request', '-'], JSON.stringify(request).replace('"args":{', '"args":{"__proto__":{"x":1},'));
    expect(proto.code).toBe(1);
    expect(proto.stderr).toContain('forbidden key "__proto__"');
    const huge = await warden(['eval', '--policies', EXAMPLES, '--request', '-'], JSON.stringify({ ...request, args: { s: 'x'.repeat(10_000_000) } }));
    expect(huge.code).toBe(1);
    expect(huge.stderr).toContain('the limit is 1048576');
  });

  it('exits 1 when the policies do not load, naming the problems', async () => {
    const dir = tempDir({ 'p.yaml': 'id: p\nversion: 1\nrules: [{id: r, effect: allow, when: "args.x >"}]\n' });
    const run = await warden(['eval', '--policies', dir, '--request', '-'], JSON.stringify(request));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('[cel-syntax]');
  });

  it('exits 2 when a required option is missing', async () => {
    expect((await warden(['eval', '--policies', EXAMPLES])).code).toBe(2);
  });
});

describe('warden test', () => {
  it('runs the example suites: one line per case and a closing count, exit 0', async () => {
    const run = await warden(['test', EXAMPLES]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('PASS  refunds › large refund waits for a finance manager');
    expect(run.stdout).toMatch(/\n(\d+) passed, 0 failed\n$/);
  });

  it('fails with exit 1 on a mismatch and says where and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));
    cpSync(EXAMPLES, dir, { recursive: true });
    const suite = join(dir, 'refunds.test.yaml');
    writeFileSync(suite, readFileSync(suite, 'utf8').replace('expect: { effect: allow, rule: small-refund }', 'expect: { effect: deny, rule: small-refund }'));
    const run = await warden(['test', dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL  refunds › a refund of exactly 100 is still small');
    expect(run.stdout).toContain('expected effect deny, got allow');
    expect(run.stdout).toMatch(/\n\d+ passed, 1 failed\n$/);
    const junit = await warden(['test', dir, '--format', 'junit']);
    expect(junit.code).toBe(1);
    expect(junit.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="warden policy tests" tests="\d+" failures="1">/);
    expect(junit.stdout).toContain('<failure message="expected effect deny, got allow');
  });

  it('reports a malformed suite file as a failure', async () => {
    const dir = tempDir({
      'p.yaml': 'id: p\nversion: 1\nrules: [{id: r, effect: allow}]\n',
      'p.test.yaml': 'cases:\n  - name: x\n    request: {tenant: t}\n    expect: {efect: allow}\n',
    });
    const run = await warden(['test', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('p.test.yaml:4:');
    expect(run.stderr).toContain('unknown field: efect');
  });

  it('rejects an unknown --format with exit 2', async () => {
    expect((await warden(['test', EXAMPLES, '--format', 'tap'])).code).toBe(2);
  });
});

describe('warden demo', () => {
  it('plays every scenario over HTTP against a real gateway and exits 0 when each got its expected decision', async () => {
    const run = await warden(['demo']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('→ HTTP 403 denied, deny: support-agent lacks the finance role required for issue_refund');
    expect(run.stdout).toContain('✔  6. Fiona (finance manager) approves it: the refund executes, once');
    expect(run.stdout).toMatch(/audit verify: ok, \d+ records, hash chain intact/);
    expect(run.stdout).toMatch(/(\d+) of \1 steps got their expected decision/);
  });
});

describe('warden init and warden serve', () => {
  it('writes a starter whose policies check and pass their tests, and never overwrites', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'warden-init-')), 'project');
    const run = await warden(['init', dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/wk_[A-Za-z0-9]+_[A-Za-z0-9_-]+/);
    expect((await warden(['check', join(dir, 'policies')])).code).toBe(0);
    const tested = await warden(['test', join(dir, 'policies')]);
    expect(tested.stdout).toMatch(/5 passed, 0 failed/);
    const again = await warden(['init', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('nothing was written');
  });

  it('serves until SIGTERM, then shuts down cleanly with the decision log written', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'warden-serve-')), 'project');
    await warden(['init', dir]);
    const child = execFile(process.execPath, [CLI, 'serve', '--config', join(dir, 'warden.yaml'), '--port', '0', '--log-level', 'warn']);
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d) => {
        stderr += d;
        const match = /serving on (http:\/\/[^\s]+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const health = await fetch(`${url}/readyz`);
    expect(health.status).toBe(200);
    const denied = await fetch(`${url}/v1/tools/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: 'my-agent', request_id: 'r1', tool: 'lookup_customer', arguments: { customer_id: 'c1' } }) });
    expect(denied.status).toBe(401);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM, finishing requests and writing the decision log');
    const verify = await warden(['audit', 'verify', '--config', join(dir, 'warden.yaml')]);
    expect(verify.stdout).toMatch(/^ok: 1 records, chain intact/);
  });

  it('refuses a missing config with a usage error', async () => {
    const run = await warden(['serve', '--config', '/nonexistent/warden.yaml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no config at /nonexistent/warden.yaml');
  });
});
