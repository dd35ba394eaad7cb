import { randomUUID } from 'node:crypto';
import type { Redactor } from '../audit/redact.js';
import type { WardenConfig } from '../config/index.js';
import { GUARD_POLICY_IDS } from '../guards/default-policies.js';
import { durationMs } from '../lib/duration.js';
import type { Decision } from '../model/decision.js';
import type { JsonObject } from '../model/json.js';
import type { AgentStore, IncidentStore } from '../store/ports.js';
import type { AgentRecord, IncidentRecord } from '../store/records.js';
import type { DecisionRecorder } from './decision-recorder.js';

export interface IncidentReport {
  agentId: string;
  type: string;
  severity: IncidentRecord['severity'];
  description: string;
  decisionId?: string;
  reportedBy: string;
}

export interface IncidentRecorderDeps {
  incidents: IncidentStore;
  agents: Pick<AgentStore, 'getAgent' | 'setAgentStatus'>;
  recorder: DecisionRecorder;
  redactor: Redactor;
  config: WardenConfig['incidents'];
  clock: () => number;
}

/**
 * Records incidents. A critical one suspends its agent (incidents.suspend_on_critical), and so
 * does the N-th incident of one agent within a window (incidents.suspend_after). A suspension is
 * audited as an operator action and shows on the agent (GET /v1/agents). Who may report what is
 * the incident service's business; this records what it is given.
 */
export class IncidentRecorder {
  constructor(private readonly deps: IncidentRecorderDeps) {}

  async report(report: IncidentReport, known?: AgentRecord): Promise<{ incident: IncidentRecord; suspended: boolean }> {
    const { deps } = this;
    const agent = known ?? (await deps.agents.getAgent(report.agentId));
    const incident: IncidentRecord = {
      id: `inc_${randomUUID()}`,
      time: deps.clock(),
      type: report.type,
      severity: report.severity,
      agentId: report.agentId,
      tenant: agent?.tenant,
      decisionId: report.decisionId,
      description: deps.redactor.redactText(report.description),
      reportedBy: report.reportedBy,
    };
    await deps.incidents.createIncident(incident);
    if (!agent || agent.status === 'suspended') return { incident, suspended: false };

    const config = deps.config;
    let why: string | undefined;
    if (incident.severity === 'critical' && config.suspend_on_critical) {
      why = `critical incident ${incident.id}: ${incident.type}`;
    } else if (config.suspend_after) {
      const { violations, window } = config.suspend_after;
      const recent = await deps.incidents.listIncidents({ agentId: agent.id, since: incident.time - durationMs(window), limit: violations });
      if (recent.length >= violations) why = `${recent.length} incidents within ${window} (the last: ${incident.id}, ${incident.type})`;
    }
    if (!why) return { incident, suspended: false };
    await deps.agents.setAgentStatus(agent.id, 'suspended', why, incident.time);
    await deps.recorder.admin('agent.suspend', report.reportedBy, `agent ${agent.id} suspended by ${why}`, { agent: agent.id, incident: incident.id }, agent.tenant);
    return { incident, suspended: true };
  }
}

/**
 * The incident a policy deny makes: `guard_deny` when a guard rule denied (a policy of the built-in
 * guard set, or the user's replacement of one), else `policy_violation`. A guard deny over a
 * critical injection finding (exfiltration in the arguments) is critical; other guard denies are
 * high; other violations medium.
 */
export function incidentForDeny(decision: Decision, signals: JsonObject | undefined, agentId: string, decisionId: string): IncidentReport {
  const guard = decision.policy !== undefined && GUARD_POLICY_IDS.has(decision.policy);
  const injection = (signals?.injection ?? {}) as Record<string, { critical?: boolean } | undefined>;
  const critical = guard && Object.values(injection).some((s) => s?.critical === true);
  return {
    agentId,
    type: guard ? 'guard_deny' : 'policy_violation',
    severity: critical ? 'critical' : guard ? 'high' : 'medium',
    description: decision.reason,
    decisionId,
    reportedBy: 'warden',
  };
}
