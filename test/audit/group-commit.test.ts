import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DecisionLog } from '../../src/audit/decision-log.js';
import { GroupCommitWindow } from '../../src/audit/group-commit.js';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import type { DecisionRecord } from '../../src/store/records.js';
import { SqliteStore } from '../../src/store/index.js';
import { pipelineEntry } from './chain-fixtures.js';

const options = { maxBatch: 100, maxDelayMs: 2, maxUrgentDelayMs: 1 };

describe('the group-commit window', () => {
  it('writes a waited-for record at once without load, and waits about one write under load', () => {
    const w = new GroupCommitWindow(options);
    expect(w.delay(1, true, 0)).toBe(0); // nothing measured yet
    // One record per write, 10 ms apart, each write 0.3 ms: a lone caller.
    for (let t = 0; t < 100; t += 10) w.written(1, t, 0.3);
    expect(w.delay(1, true, 101)).toBe(0);
    // Then 20 records per write, 0.5 ms apart (40 per ms), each write 0.4 ms: 16 more arrive per write.
    for (let t = 100; t < 110; t += 0.5) w.written(20, t, 0.4);
    const underLoad = w.delay(5, true, 110.45);
    expect(underLoad).toBeGreaterThan(0);
    expect(underLoad).toBeLessThanOrEqual(options.maxUrgentDelayMs);
    // Longer writes, a longer window, never beyond the cap.
    for (let t = 110; t < 130; t += 1) w.written(90, t, 5);
    expect(w.delay(5, true, 135.01)).toBe(options.maxUrgentDelayMs);
  });

  it('writes a full batch at once and lets a record nobody waits for wait maxDelayMs', () => {
    const w = new GroupCommitWindow(options);
    for (let t = 0; t < 20; t += 0.5) w.written(20, t, 0.4);
    expect(w.delay(options.maxBatch, true, 20.5)).toBe(0);
    expect(w.delay(options.maxBatch, false, 20.5)).toBe(0);
    expect(w.delay(3, false, 20.5)).toBe(options.maxDelayMs);
  });

  it('stops waiting as soon as the load is gone, before its averages catch up', () => {
    const w = new GroupCommitWindow(options);
    for (let t = 0; t < 20; t += 0.5) w.written(20, t, 0.4);
    expect(w.delay(3, true, 20.1)).toBeGreaterThan(0);
    // A quiet second later, one caller: it must not wait for company that is not coming.
    expect(w.delay(1, true, 1_020)).toBe(0);
  });
});

describe('the decision log under concurrent appends', () => {
  it('many requests on two writers of one file: contiguous seqs, one chain, each caller told what was stored', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'warden-concurrent-')), 'log.db');
    const stores = [SqliteStore.open(file, { backgroundCheckpoints: false }), SqliteStore.open(file, { backgroundCheckpoints: false })];
    const logs = await Promise.all(stores.map((s) => DecisionLog.open(s, { maxBatch: 64 })));
    const told: DecisionRecord[] = [];
    const requests = 60;
    const perRequest = 20;
    await Promise.all(
      Array.from({ length: requests }, async (_, r) => {
        for (let i = 0; i < perRequest; i++) {
          const urgent = (r + i) % 3 !== 0;
          const { durable } = logs[r % 2]!.append(pipelineEntry(`r${r}`), urgent);
          if (urgent) told.push(await durable);
          else void durable.then((record) => told.push(record));
          // Requests arrive spread out: some at once, some after a timer, some after I/O.
          if (i % 4 === 0) await sleep(r % 3);
          else await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    await Promise.all(logs.map((l) => l.close()));
    const all = await stores[0]!.scanDecisions(0, 10_000);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: requests * perRequest }, (_, i) => i + 1));
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
    expect([...told].sort((a, b) => a.seq - b.seq)).toStrictEqual(all);
    expect(await verifyDecisionLog(stores[0]!)).toMatchObject({ ok: true, checked: requests * perRequest, breakCount: 0 });
    await Promise.all(stores.map((s) => s.close()));
  });

  it('a process killed while appending loses no record it acknowledged (kill -9)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-kill-'));
    const file = join(dir, 'log.db');
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
    const child = join(dir, 'writer.mjs');
    // Like the pipeline: a side effect (here: printing "ack") only after its record is durable.
    writeFileSync(
      child,
      `import { DecisionLog } from '${dist}audit/decision-log.js';
import { openStore } from '${dist}store/index.js';
const store = await openStore(${JSON.stringify(`sqlite:${file}`)});
const log = await DecisionLog.open(store);
const entry = ${JSON.stringify(pipelineEntry('kill'))};
let n = 0;
const request = async (r) => {
  for (;;) {
    const id = 'dec_kill_' + r + '_' + n++;
    await log.append({ ...entry, id, requestId: 'req-' + id }, true).durable;
    process.stdout.write('ack ' + id + '\\n');
    if (n % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
};
for (let r = 0; r < 32; r++) void request(r);`,
    );
    const acked = new Set<string>();
    const proc = spawn(process.execPath, [child], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    const enough = new Promise<void>((resolve) => {
      proc.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) if (line.startsWith('ack ')) acked.add(line.slice(4));
        if (acked.size >= 1_500) resolve();
      });
    });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    await enough;
    proc.kill('SIGKILL');
    await exited;
    const store = SqliteStore.open(file, { backgroundCheckpoints: false });
    try {
      const ids = new Set((await store.scanDecisions(0, 1_000_000)).map((r) => r.id));
      const lost = [...acked].filter((id) => !ids.has(id));
      expect(acked.size).toBeGreaterThanOrEqual(1_500);
      expect(lost).toEqual([]);
      expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, breakCount: 0 });
    } finally {
      await store.close();
    }
  });
});

