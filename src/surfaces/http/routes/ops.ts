import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

/** Liveness, readiness and Prometheus metrics: unauthenticated, as orchestrators expect. */
export function registerOpsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['operations'] } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: the store answers and policies are loaded', tags: ['operations'] } }, async (_req, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      await ctx.warden.store.ping();
      checks.store = { ok: true };
    } catch (e) {
      checks.store = { ok: false, detail: (e as Error).message };
    }
    const rules = ctx.warden.policySet.rules.length;
    checks.policies = { ok: rules > 0, detail: `${rules} rules, bundle ${ctx.warden.policySet.bundle}` };
    checks.audit = { ok: ctx.warden.pipeline.rt.log.depth < 50_000, detail: `${ctx.warden.pipeline.rt.log.depth} records waiting` };
    const ready = Object.values(checks).every((c) => c.ok);
    // Upstreams are reported, not required: one MCP server being down makes its tools fail
    // (denied, with the reason), not the gateway, and every replica would see the same outage.
    const upstreams = ctx.warden.mcp.allUpstreams().map((u) => u.health());
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks, ...(upstreams.length ? { upstreams } : {}) });
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_req, reply) => {
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
