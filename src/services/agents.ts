import { issueApiKey } from '../auth/api-keys.js';
import type { Human, Principal } from '../auth/principal.js';
import type { DecisionRecorder } from '../enforcement/decision-recorder.js';
import type { AgentStore, DecisionLogStore, IncidentStore } from '../store/ports.js';
import type { AgentRecord, DecisionRecord, IncidentRecord } from '../store/records.js';
import { requireHuman, tenantScope, visibleAgent } from './access.js';
import { ServiceError } from './errors.js';

const ACTIVITY_WINDOW_MS = 60 * 60_000;
const ACTIVITY_RECORDS = 2_000;

/** One agent's decisions over `window` (from the newest records: `capped` when there were more). */
export interface AgentActivity {
  window: string;
  calls: number;
  denied: number;
  lastSeen?: number;
  capped: boolean;
}

/** What registering an agent takes: the HTTP body of `POST /v1/agents`, or the MCP `register_agent` input. */
export interface AgentRegistration {
  id: string;
  roles?: string[];
  tenant?: string;
  trust?: AgentRecord['trust'];
}

export interface AgentServiceDeps {
  agents: AgentStore;
  decisions: Pick<DecisionLogStore, 'queryDecisions'>;
  incidents: Pick<IncidentStore, 'listIncidents'>;
  recorder: DecisionRecorder;
  clock: () => number;
}

/**
 * The agent registry as people manage it: viewers list and read the agents of their tenant;
 * admins register, suspend, resume, re-key and re-role them. Every change is audited.
 */
export class AgentService {
  constructor(private readonly d: AgentServiceDeps) {}

  /**
   * Registers an agent: refused when the id is taken, or when a tenant-scoped admin names another
   * tenant. New agents start at trust low unless the admin says otherwise. Returns the API key,
   * which is never shown again.
   */
  async register(principal: Principal, input: AgentRegistration): Promise<{ agent: AgentRecord; apiKey: string }> {
    const human = requireHuman(principal, 'admin', 'registering agents');
    const { agents } = this.d;
    if (await agents.getAgent(input.id)) throw new ServiceError('conflict', `agent "${input.id}" already exists`);
    if (human.tenant !== '*' && input.tenant !== human.tenant) throw new ServiceError('forbidden', `${human.id} may only register agents of tenant ${human.tenant}`);
    const now = this.d.clock();
    const agent: AgentRecord = { id: input.id, roles: input.roles ?? [], tenant: input.tenant, trust: input.trust ?? 'low', status: 'active', source: 'api', createdAt: now, updatedAt: now };
    await agents.upsertAgent(agent);
    const apiKey = await issueApiKey(agents, agent.id, now);
    await this.d.recorder.admin('agent.register', human.id, `agent ${agent.id} registered at trust ${agent.trust}`, { agent: agent.id }, agent.tenant);
    return { agent, apiKey };
  }

  async list(principal: Principal): Promise<AgentRecord[]> {
    const human = requireHuman(principal, 'viewer', 'listing agents');
    const tenant = tenantScope(human);
    const agents = await this.d.agents.listAgents();
    return tenant === undefined ? agents : agents.filter((a) => a.tenant === tenant);
  }

  /**
   * The agents with what they did in the last hour: calls decided, denials, the last one seen.
   * Read from the newest ACTIVITY_RECORDS decision records of the viewer's tenants (one bounded
   * query, whatever the number of agents): `capped` says the hour held more.
   */
  async listWithActivity(principal: Principal): Promise<Array<AgentRecord & { activity: AgentActivity }>> {
    const agents = await this.list(principal);
    const human = requireHuman(principal, 'viewer', 'listing agents');
    const since = this.d.clock() - ACTIVITY_WINDOW_MS;
    const records = await this.d.decisions.queryDecisions({ tenant: tenantScope(human), since, limit: ACTIVITY_RECORDS, order: 'desc' });
    const capped = records.length >= ACTIVITY_RECORDS;
    const by = new Map<string, AgentActivity>();
    for (const r of records) {
      if (r.kind !== 'decision' || r.resourceType === 'warden') continue;
      const a = by.get(r.agentId) ?? { window: '1h', calls: 0, denied: 0, capped };
      a.calls++;
      if (r.effect === 'deny') a.denied++;
      a.lastSeen = Math.max(a.lastSeen ?? 0, r.time);
      by.set(r.agentId, a);
    }
    return agents.map((agent) => ({ ...agent, activity: by.get(agent.id) ?? { window: '1h', calls: 0, denied: 0, capped } }));
  }

  /** One agent with its latest decisions and incidents. */
  async get(principal: Principal, id: string): Promise<AgentRecord & { recent: DecisionRecord[]; incidents: IncidentRecord[] }> {
    const human = requireHuman(principal, 'viewer', 'reading agents');
    const agent = visibleAgent(human, await this.d.agents.getAgent(id), id);
    // Records of the agent's tenant only: a refused call that merely names the agent is not its own.
    const recent = await this.d.decisions.queryDecisions({ agentId: agent.id, tenant: agent.tenant ?? '', limit: 20 });
    const incidents = await this.d.incidents.listIncidents({ agentId: agent.id, limit: 20 });
    return { ...agent, recent, incidents };
  }

  /**
   * Suspends or resumes an agent: the pipeline reads the status on every call, and a suspension
   * outlives restarts. Records who did it, and why.
   */
  async setStatus(principal: Principal, id: string, status: AgentRecord['status'], reason: string): Promise<{ agent: AgentRecord; previous: AgentRecord['status'] }> {
    const { human, agent: before } = await this.adminAgent(principal, id, status === 'suspended' ? 'suspending agents' : 'resuming agents');
    const statusReason = status === 'suspended' ? reason : `resumed by ${human.id}${reason ? `: ${reason}` : ''}`;
    const agent = await this.d.agents.setAgentStatus(id, status, statusReason, this.d.clock());
    if (!agent) throw new ServiceError('not_found', `no agent "${id}"`);
    const verb = status === 'suspended' ? 'suspend' : 'resume';
    await this.d.recorder.admin(`agent.${verb}`, human.id, `agent ${id} ${status === 'suspended' ? 'suspended' : 'resumed'} by ${human.id}${reason ? `: ${reason}` : ''}`, { agent: id, previousStatus: before.status }, agent.tenant ?? '');
    return { agent, previous: before.status };
  }

  /** Revokes the agent's API keys and issues a new one, shown once. */
  async rotateKey(principal: Principal, id: string): Promise<{ agent: string; revoked: number; apiKey: string }> {
    const { human, agent } = await this.adminAgent(principal, id, 'rotating keys');
    const now = this.d.clock();
    const revoked = await this.d.agents.revokeCredentials(agent.id, 'api_key', now);
    const apiKey = await issueApiKey(this.d.agents, agent.id, now);
    await this.d.recorder.admin('agent.rotate_key', human.id, `API keys of ${agent.id} rotated (${revoked} revoked)`, { agent: agent.id }, agent.tenant);
    return { agent: agent.id, revoked, apiKey };
  }

  /** Changes an agent's trust level or roles. */
  async update(principal: Principal, id: string, change: { trust?: AgentRecord['trust']; roles?: string[] }): Promise<AgentRecord> {
    const { human, agent } = await this.adminAgent(principal, id, 'changing agents');
    const updated = { ...agent, ...change, updatedAt: this.d.clock() };
    await this.d.agents.upsertAgent(updated);
    await this.d.recorder.admin('agent.update', human.id, `agent ${agent.id} changed: ${JSON.stringify(change)}`, { agent: agent.id }, agent.tenant);
    return updated;
  }

  private async adminAgent(principal: Principal, id: string, what: string): Promise<{ human: Human; agent: AgentRecord }> {
    const human = requireHuman(principal, 'admin', what);
    return { human, agent: visibleAgent(human, await this.d.agents.getAgent(id), id) };
  }
}
