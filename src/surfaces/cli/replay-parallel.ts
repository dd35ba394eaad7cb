import { Worker } from 'node:worker_threads';
import type { PostgresSettings } from '../../store/open-store.js';
import { guardPolicyOptions } from '../../guards/default-policies.js';
import { loadPolicyFolder } from '../../policy/load.js';
import type { PolicySet } from '../../policy/policy-set.js';
import { replayInto } from '../../replay/replay.js';
import { ReportBuilder, type ReplayReport, type ReportState } from '../../replay/replay-report.js';
import { rangePages, seqRange, type RecordFilter } from '../../store/decision-pages.js';
import { openReadOnlyLog } from '../../store/open-read-only-log.js';

/** What one share of a replay needs: where the log is, which records, which policies. */
export interface ReplayShare {
  url: string;
  postgres?: PostgresSettings;
  filter: RecordFilter;
  range: { first: number; last: number };
  currentDir: string;
  candidateDir: string;
  defaultGuards: boolean;
  dryRuns?: boolean;
  samples: number;
}

export type WorkerMessage = { kind: 'progress'; read: number } | { kind: 'done'; state: ReportState; bundles: [string, string] } | { kind: 'error'; message: string };

/** Loads a policy folder as the gateway does; throws with the diagnostics when it does not load. */
export async function loadSet(dir: string, defaultGuards: boolean, which: string): Promise<PolicySet> {
  const { policySet, diagnostics } = await loadPolicyFolder(dir, guardPolicyOptions(defaultGuards));
  if (!policySet) throw new Error(`the ${which} policies in ${dir} do not load: ${diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.line}: ${d.message}`).join('; ')}`);
  return policySet;
}

/** Replays one share of the log into a builder (in a worker thread, or in this one). */
export async function replayShare(share: ReplayShare, sets: { current: PolicySet; candidate: PolicySet }, onPage?: (read: number) => void): Promise<ReportBuilder> {
  const log = await openReadOnlyLog(share.url, { postgres: share.postgres });
  try {
    const builder = new ReportBuilder({ samples: share.samples });
    await replayInto(builder, rangePages(log, share.filter, share.range), { ...sets, dryRuns: share.dryRuns }, onPage);
    return builder;
  } finally {
    await log.close();
  }
}

/**
 * A whole-window replay, split by seq range across `threads` worker threads (default 1: this
 * thread), each reading its range of the log read-only and deciding it; their counts are
 * merged. Each worker loads the policy folders itself and must arrive at the same bundles.
 */
export async function replayInParallel(
  base: Omit<ReplayShare, 'range'>,
  sets: { current: PolicySet; candidate: PolicySet },
  options: { threads?: number; from?: number; to?: number; onProgress?: (read: number, ms: number) => void },
): Promise<ReplayReport> {
  const started = performance.now();
  const log = await openReadOnlyLog(base.url, { postgres: base.postgres });
  let range: { first: number; last: number } | undefined;
  try {
    range = await seqRange(log, base.filter);
  } finally {
    await log.close();
  }
  const builder = new ReportBuilder({ samples: base.samples });
  const size = range ? range.last - range.first + 1 : 0;
  // One thread unless asked: a replay should not take every core of a machine that also serves.
  // With cores to spare each thread adds about one core's worth (bench:replay, quiet 2-core
  // machine: 1M records in 41 s with one thread, 28 s with two); on a busy machine it adds little,
  // and each worker compiles the policies again.
  const threads = Math.max(1, Math.min(options.threads ?? 1, size));
  const progress = (read: number) => options.onProgress?.(read, performance.now() - started);
  if (range && threads === 1) {
    builder.merge((await replayShare({ ...base, range }, sets, progress)).state());
  } else if (range) {
    const step = Math.ceil(size / threads);
    const reads = new Array<number>(threads).fill(0);
    const shares = Array.from({ length: threads }, (_, i) => ({ ...base, range: { first: range!.first + i * step, last: Math.min(range!.last, range!.first + (i + 1) * step - 1) } }));
    const states = await Promise.all(
      shares.map(
        (share, i) =>
          new Promise<ReportState>((resolve, reject) => {
            const worker = new Worker(new URL('./replay-worker.js', import.meta.url), { workerData: share });
            worker.on('message', (m: WorkerMessage) => {
              if (m.kind === 'progress') {
                reads[i] = m.read;
                progress(reads.reduce((a, b) => a + b, 0));
              } else if (m.kind === 'error') reject(new Error(m.message));
              else if (m.bundles[0] !== sets.current.bundle || m.bundles[1] !== sets.candidate.bundle) reject(new Error('a policy folder changed while replaying; run it again'));
              else resolve(m.state);
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (code !== 0) reject(new Error(`a replay worker stopped (exit ${code})`));
            });
          }),
      ),
    );
    for (const state of states) builder.merge(state);
  }
  return builder.build({ current: sets.current.bundle, candidate: sets.candidate.bundle, from: options.from, to: options.to, truncated: false, elapsedMs: performance.now() - started });
}
