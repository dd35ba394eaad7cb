import { Counter, Gauge } from 'prom-client';
import { ApprovalWebhook } from '../audit/sinks/approval-webhook.js';
import type { SinkDestination } from '../audit/sinks/destination.js';
import { FileSink } from '../audit/sinks/file-sink.js';
import type { HeaderSource } from '../audit/sinks/http-post.js';
import { HttpSink } from '../audit/sinks/http-sink.js';
import { NatsSink, type NatsCredentials } from '../audit/sinks/nats-sink.js';
import { SinkFollower, type SinkStatus } from '../audit/sinks/sink-follower.js';
import type { DecisionLog } from '../audit/decision-log.js';
import { resolveFrom, type WardenConfig } from '../config/load-config.js';
import type { ApprovalNotifyConfig, NatsSinkConfig, SinkConfig } from '../config/sinks-schema.js';
import type { Telemetry } from '../enforcement/telemetry.js';
import { durationMs } from '../lib/duration.js';
import type { LeaseStore } from '../store/ports.js';
import type { Store } from '../store/store.js';
import type { SecretResolver } from '../upstream/secrets.js';

export type { SinkStatus };

/** The sinks of `audit.sinks` and the webhooks of `approvals.notify`, running. */
export interface Sinks {
  /** Each sink's and webhook's state (webhooks are named `notify:<name>`). */
  status(): SinkStatus[];
  /** The readiness line of /readyz; undefined when nothing is configured. */
  readiness(): SinkReadiness | undefined;
  /** Stops every follower after its delivery in flight; cursors stay where delivery stopped. */
  close(): Promise<void>;
}

export interface SinkReadiness {
  /** Always true: a sink behind makes Warden degraded, never unready (it still enforces and records). */
  ok: true;
  degraded?: true;
  detail: string;
  errors?: string[];
  sinks: Array<{ name: string; type: string; lag: number; cursor: number; failing: boolean; last_success?: string; error?: string }>;
}

export interface SinkDeps {
  store: Store;
  decisionLog: DecisionLog;
  secrets: SecretResolver;
  telemetry: Telemetry;
  clock: () => number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

const NONE: Sinks = { status: () => [], readiness: () => undefined, close: async () => undefined };

function headerSource(headers: Record<string, string>, secrets: SecretResolver): HeaderSource {
  return async () => Object.fromEntries(await Promise.all(Object.entries(headers).map(async ([k, v]) => [k, await secrets.interpolate(v)] as const)));
}

function natsCredentials(c: NatsSinkConfig['credentials'], baseDir: string, secrets: SecretResolver): (() => Promise<NatsCredentials>) | undefined {
  if (!c) return undefined;
  if ('creds_file' in c) return async () => ({ credsFile: resolveFrom(baseDir, c.creds_file) });
  if ('user' in c) return async () => ({ user: c.user, password: await secrets.interpolate(c.password) });
  return async () => ({ token: await secrets.interpolate(c.token) });
}

function destinationOf(sink: SinkConfig, config: WardenConfig, secrets: SecretResolver): SinkDestination {
  switch (sink.type) {
    case 'file':
      return new FileSink({ path: resolveFrom(config.baseDir, sink.path), maxBytes: sink.rotate.max_bytes, maxFiles: sink.rotate.max_files });
    case 'http':
      return new HttpSink({ name: sink.name, urlText: sink.url, url: () => secrets.interpolate(sink.url), headers: headerSource(sink.headers, secrets), timeoutMs: durationMs(sink.timeout) });
    case 'nats':
      return new NatsSink({
        name: sink.name,
        servers: sink.servers,
        subject: sink.subject,
        jetstream: sink.jetstream,
        credentials: natsCredentials(sink.credentials, config.baseDir, secrets),
        timeoutMs: durationMs(sink.timeout),
      });
  }
}

/** Metrics of sinks and webhooks, labelled by name; read from the followers at each scrape. */
function registerMetrics(telemetry: Telemetry, followers: ReadonlyMap<string, SinkFollower>) {
  const registers = [telemetry.registry];
  const each = (read: (s: SinkStatus) => number | undefined) =>
    function (this: Gauge<'sink'>) {
      this.reset();
      for (const f of followers.values()) {
        const s = f.status();
        const value = read(s);
        if (value !== undefined) this.set({ sink: s.name }, value);
      }
    };
  new Gauge({ name: 'warden_sink_lag_records', help: 'Decision records written and not yet delivered, by sink.', labelNames: ['sink'], registers, collect: each((s) => s.lag) });
  new Gauge({ name: 'warden_sink_cursor', help: 'The seq of the last record each sink delivered.', labelNames: ['sink'], registers, collect: each((s) => s.cursor) });
  new Gauge({
    name: 'warden_sink_last_success_timestamp_seconds',
    help: 'When each sink last delivered (Unix seconds); absent before its first delivery.',
    labelNames: ['sink'],
    registers,
    collect: each((s) => (s.lastSuccessAt === undefined ? undefined : s.lastSuccessAt / 1000)),
  });
  new Gauge({ name: 'warden_sink_failing', help: 'Whether the last delivery of each sink failed (1): it is retrying with backoff.', labelNames: ['sink'], registers, collect: each((s) => (s.failingSince === undefined ? 0 : 1)) });
  return {
    delivered: new Counter({ name: 'warden_sink_delivered_total', help: 'Decision records delivered (acknowledged) by each sink; redeliveries count again.', labelNames: ['sink'], registers }),
    failures: new Counter({ name: 'warden_sink_failures_total', help: 'Failed delivery attempts, by sink.', labelNames: ['sink'], registers }),
    notifications: new Counter({
      name: 'warden_approval_notifications_total',
      help: 'Approval notifications by webhook and result: sent, or dropped after retry.max_attempts failed attempts.',
      labelNames: ['webhook', 'result'],
      registers,
    }),
  };
}

/**
 * Starts a follower per sink of `audit.sinks` and per webhook of `approvals.notify`. Each reads
 * the decision log after its cursor and wakes on new records (`DecisionLog.onRecords`; on
 * Postgres, every replica's records through the decision feed), with a poll as fallback. On a
 * store with leases (Postgres), one replica runs each follower.
 */
export async function startSinks(config: WardenConfig, d: SinkDeps): Promise<Sinks> {
  const sinks = config.audit.sinks;
  const hooks = config.approvals.notify;
  if (sinks.length === 0 && hooks.length === 0) return NONE;
  const leases = typeof (d.store as Partial<LeaseStore>).whileLeader === 'function' ? (d.store as unknown as LeaseStore) : undefined;
  const followers = new Map<string, SinkFollower>();
  const maxLag = new Map<string, number>();
  const metrics = registerMetrics(d.telemetry, followers);
  const common = { store: d.store, ...(leases ? { leases } : {}), clock: d.clock, log: d.log };

  for (const sink of sinks) {
    maxLag.set(sink.name, sink.max_lag);
    followers.set(
      sink.name,
      new SinkFollower({
        ...common,
        name: sink.name,
        destination: destinationOf(sink, config, d.secrets),
        maxRecords: sink.batch.max_records,
        maxWaitMs: durationMs(sink.batch.max_wait),
        retry: { initialMs: durationMs(sink.retry.initial), maxMs: Math.max(durationMs(sink.retry.initial), durationMs(sink.retry.max)) },
        pollMs: Math.max(50, durationMs(sink.poll_interval)),
        start: sink.start,
        onDelivered: (n) => metrics.delivered.inc({ sink: sink.name }, n),
        onFailure: () => metrics.failures.inc({ sink: sink.name }),
      }),
    );
  }
  if (hooks.length > 0 && !config.server.public_url) d.log('warn', 'approvals.notify: server.public_url is not set, so notifications carry no link to the dashboard');
  for (const hook of hooks) followers.set(`notify:${hook.name}`, webhookFollower(hook, config, d, common, metrics));

  const unsubscribe = d.decisionLog.onRecords((records) => {
    for (const f of followers.values()) f.noteRecords(records);
  });
  await Promise.all([...followers.values()].map((f) => f.start()));

  const status = () => [...followers.values()].map((f) => f.status());
  return {
    status,
    readiness() {
      const list = status();
      const behind = list.filter((s) => s.lag > (maxLag.get(s.name) ?? Number.POSITIVE_INFINITY));
      const failing = list.filter((s) => s.failingSince !== undefined);
      const trouble = [...new Set([...behind, ...failing])];
      const detail =
        trouble.length === 0
          ? `${list.length} sink(s) keeping up`
          : trouble.map((s) => `${s.name} is ${s.lag} record(s) behind${s.failingSince !== undefined ? `, failing since ${new Date(s.failingSince).toISOString()}` : ''}`).join('; ');
      return {
        ok: true,
        ...(trouble.length ? { degraded: true as const, errors: failing.map((s) => `${s.name} (${s.target}): ${s.lastError}`) } : {}),
        detail,
        sinks: list.map((s) => ({
          name: s.name,
          type: s.type,
          lag: s.lag,
          cursor: s.cursor,
          failing: s.failingSince !== undefined,
          ...(s.lastSuccessAt !== undefined ? { last_success: new Date(s.lastSuccessAt).toISOString() } : {}),
          ...(s.lastError !== undefined ? { error: s.lastError } : {}),
        })),
      };
    },
    async close() {
      unsubscribe();
      await Promise.all([...followers.values()].map((f) => f.close()));
    },
  };
}

function webhookFollower(
  hook: ApprovalNotifyConfig,
  config: WardenConfig,
  d: SinkDeps,
  common: Pick<ConstructorParameters<typeof SinkFollower>[0], 'store' | 'leases' | 'clock' | 'log'>,
  metrics: ReturnType<typeof registerMetrics>,
): SinkFollower {
  const destination = new ApprovalWebhook({
    urlText: hook.url,
    url: () => d.secrets.interpolate(hook.url),
    headers: headerSource(hook.headers, d.secrets),
    format: hook.format,
    events: hook.events,
    includeArguments: hook.include_arguments,
    ...(config.server.public_url ? { publicUrl: config.server.public_url } : {}),
    timeoutMs: durationMs(hook.timeout),
    onSent: () => metrics.notifications.inc({ webhook: hook.name, result: 'sent' }),
  });
  const name = `notify:${hook.name}`;
  return new SinkFollower({
    ...common,
    name,
    destination,
    maxRecords: 100,
    maxWaitMs: 0,
    retry: { initialMs: durationMs(hook.retry.initial), maxMs: Math.max(durationMs(hook.retry.initial), durationMs(hook.retry.max)), maxAttempts: hook.retry.max_attempts },
    pollMs: 2_000,
    // Approvers hear of what happens from now on, not of the log's history.
    start: 'head',
    onFailure: () => metrics.failures.inc({ sink: name }),
    onDropped: () => metrics.notifications.inc({ webhook: hook.name, result: 'dropped' }),
  });
}
