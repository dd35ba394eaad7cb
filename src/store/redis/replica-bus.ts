import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { ReplicaBus, ReplicaState } from '../ports.js';
import { closeRedis, redactUrl, watchConnection, type RedisLog } from './connection.js';
import { asked } from './errors.js';

export interface RedisReplicaBusOptions {
  /** This replica's id (default: host, pid and a random part). */
  replicaId?: string;
  log?: RedisLog;
  /** The clock `replicas()` judges staleness by (tests). */
  clock?: () => number;
}

/** Entries of replicas not seen for this long are deleted from the hash (whatever `staleMs` asks). */
const FORGET_AFTER_MS = 24 * 3_600_000;

/**
 * What replicas tell each other through Redis. Reload requests go over the pub/sub channel
 * `<prefix>policies`, which a second connection subscribes to (a subscribed connection can do
 * nothing else); delivery is at most once: a replica disconnected when a reload is published
 * misses it (it resubscribes by itself; comparing the bundles in `replicas()` shows who lags).
 * Identity changes (agents, credentials) go over `<prefix>identity` on the same connection; one
 * missed is bounded by the read cache's lifetime (a second).
 * Live replicas are the hash `<prefix>replicas`: field = replica id, value = its state as JSON.
 */
export class RedisReplicaBus implements ReplicaBus {
  private readonly listeners: Array<(why: string, from: string) => void> = [];
  private readonly identityListeners: Array<(from: string) => void> = [];
  private readonly channel: string;
  private readonly identityChannel: string;
  private readonly hash: string;
  private readonly clock: () => number;
  private closed = false;

  private constructor(
    private readonly client: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    readonly replicaId: string,
    options: RedisReplicaBusOptions,
  ) {
    this.channel = `${prefix}policies`;
    this.identityChannel = `${prefix}identity`;
    this.hash = `${prefix}replicas`;
    this.clock = options.clock ?? Date.now;
    const log = options.log ?? (() => {});
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.identityChannel) {
        for (const listener of this.identityListeners) {
          try {
            listener(message);
          } catch (error) {
            log('error', `an identity change listener failed: ${(error as Error).message}`);
          }
        }
        return;
      }
      if (channel !== this.channel) return;
      let parsed: { why?: unknown; from?: unknown };
      try {
        parsed = JSON.parse(message) as { why?: unknown; from?: unknown };
      } catch {
        log('warn', `ignored a malformed message on ${this.channel}`);
        return;
      }
      const why = typeof parsed.why === 'string' ? parsed.why : '';
      const from = typeof parsed.from === 'string' ? parsed.from : '';
      for (const listener of this.listeners) {
        try {
          listener(why, from);
        } catch (error) {
          log('error', `a policy reload listener failed: ${(error as Error).message}`);
        }
      }
    });
  }

  /** Opens the subscriber connection (a duplicate of `client`) and subscribes before returning. */
  static async open(client: Redis, prefix: string, options: RedisReplicaBusOptions = {}): Promise<RedisReplicaBus> {
    const replicaId = options.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const subscriber = client.duplicate({ lazyConnect: true, connectionName: `warden-bus-${replicaId}`.replace(/[^\w.:-]/g, '_') });
    const { host, port } = subscriber.options;
    const where = redactUrl(`redis://${host ?? 'localhost'}:${port ?? 6379}`);
    watchConnection(subscriber, where, options.log ?? (() => {}));
    const bus = new RedisReplicaBus(client, subscriber, prefix, replicaId, options);
    try {
      await subscriber.connect();
      await subscriber.subscribe(bus.channel, bus.identityChannel);
    } catch (error) {
      subscriber.disconnect();
      throw new Error(`Redis at ${where}: cannot subscribe to ${bus.channel} and ${bus.identityChannel}: ${(error as Error).message}`, { cause: error });
    }
    return bus;
  }

  async publishReload(why: string): Promise<void> {
    await asked(this.client.publish(this.channel, JSON.stringify({ why, from: this.replicaId })));
  }

  onReload(listener: (why: string, from: string) => void): void {
    this.listeners.push(listener);
  }

  /** The message is the sender's id: nothing about the change itself crosses Redis. */
  async publishIdentityChange(): Promise<void> {
    await asked(this.client.publish(this.identityChannel, this.replicaId));
  }

  onIdentityChange(listener: (from: string) => void): void {
    this.identityListeners.push(listener);
  }

  async heartbeat(state: ReplicaState): Promise<void> {
    await asked(this.client.hset(this.hash, state.id, JSON.stringify(state)));
  }

  async replicas(staleMs: number): Promise<ReplicaState[]> {
    const now = this.clock();
    const entries = await asked(this.client.hgetall(this.hash));
    const live: ReplicaState[] = [];
    const forgotten: string[] = [];
    for (const [id, json] of Object.entries(entries)) {
      let state: ReplicaState;
      try {
        state = JSON.parse(json) as ReplicaState;
      } catch {
        forgotten.push(id);
        continue;
      }
      if (typeof state.seenAt !== 'number' || now - state.seenAt > Math.max(staleMs, FORGET_AFTER_MS)) forgotten.push(id);
      else if (now - state.seenAt <= staleMs) live.push(state);
    }
    if (forgotten.length > 0) await asked(this.client.hdel(this.hash, ...forgotten));
    return live.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  }

  /**
   * Stops listening and closes the subscriber. This replica leaves the list at once when Redis
   * answers (else it drops out when its heartbeat goes stale). The shared client stays open.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.length = 0;
    this.identityListeners.length = 0;
    if (this.client.status === 'ready') await this.client.hdel(this.hash, this.replicaId).catch(() => 0);
    await closeRedis(this.subscriber);
  }
}
