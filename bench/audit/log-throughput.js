/**
 * The decision log's write throughput against its floor, in one run (issue 17's target: ≥ 50,000
 * chained, durable records/s, verified afterwards, none lost).
 *
 *   npm run build && node --expose-gc bench/audit/log-throughput.js      (BENCH_RECORDS=200000, BENCH_EXTRAS=1)
 *
 * Every row writes BENCH_RECORDS records shaped like the pipeline's (a real record of an allowed
 * read, ~1.0 KB since the recorded request is stored compact — model/compact-recorded-request.ts;
 * ~1.7 KB before — with a fresh UUIDv7 id, request id and time each) to a fresh SQLite file with
 * the store's schema, as fast as it will take them, until the last one is durable:
 * - floor: raw better-sqlite3 INSERTs, prepared, 1,024 rows per transaction, no hashing;
 * - DecisionLog → SQLite: the log as the gateway runs it (records sealed — body hashed — when
 *   appended, linked and inserted in one transaction per batch, on the event loop); the producer
 *   refills the queue whenever it falls below 8 batches;
 * - writer thread (prototype, not in the product): the main thread seals, a worker thread links
 *   and inserts on its own connection, two batches in flight; what moving the insert off the
 *   event loop would give on this machine.
 * Each chained row is then checked: records on file against records appended (lost), and the
 * chain by verifyDecisionLog. Rows: records/s (wall clock) and process CPU µs per record (all
 * threads), the figure that survives a shared machine best. Linkers in isolation: CPU µs per
 * record of chain format 1 (the whole record hashed inside the lock) and format 2 (seal + link).
 * BENCH_EXTRAS=1 adds a floor row without the decisions table's secondary indexes and triggers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { DecisionLog, linkRecord, sealEntry } from '../../dist/audit/decision-log.js';
import { bodyHash, GENESIS_HASH, recordHash } from '../../dist/audit/hash-chain.js';
import { verifyDecisionLog } from '../../dist/audit/verify-log.js';
import { newAuditId } from '../../dist/enforcement/audit-record.js';
import { toWellFormed } from '../../dist/model/well-formed.js';
import { openStore } from '../../dist/store/index.js';
import { AGENT, TENANT, TOOL, argumentSets, startBenchWarden } from '../pipeline/setup.js';
import { fmtInt, rawDecisionInsert } from '../common.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 200_000);
const EXTRAS = process.env.BENCH_EXTRAS === '1';
const TARGET = 50_000;
const BATCH = 1_024;
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};
const log = (...a) => console.error(...a);

/** A real record of the pipeline (an allowed read with its pdpInput), without its chain fields. */
async function pipelineTemplate() {
  const { warden, key, dir } = await startBenchWarden();
  try {
    const result = await warden.pipeline.call({ agentId: AGENT, tool: TOOL, tenant: TENANT, args: argumentSets()[0], requestId: `bench-${randomUUID()}` }, { kind: 'api_key', key });
    if (result.status !== 'executed') throw new Error(`the template call did not execute: ${result.status}`);
    await warden.audit.flush();
    const { seq: _s, prevHash: _p, hash: _h, ...entry } = await warden.store.getDecision(result.auditId);
    return entry;
  } finally {
    await warden.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const base = Date.now();
const fresh = (template, i) => ({ ...template, id: newAuditId(base + i), requestId: `req-bench-${i}`, time: base + i });

/** Runs `fn`; wall seconds and process CPU µs per record (every thread of the process). */
async function timed(fn) {
  gc();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const secs = (performance.now() - start) / 1e3;
  const used = process.cpuUsage(cpu);
  return { perSecond: RECORDS / secs, cpuUs: (used.user + used.system) / RECORDS, secs };
}

async function freshFile(dir, name) {
  const file = join(dir, `${name}.db`);
  await (await openStore(`sqlite:${file}`)).close(); // the store's schema, every migration applied
  return file;
}

async function floorRow(dir, template, { bare = false } = {}) {
  const file = await freshFile(dir, bare ? 'floor-bare' : 'floor');
  const db = new Database(file);
  db.pragma('synchronous = NORMAL');
  let dropped = 0;
  if (bare) {
    for (const { type, name } of db.prepare("SELECT type, name FROM sqlite_master WHERE tbl_name = 'decisions' AND type IN ('index', 'trigger') AND sql IS NOT NULL").all()) {
      db.exec(`DROP ${type.toUpperCase()} ${name}`);
      dropped++;
    }
  }
  const { insert, params } = rawDecisionInsert(db, template, 'floor');
  const hash = `sha256:${'ab'.repeat(32)}`;
  const write = db.transaction((from, to) => {
    for (let i = from; i < to; i++) insert.run({ ...params, seq: i + 1, id: newAuditId(base + i), time: base + i, request_id: `req-raw-${i}`, prev_hash: hash, hash });
  });
  const m = await timed(async () => {
    for (let i = 0; i < RECORDS; i += BATCH) write(i, Math.min(RECORDS, i + BATCH));
  });
  const written = db.prepare('SELECT count(*) AS n FROM decisions').get().n;
  db.close();
  const label = bare ? `floor without the table's ${dropped} secondary indexes and triggers (extra)` : 'floor: raw INSERT, same table, indexes and triggers, no hashing';
  return { label, ...m, written, lost: RECORDS - written, chain: 'n/a (no chain)' };
}

/** Records on file against those appended, and the chain's verdict. */
async function check(file) {
  const store = await openStore(`sqlite:${file}`);
  try {
    const db = new Database(file, { readonly: true });
    const written = db.prepare('SELECT count(*) AS n FROM decisions').get().n;
    db.close();
    const verdict = await verifyDecisionLog(store);
    return { written, lost: RECORDS - written, chainOk: verdict.ok, chain: verdict.ok ? `ok (${fmtInt(verdict.checked)} verified)` : `BROKEN at #${verdict.broken.seq}` };
  } finally {
    await store.close();
  }
}

async function decisionLogRow(dir, template) {
  const file = await freshFile(dir, 'log');
  const store = await openStore(`sqlite:${file}`);
  const decisionLog = await DecisionLog.open(store, { onError: (e) => log(`  write failed: ${e.message}`) });
  const high = 8 * BATCH;
  const m = await timed(async () => {
    let last;
    for (let n = 0; n < RECORDS; ) {
      while (n < RECORDS && decisionLog.depth < high) last = decisionLog.append(fresh(template, n++)).durable;
      await yieldToLoop();
    }
    await last;
  });
  await decisionLog.close();
  await store.close();
  return { label: 'DecisionLog → SQLite (chained, durable; the product)', ...m, ...(await check(file)) };
}

/** The writer-thread prototype: links and inserts on a worker's own connection. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { openStore } = await import(workerData.dist + 'store/index.js');
  const { linkHash, GENESIS_HASH } = await import(workerData.dist + 'audit/hash-chain.js');
  const store = await openStore('sqlite:' + workerData.file);
  parentPort.on('message', async (m) => {
    if (m === 'close') { await store.close(); parentPort.postMessage('closed'); return; }
    const bodies = new Map(m.entries.map((e, i) => [e, m.bodies[i]]));
    const records = await store.appendChained(m.entries, (entry, previous) => {
      const seq = (previous ? previous.seq : 0) + 1;
      const prevHash = previous ? previous.hash : GENESIS_HASH;
      return { ...entry, seq, prevHash, hash: linkHash(prevHash, seq, bodies.get(entry)) };
    });
    parentPort.postMessage({ id: m.id, last: records[records.length - 1].seq });
  });
  parentPort.postMessage('ready');
})();`;

async function writerThreadRow(dir, template) {
  const file = await freshFile(dir, 'thread');
  const worker = new Worker(WORKER, { eval: true, workerData: { dist: DIST, file } });
  await new Promise((resolve) => worker.once('message', resolve));
  const waiting = new Map();
  worker.on('message', (m) => {
    if (m === 'closed') return;
    waiting.get(m.id)?.();
    waiting.delete(m.id);
  });
  let id = 0;
  const m = await timed(async () => {
    const inFlight = [];
    for (let n = 0; n < RECORDS; ) {
      const entries = [];
      const bodies = [];
      for (const end = Math.min(RECORDS, n + BATCH); n < end; n++) {
        const entry = toWellFormed(fresh(template, n));
        entries.push(entry);
        bodies.push(bodyHash(entry));
      }
      const batchId = ++id;
      inFlight.push(new Promise((resolve) => waiting.set(batchId, resolve)));
      worker.postMessage({ id: batchId, entries, bodies });
      if (inFlight.length >= 2) await inFlight.shift();
    }
    await Promise.all(inFlight);
  });
  const closed = new Promise((resolve) => worker.on('message', (msg) => msg === 'closed' && resolve()));
  worker.postMessage('close');
  await closed;
  await worker.terminate();
  return { label: 'writer thread (prototype): main seals, a worker links and inserts', ...m, ...(await check(file)) };
}

/** CPU µs per record of each chain format's work, in isolation (no store). */
function linkers(template) {
  const n = 20_000;
  const entries = Array.from({ length: n }, (_, i) => fresh(template, i));
  const cpuOf = (fn) => {
    gc();
    const cpu = process.cpuUsage();
    fn();
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  };
  const format1 = cpuOf(() => {
    let previous;
    for (const entry of entries) {
      const unsigned = { ...toWellFormed(entry), seq: (previous?.seq ?? 0) + 1, prevHash: previous?.hash ?? GENESIS_HASH };
      previous = { ...unsigned, hash: recordHash(unsigned) };
    }
  });
  const copies = Array.from({ length: n }, (_, i) => fresh(template, i));
  const seal = cpuOf(() => {
    for (let i = 0; i < n; i++) copies[i] = sealEntry(copies[i]);
  });
  const link = cpuOf(() => {
    let previous;
    for (const entry of copies) previous = linkRecord(entry, previous);
  });
  return { format1, seal, link };
}

async function main() {
  const loadBefore = os.loadavg();
  const template = await pipelineTemplate();
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-log-bench-'));
  try {
    log(`record: ${JSON.stringify(template).length} bytes of JSON; ${fmtInt(RECORDS)} records per row`);
    const rows = [];
    const add = (row) => {
      rows.push(row);
      log(`  ${row.label.padEnd(72)} ${fmtInt(row.perSecond)} records/s, ${row.cpuUs.toFixed(1)} CPU µs/record; lost ${row.lost}; chain ${row.chain}`);
    };
    add(await floorRow(dir, template));
    add(await decisionLogRow(dir, template));
    add(await writerThreadRow(dir, template));
    if (EXTRAS) add(await floorRow(dir, template, { bare: true }));
    const l = linkers(template);
    const loadAfter = os.loadavg();

    const cpus = os.cpus();
    console.log('# Decision log throughput');
    console.log('');
    console.log(
      `Machine: ${cpus[0]?.model ?? '?'}, ${cpus.length} cores (shared: load average ${loadBefore[0].toFixed(2)} before, ${loadAfter[0].toFixed(2)} after); ` +
        `Node ${process.version}; ${fmtInt(RECORDS)} records of ${JSON.stringify(template).length} bytes per row; SQLite file in ${os.tmpdir()} (WAL, synchronous=NORMAL)`,
    );
    console.log('');
    console.log('| writer | records/s | CPU µs/record (all threads) | vs floor | written | lost | chain |');
    console.log('|---|---:|---:|---:|---:|---:|---|');
    const floor = rows[0].perSecond;
    for (const r of rows) console.log(`| ${r.label} | ${fmtInt(r.perSecond)} | ${r.cpuUs.toFixed(1)} | ${(r.perSecond / floor).toFixed(2)} | ${fmtInt(r.written)} | ${r.lost} | ${r.chain} |`);
    console.log('');
    console.log(`Linkers in isolation, CPU µs/record: format 1 (whole record hashed in the lock) ${l.format1.toFixed(1)}; format 2: seal (on the caller's path, outside the lock) ${l.seal.toFixed(1)} + link (in the lock) ${l.link.toFixed(2)}.`);
    console.log('');
    const product = rows[1];
    const chained = rows.filter((r) => r.chainOk !== undefined);
    console.log(`- ${product.perSecond >= TARGET ? 'PASS' : 'FAIL'} ≥ ${fmtInt(TARGET)} chained, durable records/s (DecisionLog → SQLite): ${fmtInt(product.perSecond)} records/s (floor ${fmtInt(floor)})`);
    console.log(`- ${chained.every((r) => r.lost === 0 && r.chainOk) ? 'PASS' : 'FAIL'} zero records lost, chains verify: ${chained.map((r) => `${r.lost} lost, chain ${r.chain}`).join('; ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
