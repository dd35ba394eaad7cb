import type { BreakGlassGrant, Millis } from '../records.js';
import type { GrantStore } from '../ports.js';
import { GRANT_COLUMNS, grantParams, insertOf, list, toGrant, type GrantRow } from './rows.js';
import type { Sql } from './sql.js';

const GRANT = list(GRANT_COLUMNS);

export class PostgresGrants implements GrantStore {
  constructor(private readonly sql: Sql) {}

  async createGrant(grant: BreakGlassGrant): Promise<void> {
    const { text, values } = insertOf('break_glass_grants', GRANT_COLUMNS, grantParams(grant));
    await this.sql.run(text, values);
  }

  async revokeGrant(id: string, by: string, at: Millis): Promise<BreakGlassGrant | undefined> {
    // Revoking twice keeps the first revocation (who and when) and still returns the grant: the
    // update touches only an unrevoked row, and the read after it sees whichever revocation won.
    await this.sql.run('UPDATE break_glass_grants SET revoked_at = $3, revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL', [id, by, at]);
    const [row] = await this.sql.rows<GrantRow>(`SELECT ${GRANT} FROM break_glass_grants WHERE id = $1`, [id]);
    return row ? toGrant(row) : undefined;
  }

  async listGrants(filter: { activeAt?: Millis }): Promise<BreakGlassGrant[]> {
    const rows =
      filter.activeAt === undefined
        ? await this.sql.rows<GrantRow>(`SELECT ${GRANT} FROM break_glass_grants ORDER BY created_at, id`)
        : await this.sql.rows<GrantRow>(
            `SELECT ${GRANT} FROM break_glass_grants WHERE revoked_at IS NULL AND created_at <= $1 AND expires_at > $1 ORDER BY created_at, id`,
            [filter.activeAt],
          );
    return rows.map(toGrant);
  }
}
