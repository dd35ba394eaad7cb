import { execFile, spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnchorLine } from '../../src/audit/anchor-line.js';
import { keyIdOf, TrustedKeys } from '../../src/audit/checkpoint-signing.js';
import { parsePublicKey } from '../../src/audit/signing-key.js';
import type { CheckpointRecord } from '../../src/store/records.js';
import { createWarden } from '../../src/services/warden.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/** `warden keys generate`, `warden audit verify`'s options, and the anchors of a real gateway. */

const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function warden(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'warden-keys-'));

describe('warden keys generate', () => {
  it('writes an Ed25519 pair, the private key mode 600, and prints its id and the config to use', async () => {
    const dir = join(tempDir(), 'keys');
    const run = await warden(['keys', 'generate', '--out', dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const privatePath = join(dir, 'checkpoint-signing.key');
    const publicPath = join(dir, 'checkpoint-signing.pub');
    expect(statSync(privatePath).mode & 0o777).toBe(0o600);
    expect(statSync(publicPath).mode & 0o777).toBe(0o644);
    const publicKey = createPublicKey(readFileSync(publicPath, 'utf8'));
    expect(publicKey.asymmetricKeyType).toBe('ed25519');
    expect(createPublicKey(readFileSync(privatePath, 'utf8')).export({ type: 'spki', format: 'pem' })).toBe(readFileSync(publicPath, 'utf8'));
    expect(run.stdout.split('\n')[0]).toBe(`key ${keyIdOf(publicKey)}`);
    expect(run.stdout).toContain(`      key: ${privatePath}\n`);
    expect(run.stdout).toContain(`warden audit verify --anchor <anchor file> --public-key ${publicPath}`);
  });

  it('refuses to replace a pair (exit 2) unless --force', async () => {
    const dir = tempDir();
    expect((await warden(['keys', 'generate', '--out', dir])).code).toBe(0);
    const before = readFileSync(join(dir, 'checkpoint-signing.key'), 'utf8');
    const again = await warden(['keys', 'generate', '--out', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error: .*checkpoint-signing\.key and .*checkpoint-signing\.pub already exist; pass --force to replace/);
    expect(readFileSync(join(dir, 'checkpoint-signing.key'), 'utf8')).toBe(before);
    expect((await warden(['keys', 'generate', '--out', dir, '--force'])).code).toBe(0);
    expect(readFileSync(join(dir, 'checkpoint-signing.key'), 'utf8')).not.toBe(before);
  });
});

describe('warden audit verify, its options and the anchors of a real gateway', () => {
  let h: Harness;
  let keys: string;
  let db: string;

  beforeAll(async () => {
    h = await startHarness('', { realClock: true });
    await h.warden.close();
    keys = join(h.dir, 'keys');
    expect((await warden(['keys', 'generate', '--out', keys])).code).toBe(0);
    db = join(h.dir, 'warden.db');
  });

  afterAll(async () => {
    await h?.tools.close();
  });

  const config = (audit: string) => {
    const file = join(h.dir, `warden-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, `${readFileSync(join(h.dir, 'warden.yaml'), 'utf8')}\naudit:\n${audit}\n`);
    return file;
  };

  it('exits 2 on a --public-key or --anchor it cannot use', async () => {
    const missing = await warden(['audit', 'verify', '--db', db, '--public-key', join(h.dir, 'nope.pem')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: cannot read --public-key .*nope\.pem: ENOENT\n$/);
    writeFileSync(join(h.dir, 'not-a-key.pem'), 'hello\n');
    const garbage = await warden(['audit', 'verify', '--db', db, '--public-key', join(h.dir, 'not-a-key.pem')]);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/does not hold a PEM public key/);
    const anchor = await warden(['audit', 'verify', '--db', db, '--anchor', join(h.dir, 'no-anchor.jsonl')]);
    expect(anchor.code).toBe(2);
    expect(anchor.stderr).toBe(`error: anchor file ${join(h.dir, 'no-anchor.jsonl')} does not exist\n`);
    const dir = await warden(['audit', 'verify', '--db', db, '--anchor', h.dir]);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toBe(`error: anchor ${h.dir} is not a file\n`);
  });

  it('reports an anchor line that claims to be a checkpoint but is malformed', async () => {
    const file = join(h.dir, 'bad-anchor.jsonl');
    writeFileSync(file, '{"type":"warden.checkpoint","seq":3}\nsome other log line\n');
    const run = await warden(['audit', 'verify', '--db', db, '--anchor', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('BROKEN at the anchor: line 1 of the anchor claims to be a checkpoint but lacks seq, hash, time, keyId or signature');
  });

  it('a signing key that cannot be read stops the gateway and the verifier with a clear error (exit 1)', async () => {
    const file = config(`  checkpoints: { key: ./keys/missing.key }`);
    const serve = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'serve', '--config', file, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toMatch(/^error: audit\.checkpoints: cannot read the checkpoint signing key .*missing\.key: ENOENT \(create one with `warden keys generate`\)/);
    const verify = await warden(['audit', 'verify', '--config', file]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain('cannot read the checkpoint signing key');
    const secret = await warden(['audit', 'verify', '--config', config(`  checkpoints: { key: "\${secret:nowhere}" }`)]);
    expect(secret.code).toBe(1);
    expect(secret.stderr).toContain('secret "nowhere" is not set');
  });

  it('the stdout anchor: a real `warden serve` prints checkpoint lines a saved log stream verifies with', async () => {
    const file = config('  checkpoints: { key: ./keys/checkpoint-signing.key, every: 2, interval: 1h, anchor: { type: stdout } }');
    const child = spawn(process.execPath, [CLI, 'serve', '--config', file, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const match = /serving on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${url}/v1/tools/call`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.keys['support-agent']}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: { limit: 1 }, session_id: `anchor-${i}` }),
      });
      expect(response.status).toBe(200);
    }
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    const checkpoints = stdout.split('\n').map(parseAnchorLine).filter((c): c is CheckpointRecord => c !== undefined && !(c instanceof Error));
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    const saved = join(h.dir, 'saved-stdout.log');
    writeFileSync(saved, stdout);
    const run = await warden(['audit', 'verify', '--config', file, '--anchor', saved]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`in the anchor (file ${saved}); signatures checked with`);
    // The final head was signed at shutdown.
    expect(run.stdout).not.toContain('newer than every checkpoint');
  });

  it('a rotated key: the previous key\'s checkpoints verify with previous_keys, and are refused without it', async () => {
    const second = join(h.dir, 'keys-2');
    expect((await warden(['keys', 'generate', '--out', second])).code).toBe(0);
    const anchor = '{ type: file, path: ./rotation-anchor.jsonl }';
    const before = config(`  checkpoints: { key: ./keys/checkpoint-signing.key, every: 2, interval: 1h, anchor: ${anchor} }`);
    const after = config(`  checkpoints: { key: ./keys-2/checkpoint-signing.key, previous_keys: [./keys/checkpoint-signing.pub], every: 2, interval: 1h, anchor: ${anchor} }`);
    const forgot = config(`  checkpoints: { key: ./keys-2/checkpoint-signing.key, every: 2, interval: 1h, anchor: ${anchor} }`);
    const calls = async (file: string, n: number) => {
      const gateway = await createWarden({ config: file });
      for (let i = 0; i < n; i++) await gateway.call({ agentId: 'support-agent', tool: 'read_orders', args: { limit: 1 }, requestId: nextRequestId(), tenant: 'acme-corp', sessionId: `rotation-${file}-${i}` }, { kind: 'api_key', key: h.keys['support-agent']! });
      return gateway;
    };
    await (await calls(before, 4)).close();
    const gateway = await calls(after, 4);
    const status = await gateway.audit.verify({ kind: 'human', id: 'ada', roles: ['admin'], tenant: '*' });
    expect(status).toMatchObject({ ok: true, checkpointProblems: [] });
    await gateway.close();
    const run = await warden(['audit', 'verify', '--config', after]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/signatures checked with ed25519:[0-9a-f]{16}, ed25519:[0-9a-f]{16}/);
    const refused = await warden(['audit', 'verify', '--config', forgot]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/it is signed by ed25519:[0-9a-f]{16}, which is not a key given to verify with/);
  });

  it('the HTTP anchor: each checkpoint is POSTed as JSON with the configured headers, retried after a failure', async () => {
    const received: Array<{ body: CheckpointRecord; auth?: string }> = [];
    let failNext = true;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (failNext) {
          failNext = false;
          res.writeHead(503).end();
          return;
        }
        received.push({ body: parseAnchorLine(body) as CheckpointRecord, auth: req.headers.authorization });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    writeFileSync(join(h.dir, 'secrets', 'anchor_token'), 'anchor-token-123');
    const file = config(`  checkpoints:\n    key: ./keys/checkpoint-signing.key\n    every: 1\n    interval: 1h\n    anchor: { type: http, url: "http://127.0.0.1:${port}/checkpoints", headers: { authorization: "Bearer \${secret:anchor_token}" } }`);
    const logged: string[] = [];
    const gateway = await createWarden({ config: file, log: (level, message) => logged.push(`${level}: ${message}`) });
    try {
      for (let i = 0; i < 3; i++) await gateway.call({ agentId: 'support-agent', tool: 'read_orders', args: { limit: 1 }, requestId: nextRequestId(), tenant: 'acme-corp', sessionId: `http-anchor-${i}` }, { kind: 'api_key', key: h.keys['support-agent']! });
    } finally {
      await gateway.close();
      await new Promise((r) => server.close(r));
    }
    expect(logged.some((l) => /^warn: checkpoints could not be published to POST http:\/\/127\.0\.0\.1:\d+\/checkpoints .*answered 503/.test(l))).toBe(true);
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(received.every((r) => r.auth === 'Bearer anchor-token-123')).toBe(true);
    const seqs = received.map((r) => r.body.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const trusted = new TrustedKeys([parsePublicKey(readFileSync(join(keys, 'checkpoint-signing.pub'), 'utf8'), 'pub')]);
    expect(received.every((r) => trusted.check(r.body) === 'valid')).toBe(true);
    expect(existsSync(join(h.dir, 'warden.db'))).toBe(true);
  });
});
