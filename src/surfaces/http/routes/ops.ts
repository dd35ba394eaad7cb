import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';

const PUBLIC = { auth: 'public' } as const;

/** Liveness, readiness and Prometheus metrics: unauthenticated, as orchestrators expect. */
export function registerOpsRoutes(app: FastifyInstance, warden: Warden): void {
  app.get('/healthz', { config: PUBLIC, schema: { summary: 'Liveness', tags: ['operations'] } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: PUBLIC, schema: { summary: 'Readiness: the store answers and policies are loaded', tags: ['operations'] } }, async (_req, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      await warden.store.ping();
      checks.store = { ok: true };
    } catch (e) {
      checks.store = { ok: false, detail: (e as Error).message };
    }
    const rules = warden.policySet.rules.length;
    checks.policies = { ok: rules > 0, detail: `${rules} rules, bundle ${warden.policySet.bundle}` };
    const depth = warden.recorder.log.depth;
    checks.audit = { ok: depth < 50_000, detail: `${depth} records waiting` };
    const ready = Object.values(checks).every((c) => c.ok);
    // Upstreams are reported, not required: one MCP server being down makes its tools fail
    // (denied, with the reason), not the gateway, and every replica would see the same outage.
    const upstreams = warden.mcp.allUpstreams().map((u) => u.health());
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks, ...(upstreams.length ? { upstreams } : {}) });
  });

  app.get('/metrics', { config: PUBLIC, schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_req, reply) => {
    const registry = warden.telemetry.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
