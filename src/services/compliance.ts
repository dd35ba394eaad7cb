import type { Principal } from '../auth/principal.js';
import type { WardenConfig } from '../config/index.js';
import type { PoliciesInForce } from '../enforcement/stages/policy-decision.js';
import { durationMs } from '../lib/duration.js';
import type { Store } from '../store/store.js';
import { requireHuman } from './access.js';

export interface ComplianceServiceDeps {
  store: Pick<Store, 'decisionStats' | 'listAgents' | 'listIncidents' | 'listApprovals' | 'queryDecisions' | 'getAgent'>;
  policies: PoliciesInForce;
  config: WardenConfig['compliance'];
  flushLog: () => Promise<void>;
  clock: () => number;
}

export type ComplianceStatus = Awaited<ReturnType<ComplianceService['status']>>;
export type AgentComplianceView = Awaited<ReturnType<ComplianceService['agentView']>>;

/**
 * What the decision log says about the compliance window: for one tenant (a viewer of that
 * tenant), all of them (`*`, operators), or, reduced, for one agent about itself.
 */
export class ComplianceService {
  constructor(private readonly d: ComplianceServiceDeps) {}

  /** People with the viewer role get the full status of their tenant; an agent gets its own view. */
  async forPrincipal(principal: Principal): Promise<{ kind: 'full'; status: ComplianceStatus } | { kind: 'agent'; view: AgentComplianceView }> {
    await this.d.flushLog();
    if (principal.kind === 'agent') return { kind: 'agent', view: await this.agentView(principal.agentId) };
    const human = requireHuman(principal, 'viewer', 'the compliance status');
    return { kind: 'full', status: await this.status(human.tenant) };
  }

  async status(tenant = '*') {
    const { store, config: c } = this.d;
    const now = this.d.clock();
    const windowMs = durationMs(c.window);
    const only = tenant === '*' ? undefined : tenant;
    const ofTenant = (t: string | undefined) => only === undefined || t === only;
    const stats = await store.decisionStats(now - windowMs, 60_000, only);
    const decided = stats.byEffect.allow + stats.byEffect.deny + stats.byEffect.require_approval;
    const denialRate = decided === 0 ? 0 : stats.byEffect.deny / decided;
    const status = denialRate >= c.critical_denial_rate ? 'critical' : denialRate >= c.warning_denial_rate ? 'warning' : 'healthy';
    const agents = await store.listAgents();
    const policySet = this.d.policies.current;
    return {
      status,
      window: c.window,
      totals: { decisions: decided, ...stats.byEffect, outcomes: stats.byOutcome },
      denialRate: Math.round(denialRate * 10_000) / 10_000,
      thresholds: { warning: c.warning_denial_rate, critical: c.critical_denial_rate },
      topOffendingAgents: stats.topDeniedAgents,
      topDeniedTools: stats.topDeniedTools,
      tenant,
      recentIncidents: (await store.listIncidents({ since: now - windowMs, limit: only === undefined ? 20 : 1000 })).filter((i) => ofTenant(i.tenant)).slice(0, 20),
      suspendedAgents: agents.filter((a) => a.status === 'suspended' && ofTenant(a.tenant)).map((a) => ({ id: a.id, reason: a.statusReason ?? '' })),
      pendingApprovals: (await store.listApprovals({ status: 'pending', tenant: only, limit: 1000 })).length,
      policyBundle: { bundle: policySet.bundle, policies: policySet.policies.map((p) => ({ id: p.id, version: p.version, mode: p.mode })) },
      series: stats.series,
    };
  }

  /** The reduced view an agent gets: its tenant's status and its own counts. */
  async agentView(agentId: string) {
    const { store } = this.d;
    const agent = await store.getAgent(agentId);
    // An agent bound to a tenant sees that tenant's status, never another's.
    const full = await this.status(agent?.tenant ?? '*');
    const since = this.d.clock() - durationMs(this.d.config.window);
    const cap = 10_000;
    const records = (await store.queryDecisions({ agentId, ...(agent?.tenant !== undefined ? { tenant: agent.tenant } : {}), since, limit: cap, order: 'desc' })).filter((r) => r.kind === 'decision' && r.resourceType !== 'warden');
    const decisions = { total: records.length, allow: 0, deny: 0, require_approval: 0 };
    const deniedTools = new Map<string, number>();
    for (const r of records) {
      decisions[r.effect] += 1;
      if (r.effect === 'deny') deniedTools.set(r.resourceId, (deniedTools.get(r.resourceId) ?? 0) + 1);
    }
    return {
      status: full.status,
      window: full.window,
      policyBundle: full.policyBundle.bundle,
      agent: {
        id: agentId,
        status: agent?.status ?? 'unknown',
        ...(agent?.statusReason ? { statusReason: agent.statusReason } : {}),
        decisions,
        denialRate: decisions.total === 0 ? 0 : Math.round((decisions.deny / decisions.total) * 10_000) / 10_000,
        deniedTools: [...deniedTools].map(([tool, count]) => ({ tool, count })).sort((a, b) => b.count - a.count).slice(0, 10),
        ...(records.length >= cap ? { truncated: true } : {}),
      },
    };
  }
}
