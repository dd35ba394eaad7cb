import type { Millis } from '../records.js';
import type { ReplayStore } from '../ports.js';
import type { ReplayStatements } from './statements.js';

export class SqliteReplay implements ReplayStore {
  constructor(private readonly s: ReplayStatements) {}

  async rememberRequestId(agentId: string, requestId: string, now: Millis, expiresAt: Millis): Promise<boolean> {
    // One statement, so atomic: inserts the first time; replaces a row whose window has passed;
    // leaves a live row alone (changes = 0, a replay).
    const result = this.s.rememberRequestId.run({
      agent_id: agentId,
      request_id: requestId,
      expires_at: expiresAt,
      now,
    });
    return result.changes > 0;
  }

  async pruneRequestIds(now: Millis): Promise<number> {
    return this.s.pruneRequestIds.run(now).changes;
  }
}
