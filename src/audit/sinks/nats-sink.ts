import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, headers as natsHeaders, type ConnectionOptions, type NatsConnection } from 'nats';
import type { DecisionRecord } from '../../store/records.js';
import { DeliveryError, type SinkDestination } from './destination.js';

export type NatsCredentials = { credsFile: string } | { user: string; password: string } | { token: string };

export interface NatsSinkOptions {
  name: string;
  servers: string[];
  subject: string;
  jetstream: boolean;
  /** Resolved when connecting (secrets are read then, never kept in the options). */
  credentials?: () => Promise<NatsCredentials>;
  timeoutMs: number;
}

const encoder = new TextEncoder();

/**
 * Each record is one message on `subject`, its JSON the line of `warden audit export`, with the
 * header `Nats-Msg-Id` set to the record's id. With JetStream, each publish waits for the
 * stream's PubAck, and a record sent again after a failure or a restart is recognised by its
 * `Nats-Msg-Id` within the stream's duplicate window (the PubAck says `duplicate`). Without
 * JetStream, a batch is acknowledged when the server has answered a flush: it received the
 * messages, but keeps none for a subscriber that is not listening.
 */
export class NatsSink implements SinkDestination {
  readonly type = 'nats';
  readonly target: string;
  private connection?: Promise<NatsConnection>;

  constructor(private readonly o: NatsSinkOptions) {
    this.target = `${o.servers.join(',')} ${o.subject}${o.jetstream ? ' (JetStream)' : ''}`;
  }

  async deliver(records: readonly DecisionRecord[]): Promise<void> {
    const nc = await this.connected();
    if (this.o.jetstream) {
      const js = nc.jetstream({ timeout: this.o.timeoutMs });
      // Published together (the server keeps their order on one connection), acknowledged one by one.
      const acks = await Promise.allSettled(records.map((r) => js.publish(this.o.subject, encoder.encode(JSON.stringify(r)), { msgID: r.id, timeout: this.o.timeoutMs })));
      const failed = acks.findIndex((a) => a.status === 'rejected');
      if (failed >= 0) {
        const reason = (acks[failed] as PromiseRejectedResult).reason as Error;
        throw new DeliveryError(failed, `JetStream did not acknowledge record #${records[failed]!.seq} on ${this.o.subject}: ${reason?.message ?? String(reason)}`, { cause: reason });
      }
      return;
    }
    for (const r of records) {
      const h = natsHeaders();
      h.set('Nats-Msg-Id', r.id);
      nc.publish(this.o.subject, encoder.encode(JSON.stringify(r)), { headers: h });
    }
    await withTimeout(nc.flush(), this.o.timeoutMs, `the NATS server did not answer a flush within ${this.o.timeoutMs} ms`);
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    const nc = await connection?.catch(() => undefined);
    await nc?.drain().catch(() => nc.close());
  }

  private async connected(): Promise<NatsConnection> {
    const current = await this.connection?.catch(() => undefined);
    if (current && !current.isClosed()) return current;
    this.connection = this.open();
    this.connection.catch(() => (this.connection = undefined));
    return this.connection;
  }

  private async open(): Promise<NatsConnection> {
    const options: ConnectionOptions = {
      servers: this.o.servers,
      name: `warden sink ${this.o.name}`,
      timeout: this.o.timeoutMs,
      // Once connected, the client reconnects by itself; publishes fail (and are retried) meanwhile.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    };
    const credentials = await this.o.credentials?.();
    if (credentials && 'credsFile' in credentials) options.authenticator = credsAuthenticator(await readFile(credentials.credsFile));
    else if (credentials && 'user' in credentials) Object.assign(options, { user: credentials.user, pass: credentials.password });
    else if (credentials) options.token = credentials.token;
    return connect(options);
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
