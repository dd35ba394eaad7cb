import type { Millis } from '../records.js';
import type { SinkCursorStore } from '../ports.js';
import type { Sql } from './sql.js';

/** The cursors of the decision-log sinks. */
export class PostgresSinkCursors implements SinkCursorStore {
  constructor(private readonly sql: Sql) {}

  async getSinkCursor(name: string): Promise<number | undefined> {
    const [row] = await this.sql.rows<{ seq: number | string }>('SELECT seq FROM sink_cursors WHERE name = $1', [name]);
    return row ? Number(row.seq) : undefined;
  }

  async advanceSinkCursor(name: string, seq: number, at: Millis): Promise<void> {
    await this.sql.run(
      'INSERT INTO sink_cursors (name, seq, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET seq = GREATEST(sink_cursors.seq, EXCLUDED.seq), updated_at = EXCLUDED.updated_at',
      [name, seq, at],
    );
  }
}
