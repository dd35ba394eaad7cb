import { generateApiKey } from '../auth/credentials.js';
import type { AgentRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Warden } from './warden.js';
import type { Human } from '../auth/principal.js';

/** What registering an agent takes: the HTTP body of `POST /v1/agents`, or the MCP `register_agent` input. */
export interface AgentRegistration {
  id: string;
  roles?: string[];
  tenant?: string;
  trust?: AgentRecord['trust'];
}

export type RegistrationResult = { ok: true; agent: AgentRecord; apiKey: string } | { ok: false; status: 403 | 409; message: string };

/** Issues a new API key for an agent; only its hash is stored, the key itself is returned once. */
export async function issueApiKey(store: Store, agentId: string, now: number): Promise<string> {
  const key = generateApiKey();
  await store.putCredential({ agentId, keyId: key.keyId, kind: 'api_key', hash: key.hash, createdAt: now });
  return key.key;
}

/**
 * Registers an agent for an admin: refused when the id is taken (409) or when a tenant-scoped
 * admin names another tenant (403). New agents start at trust low unless the admin says
 * otherwise. Audited; returns the API key, which is never shown again.
 */
export async function registerAgent(warden: Warden, human: Human, input: AgentRegistration, now: number): Promise<RegistrationResult> {
  const store = warden.store;
  if (await store.getAgent(input.id)) return { ok: false, status: 409, message: `agent "${input.id}" already exists` };
  if (human.tenant !== '*' && input.tenant !== human.tenant) return { ok: false, status: 403, message: `${human.id} may only register agents of tenant ${human.tenant}` };
  const agent: AgentRecord = { id: input.id, roles: input.roles ?? [], tenant: input.tenant, trust: input.trust ?? 'low', status: 'active', source: 'api', createdAt: now, updatedAt: now };
  await store.upsertAgent(agent);
  const apiKey = await issueApiKey(store, agent.id, now);
  await warden.pipeline.auditAdmin('agent.register', human.id, `agent ${agent.id} registered at trust ${agent.trust}`, { agent: agent.id }, agent.tenant);
  return { ok: true, agent, apiKey };
}
