import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import { openStore } from '../../src/store/open-store.js';

const CHILD = fileURLToPath(new URL('./crash-child.mjs', import.meta.url));

it('loses no acknowledged decision when the process is killed with SIGKILL mid-load', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-crash-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'notes.yaml'), 'id: notes\nversion: 1\nrules: [{id: writer, effect: allow, tools: [write_note, read_notes]}]\n');
  writeFileSync(join(dir, 'warden.yaml'), 'storage: sqlite:./warden.db\npolicies: ./policies\nagents: [{ id: writer, tenant: acme-corp }]\n');

  const child = spawn(process.execPath, [CHILD, join(dir, 'warden.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
      // Kill well into the run, while writes are in flight.
      if (acked.length >= 1500) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
  await new Promise((r) => child.once('close', r));

  const store = await openStore(`sqlite:${join(dir, 'warden.db')}`);
  try {
    const missing: string[] = [];
    for (const id of acked) if (!(await store.getDecision(id))) missing.push(id);
    expect(acked.length).toBeGreaterThanOrEqual(1500);
    expect(missing).toEqual([]);
    const verified = await verifyDecisionLog(store);
    expect(verified.ok).toBe(true);
    expect(verified.checked).toBeGreaterThanOrEqual(acked.length);
  } finally {
    await store.close();
  }
});
