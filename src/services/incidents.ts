import type { Principal } from '../auth/principal.js';
import type { IncidentRecorder } from '../enforcement/incidents.js';
import type { AgentStore, DecisionLogStore, IncidentStore } from '../store/ports.js';
import type { IncidentRecord } from '../store/records.js';
import { requireHuman, tenantScope, visibleAgent } from './access.js';
import { ServiceError } from './errors.js';

export interface IncidentInput {
  /** Agents may leave it out (it is themselves); people must name the agent. */
  agentId?: string;
  type: string;
  severity: IncidentRecord['severity'];
  description: string;
  decisionId?: string;
}

export interface IncidentServiceDeps {
  recorder: IncidentRecorder;
  agents: Pick<AgentStore, 'getAgent'>;
  incidents: Pick<IncidentStore, 'listIncidents'>;
  decisions: Pick<DecisionLogStore, 'getDecision'>;
  /** Makes records still queued in the decision log readable. */
  flushLog: () => Promise<void>;
}

/**
 * Incidents, on every surface alike: an agent reports about itself; approvers and admins about
 * an agent of their own tenant (another tenant's agent looks like no agent at all). A critical
 * incident may suspend the agent (the recorder decides by the config).
 */
export class IncidentService {
  constructor(private readonly d: IncidentServiceDeps) {}

  async report(principal: Principal, input: IncidentInput): Promise<{ incident: IncidentRecord; suspended: boolean }> {
    let agentId: string;
    let reportedBy: string;
    if (principal.kind === 'agent') {
      agentId = input.agentId ?? principal.agentId;
      if (agentId !== principal.agentId) throw new ServiceError('forbidden', `an agent may only report incidents about itself (connected as "${principal.agentId}")`, { problem: 'not-your-agent' });
      if (!(await this.d.agents.getAgent(agentId))) throw new ServiceError('not_found', `agent "${agentId}" is not registered`);
      reportedBy = `agent:${principal.agentId}`;
    } else {
      const human = requireHuman(principal, 'approver', 'reporting incidents');
      if (!input.agentId) throw new ServiceError('invalid', 'agent_id is required: which agent is the incident about?');
      agentId = input.agentId;
      visibleAgent(human, await this.d.agents.getAgent(agentId), agentId);
      reportedBy = human.id;
    }
    if (input.decisionId !== undefined) {
      await this.d.flushLog();
      const record = await this.d.decisions.getDecision(input.decisionId);
      if (!record || record.agentId !== agentId) throw new ServiceError('not_found', `no decision record "${input.decisionId}" about agent ${agentId}`);
    }
    return this.d.recorder.report({ agentId, type: input.type, severity: input.severity, description: input.description, decisionId: input.decisionId, reportedBy });
  }

  /** Incidents of the viewer's tenant, newest first. */
  async list(principal: Principal, filter: { agentId?: string; since?: number; limit?: number }): Promise<IncidentRecord[]> {
    const human = requireHuman(principal, 'viewer', 'listing incidents');
    const tenant = tenantScope(human);
    const list = await this.d.incidents.listIncidents({ agentId: filter.agentId, since: filter.since, limit: filter.limit ?? 100 });
    return tenant === undefined ? list : list.filter((i) => i.tenant === tenant);
  }
}
