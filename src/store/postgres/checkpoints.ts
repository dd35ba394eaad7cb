import type { CheckpointRecord } from '../records.js';
import type { CheckpointStore } from '../ports.js';
import { CHECKPOINT_COLUMNS, clampLimit, list } from './rows.js';
import type { Sql } from './sql.js';

interface CheckpointRow {
  seq: number;
  hash: string;
  time: number;
  key_id: string;
  signature: string;
}

const CHECKPOINT = list(CHECKPOINT_COLUMNS);

const toCheckpoint = (row: CheckpointRow): CheckpointRecord => ({ seq: row.seq, hash: row.hash, time: row.time, keyId: row.key_id, signature: row.signature });

export class PostgresCheckpoints implements CheckpointStore {
  constructor(private readonly sql: Sql) {}

  async addCheckpoint(c: CheckpointRecord): Promise<boolean> {
    const changed = await this.sql.run(
      'INSERT INTO checkpoints (seq, hash, time, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING',
      [c.seq, c.hash, c.time, c.keyId, c.signature],
    );
    return changed === 1;
  }

  async lastCheckpoint(keyId?: string): Promise<CheckpointRecord | undefined> {
    const [row] =
      keyId === undefined
        ? await this.sql.rows<CheckpointRow>(`SELECT ${CHECKPOINT} FROM checkpoints ORDER BY seq DESC LIMIT 1`)
        : await this.sql.rows<CheckpointRow>(`SELECT ${CHECKPOINT} FROM checkpoints WHERE key_id = $1 ORDER BY seq DESC LIMIT 1`, [keyId]);
    return row ? toCheckpoint(row) : undefined;
  }

  async scanCheckpoints(afterSeq: number, limit: number): Promise<CheckpointRecord[]> {
    return (await this.sql.rows<CheckpointRow>(`SELECT ${CHECKPOINT} FROM checkpoints WHERE seq > $1 ORDER BY seq ASC LIMIT $2`, [afterSeq, clampLimit(limit)])).map(toCheckpoint);
  }
}
