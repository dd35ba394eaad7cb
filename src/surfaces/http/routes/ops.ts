import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';

const PUBLIC = { auth: 'public' } as const;

/** The replicas and the bundle each serves (one that serves another is named, not judged: see ReplicaCoordinator). */
async function replicaSummary(warden: Warden) {
  try {
    return (await warden.cluster!.replicas()).map((r) => ({ id: r.id, policy_bundle: r.bundle, differs: r.differs, seen_at: new Date(r.seenAt).toISOString() }));
  } catch {
    return undefined;
  }
}

/** Liveness, readiness and Prometheus metrics: unauthenticated, as orchestrators expect. */
export function registerOpsRoutes(app: FastifyInstance, warden: Warden): void {
  app.get('/healthz', { config: PUBLIC, schema: { summary: 'Liveness', tags: ['operations'] } }, async () => ({ status: 'ok' }));

  /**
   * Ready (200) when the store answers, policies are loaded and the decision log keeps up; 503
   * otherwise. A refused policy reload leaves the gateway serving the last good set: that is
   * `degraded` (still 200, with the errors), not unready, because every replica watching the same
   * folder fails the same reload, and a 503 would take them all out of service at once for a typo
   * while each could go on enforcing the previous policies. Alert on `warden_policy_reload_failed`.
   * With several replicas, Redis must answer too (limits and request ids fail closed without it),
   * and the answer lists the replicas and the policy bundle each serves.
   */
  app.get('/readyz', { config: PUBLIC, schema: { summary: 'Readiness: the store answers and policies are loaded; degraded after a refused policy reload', tags: ['operations'] } }, async (_req, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string; degraded?: boolean; errors?: string[] }> = {};
    try {
      await warden.store.ping();
      checks.store = { ok: true };
    } catch (e) {
      checks.store = { ok: false, detail: (e as Error).message };
    }
    if (warden.cluster) {
      try {
        await warden.cluster.ping();
        checks.shared = { ok: true, detail: 'redis answers (rate limits, request ids, sessions)' };
      } catch (e) {
        checks.shared = { ok: false, detail: `redis: ${(e as Error).message}` };
      }
    }
    const rules = warden.policySet.rules.length;
    checks.policies = { ok: rules > 0, detail: `${rules} rules, bundle ${warden.policySet.bundle}` };
    const reload = warden.policies.reloadStatus;
    if (!reload.ok) {
      checks.policies = {
        ...checks.policies,
        degraded: true,
        detail: `${checks.policies.detail}; the policy reload at ${new Date(reload.at).toISOString()} (${reload.why}) was refused, reloads failing since ${new Date(reload.since).toISOString()}: the previous policies keep serving until a reload succeeds`,
        errors: reload.errors,
      };
    }
    const depth = warden.recorder.log.depth;
    checks.audit = { ok: depth < 50_000, detail: `${depth} records waiting` };
    // A sink behind or failing is degraded, never unready: Warden still enforces and records.
    const sinks = warden.sinks.readiness();
    if (sinks) checks.sinks = sinks;
    // Upstreams are reported, not required: one MCP server being down makes its tools fail
    // (denied, with the reason), not the gateway, and every replica would see the same outage.
    // Down or still connecting, it makes Warden degraded.
    const upstreams = warden.mcp.allUpstreams().map((u) => u.health());
    const availability = warden.mcp.availability();
    if (availability.status === 'degraded') checks.upstreams = { ok: true, degraded: true, detail: `${availability.unavailable.join('; ')}: its tools fail until it is back` };
    const ready = Object.values(checks).every((c) => c.ok);
    const degraded = Object.values(checks).some((c) => c.degraded);
    const status = !ready ? 'not ready' : degraded ? 'degraded' : 'ready';
    const bundle = warden.policySet.bundle;
    const replicas = warden.cluster && checks.shared?.ok ? await replicaSummary(warden) : undefined;
    return reply.code(ready ? 200 : 503).send({ status, policy_bundle: bundle, checks, ...(replicas ? { replica: warden.cluster!.replicaId, replicas } : {}), ...(upstreams.length ? { upstreams } : {}) });
  });

  app.get('/metrics', { config: PUBLIC, schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_req, reply) => {
    const registry = warden.telemetry.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
