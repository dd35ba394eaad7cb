import type Database from 'better-sqlite3';
import { searchWords } from '../search-words.js';

/*
 * The full-text index of reasons (migration 9) is kept OFF the log's write path: an FTS5 insert
 * per record inside the log's transaction cost ~86 µs per record (measured by log-writer, issue
 * 17), more than the rest of the write. Instead records are indexed afterwards, in bulk, up to
 * the seq in `reason_index_cursor`: by the checkpointer's worker when the log is quiet
 * (checkpointer.ts), and by a text search before it runs (a bounded chunk). Records after the
 * cursor — the tail not indexed yet — are searched by scanning them with `reason_has_words`, the
 * same word match in JS, so a search always covers every record.
 */

/** The SQL of one indexing step: the next `limit` records after the cursor, and the cursor moved. */
export const INDEX_STEP_SQL = {
  cursor: "SELECT seq FROM reason_index_cursor WHERE name = 'reasons'",
  insert: 'INSERT INTO decisions_reason_fts(rowid, reason) SELECT seq, reason FROM decisions WHERE seq > ? ORDER BY seq LIMIT ?',
  last: 'SELECT MAX(seq) AS seq FROM (SELECT seq FROM decisions WHERE seq > ? ORDER BY seq LIMIT ?)',
  move: "UPDATE reason_index_cursor SET seq = ? WHERE name = 'reasons'",
} as const;

/** The scalar function the tail scan uses: 1 when every word of `words` (space-separated) begins a word of the reason. */
export const HAS_WORDS = 'reason_has_words';

export function registerHasWords(db: Database.Database): void {
  db.function(HAS_WORDS, { deterministic: true, varargs: false }, (reason: unknown, words: unknown) => {
    if (typeof reason !== 'string' || typeof words !== 'string') return 0;
    const own = searchWords(reason.length > 4096 ? reason.slice(0, 4096) : reason);
    return words.split(' ').every((w) => own.some((o) => o.startsWith(w))) ? 1 : 0;
  });
}

export class ReasonIndex {
  private readonly cursor: Database.Statement<[], { seq: number }> | undefined;
  private readonly step: ((limit: number) => number) | undefined;

  constructor(db: Database.Database) {
    const present = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'reason_index_cursor'").get() !== undefined;
    if (!present) return; // a log from before migration 9, opened read-only: everything is tail
    this.cursor = db.prepare<[], { seq: number }>(INDEX_STEP_SQL.cursor);
    if (db.readonly) return;
    const insert = db.prepare<[number, number]>(INDEX_STEP_SQL.insert);
    const last = db.prepare<[number, number], { seq: number | null }>(INDEX_STEP_SQL.last);
    const move = db.prepare<[number]>(INDEX_STEP_SQL.move);
    const cursor = this.cursor;
    const transaction = db.transaction((limit: number): number => {
      const from = cursor.get()?.seq ?? 0;
      const to = last.get(from, limit)?.seq;
      if (to === null || to === undefined) return 0;
      const { changes } = insert.run(from, limit);
      move.run(to);
      return changes;
    });
    this.step = (limit) => transaction.immediate(limit);
  }

  /** The last seq indexed (0: none; every record is tail). */
  indexedUpTo(): number {
    return this.cursor?.get()?.seq ?? 0;
  }

  /** Indexes up to `limit` records after the cursor; how many it indexed. */
  catchUp(limit: number): number {
    return this.step ? this.step(limit) : 0;
  }
}
