import type Database from 'better-sqlite3';
import type { BreakGlassGrant, Millis } from '../records.js';
import type { GrantStore } from '../ports.js';
import { grantParams, toGrant } from './rows.js';
import { immediate, type GrantStatements } from './statements.js';

export class SqliteGrants implements GrantStore {
  private readonly revoke: (id: string, by: string, at: Millis) => BreakGlassGrant | undefined;

  constructor(
    db: Database.Database,
    private readonly s: GrantStatements,
  ) {
    // Revoking twice keeps the first revocation (who and when) and still returns the grant.
    this.revoke = immediate(db, (id: string, by: string, at: Millis) => {
      this.s.revokeGrant.run({ id, by, at });
      const row = this.s.getGrant.get(id);
      return row ? toGrant(row) : undefined;
    });
  }

  async createGrant(grant: BreakGlassGrant): Promise<void> {
    this.s.insertGrant.run(grantParams(grant));
  }

  async revokeGrant(id: string, by: string, at: Millis): Promise<BreakGlassGrant | undefined> {
    return this.revoke(id, by, at);
  }

  async listGrants(filter: { activeAt?: Millis }): Promise<BreakGlassGrant[]> {
    const rows = filter.activeAt === undefined ? this.s.listGrants.all() : this.s.listActiveGrants.all({ at: filter.activeAt });
    return rows.map(toGrant);
  }
}
