import type pg from 'pg';
import { createClient, explainError, lockKey, type ConnectionSettings, type PostgresTarget } from './connection.js';

/**
 * Leases as session-level advisory locks on one dedicated connection: a lease is held as long as
 * that connection lives, so when the holder stops, crashes or loses its connection, the server
 * releases it and another replica's next try takes it. When this process sees its lease
 * connection fail, it forgets every lease it held (the server has released them) and connects
 * again at the next try.
 */
export class Leases {
  private client?: pg.Client;
  private connecting?: Promise<pg.Client>;
  private readonly held = new Set<string>();
  private closed = false;

  constructor(
    private readonly target: PostgresTarget,
    private readonly settings: ConnectionSettings,
  ) {}

  async whileLeader(name: string, task: () => Promise<void>): Promise<boolean> {
    if (!(await this.take(name))) return false;
    await task();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    this.held.clear();
    await client?.end().catch(() => undefined);
  }

  private async take(name: string): Promise<boolean> {
    if (this.closed) throw new Error('the store is closed');
    const client = await this.connection();
    try {
      if (this.held.has(name)) {
        // Still ours only if the connection that holds it is alive.
        await client.query('SELECT 1');
        return true;
      }
      const result = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [lockKey(this.target.schema, `lease:${name}`)]);
      if (result.rows[0]?.ok !== true) return false;
      this.held.add(name);
      return true;
    } catch (error) {
      this.lost(client);
      throw explainError(error, this.settings);
    }
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = createClient(this.target, this.settings, { role: 'lease' });
      client.on('error', () => this.lost(client));
      client.on('end', () => this.lost(client));
      try {
        await client.connect();
      } catch (error) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        throw explainError(error, this.settings);
      }
      this.client = client;
      return client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private lost(client: pg.Client): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.held.clear();
    client.end().catch(() => undefined);
  }
}
