/**
 * What the request-id journal (src/enforcement/request-id-journal.ts) costs a call, against the
 * alternative of making every read wait for its durable decision record (audit.durable_reads).
 * Three Wardens in one process, each on its own SQLite file, the same in-process tool and setup as
 * run.js: with the journal (the default for a SQLite file), without it (a store handed to
 * createWarden), and with durable_reads. Rounds of AB_PER calls alternate between them (order
 * reversed every other round, two warm-up rounds not counted), so machine load hits all three
 * alike. One caller, a fresh request id per call, a yield to the event loop after each call (where
 * the group commit runs), as in run.js.
 *
 *   npm run build && node --expose-gc bench/pipeline/replay-journal.js   (AB_ROUNDS=20 AB_PER=2000)
 */
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createWarden } from '../../dist/services/warden.js';
import { openStore } from '../../dist/store/index.js';
import { AGENT, TENANT, TOOL, argumentSets, readOrdersExecutor, startBenchWarden } from './setup.js';

const withJournal = await startBenchWarden();
const base = await startBenchWarden();
await base.warden.close();
const noJournal = { ...base, warden: await createWarden({ config: join(base.dir, 'warden.yaml'), store: await openStore(`sqlite:${base.dbFile}`) }) };
noJournal.warden.tools.useExecutor(TOOL, readOrdersExecutor);
const durable = await startBenchWarden({ extraConfig: 'audit: { durable_reads: true, max_batch: 1024 }' });
const args = argumentSets();
let n = 0;
const variants = { journal: withJournal, 'no journal': noJournal, 'durable reads': durable };
const samples = { journal: [], 'no journal': [], 'durable reads': [] };
const elapsed = { journal: 0n, 'no journal': 0n, 'durable reads': 0n };
const calls = { journal: 0, 'no journal': 0, 'durable reads': 0 };
const ROUNDS = Number(process.env.AB_ROUNDS ?? 20), PER = Number(process.env.AB_PER ?? 2000);
for (let round = 0; round < ROUNDS + 2; round++) {
  for (const [name, v] of round % 2 ? Object.entries(variants) : Object.entries(variants).reverse()) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < PER; i++) {
      const t = process.hrtime.bigint();
      const r = await v.warden.call({ agentId: AGENT, tenant: TENANT, tool: TOOL, args: args[n % args.length], requestId: `ab-${++n}`, via: 'http' }, { kind: 'api_key', key: v.key });
      const d = process.hrtime.bigint() - t;
      if (r.status !== 'executed') throw new Error(r.decision.reason);
      if (round >= 2) samples[name].push(Number(d) / 1000);
      await yieldToLoop();
    }
    if (round >= 2) { elapsed[name] += process.hrtime.bigint() - start; calls[name] += PER; }
  }
}
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor(a.length * p))];
for (const name of Object.keys(variants)) {
  const a = samples[name].sort((x, y) => x - y);
  console.log(`${name.padEnd(11)} p50 ${pct(a, 0.5).toFixed(1)} µs  p90 ${pct(a, 0.9).toFixed(1)} µs  p99 ${pct(a, 0.99).toFixed(1)} µs  ${(calls[name] / (Number(elapsed[name]) / 1e9)).toFixed(0)} calls/s (1 caller, yields and log writes included), ${a.length} samples`);
}
await withJournal.warden.close();
await noJournal.warden.close();
await durable.warden.close();
