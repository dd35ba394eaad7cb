import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS, PostgresStore } from '../../src/store/index.js';

/** The built CLI (`npm test` builds first), run as an operator would run it. */
const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));
const SERVER = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function warden(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'warden-migrate-'));
const schema = `t_${randomBytes(6).toString('hex')}`;

function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

afterAll(async () => {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('warden migrate', () => {
  it('applies the pending migrations of the configured Postgres schema and says which; then that none are pending', async () => {
    expect(existsSync(CLI), `${CLI} missing: run npm run build first`).toBe(true);
    const file = config('pg.yaml', `storage: ${SERVER}?schema=${schema}\npostgres: { statement_timeout: 10s, migrate_on_start: false }\nredis: { url: redis://127.0.0.1:6379 }\n`);

    // Replicas told not to migrate refuse the new schema...
    await expect(PostgresStore.open(`${SERVER}?schema=${schema}`, { migrate: false })).rejects.toThrow(/run `warden migrate`/);

    const first = await warden(['migrate', '--config', file]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`postgres schema "${schema}": applied ${POSTGRES_MIGRATIONS.length} migration`);
    for (const m of POSTGRES_MIGRATIONS) expect(first.stdout).toContain(`  ${m.id}  ${m.name}`);

    // ...and open once it ran.
    const store = await PostgresStore.open(`${SERVER}?schema=${schema}`, { migrate: false });
    await store.ping();
    await store.close();

    const again = await warden(['migrate', '--config', file]);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(`postgres schema "${schema}" is up to date (version ${LATEST_POSTGRES_VERSION}); nothing to apply`);
  });

  it('on SQLite says migrations run when the database opens, and exits 0', async () => {
    const file = config('sqlite.yaml', 'storage: sqlite:./warden.db\n');
    const run = await warden(['migrate', '--config', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/SQLite applies its migrations whenever the database is opened; nothing to do/);
    expect(existsSync(join(dir, 'warden.db'))).toBe(false);
  });

  it('fails with the reason when Postgres cannot be reached, and with a usage error when the config is missing', async () => {
    const file = config('down.yaml', `storage: postgres://postgres@127.0.0.1:1/test?schema=${schema}\npostgres: { connect_timeout: 2s }\nredis: { url: redis://127.0.0.1:6379 }\n`);
    const down = await warden(['migrate', '--config', file]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/error: cannot connect to postgres: connect ECONNREFUSED/);

    const missing = await warden(['migrate', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/config file .*nope.yaml not found/);
  });
});
