import { createHash } from 'node:crypto';
import type pg from 'pg';
import { explainError, isConnectionFault, type ConnectionSettings } from './connection.js';
import { decodeRow, encodeValue } from './rows.js';

/** What an aggregate runs its statements on: the pool, or one connection inside a transaction. */
export interface Sql {
  /** The rows of a statement, text columns decoded (rows.ts). */
  rows<R>(text: string, values?: readonly unknown[]): Promise<R[]>;
  /** The number of rows a statement changed. */
  run(text: string, values?: readonly unknown[]): Promise<number>;
}

const names = new Map<string, string>();

/**
 * Each statement is prepared once per connection (a named statement), its name derived from its
 * text: the same text always has the same name, so connections of the pool share the scheme.
 */
function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `w_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (names.size < 10_000) names.set(text, name);
  }
  return name;
}

async function query(client: pg.ClientBase, text: string, values: readonly unknown[] | undefined): Promise<pg.QueryResult> {
  return client.query({ name: nameOf(text), text, values: values?.map(encodeValue) });
}

class ClientSql implements Sql {
  constructor(private readonly client: pg.ClientBase) {}

  async rows<R>(text: string, values?: readonly unknown[]): Promise<R[]> {
    const result = await query(this.client, text, values);
    return result.rows.map((row: Record<string, unknown>) => decodeRow<R>(row));
  }

  async run(text: string, values?: readonly unknown[]): Promise<number> {
    return (await query(this.client, text, values)).rowCount ?? 0;
  }
}

/**
 * The pool and how statements run on it. A connection that failed in a way that leaves it in
 * doubt (a client-side timeout, a broken socket) is destroyed rather than handed out again; one
 * whose statement merely failed (a constraint) goes back to the pool.
 */
export class PgDatabase implements Sql {
  constructor(
    readonly pool: pg.Pool,
    readonly settings: ConnectionSettings,
  ) {}

  async rows<R>(text: string, values?: readonly unknown[]): Promise<R[]> {
    return this.withClient((client) => new ClientSql(client).rows<R>(text, values));
  }

  async run(text: string, values?: readonly unknown[]): Promise<number> {
    return this.withClient((client) => new ClientSql(client).run(text, values));
  }

  /** Runs `fn` on one connection of the pool. */
  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw explainError(error, this.settings);
    }
    let fault = false;
    try {
      return await fn(client);
    } catch (error) {
      fault = isConnectionFault(error);
      throw explainError(error, this.settings);
    } finally {
      client.release(fault);
    }
  }

  /**
   * Runs `fn` in a transaction (READ COMMITTED: each statement sees what committed before it
   * started; row locks taken with FOR UPDATE serialize writers of the same row). Rolled back when
   * `fn` throws.
   */
  async tx<T>(fn: (sql: Sql, client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(new ClientSql(client), client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await rollback(client, error);
        throw error;
      }
    });
  }
}

/** Rolls back after `error`; when the rollback fails too, the connection is dropped (the caller sees `error`). */
export async function rollback(client: pg.ClientBase, error: unknown): Promise<void> {
  if (isConnectionFault(error)) return; // nothing to roll back on: the connection is destroyed
  try {
    await client.query('ROLLBACK');
  } catch (rollbackError) {
    // Make the release destroy the connection: its transaction state is unknown.
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { connectionFault: rollbackError });
  }
}
