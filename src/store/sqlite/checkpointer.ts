import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

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
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
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

export interface Checkpointer {
  close(): Promise<void>;
}

export function startCheckpointer(path: string, intervalMs = 1_000): Checkpointer {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { path, module, intervalMs } });
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
