import { randomUUID } from 'node:crypto';
import type { Decision } from '../model/decision.js';
import type { JsonObject } from '../model/json.js';
import { durationMs } from '../lib/duration.js';
import type { Runtime } from './runtime.js';
import type { IncidentRecord } from '../store/records.js';
import { GUARD_POLICY_IDS } from '../guards/default-policies.js';

export interface IncidentReport {
  agentId: string;
  type: string;
  severity: IncidentRecord['severity'];
  description: string;
  decisionId?: string;
  reportedBy: string;
}

/** What reporting needs of the pipeline: its runtime, and the operator audit for suspensions. */
export interface IncidentSink {
  readonly rt: Runtime;
  auditAdmin(action: string, by: string, reason: string, details: JsonObject, tenant?: string): Promise<string>;
}

/**
 * Records an incident. A critical one suspends its agent (incidents.suspend_on_critical), and so
 * does the N-th incident of one agent within a window (incidents.suspend_after). A suspension is
 * audited as an operator action and shows on the agent (GET /v1/agents).
 */
export async function reportIncident(sink: IncidentSink, report: IncidentReport): Promise<{ incident: IncidentRecord; suspended: boolean }> {
  const { rt } = sink;
  const agent = await rt.store.getAgent(report.agentId);
  const incident: IncidentRecord = {
    id: `inc_${randomUUID()}`,
    time: rt.clock(),
    type: report.type,
    severity: report.severity,
    agentId: report.agentId,
    tenant: agent?.tenant,
    decisionId: report.decisionId,
    description: rt.redactor.redactText(report.description),
    reportedBy: report.reportedBy,
  };
  await rt.store.createIncident(incident);
  if (!agent || agent.status === 'suspended') return { incident, suspended: false };

  const config = rt.config.incidents;
  let why: string | undefined;
  if (incident.severity === 'critical' && config.suspend_on_critical) {
    why = `critical incident ${incident.id}: ${incident.type}`;
  } else if (config.suspend_after) {
    const { violations, window } = config.suspend_after;
    const recent = await rt.store.listIncidents({ agentId: agent.id, since: incident.time - durationMs(window), limit: violations });
    if (recent.length >= violations) why = `${recent.length} incidents within ${window} (the last: ${incident.id}, ${incident.type})`;
  }
  if (!why) return { incident, suspended: false };
  await rt.store.setAgentStatus(agent.id, 'suspended', why, incident.time);
  await sink.auditAdmin('agent.suspend', report.reportedBy, `agent ${agent.id} suspended by ${why}`, { agent: agent.id, incident: incident.id }, agent.tenant);
  return { incident, suspended: true };
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
