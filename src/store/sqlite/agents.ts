import type Database from 'better-sqlite3';
import type { AgentRecord, CredentialRecord, Millis } from '../records.js';
import type { AgentStore } from '../ports.js';
import { agentParams, credentialParams, toAgent, toCredential } from './rows.js';
import { immediate, type AgentStatements } from './statements.js';

export class SqliteAgents implements AgentStore {
  private readonly setStatus: (id: string, status: AgentRecord['status'], reason: string, at: Millis) => AgentRecord | undefined;

  constructor(
    db: Database.Database,
    private readonly s: AgentStatements,
  ) {
    this.setStatus = immediate(db, (id: string, status: AgentRecord['status'], reason: string, at: Millis) => {
      const row = this.s.setAgentStatus.get({ id, status, reason, at });
      return row ? toAgent(row) : undefined;
    });
  }

  async upsertAgent(agent: AgentRecord): Promise<void> {
    this.s.upsertAgent.run(agentParams(agent));
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const row = this.s.getAgent.get(id);
    return row ? toAgent(row) : undefined;
  }

  async listAgents(): Promise<AgentRecord[]> {
    return this.s.listAgents.all().map(toAgent);
  }

  async setAgentStatus(id: string, status: AgentRecord['status'], reason: string, at: Millis): Promise<AgentRecord | undefined> {
    return this.setStatus(id, status, reason, at);
  }

  async putCredential(credential: CredentialRecord): Promise<void> {
    this.s.putCredential.run(credentialParams(credential));
  }

  async getCredential(keyId: string): Promise<CredentialRecord | undefined> {
    const row = this.s.getCredential.get(keyId);
    return row ? toCredential(row) : undefined;
  }

  async revokeCredentials(agentId: string, kind: CredentialRecord['kind'], at: Millis): Promise<number> {
    return this.s.revokeCredentials.run({ agent_id: agentId, kind, at }).changes;
  }
}
