/**
 * What verifying the decision log costs: the full walk (`warden audit verify`) against the
 * dashboard's incremental status (ChainMonitor, from the last verified checkpoint), at several log
 * sizes, and the longest the event loop was held meanwhile (what /healthz would wait).
 *
 *   npm run build && node bench/audit/verify-cost.js          (BENCH_SIZES=3500,100000 to choose)
 *
 * Each size: a fresh SQLite file, N records shaped like the pipeline's appended through the
 * DecisionLog, a signed checkpoint of the head, then 10 more records. Rows:
 * - full: verifyDecisionLog over the whole file (every record rehashed, every checkpoint held);
 * - status, first call: a new ChainMonitor (a gateway just started): resumes from the checkpoint;
 * - status, next call: after 10 more records, what the Overview's 10-second poll costs;
 * - status without checkpoints: a monitor with no trusted key reads everything once.
 * Times are wall-clock medians of 5 runs on this machine; "loop held" is the longest gap seen
 * between ticks of a 1 ms timer during the row (a timer's own gap is 1-2 ms).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainMonitor } from '../../dist/audit/chain-monitor.js';
import { AuditCheckpointer } from '../../dist/audit/checkpointer.js';
import { CheckpointSigner, TrustedKeys } from '../../dist/audit/checkpoint-signing.js';
import { DecisionLog } from '../../dist/audit/decision-log.js';
import { verifyDecisionLog } from '../../dist/audit/verify-log.js';
import { SqliteStore } from '../../dist/store/index.js';

const sizes = (process.env.BENCH_SIZES ?? '3500,100000').split(',').map(Number);
const RUNS = 5;

let n = 0;
const entry = () => ({
  id: `dec_bench_${++n}`,
  time: Date.now(),
  kind: 'decision',
  requestId: `req-${n}`,
  tenant: 'acme-corp',
  sessionId: 'sess-1',
  agentId: 'support-agent',
  action: 'tool.call',
  resourceType: 'tool',
  resourceId: 'read_orders',
  effect: 'allow',
  reason: 'support agents may read orders of their own tenant',
  stage: 'policy',
  policy: 'support',
  rule: 'support-reads-orders',
  policyVersion: '3',
  bundle: 'sha256:b',
  obligations: [],
  outcome: 'executed',
  latencyUs: 180,
  args: { customer_id: 'c-42', limit: 5 },
  details: { matched: ['support-reads-orders'] },
});

async function append(store, count) {
  const log = await DecisionLog.open(store);
  for (let done = 0; done < count; ) {
    const batch = Math.min(5_000, count - done);
    await Promise.all(Array.from({ length: batch }, () => log.append(entry()).durable));
    done += batch;
  }
  await log.close();
}

/** Runs `fn` RUNS times: the median time, and the longest gap between ticks of a 1 ms timer (the loop held). */
async function measure(fn) {
  const times = [];
  let block = 0;
  for (let i = 0; i < RUNS; i++) {
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      block = Math.max(block, now - last);
      last = now;
    }, 1);
    const start = performance.now();
    await fn(i);
    times.push(performance.now() - start);
    // Let the ticker see the end of a block that lasted until fn returned.
    await new Promise((r) => setTimeout(r, 5));
    clearInterval(ticker);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], block };
}

const rows = [];
for (const size of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-verify-bench-'));
  const store = SqliteStore.open(join(dir, 'warden.db'));
  await append(store, size);
  const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
  const keys = new TrustedKeys([signer.publicKey]);
  await new AuditCheckpointer({ store, signer, every: 1e9, intervalMs: 1e9, clock: Date.now, log: () => undefined }).checkpoint();
  await append(store, 10);

  const full = await measure(() => verifyDecisionLog(store, { keys }));
  const first = await measure(() => new ChainMonitor({ store, keys }).status());
  const monitors = Array.from({ length: RUNS }, () => new ChainMonitor({ store, keys }));
  for (const m of monitors) await m.status();
  await append(store, 10);
  const next = await measure((i) => monitors[i].status());
  const none = await measure(() => new ChainMonitor({ store, keys: new TrustedKeys() }).status());
  rows.push([size, full, first, next, none]);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

const cell = (r) => `${r.ms.toFixed(1)} ms (loop held ≤ ${r.block.toFixed(0)} ms)`;
console.log('| records | full verify (`warden audit verify`) | status, first call (from the checkpoint) | status, next call (+10 records) | status without checkpoints (reads all) |');
console.log('|---:|---|---|---|---|');
for (const [size, full, first, next, none] of rows) console.log(`| ${size.toLocaleString('en-US')} | ${cell(full)} | ${cell(first)} | ${cell(next)} | ${cell(none)} |`);
