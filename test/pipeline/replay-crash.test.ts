/**
 * Request ids stay unique across a kill -9: a read is answered before its decision record is
 * written (audit.durable_reads is off), so the decision log alone cannot tell, after a crash,
 * which ids were used. The request-id journal can. A real child process answers reads, is killed
 * with SIGKILL while their records are still queued, and a new gateway on the same files refuses
 * every answered request id.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/credentials.js';
import { createWarden } from '../../src/services/warden.js';

const CHILD = fileURLToPath(new URL('./replay-child.mjs', import.meta.url));

it('an answered request id cannot be replayed after kill -9, even when its decision record was lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-replay-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'notes.yaml'), 'id: notes\nversion: 1\nrules: [{id: reader, effect: allow, tools: [read_notes]}]\n');
  const key = generateApiKey();
  const file = join(dir, 'warden.yaml');
  writeFileSync(file, `storage: sqlite:./warden.db\npolicies: ./policies\nagents: [{ id: reader, tenant: acme-corp, credentials: [{ key_id: ${key.keyId}, api_key_hash: "${key.hash}" }] }]\n`);

  const child = spawn(process.execPath, [CHILD, file, key.key], { stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise((r) => child.once('close', r));
  const acked: string[] = [];
  let queued = -1;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('ack ')) acked.push(line.slice(4));
        if (line.startsWith('queued ')) {
          queued = Number(line.slice(7));
          child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
  await closed;
  expect(acked).toHaveLength(40);
  expect(readdirSync(dir).some((f) => f.startsWith('warden.db-requests.'))).toBe(true);

  const warden = await createWarden({ config: file });
  try {
    warden.guard(async () => ({ notes: [] }), { name: 'read_notes', effect: 'read', risk: 'low' }, { agentId: 'reader', tenant: 'acme-corp' });
    // The crash lost the records of the last answered reads: the decision log cannot know their ids.
    const recorded = new Set((await warden.store.queryDecisions({ order: 'asc', limit: 10_000 })).map((r) => r.requestId));
    const lost = acked.filter((id) => !recorded.has(id));
    expect(queued).toBeGreaterThan(0);
    expect(lost.length).toBeGreaterThan(0);

    for (const requestId of acked) {
      const replay = await warden.call({ agentId: 'reader', tenant: 'acme-corp', tool: 'read_notes', args: {}, requestId, via: 'http' }, { kind: 'api_key', key: key.key });
      expect(replay, requestId).toMatchObject({ status: 'denied', httpStatus: 409, decision: { stage: 'authenticate' } });
      expect(replay.decision.reason).toContain('was already used: replay refused');
    }
    const fresh = await warden.call({ agentId: 'reader', tenant: 'acme-corp', tool: 'read_notes', args: {}, requestId: 'fresh-1', via: 'http' }, { kind: 'api_key', key: key.key });
    expect(fresh.status).toBe('executed');
  } finally {
    await warden.close();
  }
});
