import type { FastifyInstance } from 'fastify';
import { durationMs } from '../../../lib/duration.js';
import type { Warden } from '../../../services/warden.js';
import type { ServerContext } from '../context.js';

/**
 * The compliance status: what the decision log says about the last window, for one tenant (a
 * viewer of that tenant) or all of them (`*`, operators).
 */
export async function complianceStatus(warden: Warden, now: number, tenant = '*') {
  const c = warden.config.compliance;
  const windowMs = durationMs(c.window);
  const only = tenant === '*' ? undefined : tenant;
  const ofTenant = (t: string | undefined) => only === undefined || t === only;
  const stats = await warden.store.decisionStats(now - windowMs, 60_000, only);
  const decided = stats.byEffect.allow + stats.byEffect.deny + stats.byEffect.require_approval;
  const denialRate = decided === 0 ? 0 : stats.byEffect.deny / decided;
  const status = denialRate >= c.critical_denial_rate ? 'critical' : denialRate >= c.warning_denial_rate ? 'warning' : 'healthy';
  const agents = await warden.store.listAgents();
  const policySet = warden.policySet;
  return {
    status,
    window: c.window,
    totals: { decisions: decided, ...stats.byEffect, outcomes: stats.byOutcome },
    denialRate: Math.round(denialRate * 10_000) / 10_000,
    thresholds: { warning: c.warning_denial_rate, critical: c.critical_denial_rate },
    topOffendingAgents: stats.topDeniedAgents,
    topDeniedTools: stats.topDeniedTools,
    tenant,
    recentIncidents: (await warden.store.listIncidents({ since: now - windowMs, limit: only === undefined ? 20 : 1000 })).filter((i) => ofTenant(i.tenant)).slice(0, 20),
    suspendedAgents: agents.filter((a) => a.status === 'suspended' && ofTenant(a.tenant)).map((a) => ({ id: a.id, reason: a.statusReason ?? '' })),
    pendingApprovals: (await warden.store.listApprovals({ status: 'pending', tenant: only, limit: 1000 })).length,
    policyBundle: { bundle: policySet.bundle, policies: policySet.policies.map((p) => ({ id: p.id, version: p.version, mode: p.mode })) },
    series: stats.series,
  };
}

export function registerComplianceRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/v1/compliance', { schema: { summary: 'Compliance status: totals, denial rate, offenders, incidents, policy bundle', tags: ['compliance'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    await ctx.warden.pipeline.rt.log.flush();
    return complianceStatus(ctx.warden, ctx.now(), human.tenant);
  });
}
