import type Database from 'better-sqlite3';
import type { Millis } from '../records.js';
import type { SinkCursorStore } from '../ports.js';

/** The cursors of the decision-log sinks. Its statements are prepared here: only this file uses the table. */
export class SqliteSinkCursors implements SinkCursorStore {
  private readonly get: Database.Statement<[string], { seq: number }>;
  private readonly advance: Database.Statement<[string, number, number]>;

  constructor(db: Database.Database) {
    this.get = db.prepare('SELECT seq FROM sink_cursors WHERE name = ?');
    this.advance = db.prepare(
      'INSERT INTO sink_cursors (name, seq, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET seq = max(sink_cursors.seq, excluded.seq), updated_at = excluded.updated_at',
    );
  }

  async getSinkCursor(name: string): Promise<number | undefined> {
    return this.get.get(name)?.seq;
  }

  async advanceSinkCursor(name: string, seq: number, at: Millis): Promise<void> {
    this.advance.run(name, seq, at);
  }
}
