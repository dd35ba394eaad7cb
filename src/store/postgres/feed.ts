import type pg from 'pg';
import type { DecisionRecord } from '../records.js';
import { createClient, explainError, type ConnectionSettings, type PostgresTarget } from './connection.js';

/** Records read per page while catching up. */
const PAGE = 1_000;
/** How often the log is read even without a notification (one may be lost with its connection). */
const POLL_MS = 1_000;
const MAX_BACKOFF_MS = 5_000;

type Scan = (afterSeq: number, limit: number) => Promise<DecisionRecord[]>;
type Listener = (records: readonly DecisionRecord[]) => void;

/**
 * One follower of the decision log: a dedicated connection LISTENs on the schema's channel, and
 * each notification (or the poll every second, or a reconnection) reads the records after the
 * last one delivered, in pages, through the pool. Reads are serialized and always start after the
 * last seq delivered, so every record is delivered once and in seq order; because writers commit
 * in seq order (decision-log.ts), a read never sees a record before an earlier one is visible.
 */
class Follower {
  private client?: pg.Client;
  private stopped = false;
  private draining?: Promise<void>;
  private again = false;
  private poll?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private backoff = 0;

  constructor(
    private readonly target: PostgresTarget,
    private readonly settings: ConnectionSettings,
    private readonly channel: string,
    private readonly scan: Scan,
    private readonly listener: Listener,
    private last: number,
  ) {}

  async start(): Promise<void> {
    await this.connect();
    this.poll = setInterval(() => {
      // The poll also checks the LISTEN connection: a connection that died without a word is replaced.
      this.client?.query('SELECT 1').catch(() => this.lost(this.client));
      this.wake();
    }, POLL_MS);
    this.poll.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.reconnectTimer);
    await this.draining;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = createClient(this.target, this.settings, { role: 'feed' });
    client.on('notification', () => this.wake());
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw explainError(error, this.settings);
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoff = 0;
  }

  /** The LISTEN connection failed: drop it and connect again, backing off while the server is away. */
  private lost(client: pg.Client | undefined): void {
    if (!client || client !== this.client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.backoff = Math.min(MAX_BACKOFF_MS, Math.max(100, this.backoff * 2));
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => this.wake(), // catch up on what was committed while nobody listened
        () => this.scheduleReconnect(),
      );
    }, this.backoff);
    this.reconnectTimer.unref();
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      let page: DecisionRecord[];
      try {
        page = await this.scan(this.last, PAGE);
      } catch {
        return; // the next notification or poll tries again from the same place
      }
      if (this.stopped || page.length === 0) return;
      this.last = page[page.length - 1]!.seq;
      try {
        this.listener(page);
      } catch {
        // The listener's failure is its own: the feed carries on.
      }
      if (page.length < PAGE) return;
    }
  }
}

/** The followers of one store, stopped with it. */
export class DecisionFeed {
  private readonly followers = new Set<Follower>();

  constructor(
    private readonly target: PostgresTarget,
    private readonly settings: ConnectionSettings,
    private readonly channel: string,
    private readonly scan: Scan,
  ) {}

  async follow(afterSeq: number, listener: Listener): Promise<() => Promise<void>> {
    const follower = new Follower(this.target, this.settings, this.channel, this.scan, listener, afterSeq);
    await follower.start();
    this.followers.add(follower);
    return async () => {
      this.followers.delete(follower);
      await follower.stop();
    };
  }

  async close(): Promise<void> {
    const all = [...this.followers];
    this.followers.clear();
    await Promise.all(all.map((f) => f.stop()));
  }
}
