import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { context, metrics, propagation, ProxyTracerProvider, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { WardenConfig } from '../../config/load-config.js';
import { durationMs } from '../../lib/duration.js';
import { SecretResolver } from '../../upstream/secrets.js';
import { secretProviders } from '../secret-providers.js';
import { WardenConfigError, type WardenLog } from '../warden.js';
import { ExportFailures } from './export-failures.js';

/** The OpenTelemetry SDK of this process, as `telemetry:` in warden.yaml started it. */
export interface TelemetryHandle {
  /** Which signals are exported (neither: telemetry is off and this handle does nothing). */
  readonly traces: boolean;
  readonly metrics: boolean;
  /** The collector's base URL, credentials removed (for logs); absent when off. */
  readonly endpoint?: string;
  /** Exports that failed since start, by signal. */
  readonly failures: Readonly<Record<'traces' | 'metrics', number>>;
  /**
   * Exports what is buffered (spans, a last round of metrics), each export bounded by
   * `otlp.timeout`, then unregisters the providers. Never throws; safe to call twice.
   */
  shutdown(): Promise<void>;
}

export interface StartTelemetryOptions {
  log?: WardenLog;
  /** `service.instance.id` (default: a random UUID per start; a replica's id when it has one). */
  instanceId?: string;
  /** Where OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SDK_DISABLED are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** How long attribute values may be: agent and tool names come from callers. */
const SPAN_LIMITS = { attributeValueLengthLimit: 256, attributeCountLimit: 64, eventCountLimit: 32, linkCountLimit: 8 };
/** Failed exports are logged at most this often per signal. */
const LOG_FAILURES_EVERY_MS = 60_000;

const OFF: TelemetryHandle = { traces: false, metrics: false, failures: { traces: 0, metrics: 0 }, shutdown: async () => undefined };

/**
 * Starts the OpenTelemetry SDK for this process as `config.telemetry` asks: a tracer provider
 * (parent-based ratio sampler, batch span processor, OTLP/HTTP JSON exporter) and a meter
 * provider (periodic reader, OTLP/HTTP exporter), registered with the OpenTelemetry API, so the
 * spans and metrics Warden records through the API (enforcement/telemetry.ts, the surfaces) are
 * exported. Only process entry points call this (`warden serve`, `warden mcp …`); `createWarden`
 * never does, so an embedding application keeps its own SDK.
 *
 * Exports happen in the background: a collector that is down or slow costs a dropped batch and a
 * log line a minute, never a request. Secrets in `otlp.headers` are resolved at start (a missing
 * one is a configuration error) and again at each export (a rotated one is picked up).
 */
export async function startTelemetry(config: WardenConfig, options: StartTelemetryOptions = {}): Promise<TelemetryHandle> {
  const t = config.telemetry;
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  if (!t.traces.enabled && !t.metrics.enabled) return OFF;
  if (String(env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') {
    log('info', 'telemetry: OTEL_SDK_DISABLED=true in the environment; nothing is exported');
    return OFF;
  }

  const endpoint = collectorEndpoint(t.otlp.endpoint, env);
  const headers = await exportHeaders(config);
  const timeoutMillis = durationMs(t.otlp.timeout);
  const exporterOptions = (signal: string) => ({ url: `${endpoint}/v1/${signal}`, headers, timeoutMillis });
  const resource = telemetryResource(config, options.instanceId ?? randomUUID());
  const failures = new ExportFailures(log, LOG_FAILURES_EVERY_MS);
  const stops: Array<() => Promise<void>> = [];

  let traces = false;
  if (t.traces.enabled) {
    if (tracerProviderRegistered()) {
      log('warn', 'telemetry: another OpenTelemetry tracer provider is registered in this process; telemetry.traces is left to it');
    } else {
      const provider = new NodeTracerProvider({
        resource,
        sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(t.traces.sample_ratio) }),
        spanLimits: SPAN_LIMITS,
        spanProcessors: [new BatchSpanProcessor(failures.watch('traces', new OTLPTraceExporter(exporterOptions('traces'))), { exportTimeoutMillis: timeoutMillis })],
      });
      // Also the AsyncLocalStorage context manager (spans nest across awaits) and the W3C
      // traceparent propagator (a caller's trace is joined).
      provider.register();
      traces = true;
      stops.push(async () => {
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
        }
      });
    }
  }

  let exportsMetrics = false;
  if (t.metrics.enabled) {
    const intervalMs = durationMs(t.metrics.interval);
    const provider = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: failures.watch('metrics', new OTLPMetricExporter(exporterOptions('metrics'))),
          exportIntervalMillis: intervalMs,
          // The reader refuses a timeout longer than its interval.
          exportTimeoutMillis: Math.min(timeoutMillis, intervalMs),
        }),
      ],
    });
    if (metrics.setGlobalMeterProvider(provider)) {
      exportsMetrics = true;
      stops.push(async () => {
        try {
          await provider.shutdown();
        } finally {
          metrics.disable();
        }
      });
    } else {
      log('warn', 'telemetry: another OpenTelemetry meter provider is registered in this process; telemetry.metrics is left to it');
      await provider.shutdown().catch(() => undefined);
    }
  }

  if (!traces && !exportsMetrics) return OFF;
  const shown = withoutCredentials(endpoint);
  log('info', `telemetry: ${[traces ? `traces (sample ratio ${t.traces.sample_ratio})` : '', exportsMetrics ? `metrics (every ${t.metrics.interval})` : ''].filter(Boolean).join(' and ')} to ${shown} over OTLP/HTTP`);
  let stopping: Promise<void> | undefined;
  return {
    traces,
    metrics: exportsMetrics,
    endpoint: shown,
    failures: failures.counts,
    shutdown() {
      // Each provider's shutdown exports what it holds, bounded by the exporter's timeout; the
      // overall bound is a backstop for a collector that accepts and never answers.
      stopping ??= Promise.all(stops.map((stop) => withDeadline(stop(), timeoutMillis + 1_000))).then(() => undefined);
      return stopping;
    },
  };
}

/** `telemetry.otlp.endpoint`, else the standard OTEL_EXPORTER_OTLP_ENDPOINT, else a local collector. */
function collectorEndpoint(configured: string | undefined, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const endpoint = configured ?? (fromEnv || 'http://localhost:4318');
  if (!configured && fromEnv && !/^https?:\/\/[^\s]+$/i.test(fromEnv)) {
    throw new WardenConfigError(`telemetry: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL, not "${fromEnv.slice(0, 100)}"`);
  }
  return endpoint.replace(/\/+$/, '');
}

/**
 * The export headers, as a function the exporter calls at each export: `${secret:…}` resolved
 * (cached by the resolver), the last good value kept if a secret cannot be read any more. Checked
 * once here, so that a missing secret stops the start with its name.
 */
async function exportHeaders(config: WardenConfig): Promise<() => Promise<Record<string, string>>> {
  const configured = Object.entries(config.telemetry.otlp.headers);
  const secrets = new SecretResolver(secretProviders(config));
  const resolve = async () => Object.fromEntries(await Promise.all(configured.map(async ([name, value]) => [name, await secrets.interpolate(value)] as const)));
  let last: Record<string, string>;
  try {
    last = await resolve();
  } catch (error) {
    throw new WardenConfigError(`telemetry.otlp.headers: ${(error as Error).message}`);
  }
  return async () => {
    try {
      last = await resolve();
    } catch {
      // keep exporting with the value that worked: a secret store hiccup is not a reason to stop
    }
    return last;
  };
}

function telemetryResource(config: WardenConfig, instanceId: string): Resource {
  return defaultResource().merge(
    resourceFromAttributes({
      ...config.telemetry.resource_attributes,
      'service.name': config.telemetry.service_name,
      'service.version': wardenVersion(),
      'service.instance.id': instanceId,
    }),
  );
}

let version: string | undefined;
function wardenVersion(): string {
  try {
    // src/services/telemetry and dist/services/telemetry are both three folders below package.json.
    version ??= String((JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    version = 'unknown';
  }
  return version;
}

/** Whether a tracer provider (another SDK, an earlier start) is registered with the API already. */
function tracerProviderRegistered(): boolean {
  const global = trace.getTracerProvider();
  return global instanceof ProxyTracerProvider && global.getDelegate() !== new ProxyTracerProvider().getDelegate();
}

function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return url;
  }
}

async function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
