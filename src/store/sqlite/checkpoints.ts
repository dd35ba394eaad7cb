import type Database from 'better-sqlite3';
import type { CheckpointRecord } from '../records.js';
import type { CheckpointStore } from '../ports.js';
import { clampLimit } from './statements.js';

interface CheckpointRow {
  seq: number;
  hash: string;
  time: number;
  key_id: string;
  signature: string;
}

const toCheckpoint = (row: CheckpointRow): CheckpointRecord => ({ seq: row.seq, hash: row.hash, time: row.time, keyId: row.key_id, signature: row.signature });

/**
 * The signed checkpoints of the decision log. Its statements are prepared here rather than in
 * statements.ts: the table is read and written only by this file.
 */
export class SqliteCheckpoints implements CheckpointStore {
  private readonly insert: Database.Statement<[CheckpointRow]>;
  private readonly last: Database.Statement<[], CheckpointRow>;
  private readonly lastOfKey: Database.Statement<[string], CheckpointRow>;
  private readonly scan: Database.Statement<[number, number], CheckpointRow>;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT OR IGNORE INTO checkpoints (seq, hash, time, key_id, signature) VALUES (@seq, @hash, @time, @key_id, @signature)');
    this.last = db.prepare('SELECT * FROM checkpoints ORDER BY seq DESC LIMIT 1');
    this.lastOfKey = db.prepare('SELECT * FROM checkpoints WHERE key_id = ? ORDER BY seq DESC LIMIT 1');
    this.scan = db.prepare('SELECT * FROM checkpoints WHERE seq > ? ORDER BY seq ASC LIMIT ?');
  }

  async addCheckpoint(c: CheckpointRecord): Promise<boolean> {
    return this.insert.run({ seq: c.seq, hash: c.hash, time: c.time, key_id: c.keyId, signature: c.signature }).changes === 1;
  }

  async lastCheckpoint(keyId?: string): Promise<CheckpointRecord | undefined> {
    const row = keyId === undefined ? this.last.get() : this.lastOfKey.get(keyId);
    return row ? toCheckpoint(row) : undefined;
  }

  async scanCheckpoints(afterSeq: number, limit: number): Promise<CheckpointRecord[]> {
    return this.scan.all(afterSeq, clampLimit(limit)).map(toCheckpoint);
  }
}
