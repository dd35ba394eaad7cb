/**
 * Where the pipeline's slow calls come from (its p99): the headline row of bench:pipeline (API key,
 * audit on, one caller yielding to the event loop after each call) for BENCH_S seconds, each call
 * timed, and each slow call (≥ BENCH_SLOW_US) put in one of three kinds — right after a group
 * commit of the decision log (DecisionLog.flushOnce ran since the previous call), during a garbage
 * collection (perf_hooks 'gc' entries), or neither. Before it, the machine's own tail: a fixed
 * piece of CPU work (hashing and JSON, the same every time, a yield between) timed the same way.
 *
 *   npm run build && node bench/pipeline/tail.js
 *
 * Environment knobs: BENCH_S=8, BENCH_SLOW_US=100. The first 20 % of calls are left out (warm-up).
 * Output: a few lines on stdout (not written to a file).
 */
import { createHash } from 'node:crypto';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

import { DecisionLog } from '../../dist/audit/decision-log.js';
import { percentile } from '../common.js';
import { AGENT, TENANT, TOOL, argumentSets, startBenchWarden } from './setup.js';

const SECONDS = Number(process.env.BENCH_S ?? 8);
const SLOW_US = Number(process.env.BENCH_SLOW_US ?? 100);

const fmt = (us) => us.toFixed(1);

/** Times `fn` (awaited) in a loop with a yield after each call; returns [start, end, ...extra] per call, ms. */
async function timed(seconds, fn) {
  const calls = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const before = fn.before?.();
    const t0 = performance.now();
    await fn();
    calls.push([t0, performance.now(), before]);
    await yieldToLoop();
  }
  return calls.slice(Math.floor(calls.length * 0.2));
}

function summary(calls) {
  const us = calls.map(([a, b]) => (b - a) * 1000).sort((x, y) => x - y);
  return { n: us.length, p50: percentile(us, 50), p99: percentile(us, 99), p999: percentile(us, 99.9) };
}

async function main() {
  // The machine: the same ~30 µs of work every time.
  const work = () => {
    const h = createHash('sha256');
    for (let i = 0; i < 60; i++) h.update('abcdefghij'.repeat(20));
    const rows = [];
    for (let i = 0; i < 200; i++) rows.push({ a: i, b: String(i) });
    return h.digest('hex').length + JSON.stringify(rows).length;
  };
  const fixed = summary(await timed(Math.min(4, SECONDS), async () => work()));
  console.log(`fixed CPU work: ${fixed.n.toLocaleString('en-US')} runs, p50 ${fmt(fixed.p50)} µs, p99 ${fmt(fixed.p99)} µs (${(fixed.p99 / fixed.p50).toFixed(1)}x p50), p99.9 ${fmt(fixed.p999)} µs`);

  // The pipeline.
  const flushes = [];
  const flushOnce = DecisionLog.prototype.flushOnce;
  DecisionLog.prototype.flushOnce = function (...a) {
    flushes.push(performance.now());
    return flushOnce.apply(this, a);
  };
  const gcs = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  const { warden, key } = await startBenchWarden();
  const args = argumentSets();
  const credentials = { kind: 'api_key', key };
  let n = 0;
  let seenFlushes = 0;
  const call = () => warden.pipeline.call({ agentId: AGENT, tool: TOOL, tenant: TENANT, args: args[n % args.length], requestId: `tail-${++n}` }, credentials);
  call.before = () => {
    const afterCommit = flushes.length !== seenFlushes;
    seenFlushes = flushes.length;
    return afterCommit;
  };
  const calls = await timed(SECONDS, call);
  observer.disconnect();
  await warden.close();

  const s = summary(calls);
  const slow = calls.filter(([a, b]) => (b - a) * 1000 >= SLOW_US);
  const afterCommit = calls.filter((c) => c[2]);
  const slowAfterCommit = slow.filter((c) => c[2]);
  const duringGc = slow.filter(([a, b]) => gcs.some(([gs, ge]) => gs < b && ge > a));
  const other = slow.filter((c) => !c[2] && !duringGc.includes(c));
  const pct = (k) => `${((100 * k) / calls.length).toFixed(2)} %`;
  const afterUs = summary(afterCommit);
  console.log(`pipeline: ${s.n.toLocaleString('en-US')} calls, p50 ${fmt(s.p50)} µs, p99 ${fmt(s.p99)} µs; ${gcs.length} garbage collections`);
  console.log(`  calls right after a group commit: ${afterCommit.length.toLocaleString('en-US')} (${pct(afterCommit.length)}), p50 ${fmt(afterUs.p50)} µs; ${slowAfterCommit.length} of them ≥ ${SLOW_US} µs`);
  console.log(`  slow calls (≥ ${SLOW_US} µs): ${slow.length.toLocaleString('en-US')} (${pct(slow.length)}): after a commit ${slowAfterCommit.length} (${pct(slowAfterCommit.length)}), during a GC ${duringGc.length}, neither ${other.length} (${pct(other.length)})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
