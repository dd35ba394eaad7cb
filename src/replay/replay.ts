import type { PolicySet } from '../policy/policy-set.js';
import type { RecordHead } from '../store/decision-pages.js';
import { decideBoth, JointMemo } from './joint-decide.js';
import { replayCase } from './replay-input.js';
import { ReportBuilder, type ReplayReport, type ReportOptions } from './replay-report.js';

export interface ReplayOptions extends ReportOptions {
  current: PolicySet;
  candidate: PolicySet;
  /** Decide dry runs again too (they are skipped by default: they are not traffic). */
  dryRuns?: boolean;
  /** The window asked for, for the report. */
  from?: number;
  to?: number;
  /** Called after each page with the records read so far. */
  onProgress?: (read: number, elapsedMs: number) => void;
  /** Whether the source stopped at its record bound (for the report). */
  truncated?: () => boolean;
  clock?: () => number;
}

/**
 * Decides every logged request of `pages` again with the current and the candidate policy sets
 * and reports what would change. Reads the records only; writes nothing anywhere. Pages are
 * handled one at a time, so memory stays bounded whatever the size of the log; the event loop is
 * given back between pages (a gateway serving the HTTP endpoint keeps serving).
 */
export async function replay(pages: AsyncIterable<readonly RecordHead[]>, options: ReplayOptions): Promise<ReplayReport> {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const report = new ReportBuilder(options);
  await replayInto(report, pages, options, (read) => options.onProgress?.(read, clock() - started));
  return report.build({
    current: options.current.bundle,
    candidate: options.candidate.bundle,
    from: options.from,
    to: options.to,
    truncated: options.truncated?.() ?? false,
    elapsedMs: clock() - started,
  });
}

/** Replays `pages` into `report` (a share of the log, when several threads split it). */
export async function replayInto(report: ReportBuilder, pages: AsyncIterable<readonly RecordHead[]>, options: Pick<ReplayOptions, 'current' | 'candidate' | 'dryRuns' | 'sampleRecords'>, onPage?: (read: number) => void): Promise<void> {
  const memo = new JointMemo();
  for await (const page of pages) {
    for (const record of page) replayOne(record, options, report, memo);
    onPage?.(report.readCount);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function replayOne(record: RecordHead, options: Pick<ReplayOptions, 'current' | 'candidate' | 'dryRuns' | 'sampleRecords'>, report: ReportBuilder, memo: JointMemo): void {
  report.seen(record);
  const c = replayCase(record, { dryRuns: options.dryRuns, keepRecord: options.sampleRecords });
  if (!c.ok) {
    report.skip(c.skipped);
    return;
  }
  report.add(record, c.input, decideBoth(options.current, options.candidate, c.input, memo));
}
