/**
 * SinkCursorStore on both stores (a SQLite file, a Postgres schema of its own): a cursor starts
 * absent, only moves forward, and each sink has its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

const SERVER = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_${randomBytes(6).toString('hex')}`;
afterAll(async () => {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

const sqliteFile = join(mkdtempSync(join(tmpdir(), 'warden-cursor-')), 'warden.db');
const stores: Array<[string, () => Promise<Store>]> = [
  ['sqlite', async () => SqliteStore.open(sqliteFile)],
  ['postgres', () => PostgresStore.open(`${SERVER}?schema=${schema}`)],
];

describe.each(stores)('SinkCursorStore on %s', (_kind, open) => {
  it('starts absent, moves only forward, one cursor per sink, and survives reopening', async () => {
    let store = await open();
    try {
      expect(await store.getSinkCursor('siem')).toBeUndefined();
      await store.advanceSinkCursor('siem', 0, 1);
      expect(await store.getSinkCursor('siem')).toBe(0);
      await store.advanceSinkCursor('siem', 5, 2);
      await store.advanceSinkCursor('siem', 3, 3); // a late writer never moves it back
      expect(await store.getSinkCursor('siem')).toBe(5);
      await store.advanceSinkCursor('siem', 9_007_199_254, 4);
      await store.advanceSinkCursor('notify:slack', 2, 4);
      expect(await store.getSinkCursor('siem')).toBe(9_007_199_254);
      expect(await store.getSinkCursor('notify:slack')).toBe(2);
      expect(await store.getSinkCursor('Siem')).toBeUndefined();
      await store.close();
      store = await open();
      expect(await store.getSinkCursor('siem')).toBe(9_007_199_254);
    } finally {
      await store.close();
    }
  });
});
