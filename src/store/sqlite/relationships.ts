import type { Relationship } from '../records.js';
import type { RelationshipStore } from '../ports.js';
import type { Params } from './rows.js';
import type { ShapedStatements, RelationshipStatements } from './statements.js';

/** Stays well under SQLite's bound-parameter limit. */
const IN_CHUNK = 500;

export class SqliteRelationships implements RelationshipStore {
  constructor(
    private readonly s: RelationshipStatements,
    private readonly shaped: ShapedStatements,
  ) {}

  async addRelationship(tuple: Relationship): Promise<void> {
    this.s.addRelationship.run(tuple.subject, tuple.relation, tuple.object);
  }

  async removeRelationship(tuple: Relationship): Promise<void> {
    this.s.removeRelationship.run(tuple.subject, tuple.relation, tuple.object);
  }

  async relationshipsOf(subjects: readonly string[]): Promise<Relationship[]> {
    const unique = [...new Set(subjects)];
    if (unique.length === 0) return [];
    const out: Relationship[] = [];
    for (const chunk of chunks(unique, IN_CHUNK)) {
      const params: Params = {};
      chunk.forEach((subject, i) => (params[`s${i}`] = subject));
      const sql = `SELECT subject, relation, object FROM relationships WHERE subject IN (${chunk.map((_, i) => `@s${i}`).join(', ')})`;
      out.push(...(this.shaped.get(sql).all(params) as Relationship[]));
    }
    return out.sort(
      (a, b) => cmp(a.subject, b.subject) || cmp(a.relation, b.relation) || cmp(a.object, b.object),
    );
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
