import { Counter } from 'prom-client';
import type { Warden, WardenLog } from '../warden.js';
import { startTelemetry, type TelemetryHandle } from './start-telemetry.js';

const FAILURES_METRIC = 'warden_telemetry_export_failures_total';

const warnOnStderr: WardenLog = (level, message) => {
  if (level !== 'info') process.stderr.write(`warden ${level}: ${message}\n`);
};

/**
 * The telemetry of a process that runs one Warden (`warden serve`, `warden mcp …`, or an
 * embedding application that asks for it): the SDK started from `warden.config.telemetry`, the
 * pipeline's OpenTelemetry instruments bound to it at once (its gauges are exported before the
 * first call), and failed exports counted on this Warden's /metrics. Off in the config: nothing
 * is started and the handle's shutdown does nothing. `createWarden` never calls this: an
 * embedding application asks for it (`startTelemetry` of the package) or brings its own SDK.
 */
export async function startWardenTelemetry(warden: Warden, log: WardenLog = warnOnStderr): Promise<TelemetryHandle> {
  const handle = await startTelemetry(warden.config, { log, ...(warden.cluster ? { instanceId: warden.cluster.replicaId } : {}) });
  if (!handle.traces && !handle.metrics) return handle;
  warden.telemetry.instruments();
  const registry = warden.telemetry.registry;
  registry.removeSingleMetric(FAILURES_METRIC);
  new Counter({
    name: FAILURES_METRIC,
    help: 'OTLP exports (batches of spans or metrics) that failed, by signal: the data of a failed export is dropped; requests are not affected.',
    labelNames: ['signal'],
    registers: [registry],
    collect() {
      this.reset();
      for (const signal of ['traces', 'metrics'] as const) this.inc({ signal }, handle.failures[signal]);
    },
  });
  return handle;
}
