import type { Relationship } from '../records.js';
import type { RelationshipStore } from '../ports.js';
import type { Sql } from './sql.js';

export class PostgresRelationships implements RelationshipStore {
  constructor(private readonly sql: Sql) {}

  async addRelationship(tuple: Relationship): Promise<void> {
    await this.sql.run('INSERT INTO relationships (subject, relation, object) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [tuple.subject, tuple.relation, tuple.object]);
  }

  async removeRelationship(tuple: Relationship): Promise<void> {
    await this.sql.run('DELETE FROM relationships WHERE subject = $1 AND relation = $2 AND object = $3', [tuple.subject, tuple.relation, tuple.object]);
  }

  async relationshipsOf(subjects: readonly string[]): Promise<Relationship[]> {
    const unique = [...new Set(subjects)];
    if (unique.length === 0) return [];
    // One array parameter, however many subjects; sorted here as SQLite's store sorts them.
    const rows = await this.sql.rows<Relationship>('SELECT subject, relation, object FROM relationships WHERE subject = ANY($1::text[])', [unique]);
    return rows.sort((a, b) => cmp(a.subject, b.subject) || cmp(a.relation, b.relation) || cmp(a.object, b.object));
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
