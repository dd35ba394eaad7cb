import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Warden } from '../../services/warden.js';

/** Prometheus metrics, on a registry of their own (several servers may run in one process in tests). */
export class Metrics {
  readonly registry = new Registry();
  readonly decisions: Counter<'effect' | 'tool' | 'stage' | 'status'>;
  readonly latency: Histogram<'route'>;

  constructor(warden: Warden) {
    collectDefaultMetrics({ register: this.registry, prefix: 'warden_process_' });
    this.decisions = new Counter({
      name: 'warden_decisions_total',
      help: 'Decisions by effect, tool, the stage that decided, and the status of the exchange.',
      labelNames: ['effect', 'tool', 'stage', 'status'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'warden_pipeline_duration_seconds',
      help: 'Time spent in the pipeline per exchange, including the tool.',
      labelNames: ['route'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [this.registry],
    });
    new Gauge({
      name: 'warden_approvals_pending',
      help: 'Approvals waiting for a human.',
      registers: [this.registry],
      async collect() {
        this.set((await warden.store.listApprovals({ status: 'pending', limit: 10_000 })).length);
      },
    });
    new Gauge({
      name: 'warden_audit_queue_depth',
      help: 'Decision records waiting to be written.',
      registers: [this.registry],
      collect() {
        this.set(warden.pipeline.rt.log.depth);
      },
    });
    new Gauge({
      name: 'warden_policy_rules',
      help: 'Rules in the policy set in force.',
      registers: [this.registry],
      collect() {
        this.set(warden.policySet.rules.length);
      },
    });
  }

  /** Tool names come from callers: unknown ones share a label so they cannot explode cardinality. */
  toolLabel(warden: Warden, tool: string): string {
    return warden.pipeline.rt.tools.get(tool) ? tool : '(unknown)';
  }
}
