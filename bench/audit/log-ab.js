/**
 * The decision log of this build against another build's ("before") and the raw-insert floor, in
 * interleaved rounds, one process (a shared machine's noise falls on all three alike):
 *
 *   npm run build && BENCH_BEFORE=/tmp/before/dist node --expose-gc bench/audit/log-ab.js
 *   (BENCH_RECORDS=50000 per row, BENCH_ROUNDS=3)
 *
 * "before" is a `git archive` of an older commit, built (see the brief for helpers); without
 * BENCH_BEFORE only the floor and this build run. Per row: records/s (wall clock, until the last
 * record is durable), process CPU µs per record (every thread), and the event loop's share (the
 * main thread's CPU, from /proc on Linux: what the gateway's requests compete with). Each chained
 * row is checked afterwards: records on file against records appended, and the chain verified.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { fmtInt, rawDecisionInsert } from '../common.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 1_024;
const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};
const log = (...a) => console.error(...a);

const builds = [['after (this build)', new URL('../../dist/', import.meta.url).href]];
if (process.env.BENCH_BEFORE) builds.unshift(['before', `${pathToFileURL(resolve(process.env.BENCH_BEFORE)).href}/`]);
const load = async ([label, dist]) => ({
  label,
  DecisionLog: (await import(`${dist}audit/decision-log.js`)).DecisionLog,
  openStore: (await import(`${dist}store/index.js`)).openStore,
  verifyDecisionLog: (await import(`${dist}audit/verify-log.js`)).verifyDecisionLog,
  newAuditId: (await import(`${dist}enforcement/audit-record.js`)).newAuditId,
});
const loaded = await Promise.all(builds.map(load));
const current = loaded[loaded.length - 1];
const base = Date.now();

/** The main thread's CPU µs so far (Linux); undefined elsewhere. */
function mainThreadUs() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

async function timed(fn) {
  gc();
  const cpu = process.cpuUsage();
  const main = mainThreadUs();
  const start = performance.now();
  await fn();
  const secs = (performance.now() - start) / 1e3;
  const used = process.cpuUsage(cpu);
  const mainAfter = mainThreadUs();
  return { perSecond: RECORDS / secs, cpuUs: (used.user + used.system) / RECORDS, mainUs: main === undefined ? undefined : (mainAfter - main) / RECORDS };
}

/** A record of the pipeline's shape (bench/audit/log-throughput.js builds it from a real call; here a copy of one). */
const template = {
  time: base, kind: 'decision', requestId: 'req', tenant: 'acme-corp', agentId: 'support-agent', action: 'tool.call', resourceType: 'tool',
  resourceId: 'read_orders', effect: 'allow', reason: 'support may read orders of its own tenant (policy orders v4, rule support-reads-orders)',
  stage: 'policy', obligations: [], outcome: 'executed', latencyUs: 60636, args: { customer_id: 'c-100000', limit: 25, status: 'open' },
  details: {
    authzenMapping: 'default', matched: ['orders/support-reads-orders'],
    shadow: [{ policy: 'orders-v5-draft', policyVersion: '5', effect: 'deny', reason: 'no rule of this policy matched' }],
    pdpInput: { v: 2, request: { actor: { agent: { roles: ['support'], trust: 'medium' } }, tool: { risk: 'low', effect: 'read' } } },
  },
  policy: 'orders', rule: 'support-reads-orders', policyVersion: '4', bundle: `sha256:${'9e'.repeat(32)}`, resultSummary: { orders: [] },
};

async function freshFile(dir, name) {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.db`);
  await (await current.openStore(`sqlite:${file}`)).close();
  return file;
}

async function floorRow(dir) {
  const file = await freshFile(dir, 'floor');
  const db = new Database(file);
  db.pragma('synchronous = NORMAL');
  const { insert, params } = rawDecisionInsert(db, template, 'floor');
  const hash = `c2:sha256:${'ab'.repeat(32)}`;
  const write = db.transaction((from, to) => {
    for (let i = from; i < to; i++) insert.run({ ...params, seq: i + 1, id: current.newAuditId(base + i), time: base + i, request_id: `req-raw-${i}`, prev_hash: hash, hash });
  });
  const m = await timed(async () => {
    for (let i = 0; i < RECORDS; i += BATCH) write(i, Math.min(RECORDS, i + BATCH));
  });
  const written = db.prepare('SELECT count(*) AS n FROM decisions').get().n;
  db.close();
  return { ...m, lost: RECORDS - written, chain: 'n/a' };
}

async function logRow(dir, build) {
  const file = await freshFile(dir, 'log');
  const store = await build.openStore(`sqlite:${file}`);
  const decisionLog = await build.DecisionLog.open(store, { onError: (e) => log(`  write failed: ${e.message}`) });
  const durable = new Array(RECORDS);
  const m = await timed(async () => {
    for (let n = 0; n < RECORDS; ) {
      while (n < RECORDS && decisionLog.depth < 8 * BATCH) durable[n] = decisionLog.append({ ...template, id: build.newAuditId(base + n), requestId: `req-bench-${n}`, time: base + n++ }).durable;
      await durable[n - decisionLog.depth];
    }
    await durable[RECORDS - 1];
  });
  await decisionLog.close();
  const verdict = await build.verifyDecisionLog(store);
  await store.close();
  const db = new Database(file, { readonly: true });
  const written = db.prepare('SELECT count(*) AS n FROM decisions').get().n;
  db.close();
  return { ...m, lost: RECORDS - written, chain: verdict.ok ? `ok (${fmtInt(verdict.checked)})` : `BROKEN at #${verdict.broken.seq}` };
}

const rows = [['floor: raw INSERT on the event loop, 1,024 per transaction', (dir) => floorRow(dir)], ...loaded.map((b) => [`DecisionLog → SQLite, ${b.label}`, (dir) => logRow(dir, b)])];
const results = rows.map(() => []);
const dir = mkdtempSync(join(os.tmpdir(), 'warden-log-ab-'));
const loadBefore = os.loadavg()[0];
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < rows.length; i++) {
      const r = await rows[i][1](dir);
      results[i].push(r);
      log(`  round ${round + 1} ${rows[i][0].padEnd(60)} ${fmtInt(r.perSecond)} records/s, ${r.cpuUs.toFixed(1)} CPU µs/record (event loop ${r.mainUs?.toFixed(1) ?? '?'}); lost ${r.lost}; chain ${r.chain}`);
    }
    for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`# Decision log A/B (${fmtInt(RECORDS)} records per row, ${ROUNDS} interleaved rounds, medians; ${os.cpus().length} cores, load average ${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)})`);
console.log('');
console.log('| writer | records/s | CPU µs/record (all threads) | event loop CPU µs/record | lost (all rounds) | chains |');
console.log('|---|---:|---:|---:|---:|---|');
for (let i = 0; i < rows.length; i++) {
  const rs = results[i];
  const main = rs.every((r) => r.mainUs !== undefined) ? median(rs.map((r) => r.mainUs)).toFixed(1) : '—';
  console.log(`| ${rows[i][0]} | ${fmtInt(median(rs.map((r) => r.perSecond)))} | ${median(rs.map((r) => r.cpuUs)).toFixed(1)} | ${main} | ${rs.reduce((a, r) => a + r.lost, 0)} | ${[...new Set(rs.map((r) => r.chain.replace(/ \(.*/, '')))].join(', ')} |`);
}
