import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAnchorFile } from '../../src/audit/anchor-file.js';
import { TrustedKeys } from '../../src/audit/checkpoint-signing.js';
import { generateSigningKeyPair, parsePublicKey } from '../../src/audit/signing-key.js';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import { sha256 } from '../../src/auth/credentials.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';
import { SqliteStore } from '../../src/store/index.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/**
 * Issue 16, defects 4 and 5 at the HTTP API and the MCP endpoints of a real `serve`: a lone
 * surrogate is refused before it reaches anything (400, or a JSON-RPC error), the process stays
 * up, and the chain status the dashboard shows starts from the last verified checkpoint.
 */

const ADMIN = 'log-admin-token-0123456789';
const keyDir = mkdtempSync(join(tmpdir(), 'warden-log-keys-'));
const pair = generateSigningKeyPair();
writeFileSync(join(keyDir, 'signing.key'), pair.privatePem, { mode: 0o600 });
const anchor = join(keyDir, 'anchor.jsonl');
const CONFIG = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(ADMIN)}", roles: [admin] }
server: { watch_policies: false }
audit:
  checkpoints: { key: "${join(keyDir, 'signing.key')}", every: 3, interval: 1h, anchor: { type: file, path: "${anchor}" } }
`;

let h: Harness;
let server: RunningServer;

beforeAll(async () => {
  h = await startHarness(CONFIG, { realClock: true });
  await h.warden.close();
  server = await serve(join(h.dir, 'warden.yaml'), { host: '127.0.0.1', port: 0, logger: false });
});

afterAll(async () => {
  await server?.close();
  await h?.tools.close();
});

const post = (path: string, body: string, token: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body });

/** An envelope as raw JSON text, so that a `\udfff` escape reaches the server as sent. */
const envelope = (tool: string, args = '{}') => `{"agent_id":"support-agent","request_id":"${nextRequestId()}","tool":"${tool}","arguments":${args}}`;

describe('a lone surrogate at the door', () => {
  it('POST /v1/tools/call answers 400 naming where, records nothing, and the next call is served', async () => {
    const records = async () => (await server.warden.store.lastDecision())?.seq ?? 0;
    await server.warden.audit.flush();
    const before = await records();
    const tool = await post('/v1/tools/call', envelope('x\\udfff'), h.keys['support-agent']!);
    expect(tool.status).toBe(400);
    expect(((await tool.json()) as { detail: string }).detail).toBe(
      'the body was refused: body.tool holds a lone surrogate (U+DFFF at character 1); strings must be well-formed Unicode (escape a character outside the BMP as its surrogate pair, never half of one)',
    );
    const key = await post('/v1/tools/call', envelope('read_orders', '{"li\\ud800mit":1}'), h.keys['support-agent']!);
    expect(key.status).toBe(400);
    expect(((await key.json()) as { detail: string }).detail).toContain('a key of body.arguments holds a lone surrogate (U+D800 at character 2)');
    // A well-formed pair (an emoji written as two escapes) is fine.
    const emoji = await post('/v1/tools/call', envelope('read_orders', '{"customer_id":"\\ud83d\\ude00"}'), h.keys['support-agent']!);
    expect(emoji.status).toBe(200);
    await server.warden.audit.flush();
    expect(await records()).toBe(before + 1);
  });

  it('/mcp and /mcp/governance answer a JSON-RPC error and stay up', async () => {
    const initialize = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"evil\\udc00","version":"1"}}}';
    for (const path of ['/mcp', '/mcp/governance']) {
      const response = await post(path, initialize, h.keys['support-agent']!, { accept: 'application/json, text/event-stream' });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(-32600);
      expect(body.error.message).toContain('body.params.clientInfo.name holds a lone surrogate (U+DC00 at character 4)');
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('the chain status the dashboard shows', () => {
  it('answers the last verified checkpoint, and verifies only what is newer', async () => {
    for (let i = 0; i < 7; i++) {
      const r = await post('/v1/tools/call', envelope('read_orders', '{"limit":1}'), h.keys['support-agent']!);
      expect(r.status).toBe(200);
    }
    await server.warden.audit.flush();
    const head = (await server.warden.store.lastDecision())!.seq;
    const status = (await (await fetch(`${server.url}/v1/audit/verify`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown> & {
      checkpoint?: { seq: number; keyId: string; anchored: boolean; signatureChecked: boolean };
    };
    expect(status).toMatchObject({ ok: true, signing: true, breaks: [], checkpointProblems: [], head: { seq: head } });
    expect(status.checkpoint).toMatchObject({ keyId: pair.keyId, signatureChecked: true });
    expect(status.checkpoint!.seq).toBeGreaterThanOrEqual(3);
    expect(status.checkpoint!.seq).toBeLessThanOrEqual(head);
    // The anchor holds what the database holds.
    const anchored = (await readAnchorFile(anchor)).checkpoints;
    expect(anchored.map((c) => c.seq)).toEqual((await server.warden.store.scanCheckpoints(0, 100)).map((c) => c.seq));
  });

  it('leaves a log that verifies in full, with its checkpoints and their signatures', async () => {
    await server.warden.audit.flush();
    const store = SqliteStore.open(join(h.dir, 'warden.db'), { backgroundCheckpoints: false });
    try {
      const result = await verifyDecisionLog(store, { keys: new TrustedKeys([parsePublicKey(pair.publicPem, 'the test key')]), anchor: { describe: 'test', checkpoints: (await readAnchorFile(anchor)).checkpoints } });
      expect(result).toMatchObject({ ok: true, breakCount: 0, checkpointProblems: [] });
      expect(result.checkpoints.anchored).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
