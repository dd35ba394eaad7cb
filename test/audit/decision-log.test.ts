import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DecisionLog, DeferredEntry } from '../../src/audit/decision-log.js';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import type { JsonObject } from '../../src/model/json.js';
import type { NewDecisionRecord } from '../../src/store/records.js';
import { openStore } from '../../src/store/open-store.js';

const entry = (id: string): NewDecisionRecord => ({
  id,
  time: Date.now(),
  kind: 'decision',
  requestId: `req-${id}`,
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
  latencyUs: 12,
  args: { limit: 5 },
  details: {},
});

describe('the decision log', () => {
  it('settles each append with its chained record, in order', async () => {
    const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'warden-log-')), 'log.db')}`);
    const log = await DecisionLog.open(store);
    const records = await Promise.all(['a', 'b', 'c'].map((id) => log.append(entry(id)).durable));
    expect(records.map((r) => [r.id, r.seq])).toEqual([['a', 1], ['b', 2], ['c', 3]]);
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    await log.close();
    await store.close();
  });

  it('hashes a record when it is written, not while its caller waits in append()', async () => {
    const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'warden-log-')), 'log.db')}`);
    const log = await DecisionLog.open(store);
    // A details object that counts how often it is read: sealing (well-formed check, body hash) reads it.
    let reads = 0;
    const details = Object.defineProperty({}, 'note', { enumerable: true, get: () => (reads++, 'read') });
    const { durable } = log.append({ ...entry('lazy'), details });
    expect(reads).toBe(0);
    const record = await durable;
    expect(reads).toBeGreaterThan(0);
    expect(record.details).toEqual({ note: 'read' });
    expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, checked: 1 });
    await log.close();
    await store.close();
  });

  it('refuses a record it cannot hash alone, and writes the ones queued behind it', async () => {
    const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'warden-log-')), 'log.db')}`);
    const errors: Error[] = [];
    const log = await DecisionLog.open(store, { onError: (e) => errors.push(e) });
    const cyclic: JsonObject = {};
    cyclic.self = cyclic;
    const before = log.append(entry('before')).durable;
    const bad = log.append({ ...entry('cyclic'), details: cyclic }, true).durable;
    const after = log.append(entry('after')).durable;
    await expect(bad).rejects.toThrow(/decision record cyclic could not be sealed/);
    expect((await Promise.all([before, after])).map((r) => [r.id, r.seq])).toEqual([['before', 1], ['after', 2]]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/cyclic could not be sealed/)]);
    expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, checked: 2 });
    await log.close();
    await store.close();
  });

  it('builds a deferred entry when it is written, and refuses one whose build throws alone', async () => {
    const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'warden-log-')), 'log.db')}`);
    const errors: Error[] = [];
    const log = await DecisionLog.open(store, { onError: (e) => errors.push(e) });
    let builds = 0;
    const lazy = log.append(new DeferredEntry('lazy', () => (builds++, entry('lazy'))));
    const broken = log.append(
      new DeferredEntry('broken', () => {
        throw new Error('no record today');
      }),
    ).durable;
    const after = log.append(entry('after')).durable;
    expect(lazy.id).toBe('lazy');
    expect(builds).toBe(0);
    await expect(broken).rejects.toThrow(/decision record broken could not be built: no record today/);
    expect((await Promise.all([lazy.durable, after])).map((r) => [r.id, r.seq])).toEqual([['lazy', 1], ['after', 2]]);
    expect(builds).toBe(1);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/broken could not be built/)]);
    expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, checked: 2 });
    await log.close();
    await store.close();
  });

  it('keeps one chain when two writers share the file (a gateway and a CLI)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'warden-log-')), 'log.db');
    const [s1, s2] = [await openStore(`sqlite:${file}`), await openStore(`sqlite:${file}`)];
    const [l1, l2] = [await DecisionLog.open(s1), await DecisionLog.open(s2)];
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < 500; i++) pending.push((i % 3 ? l1 : l2).append(entry(`e${i}`)).durable);
    await Promise.all(pending);
    await Promise.all([l1.close(), l2.close()]);
    expect(await verifyDecisionLog(s1)).toMatchObject({ ok: true, checked: 500, breakCount: 0 });
    await Promise.all([s1.close(), s2.close()]);
  });

  it('keeps one chain when another process appends at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-log-'));
    const file = join(dir, 'log.db');
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
    const child = join(dir, 'child.mjs');
    writeFileSync(
      child,
      `import { DecisionLog } from '${dist}audit/decision-log.js';
import { openStore } from '${dist}store/index.js';
const store = await openStore('sqlite:${file}');
const log = await DecisionLog.open(store);
const entry = ${JSON.stringify(entry('x'))};
const all = [];
for (let i = 0; i < 2000; i++) { all.push(log.append({ ...entry, id: 'child-' + i }).durable); if (i % 50 === 0) await new Promise((r) => setImmediate(r)); }
await Promise.all(all); await log.close(); await store.close();`,
    );
    const store = await openStore(`sqlite:${file}`);
    const log = await DecisionLog.open(store);
    const done = new Promise<void>((resolve, reject) => execFile(process.execPath, [child], (error) => (error ? reject(error) : resolve())));
    const mine: Array<Promise<unknown>> = [];
    for (let i = 0; i < 2000; i++) {
      mine.push(log.append(entry(`parent-${i}`)).durable);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all([done, ...mine]);
    await log.close();
    expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, checked: 4000, breakCount: 0 });
    await store.close();
  });
});
