import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  LATEST_SCHEMA_VERSION,
  MIGRATIONS,
  SchemaVersionError,
  SqliteStore,
  openStore,
  type DecisionRecord,
  type SessionRecord,
  type Store,
} from '../../src/store/index.js';
import { startCheckpointer } from '../../src/store/sqlite/checkpointer.js';
import { applyMigrations } from '../../src/store/sqlite/migrations.js';
import { T0, agent, decision, seedApproved } from './fixtures.js';
import { describeStoreContract } from './store-contract.js';

/** The built store (`npm test` builds first): what a second process really runs. */
const DIST_STORE = fileURLToPath(new URL('../../dist/store/index.js', import.meta.url));

const root = mkdtempSync(join(tmpdir(), 'warden-store-'));
let counter = 0;
const open: Array<SqliteStore | Store> = [];

function tempDb(): string {
  counter += 1;
  return join(root, `t${counter}`, 'warden.db');
}

function openAt(path: string, options?: Parameters<typeof SqliteStore.open>[1]): SqliteStore {
  const store = SqliteStore.open(path, options);
  open.push(store);
  return store;
}

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function rawColumn(path: string, sql: string): unknown {
  const db = new Database(path);
  try {
    return db.prepare(sql).pluck().get();
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------

/*
 * The contract runs in memory: a file, WAL and a checkpointer thread per test only made it slow.
 * What needs a file (two connections racing, reopening, write-behind, the checkpointer) is below.
 */
describeStoreContract('the Store contract, on SQLite', () => SqliteStore.open(':memory:'), {
  errors: { missingAgent: /FOREIGN KEY/, duplicateSeq: /UNIQUE|PRIMARY KEY/, duplicateId: /UNIQUE/ },
  openPair: () => {
    const path = tempDb();
    return [SqliteStore.open(path), SqliteStore.open(path)];
  },
});

describe('opening and migrations', () => {
  it('creates missing parent folders, turns on WAL, and records each migration once', async () => {
    const path = join(root, 'deep', 'er', 'folder', 'w.db');
    expect(existsSync(join(root, 'deep'))).toBe(false);
    const store = openAt(path);
    await store.ping();
    expect(existsSync(path)).toBe(true);
    expect(String(rawColumn(path, 'PRAGMA journal_mode')).toLowerCase()).toBe('wal');

    await store.close();
    const again = openAt(path);
    await again.ping();
    await again.close();
    openAt(path);

    const db = new Database(path);
    const rows = db.prepare('SELECT id, name FROM schema_migrations ORDER BY id').all() as Array<{ id: number; name: string }>;
    db.close();
    expect(rows.map((r) => r.id)).toEqual(MIGRATIONS.map((m) => m.id));
    expect(Math.max(...rows.map((r) => r.id))).toBe(LATEST_SCHEMA_VERSION);
  });

  it('creates every table the design names', () => {
    const path = tempDb();
    openAt(path);
    const db = new Database(path);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).sort();
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'").pluck().all();
    db.close();
    expect(tables).toEqual(
      [
        'agents',
        'approval_votes',
        'approvals',
        'break_glass_grants',
        'checkpoints',
        'credentials',
        'decisions',
        // The full-text index of reasons (migration 9), its FTS5 shadow tables and how far it goes.
        'decisions_reason_fts',
        'decisions_reason_fts_config',
        'decisions_reason_fts_data',
        'decisions_reason_fts_idx',
        'incidents',
        'reason_index_cursor',
        'policy_bundles',
        'relationships',
        'schema_migrations',
        'seen_requests',
        'sessions',
        'sink_cursors',
        'tool_pins',
      ].sort(),
    );
    expect(indexes).toEqual(
      expect.arrayContaining([
        'idx_decisions_agent_time',
        'idx_decisions_resource',
        'idx_decisions_session',
        'idx_decisions_time',
        'idx_approvals_status',
      ]),
    );
    // Migration 2 dropped the low-selectivity ones: each index is written for every record.
    expect(indexes).not.toContain('idx_decisions_effect');
    // Migration 9 brought tenant back, with request id and rule: the decision-log search's filters.
    expect(indexes).toEqual(expect.arrayContaining(['idx_decisions_tenant', 'idx_decisions_request', 'idx_decisions_rule']));
  });

  it('keeps data across close and reopen', async () => {
    const path = tempDb();
    const a = openAt(path);
    await a.upsertAgent(agent());
    await a.appendDecisions([decision(1)]);
    await a.close();
    const b = openAt(path);
    expect(await b.getAgent('support-agent')).toStrictEqual(agent());
    expect((await b.lastDecision())?.id).toBe('dec-1');
  });

  it('refuses a database whose schema is newer than the code, with a clear error', async () => {
    const path = tempDb();
    await openAt(path).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 7, 'from the future', 1);
    db.close();

    expect(() => SqliteStore.open(path)).toThrow(SchemaVersionError);
    expect(() => SqliteStore.open(path)).toThrow(
      new RegExp(`schema version ${LATEST_SCHEMA_VERSION + 7} is newer than this version of Warden supports \\(${LATEST_SCHEMA_VERSION}\\)`),
    );
  });

  it('rolls back every migration of a run when one fails', () => {
    const path = join(root, `raw-${++counter}.db`);
    const db = new Database(path);
    try {
      const broken = [...MIGRATIONS, { id: LATEST_SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE ok (a); SELECT nope FROM missing;' }];
      expect(() => applyMigrations(db, broken)).toThrow(/no such table: missing/);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      expect(tables).toEqual([]);
      // and the good list still applies afterwards, exactly once
      expect(applyMigrations(db)).toEqual(MIGRATIONS.map((m) => m.id));
      expect(applyMigrations(db)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('lets two connections open the same new file at once', async () => {
    const path = tempDb();
    const [a, b] = await Promise.all([Promise.resolve().then(() => openAt(path)), Promise.resolve().then(() => openAt(path))]);
    await a.upsertAgent(agent());
    expect(await b.getAgent('support-agent')).toStrictEqual(agent());
    expect(rawColumn(path, 'SELECT COUNT(*) FROM schema_migrations')).toBe(MIGRATIONS.length);
  });
});

describe('openStore', () => {
  it('opens sqlite URLs and bare .db paths', async () => {
    const memory = await openStore('sqlite::memory:');
    open.push(memory);
    expect(memory.kind).toBe('sqlite');
    await memory.ping();

    const path = join(root, `url-${++counter}`, 'sub', 'a.db');
    const viaUrl = await openStore(`sqlite:${path}`);
    open.push(viaUrl);
    await viaUrl.upsertAgent(agent());
    expect(existsSync(path)).toBe(true);

    const bare = join(root, `bare-${++counter}.db`);
    open.push(await openStore(bare));
    expect(existsSync(bare)).toBe(true);
  });

  it('refuses unknown forms with clear errors', async () => {
    await expect(openStore('mysql://localhost/warden')).rejects.toThrow(/unsupported storage URL.*accepted forms: sqlite:<path>/);
    await expect(openStore('warden.txt')).rejects.toThrow(/accepted forms/);
    await expect(openStore('sqlite:')).rejects.toThrow(/names no file/);
    // postgres URLs are opened by PostgresStore (test/store/postgres-store.test.ts); a bad schema name is refused before connecting
    await expect(openStore('postgres://u:p@localhost/warden?schema=Bad-Name')).rejects.toThrow(/schema "Bad-Name" is not a plain lower-case identifier/);
  });
});

describe('sessions (write-behind)', () => {
  it('sessions are written behind: within milliseconds, with the next log write, and at close', async () => {
    const path = tempDb();
    const store = openAt(path);
    // A new connection each time: a store keeps the sessions it read in memory.
    const fromFile = (id: string) => openAt(path).getSession('t', id);
    const session: SessionRecord = { id: 's-wb', tenant: 't', callsUsed: 1, spend: 0, tainted: false, recent: [], updatedAt: T0 };
    await store.putSession(session);
    await store.putSession({ ...session, callsUsed: 2, updatedAt: T0 + 1 });
    expect((await store.getSession('t', 's-wb'))?.callsUsed).toBe(2); // read through the buffer
    expect(await fromFile('s-wb')).toBeUndefined(); // not written yet
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await fromFile('s-wb'))?.callsUsed).toBe(2);
    await store.putSession({ ...session, callsUsed: 3, updatedAt: T0 + 2 });
    await store.appendChained([{ ...decision(1), seq: undefined, prevHash: undefined, hash: undefined } as never], (entry, previous) => ({ ...(entry as DecisionRecord), seq: (previous?.seq ?? 0) + 1, prevHash: previous?.hash ?? '', hash: 'h1' }));
    expect((await fromFile('s-wb'))?.callsUsed).toBe(3); // rode along in the log's transaction
    await store.putSession({ ...session, callsUsed: 4, updatedAt: T0 + 3 });
    await store.close();
    expect((await fromFile('s-wb'))?.callsUsed).toBe(4);
  });
});

describe('the exactly-once gate under a race', () => {
  it('a second process running the built store races this one: each approval is claimed exactly once', async () => {
    expect(existsSync(DIST_STORE), `${DIST_STORE} missing: run npm run build first`).toBe(true);
    const path = tempDb();
    const store = openAt(path);
    const ids = await seedApproved(store, 400, 'proc');

    const dir = mkdtempSync(join(root, 'child-'));
    const script = join(dir, 'claimer.mjs');
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(pathToFileURL(DIST_STORE).href)};
const [dbPath, idsJson] = process.argv.slice(2);
const ids = JSON.parse(idsJson);
const store = SqliteStore.open(dbPath);
process.on('message', async ({ startAt }) => {
  while (Date.now() < startAt) { /* start together with the parent */ }
  const claimed = [];
  for (const id of ids) if (await store.claimApprovalForExecution(id)) claimed.push(id);
  await store.close();
  process.send({ claimed }, () => process.exit(0));
});
process.send({ ready: true });
`,
    );

    const child = fork(script, [path, JSON.stringify(ids)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const childExit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const childResult = new Promise<string[]>((resolve) => child.once('message', (m) => resolve((m as { claimed: string[] }).claimed)));
    const startAt = Date.now() + 150;
    child.send({ startAt });
    while (Date.now() < startAt) {
      /* start together with the child */
    }
    const mine: string[] = [];
    for (const id of ids) if (await store.claimApprovalForExecution(id)) mine.push(id);

    const theirs = await childResult;
    if (process.env.WARDEN_DEBUG_RACE) console.log(`parent claimed ${mine.length}, child ${theirs.length}`);
    expect(await childExit).toBe(0);
    const overlap = mine.filter((id) => theirs.includes(id));
    expect(overlap).toEqual([]);
    expect([...mine, ...theirs].sort()).toEqual([...ids].sort());
    expect(await store.listApprovals({ status: 'executing', limit: 1000 })).toHaveLength(ids.length);
  });
});

describe('the checkpointer', () => {
  it('folds the WAL into the database file from a worker thread while the writer never checkpoints', async () => {
    const path = tempDb();
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('wal_autocheckpoint = 0');
      db.exec('CREATE TABLE t (x TEXT)');
      const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 2000; i++) insert.run('x'.repeat(100));
      })();
      const before = statSync(path).size;
      // The rows are only in the WAL: with automatic checkpoints off, the writer never moves them.
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(2000 * 100);

      const checkpointer = startCheckpointer(path, 10);
      try {
        const deadline = Date.now() + 5_000;
        while (statSync(path).size <= before && Date.now() < deadline) await sleep(10);
      } finally {
        await checkpointer.close();
      }
      expect(statSync(path).size).toBeGreaterThan(before + 2000 * 100);
      expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(2000);
    } finally {
      db.close();
    }
  });
});
