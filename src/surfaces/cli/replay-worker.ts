import { parentPort, workerData } from 'node:worker_threads';
import { loadSet, replayShare, type ReplayShare, type WorkerMessage } from './replay-parallel.js';

/** One worker thread of `warden replay`: its share of the log, counted, sent back (replay-parallel.ts). */
const share = workerData as ReplayShare;
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
try {
  const current = await loadSet(share.currentDir, share.defaultGuards, 'current');
  const candidate = await loadSet(share.candidateDir, share.defaultGuards, 'candidate');
  const builder = await replayShare(share, { current, candidate }, (read) => post({ kind: 'progress', read }));
  post({ kind: 'done', state: builder.state(), bundles: [current.bundle, candidate.bundle] });
} catch (error) {
  post({ kind: 'error', message: (error as Error)?.message ?? String(error) });
}
