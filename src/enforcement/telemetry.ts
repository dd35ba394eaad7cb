import { metrics, SpanKind, SpanStatusCode, trace, type Attributes, type Counter as OtelCounter, type Histogram as OtelHistogram, type MeterProvider, type Span } from '@opentelemetry/api';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Surface } from './exchange.js';

/** One exchange as metrics count it. */
export interface ExchangeMeasure {
  surface: Surface;
  /** `call` (the full pipeline), `decision` (the decision API), `dry_run`. */
  kind: 'call' | 'decision' | 'dry_run';
  tool: string;
  effect: string;
  stage: string;
  status: string;
  started: bigint;
}

const LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** The OpenTelemetry instruments of one meter provider. */
interface OtelInstruments {
  provider: MeterProvider;
  decisions: OtelCounter;
  latency: OtelHistogram;
  classifier: OtelHistogram;
}

/**
 * Metrics and spans, recorded by the pipeline itself, so every surface (HTTP, MCP gateway,
 * governance MCP, SDK, CLI) is measured the same way. Prometheus metrics live on a registry of
 * their own (several Wardens may run in one process in tests); spans and OpenTelemetry metrics go
 * to whatever providers are registered with the OpenTelemetry API (none: no-ops). The OTel
 * instruments mirror the Prometheus ones under the names an OTLP→Prometheus pipeline turns back
 * into the same series (`warden.decisions` → `warden_decisions_total`); they are (re)made on the
 * global meter provider when it changes, so an SDK started after this Warden still gets them.
 */
export class Telemetry {
  readonly registry = new Registry();
  private readonly decisions: Counter<'effect' | 'tool' | 'stage' | 'status' | 'surface'>;
  private readonly latency: Histogram<'surface' | 'kind'>;
  private readonly classifierLatency: Histogram<'status'>;
  private readonly gauges: Array<{ name: string; help: string; read: () => number | Promise<number> }> = [];
  private otel?: OtelInstruments;

  /** `isKnownTool`: tool names come from callers; unknown ones share a label so they cannot explode cardinality. */
  constructor(private readonly isKnownTool: (name: string) => boolean) {
    collectDefaultMetrics({ register: this.registry, prefix: 'warden_process_' });
    this.decisions = new Counter({
      name: 'warden_decisions_total',
      help: 'Decisions by effect, tool, the stage that decided, the status of the exchange, and the surface it came through.',
      labelNames: ['effect', 'tool', 'stage', 'status', 'surface'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'warden_pipeline_duration_seconds',
      help: 'Time spent in the pipeline per exchange, including the tool, by surface and kind (call, decision, dry_run).',
      labelNames: ['surface', 'kind'],
      buckets: LATENCY_BUCKETS_S,
      registers: [this.registry],
    });
    this.classifierLatency = new Histogram({
      name: 'warden_external_classifier_duration_seconds',
      help: 'Requests to the external injection classifier (guards.injection.external) by outcome (ok, error), and how long each took.',
      labelNames: ['status'],
      buckets: LATENCY_BUCKETS_S,
      registers: [this.registry],
    });
    this.instruments();
  }

  /**
   * The OTel instruments on the global meter provider, made again when it changed (an SDK started
   * or stopped): one identity check per exchange. Process entry points call it right after
   * starting their SDK so that the gauges are observed before the first exchange.
   */
  instruments(): OtelInstruments {
    const provider = metrics.getMeterProvider();
    if (this.otel?.provider === provider) return this.otel;
    const meter = provider.getMeter('warden');
    for (const g of this.gauges) this.observe(meter, g.name, g.help, g.read);
    this.otel = {
      provider,
      decisions: meter.createCounter('warden.decisions', { description: 'Decisions by effect, tool, the stage that decided, the status of the exchange, and the surface it came through.' }),
      latency: meter.createHistogram('warden.pipeline.duration', {
        unit: 's',
        description: 'Time spent in the pipeline per exchange, including the tool, by surface and kind (call, decision, dry_run).',
        advice: { explicitBucketBoundaries: LATENCY_BUCKETS_S },
      }),
      classifier: meter.createHistogram('warden.external_classifier.duration', {
        unit: 's',
        description: 'Requests to the external injection classifier (guards.injection.external) by outcome (ok, error), and how long each took.',
        advice: { explicitBucketBoundaries: LATENCY_BUCKETS_S },
      }),
    };
    return this.otel;
  }

  private observe(meter: ReturnType<MeterProvider['getMeter']>, name: string, help: string, read: () => number | Promise<number>): void {
    // warden_audit_queue_depth → warden.audit.queue.depth (exported back to Prometheus as the same name).
    meter.createObservableGauge(name.replace(/_/g, '.'), { description: help }).addCallback(async (result) => {
      try {
        result.observe(await read());
      } catch {
        // a store that cannot answer leaves this gauge out of one export
      }
    });
  }

  /** A gauge read when /metrics is scraped (and at each OTLP metrics export). */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    this.gauges.push({ name, help, read });
    if (this.otel && this.otel.provider !== metrics.getMeterProvider()) this.instruments();
    else if (this.otel) this.observe(this.otel.provider.getMeter('warden'), name, help, read);
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  exchange(m: ExchangeMeasure): void {
    const tool = this.isKnownTool(m.tool) ? m.tool : '(unknown)';
    const labels = { effect: m.effect, tool, stage: m.stage, status: m.status, surface: m.surface };
    const seconds = Number(process.hrtime.bigint() - m.started) / 1e9;
    this.decisions.inc(labels);
    this.latency.observe({ surface: m.surface, kind: m.kind }, seconds);
    const otel = this.instruments();
    otel.decisions.add(1, labels);
    otel.latency.record(seconds, { surface: m.surface, kind: m.kind });
  }

  /** One request to the external injection classifier: its outcome and duration (an alert on `error` is the operator's). */
  classifierRequest(status: 'ok' | 'error', seconds: number): void {
    this.classifierLatency.observe({ status }, seconds);
    this.instruments().classifier.record(seconds, { status });
  }

  /**
   * Runs `work` in an active span named `name`; the span ends when it settles. An exception marks
   * the span as an error by its class name only: messages may quote arguments or upstream answers.
   */
  async span<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
    return trace.getTracer('warden').startActiveSpan(name, { kind }, async (span) => {
      // Without a tracer provider the span is a no-op: nothing to copy the attributes into.
      if (span.isRecording()) span.setAttributes(attributes);
      try {
        return await work(span);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}
