import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { INDEX_STEP_SQL } from './reason-index.js';

/*
 * SQLite's automatic WAL checkpoint runs inside whichever commit crosses the threshold, on the
 * event loop: a request that happens to commit then waits milliseconds (measured in
 * bench/pipeline: p99.9 of a small write 8 ms with it, 0.65 ms without). Instead the main
 * connection turns it off and a worker thread, on its own connection, checkpoints passively every
 * second (a passive checkpoint never blocks writers).
 */
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const idx = workerData.reasons;
let index;
let lastHead;
function indexReasons() {
  if (!index) {
    index = {
      head: db.prepare('SELECT MAX(seq) AS seq FROM decisions'),
      cursor: db.prepare(idx.sql.cursor),
      insert: db.prepare(idx.sql.insert),
      last: db.prepare(idx.sql.last),
      move: db.prepare(idx.sql.move),
    };
    index.step = db.transaction(() => {
      const from = index.cursor.get()?.seq ?? 0;
      const to = index.last.get(from, idx.chunk)?.seq;
      if (to === null || to === undefined) return;
      index.insert.run(from, idx.chunk);
      index.move.run(to);
    });
  }
  const head = index.head.get()?.seq ?? 0;
  const rate = lastHead === undefined ? 0 : head - lastHead;
  lastHead = head;
  const lag = head - (index.cursor.get()?.seq ?? head);
  if (lag > 0 && (rate < idx.quietBelow || lag >= idx.forceLag)) index.step.immediate();
}
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  try { indexReasons(); } catch {}
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'close') {
    clearInterval(timer);
    try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    db.close();
    process.exit(0);
  }
});
`;

/**
 * The worker also indexes reasons for the log's search (reason-index.ts), off the log's write
 * path: a chunk per tick while the log is quiet (fewer than `quietBelow` records written since the
 * last tick), or regardless once `forceLag` records wait (the tail a search scans stays bounded).
 */
const REASON_INDEXING = { sql: INDEX_STEP_SQL, chunk: 5_000, quietBelow: 2_000, forceLag: 100_000 };

export interface Checkpointer {
  close(): Promise<void>;
}

export function startCheckpointer(path: string, intervalMs = 1_000): Checkpointer {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { path, module, intervalMs, reasons: REASON_INDEXING } });
  worker.unref();
  // A failing checkpointer only means checkpoints happen later (at close); never crash for it.
  worker.on('error', () => undefined);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        // Unreferenced, the worker would not keep the process alive until it has exited.
        worker.ref();
        worker.postMessage('close');
        setTimeout(() => void worker.terminate().then(() => resolve()), 2_000).unref();
      }),
  };
}
