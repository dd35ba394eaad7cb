import type { AgentRecord, CredentialRecord, Millis } from '../records.js';
import type { AgentStore } from '../ports.js';
import {
  AGENT_COLUMNS,
  agentParams,
  CREDENTIAL_COLUMNS,
  credentialParams,
  insertOf,
  list,
  toAgent,
  toCredential,
  upsertOn,
  type AgentRow,
  type CredentialRow,
} from './rows.js';
import type { Sql } from './sql.js';

const AGENT = list(AGENT_COLUMNS);
const CREDENTIAL = list(CREDENTIAL_COLUMNS);

export class PostgresAgents implements AgentStore {
  constructor(private readonly sql: Sql) {}

  async upsertAgent(agent: AgentRecord): Promise<void> {
    // An upsert, not a replace: the agent's credentials (which reference it) stay.
    const { text, values } = insertOf('agents', AGENT_COLUMNS, agentParams(agent), upsertOn('id', AGENT_COLUMNS));
    await this.sql.run(text, values);
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const [row] = await this.sql.rows<AgentRow>(`SELECT ${AGENT} FROM agents WHERE id = $1`, [id]);
    return row ? toAgent(row) : undefined;
  }

  async listAgents(): Promise<AgentRecord[]> {
    return (await this.sql.rows<AgentRow>(`SELECT ${AGENT} FROM agents ORDER BY id`)).map(toAgent);
  }

  async setAgentStatus(id: string, status: AgentRecord['status'], reason: string, at: Millis): Promise<AgentRecord | undefined> {
    const [row] = await this.sql.rows<AgentRow>(`UPDATE agents SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1 RETURNING ${AGENT}`, [id, status, reason, at]);
    return row ? toAgent(row) : undefined;
  }

  async putCredential(credential: CredentialRecord): Promise<void> {
    const { text, values } = insertOf('credentials', CREDENTIAL_COLUMNS, credentialParams(credential), upsertOn('key_id', CREDENTIAL_COLUMNS));
    await this.sql.run(text, values);
  }

  async getCredential(keyId: string): Promise<CredentialRecord | undefined> {
    const [row] = await this.sql.rows<CredentialRow>(`SELECT ${CREDENTIAL} FROM credentials WHERE key_id = $1`, [keyId]);
    return row ? toCredential(row) : undefined;
  }

  async revokeCredentials(agentId: string, kind: CredentialRecord['kind'], at: Millis): Promise<number> {
    return this.sql.run('UPDATE credentials SET revoked_at = $3 WHERE agent_id = $1 AND kind = $2 AND revoked_at IS NULL', [agentId, kind, at]);
  }
}
