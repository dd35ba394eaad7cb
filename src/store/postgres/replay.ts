import type { Millis } from '../records.js';
import type { ReplayStore } from '../ports.js';
import type { Sql } from './sql.js';

export class PostgresReplay implements ReplayStore {
  constructor(private readonly sql: Sql) {}

  async rememberRequestId(agentId: string, requestId: string, now: Millis, expiresAt: Millis): Promise<boolean> {
    // One statement, so atomic (a concurrent insert of the same id waits for the first, then sees
    // its row): inserts the first time; replaces a row whose window has passed; leaves a live row
    // alone (no row changed: a replay).
    const changed = await this.sql.run(
      `INSERT INTO seen_requests (agent_id, request_id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (agent_id, request_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
       WHERE seen_requests.expires_at <= $4`,
      [agentId, requestId, expiresAt, now],
    );
    return changed > 0;
  }

  async pruneRequestIds(now: Millis): Promise<number> {
    return this.sql.run('DELETE FROM seen_requests WHERE expires_at <= $1', [now]);
  }
}
