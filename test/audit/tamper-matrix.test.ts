import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNewestAnchored } from '../../src/audit/anchor-file.js';
import { ChainMonitor } from '../../src/audit/chain-monitor.js';
import { CheckpointSigner, TrustedKeys } from '../../src/audit/checkpoint-signing.js';
import { parsePublicKey } from '../../src/audit/signing-key.js';
import type { Credentials } from '../../src/enforcement/exchange.js';
import { createWarden } from '../../src/services/warden.js';
import { SqliteStore } from '../../src/store/index.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';
import { copyDb, forgeAndRechain, sql } from './tamper.js';

/**
 * Issue 16, defects 4 and 5: the tampering an attacker with the database file can do, each on a
 * copy of one real log (written by a gateway with signed checkpoints and, at the same time, by a
 * second process; then by the gateway again after a restart), checked by the real CLI
 * (`warden audit verify`) and, where it applies, by the dashboard's incremental status. Each is
 * detected (with the anchor where the database alone cannot tell), and the untouched log never
 * raises an alarm.
 */

const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

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

/** Another process appending to the same log through the built DecisionLog, as a CLI command does. */
function otherWriter(file: string, dir: string, count: number): Promise<void> {
  const script = join(dir, 'other-writer.mjs');
  writeFileSync(
    script,
    `import { DecisionLog } from '${DIST}audit/decision-log.js';
import { openStore } from '${DIST}store/index.js';
const store = await openStore(${JSON.stringify(`sqlite:${file}`)});
const log = await DecisionLog.open(store);
const all = [];
for (let i = 0; i < ${count}; i++) {
  all.push(log.append({ id: 'dec_other_' + i, time: Date.now(), kind: 'decision', requestId: 'req-other-' + i, tenant: 'acme-corp',
    agentId: 'operator', action: 'agent.suspend', resourceType: 'warden', resourceId: 'agent:support-agent', effect: 'allow',
    reason: 'written by another process', stage: 'operator', obligations: [], outcome: 'executed', latencyUs: 1, args: {}, details: {} }).durable);
  if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
}
await Promise.all(all); await log.close(); await store.close();`,
  );
  return new Promise((resolve, reject) => execFile(process.execPath, [script], (error, _o, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve())));
}

let h: Harness;
let db: string;
let anchor: string;
let publicKey: string;
let records: number;
const concurrentVerifies: Run[] = [];

beforeAll(async () => {
  h = await startHarness('', { realClock: true });
  await h.warden.close(); // the harness wrote the config; the gateway below runs with checkpoints
  const keys = join(h.dir, 'keys');
  const generated = await warden(['keys', 'generate', '--out', keys]);
  expect(generated.code).toBe(0);
  publicKey = join(keys, 'checkpoint-signing.pub');
  anchor = join(h.dir, 'anchor', 'checkpoints.jsonl');
  db = join(h.dir, 'warden.db');
  const config = join(h.dir, 'warden.yaml');
  const text = await readFile(config, 'utf8');
  writeFileSync(
    config,
    `${text}\naudit:\n  checkpoints:\n    key: ./keys/checkpoint-signing.key\n    every: 7\n    interval: 50ms\n    anchor: { type: file, path: ./anchor/checkpoints.jsonl }\n`,
  );

  const key: Credentials = { kind: 'api_key', key: h.keys['support-agent']! };
  const call = (tool: string, i: number) => ({ agentId: 'support-agent', tool, args: { limit: 1 }, requestId: nextRequestId(), tenant: 'acme-corp', sessionId: `tamper-${i}` });

  // The gateway and another process write to one log at once; the CLI verifies meanwhile.
  let gateway = await createWarden({ config });
  const other = otherWriter(db, h.dir, 300);
  for (let i = 0; i < 40; i++) {
    await gateway.call(call(i % 4 === 0 ? 'issue_refund' : 'read_orders', i), key);
    if (i % 13 === 0) concurrentVerifies.push(await warden(['audit', 'verify', '--db', db, '--anchor', anchor, '--public-key', publicKey]));
  }
  // A tool name with a lone surrogate, through the SDK (HTTP and MCP refuse it with 400).
  expect((await gateway.call({ ...call('x\udfff', 99), via: 'sdk' }, { kind: 'trusted' })).status).toBe('denied');
  await other;
  concurrentVerifies.push(await warden(['audit', 'verify', '--db', db, '--anchor', anchor, '--public-key', publicKey]));
  await gateway.close();

  // After a restart: the gateway resumes from its last checkpoint.
  gateway = await createWarden({ config });
  for (let i = 100; i < 110; i++) await gateway.call(call('read_orders', i), key);
  await gateway.close();
  const store = SqliteStore.open(db);
  records = (await store.lastDecision())!.seq;
  await store.close();
}, 60_000);

afterAll(async () => {
  await h?.tools.close();
});

const verify = (file: string, withAnchor: boolean) => warden(['audit', 'verify', '--db', file, '--public-key', publicKey, ...(withAnchor ? ['--anchor', anchor] : [])]);

/** The dashboard's status of a tampered copy, from a gateway that starts on it. */
async function dashboardStatus(file: string) {
  const store = SqliteStore.open(file, { backgroundCheckpoints: false });
  try {
    const keys = new TrustedKeys([parsePublicKey(await readFile(publicKey, 'utf8'), publicKey)]);
    return await new ChainMonitor({ store, keys, newestAnchored: () => readNewestAnchored(anchor) }).status();
  } finally {
    await store.close();
  }
}

describe('an untouched log', () => {
  it('verifies while two processes write it, after a restart, by --db and by --config; never a false alarm', async () => {
    expect(concurrentVerifies.length).toBeGreaterThanOrEqual(4);
    for (const run of concurrentVerifies) expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: \d+ records, chain intact/) });
    expect(records).toBeGreaterThan(300 + 40 + 10);

    const run = await verify(db, true);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^ok: ${records} records, chain intact \\(head c2:sha256:[0-9a-f]{64}\\)\\n`));
    expect(run.stdout).toMatch(new RegExp(`checkpoints: (\\d+) in the database, (\\d+) in the anchor \\(file ${anchor}\\); signatures checked with ed25519:[0-9a-f]{16}; the newest that holds: #${records}, signed`));
    // Shut down cleanly, so the head itself is signed: nothing is left to the chain alone.
    expect(run.stdout).not.toContain('cannot detect');
    const byConfig = await warden(['audit', 'verify', '--config', join(h.dir, 'warden.yaml')]);
    expect(byConfig.code).toBe(0);
    expect(byConfig.stdout.split('\n')[0]).toBe(run.stdout.split('\n')[0]);
    expect((await dashboardStatus(db)).ok).toBe(true);
  });

  it('holds the lone-surrogate tool name as U+FFFD, as hashed', async () => {
    const store = SqliteStore.open(db, { backgroundCheckpoints: false });
    const [record] = await store.queryDecisions({ tool: 'x\ufffd', limit: 5 });
    await store.close();
    expect(record).toMatchObject({ resourceId: 'x\ufffd', effect: 'deny' });
  });

  it('writes the private key readable by its owner only', () => {
    expect(statSync(join(h.dir, 'keys', 'checkpoint-signing.key')).mode & 0o777).toBe(0o600);
  });
});

describe('tampering with the database', () => {
  const problems = (run: Run) => run.stdout.split('\n').filter((l) => l.startsWith('BROKEN'));

  it('an edited field', async () => {
    const copy = copyDb(db);
    sql(copy, "UPDATE decisions SET effect = 'allow', reason = 'allowed after all' WHERE seq = 5");
    const run = await verify(copy, false);
    expect(run.code).toBe(1);
    expect(problems(run)).toEqual([expect.stringMatching(/^BROKEN at record #5 \(.+\): its content does not match its hash: the record was altered$/)]);
  });

  it('a deleted record', async () => {
    const copy = copyDb(db);
    sql(copy, 'DELETE FROM decisions WHERE seq = 6');
    const run = await verify(copy, false);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/BROKEN at record #7 \(.+\): expected record #6 next, found #7: records were removed/);
  });

  it('reordered records', async () => {
    const copy = copyDb(db);
    sql(copy, 'UPDATE decisions SET seq = -1 WHERE seq = 9', 'UPDATE decisions SET seq = 9 WHERE seq = 8', 'UPDATE decisions SET seq = 8 WHERE seq = -1');
    const run = await verify(copy, false);
    expect(run.code).toBe(1);
    expect(problems(run).slice(0, 2)).toEqual([expect.stringMatching(/^BROKEN at record #8 /), expect.stringMatching(/^BROKEN at record #9 /)]);
  });

  it('several alterations: every one is reported, not only the first', async () => {
    const copy = copyDb(db);
    sql(copy, "UPDATE decisions SET reason = 'nothing to see' WHERE seq = 3", 'DELETE FROM decisions WHERE seq = 20', "UPDATE decisions SET agent_id = 'someone' WHERE seq = 40");
    const run = await verify(copy, false);
    expect(run.code).toBe(1);
    const seqs = problems(run).filter((l) => l.startsWith('BROKEN at record')).map((l) => Number(/#(\d+)/.exec(l)![1]));
    expect(seqs).toEqual([3, 21, 40]);
    expect(run.stdout).toMatch(/\d+ problems in \d+ records: 2 records verified before the first break/);
  });

  it('the newest records truncated with their checkpoints: unseen without the anchor (and said so), found with it', async () => {
    const copy = copyDb(db);
    const keep = records - 4;
    sql(copy, `DELETE FROM decisions WHERE seq > ${keep}`, `DELETE FROM checkpoints WHERE seq > ${keep}`);
    const without = await verify(copy, false);
    expect(without.code).toBe(0);
    expect(without.stdout).toContain('cannot detect: no anchor (--anchor)');
    const run = await verify(copy, true);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`the log ends at #${keep}, but it reached #${records} when this checkpoint was signed: the records after #${keep} were deleted`);
    const status = await dashboardStatus(copy);
    expect(status.ok).toBe(false);
    expect(status.checkpointProblems).toContainEqual(expect.objectContaining({ source: 'anchor', seq: records, problem: expect.stringContaining('were deleted') }));
  });

  it('the newest records truncated, checkpoints left: found from the database alone', async () => {
    const copy = copyDb(db);
    sql(copy, `DELETE FROM decisions WHERE seq > ${records - 2}`);
    const run = await verify(copy, false);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`the log ends at #${records - 2}, but it reached #${records}`);
  });

  it('a forged record re-chained with the project\'s own hash function', async () => {
    // Left with its checkpoints: the database alone contradicts it.
    let copy = copyDb(db);
    await forgeAndRechain(copy, 12, { effect: 'allow', reason: 'approved by policy' });
    expect((await verify(copy, false)).stdout).toMatch(/record #\d+ has hash c2:sha256:[0-9a-f]{64}, not the c2:sha256:[0-9a-f]{64} this checkpoint signed: the log was rewritten/);

    // The checkpoints after it deleted too: only the anchor tells.
    copy = copyDb(db);
    await forgeAndRechain(copy, 12, { effect: 'allow', reason: 'approved by policy' });
    sql(copy, 'DELETE FROM checkpoints WHERE seq >= 12');
    const without = await verify(copy, false);
    expect(without.code).toBe(0);
    expect(without.stdout).toContain('cannot detect: no anchor');
    const run = await verify(copy, true);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/not the c2:sha256:[0-9a-f]{64} this checkpoint signed: the log was rewritten at or before #\d+/);
    expect(run.stdout).toContain('the anchor holds this checkpoint but the database does not: checkpoints were deleted from the database');
    const status = await dashboardStatus(copy);
    expect(status.ok).toBe(false);
    expect(status.checkpointProblems[0]?.problem).toMatch(/the log was rewritten/);
  });

  it('a forged record re-chained, its checkpoints re-signed with another key: the signature tells', async () => {
    const copy = copyDb(db);
    await forgeAndRechain(copy, 12, { effect: 'allow', reason: 'approved by policy' });
    const store = SqliteStore.open(copy, { backgroundCheckpoints: false });
    const forger = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
    const stale = await store.scanCheckpoints(11, 10_000);
    for (const c of stale) sql(copy, `DELETE FROM checkpoints WHERE seq = ${c.seq}`);
    for (const c of stale) {
      const [record] = await store.scanDecisions(c.seq - 1, 1);
      await store.addCheckpoint(forger.sign(record!, c.time));
    }
    await store.close();
    const run = await verify(copy, false);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`it is signed by ${forger.keyId}, which is not a key given to verify with`);
  });

  it('every record deleted (and every checkpoint): "ok: 0 records" without the anchor, said to be unprovable; found with it', async () => {
    const copy = copyDb(db);
    sql(copy, 'DELETE FROM decisions', 'DELETE FROM checkpoints');
    const without = await verify(copy, false);
    expect(without.code).toBe(0);
    expect(without.stdout).toMatch(/^ok: 0 records/);
    expect(without.stdout).toContain('cannot detect: there are no signed checkpoints and no anchor');
    const run = await verify(copy, true);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/the log is empty, but it held \d+ records when this checkpoint was signed: every record was deleted/);
    expect((await dashboardStatus(copy)).checkpointProblems[0]?.problem).toMatch(/every record was deleted/);
  });

  it('a stored string replaced by invalid UTF-8 (a lone surrogate\'s bytes)', async () => {
    const copy = copyDb(db);
    sql(copy, "UPDATE decisions SET resource_id = CAST(X'78EDBFBF' AS TEXT) WHERE seq = 3");
    const run = await verify(copy, false);
    expect(run.code).toBe(1);
    expect(problems(run)).toEqual([expect.stringMatching(/^BROKEN at record #3 .*the record was altered$/)]);
  });

  it('a record edited after the newest checkpoint: the dashboard\'s incremental status finds it too', async () => {
    const copy = copyDb(db);
    const store = SqliteStore.open(copy, { backgroundCheckpoints: false });
    const [newest] = await store.scanCheckpoints(records - 1, 1);
    await store.close();
    expect(newest?.seq).toBe(records);
    // Only the database's checkpoint is removed, so the status starts from an earlier one.
    sql(copy, `DELETE FROM checkpoints WHERE seq = ${records}`, `UPDATE decisions SET reason = 'edited' WHERE seq = ${records}`);
    const status = await dashboardStatus(copy);
    expect(status.ok).toBe(false);
    expect(status.breaks).toContainEqual(expect.objectContaining({ seq: records, problem: 'its content does not match its hash: the record was altered' }));
  });
});
