import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { readAnchorFile, readNewestAnchored } from '../../src/audit/anchor-file.js';
import { anchorLine, parseAnchorLine } from '../../src/audit/anchor-line.js';
import { fileAnchor, type AnchorSink } from '../../src/audit/anchor-sinks.js';
import { ChainMonitor } from '../../src/audit/chain-monitor.js';
import { AuditCheckpointer } from '../../src/audit/checkpointer.js';
import { CheckpointSigner, keyIdOf, TrustedKeys } from '../../src/audit/checkpoint-signing.js';
import { DecisionLog } from '../../src/audit/decision-log.js';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import type { CheckpointRecord, NewDecisionRecord } from '../../src/store/records.js';
import { SqliteStore, type Store } from '../../src/store/index.js';
import { forgeAndRechain, sql } from './tamper.js';

const root = mkdtempSync(join(tmpdir(), 'warden-checkpoints-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `t${++n}`);

const opened: Store[] = [];
function open(file: string): SqliteStore {
  const store = SqliteStore.open(file, { backgroundCheckpoints: false });
  opened.push(store);
  return store;
}
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

const newKey = () => generateKeyPairSync('ed25519').privateKey;

let counter = 0;
const entry = (fields: Partial<NewDecisionRecord> = {}): NewDecisionRecord => ({
  id: `dec_cp_${++counter}`,
  time: 1_700_000_000_000 + counter,
  kind: 'decision',
  requestId: `req-${counter}`,
  tenant: 'acme-corp',
  agentId: 'support-agent',
  action: 'tool.call',
  resourceType: 'tool',
  resourceId: 'read_orders',
  effect: 'allow',
  reason: 'allowed',
  stage: 'policy',
  obligations: [],
  outcome: 'executed',
  latencyUs: 10,
  args: { limit: 5 },
  details: {},
  ...fields,
});

async function append(store: Store, count: number): Promise<void> {
  const log = await DecisionLog.open(store);
  await Promise.all(Array.from({ length: count }, () => log.append(entry()).durable));
  await log.close();
}

/** A store that counts the decision records it hands out: what a verification costs. */
function counting(store: Store): { store: Store; read: () => number; reset: () => void } {
  let read = 0;
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'scanDecisions') {
        return async (after: number, limit: number) => {
          const page = await target.scanDecisions(after, limit);
          read += page.length;
          return page;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: proxy, read: () => read, reset: () => (read = 0) };
}

interface Logged {
  level: string;
  message: string;
}

function checkpointer(store: Store, signer: CheckpointSigner, anchor?: AnchorSink, logged: Logged[] = []) {
  return new AuditCheckpointer({
    store,
    signer,
    ...(anchor ? { anchor } : {}),
    every: 10,
    intervalMs: 3_600_000,
    clock: () => 1_800_000_000_000,
    log: (level, message) => logged.push({ level, message }),
    pageSize: 7,
  });
}

describe('checkpoint signatures', () => {
  it('verify with the signer\'s public key only, and break when any signed field changes', () => {
    const signer = new CheckpointSigner(newKey());
    const c = signer.sign({ seq: 42, hash: `sha256:${'ab'.repeat(32)}` }, 1_700_000_000_000);
    expect(c.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
    expect(c.keyId).toBe(keyIdOf(signer.publicKey));
    const keys = new TrustedKeys([signer.publicKey]);
    expect(keys.check(c)).toBe('valid');
    for (const changed of [{ seq: 43 }, { hash: `sha256:${'cd'.repeat(32)}` }, { time: c.time + 1 }, { signature: Buffer.alloc(64).toString('base64') }, { signature: 'not base64 at all' }]) {
      expect(keys.check({ ...c, ...changed })).toBe('invalid');
    }
    expect(keys.check({ ...c, keyId: 'ed25519:0000000000000000' })).toBe('unknown-key');
    expect(new TrustedKeys([newKey()]).check(c)).toBe('unknown-key');
    expect(() => new CheckpointSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)).toThrow(/Ed25519/);
  });

  it('anchor lines round-trip; other lines are skipped; a malformed checkpoint line is an error', () => {
    const c: CheckpointRecord = { seq: 7, hash: 'sha256:x', time: 5, keyId: 'ed25519:k', signature: 's' };
    expect(parseAnchorLine(anchorLine(c))).toStrictEqual(c);
    expect(parseAnchorLine('{"level":30,"msg":"listening"}')).toBeUndefined();
    expect(parseAnchorLine('not json')).toBeUndefined();
    expect(parseAnchorLine('{"type":"warden.checkpoint","seq":"7"}')).toBeInstanceOf(Error);
  });
});

describe('the checkpointer', () => {
  it('signs the head after verifying the records since its last checkpoint, stores it and appends it to the anchor', async () => {
    const dir = fresh();
    const file = join(dir, 'warden.db');
    const anchorFile = join(dir, 'anchor', 'checkpoints.jsonl');
    const store = open(file);
    const signer = new CheckpointSigner(newKey());
    await append(store, 25);
    const cp = checkpointer(store, signer, fileAnchor(anchorFile));
    const first = await cp.checkpoint();
    expect(first).toMatchObject({ seq: 25, keyId: signer.keyId, time: 1_800_000_000_000 });
    expect(first!.hash).toBe((await store.lastDecision())!.hash);
    expect(await cp.checkpoint()).toBeUndefined(); // nothing new: nothing signed
    await append(store, 3);
    expect((await cp.checkpoint())?.seq).toBe(28);
    expect((await store.scanCheckpoints(0, 10)).map((c) => c.seq)).toEqual([25, 28]);
    expect((await readAnchorFile(anchorFile)).checkpoints).toStrictEqual(await store.scanCheckpoints(0, 10));
    expect((await readNewestAnchored(anchorFile))?.seq).toBe(28);
  });

  it('signs once `every` records were appended, and resumes from its own checkpoint after a restart (reading only what is new)', async () => {
    const file = join(fresh(), 'warden.db');
    const signer = new CheckpointSigner(newKey());
    let store = open(file);
    await append(store, 40);
    await checkpointer(store, signer).checkpoint();
    await store.close();

    store = open(file);
    await append(store, 9);
    const counted = counting(store);
    const cp = checkpointer(counted.store, signer);
    cp.noteAppended(9); // below `every`: nothing yet
    expect(await store.scanCheckpoints(40, 10)).toEqual([]);
    cp.noteAppended(1);
    await vi.waitFor(async () => expect((await store.lastCheckpoint())?.seq).toBe(49));
    await cp.close();
    // The 9 new records, plus single reads of the records it resumes from: never the first 40 again.
    expect(counted.read()).toBeLessThan(9 + 5);
  });

  it('publishes what it could not publish later, in order; the store keeps every checkpoint meanwhile', async () => {
    const store = open(join(fresh(), 'warden.db'));
    const published: number[] = [];
    let down = true;
    const flaky: AnchorSink = {
      describe: 'a flaky endpoint',
      publish: async (c) => {
        if (down) throw new Error('connection refused');
        published.push(c.seq);
      },
    };
    const logged: Logged[] = [];
    const cp = checkpointer(store, new CheckpointSigner(newKey()), flaky, logged);
    await append(store, 2);
    await cp.checkpoint();
    await append(store, 2);
    await cp.checkpoint();
    expect(published).toEqual([]);
    expect(logged.filter((l) => l.level === 'warn')).toHaveLength(1); // said once, not per attempt
    down = false;
    await append(store, 1);
    await cp.checkpoint();
    expect(published).toEqual([2, 4, 5]);
    expect((await store.scanCheckpoints(0, 10)).map((c) => c.seq)).toEqual([2, 4, 5]);
  });

  it('refuses to sign a log that contradicts its last checkpoint or has a broken link, and says why once', async () => {
    const file = join(fresh(), 'warden.db');
    const signer = new CheckpointSigner(newKey());
    let store = open(file);
    await append(store, 12);
    await checkpointer(store, signer).checkpoint();
    await store.close();
    await forgeAndRechain(file, 5, { effect: 'deny' });

    store = open(file);
    await append(store, 3);
    const logged: Logged[] = [];
    const cp = checkpointer(store, signer, undefined, logged);
    expect(await cp.checkpoint()).toBeUndefined();
    expect(await cp.checkpoint()).toBeUndefined();
    expect(cp.problem).toMatch(/newest checkpoint \(#12\) does not hold: record #12 has hash .* not the .* this checkpoint signed/);
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(1);
    expect((await store.lastCheckpoint())?.seq).toBe(12);
    await store.close();

    // A fresh log whose new records do not link: nothing is signed over the break.
    const other = join(fresh(), 'warden.db');
    store = open(other);
    await append(store, 4);
    sql(other, "UPDATE decisions SET reason = 'edited' WHERE seq = 2");
    const broken = checkpointer(store, signer, undefined, []);
    expect(await broken.checkpoint()).toBeUndefined();
    expect(broken.problem).toMatch(/^record #2 .*the record was altered/);
    expect(await store.lastCheckpoint()).toBeUndefined();
  });
});

describe('the chain monitor (the dashboard\'s status)', () => {
  it('costs the records written since it last looked, starting from the newest verified checkpoint', async () => {
    const dir = fresh();
    const file = join(dir, 'warden.db');
    const anchorFile = join(dir, 'anchor.jsonl');
    const store = open(file);
    const signer = new CheckpointSigner(newKey());
    await append(store, 3_000);
    await checkpointer(store, signer, fileAnchor(anchorFile)).checkpoint();
    await append(store, 20);

    const full = counting(store);
    expect(await verifyDecisionLog(full.store)).toMatchObject({ ok: true, records: 3_020 });
    expect(full.read()).toBe(3_020);

    const counted = counting(store);
    const monitor = new ChainMonitor({ store: counted.store, keys: new TrustedKeys([signer.publicKey]), newestAnchored: () => readNewestAnchored(anchorFile), pageSize: 100 });
    const first = await monitor.status();
    expect(first).toMatchObject({ ok: true, checked: 20, verifiedFrom: 3_000, head: { seq: 3_020 }, checkpoint: { seq: 3_000, anchored: true, signatureChecked: true } });
    expect(counted.read()).toBeLessThan(20 + 5);

    await append(store, 7);
    counted.reset();
    expect(await monitor.status()).toMatchObject({ ok: true, checked: 27, head: { seq: 3_027 } });
    expect(counted.read()).toBeLessThan(7 + 5);
  });

  it('without a trusted checkpoint it reads every record once, then only new ones', async () => {
    const store = open(join(fresh(), 'warden.db'));
    await append(store, 50);
    const counted = counting(store);
    const monitor = new ChainMonitor({ store: counted.store, keys: new TrustedKeys() });
    expect(await monitor.status()).toMatchObject({ ok: true, checked: 50, verifiedFrom: 0 });
    await append(store, 2);
    counted.reset();
    expect(await monitor.status()).toMatchObject({ ok: true, checked: 52 });
    expect(counted.read()).toBeLessThan(2 + 5);
  });

  it('keeps reporting a record altered or removed after it verified it', async () => {
    const file = join(fresh(), 'warden.db');
    const store = open(file);
    await append(store, 10);
    const monitor = new ChainMonitor({ store, keys: new TrustedKeys() });
    expect((await monitor.status()).ok).toBe(true);
    sql(file, 'DELETE FROM decisions WHERE seq > 8');
    const cut = await monitor.status();
    expect(cut.ok).toBe(false);
    expect(cut.breaks[0]).toMatchObject({ seq: 10, problem: 'it was removed after it was verified: the log was cut' });
    await append(store, 5);
    expect((await monitor.status()).breaks.map((b) => b.seq)).toEqual([10]);
  });

  it('reports every problem the log holds, not only the first', async () => {
    const file = join(fresh(), 'warden.db');
    const store = open(file);
    await append(store, 30);
    sql(file, "UPDATE decisions SET reason = 'one' WHERE seq = 4", 'DELETE FROM decisions WHERE seq = 12', "UPDATE decisions SET agent_id = 'two' WHERE seq = 25");
    const status = await new ChainMonitor({ store, keys: new TrustedKeys() }).status();
    expect(status.breaks.map((b) => b.seq)).toEqual([4, 13, 25]);
    const full = await verifyDecisionLog(store);
    expect(full.breaks.map((b) => b.seq)).toEqual([4, 13, 25]);
    expect(full).toMatchObject({ ok: false, checked: 3, records: 29, breakCount: 3, broken: { seq: 4 } });
  });
});
