import type { DecisionQuery } from '../records.js';
import { searchWords } from '../search-words.js';
import { decisionFilters } from '../sqlite/rows.js';
import { clampLimit } from './rows.js';

/** A reason's words, exactly as the GIN index of migration 5 is built (else the index is not used). */
export const REASON_WORDS = `to_tsvector('simple'::regconfig, regexp_replace(reason, '[[:punct:]]+', ' ', 'g'))`;

/**
 * The SELECT of a decision listing: the filters that have a value, newest (or oldest) first by
 * seq; `text` as a match of every word, each as a word or a word's beginning.
 */
export function decisionSelect(columns: string, query: DecisionQuery): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  for (const [column, op, value] of decisionFilters(query)) {
    if (value === undefined) continue;
    values.push(value);
    where.push(`${column} ${op === '!=' ? '<>' : op} $${values.length}`);
  }
  let limit = clampLimit(query.limit);
  if (query.text !== undefined) {
    const words = searchWords(query.text);
    if (words.length === 0) limit = 0;
    values.push(words.map((w) => `${w}:*`).join(' & ') || 'none');
    where.push(`${REASON_WORDS} @@ to_tsquery('simple'::regconfig, $${values.length})`);
  }
  values.push(limit);
  const order = query.order === 'asc' ? 'ASC' : 'DESC';
  return { text: `SELECT ${columns} FROM decisions${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT $${values.length}`, values };
}
