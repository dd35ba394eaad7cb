import { randomBytes } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DecisionLog, linkRecord } from '../../src/audit/decision-log.js';
import { chainFormatOf } from '../../src/audit/hash-chain.js';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import {
  LATEST_POSTGRES_VERSION,
  POSTGRES_MIGRATIONS,
  PostgresStore,
  SchemaBehindError,
  SchemaVersionError,
  openStore,
  type DecisionRecord,
  type NewDecisionRecord,
  type PostgresStoreOptions,
  type Store,
} from '../../src/store/index.js';
import { parsePostgresUrl, settingsOf } from '../../src/store/postgres/connection.js';
import { migrateSchema } from '../../src/store/postgres/migrations.js';
import { T0, agent, approval, decision, vote } from './fixtures.js';
import { linkRecordFormat1, pipelineEntry } from '../audit/chain-fixtures.js';
import { describeStoreContract } from './store-contract.js';

/*
 * The Postgres store on the machine's shared server: every store gets a schema of its own
 * (t_<random>), dropped at the end, so tests running at the same time never see each other.
 */
const SERVER = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemas = new Set<string>();
const opened: Store[] = [];

function freshSchema(): string {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  return schema;
}

const urlOf = (schema: string): string => `${SERVER}?schema=${schema}`;

async function openAt(schema: string, options?: PostgresStoreOptions): Promise<PostgresStore> {
  const store = await PostgresStore.open(urlOf(schema), options);
  opened.push(store);
  return store;
}

/** A plain connection to the shared server, for looking behind the store's back. */
async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

afterAll(async () => {
  await admin(async (client) => {
    // One statement: a schema per test, each with every table of the store, takes a while to drop.
    if (schemas.size) await client.query(`DROP SCHEMA IF EXISTS ${[...schemas].map((s) => `"${s}"`).join(', ')} CASCADE`);
  });
}, 60_000);

let made = 0;
/** A new entry of the log (what DecisionLog hands to appendChained). */
function entry(writer: string, overrides: Partial<NewDecisionRecord> = {}): NewDecisionRecord {
  made += 1;
  const { seq: _s, prevHash: _p, hash: _h, ...rest } = decision(1, { id: `dec-${writer}-${made}`, requestId: `req-${writer}-${made}`, time: T0 + made });
  return { ...rest, ...overrides };
}

// ---------------------------------------------------------------------------------------------

describeStoreContract('the Store contract, on Postgres', () => PostgresStore.open(urlOf(freshSchema())), {
  errors: {
    missingAgent: /violates foreign key constraint "credentials_agent_id_fkey"/,
    duplicateSeq: /duplicate key value violates unique constraint "decisions_pkey"/,
    duplicateId: /duplicate key value violates unique constraint "decisions_id_key"/,
  },
  openPair: async () => {
    const schema = freshSchema();
    const a = await PostgresStore.open(urlOf(schema));
    const b = await PostgresStore.open(urlOf(schema));
    return [a, b] as const;
  },
});

describe('opening and migrations', () => {
  const migrationRows = (schema: string) =>
    admin(async (c) => (await c.query<{ version: number; name: string }>(`SELECT version, name FROM "${schema}".warden_migrations ORDER BY version`)).rows);

  it('creates the schema, its tables and one migration row per version; opening again applies nothing', async () => {
    const schema = freshSchema();
    const store = await openAt(schema);
    expect(store.kind).toBe('postgres');
    expect(store.schema).toBe(schema);
    await store.ping();
    await store.close();
    await (await openAt(schema)).ping();

    expect((await migrationRows(schema)).map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.id));
    expect(await PostgresStore.migrate(urlOf(schema))).toEqual({ schema, applied: [], version: LATEST_POSTGRES_VERSION });
    const tables = await admin(async (c) => (await c.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])).rows.map((r) => r.t));
    expect(tables).toEqual(
      [
        'agents', 'approval_votes', 'approvals', 'break_glass_grants', 'checkpoints', 'credentials', 'decisions', 'incidents',
        'policy_bundles', 'relationships', 'seen_requests', 'sessions', 'sink_cursors', 'tool_pins', 'warden_migrations',
      ].sort(),
    );
  });

  it('lets three replicas start together on a new schema: all open, each migration applied once', async () => {
    const schema = freshSchema();
    const stores = await Promise.all([openAt(schema), openAt(schema), openAt(schema)]);
    await stores[0]!.upsertAgent(agent());
    for (const store of stores) expect(await store.getAgent('support-agent')).toStrictEqual(agent());
    expect((await migrationRows(schema)).map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.id));
  });

  it('PostgresStore.migrate says what it applied, then that nothing is pending', async () => {
    const schema = freshSchema();
    const first = await PostgresStore.migrate(urlOf(schema));
    expect(first.applied).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ id: m.id, name: m.name })));
    expect(first.version).toBe(LATEST_POSTGRES_VERSION);
    expect((await PostgresStore.migrate(urlOf(schema))).applied).toEqual([]);
  });

  it('with migrate off, refuses a schema that is behind, naming `warden migrate`; opens once migrated', async () => {
    const schema = freshSchema();
    const refused = PostgresStore.open(urlOf(schema), { migrate: false });
    await expect(refused).rejects.toThrow(SchemaBehindError);
    await expect(PostgresStore.open(urlOf(schema), { migrate: false })).rejects.toThrow(
      `postgres schema "${schema}" is at version 0 but this version of Warden needs ${LATEST_POSTGRES_VERSION}: run \`warden migrate\``,
    );
    // through openStore and the config's section as well
    await expect(openStore(urlOf(schema), { postgres: { migrate_on_start: false } })).rejects.toThrow(/run `warden migrate`/);
    await PostgresStore.migrate(urlOf(schema));
    const store = await openAt(schema, { migrate: false });
    await store.ping();
  });

  it('refuses a schema newer than the code, with or without migrating', async () => {
    const schema = freshSchema();
    await (await openAt(schema)).close();
    await admin((c) => c.query(`INSERT INTO "${schema}".warden_migrations (version, name, applied_at) VALUES ($1, 'from the future', 1)`, [LATEST_POSTGRES_VERSION + 7]));
    await expect(PostgresStore.open(urlOf(schema))).rejects.toThrow(SchemaVersionError);
    await expect(PostgresStore.open(urlOf(schema), { migrate: false })).rejects.toThrow(/schema version \d+ is newer than this version of Warden supports/);
  });

  it('rolls back every migration of a run when one fails', async () => {
    const schema = freshSchema();
    const broken = [...POSTGRES_MIGRATIONS, { id: LATEST_POSTGRES_VERSION + 1, name: 'broken', sql: 'CREATE TABLE ok (a int); SELECT nope FROM missing;' }];
    const target = parsePostgresUrl(urlOf(schema));
    await expect(migrateSchema(target, settingsOf(), broken)).rejects.toThrow(/relation "missing" does not exist/);
    const tables = await admin(async (c) => (await c.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema])).rows.map((r) => r.table_name));
    expect(tables).toEqual(['warden_migrations']);
    expect((await migrationRows(schema)).length).toBe(0);
    // and the good list still applies afterwards, exactly once
    expect((await migrateSchema(target, settingsOf())).applied.map((m) => m.id)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.id));
    expect((await migrateSchema(target, settingsOf())).applied).toEqual([]);
  });

  it('a running replica keeps working when another replica\'s migration adds a column to a table it reads', async () => {
    const schema = freshSchema();
    const store = await openAt(schema, { poolSize: 1 }); // one connection: its prepared statements are the ones reused
    await store.putToolPin({ tool: 'up/search', hash: 'sha256:1', firstSeenAt: T0 });
    await store.upsertAgent(agent());
    expect(await store.getToolPin('up/search')).toBeDefined();
    expect(await store.listAgents()).toHaveLength(1);
    await admin(async (c) => {
      await c.query(`ALTER TABLE "${schema}".tool_pins ADD COLUMN later text`);
      await c.query(`ALTER TABLE "${schema}".agents ADD COLUMN later text`);
    });
    expect(await store.getToolPin('up/search')).toStrictEqual({ tool: 'up/search', hash: 'sha256:1', firstSeenAt: T0 });
    expect(await store.listAgents()).toStrictEqual([agent()]);
  });

  it('keeps data across close and reopen', async () => {
    const schema = freshSchema();
    const a = await openAt(schema);
    await a.upsertAgent(agent());
    await a.appendDecisions([decision(1)]);
    await a.close();
    const b = await openAt(schema);
    expect(await b.getAgent('support-agent')).toStrictEqual(agent());
    expect(await b.lastDecision()).toStrictEqual(decision(1));
  });

  it('refuses schema names that are not plain identifiers, before connecting', async () => {
    await expect(PostgresStore.open(`${SERVER}?schema=Warden`)).rejects.toThrow(/schema "Warden" is not a plain lower-case identifier/);
    await expect(PostgresStore.open(`${SERVER}?schema=a;drop`)).rejects.toThrow(/not a plain lower-case identifier/);
  });
});

describe('text Postgres cannot hold as is', () => {
  it('strings with U+0000 (and ones starting with the escape mark) round-trip, in the log too', async () => {
    const store = await openAt(freshSchema());
    const odd = ['nul\u0000inside', '\uFDD0starts with the mark', '\u0000', '\uFDD0'];
    for (const id of odd) await store.upsertAgent(agent({ id, statusReason: id }));
    for (const id of odd) expect(await store.getAgent(id)).toStrictEqual(agent({ id, statusReason: id }));
    const records = await store.appendChained(
      odd.map((text, i) => entry('nul', { reason: text, agentId: text, requestId: `r${i}\u0000`, args: { text } })),
      linkRecord,
    );
    expect(await store.scanDecisions(0, 10)).toStrictEqual(records);
    expect((await store.queryDecisions({ agentId: 'nul\u0000inside' })).map((r) => r.seq)).toEqual([1]);
    expect((await verifyDecisionLog(store)).ok).toBe(true);
  });
});

describe('chain formats on Postgres (issue 17)', () => {
  it('a log written by the old code (format 1) verifies with format-2 records after it; an altered record of either is found', async () => {
    const schema = freshSchema();
    const store = await openAt(schema);
    const old = await store.appendChained(Array.from({ length: 30 }, () => pipelineEntry('pg-old')), linkRecordFormat1);
    const log = await DecisionLog.open(store);
    const fresh = await Promise.all(Array.from({ length: 30 }, (_, i) => log.append(pipelineEntry('pg-new'), i % 2 === 0).durable));
    await log.close();
    const all = await store.scanDecisions(0, 100);
    expect(all.map((r) => chainFormatOf(r.hash))).toEqual([...Array(30).fill(1), ...Array(30).fill(2)]);
    expect(all).toStrictEqual([...old, ...fresh]);
    expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, checked: 60, breakCount: 0 });

    await admin((c) => c.query(`UPDATE "${schema}".decisions SET reason = 'approved by nobody' WHERE seq IN (10, 45)`));
    const result = await verifyDecisionLog(store);
    expect(result.ok).toBe(false);
    expect(result.breaks.map((b) => [b.seq, b.problem])).toEqual([
      [10, 'its content does not match its hash: the record was altered'],
      [45, 'its content does not match its hash: the record was altered'],
    ]);
  });

  it('many concurrent requests on two DecisionLogs of one schema: contiguous seqs, one chain', async () => {
    const schema = freshSchema();
    const stores = [await openAt(schema), await openAt(schema)];
    const logs = await Promise.all(stores.map((s) => DecisionLog.open(s, { maxBatch: 32 })));
    const told: DecisionRecord[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_, r) => {
        for (let i = 0; i < 10; i++) {
          told.push(await logs[r % 2]!.append(pipelineEntry(`pg${r}`), i % 2 === 0).durable);
          if (i % 3 === 0) await sleep(r % 3);
        }
      }),
    );
    await Promise.all(logs.map((l) => l.close()));
    const all = await stores[0]!.scanDecisions(0, 1_000);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect([...told].sort((a, b) => a.seq - b.seq)).toStrictEqual(all);
    expect(await verifyDecisionLog(stores[0]!)).toMatchObject({ ok: true, checked: 400, breakCount: 0 });
  });
});

describe('the decision log with several writers', () => {
  it('four stores appending at once make one chain that verifies', async () => {
    const schema = freshSchema();
    const writers = await Promise.all([1, 2, 3, 4].map(() => openAt(schema)));
    const perWriter = 200;
    const returned: DecisionRecord[] = [];
    await Promise.all(
      writers.map(async (store, w) => {
        let left = perWriter;
        while (left > 0) {
          const size = Math.min(left, 1 + ((left * 7 + w) % 9)); // batches of 1 to 9, different per writer
          const batch = Array.from({ length: size }, () => entry(`w${w}`));
          returned.push(...(await store.appendChained(batch, linkRecord)));
          left -= size;
        }
      }),
    );
    const all = await writers[0]!.scanDecisions(0, 10_000);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 4 * perWriter }, (_, i) => i + 1));
    // What each writer was told it wrote is what the log holds.
    expect([...returned].sort((a, b) => a.seq - b.seq)).toStrictEqual(all);
    const result = await verifyDecisionLog(writers[0]!);
    expect(result.ok).toBe(true);
    expect(result.checked).toBe(4 * perWriter);
    expect(result.head).toEqual({ seq: 800, hash: all[799]!.hash });
  });

  it('a batch retried after its commit went through returns the records written then', async () => {
    const store = await openAt(freshSchema());
    const batch = [entry('retry'), entry('retry')];
    const first = await store.appendChained(batch, linkRecord);
    expect(await store.appendChained(batch, linkRecord)).toStrictEqual(first);
    expect((await store.scanDecisions(0, 10)).length).toBe(2);
    // but a batch with a new entry and a taken id still fails
    await expect(store.appendChained([entry('retry'), batch[0]!], linkRecord)).rejects.toThrow(/decisions_id_key/);
  });

  it('followDecisions delivers every record of two writers once, in seq order', async () => {
    const schema = freshSchema();
    const [a, b, reader] = await Promise.all([openAt(schema), openAt(schema), openAt(schema)]);
    await a.appendChained([entry('a'), entry('a')], linkRecord); // before following: skipped (afterSeq 2)
    const delivered: DecisionRecord[] = [];
    const batches: number[] = [];
    const stop = await reader.followDecisions(2, (records) => {
      batches.push(records.length);
      delivered.push(...records);
    });
    const write = async (store: PostgresStore, name: string) => {
      for (let i = 0; i < 60; i++) await store.appendChained(Array.from({ length: 1 + (i % 5) }, () => entry(name)), linkRecord);
    };
    await Promise.all([write(a, 'a'), write(b, 'b')]);
    const total = 2 + 2 * 180;
    const deadline = Date.now() + 10_000;
    while (delivered.length < total - 2 && Date.now() < deadline) await sleep(20);
    await stop();
    expect(delivered.map((r) => r.seq)).toEqual(Array.from({ length: total - 2 }, (_, i) => i + 3));
    expect(delivered).toStrictEqual(await reader.scanDecisions(2, 10_000));
    expect(batches.length).toBeGreaterThan(1);
    // stopped: nothing more arrives
    await a.appendChained([entry('a')], linkRecord);
    await sleep(1_200);
    expect(delivered).toHaveLength(total - 2);
  });

  it('followDecisions carries on after its LISTEN connection is killed', async () => {
    const schema = freshSchema();
    const [writer, reader] = await Promise.all([openAt(schema), openAt(schema)]);
    const seen: number[] = [];
    const stop = await reader.followDecisions(0, (records) => seen.push(...records.map((r) => r.seq)));
    try {
      await writer.appendChained([entry('k')], linkRecord);
      await waitFor(() => seen.length === 1);
      const killed = await terminate(`warden-feed ${schema}`);
      expect(killed).toBe(1);
      await writer.appendChained([entry('k'), entry('k')], linkRecord); // notified to nobody: the poll finds them
      await waitFor(() => seen.length === 3);
      await waitFor(async () => (await backends(`warden-feed ${schema}`)) === 1); // listening again
      await writer.appendChained([entry('k')], linkRecord);
      await waitFor(() => seen.length === 4);
      expect(seen).toEqual([1, 2, 3, 4]);
    } finally {
      await stop();
    }
  });
});

describe('leases', () => {
  it('of two stores only one runs the task; after the holder closes, the other takes over', async () => {
    const schema = freshSchema();
    const [a, b] = await Promise.all([openAt(schema), openAt(schema)]);
    const ran: string[] = [];
    expect(await a.whileLeader('expiry', async () => void ran.push('a'))).toBe(true);
    expect(await b.whileLeader('expiry', async () => void ran.push('b'))).toBe(false);
    expect(await a.whileLeader('expiry', async () => void ran.push('a'))).toBe(true);
    // another lease is another lock
    expect(await b.whileLeader('prune', async () => void ran.push('b-prune'))).toBe(true);
    expect(await a.whileLeader('prune', async () => void ran.push('a-prune'))).toBe(false);
    expect(ran).toEqual(['a', 'a', 'b-prune']);

    await a.close();
    await waitFor(() => b.whileLeader('expiry', async () => void ran.push('b')));
    expect(ran.at(-1)).toBe('b');
  });

  it('when the holder loses its connection, another replica takes the lease and the old holder stands down', async () => {
    const schema = freshSchema();
    const [a, b] = await Promise.all([openAt(schema), openAt(schema)]);
    expect(await a.whileLeader('expiry', async () => undefined)).toBe(true);
    expect(await terminate(`warden-lease ${schema}`)).toBe(1); // a's lease connection (b has not opened one yet)
    await waitFor(() => b.whileLeader('expiry', async () => undefined));
    // a reconnects lazily and finds the lease taken (a first try may be the one that learns the connection is gone)
    const again = () => a.whileLeader('expiry', async () => undefined);
    expect(await again().catch(again)).toBe(false);
  });

  it('a failing task fails the call, and the lease stays held', async () => {
    const schema = freshSchema();
    const [a, b] = await Promise.all([openAt(schema), openAt(schema)]);
    await expect(a.whileLeader('expiry', async () => Promise.reject(new Error('task broke')))).rejects.toThrow('task broke');
    expect(await b.whileLeader('expiry', async () => undefined)).toBe(false);
  });
});

describe('timeouts', () => {
  it('a statement that runs past statement_timeout is cancelled with a clear error, and the store carries on', async () => {
    const schema = freshSchema();
    const store = await openAt(schema, { statementTimeoutMs: 300 });
    await store.createApproval(approval());
    // Another session holds the approval's row: the vote waits for it, then gives up.
    await admin(async (c) => {
      await c.query('BEGIN');
      await c.query(`SELECT * FROM "${schema}".approvals WHERE id = 'apr-1' FOR UPDATE`);
      const started = Date.now();
      await expect(store.vote('apr-1', vote('alice'), T0 + 10)).rejects.toThrow(
        /postgres cancelled a statement that ran longer than 300 ms \(postgres.statement_timeout\): canceling statement due to statement timeout/,
      );
      expect(Date.now() - started).toBeLessThan(2_000);
      await c.query('ROLLBACK');
    });
    await store.ping();
    expect(await store.vote('apr-1', vote('alice'), T0 + 10)).toMatchObject({ ok: true, quorumReached: true });
  });

  it('a server that accepts connections but never answers fails the open within connect_timeout', async () => {
    const accepted: Socket[] = [];
    const silent = await listen(createServer((socket) => void accepted.push(socket)));
    try {
      const started = Date.now();
      await expect(PostgresStore.open(`postgres://postgres@127.0.0.1:${port(silent)}/test?schema=t_never`, { connectTimeoutMs: 300 })).rejects.toThrow(
        /no postgres connection within 300 ms \(postgres.connect_timeout\)/,
      );
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(accepted.length).toBeGreaterThan(0);
    } finally {
      accepted.forEach((s) => s.destroy());
      await close(silent);
    }
  });

  it('a server that stops answering mid-query fails the call (query_timeout), instead of hanging it', async () => {
    const schema = freshSchema();
    await PostgresStore.migrate(urlOf(schema));
    const proxy = await freezableProxy(new URL(SERVER));
    try {
      const viaProxy = await PostgresStore.open(`postgres://postgres@127.0.0.1:${port(proxy.server)}/test?schema=${schema}`, { statementTimeoutMs: 200, migrate: false });
      opened.push(viaProxy);
      await viaProxy.ping();
      proxy.freeze();
      const started = Date.now();
      await expect(viaProxy.ping()).rejects.toThrow(/postgres did not answer within 2200 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      proxy.destroy();
      await close(proxy.server);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// helpers

async function waitFor(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(25);
  }
}

/** Ends the server processes of connections with this application_name; how many. */
function terminate(applicationName: string): Promise<number> {
  return admin(async (c) => (await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rowCount ?? 0);
}

function backends(applicationName: string): Promise<number> {
  return admin(async (c) => (await c.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rowCount ?? 0);
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function port(server: Server): number {
  return (server.address() as { port: number }).port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A TCP proxy to the server that can be frozen: it then keeps every connection open but passes nothing. */
async function freezableProxy(target: URL): Promise<{ server: Server; freeze: () => void; destroy: () => void }> {
  let frozen = false;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    sockets.push(client, upstream);
    client.on('data', (data) => void (frozen || upstream.write(data)));
    upstream.on('data', (data) => void (frozen || client.write(data)));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await listen(server);
  return {
    server,
    freeze: () => void (frozen = true),
    destroy: () => sockets.forEach((s) => s.destroy()),
  };
}
