import type { WardenLog } from '../warden.js';

export type Signal = 'traces' | 'metrics';

/** What an OTLP exporter reports for one export (ExportResult of @opentelemetry/core: 0 is success). */
interface ExportResult {
  code: number;
  error?: Error;
}

/**
 * Failed exports, counted per signal and logged at most once per `logEveryMs` (with how many
 * failed since the last line): a collector that is down must neither flood the log nor go
 * unnoticed. The counts are served on /metrics (`warden_telemetry_export_failures_total`).
 */
export class ExportFailures {
  readonly counts: Record<Signal, number> = { traces: 0, metrics: 0 };
  private readonly lastLogged: Record<Signal, number> = { traces: -Infinity, metrics: -Infinity };
  private readonly unlogged: Record<Signal, number> = { traces: 0, metrics: 0 };

  constructor(
    private readonly log: WardenLog,
    private readonly logEveryMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Wraps `exporter.export` so that every result is seen here first; the exporter is returned. */
  watch<E extends { export(items: never, done: (result: ExportResult) => void): void }>(signal: Signal, exporter: E): E {
    const target = exporter as unknown as { export: (items: unknown, done: (result: ExportResult) => void) => void };
    const exportBatch = target.export.bind(exporter);
    target.export = (items, done) =>
      exportBatch(items, (result) => {
        if (result.code !== 0) this.failed(signal, result.error);
        done(result);
      });
    return exporter;
  }

  private failed(signal: Signal, error: Error | undefined): void {
    this.counts[signal]++;
    this.unlogged[signal]++;
    const now = this.clock();
    if (now - this.lastLogged[signal] < this.logEveryMs) return;
    const n = this.unlogged[signal];
    this.lastLogged[signal] = now;
    this.unlogged[signal] = 0;
    // The exporter's message names the collector's address or status, never the headers sent.
    const why = (error?.message ?? 'unknown error').replace(/\s+/g, ' ').slice(0, 200);
    this.log('warn', `telemetry: ${n === 1 ? 'an export' : `${n} exports`} of ${signal} failed (${why}); requests are not affected, the data is dropped; next report in ${Math.round(this.logEveryMs / 1000)}s at the earliest`);
  }
}
