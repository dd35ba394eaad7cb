import type { SessionRecord } from '../records.js';
import type { SessionStore } from '../ports.js';
import { insertOf, list, SESSION_COLUMNS, sessionParams, toSession, upsertOn, type SessionRow } from './rows.js';
import type { Sql } from './sql.js';


/**
 * Sessions written through, not behind (SQLite buffers them): several replicas may read the same
 * session, so what one wrote must be in the database when the call returns. Deployments with
 * several replicas keep sessions in Redis (compare-and-set); this is the plain store.
 */
export class PostgresSessions implements SessionStore {
  constructor(private readonly sql: Sql) {}

  async getSession(tenant: string, id: string): Promise<SessionRecord | undefined> {
    const [row] = await this.sql.rows<SessionRow>(`SELECT ${list(SESSION_COLUMNS)} FROM sessions WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return row ? toSession(row) : undefined;
  }

  async putSession(session: SessionRecord): Promise<void> {
    const { text, values } = insertOf('sessions', SESSION_COLUMNS, sessionParams(session), upsertOn('tenant, id', SESSION_COLUMNS));
    await this.sql.run(text, values);
  }
}
