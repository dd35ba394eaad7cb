import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
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

/**
 * Metrics and spans, recorded by the pipeline itself, so every surface (HTTP, MCP gateway,
 * governance MCP, SDK, CLI) is measured the same way. Prometheus metrics live on a registry of
 * their own (several Wardens may run in one process in tests); spans go to whatever OpenTelemetry
 * tracer provider the host registered (none: no-ops).
 */
export class Telemetry {
  readonly registry = new Registry();
  private readonly decisions: Counter<'effect' | 'tool' | 'stage' | 'status' | 'surface'>;
  private readonly latency: Histogram<'surface' | 'kind'>;

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
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [this.registry],
    });
  }

  /** A gauge read when /metrics is scraped. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
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
    this.decisions.inc({ effect: m.effect, tool, stage: m.stage, status: m.status, surface: m.surface });
    this.latency.observe({ surface: m.surface, kind: m.kind }, Number(process.hrtime.bigint() - m.started) / 1e9);
  }

  /** Runs `work` in an active span named `name`; the span ends when it settles. */
  async span<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
    return trace.getTracer('warden').startActiveSpan(name, async (span) => {
      span.setAttributes(attributes);
      try {
        return await work(span);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}
